/* Binder: AST -> typed bexpr, resolving names against a scope. In the
   aggregate context, group-by expressions and aggregate calls become
   column references into the aggregation's output (keys, then aggregates). */
#include "bind.h"
#include "exec.h" /* constant folding evaluates through the executor */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bexpr *bd_mk(binder *b, bexpr_kind k, qv_type t, int nargs) {
    bexpr *e = arena_alloc(b->ar, sizeof *e);
    e->kind = k;
    e->type = t;
    e->nargs = nargs;
    if (nargs) e->args = arena_alloc(b->ar, sizeof(bexpr *) * (size_t)nargs);
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
    static const char *ops[] = {"", "+", "-", "*", "/", "//", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "NOT", "-"};
    switch (a->kind) {
    case A_INT: qv_str_appendf(s, "%lld", (long long)a->ival); break;
    case A_FLOAT: qv_str_appendf(s, "%g", a->fval); break;
    case A_STR: qv_str_appendf(s, "'%s'", a->name); break;
    case A_BOOL: qv_str_appendf(s, "%s", a->ival ? "true" : "false"); break;
    case A_NULL: qv_str_appendf(s, "NULL"); break;
    case A_TSLIT: qv_str_appendf(s, "TIMESTAMP '%s'", a->name); break;
    case A_INTERVAL: qv_str_appendf(s, "INTERVAL '%s'", a->name); break;
    case A_COL: qv_str_appendf(s, "%s", a->name); break;
    case A_STAR: qv_str_appendf(s, "*"); break;
    case A_PARAM: qv_str_appendf(s, "$%lld", (long long)a->ival); break;
    case A_SUBQ: qv_str_appendf(s, "(SELECT ...)"); break;
    case A_EXISTS: qv_str_appendf(s, "EXISTS(SELECT ...)"); break;
    case A_UNARY:
        qv_str_appendf(s, a->op == OP_NOT ? "(NOT " : "-");
        name_rec(s, a->args[0]);
        if (a->op == OP_NOT) qv_str_appendc(s, ')');
        break;
    case A_BINARY:
        qv_str_appendc(s, '(');
        name_rec(s, a->args[0]);
        qv_str_appendf(s, " %s ", ops[a->op]);
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
        qv_str_appendf(s, " AS %s)", qv_type_name(a->cast_type));
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

static bexpr *bind_column(binder *b, ast *a) {
    const scope *sc = b->in;
    int found = -1, nfound = 0;
    /* exact (case-sensitive) matches first, then case-insensitive ones */
    for (int pass = 0; pass < 2 && !nfound; pass++) {
        for (int i = 0; i < sc->n; i++) {
            const scope_col *c = &sc->cols[i];
            bool nm = pass == 0 ? !strcmp(c->name, a->name) : !strcasecmp(c->name, a->name);
            if (!nm || (c->hidden && !a->qual)) continue;
            if (a->qual && (!c->qual || strcasecmp(c->qual, a->qual))) continue;
            if (found < 0) found = i;
            nfound++;
        }
    }
    if (nfound > 1) return bd_fail(b, a, QV_EINVAL, "ambiguous column name '%s'", a->name, NULL);
    if (found < 0) {
        if (a->qual) {
            bool q = false;
            for (int i = 0; i < sc->n; i++)
                if (sc->cols[i].qual && !strcasecmp(sc->cols[i].qual, a->qual)) q = true;
            if (!q) return bd_fail(b, a, QV_EINVAL, "unknown table or alias '%s' in column reference '%s'", a->qual, a->name);
            char full[300];
            snprintf(full, sizeof full, "%s.%s", a->qual, a->name);
            return bd_fail(b, a, QV_EINVAL, "unknown column '%s'", full, NULL);
        }
        return bd_fail(b, a, QV_EINVAL, "unknown column '%s'", a->name, NULL);
    }
    return mk_col(b->ar, found, sc->cols[found].type, sc->cols[found].tz);
}

qv_type bd_common_type(qv_type a, qv_type c, bool *ok) {
    *ok = true;
    if (a == T_NULL) return c;
    if (c == T_NULL || a == c) return a;
    if (type_is_num(a) && type_is_num(c)) {
        if (type_pc(a) == PC_F || type_pc(c) == PC_F) return QV_T_FLOAT64;
        return QV_T_INT64;
    }
    if (type_pc(a) == PC_S && type_pc(c) == PC_S) return QV_T_STRING;
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
    if (from == QV_T_TIMESTAMP || to == QV_T_TIMESTAMP) return false;
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

static bexpr *bind_binary(binder *b, ast *a) {
    bexpr *x = bind_expr(b, a->args[0]);
    if (!x) return NULL;
    bexpr *y = bind_expr(b, a->args[1]);
    if (!y) return NULL;
    int op = a->op;
    if (op == OP_AND || op == OP_OR) {
        const char *w = op == OP_AND ? "AND needs BOOLEAN operands" : "OR needs BOOLEAN operands";
        if (!bd_need_type(b, a, x, w, bd_is_bool) || !bd_need_type(b, a, y, w, bd_is_bool)) return NULL;
        bexpr *e = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
        e->op = op;
        e->args[0] = x;
        e->args[1] = y;
        return e;
    }
    if (op >= OP_EQ && op <= OP_GE) {
        if (bd_unify(b, a, &x, &y, "compare")) return NULL;
        bexpr *e = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
        e->op = op;
        e->args[0] = x;
        e->args[1] = y;
        return e;
    }
    if (op != OP_CONCAT) { /* a string constant in arithmetic takes the other side's type */
        if (type_pc(x->type) == PC_S && x->kind == B_CONST && y->type != T_NULL && type_pc(y->type) != PC_S &&
            !(x = bind_coerce(b, x, y->type)))
            return NULL;
        if (type_pc(y->type) == PC_S && y->kind == B_CONST && x->type != T_NULL && type_pc(x->type) != PC_S &&
            !(y = bind_coerce(b, y, x->type == QV_T_TIMESTAMP ? T_INTERVAL : x->type)))
            return NULL;
    }
    qv_type tx = x->type, ty = y->type, rt = T_NULL;
    if (op == OP_CONCAT) {
        if (tx != T_NULL && type_pc(tx) != PC_S && !(x = bind_coerce(b, x, QV_T_STRING))) return NULL;
        if (ty != T_NULL && type_pc(ty) != PC_S && !(y = bind_coerce(b, y, QV_T_STRING))) return NULL;
        rt = QV_T_STRING;
    } else if (tx == T_NULL && ty == T_NULL) {
        rt = QV_T_INT32;
    } else if ((type_is_num(tx) || tx == T_NULL) && (type_is_num(ty) || ty == T_NULL)) {
        bool ok;
        rt = bd_common_type(tx, ty, &ok);
        if (op == OP_DIV) rt = QV_T_FLOAT64; /* DuckDB: `/` always divides as doubles */
        if (type_pc(rt) == PC_F) rt = QV_T_FLOAT64;
        if (rt == T_NULL) rt = QV_T_INT32;
        if (!(x = bind_coerce(b, x, rt)) || !(y = bind_coerce(b, y, rt))) return NULL;
    } else if (tx == QV_T_TIMESTAMP && ty == T_INTERVAL && (op == OP_ADD || op == OP_SUB)) {
        rt = QV_T_TIMESTAMP;
    } else if (tx == T_INTERVAL && ty == QV_T_TIMESTAMP && op == OP_ADD) {
        rt = QV_T_TIMESTAMP;
    } else if (tx == QV_T_TIMESTAMP && ty == QV_T_TIMESTAMP && op == OP_SUB) {
        rt = T_INTERVAL;
    } else if (tx == T_INTERVAL && ty == T_INTERVAL && (op == OP_ADD || op == OP_SUB)) {
        rt = T_INTERVAL;
    } else if (((tx == T_INTERVAL && type_is_int(ty)) || (type_is_int(tx) && ty == T_INTERVAL)) && op == OP_MUL) {
        rt = T_INTERVAL;
    } else if (tx == T_INTERVAL && type_is_int(ty) && (op == OP_DIV || op == OP_IDIV)) {
        rt = T_INTERVAL;
        op = OP_IDIV;
    } else {
        static const char *nm[] = {"", "+", "-", "*", "/", "//", "%", "||"};
        char m[200];
        snprintf(m, sizeof m, "operator %s cannot be applied to %s and %s", nm[op], type_name(tx), type_name(ty));
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    bexpr *e = bd_mk(b, B_BINARY, rt, 2);
    e->op = op;
    e->args[0] = x;
    e->args[1] = y;
    if (rt == QV_T_TIMESTAMP) snprintf(e->tz, sizeof e->tz, "%s", bd_pick_tz(x, y));
    return e;
}

static bexpr *bind_expr_inner(binder *b, ast *a);

bexpr *bind_expr(binder *b, ast *a) {
    if (b->agg_mode) {
        for (int i = 0; i < b->ngroup; i++)
            if (ast_equal(b->group[i], a)) return mk_col(b->ar, i, b->gkeys[i]->type, b->gkeys[i]->tz);
        if (a->kind == A_COL) {
            /* a column that is not a group key: name it in the error */
            binder plain = *b;
            plain.agg_mode = false;
            if (!bind_column(&plain, a)) return NULL;
            return bd_fail(b, a, QV_EINVAL, "column '%s' must appear in the GROUP BY clause or be used in an aggregate function", a->name, NULL);
        }
    }
    return bind_expr_inner(b, a);
}

static bexpr *bind_expr_inner(binder *b, ast *a) {
    bexpr *e;
    switch (a->kind) {
    case A_INT:
        if (a->neg) { /* 9223372036854775808 without a minus: out of BIGINT range */
            e = bd_mk(b, B_CONST, QV_T_FLOAT64, 0);
            e->cval.f = a->fval;
            return e;
        }
        e = bd_mk(b, B_CONST, a->ival >= INT32_MIN && a->ival <= INT32_MAX ? QV_T_INT32 : QV_T_INT64, 0);
        e->cval.i = a->ival;
        return e;
    case A_FLOAT:
        e = bd_mk(b, B_CONST, QV_T_FLOAT64, 0);
        e->cval.f = a->fval;
        e->op = BC_DECIMAL_LIT;
        return e;
    case A_STR:
        e = bd_mk(b, B_CONST, QV_T_STRING, 0);
        e->cval.s.p = a->name;
        e->cval.s.n = (int32_t)strlen(a->name);
        return e;
    case A_BOOL:
        e = bd_mk(b, B_CONST, QV_T_BOOL, 0);
        e->cval.i = a->ival;
        return e;
    case A_NULL:
        e = bd_mk(b, B_CONST, T_NULL, 0);
        e->cval.null = true;
        return e;
    case A_TSLIT:
        e = bd_mk(b, B_CONST, QV_T_TIMESTAMP, 0);
        e->cval.i = a->ival;
        return e;
    case A_INTERVAL:
        e = bd_mk(b, B_CONST, T_INTERVAL, 0);
        e->cval.i = a->ival;
        return e;
    case A_COL: return bind_column(b, a);
    case A_PARAM: return bind_param(b, a);
    case A_SUBQ:
    case A_EXISTS:
        if (!b->subquery) return bd_fail(b, a, QV_EUNSUPPORTED, "subqueries are not allowed in %s", b->clause ? b->clause : "this clause", NULL);
        return b->subquery(b, a);
    case A_STAR: return bd_fail(b, a, QV_EINVAL, "* is only allowed in the select list or count(*)", NULL, NULL);
    case A_UNARY: {
        bexpr *x = bind_expr(b, a->args[0]);
        if (!x) return NULL;
        if (a->op == OP_NOT) {
            if (!bd_need_type(b, a, x, "NOT needs a BOOLEAN operand", bd_is_bool)) return NULL;
            e = bd_mk(b, B_UNARY, QV_T_BOOL, 1);
        } else {
            if (x->type == T_INTERVAL) {
                e = bd_mk(b, B_UNARY, T_INTERVAL, 1);
            } else {
                if (!bd_need_type(b, a, x, "unary minus needs a numeric operand", bd_is_num)) return NULL;
                qv_type t = x->type == T_NULL ? QV_T_INT32 : x->type == QV_T_FLOAT32 ? QV_T_FLOAT64 : x->type;
                if (!(x = bind_coerce(b, x, t))) return NULL;
                e = bd_mk(b, B_UNARY, t, 1);
            }
        }
        e->op = a->op;
        e->args[0] = x;
        return e;
    }
    case A_BINARY: return bind_binary(b, a);
    case A_FUNC: return bind_func(b, a);
    case A_CAST: {
        bexpr *x = bind_expr(b, a->args[0]);
        if (!x) return NULL;
        qv_type to = a->cast_type == QV_T_SYMBOL ? QV_T_STRING : a->cast_type;
        if (!castable_to(x->type, to)) {
            char m[200];
            snprintf(m, sizeof m, "cannot cast %s to %s", type_name(x->type), type_name(to));
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
        if (x->type == to && bexpr_is_decimal_lit(x)) { /* CAST(1.25 AS DOUBLE) is a DOUBLE, no longer a decimal */
            e = bd_mk(b, B_CONST, to, 0);
            e->cval = x->kind == B_CONST ? x->cval : x->args[0]->cval;
            if (x->kind != B_CONST) e->cval.f = -e->cval.f;
            return e;
        }
        if (x->type == to) return x;
        if (x->kind == B_PARAM && x->type == T_NULL) return bind_param_type(b, x, to);
        if (x->type == T_NULL) {
            e = bd_mk(b, B_CONST, to, 0);
            e->cval.null = true;
            return e;
        }
        if (a->neg) { /* TRY_CAST: a value that does not convert becomes NULL */
            e = bd_mk(b, B_CAST, to, 1);
            e->neg = true;
            e->args[0] = x;
            if (x->type == QV_T_TIMESTAMP || to == QV_T_TIMESTAMP) memcpy(e->tz, x->tz, sizeof e->tz);
            return e;
        }
        return bind_coerce(b, x, to);
    }
    case A_EXTRACT: {
        int f = ts_field_parse(a->name);
        if (f < 0) return bd_fail(b, a, QV_EINVAL, "unknown EXTRACT field '%s'", a->name, NULL);
        bexpr *x = bind_expr(b, a->args[0]);
        if (!x) return NULL;
        if (type_pc(x->type) == PC_S && x->kind == B_CONST && !(x = bind_coerce(b, x, QV_T_TIMESTAMP))) return NULL;
        if (!bd_need_type(b, a, x, "EXTRACT needs a TIMESTAMP", bd_is_ts)) return NULL;
        e = bd_mk(b, B_EXTRACT, ts_field_is_double(f) ? QV_T_FLOAT64 : QV_T_INT64, 1);
        e->op = f;
        e->args[0] = x;
        return e;
    }
    case A_CASE: {
        e = bd_mk(b, B_CASE, T_NULL, a->nargs);
        e->has_operand = a->has_operand;
        e->has_else = a->has_else;
        int first = a->has_operand ? 1 : 0;
        for (int i = 0; i < a->nargs; i++)
            if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
        int nw = (a->nargs - first - (a->has_else ? 1 : 0)) / 2;
        for (int w = 0; w < nw; w++) {
            bexpr **c = &e->args[first + 2 * w];
            if (a->has_operand) {
                if (bd_unify(b, a, &e->args[0], c, "compare")) return NULL;
                if (!(*c = bind_coerce(b, *c, e->args[0]->type))) return NULL;
            } else if (!bd_need_type(b, a->args[first + 2 * w], *c, "CASE WHEN needs a BOOLEAN condition", bd_is_bool)) {
                return NULL;
            }
        }
        /* result type: common type of THEN/ELSE values */
        bool ok;
        for (int w = 0; w < nw; w++) {
            e->type = bd_common_type(e->type, e->args[first + 2 * w + 1]->type, &ok);
            if (!ok) return bd_fail(b, a, QV_EINVAL, "CASE branches have incompatible types", NULL, NULL);
        }
        if (a->has_else) {
            e->type = bd_common_type(e->type, e->args[a->nargs - 1]->type, &ok);
            if (!ok) return bd_fail(b, a, QV_EINVAL, "CASE branches have incompatible types", NULL, NULL);
        }
        if (e->type == T_NULL) e->type = QV_T_INT32;
        for (int w = 0; w < nw; w++) {
            bexpr **v = &e->args[first + 2 * w + 1];
            if (!(*v = bind_coerce(b, *v, e->type))) return NULL;
            if (!e->tz[0]) snprintf(e->tz, sizeof e->tz, "%s", bd_pick_tz(*v, NULL));
        }
        if (a->has_else && !(e->args[a->nargs - 1] = bind_coerce(b, e->args[a->nargs - 1], e->type))) return NULL;
        return e;
    }
    case A_IN: {
        if (a->sub) {
            if (!b->subquery) return bd_fail(b, a, QV_EUNSUPPORTED, "subqueries are not allowed in %s", b->clause ? b->clause : "this clause", NULL);
            return b->subquery(b, a);
        }
        e = bd_mk(b, B_IN, QV_T_BOOL, a->nargs);
        e->neg = a->neg;
        for (int i = 0; i < a->nargs; i++)
            if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
        for (int i = 1; i < a->nargs; i++)
            if (bd_unify(b, a, &e->args[0], &e->args[i], "compare")) return NULL;
        for (int i = 1; i < a->nargs; i++) /* the first operand may have widened later */
            if (!(e->args[i] = bind_coerce(b, e->args[i], e->args[0]->type == T_NULL ? e->args[i]->type : e->args[0]->type))) return NULL;
        if (e->args[0]->type == T_NULL) {
            bexpr *k = bd_mk(b, B_CONST, QV_T_BOOL, 0);
            k->cval.null = true;
            return k;
        }
        return e;
    }
    case A_BETWEEN: {
        /* x BETWEEN lo AND hi  ==  x >= lo AND x <= hi */
        bexpr *x = bind_expr(b, a->args[0]);
        bexpr *lo = x ? bind_expr(b, a->args[1]) : NULL;
        bexpr *hi = lo ? bind_expr(b, a->args[2]) : NULL;
        if (!hi) return NULL;
        bexpr *x2 = x;
        if (bd_unify(b, a, &x, &lo, "compare") || bd_unify(b, a, &x2, &hi, "compare")) return NULL;
        bexpr *ge = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
        ge->op = a->neg ? OP_LT : OP_GE;
        ge->args[0] = x;
        ge->args[1] = lo;
        bexpr *le = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
        le->op = a->neg ? OP_GT : OP_LE;
        le->args[0] = x2;
        le->args[1] = hi;
        e = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
        e->op = a->neg ? OP_OR : OP_AND;
        e->args[0] = ge;
        e->args[1] = le;
        return e;
    }
    case A_LIKE: {
        e = bd_mk(b, B_LIKE, QV_T_BOOL, 2);
        e->neg = a->neg;
        e->ilike = a->ilike;
        for (int i = 0; i < 2; i++) {
            if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
            if (!bd_need_type(b, a, e->args[i], "LIKE needs string operands", bd_is_str)) return NULL;
            if (e->args[i]->type == T_NULL) e->args[i] = bind_coerce(b, e->args[i], QV_T_STRING);
        }
        return e;
    }
    case A_ISNULL: {
        e = bd_mk(b, B_ISNULL, QV_T_BOOL, 1);
        e->neg = a->neg;
        if (!(e->args[0] = bind_expr(b, a->args[0]))) return NULL;
        return e;
    }
    }
    return bd_fail(b, a, QV_EINTERNAL, "unexpected expression", NULL, NULL);
}
