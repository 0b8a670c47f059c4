/* FROM (VALUES (...), ...) [AS] alias [(column, ...)]: each column's type is
   the common type of its values (INTEGER and DOUBLE give DOUBLE, NULLs take
   the others' type) with a string constant read as that type, as DuckDB
   ('2024-01-01' beside a TIMESTAMP is a TIMESTAMP, 'a' beside an INTEGER is
   an error). Each row becomes a projection over the one-row source, and the
   rows a concatenation. Columns are named col0, col1, ... unless aliased. */
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_str_const(const bexpr *e) { return type_pc(e->type) == PC_S && e->kind == B_CONST; }

/* The type of column j over all rows (T_NULL when every value is NULL). */
static int column_type(binder *b, const tfunc_call *c, bexpr ***cells, int j, qv_type *out) {
    qv_type t = T_NULL;
    bool strc = false;
    for (int r = 0; r < c->nrows; r++) {
        bexpr *e = cells[r][j];
        if (is_str_const(e)) {
            strc = true;
            continue;
        }
        bool ok;
        qv_type nt = bd_common_type(t, e->type, &ok);
        if (!ok) {
            const ast *a = c->rows[r][j];
            return qv_err_set(b->err, QV_EINVAL, "VALUES column %d mixes %s and %s (line %d, column %d)", j + 1,
                              type_name(t), type_name(e->type), a->line, a->col);
        }
        t = nt;
    }
    if (strc && (t == T_NULL || type_pc(t) == PC_S)) t = QV_T_STRING;
    *out = t;
    return 0;
}

static int bind_cells(binder *b, const tfunc_call *c, bexpr ***cells, qv_type *types) {
    for (int r = 0; r < c->nrows; r++) {
        cells[r] = arena_alloc(b->ar, sizeof(bexpr *) * (size_t)c->rowlen);
        for (int j = 0; j < c->rowlen; j++)
            if (!(cells[r][j] = bind_expr(b, c->rows[r][j]))) return b->err->code;
    }
    for (int j = 0; j < c->rowlen; j++) {
        if (column_type(b, c, cells, j, &types[j])) return b->err->code;
        if (types[j] == T_NULL) continue;
        for (int r = 0; r < c->nrows; r++)
            if (!(cells[r][j] = bind_coerce(b, cells[r][j], types[j]))) return b->err->code;
    }
    return 0;
}

static void values_scope(arena *ar, const tfunc_call *c, bexpr ***cells, const qv_type *types, scope *sc) {
    sc->n = c->rowlen;
    sc->cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(c->rowlen + 1));
    for (int j = 0; j < c->rowlen; j++) {
        char nm[24];
        snprintf(nm, sizeof nm, "col%d", j);
        sc->cols[j].name = j < c->ncolnames ? c->colnames[j] : arena_strdup(ar, nm);
        sc->cols[j].qual = c->alias ? c->alias : c->name;
        sc->cols[j].type = types[j];
        for (int r = 0; r < c->nrows && types[j] == QV_T_TIMESTAMP && !sc->cols[j].tz[0]; r++)
            snprintf(sc->cols[j].tz, sizeof sc->cols[j].tz, "%s", bd_pick_tz(cells[r][j], NULL));
    }
}

int plan_values(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **src, scope *sc, qv_err *err) {
    const tfunc_call *c = s->tfunc;
    if (c->ncolnames > c->rowlen)
        return qv_err_set(err, QV_EINVAL, "VALUES list %s has %d column%s but %d column names are given (line %d, column %d)",
                          c->alias ? c->alias : c->name, c->rowlen, c->rowlen == 1 ? "" : "s", c->ncolnames, c->line, c->col);
    scope none = {0};
    planner_env env = {.ctx = ctx, .qs = qs, .ar = ar};
    binder b = {.ar = ar, .err = err, .in = &none, .params = qs->params, .subquery = plan_subquery_expr,
                .planner = &env, .clause = "VALUES"};
    bexpr ***cells = arena_alloc(ar, sizeof(bexpr **) * (size_t)c->nrows);
    qv_type *types = arena_alloc(ar, sizeof(qv_type) * (size_t)(c->rowlen + 1));
    if (bind_cells(&b, c, cells, types)) return err->code;
    op **kids = qv_xmalloc(sizeof(op *) * (size_t)c->nrows);
    for (int r = 0; r < c->nrows; r++) kids[r] = op_project_new(qs, op_values_new(qs), c->rowlen, cells[r]);
    *src = c->nrows == 1 ? kids[0] : op_concat_new(qs, kids, c->nrows);
    free(kids);
    values_scope(ar, c, cells, types, sc);
    p->total_rows = c->nrows;
    lnode *n = lg_node(ar, LG_TABLE_FUNC, NULL, NULL);
    n->name = "VALUES";
    n->alias = c->alias;
    n->est = c->nrows;
    p->logical_src = n;
    return 0;
}
