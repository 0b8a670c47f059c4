/* Recursive-descent parser, expression half: tokens -> AST in the caller's
   arena. Statements are in parse_stmt.c. */
#include "parser_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


int ps_syntax(parser *p, const char *expected) {
    token *t = CUR(p);
    if (p->err && p->err->code) return p->err->code;
    if (t->kind == TK_EOF)
        return qv_err_set(p->err, QV_EINVAL, "syntax error at line %d, column %d: unexpected end of input%s%s",
                          t->line, t->col, expected ? ", expected " : "", expected ? expected : "");
    return qv_err_set(p->err, QV_EINVAL, "syntax error at line %d, column %d: unexpected '%.*s'%s%s",
                      t->line, t->col, t->len > 40 ? 40 : t->len, t->p, expected ? ", expected " : "",
                      expected ? expected : "");
}

bool ps_kw(parser *p, const char *k) {
    if (tok_is_kw(CUR(p), k)) { p->pos++; return true; }
    return false;
}
bool ps_opt(parser *p, const char *o) {
    if (tok_is_op(CUR(p), o)) { p->pos++; return true; }
    return false;
}
int ps_expect_kw(parser *p, const char *k) {
    if (ps_kw(p, k)) return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", k);
    return ps_syntax(p, buf);
}
int ps_expect_op(parser *p, const char *o) {
    if (ps_opt(p, o)) return 0;
    char buf[16];
    snprintf(buf, sizeof buf, "'%s'", o);
    return ps_syntax(p, buf);
}

static const char *reserved[] = {
    "select", "from", "where", "group", "having", "order", "limit", "offset", "union", "as", "on",
    "join", "and", "or", "not", "asc", "desc", "nulls", "inner", "left", "right", "cross", "full",
    "using", "is", "in", "between", "like", "ilike", "case", "when", "then", "else", "end", "by",
    "distinct", "all", "null", "true", "false", "values", "insert", "into", "create", "drop",
    "table", "cast", "interval", "timestamp", "exists", "except", "intersect", "window", "qualify", NULL};

bool ps_is_reserved(const token *t) {
    if (t->kind != TK_IDENT) return false;
    for (int i = 0; reserved[i]; i++)
        if (tok_is_kw(t, reserved[i])) return true;
    return false;
}

/* An identifier: unquoted non-reserved word or a quoted one. */
char *ps_ident(parser *p, const char *what) {
    token *t = CUR(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !ps_is_reserved(t))) {
        p->pos++;
        return t->text;
    }
    ps_syntax(p, what);
    return NULL;
}

static ast *mk(parser *p, ast_kind k, token *at) {
    ast *a = arena_alloc(p->ar, sizeof *a);
    a->kind = k;
    a->line = at->line;
    a->col = at->col;
    return a;
}

#define MAX_HEIGHT 200

/* Sets a's height from its children; NULL (with an error) when the tree is too tall. */
static ast *grown(parser *p, ast *a) {
    if (!a) return NULL;
    int h = 0;
    for (int i = 0; i < a->nargs; i++)
        if (a->args[i] && a->args[i]->height > h) h = a->args[i]->height;
    a->height = h + 1;
    if (a->height > MAX_HEIGHT) {
        qv_err_set(p->err, QV_EINVAL, "expression nested too deeply at line %d, column %d", a->line, a->col);
        return NULL;
    }
    return a;
}

int ps_type(parser *p, qv_type *out) {
    token *t = CUR(p);
    if (t->kind != TK_IDENT) return ps_syntax(p, "a type name");
    p->pos++;
    qv_type ty = qv_type_parse(t->p, (size_t)t->len);
    if (tok_is_kw(t, "double") && tok_is_kw(CUR(p), "precision")) p->pos++;
    if (ty == QV_T_INVALID)
        return qv_err_set(p->err, QV_EINVAL, "unknown type '%s' at line %d, column %d", t->text, t->line, t->col);
    if (ps_opt(p, "(")) { /* VARCHAR(20) and the like: length ignored */
        if (CUR(p)->kind != TK_INT) return ps_syntax(p, "a length");
        p->pos++;
        if (ps_expect_op(p, ")")) return -1;
    }
    *out = ty;
    return 0;
}

ast **ps_list_push(parser *p, ast **arr, int *n, int *cap, ast *a) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        ast **na = arena_alloc(p->ar, sizeof(ast *) * (size_t)nc);
        if (*n) memcpy(na, arr, sizeof(ast *) * (size_t)*n);
        arr = na;
        *cap = nc;
    }
    arr[(*n)++] = a;
    return arr;
}

static bool is_const_ast(const ast *a) {
    return a->kind == A_INT || a->kind == A_FLOAT || a->kind == A_STR || a->kind == A_BOOL || a->kind == A_NULL ||
           a->kind == A_TSLIT || a->kind == A_INTERVAL;
}

/* agg(args) FILTER (WHERE c): each non-constant argument becomes CASE WHEN c
   THEN arg END (count(*) counts CASE WHEN c THEN 1 END), so the aggregate
   skips the rows c rejects. */
static ast *agg_filter(parser *p, ast *f) {
    if (!f || !tok_is_kw(CUR(p), "filter") || !tok_is_op(&p->t[p->pos + 1], "(")) return f;
    p->pos += 2;
    if (ps_expect_kw(p, "where")) return NULL;
    ast *c = ps_expr(p);
    if (!c || ps_expect_op(p, ")")) return NULL;
    if (f->star) {
        ast *one = mk(p, A_INT, CUR(p));
        one->ival = 1;
        one->fval = 1;
        f->star = false;
        f->args = arena_alloc(p->ar, sizeof(ast *));
        f->args[0] = one;
        f->nargs = 1;
    }
    for (int i = 0; i < f->nargs; i++) {
        if (is_const_ast(f->args[i]) && i > 0) continue;
        ast *w = mk(p, A_CASE, CUR(p));
        w->args = arena_alloc(p->ar, sizeof(ast *) * 2);
        w->args[0] = c;
        w->args[1] = f->args[i];
        w->nargs = 2;
        if (!(f->args[i] = grown(p, w))) return NULL;
    }
    return grown(p, f);
}

static ast *primary(parser *p) {
    token *t = CUR(p);
    if (t->kind == TK_INT) {
        p->pos++;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(t->text, &end, 10);
        if (errno || v > (unsigned long long)INT64_MAX + 1) {
            ast *a = mk(p, A_FLOAT, t); /* too big for BIGINT: a double, as DuckDB would not */
            a->fval = strtod(t->text, NULL);
            return a;
        }
        ast *a = mk(p, A_INT, t);
        a->ival = (int64_t)v; /* INT64_MAX+1 only valid under unary minus; checked in binder */
        a->fval = (double)v;
        a->neg = v > (unsigned long long)INT64_MAX;
        return a;
    }
    if (t->kind == TK_FLOAT) {
        p->pos++;
        ast *a = mk(p, A_FLOAT, t);
        a->fval = strtod(t->text, NULL);
        a->name = t->text;
        return a;
    }
    if (t->kind == TK_STRING) {
        p->pos++;
        ast *a = mk(p, A_STR, t);
        a->name = t->text;
        return a;
    }
    if (tok_is_op(t, "?") || t->kind == TK_PARAM) {
        p->pos++;
        ast *a = mk(p, A_PARAM, t);
        bool q = t->kind != TK_PARAM;
        long long n = q ? ++p->nqmark : strtoll(t->text, NULL, 10);
        if (n < 1 || n > 65535 || strlen(t->text ? t->text : "") > 5) {
            qv_err_set(p->err, QV_EINVAL, "placeholder at line %d, column %d: numbers run from $1 to $65535", t->line, t->col);
            return NULL;
        }
        if ((q && p->maxparam > 0) || (!q && p->nqmark > 0)) {
            qv_err_set(p->err, QV_EINVAL, "placeholder at line %d, column %d: ? and $N cannot be mixed in one statement",
                       t->line, t->col);
            return NULL;
        }
        if (!q && n > p->maxparam) p->maxparam = (int)n;
        a->ival = n;
        return a;
    }
    if (tok_is_op(t, "(") && (tok_is_kw(&p->t[p->pos + 1], "select") || tok_is_kw(&p->t[p->pos + 1], "with"))) {
        p->pos++;
        ast *a = mk(p, A_SUBQ, t);
        if (!(a->sub = ps_query(p)) || ps_expect_op(p, ")")) return NULL;
        return a;
    }
    if (tok_is_kw(t, "exists") && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = mk(p, A_EXISTS, t);
        if (!(a->sub = ps_query(p)) || ps_expect_op(p, ")")) return NULL;
        return a;
    }
    if (tok_is_op(t, "(")) {
        p->pos++;
        ast *e = ps_expr(p);
        if (!e || ps_expect_op(p, ")")) return NULL;
        return e;
    }
    if (tok_is_op(t, "*")) {
        p->pos++;
        return mk(p, A_STAR, t);
    }
    if (t->kind == TK_QIDENT) {
        p->pos++;
        ast *a = mk(p, A_COL, t);
        a->name = t->text;
        if (tok_is_op(CUR(p), ".")) {
            p->pos++;
            if (ps_opt(p, "*")) { a->kind = A_STAR; a->qual = t->text; a->name = NULL; return a; }
            char *c = ps_ident(p, "a column name");
            if (!c) return NULL;
            a->qual = t->text;
            a->name = c;
        }
        return a;
    }
    if (t->kind != TK_IDENT) { ps_syntax(p, "an expression"); return NULL; }
    if (tok_is_kw(t, "null")) { p->pos++; return mk(p, A_NULL, t); }
    if (tok_is_kw(t, "true") || tok_is_kw(t, "false")) {
        p->pos++;
        ast *a = mk(p, A_BOOL, t);
        a->ival = tok_is_kw(t, "true");
        return a;
    }
    /* TIMESTAMP '...' and DATE '...' both become a timestamp literal. */
    bool is_date = tok_is_kw(t, "date");
    if ((is_date || tok_is_kw(t, "timestamp")) && p->t[p->pos + 1].kind == TK_STRING) {
        p->pos++;
        token *s = CUR(p);
        p->pos++;
        ast *a = mk(p, A_TSLIT, t);
        a->name = s->text;
        if (ts_parse(s->text, strlen(s->text), &a->ival)) {
            qv_err_set(p->err, QV_EINVAL, "bad %s literal '%s' at line %d, column %d", is_date ? "DATE" : "TIMESTAMP",
                       s->text, s->line, s->col);
            return NULL;
        }
        return a;
    }
    if (tok_is_kw(t, "interval")) {
        p->pos++;
        token *s = CUR(p);
        ast *a = mk(p, A_INTERVAL, t);
        if (s->kind == TK_STRING) {
            p->pos++;
            a->name = s->text;
            if (interval_parse(s->text, strlen(s->text), &a->ival)) {
                qv_err_set(p->err, QV_EINVAL, "bad INTERVAL literal '%s' at line %d, column %d (units: nanosecond to week; "
                           "months and years have no fixed length and are not supported)", s->text, s->line, s->col);
                return NULL;
            }
            return a;
        }
        if (s->kind == TK_INT) {
            p->pos++;
            token *u = CUR(p);
            int64_t unit;
            if (u->kind == TK_IDENT && interval_unit_ns(u->text, &unit) && interval_unit_calendar(u->text)) {
                qv_err_set(p->err, QV_EUNSUPPORTED, "INTERVAL unit '%s' at line %d, column %d is not supported: an INTERVAL is a "
                           "fixed duration (nanoseconds to weeks), and months and years have no fixed length", u->text, u->line, u->col);
                return NULL;
            }
            if (u->kind != TK_IDENT || interval_unit_ns(u->text, &unit)) { ps_syntax(p, "an interval unit"); return NULL; }
            p->pos++;
            int64_t v = strtoll(s->text, NULL, 10);
            if (__builtin_mul_overflow(v, unit, &a->ival)) {
                qv_err_set(p->err, QV_EINVAL, "INTERVAL at line %d, column %d is out of range", s->line, s->col);
                return NULL;
            }
            a->name = s->text;
            return a;
        }
        ps_syntax(p, "an interval string");
        return NULL;
    }
    if (tok_is_kw(t, "case")) {
        p->pos++;
        ast *a = mk(p, A_CASE, t);
        int cap = 0;
        if (!tok_is_kw(CUR(p), "when")) {
            ast *o = ps_expr(p);
            if (!o) return NULL;
            a->has_operand = true;
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, o);
        }
        int nwhen = 0;
        while (ps_kw(p, "when")) {
            ast *w = ps_expr(p);
            if (!w || ps_expect_kw(p, "then")) return NULL;
            ast *th = ps_expr(p);
            if (!th) return NULL;
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, w);
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, th);
            nwhen++;
        }
        if (!nwhen) { ps_syntax(p, "WHEN"); return NULL; }
        if (ps_kw(p, "else")) {
            ast *e = ps_expr(p);
            if (!e) return NULL;
            a->has_else = true;
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, e);
        }
        if (ps_expect_kw(p, "end")) return NULL;
        return grown(p, a);
    }
    if ((tok_is_kw(t, "cast") || tok_is_kw(t, "try_cast")) && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = mk(p, A_CAST, t);
        a->neg = tok_is_kw(t, "try_cast"); /* NULL instead of an error when the value does not convert */
        ast *e = ps_expr(p);
        if (!e || ps_expect_kw(p, "as")) return NULL;
        if (ps_type(p, &a->cast_type)) return NULL;
        if (ps_expect_op(p, ")")) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return grown(p, a);
    }
    if (tok_is_kw(t, "extract") && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = mk(p, A_EXTRACT, t);
        token *f = CUR(p);
        if (f->kind != TK_IDENT && f->kind != TK_STRING) { ps_syntax(p, "a field name"); return NULL; }
        p->pos++;
        a->name = f->text;
        if (ps_expect_kw(p, "from")) return NULL;
        ast *e = ps_expr(p);
        if (!e || ps_expect_op(p, ")")) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return grown(p, a);
    }
    bool fn_kw = (tok_is_kw(t, "left") || tok_is_kw(t, "right")) && tok_is_op(&p->t[p->pos + 1], "("); /* left(s, n) */
    if (ps_is_reserved(t) && !fn_kw) { ps_syntax(p, "an expression"); return NULL; }
    p->pos++;
    if (tok_is_op(CUR(p), "(")) { /* function call */
        p->pos++;
        ast *a = mk(p, A_FUNC, t);
        a->name = t->text;
        if (ps_opt(p, "*")) {
            a->star = true;
            if (ps_expect_op(p, ")")) return NULL;
            return ps_over(p, agg_filter(p, a));
        }
        if (ps_kw(p, "distinct")) a->distinct = true;
        else ps_kw(p, "all");
        int cap = 0;
        if (!ps_opt(p, ")")) {
            for (;;) {
                ast *e = ps_expr(p);
                if (!e) return NULL;
                a->args = ps_list_push(p, a->args, &a->nargs, &cap, e);
                if (tok_is_kw(CUR(p), "order") && !a->norder) { /* string_agg(x, sep ORDER BY k [ASC|DESC], ...) */
                    p->pos++;
                    if (ps_expect_kw(p, "by")) return NULL;
                    for (;;) {
                        ast *k = ps_expr(p);
                        if (!k) return NULL;
                        if (ps_kw(p, "desc")) a->order_desc |= 1u << (a->norder & 31);
                        else ps_kw(p, "asc");
                        a->args = ps_list_push(p, a->args, &a->nargs, &cap, k);
                        a->norder++;
                        if (!ps_opt(p, ",")) break;
                    }
                    if (ps_expect_op(p, ")")) return NULL;
                    break;
                }
                ps_null_treatment(p, a);
                if (ps_opt(p, ")")) break;
                if (ps_expect_op(p, ",")) return NULL;
            }
        }
        return ps_over(p, agg_filter(p, grown(p, a)));
    }
    ast *a = mk(p, A_COL, t);
    a->name = t->text;
    if (tok_is_op(CUR(p), ".")) {
        p->pos++;
        if (ps_opt(p, "*")) { a->kind = A_STAR; a->qual = t->text; a->name = NULL; return a; }
        char *c = ps_ident(p, "a column name");
        if (!c) return NULL;
        a->qual = t->text;
        a->name = c;
    }
    return a;
}

static ast *postfix(parser *p) {
    ast *e = primary(p);
    while (e && tok_is_op(CUR(p), "::")) {
        token *t = CUR(p);
        p->pos++;
        ast *a = mk(p, A_CAST, t);
        if (ps_type(p, &a->cast_type)) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        e = grown(p, a);
    }
    return e;
}

static ast *bin(parser *p, token *t, int op, ast *l, ast *r) {
    if (!l || !r) return NULL;
    ast *a = mk(p, op == OP_NOT || op == OP_NEG ? A_UNARY : A_BINARY, t);
    a->op = op;
    a->args = arena_alloc(p->ar, sizeof(ast *) * 2);
    a->args[0] = l;
    a->args[1] = r;
    a->nargs = r ? 2 : 1;
    return grown(p, a);
}

static ast *unary(parser *p) {
    token *t = CUR(p);
    if (++p->depth > 200) {
        qv_err_set(p->err, QV_EINVAL, "expression nested too deeply at line %d, column %d", t->line, t->col);
        return NULL;
    }
    ast *r;
    if (ps_opt(p, "-")) {
        ast *e = unary(p);
        if (!e) return NULL;
        if (e->kind == A_INT && e->line == CUR(p)->line && 0) r = e;
        if (e->kind == A_INT) { /* fold so -9223372036854775808 is a BIGINT */
            e->ival = (int64_t)(0 - (uint64_t)e->ival);
            e->fval = -e->fval;
            e->neg = false;
            r = e;
        } else if (e->kind == A_FLOAT) {
            e->fval = -e->fval;
            r = e;
        } else {
            r = mk(p, A_UNARY, t);
            r->op = OP_NEG;
            r->args = arena_alloc(p->ar, sizeof(ast *));
            r->args[0] = e;
            r->nargs = 1;
            if (!(r = grown(p, r))) return NULL;
        }
    } else if (ps_opt(p, "+")) {
        r = unary(p);
    } else {
        r = postfix(p);
    }
    p->depth--;
    return r;
}

static ast *mul(parser *p) {
    ast *l = unary(p);
    while (l) {
        token *t = CUR(p);
        int op = tok_is_op(t, "*") ? OP_MUL : tok_is_op(t, "/") ? OP_DIV : tok_is_op(t, "//") ? OP_IDIV
               : tok_is_op(t, "%") ? OP_MOD : 0;
        if (!op) break;
        p->pos++;
        l = bin(p, t, op, l, unary(p));
    }
    return l;
}

static ast *add(parser *p) {
    ast *l = mul(p);
    while (l) {
        token *t = CUR(p);
        int op = tok_is_op(t, "+") ? OP_ADD : tok_is_op(t, "-") ? OP_SUB : tok_is_op(t, "||") ? OP_CONCAT : 0;
        if (!op) break;
        p->pos++;
        l = bin(p, t, op, l, mul(p));
    }
    return l;
}

static ast *pred(parser *p) {
    ast *l = add(p);
    if (!l) return NULL;
    for (;;) {
        token *t = CUR(p);
        int op = tok_is_op(t, "=") || tok_is_op(t, "==") ? OP_EQ : tok_is_op(t, "<>") || tok_is_op(t, "!=") ? OP_NE
               : tok_is_op(t, "<") ? OP_LT : tok_is_op(t, "<=") ? OP_LE : tok_is_op(t, ">") ? OP_GT
               : tok_is_op(t, ">=") ? OP_GE : 0;
        if (op) {
            p->pos++;
            l = bin(p, t, op, l, add(p));
            if (!l) return NULL;
            continue;
        }
        if (tok_is_kw(t, "is")) {
            p->pos++;
            ast *a = mk(p, A_ISNULL, t);
            a->neg = ps_kw(p, "not");
            if (ps_expect_kw(p, "null")) return NULL;
            a->args = arena_alloc(p->ar, sizeof(ast *));
            a->args[0] = l;
            a->nargs = 1;
            if (!(l = grown(p, a))) return NULL;
            continue;
        }
        bool neg = false;
        int save = p->pos;
        if (tok_is_kw(t, "not")) { neg = true; p->pos++; t = CUR(p); }
        if (tok_is_kw(t, "in")) {
            p->pos++;
            ast *a = mk(p, A_IN, t);
            a->neg = neg;
            int cap = 0;
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, l);
            if (ps_expect_op(p, "(")) return NULL;
            if (tok_is_kw(CUR(p), "select") || tok_is_kw(CUR(p), "with")) {
                if (!(a->sub = ps_query(p)) || ps_expect_op(p, ")")) return NULL;
                if (!(l = grown(p, a))) return NULL;
                continue;
            }
            for (;;) {
                ast *e = ps_expr(p);
                if (!e) return NULL;
                a->args = ps_list_push(p, a->args, &a->nargs, &cap, e);
                if (ps_opt(p, ")")) break;
                if (ps_expect_op(p, ",")) return NULL;
            }
            if (!(l = grown(p, a))) return NULL;
            continue;
        }
        if (tok_is_kw(t, "between")) {
            p->pos++;
            ast *a = mk(p, A_BETWEEN, t);
            a->neg = neg;
            a->args = arena_alloc(p->ar, sizeof(ast *) * 3);
            a->args[0] = l;
            if (!(a->args[1] = add(p))) return NULL;
            if (ps_expect_kw(p, "and")) return NULL;
            if (!(a->args[2] = add(p))) return NULL;
            a->nargs = 3;
            if (!(l = grown(p, a))) return NULL;
            continue;
        }
        if (tok_is_kw(t, "like") || tok_is_kw(t, "ilike")) {
            p->pos++;
            ast *a = mk(p, A_LIKE, t);
            a->neg = neg;
            a->ilike = tok_is_kw(t, "ilike");
            a->args = arena_alloc(p->ar, sizeof(ast *) * 2);
            a->args[0] = l;
            if (!(a->args[1] = add(p))) return NULL;
            a->nargs = 2;
            if (!(l = grown(p, a))) return NULL;
            continue;
        }
        p->pos = save;
        break;
    }
    return l;
}

static ast *notx(parser *p) {
    token *t = CUR(p);
    if (tok_is_kw(t, "not")) {
        p->pos++;
        if (++p->depth > 200) {
            qv_err_set(p->err, QV_EINVAL, "expression nested too deeply at line %d, column %d", t->line, t->col);
            return NULL;
        }
        ast *e = notx(p);
        p->depth--;
        if (!e) return NULL;
        ast *a = mk(p, A_UNARY, t);
        a->op = OP_NOT;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return grown(p, a);
    }
    return pred(p);
}

static ast *andx(parser *p) {
    ast *l = notx(p);
    while (l && tok_is_kw(CUR(p), "and")) {
        token *t = CUR(p);
        p->pos++;
        l = bin(p, t, OP_AND, l, notx(p));
    }
    return l;
}

ast *ps_expr(parser *p) {
    if (++p->depth > 200) {
        token *t = CUR(p);
        qv_err_set(p->err, QV_EINVAL, "expression nested too deeply at line %d, column %d", t->line, t->col);
        return NULL;
    }
    ast *l = andx(p);
    while (l && tok_is_kw(CUR(p), "or")) {
        token *t = CUR(p);
        p->pos++;
        l = bin(p, t, OP_OR, l, andx(p));
    }
    p->depth--;
    return l;
}

