/* Binder helpers shared by the expression binders (bind_expr.c, and
   bind_func.c in functions/): node constructors, the aggregate and window
   tests on the AST, output names, errors, and the typing rules (common
   types, coercion with constant folding, unification of two operands). */
#include "bind.h"
#include "exec.h" /* constant folding evaluates through the executor */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bexpr *bd_mk(binder *b, bexpr_kind k, qv_type t, int nargs) {
    bexpr *e = arena_alloc(b->ar, sizeof *e);
    e->kind = k;
    e->type = t;
    e->nargs = nargs;
    if (nargs) e->args = arena_alloc(b->ar, sizeof(bexpr *) * (size_t)nargs);
    return e;
}

bexpr *bd_and(binder *b, bexpr *x, bexpr *y) {
    if (!x) return y;
    bexpr *e = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
    e->op = OP_AND;
    e->args[0] = x;
    e->args[1] = y;
    return e;
}

bexpr *mk_col(arena *ar, int col, qv_type t, const char *tz) {
    bexpr *e = arena_alloc(ar, sizeof *e);
    e->kind = B_COL;
    e->type = t;
    e->col = col;
    if (tz) snprintf(e->tz, sizeof e->tz, "%s", tz);
    return e;
}

bool ast_has_agg(const ast *a) {
    if (!a) return false;
    if (a->kind == A_FUNC && is_agg_name(a->name) && !a->over) return true;
    for (int i = 0; i < a->nargs; i++)
        if (ast_has_agg(a->args[i])) return true;
    if (a->kind == A_FUNC && a->over) { /* sum(sum(x)) OVER (PARTITION BY max(y)) */
        for (int i = 0; i < a->over->npart; i++)
            if (ast_has_agg(a->over->part[i])) return true;
        for (int i = 0; i < a->over->norder; i++)
            if (ast_has_agg(a->over->order[i].e)) return true;
    }
    return false;
}

bool ast_has_window(const ast *a) {
    if (!a) return false;
    if (a->kind == A_FUNC && a->over) return true;
    for (int i = 0; i < a->nargs; i++)
        if (ast_has_window(a->args[i])) return true;
    return false;
}

static void name_rec(qv_str *s, const ast *a) {
    static const char *ops[] = {"", "+", "-", "*", "/", "//", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "NOT", "-",
                                 "IS DISTINCT FROM", "IS NOT DISTINCT FROM", "&", "|", "xor", "<<", ">>", "~", "^"};
    _Static_assert(sizeof ops / sizeof ops[0] == OP_POW + 1, "a name per operator");
    switch (a->kind) {
    case A_INT: qv_str_appendf(s, "%lld", (long long)a->ival); break;
    case A_FLOAT: qv_str_appendf(s, "%g", a->fval); break;
    case A_STR: qv_str_appendf(s, "'%s'", a->name); break;
    case A_BOOL: qv_str_appendf(s, "%s", a->ival ? "true" : "false"); break;
    case A_NULL: qv_str_appendf(s, "NULL"); break;
    case A_TSLIT: qv_str_appendf(s, "%s '%s'", a->cast_type == QV_T_DATE ? "DATE" : a->cast_type == QV_T_TIME ? "TIME" : "TIMESTAMP", a->name); break;
    case A_INTERVAL: qv_str_appendf(s, "INTERVAL '%s'", a->name); break;
    case A_COL: qv_str_appendf(s, "%s", a->name); break;
    case A_STAR: qv_str_appendf(s, "*"); break;
    case A_PARAM: qv_str_appendf(s, "$%lld", (long long)a->ival); break;
    case A_SUBQ: qv_str_appendf(s, "(SELECT ...)"); break;
    case A_EXISTS: qv_str_appendf(s, "EXISTS(SELECT ...)"); break;
    case A_UNARY:
        qv_str_appendf(s, a->op == OP_NOT ? "(NOT " : a->op == OP_BNOT ? "(~(" : "-");
        name_rec(s, a->args[0]);
        if (a->op == OP_NOT) qv_str_appendc(s, ')');
        if (a->op == OP_BNOT) qv_str_appendf(s, "))");
        break;
    case A_BINARY:
        qv_str_appendc(s, '(');
        name_rec(s, a->args[0]);
        qv_str_appendf(s, " %s ", a->name ? a->name : ops[a->op]);
        name_rec(s, a->args[1]);
        qv_str_appendc(s, ')');
        break;
    case A_FUNC:
        if (a->star) { qv_str_appendf(s, "count_star()"); break; }
        for (const char *p = a->name; *p; p++) qv_str_appendc(s, (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p));
        qv_str_appendf(s, "(%s", a->distinct ? "DISTINCT " : "");
        for (int i = 0; i < a->nargs; i++) {
            int o = i - (a->nargs - a->norder); /* >= 0: an ORDER BY key */
            if (o == 0) qv_str_appendf(s, " ORDER BY ");
            else if (i) qv_str_appendf(s, ", ");
            name_rec(s, a->args[i]);
            if (o >= 0 && ((a->order_desc >> o) & 1)) qv_str_appendf(s, " DESC");
        }
        qv_str_appendc(s, ')');
        break;
    case A_CAST:
        qv_str_appendf(s, "CAST(");
        name_rec(s, a->args[0]);
        qv_str_appendf(s, " AS %s)", type_name(a->cast_type));
        break;
    case A_EXTRACT:
        qv_str_appendf(s, "extract(%s FROM ", a->name);
        name_rec(s, a->args[0]);
        qv_str_appendc(s, ')');
        break;
    case A_CASE: qv_str_appendf(s, "CASE"); break;
    case A_IN:
        name_rec(s, a->args[0]);
        qv_str_appendf(s, a->neg ? " NOT IN (...)" : " IN (...)");
        break;
    case A_BETWEEN:
        name_rec(s, a->args[0]);
        qv_str_appendf(s, a->neg ? " NOT BETWEEN " : " BETWEEN ");
        name_rec(s, a->args[1]);
        qv_str_appendf(s, " AND ");
        name_rec(s, a->args[2]);
        break;
    case A_LIKE:
        name_rec(s, a->args[0]);
        qv_str_appendf(s, "%s%s ", a->neg ? " NOT" : "", a->ilike ? " ILIKE" : " LIKE");
        name_rec(s, a->args[1]);
        break;
    case A_ISNULL:
        name_rec(s, a->args[0]);
        qv_str_appendf(s, a->neg ? " IS NOT NULL" : " IS NULL");
        break;
    }
}

char *ast_to_name(arena *ar, const ast *a) {
    qv_str s;
    qv_str_init(&s);
    name_rec(&s, a);
    if (s.len > QV_NAME_MAX) s.len = QV_NAME_MAX;
    char *r = arena_strndup(ar, s.data ? s.data : "", s.len);
    qv_str_free(&s);
    return r;
}

bexpr *bd_fail(binder *b, const ast *a, qv_status code, const char *fmt, const char *x, const char *y) {
    char msg[400];
    snprintf(msg, sizeof msg, fmt, x ? x : "", y ? y : "");
    qv_err_set(b->err, code, "%s (line %d, column %d)", msg, a->line, a->col);
    return NULL;
}

int bind_need_bool(binder *b, const bexpr *e, const ast *at) {
    if (e->type == QV_T_BOOL || e->type == T_NULL) return 0;
    const char *clause = !b->clause ? "the condition" : !strcmp(b->clause, "ON") ? "JOIN condition" : b->clause;
    bd_fail(b, at, QV_EINVAL, "%s needs a BOOLEAN expression, got %s", clause, type_name(e->type));
    return b->err->code;
}

qv_type bd_common_type(qv_type a, qv_type c, bool *ok) {
    *ok = true;
    if (a == T_NULL) return c;
    if (c == T_NULL || a == c) return a;
    if (type_is_num(a) && type_is_num(c)) {
        if (type_is_dec(a) || type_is_dec(c)) return bd_dec_common(a, c);
        if (type_pc(a) == PC_F || type_pc(c) == PC_F) return QV_T_FLOAT64;
        return QV_T_INT64;
    }
    if (type_pc(a) == PC_S && type_pc(c) == PC_S) return QV_T_STRING;
    if ((a == QV_T_DATE && c == QV_T_TIMESTAMP) || (a == QV_T_TIMESTAMP && c == QV_T_DATE)) return QV_T_TIMESTAMP;
    *ok = false;
    return T_NULL;
}

/* Folds a cast of a constant right away so bad literals fail at prepare. */
bexpr *bind_coerce(binder *b, bexpr *e, qv_type t) {
    if (!e || e->type == t) return e;
    if (e->kind == B_PARAM && e->type == T_NULL) return bind_param_type(b, e, t);
    if (type_pc(e->type) == PC_S && type_pc(t) == PC_S) return e;
    bexpr *c = bd_mk(b, B_CAST, t, 1);
    c->args[0] = e;
    if (e->type == QV_T_TIMESTAMP || t == QV_T_TIMESTAMP) memcpy(c->tz, e->tz, sizeof c->tz);
    if (e->kind == B_CONST) {
        vec v;
        vec_init(&v, t);
        if (expr_eval_const(c, &v, b->err)) {
            vec_free(&v);
            return NULL;
        }
        bexpr *k = bd_mk(b, B_CONST, t, 0);
        k->cval.null = vec_null(&v, 0) || e->cval.null;
        if (!k->cval.null) {
            if (type_pc(t) == PC_I) k->cval.i = v.i[0];
            else if (type_pc(t) == PC_F) k->cval.f = v.f[0];
            else {
                k->cval.s.p = arena_strndup(b->ar, v.s[0].p, (size_t)v.s[0].n);
                k->cval.s.n = v.s[0].n;
            }
        }
        memcpy(k->tz, c->tz, sizeof k->tz);
        vec_free(&v);
        return k;
    }
    return c;
}

bool castable_to(qv_type from, qv_type to) {
    if (from == T_NULL || from == to) return true;
    if (to == T_INTERVAL) return type_pc(from) == PC_S;
    if (from == T_INTERVAL) return to == QV_T_STRING;
    if (type_pc(from) == PC_S || to == QV_T_STRING || to == QV_T_SYMBOL) return true;
    if ((from == QV_T_DATE && to == QV_T_TIMESTAMP) || (from == QV_T_TIMESTAMP && to == QV_T_DATE)) return true;
    if (from == QV_T_TIMESTAMP && to == QV_T_TIME) return true; /* its time of day; DuckDB has no TIME -> TIMESTAMP */
    if (from == QV_T_TIMESTAMP || to == QV_T_TIMESTAMP || from == QV_T_DATE || to == QV_T_DATE || from == QV_T_TIME ||
        to == QV_T_TIME)
        return false;
    return true;
}

bexpr *bd_need_type(binder *b, const ast *a, bexpr *e, const char *what, bool (*ok)(qv_type)) {
    if (!e) return NULL;
    if (e->type == T_NULL || ok(e->type)) return e;
    char m[200];
    snprintf(m, sizeof m, "%s, got %s", what, type_name(e->type));
    return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
}
bool bd_is_bool(qv_type t) { return t == QV_T_BOOL; }
bool bd_is_num(qv_type t) { return type_is_num(t); }
bool bd_is_int(qv_type t) { return type_is_int(t); }
bool bd_is_str(qv_type t) { return type_pc(t) == PC_S; }
bool bd_is_ts(qv_type t) { return t == QV_T_TIMESTAMP; }
bool bd_is_time(qv_type t) { return t == QV_T_TIMESTAMP || t == QV_T_DATE; }

/* Coerce both operands of a comparison-like operation to a common type. */
int bd_unify(binder *b, const ast *a, bexpr **x, bexpr **y, const char *what) {
    qv_type tx = (*x)->type, ty = (*y)->type;
    /* a string constant next to a typed value takes that value's type */
    if (type_pc(tx) == PC_S && (*x)->kind == B_CONST && type_pc(ty) != PC_S && ty != T_NULL) {
        if (!(*x = bind_coerce(b, *x, ty))) return -1;
        return 0;
    }
    if (type_pc(ty) == PC_S && (*y)->kind == B_CONST && type_pc(tx) != PC_S && tx != T_NULL) {
        if (!(*y = bind_coerce(b, *y, tx))) return -1;
        return 0;
    }
    bd_dec_literals(b, x, y);
    tx = (*x)->type, ty = (*y)->type;
    bool ok;
    qv_type t = bd_common_type(tx, ty, &ok);
    if (!ok) {
        char m[200];
        snprintf(m, sizeof m, "cannot %s %s and %s", what, type_name(tx), type_name(ty));
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (t == T_NULL) return 0;
    if (!(*x = bind_coerce(b, *x, t)) || !(*y = bind_coerce(b, *y, t))) return -1;
    return 0;
}

const char *bd_pick_tz(bexpr *x, bexpr *y) {
    if (x && x->type == QV_T_TIMESTAMP && x->tz[0]) return x->tz;
    if (y && y->type == QV_T_TIMESTAMP && y->tz[0]) return y->tz;
    return "";
}
