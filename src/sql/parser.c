/* Recursive-descent parser: tokens -> stmt/AST, all in the caller's arena. */
#include "sql_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parser {
    arena *ar;
    token *t;
    int n, pos;
    qv_err *err;
    int depth;
} parser;

#define CUR(p) (&(p)->t[(p)->pos])

static int syntax(parser *p, const char *expected) {
    token *t = CUR(p);
    if (p->err && p->err->code) return p->err->code;
    if (t->kind == TK_EOF)
        return qv_err_set(p->err, QV_EINVAL, "syntax error at line %d, column %d: unexpected end of input%s%s",
                          t->line, t->col, expected ? ", expected " : "", expected ? expected : "");
    return qv_err_set(p->err, QV_EINVAL, "syntax error at line %d, column %d: unexpected '%.*s'%s%s",
                      t->line, t->col, t->len > 40 ? 40 : t->len, t->p, expected ? ", expected " : "",
                      expected ? expected : "");
}

static bool kw(parser *p, const char *k) {
    if (tok_is_kw(CUR(p), k)) { p->pos++; return true; }
    return false;
}
static bool opt(parser *p, const char *o) {
    if (tok_is_op(CUR(p), o)) { p->pos++; return true; }
    return false;
}
static int expect_kw(parser *p, const char *k) {
    if (kw(p, k)) return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", k);
    return syntax(p, buf);
}
static int expect_op(parser *p, const char *o) {
    if (opt(p, o)) return 0;
    char buf[16];
    snprintf(buf, sizeof buf, "'%s'", o);
    return syntax(p, buf);
}

static const char *reserved[] = {
    "select", "from", "where", "group", "having", "order", "limit", "offset", "union", "as", "on",
    "join", "and", "or", "not", "asc", "desc", "nulls", "inner", "left", "right", "cross", "full",
    "using", "is", "in", "between", "like", "ilike", "case", "when", "then", "else", "end", "by",
    "distinct", "all", "null", "true", "false", "values", "insert", "into", "create", "drop",
    "table", "cast", "interval", "timestamp", "exists", "except", "intersect", "window", NULL};

static bool is_reserved(const token *t) {
    if (t->kind != TK_IDENT) return false;
    for (int i = 0; reserved[i]; i++)
        if (tok_is_kw(t, reserved[i])) return true;
    return false;
}

/* An identifier: unquoted non-reserved word or a quoted one. */
static char *ident(parser *p, const char *what) {
    token *t = CUR(p);
    if (t->kind == TK_QIDENT || (t->kind == TK_IDENT && !is_reserved(t))) {
        p->pos++;
        return t->text;
    }
    syntax(p, what);
    return NULL;
}

static ast *mk(parser *p, ast_kind k, token *at) {
    ast *a = arena_alloc(p->ar, sizeof *a);
    a->kind = k;
    a->line = at->line;
    a->col = at->col;
    return a;
}

static ast *expr(parser *p);

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

static int parse_type(parser *p, qv_type *out) {
    token *t = CUR(p);
    if (t->kind != TK_IDENT) return syntax(p, "a type name");
    p->pos++;
    qv_type ty = qv_type_parse(t->p, (size_t)t->len);
    if (tok_is_kw(t, "double") && tok_is_kw(CUR(p), "precision")) p->pos++;
    if (ty == QV_T_INVALID)
        return qv_err_set(p->err, QV_EINVAL, "unknown type '%s' at line %d, column %d", t->text, t->line, t->col);
    if (opt(p, "(")) { /* VARCHAR(20) and the like: length ignored */
        if (CUR(p)->kind != TK_INT) return syntax(p, "a length");
        p->pos++;
        if (expect_op(p, ")")) return -1;
    }
    *out = ty;
    return 0;
}

static ast **list_push(parser *p, ast **arr, int *n, int *cap, ast *a) {
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
    if (tok_is_op(t, "(")) {
        p->pos++;
        ast *e = expr(p);
        if (!e || expect_op(p, ")")) return NULL;
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
            if (opt(p, "*")) { a->kind = A_STAR; a->qual = t->text; a->name = NULL; return a; }
            char *c = ident(p, "a column name");
            if (!c) return NULL;
            a->qual = t->text;
            a->name = c;
        }
        return a;
    }
    if (t->kind != TK_IDENT) { syntax(p, "an expression"); return NULL; }
    if (tok_is_kw(t, "null")) { p->pos++; return mk(p, A_NULL, t); }
    if (tok_is_kw(t, "true") || tok_is_kw(t, "false")) {
        p->pos++;
        ast *a = mk(p, A_BOOL, t);
        a->ival = tok_is_kw(t, "true");
        return a;
    }
    if (tok_is_kw(t, "timestamp") && p->t[p->pos + 1].kind == TK_STRING) {
        p->pos++;
        token *s = CUR(p);
        p->pos++;
        ast *a = mk(p, A_TSLIT, t);
        a->name = s->text;
        if (ts_parse(s->text, strlen(s->text), &a->ival)) {
            qv_err_set(p->err, QV_EINVAL, "bad TIMESTAMP literal '%s' at line %d, column %d", s->text, s->line, s->col);
            return NULL;
        }
        return a;
    }
    if (tok_is_kw(t, "date") && p->t[p->pos + 1].kind == TK_STRING) {
        p->pos++;
        token *s = CUR(p);
        p->pos++;
        ast *a = mk(p, A_TSLIT, t);
        a->name = s->text;
        if (ts_parse(s->text, strlen(s->text), &a->ival)) {
            qv_err_set(p->err, QV_EINVAL, "bad DATE literal '%s' at line %d, column %d", s->text, s->line, s->col);
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
                qv_err_set(p->err, QV_EINVAL, "bad INTERVAL literal '%s' at line %d, column %d", s->text, s->line, s->col);
                return NULL;
            }
            return a;
        }
        if (s->kind == TK_INT) {
            p->pos++;
            token *u = CUR(p);
            int64_t unit;
            if (u->kind != TK_IDENT || interval_unit_ns(u->text, &unit)) { syntax(p, "an interval unit"); return NULL; }
            p->pos++;
            int64_t v = strtoll(s->text, NULL, 10);
            if (__builtin_mul_overflow(v, unit, &a->ival)) {
                qv_err_set(p->err, QV_EINVAL, "INTERVAL at line %d, column %d is out of range", s->line, s->col);
                return NULL;
            }
            a->name = s->text;
            return a;
        }
        syntax(p, "an interval string");
        return NULL;
    }
    if (tok_is_kw(t, "case")) {
        p->pos++;
        ast *a = mk(p, A_CASE, t);
        int cap = 0;
        if (!tok_is_kw(CUR(p), "when")) {
            ast *o = expr(p);
            if (!o) return NULL;
            a->has_operand = true;
            a->args = list_push(p, a->args, &a->nargs, &cap, o);
        }
        int nwhen = 0;
        while (kw(p, "when")) {
            ast *w = expr(p);
            if (!w || expect_kw(p, "then")) return NULL;
            ast *th = expr(p);
            if (!th) return NULL;
            a->args = list_push(p, a->args, &a->nargs, &cap, w);
            a->args = list_push(p, a->args, &a->nargs, &cap, th);
            nwhen++;
        }
        if (!nwhen) { syntax(p, "WHEN"); return NULL; }
        if (kw(p, "else")) {
            ast *e = expr(p);
            if (!e) return NULL;
            a->has_else = true;
            a->args = list_push(p, a->args, &a->nargs, &cap, e);
        }
        if (expect_kw(p, "end")) return NULL;
        return grown(p, a);
    }
    if ((tok_is_kw(t, "cast") || tok_is_kw(t, "try_cast")) && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = mk(p, A_CAST, t);
        ast *e = expr(p);
        if (!e || expect_kw(p, "as")) return NULL;
        if (parse_type(p, &a->cast_type)) return NULL;
        if (expect_op(p, ")")) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return grown(p, a);
    }
    if (tok_is_kw(t, "extract") && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = mk(p, A_EXTRACT, t);
        token *f = CUR(p);
        if (f->kind != TK_IDENT && f->kind != TK_STRING) { syntax(p, "a field name"); return NULL; }
        p->pos++;
        a->name = f->text;
        if (expect_kw(p, "from")) return NULL;
        ast *e = expr(p);
        if (!e || expect_op(p, ")")) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return grown(p, a);
    }
    if (is_reserved(t)) { syntax(p, "an expression"); return NULL; }
    p->pos++;
    if (tok_is_op(CUR(p), "(")) { /* function call */
        p->pos++;
        ast *a = mk(p, A_FUNC, t);
        a->name = t->text;
        if (opt(p, "*")) {
            a->star = true;
            if (expect_op(p, ")")) return NULL;
            return a;
        }
        if (kw(p, "distinct")) a->distinct = true;
        else kw(p, "all");
        int cap = 0;
        if (!opt(p, ")")) {
            for (;;) {
                ast *e = expr(p);
                if (!e) return NULL;
                a->args = list_push(p, a->args, &a->nargs, &cap, e);
                if (opt(p, ")")) break;
                if (expect_op(p, ",")) return NULL;
            }
        }
        return grown(p, a);
    }
    ast *a = mk(p, A_COL, t);
    a->name = t->text;
    if (tok_is_op(CUR(p), ".")) {
        p->pos++;
        if (opt(p, "*")) { a->kind = A_STAR; a->qual = t->text; a->name = NULL; return a; }
        char *c = ident(p, "a column name");
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
        if (parse_type(p, &a->cast_type)) return NULL;
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
    if (opt(p, "-")) {
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
    } else if (opt(p, "+")) {
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
            a->neg = kw(p, "not");
            if (expect_kw(p, "null")) return NULL;
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
            a->args = list_push(p, a->args, &a->nargs, &cap, l);
            if (expect_op(p, "(")) return NULL;
            for (;;) {
                ast *e = expr(p);
                if (!e) return NULL;
                a->args = list_push(p, a->args, &a->nargs, &cap, e);
                if (opt(p, ")")) break;
                if (expect_op(p, ",")) return NULL;
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
            if (expect_kw(p, "and")) return NULL;
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

static ast *expr(parser *p) {
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

static int parse_int_lit(parser *p, int64_t *out, const char *what) {
    token *t = CUR(p);
    if (t->kind != TK_INT) return syntax(p, what);
    errno = 0;
    long long v = strtoll(t->text, NULL, 10);
    if (errno) return qv_err_set(p->err, QV_EINVAL, "%s at line %d, column %d is out of range", what, t->line, t->col);
    p->pos++;
    *out = v;
    return 0;
}

static select_stmt *select_body(parser *p);

static select_stmt *select_body(parser *p) {
    if (++p->depth > 50) {
        qv_err_set(p->err, QV_EINVAL, "subqueries nested too deeply");
        return NULL;
    }
    if (expect_kw(p, "select")) return NULL;
    select_stmt *s = arena_alloc(p->ar, sizeof *s);
    s->limit = -1;
    if (kw(p, "distinct")) s->distinct = true;
    else kw(p, "all");
    int cap = 0;
    for (;;) {
        ast *e = expr(p);
        if (!e) return NULL;
        if (s->nitems == cap) {
            cap = cap ? cap * 2 : 8;
            sel_item *ni = arena_alloc(p->ar, sizeof(sel_item) * (size_t)cap);
            if (s->nitems) memcpy(ni, s->items, sizeof(sel_item) * (size_t)s->nitems);
            s->items = ni;
        }
        sel_item *it = &s->items[s->nitems++];
        it->e = e;
        if (kw(p, "as")) {
            if (!(it->alias = ident(p, "an alias"))) return NULL;
        } else if (CUR(p)->kind == TK_QIDENT || (CUR(p)->kind == TK_IDENT && !is_reserved(CUR(p)))) {
            it->alias = ident(p, "an alias");
        }
        if (!opt(p, ",")) break;
    }
    if (kw(p, "from")) {
        s->has_from = true;
        token *t = CUR(p);
        s->table_line = t->line;
        s->table_col = t->col;
        if (opt(p, "(")) {
            if (!(s->sub = select_body(p))) return NULL;
            if (expect_op(p, ")")) return NULL;
        } else {
            if (!(s->table = ident(p, "a table name"))) return NULL;
        }
        if (kw(p, "as")) {
            if (!(s->alias = ident(p, "an alias"))) return NULL;
        } else if (CUR(p)->kind == TK_QIDENT || (CUR(p)->kind == TK_IDENT && !is_reserved(CUR(p)))) {
            s->alias = ident(p, "an alias");
        }
        if (tok_is_op(CUR(p), ",") || tok_is_kw(CUR(p), "join")) {
            token *j = CUR(p);
            qv_err_set(p->err, QV_EUNSUPPORTED, "joins are not supported (line %d, column %d)", j->line, j->col);
            return NULL;
        }
    }
    if (kw(p, "where"))
        if (!(s->where = expr(p))) return NULL;
    if (kw(p, "group")) {
        if (expect_kw(p, "by")) return NULL;
        int gcap = 0;
        do {
            ast *e = expr(p);
            if (!e) return NULL;
            s->group = list_push(p, s->group, &s->ngroup, &gcap, e);
        } while (opt(p, ","));
    }
    if (kw(p, "having"))
        if (!(s->having = expr(p))) return NULL;
    if (kw(p, "order")) {
        if (expect_kw(p, "by")) return NULL;
        int ocap = 0;
        do {
            ast *e = expr(p);
            if (!e) return NULL;
            if (s->norder == ocap) {
                ocap = ocap ? ocap * 2 : 4;
                order_item *no = arena_alloc(p->ar, sizeof(order_item) * (size_t)ocap);
                if (s->norder) memcpy(no, s->order, sizeof(order_item) * (size_t)s->norder);
                s->order = no;
            }
            order_item *o = &s->order[s->norder++];
            o->e = e;
            o->nulls_first = -1;
            if (kw(p, "desc")) o->desc = true;
            else kw(p, "asc");
            if (kw(p, "nulls")) {
                if (kw(p, "first")) o->nulls_first = 1;
                else if (kw(p, "last")) o->nulls_first = 0;
                else { syntax(p, "FIRST or LAST"); return NULL; }
            }
        } while (opt(p, ","));
    }
    for (int k = 0; k < 2; k++) {
        if (s->limit < 0 && kw(p, "limit")) {
            if (parse_int_lit(p, &s->limit, "a LIMIT count")) return NULL;
        } else if (!s->offset && kw(p, "offset")) {
            if (parse_int_lit(p, &s->offset, "an OFFSET count")) return NULL;
        }
    }
    p->depth--;
    return s;
}

static int parse_create(parser *p, stmt *s) {
    s->kind = S_CREATE;
    if (kw(p, "if")) {
        if (expect_kw(p, "not") || expect_kw(p, "exists")) return -1;
        s->if_flag = true;
    }
    if (!(s->table = ident(p, "a table name"))) return -1;
    if (expect_op(p, "(")) return -1;
    qv_schema_init(&s->schema);
    s->has_schema = true;
    for (;;) {
        token *ct = CUR(p);
        char *name = ident(p, "a column name");
        if (!name) return -1;
        qv_type ty;
        if (parse_type(p, &ty)) return -1;
        bool nullable = true;
        for (;;) {
            if (kw(p, "not")) {
                if (expect_kw(p, "null")) return -1;
                nullable = false;
            } else if (kw(p, "null")) {
                nullable = true;
            } else break;
        }
        if (qv_schema_find(&s->schema, name) >= 0)
            return qv_err_set(p->err, QV_EINVAL, "duplicate column '%s' at line %d, column %d", name, ct->line, ct->col);
        qv_schema_add(&s->schema, name, ty, nullable);
        if (opt(p, ")")) break;
        if (expect_op(p, ",")) return -1;
    }
    return 0;
}

static int parse_insert(parser *p, stmt *s) {
    s->kind = S_INSERT;
    if (expect_kw(p, "into")) return -1;
    if (!(s->table = ident(p, "a table name"))) return -1;
    if (tok_is_op(CUR(p), "(") && !tok_is_kw(&p->t[p->pos + 1], "select")) {
        p->pos++;
        int cap = 0;
        for (;;) {
            char *c = ident(p, "a column name");
            if (!c) return -1;
            if (s->ncols == cap) {
                cap = cap ? cap * 2 : 8;
                char **nc = arena_alloc(p->ar, sizeof(char *) * (size_t)cap);
                if (s->ncols) memcpy(nc, s->cols, sizeof(char *) * (size_t)s->ncols);
                s->cols = nc;
            }
            s->cols[s->ncols++] = c;
            if (opt(p, ")")) break;
            if (expect_op(p, ",")) return -1;
        }
    }
    if (kw(p, "values")) {
        int cap = 0;
        do {
            token *rt = CUR(p);
            if (expect_op(p, "(")) return -1;
            ast **row = NULL;
            int n = 0, rcap = 0;
            for (;;) {
                ast *e = expr(p);
                if (!e) return -1;
                row = list_push(p, row, &n, &rcap, e);
                if (opt(p, ")")) break;
                if (expect_op(p, ",")) return -1;
            }
            if (s->nrows && n != s->rowlen)
                return qv_err_set(p->err, QV_EINVAL, "VALUES row at line %d, column %d has %d values, the first row has %d",
                                  rt->line, rt->col, n, s->rowlen);
            s->rowlen = n;
            if (s->nrows == cap) {
                cap = cap ? cap * 2 : 16;
                ast ***nr = arena_alloc(p->ar, sizeof(ast **) * (size_t)cap);
                if (s->nrows) memcpy(nr, s->rows, sizeof(ast **) * (size_t)s->nrows);
                s->rows = nr;
            }
            s->rows[s->nrows++] = row;
        } while (opt(p, ","));
        return 0;
    }
    bool paren = opt(p, "(");
    if (!tok_is_kw(CUR(p), "select")) return syntax(p, "VALUES or SELECT");
    if (!(s->sel = select_body(p))) return -1;
    if (paren && expect_op(p, ")")) return -1;
    return 0;
}

static int parse_one(parser *p, stmt *s) {
    token *t = CUR(p);
    if (tok_is_kw(t, "select")) {
        s->kind = S_SELECT;
        return (s->sel = select_body(p)) ? 0 : -1;
    }
    if (tok_is_op(t, "(") && tok_is_kw(&p->t[p->pos + 1], "select")) {
        p->pos++;
        s->kind = S_SELECT;
        if (!(s->sel = select_body(p))) return -1;
        return expect_op(p, ")");
    }
    if (kw(p, "create")) {
        if (expect_kw(p, "table")) return -1;
        return parse_create(p, s);
    }
    if (kw(p, "drop")) {
        if (expect_kw(p, "table")) return -1;
        s->kind = S_DROP;
        if (kw(p, "if")) {
            if (expect_kw(p, "exists")) return -1;
            s->if_flag = true;
        }
        return (s->table = ident(p, "a table name")) ? 0 : -1;
    }
    if (tok_is_kw(t, "insert")) {
        p->pos++;
        return parse_insert(p, s);
    }
    if (kw(p, "show")) {
        if (expect_kw(p, "tables")) return -1;
        s->kind = S_SHOW;
        return 0;
    }
    if (kw(p, "describe") || kw(p, "desc")) {
        s->kind = S_DESCRIBE;
        kw(p, "table");
        return (s->table = ident(p, "a table name")) ? 0 : -1;
    }
    if (kw(p, "explain")) {
        s->kind = S_EXPLAIN;
        s->inner = arena_alloc(p->ar, sizeof(stmt));
        if (!tok_is_kw(CUR(p), "select") && !tok_is_op(CUR(p), "(")) return syntax(p, "SELECT");
        return parse_one(p, s->inner);
    }
    return syntax(p, "a statement (SELECT, CREATE, DROP, INSERT, SHOW, DESCRIBE, EXPLAIN)");
}

int parse_stmt(arena *ar, const char *text, size_t len, stmt **out, qv_err *err) {
    token *toks;
    int n;
    qv_err_clear(err);
    if (lex_all(ar, text, len, &toks, &n, err)) return err->code;
    parser p = {.ar = ar, .t = toks, .n = n, .err = err};
    stmt *s = arena_alloc(ar, sizeof *s);
    int rc = parse_one(&p, s);
    if (!rc) {
        opt(&p, ";");
        if (CUR(&p)->kind != TK_EOF) rc = syntax(&p, "end of statement");
    }
    free(toks);
    if (rc) {
        if (!err->code) qv_err_set(err, QV_EINVAL, "syntax error");
        stmt_free(s);
        return err->code;
    }
    *out = s;
    return 0;
}

void stmt_free(stmt *s) {
    if (!s) return;
    if (s->has_schema) qv_schema_free(&s->schema);
    s->has_schema = false;
    if (s->inner) stmt_free(s->inner);
}

static bool streq_ci(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcasecmp(a, b) == 0;
}

bool ast_equal(const ast *a, const ast *b) {
    if (a == b) return true;
    if (!a || !b || a->kind != b->kind || a->op != b->op || a->nargs != b->nargs) return false;
    if (a->neg != b->neg || a->distinct != b->distinct || a->star != b->star || a->cast_type != b->cast_type)
        return false;
    switch (a->kind) {
    case A_INT: case A_BOOL: case A_TSLIT: case A_INTERVAL:
        if (a->ival != b->ival) return false;
        break;
    case A_FLOAT:
        if (a->fval != b->fval) return false;
        break;
    case A_STR:
        if (strcmp(a->name, b->name)) return false;
        break;
    case A_COL:
        if (!streq_ci(a->name, b->name)) return false;
        if (a->qual && b->qual && !streq_ci(a->qual, b->qual)) return false;
        break;
    case A_FUNC: case A_EXTRACT:
        if (!streq_ci(a->name, b->name)) return false;
        break;
    default: break;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!ast_equal(a->args[i], b->args[i])) return false;
    return true;
}
