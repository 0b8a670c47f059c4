/* Binding of function calls: aggregates (registered with the aggregate
   context) and the table-driven scalar functions (functions/scalar/func.c). */
#include "functions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bexpr *bind_agg(binder *b, ast *a);

bool is_agg_name(const char *name) { return agg_lookup(name) >= 0; }

bexpr *bind_func(binder *b, ast *a) {
    if (a->over) {
        if (b->in_window)
            return bd_fail(b, a, QV_EINVAL, "window function calls cannot be nested (%s)", a->name, NULL);
        if (b->in_agg_arg)
            return bd_fail(b, a, QV_EINVAL, "window function %s is not allowed in the argument of an aggregate", a->name, NULL);
        if (!b->window)
            return bd_fail(b, a, QV_EINVAL, "window function %s is not allowed in %s", a->name, b->clause ? b->clause : "this clause");
        return b->window(b, a);
    }
    if (win_fn_lookup(a->name) >= 0)
        return bd_fail(b, a, QV_EINVAL, "%s is a window function and needs an OVER clause", a->name, NULL);
    if (is_agg_name(a->name)) return bind_agg(b, a);
    bool cal;
    bexpr *c = bind_cal_call(b, a, &cal);
    if (cal) return c;
    if (a->star || a->distinct)
        return bd_fail(b, a, QV_EINVAL, "%s is not an aggregate function; * and DISTINCT are not allowed", a->name, NULL);
    if (a->norder) return bd_fail(b, a, QV_EINVAL, "%s is not an aggregate function; ORDER BY is not allowed", a->name, NULL);
    const sfunc_def *fd = sfunc_lookup(a->name);
    if (!fd && tfunc_lookup(a->name))
        return bd_fail(b, a, QV_EUNSUPPORTED, "%s() is a table function: use it in FROM (SELECT * FROM %s(...)); "
                       "in the select list DuckDB returns a LIST, a type Quiver does not have", a->name, a->name);
    if (!fd) {
        char hint[160];
        func_suggest(a->name, hint, sizeof hint);
        return bd_fail(b, a, QV_EINVAL, "unknown function '%s'%s", a->name, hint);
    }
    return sfunc_bind(b, a, fd);
}

static bexpr *bind_agg(binder *b, ast *a) {
    if (!b->agg_mode || b->in_agg_arg)
        return bd_fail(b, a, QV_EINVAL, b->in_agg_arg ? "aggregate function calls cannot be nested (%s)"
                                                   : "aggregate function %s is not allowed in %s",
                    a->name, b->clause ? b->clause : "this clause");
    for (int i = 0; i < b->naggs; i++)
        if (ast_equal(b->agg_asts[i], a)) return mk_col(b->ar, b->ngroup + i, b->aggs[i].type, b->aggs[i].tz);
    agg_spec sp;
    if (agg_bind(b, a, &sp)) return NULL;
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
