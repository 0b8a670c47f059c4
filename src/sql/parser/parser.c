/* Recursive-descent parser, expression half: tokens -> AST in the caller's
   arena. This file has the token helpers and the operators by precedence
   (OR, AND, NOT, comparisons and predicates, +/-, * / %, unary, ::);
   their operands are in parse_primary.c, statements in parse_stmt.c. */
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

ast *ps_node(parser *p, ast_kind k, token *at) {
    ast *a = arena_alloc(p->ar, sizeof *a);
    a->kind = k;
    a->line = at->line;
    a->col = at->col;
    return a;
}

#define MAX_HEIGHT 200

/* Sets a's height from its children; NULL (with an error) when the tree is too tall. */
ast *ps_grown(parser *p, ast *a) {
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

/* DECIMAL, DECIMAL(p) and DECIMAL(p, s) after the name token t: DuckDB's
   defaults (18, 3) and scale 0; precision is 1..18 here (values are int64). */
static int64_t tok_small_int(const token *t) { /* an INT token's value, capped at 1000 */
    int64_t v = 0;
    for (int i = 0; i < t->len && v <= 1000; i++)
        if (t->p[i] >= '0' && t->p[i] <= '9') v = v * 10 + (t->p[i] - '0');
    return v;
}

static int ps_decimal_type(parser *p, token *t, qv_type *out) {
    int64_t prec = QV_DEC_DEFAULT_PREC, scale = QV_DEC_DEFAULT_SCALE;
    if (ps_opt(p, "(")) {
        token *pt = CUR(p);
        if (pt->kind != TK_INT) return ps_syntax(p, "a precision");
        prec = tok_small_int(pt), scale = 0;
        p->pos++;
        if (ps_opt(p, ",")) {
            token *st = CUR(p);
            if (st->kind != TK_INT) return ps_syntax(p, "a scale");
            scale = tok_small_int(st);
            p->pos++;
        }
        if (ps_expect_op(p, ")")) return -1;
    }
    if (prec < 1 || prec > QV_DEC_MAX_PREC)
        return qv_err_set(p->err, QV_EINVAL, "DECIMAL precision must be between 1 and %d (values are 64-bit), at line %d, column %d",
                          QV_DEC_MAX_PREC, t->line, t->col);
    if (scale < 0 || scale > prec)
        return qv_err_set(p->err, QV_EINVAL, "DECIMAL scale must be between 0 and the precision (%lld), at line %d, column %d",
                          (long long)prec, t->line, t->col);
    *out = type_dec((int)prec, (int)scale);
    return 0;
}

int ps_type(parser *p, qv_type *out) {
    token *t = CUR(p);
    if (t->kind != TK_IDENT) return ps_syntax(p, "a type name");
    p->pos++;
    qv_type ty = qv_type_parse(t->p, (size_t)t->len);
    if (tok_is_kw(t, "double") && tok_is_kw(CUR(p), "precision")) p->pos++;
    if (ty == QV_T_INVALID)
        return qv_err_set(p->err, QV_EINVAL, "unknown type '%s' at line %d, column %d", t->text, t->line, t->col);
    if (ty == QV_T_DECIMAL) return ps_decimal_type(p, t, out);
    if (ty == QV_T_INTERVAL) ty = T_INTERVAL; /* the SQL module's own INTERVAL type (sql_base.h) */
    if (ps_opt(p, "(")) { /* VARCHAR(20) and the like: length ignored */
        if (CUR(p)->kind != TK_INT) return ps_syntax(p, "a length");
        p->pos++;
        if (ps_expect_op(p, ")")) return -1;
    }
    *out = ty;
    return 0;
}

/* The type of CAST(e AS type) / e::type into a. */
int ps_cast_type(parser *p, ast *a) { return ps_type(p, &a->cast_type); }

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

static ast *postfix(parser *p) {
    ast *e = ps_primary(p);
    while (e && tok_is_op(CUR(p), "::")) {
        token *t = CUR(p);
        p->pos++;
        ast *a = ps_node(p, A_CAST, t);
        if (ps_cast_type(p, a)) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        e = ps_grown(p, a);
    }
    return e;
}

static ast *bin(parser *p, token *t, int op, ast *l, ast *r) {
    if (!l || !r) return NULL;
    ast *a = ps_node(p, op == OP_NOT || op == OP_NEG || op == OP_BNOT ? A_UNARY : A_BINARY, t);
    a->op = op;
    a->args = arena_alloc(p->ar, sizeof(ast *) * 2);
    a->args[0] = l;
    a->args[1] = r;
    a->nargs = r ? 2 : 1;
    return ps_grown(p, a);
}

static ast *add(parser *p);

/* Prefix ~ wherever an operand may stand, over a whole sum, as in DuckDB:
   ~1 + 2 is ~(1 + 2), 1 + ~1 * 2 is 1 + ~(1 * 2), ~1 & 3 is (~1) & 3. */
static ast *bnot(parser *p, token *t) {
    ast *e = add(p);
    if (!e) return NULL;
    ast *a = ps_node(p, A_UNARY, t);
    a->op = OP_BNOT;
    a->args = arena_alloc(p->ar, sizeof(ast *));
    a->args[0] = e;
    a->nargs = 1;
    return ps_grown(p, a);
}

static ast *unary(parser *p) {
    token *t = CUR(p);
    if (++p->depth > 200) {
        qv_err_set(p->err, QV_EINVAL, "expression nested too deeply at line %d, column %d", t->line, t->col);
        return NULL;
    }
    ast *r;
    if (ps_opt(p, "~")) {
        r = bnot(p, t);
    } else if (ps_opt(p, "-")) {
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
            r = ps_node(p, A_UNARY, t);
            r->op = OP_NEG;
            r->args = arena_alloc(p->ar, sizeof(ast *));
            r->args[0] = e;
            r->nargs = 1;
            if (!(r = ps_grown(p, r))) return NULL;
        }
    } else if (ps_opt(p, "+")) {
        r = unary(p);
    } else {
        r = postfix(p);
    }
    p->depth--;
    return r;
}

/* x ^ y (or x ** y), left-associative, above * and below unary minus (as
   DuckDB: 2 * 3 ^ 2 is 18, 2 ^ 2 ^ 3 is 64, -2 ^ 2 is 4). */
static ast *powx(parser *p) {
    ast *l = unary(p);
    while (l && (tok_is_op(CUR(p), "^") || tok_is_op(CUR(p), "**"))) {
        token *t = CUR(p);
        p->pos++;
        l = bin(p, t, OP_POW, l, unary(p));
        if (l && tok_is_op(t, "**")) l->name = "**"; /* the output name keeps the spelling */
    }
    return l;
}

static ast *mul(parser *p) {
    ast *l = powx(p);
    while (l) {
        token *t = CUR(p);
        int op = tok_is_op(t, "*") ? OP_MUL : tok_is_op(t, "/") ? OP_DIV : tok_is_op(t, "//") ? OP_IDIV
               : tok_is_op(t, "%") ? OP_MOD : 0;
        if (!op) break;
        p->pos++;
        l = bin(p, t, op, l, powx(p));
    }
    return l;
}

static ast *add(parser *p) {
    ast *l = mul(p);
    while (l) {
        token *t = CUR(p);
        int op = tok_is_op(t, "+") ? OP_ADD : tok_is_op(t, "-") ? OP_SUB : 0;
        if (!op) break;
        p->pos++;
        l = bin(p, t, op, l, mul(p));
    }
    return l;
}

/* & | << >>: one level, left-associative, between the comparisons and + -
   (DuckDB: 1 + 2 & 3 is 3, 1 | 2 & 3 is 3, 1 << 2 + 1 is 8). */
static ast *bitop(parser *p) {
    ast *l = add(p);
    while (l) {
        token *t = CUR(p);
        int op = tok_is_op(t, "&") ? OP_BAND : tok_is_op(t, "|") ? OP_BOR : tok_is_op(t, "<<") ? OP_SHL
               : tok_is_op(t, ">>") ? OP_SHR : 0;
        if (!op) break;
        p->pos++;
        l = bin(p, t, op, l, add(p));
    }
    return l;
}

/* s ^@ prefix as the call starts_with(s, prefix) (functions/scalar/func_str.c). */
static ast *starts_with_call(parser *p, token *t, ast *l, ast *r) {
    if (!r) return NULL;
    ast *a = ps_node(p, A_FUNC, t);
    a->name = "starts_with";
    a->args = arena_alloc(p->ar, sizeof(ast *) * 2);
    a->args[0] = l;
    a->args[1] = r;
    a->nargs = 2;
    return ps_grown(p, a);
}

/* || and ^@: one level, left-associative, below & | << >> and above the
   comparisons, as DuckDB ('a' || 1 + 1 is 'a2', 'x' || 'ab' ^@ 'x' || 'y'
   is 'truey', 'ab' ^@ 'a' AND true is true). */
static ast *strop(parser *p) {
    ast *l = bitop(p);
    while (l) {
        token *t = CUR(p);
        if (tok_is_op(t, "||")) {
            p->pos++;
            l = bin(p, t, OP_CONCAT, l, bitop(p));
        } else if (tok_is_op(t, "^@")) {
            p->pos++;
            l = starts_with_call(p, t, l, bitop(p));
        } else {
            break;
        }
    }
    return l;
}

ast *ps_operand(parser *p) { return strop(p); }

static ast *pred_level(parser *p, bool with_is);

/* After IS [NOT]: NULL, or DISTINCT FROM x, where x may be a comparison
   (DuckDB: a IS DISTINCT FROM b = c compares a with b = c). */
static ast *pred_is(parser *p, token *t, ast *l) {
    bool neg = ps_kw(p, "not");
    if (ps_kw(p, "distinct")) {
        if (ps_expect_kw(p, "from")) return NULL;
        return bin(p, t, neg ? OP_NOT_DISTINCT : OP_DISTINCT, l, pred_level(p, false));
    }
    ast *a = ps_node(p, A_ISNULL, t);
    a->neg = neg;
    if (!ps_kw(p, "null")) {
        ps_syntax(p, "NULL or DISTINCT FROM");
        return NULL;
    }
    a->args = arena_alloc(p->ar, sizeof(ast *));
    a->args[0] = l;
    a->nargs = 1;
    return ps_grown(p, a);
}

static ast *pred(parser *p) { return pred_level(p, true); }

/* Comparisons and the predicates, left to right; with_is: IS [NOT] ... too. */
static ast *pred_level(parser *p, bool with_is) {
    ast *l = strop(p);
    if (!l) return NULL;
    for (;;) {
        token *t = CUR(p);
        int op = tok_is_op(t, "=") || tok_is_op(t, "==") ? OP_EQ : tok_is_op(t, "<>") || tok_is_op(t, "!=") ? OP_NE
               : tok_is_op(t, "<") ? OP_LT : tok_is_op(t, "<=") ? OP_LE : tok_is_op(t, ">") ? OP_GT
               : tok_is_op(t, ">=") ? OP_GE : 0;
        if (op) {
            p->pos++;
            l = bin(p, t, op, l, strop(p));
            if (!l) return NULL;
            continue;
        }
        if (with_is && tok_is_kw(t, "is")) {
            p->pos++;
            if (!(l = pred_is(p, t, l))) return NULL;
            continue;
        }
        bool neg = false;
        int save = p->pos;
        if (tok_is_kw(t, "not")) { neg = true; p->pos++; t = CUR(p); }
        if (tok_is_kw(t, "in")) {
            p->pos++;
            ast *a = ps_node(p, A_IN, t);
            a->neg = neg;
            int cap = 0;
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, l);
            if (ps_expect_op(p, "(")) return NULL;
            if (tok_is_kw(CUR(p), "select") || tok_is_kw(CUR(p), "with") || tok_is_kw(CUR(p), "values")) {
                if (!(a->sub = ps_query(p)) || ps_expect_op(p, ")")) return NULL;
                if (!(l = ps_grown(p, a))) return NULL;
                continue;
            }
            for (;;) {
                ast *e = ps_expr(p);
                if (!e) return NULL;
                a->args = ps_list_push(p, a->args, &a->nargs, &cap, e);
                if (ps_opt(p, ")")) break;
                if (ps_expect_op(p, ",")) return NULL;
            }
            if (!(l = ps_grown(p, a))) return NULL;
            continue;
        }
        if (tok_is_kw(t, "between")) {
            p->pos++;
            ast *a = ps_node(p, A_BETWEEN, t);
            a->neg = neg;
            a->args = arena_alloc(p->ar, sizeof(ast *) * 3);
            a->args[0] = l;
            if (!(a->args[1] = strop(p))) return NULL;
            if (ps_expect_kw(p, "and")) return NULL;
            if (!(a->args[2] = strop(p))) return NULL;
            a->nargs = 3;
            if (!(l = ps_grown(p, a))) return NULL;
            continue;
        }
        if (tok_is_kw(t, "like") || tok_is_kw(t, "ilike")) {
            p->pos++;
            ast *a = ps_node(p, A_LIKE, t);
            a->neg = neg;
            a->ilike = tok_is_kw(t, "ilike");
            a->args = arena_alloc(p->ar, sizeof(ast *) * 2);
            a->args[0] = l;
            if (!(a->args[1] = strop(p))) return NULL;
            a->nargs = 2;
            if (!(l = ps_grown(p, a))) return NULL;
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
        ast *a = ps_node(p, A_UNARY, t);
        a->op = OP_NOT;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return ps_grown(p, a);
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

