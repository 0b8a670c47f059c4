/* Binding of function calls: scalar functions, date_trunc/date_part,
   coalesce, and aggregates (registered with the aggregate context). */
#include "bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct fdef {
    const char *name;
    int id, minargs, maxargs;
} fdef;

static const fdef funcs[] = {
    {"abs", F_ABS, 1, 1}, {"round", F_ROUND, 1, 2}, {"floor", F_FLOOR, 1, 1}, {"ceil", F_CEIL, 1, 1},
    {"ceiling", F_CEIL, 1, 1}, {"sqrt", F_SQRT, 1, 1}, {"ln", F_LN, 1, 1}, {"log10", F_LOG10, 1, 1},
    {"exp", F_EXP, 1, 1}, {"power", F_POWER, 2, 2}, {"pow", F_POWER, 2, 2}, {"lower", F_LOWER, 1, 1},
    {"upper", F_UPPER, 1, 1}, {"length", F_LENGTH, 1, 1}, {"char_length", F_LENGTH, 1, 1},
    {"substr", F_SUBSTR, 2, 3}, {"substring", F_SUBSTR, 2, 3}, {"sign", F_SIGN, 1, 1},
    {"least", F_LEAST, 1, 64}, {"greatest", F_GREATEST, 1, 64}, {"nullif", F_NULLIF, 2, 2},
    {"trim", F_TRIM, 1, 1}, {"concat", F_CONCAT, 1, 64}, {NULL, 0, 0, 0}};

static bexpr *bind_agg(binder *b, ast *a);

bexpr *bind_func(binder *b, ast *a) {
    if (is_agg_name(a->name)) return bind_agg(b, a);
    if (a->star || a->distinct)
        return bd_fail(b, a, QV_EINVAL, "%s is not an aggregate function; * and DISTINCT are not allowed", a->name, NULL);
    if (!strcasecmp(a->name, "coalesce") || !strcasecmp(a->name, "ifnull")) {
        if (a->nargs < 1) return bd_fail(b, a, QV_EINVAL, "coalesce needs at least one argument", NULL, NULL);
        bexpr *e = bd_mk(b, B_COALESCE, T_NULL, a->nargs);
        bool ok;
        for (int i = 0; i < a->nargs; i++) {
            if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
            qv_type t = e->args[i]->type;
            if (type_pc(t) == PC_S && e->args[i]->kind == B_CONST && e->type != T_NULL && type_pc(e->type) != PC_S) {
                if (!(e->args[i] = bind_coerce(b, e->args[i], e->type))) return NULL;
                continue;
            }
            qv_type nt = bd_common_type(e->type, t, &ok);
            if (!ok) {
                char m[200];
                snprintf(m, sizeof m, "coalesce arguments have incompatible types %s and %s", type_name(e->type), type_name(t));
                return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
            }
            e->type = nt;
        }
        for (int i = 0; i < a->nargs; i++)
            if (!(e->args[i] = bind_coerce(b, e->args[i], e->type == T_NULL ? e->args[i]->type : e->type))) return NULL;
        snprintf(e->tz, sizeof e->tz, "%s", bd_pick_tz(e->args[0], NULL));
        return e;
    }
    if (!strcasecmp(a->name, "date_trunc") || !strcasecmp(a->name, "date_part") || !strcasecmp(a->name, "datepart")) {
        bool trunc = !strcasecmp(a->name, "date_trunc");
        if (a->nargs != 2) return bd_fail(b, a, QV_EINVAL, "%s takes 2 arguments", a->name, NULL);
        if (a->args[0]->kind != A_STR) return bd_fail(b, a, QV_EINVAL, "%s needs a constant string as its first argument", a->name, NULL);
        int f = ts_field_parse(a->args[0]->name);
        if (f < 0 || (trunc && (f == TF_DOW || f == TF_DOY || f == TF_EPOCH || f == TF_NANOSECOND)))
            return bd_fail(b, a, QV_EINVAL, "unknown %s field '%s'", a->name, a->args[0]->name);
        bexpr *x = bind_expr(b, a->args[1]);
        if (!x) return NULL;
        if (type_pc(x->type) == PC_S && x->kind == B_CONST && !(x = bind_coerce(b, x, QV_T_TIMESTAMP))) return NULL;
        if (!bd_need_type(b, a, x, "the second argument must be a TIMESTAMP", bd_is_ts)) return NULL;
        bexpr *e = bd_mk(b, trunc ? B_TRUNC : B_EXTRACT, trunc ? QV_T_TIMESTAMP : (f == TF_EPOCH ? QV_T_FLOAT64 : QV_T_INT64), 1);
        e->op = f;
        e->args[0] = x;
        if (trunc) memcpy(e->tz, x->tz, sizeof e->tz);
        return e;
    }
    if (!strcasecmp(a->name, "time_bucket")) {
        /* time_bucket(INTERVAL, ts): buckets of a fixed width aligned to 2000-01-03 (as DuckDB) */
        if (a->nargs != 2) return bd_fail(b, a, QV_EINVAL, "time_bucket takes 2 arguments (an INTERVAL and a TIMESTAMP)", NULL, NULL);
        bexpr *w = bind_expr(b, a->args[0]);
        if (!w) return NULL;
        if (type_pc(w->type) == PC_S && w->kind == B_CONST && !(w = bind_coerce(b, w, T_INTERVAL))) return NULL;
        if (w->kind != B_CONST || w->type != T_INTERVAL || w->cval.null || w->cval.i <= 0)
            return bd_fail(b, a, QV_EINVAL, "time_bucket needs a constant positive INTERVAL as its first argument", NULL, NULL);
        bexpr *x = bind_expr(b, a->args[1]);
        if (!x) return NULL;
        if (type_pc(x->type) == PC_S && x->kind == B_CONST && !(x = bind_coerce(b, x, QV_T_TIMESTAMP))) return NULL;
        if (!bd_need_type(b, a, x, "time_bucket needs a TIMESTAMP as its second argument", bd_is_ts)) return NULL;
        bexpr *e = bd_mk(b, B_FUNC, QV_T_TIMESTAMP, 2);
        e->op = F_TIME_BUCKET;
        e->args[0] = w;
        e->args[1] = x;
        memcpy(e->tz, x->tz, sizeof e->tz);
        return e;
    }
    const fdef *fd = NULL;
    for (int i = 0; funcs[i].name; i++)
        if (!strcasecmp(funcs[i].name, a->name)) fd = &funcs[i];
    if (!fd) return bd_fail(b, a, QV_EINVAL, "unknown function '%s'", a->name, NULL);
    if (a->nargs < fd->minargs || a->nargs > fd->maxargs) {
        char m[200];
        if (fd->minargs == fd->maxargs) snprintf(m, sizeof m, "%s takes %d argument%s, got %d", fd->name, fd->minargs, fd->minargs == 1 ? "" : "s", a->nargs);
        else snprintf(m, sizeof m, "%s takes %d to %d arguments, got %d", fd->name, fd->minargs, fd->maxargs, a->nargs);
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    bexpr *e = bd_mk(b, B_FUNC, T_NULL, a->nargs);
    e->op = fd->id;
    for (int i = 0; i < a->nargs; i++)
        if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
    char what[160];
    switch (fd->id) {
    case F_ABS: case F_ROUND: case F_FLOOR: case F_CEIL: case F_SIGN:
        snprintf(what, sizeof what, "%s needs a numeric argument", fd->name);
        if (!bd_need_type(b, a, e->args[0], what, bd_is_num)) return NULL;
        e->type = e->args[0]->type == T_NULL ? QV_T_FLOAT64 : e->args[0]->type;
        if (e->type == QV_T_FLOAT32) e->type = QV_T_FLOAT64, e->args[0] = bind_coerce(b, e->args[0], QV_T_FLOAT64);
        if (e->args[0]->type == T_NULL) e->args[0] = bind_coerce(b, e->args[0], QV_T_FLOAT64);
        if (fd->id == F_SIGN) e->type = QV_T_INT32;
        if (a->nargs > 1) {
            snprintf(what, sizeof what, "%s needs an integer number of digits", fd->name);
            if (!bd_need_type(b, a, e->args[1], what, bd_is_int)) return NULL;
            if (!(e->args[1] = bind_coerce(b, e->args[1], QV_T_INT64))) return NULL;
        }
        break;
    case F_SQRT: case F_LN: case F_LOG10: case F_EXP: case F_POWER:
        for (int i = 0; i < a->nargs; i++) {
            snprintf(what, sizeof what, "%s needs numeric arguments", fd->name);
            if (!bd_need_type(b, a, e->args[i], what, bd_is_num)) return NULL;
            if (!(e->args[i] = bind_coerce(b, e->args[i], QV_T_FLOAT64))) return NULL;
        }
        e->type = QV_T_FLOAT64;
        break;
    case F_LOWER: case F_UPPER: case F_LENGTH: case F_TRIM:
        snprintf(what, sizeof what, "%s needs a string argument", fd->name);
        if (!bd_need_type(b, a, e->args[0], what, bd_is_str)) return NULL;
        if (e->args[0]->type == T_NULL) e->args[0] = bind_coerce(b, e->args[0], QV_T_STRING);
        e->type = fd->id == F_LENGTH ? QV_T_INT64 : QV_T_STRING;
        break;
    case F_SUBSTR:
        if (!bd_need_type(b, a, e->args[0], "substr needs a string as its first argument", bd_is_str)) return NULL;
        if (e->args[0]->type == T_NULL) e->args[0] = bind_coerce(b, e->args[0], QV_T_STRING);
        for (int i = 1; i < a->nargs; i++) {
            if (!bd_need_type(b, a, e->args[i], "substr needs integer start and length", bd_is_int)) return NULL;
            if (!(e->args[i] = bind_coerce(b, e->args[i], QV_T_INT64))) return NULL;
        }
        e->type = QV_T_STRING;
        break;
    case F_CONCAT:
        for (int i = 0; i < a->nargs; i++)
            if (e->args[i]->type != T_NULL && !(e->args[i] = bind_coerce(b, e->args[i], QV_T_STRING))) return NULL;
        e->type = QV_T_STRING;
        break;
    case F_LEAST: case F_GREATEST: case F_NULLIF: {
        bool ok;
        for (int i = 0; i < a->nargs; i++) {
            e->type = bd_common_type(e->type, e->args[i]->type, &ok);
            if (!ok) {
                char m[200];
                snprintf(m, sizeof m, "%s arguments have incompatible types", fd->name);
                return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
            }
        }
        if (e->type == T_NULL) e->type = QV_T_INT32;
        for (int i = 0; i < a->nargs; i++)
            if (!(e->args[i] = bind_coerce(b, e->args[i], e->type))) return NULL;
        snprintf(e->tz, sizeof e->tz, "%s", bd_pick_tz(e->args[0], NULL));
        break;
    }
    }
    return e;
}

static bexpr *bind_agg(binder *b, ast *a) {
    if (!b->agg_mode || b->in_agg_arg)
        return bd_fail(b, a, QV_EINVAL, b->in_agg_arg ? "aggregate function calls cannot be nested (%s)"
                                                   : "aggregate function %s is not allowed in %s",
                    a->name, b->clause ? b->clause : "this clause");
    for (int i = 0; i < b->naggs; i++)
        if (ast_equal(b->agg_asts[i], a)) return mk_col(b->ar, b->ngroup + i, b->aggs[i].type, b->aggs[i].tz);
    agg_spec sp;
    memset(&sp, 0, sizeof sp);
    const char *n = a->name;
    sp.distinct = a->distinct;
    if (a->star) {
        if (strcasecmp(n, "count")) return bd_fail(b, a, QV_EINVAL, "%s(*) is not allowed; only count(*)", n, NULL);
        sp.fn = AG_COUNT_STAR;
        sp.type = QV_T_INT64;
    } else {
        if (a->nargs != 1) return bd_fail(b, a, QV_EINVAL, "aggregate %s takes exactly one argument", n, NULL);
        binder sub = *b;
        sub.agg_mode = false;
        sub.in_agg_arg = true;
        const scope *s = b->in;
        sub.in = s;
        bexpr *x = bind_expr(&sub, a->args[0]);
        if (!x) return NULL;
        if (x->type == T_INTERVAL) return bd_fail(b, a, QV_EINVAL, "aggregate %s over INTERVAL values is not supported", n, NULL);
        sp.arg = x;
        qv_type t = x->type;
        char what[120];
        if (!strcasecmp(n, "count")) { sp.fn = AG_COUNT; sp.type = QV_T_INT64; }
        else if (!strcasecmp(n, "min") || !strcasecmp(n, "max") || !strcasecmp(n, "first") || !strcasecmp(n, "last")) {
            sp.fn = !strcasecmp(n, "min") ? AG_MIN : !strcasecmp(n, "max") ? AG_MAX : !strcasecmp(n, "first") ? AG_FIRST : AG_LAST;
            sp.type = t == T_NULL ? QV_T_INT32 : t;
            if (t == T_NULL) sp.arg = bind_coerce(b, x, QV_T_INT32);
            memcpy(sp.tz, x->tz, sizeof sp.tz);
        } else {
            snprintf(what, sizeof what, "aggregate %s needs a numeric argument", n);
            if (!bd_need_type(b, a, x, what, bd_is_num)) return NULL;
            if (!strcasecmp(n, "sum")) {
                sp.fn = AG_SUM;
                sp.type = type_pc(t) == PC_F || t == T_NULL ? QV_T_FLOAT64 : QV_T_INT64;
            } else {
                sp.fn = !strcasecmp(n, "avg") || !strcasecmp(n, "mean") ? AG_AVG
                      : !strcasecmp(n, "stddev") || !strcasecmp(n, "stddev_samp") ? AG_STDDEV
                      : !strcasecmp(n, "stddev_pop") ? AG_STDDEV_POP
                      : !strcasecmp(n, "var_pop") ? AG_VAR_POP : AG_VARIANCE;
                sp.type = QV_T_FLOAT64;
            }
            if (type_pc(t) == PC_F || t == T_NULL || sp.fn != AG_SUM)
                if (!(sp.arg = bind_coerce(b, x, sp.type == QV_T_INT64 ? QV_T_INT64 : QV_T_FLOAT64))) return NULL;
            if (sp.fn == AG_SUM && sp.type == QV_T_INT64) sp.arg = bind_coerce(b, x, QV_T_INT64);
        }
    }
    if (b->naggs == b->capaggs) {
        int nc = b->capaggs ? b->capaggs * 2 : 8;
        agg_spec *na = arena_alloc(b->ar, sizeof(agg_spec) * (size_t)nc);
        ast **nas = arena_alloc(b->ar, sizeof(ast *) * (size_t)nc);
        if (b->naggs) {
            memcpy(na, b->aggs, sizeof(agg_spec) * (size_t)b->naggs);
            memcpy(nas, b->agg_asts, sizeof(ast *) * (size_t)b->naggs);
        }
        b->aggs = na;
        b->agg_asts = nas;
        b->capaggs = nc;
    }
    b->aggs[b->naggs] = sp;
    b->agg_asts[b->naggs] = a;
    b->naggs++;
    return mk_col(b->ar, b->ngroup + b->naggs - 1, sp.type, sp.tz);
}

