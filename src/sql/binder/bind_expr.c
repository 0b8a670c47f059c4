/* Binding expressions: AST -> typed bexpr, resolving names against a scope,
   one helper per kind of expression (bind_expr_inner dispatches on the
   kind). In the aggregate context, group-by expressions and aggregate calls
   become column references into the aggregation's output (keys, then
   aggregates). The helpers they share (coercion, unification, errors) are
   in bind.c. */
#include "bind.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- column references ---- */

/* The length of a qualifier as the user wrote it: an EXISTS subquery's
   table is b, not its internal alias b#1 (planner/rewrite/exists.c). */
static int written_len(const char *q) {
    const char *h = strrchr(q, '#');
    if (!h || !h[1] || h[strspn(h + 1, "0123456789") + 1]) return (int)strlen(q);
    return (int)(h - q);
}

static bexpr *bind_column(binder *b, ast *a) {
    const scope *sc = b->in;
    int found = -1, nfound = 0;
    /* exact (case-sensitive) matches first, then case-insensitive ones; a
       match from deeper in [NOT] EXISTS shadows the outer query's */
    for (int pass = 0; pass < 2 && !nfound; pass++) {
        for (int i = 0; i < sc->n; i++) {
            const scope_col *c = &sc->cols[i];
            bool nm = pass == 0 ? !strcmp(c->name, a->name) : !strcasecmp(c->name, a->name);
            if (!nm || (c->hidden && !a->qual)) continue;
            if (a->qual && (!c->qual || strcasecmp(c->qual, a->qual))) continue;
            if (found >= 0 && c->depth < sc->cols[found].depth) continue;
            if (found < 0 || c->depth > sc->cols[found].depth) found = i, nfound = 0;
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
            snprintf(full, sizeof full, "%.*s.%s", written_len(a->qual), a->qual, a->name);
            return bd_fail(b, a, QV_EINVAL, "unknown column '%s'", full, NULL);
        }
        if (!strcasecmp(a->name, "current_timestamp")) return bind_now(b); /* a column of that name wins */
        if (!strcasecmp(a->name, "current_date")) return bind_today(b);
        return bd_fail(b, a, QV_EINVAL, "unknown column '%s'", a->name, NULL);
    }
    return mk_col(b->ar, found, sc->cols[found].type, sc->cols[found].tz);
}

/* ---- literals ---- */

static bexpr *const_int(binder *b, qv_type t, int64_t i) {
    bexpr *e = bd_mk(b, B_CONST, t, 0);
    e->cval.i = i;
    return e;
}

static bexpr *const_null(binder *b, qv_type t) {
    bexpr *e = bd_mk(b, B_CONST, t, 0);
    e->cval.null = true;
    return e;
}

static bexpr *bind_int_lit(binder *b, ast *a) {
    if (a->neg) { /* 9223372036854775808 without a minus: out of BIGINT range */
        bexpr *e = bd_mk(b, B_CONST, QV_T_FLOAT64, 0);
        e->cval.f = a->fval;
        return e;
    }
    return const_int(b, a->ival >= INT32_MIN && a->ival <= INT32_MAX ? QV_T_INT32 : QV_T_INT64, a->ival);
}

static bexpr *bind_float_lit(binder *b, ast *a) {
    bexpr *e = bd_mk(b, B_CONST, QV_T_FLOAT64, 0);
    e->cval.f = a->fval;
    e->op = BC_DECIMAL_LIT;
    if (a->name) e->cval.s = (sv){a->name, (int32_t)strlen(a->name)}; /* its digits, for DECIMAL typing (bind_dec.c) */
    return e;
}

static bexpr *bind_str_lit(binder *b, ast *a) {
    bexpr *e = bd_mk(b, B_CONST, QV_T_STRING, 0);
    e->cval.s.p = a->name;
    e->cval.s.n = (int32_t)strlen(a->name);
    return e;
}

/* ---- subqueries, operators, casts, EXTRACT ---- */

/* (SELECT ...), EXISTS and IN (SELECT ...) are planned by the planner's
   callback; where the binder has none (VALUES, the constant arguments of
   window functions) they are an error. */
static bexpr *bind_subquery(binder *b, ast *a) {
    if (!b->subquery) return bd_fail(b, a, QV_EUNSUPPORTED, "subqueries are not allowed in %s", b->clause ? b->clause : "this clause", NULL);
    return b->subquery(b, a);
}

static bexpr *bind_unary(binder *b, ast *a) {
    if (a->op == OP_BNOT) return bind_op_unary(b, a);
    bexpr *e;
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

/* DATE with an INTERVAL or a TIMESTAMP is TIMESTAMP arithmetic: the DATE
   becomes its midnight (DuckDB: DATE + INTERVAL is a TIMESTAMP). */
static int bind_date_arith(binder *b, int op, bexpr **x, bexpr **y) {
    qv_type tx = (*x)->type, ty = (*y)->type;
    bool other_x = tx == T_INTERVAL || tx == QV_T_TIMESTAMP, other_y = ty == T_INTERVAL || ty == QV_T_TIMESTAMP;
    if (op != OP_ADD && op != OP_SUB) return 0;
    if (tx == QV_T_DATE && other_y && !(*x = bind_coerce(b, *x, QV_T_TIMESTAMP))) return -1;
    if (ty == QV_T_DATE && other_x && !(*y = bind_coerce(b, *y, QV_T_TIMESTAMP))) return -1;
    return 0;
}

static bexpr *bind_binary(binder *b, ast *a) {
    if (a->op >= OP_DISTINCT) return bind_op_binary(b, a);
    bool cal;
    bexpr *c = bind_cal_binary(b, a, &cal);
    if (cal) return c;
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
            !(y = bind_coerce(b, y, bd_is_time(x->type) ? T_INTERVAL : x->type)))
            return NULL;
    }
    if (bind_date_arith(b, op, &x, &y)) return NULL;
    qv_type tx = x->type, ty = y->type, rt = T_NULL;
    int dr = 0;
    if (op == OP_CONCAT) {
        if (tx != T_NULL && type_pc(tx) != PC_S && !(x = bind_coerce(b, x, QV_T_STRING))) return NULL;
        if (ty != T_NULL && type_pc(ty) != PC_S && !(y = bind_coerce(b, y, QV_T_STRING))) return NULL;
        rt = QV_T_STRING;
    } else if (tx == T_NULL && ty == T_NULL) {
        rt = QV_T_INT32;
    } else if ((type_is_num(tx) || tx == T_NULL) && (type_is_num(ty) || ty == T_NULL) &&
               (dr = bind_dec_arith(b, a, op, &x, &y, &rt)) != 0) {
        if (dr < 0) return NULL;
    } else if ((type_is_num(tx) || tx == T_NULL) && (type_is_num(ty) || ty == T_NULL)) {
        bool ok;
        rt = bd_common_type(tx, ty, &ok);
        if (op == OP_DIV || (op == OP_IDIV && type_is_dec(rt))) rt = QV_T_FLOAT64; /* DuckDB: `/` always divides as doubles, so does // on DECIMALs */
        if (type_pc(rt) == PC_F) rt = QV_T_FLOAT64;
        if (rt == T_NULL) rt = QV_T_INT32;
        if (!(x = bind_coerce(b, x, rt)) || !(y = bind_coerce(b, y, rt))) return NULL;
    } else if ((tx == QV_T_DATE && ty == QV_T_INT32 && (op == OP_ADD || op == OP_SUB)) ||
               (tx == QV_T_INT32 && ty == QV_T_DATE && op == OP_ADD)) {
        rt = QV_T_DATE; /* days later or earlier; only INTEGER days, as DuckDB */
    } else if (tx == QV_T_DATE && ty == QV_T_DATE && op == OP_SUB) {
        rt = QV_T_INT64; /* days between */
    } else if ((tx == QV_T_TIME && ty == T_INTERVAL && (op == OP_ADD || op == OP_SUB)) ||
               (tx == T_INTERVAL && ty == QV_T_TIME && op == OP_ADD) ||
               (((tx == QV_T_DATE && ty == QV_T_TIME) || (tx == QV_T_TIME && ty == QV_T_DATE)) && op == OP_ADD)) {
        return bind_time_arith(b, a, op, x, y);
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

static bexpr *bind_cast(binder *b, ast *a) {
    bexpr *e;
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
    if (x->type == T_NULL) return const_null(b, to);
    if (a->neg) { /* TRY_CAST: a value that does not convert becomes NULL */
        e = bd_mk(b, B_CAST, to, 1);
        e->neg = true;
        e->args[0] = x;
        if (x->type == QV_T_TIMESTAMP || to == QV_T_TIMESTAMP) memcpy(e->tz, x->tz, sizeof e->tz);
        return e;
    }
    return bind_coerce(b, x, to);
}

static bexpr *bind_extract(binder *b, ast *a) {
    int f = ts_field_parse(a->name);
    if (f < 0) return bd_fail(b, a, QV_EINVAL, "unknown EXTRACT field '%s'", a->name, NULL);
    bexpr *x = bind_expr(b, a->args[0]);
    if (!x) return NULL;
    if (type_pc(x->type) == PC_S && x->kind == B_CONST && !(x = bind_coerce(b, x, QV_T_TIMESTAMP))) return NULL;
    if (x->type == QV_T_TIME && !ts_field_of_day(f))
        return bd_fail(b, a, QV_EINVAL, "EXTRACT: a TIME has no %s", ts_field_name(f), NULL);
    if (x->type != QV_T_TIME && !bd_need_type(b, a, x, "EXTRACT needs a TIMESTAMP, DATE or TIME", bd_is_time)) return NULL;
    if (x->type != QV_T_TIME && !(x = bind_coerce(b, x, QV_T_TIMESTAMP))) return NULL; /* a TIME is its ns since midnight */
    bexpr *e = bd_mk(b, B_EXTRACT, ts_field_is_double(f) ? QV_T_FLOAT64 : QV_T_INT64, 1);
    e->op = f;
    e->args[0] = x;
    return e;
}

/* ---- CASE and the predicates ---- */

/* CASE x WHEN v1 ... WHEN vn: the type x and every vi are compared in. It is
   decided over all of them before anything is cast: a later WHEN may widen
   it (WHEN 1 ... WHEN 2.5), and the executor compares each WHEN with the
   operand in that one type. As in a comparison, a string constant takes the
   type of the typed values around it. Returns T_NULL when all are NULL. */
static int case_operand_type(binder *b, ast *a, bexpr **v, int nv, qv_type *out) {
    qv_type t = T_NULL;
    bool has_str_const = false;
    for (int i = 0; i < nv; i++) {
        if (type_pc(v[i]->type) == PC_S && v[i]->kind == B_CONST) {
            has_str_const = true;
            continue;
        }
        bool ok;
        qv_type nt = bd_common_type(t, v[i]->type, &ok);
        if (!ok) {
            char m[200];
            snprintf(m, sizeof m, "cannot compare %s and %s", type_name(t), type_name(v[i]->type));
            bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
            return -1;
        }
        t = nt;
    }
    if (has_str_const && (t == T_NULL || type_pc(t) == PC_S)) t = QV_T_STRING;
    *out = t;
    return 0;
}

/* Casts the operand and every WHEN value of a simple CASE to their common type. */
static int case_operand_unify(binder *b, ast *a, bexpr *e, int nw) {
    int nv = 1 + nw;
    bexpr **v = arena_alloc(b->ar, sizeof(bexpr *) * (size_t)nv);
    v[0] = e->args[0];
    for (int w = 0; w < nw; w++) v[1 + w] = e->args[1 + 2 * w];
    qv_type t;
    int rc = case_operand_type(b, a, v, nv, &t);
    if (rc || t == T_NULL) return rc;
    if (!(e->args[0] = bind_coerce(b, e->args[0], t))) return -1;
    for (int w = 0; w < nw; w++)
        if (!(e->args[1 + 2 * w] = bind_coerce(b, e->args[1 + 2 * w], t))) return -1;
    return 0;
}

/* args: [operand], then WHEN/THEN pairs, then [ELSE]. */
static bexpr *bind_case(binder *b, ast *a) {
    bexpr *e = bd_mk(b, B_CASE, T_NULL, a->nargs);
    e->has_operand = a->has_operand;
    e->has_else = a->has_else;
    int first = a->has_operand ? 1 : 0;
    for (int i = 0; i < a->nargs; i++)
        if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
    int nw = (a->nargs - first - (a->has_else ? 1 : 0)) / 2;
    if (a->has_operand) {
        if (case_operand_unify(b, a, e, nw)) return NULL;
    } else {
        for (int w = 0; w < nw; w++)
            if (!bd_need_type(b, a->args[2 * w], e->args[2 * w], "CASE WHEN needs a BOOLEAN condition", bd_is_bool)) return NULL;
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

static bexpr *bind_in(binder *b, ast *a) {
    if (a->sub) return bind_subquery(b, a);
    bexpr *e = bd_mk(b, B_IN, QV_T_BOOL, a->nargs);
    e->neg = a->neg;
    for (int i = 0; i < a->nargs; i++)
        if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
    for (int i = 1; i < a->nargs; i++)
        if (bd_unify(b, a, &e->args[0], &e->args[i], "compare")) return NULL;
    for (int i = 1; i < a->nargs; i++) /* the first operand may have widened later */
        if (!(e->args[i] = bind_coerce(b, e->args[i], e->args[0]->type == T_NULL ? e->args[i]->type : e->args[0]->type))) return NULL;
    if (e->args[0]->type == T_NULL) return const_null(b, QV_T_BOOL);
    return e;
}

/* x BETWEEN lo AND hi  ==  x >= lo AND x <= hi */
static bexpr *bind_between(binder *b, ast *a) {
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
    bexpr *e = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
    e->op = a->neg ? OP_OR : OP_AND;
    e->args[0] = ge;
    e->args[1] = le;
    return e;
}

static bexpr *bind_like(binder *b, ast *a) {
    bexpr *e = bd_mk(b, B_LIKE, QV_T_BOOL, 2);
    e->neg = a->neg;
    e->ilike = a->ilike;
    for (int i = 0; i < 2; i++) {
        if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
        if (!bd_need_type(b, a, e->args[i], "LIKE needs string operands", bd_is_str)) return NULL;
        if (e->args[i]->type == T_NULL) e->args[i] = bind_coerce(b, e->args[i], QV_T_STRING);
    }
    return e;
}

static bexpr *bind_isnull(binder *b, ast *a) {
    bexpr *e = bd_mk(b, B_ISNULL, QV_T_BOOL, 1);
    e->neg = a->neg;
    if (!(e->args[0] = bind_expr(b, a->args[0]))) return NULL;
    return e;
}

/* ---- dispatch ---- */

/* Every kind is named, with no default, so -Wswitch reports a new ast_kind
   that is not bound here; the return after the switch catches a corrupt kind. */
static bexpr *bind_expr_inner(binder *b, ast *a) {
    switch (a->kind) {
    case A_INT: return bind_int_lit(b, a);
    case A_FLOAT: return bind_float_lit(b, a);
    case A_STR: return bind_str_lit(b, a);
    case A_BOOL: return const_int(b, QV_T_BOOL, a->ival);
    case A_NULL: return const_null(b, T_NULL);
    case A_TSLIT: return const_int(b, a->cast_type == QV_T_DATE || a->cast_type == QV_T_TIME ? a->cast_type : QV_T_TIMESTAMP, a->ival);
    case A_INTERVAL:
        if (a->months)
            return bd_fail(b, a, QV_EUNSUPPORTED, "an INTERVAL with months or years has no fixed length: Quiver takes one "
                           "added to or subtracted from a TIMESTAMP or DATE, as a generate_series/range step or as a "
                           "time_bucket width, not as a value (INTERVAL '%s')", a->name, NULL);
        return const_int(b, T_INTERVAL, a->ival);
    case A_COL: return bind_column(b, a);
    case A_PARAM: return bind_param(b, a);
    case A_SUBQ:
    case A_EXISTS: return bind_subquery(b, a);
    case A_STAR: return bd_fail(b, a, QV_EINVAL, "* is only allowed in the select list or count(*)", NULL, NULL);
    case A_UNARY: return bind_unary(b, a);
    case A_BINARY: return bind_binary(b, a);
    case A_FUNC: return bind_func(b, a);
    case A_CAST: return bind_cast(b, a);
    case A_EXTRACT: return bind_extract(b, a);
    case A_CASE: return bind_case(b, a);
    case A_IN: return bind_in(b, a);
    case A_BETWEEN: return bind_between(b, a);
    case A_LIKE: return bind_like(b, a);
    case A_ISNULL: return bind_isnull(b, a);
    }
    return bd_fail(b, a, QV_EINTERNAL, "unexpected expression", NULL, NULL);
}

bexpr *bind_expr(binder *b, ast *a) {
    if (b->agg_mode) {
        for (int i = 0; i < b->ngroup; i++)
            if (ast_equal(b->group[i], a)) return mk_col(b->ar, i, b->gkeys[i]->type, b->gkeys[i]->tz);
        if (a->kind == A_COL) {
            /* a column that is not a group key: name it in the error */
            binder plain = *b;
            plain.agg_mode = false;
            bexpr *c = bind_column(&plain, a);
            if (!c) return NULL;
            if (c->kind != B_COL) return c; /* current_timestamp */
            return bd_fail(b, a, QV_EINVAL, "column '%s' must appear in the GROUP BY clause or be used in an aggregate function", a->name, NULL);
        }
    }
    return bind_expr_inner(b, a);
}
