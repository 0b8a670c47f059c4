/* A join's probe side when it is one table: instead of one gathered stream,
   nw pipelines scan -> [filter] -> [project] that the join clones probe on the
   pool, row group by row group (exec/join.c op_hash_join_parallel_new). The
   filter is the table's pushed WHERE conjuncts, so pruning and covered
   filters work as in any scan. */
#include "plan_int.h"

#include <stdlib.h>
#include <string.h>

int plan_table_parts(sql_ctx *ctx, qstate *qs, arena *ar, plan *p, const from_item *f, const char *alias,
                     bool (*need)(const void *, const char *), const void *nctx, ast *where, const char *where_clause, int *nw, op **parts,
                     op **scans, int *nrg, scope *sc, int64_t *est, qv_err *err) {
    st_table *t;
    if (sql_table_open(ctx->db, f->table, &t, err)) {
        if (err->code == QV_ENOTFOUND)
            qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist (line %d, column %d)", f->table, f->line, f->col);
        return err->code;
    }
    st_snapshot *snap;
    st_snapshot_open(t, &snap);
    plan_add_table(p, t, snap);
    const qv_schema *ts = st_table_schema(t);
    int nf = ts->nfields;
    const char *qual = alias ? alias : st_table_name(t);
    /* the scan's scope: every table column */
    scope full = {.n = nf, .cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(nf + 1))};
    for (int i = 0; i < nf; i++) {
        full.cols[i].name = ts->fields[i].name;
        full.cols[i].qual = qual;
        full.cols[i].type = ts->fields[i].type == QV_T_SYMBOL ? QV_T_STRING : sql_field_type(&ts->fields[i]);
        memcpy(full.cols[i].tz, ts->fields[i].tz, sizeof full.cols[i].tz);
    }
    bexpr *pred = NULL;
    if (where) {
        planner_env env = {.ctx = ctx, .qs = qs, .ar = ar};
        binder b = {.ar = ar, .err = err, .in = &full, .params = qs->params, .subquery = plan_subquery_expr,
                    .planner = &env, .clause = where_clause ? where_clause : "WHERE"};
        if (!(pred = bind_expr(&b, where))) return err->code;
        if (bind_need_bool(&b, pred, where)) return err->code;
    }
    /* output: the named columns, in table order */
    bool *want = arena_alloc(ar, sizeof(bool) * (size_t)(nf + 1));
    bool *load = arena_alloc(ar, sizeof(bool) * (size_t)(nf + 1));
    int nout = 0;
    for (int i = 0; i < nf; i++) {
        want[i] = load[i] = need(nctx, ts->fields[i].name);
        nout += want[i];
    }
    plan_mark_cols(pred, load);
    int *cols = arena_alloc(ar, sizeof(int) * (size_t)(nf + 1)), nc = 0;
    for (int i = 0; i < nf; i++)
        if (load[i]) cols[nc++] = i;
    bexpr **pe = arena_alloc(ar, sizeof(bexpr *) * (size_t)(nout + 1));
    sc->n = nout;
    sc->cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(nout + 1));
    for (int i = 0, k = 0; i < nf; i++)
        if (want[i]) {
            sc->cols[k] = full.cols[i];
            pe[k++] = mk_col(ar, i, full.cols[i].type, full.cols[i].tz);
        }
    scan_pred preds[16];
    int np = 0;
    plan_collect_preds(pred, preds, &np, 16);
    bool covered = pred && np > 0 && np < 16 && plan_count_conj(pred) == np;
    *nrg = st_snapshot_rowgroups(snap);
    if (*nw > *nrg) *nw = *nrg;
    if (*nw < 1) *nw = 1;
    /* No SYMBOL codes to resolve: the join probes the wanted columns by
       reference through the filter's selection, nothing copies them dense. */
    bool by_ref = true;
    int *wcols = arena_alloc(ar, sizeof(int) * (size_t)(nout + 1));
    for (int i = 0, k = 0; i < nf; i++)
        if (want[i]) {
            wcols[k++] = i;
            if (ts->fields[i].type == QV_T_SYMBOL) by_ref = false;
        }
    for (int w = 0; w < *nw; w++) {
        op *o = scans[w] = plan_scan_new(qs, t, snap, nc, cols, preds, np);
        if (pred) {
            o = op_filter_new(qs, o, pred);
            if (covered) op_filter_set_covered(o);
        }
        bool same = by_ref;
        for (int k = 0; k < nout && same; k++) same = o->types[wcols[k]] == pe[k]->type;
        parts[w] = same ? op_join_input_new(qs, o, nout, wcols) : op_project_new(qs, o, nout, pe);
    }
    *est = st_snapshot_rows(snap);
    return 0;
}
