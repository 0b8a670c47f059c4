/* A table function in FROM (the parser's `SELECT * FROM name(args)` wrapper):
   looks the name up in the table-function table, binds the arguments as
   constants (a column reference is refused: they have no row to come from),
   lets the function type them, and gives plan_select the generating
   operator and the scope of its columns (named by the column aliases, else
   by a lone column's table alias, else by the function, as DuckDB). */
#include "functions.h"
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first column reference in a (not looking into subqueries), or NULL. */
static const ast *first_column(const ast *a) {
    if (!a) return NULL;
    if (a->kind == A_COL || a->kind == A_STAR) return a;
    for (int i = 0; i < a->nargs; i++) {
        const ast *c = first_column(a->args[i]);
        if (c) return c;
    }
    return NULL;
}

static int unknown_tfunc(const tfunc_call *c, qv_err *err) {
    char names[200] = "";
    size_t n = 0;
    for (int i = 0; tfunc_defs[i].name && n + 40 < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", tfunc_defs[i].name);
    return qv_err_set(err, QV_EINVAL, "unknown table function '%s' (line %d, column %d); table functions are: %s", c->name,
                      c->line, c->col, names);
}

static int bind_args(binder *b, const tfunc_def *d, const tfunc_call *c, bexpr **args) {
    for (int i = 0; i < c->nargs; i++) {
        const ast *col = first_column(c->args[i]);
        if (col)
            return qv_err_set(b->err, QV_EINVAL,
                              "%s(): arguments must be constants or placeholders, not column references ('%s%s%s' at line %d, column %d)",
                              d->name, col->qual ? col->qual : "", col->qual ? "." : "", col->kind == A_STAR ? "*" : col->name,
                              col->line, col->col);
        int32_t m;
        int64_t ns;
        int r = bind_cal_const(c->args[i], false, &m, &ns);
        if (r < 0 || (r == 1 && m && ((m > 0 && ns < 0) || (m < 0 && ns > 0))))
            return qv_err_set(b->err, QV_EINVAL, "%s(): %s (line %d, column %d)", d->name, r < 0 ? "INTERVAL out of range" :
                              "a step whose months and fixed part have different signs is not supported", c->args[i]->line,
                              c->args[i]->col);
        if (r == 1 && m) { /* a calendar step: only the series take one (exec/series.c) */
            args[i] = bd_mk(b, B_CONST, T_INTERVAL, 0);
            args[i]->cval.i = ns;
            args[i]->months = m;
            continue;
        }
        if (!(args[i] = bind_expr(b, c->args[i]))) return b->err->code;
    }
    return 0;
}

static lnode *logical_of(arena *ar, const tfunc_call *c, int64_t rows) {
    lnode *n = lg_node(ar, LG_TABLE_FUNC, NULL, NULL);
    n->name = c->name;
    n->exprs = c->args;
    n->nexprs = c->nargs;
    n->alias = c->alias;
    n->est = rows;
    return n;
}

int plan_table_func(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **src, scope *sc,
                    qv_err *err) {
    const tfunc_call *c = s->tfunc;
    const tfunc_def *d = tfunc_lookup(c->name);
    if (!d) return unknown_tfunc(c, err);
    if (c->nargs < d->minargs || c->nargs > d->maxargs || c->nargs > TFUNC_MAXARGS)
        return qv_err_set(err, QV_EINVAL, "%s() takes %d to %d arguments, got %d; usage: %s (line %d, column %d)", d->name,
                          d->minargs, d->maxargs, c->nargs, d->usage, c->line, c->col);
    scope none = {0};
    planner_env env = {.ctx = ctx, .qs = qs, .ar = ar};
    char clause[80];
    snprintf(clause, sizeof clause, "the arguments of %s()", d->name);
    binder b = {.ar = ar, .err = err, .in = &none, .params = qs->params, .subquery = plan_subquery_expr,
                .planner = &env, .clause = arena_strdup(ar, clause)};
    bexpr *args[TFUNC_MAXARGS];
    tfunc_bound bd;
    memset(&bd, 0, sizeof bd);
    if (bind_args(&b, d, c, args) || d->bind(&b, d, c, args, &bd)) return err->code;
    *src = d->make(qs, d, &bd);
    sc->n = bd.ncols;
    sc->cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(bd.ncols + 1));
    for (int i = 0; i < bd.ncols; i++) {
        const char *name = bd.names[i];
        if (i < c->ncolnames) name = c->colnames[i];
        else if (bd.ncols == 1 && c->alias && !c->ncolnames) name = c->alias;
        sc->cols[i].name = name;
        sc->cols[i].qual = c->alias ? c->alias : d->name;
        sc->cols[i].type = bd.types[i];
        memcpy(sc->cols[i].tz, bd.tz[i], sizeof sc->cols[i].tz);
    }
    /* the wrapper is exactly SELECT * over the function: its row count is the function's */
    p->total_rows = d->rows(d, &bd);
    p->logical_src = logical_of(ar, c, p->total_rows);
    return 0;
}
