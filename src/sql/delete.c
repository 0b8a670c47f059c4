/* DELETE FROM t [WHERE ...]: the WHERE is planned at prepare as the serial
   scan + filter of `SELECT 1 FROM t WHERE ...` (so placeholders get their
   types, bad columns fail early, and subqueries become init plans). At run
   the statement takes the table's writer slot (st_delete_begin), points
   the scan at a snapshot opened under it, runs the filter and marks the
   rows it lets through (the scan's row group and row of each), then
   commits: one WAL record, durable, visible at once. The query owns q->pl
   (the filter's plan) and del_ctx (the serial context it was planned in). */
#include "query_int.h"

#include <string.h>

/* Plans the WHERE of DELETE statement st (q->st itself, or the one an
   EXPLAIN wraps, which then only prints the plan). */
static int plan_where(sql_query *q, const stmt *st, qv_err *err) {
    select_stmt *s = st->sel;
    st_table *t;
    if (sql_table_open(q->ctx->db, st->table, &t, err)) {
        if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", st->table);
        return err->code;
    }
    st_table_release(t);
    if (!s->where) return 0;
    q->del_ctx = *q->ctx;
    q->del_ctx.pool = NULL; /* one scan whose chunks come back up in order */
    q->del_ctx.threads = 1;
    if (plan_select(&q->del_ctx, &q->qs, &q->ar, s, false, &q->pl, err)) return err->code;
    q->has_plan = true;
    if (!q->pl.scan_op || q->pl.ntables < 1)
        return qv_err_set(err, QV_EUNSUPPORTED, "DELETE supports a WHERE over the table's own columns and "
                                                "scalar or IN subqueries; this one plans as a join");
    return 0;
}

int sql_delete_prepare(sql_query *q, qv_err *err) { return plan_where(q, q->st, err); }

int sql_delete_explain_prepare(sql_query *q, qv_err *err) { return plan_where(q, q->st->inner, err); }

/* Point the plan's scan at a snapshot opened under the writer slot. */
static int rescan(sql_query *q, st_table *t, qv_err *err) {
    plan *p = &q->pl;
    if (st_table_id(p->tables[0]) != st_table_id(t))
        return qv_err_set(err, QV_ENOTFOUND, "table '%s' was dropped and recreated since the DELETE was prepared",
                          q->st->table);
    st_snapshot *snap;
    st_snapshot_open(t, &snap);
    st_snapshot_close(p->snaps[0]);
    p->snaps[0] = snap;
    op_scan_set_snapshot(p->scan_op, snap);
    return 0;
}

static int mark_matches(sql_query *q, st_delete *d, qv_err *err) {
    op *root = q->pl.root;
    for (;;) {
        chunk *c;
        if (root->next(root, &c, err)) return err->code;
        if (!c) return 0;
        int rg;
        int64_t base;
        chunk *sc = op_scan_last(q->pl.scan_op, &rg, &base);
        int m = chunk_active(sc);
        for (int k = 0; k < m; k++) st_delete_mark(d, rg, base + chunk_row(sc, k));
    }
}

int sql_delete_run(sql_query *q, int64_t *rows, qv_err *err) {
    st_table *t;
    *rows = 0;
    if (sql_table_open(q->ctx->db, q->st->table, &t, err)) {
        if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", q->st->table);
        return err->code;
    }
    st_delete *d = NULL;
    int rc = st_delete_begin(t, &d, err);
    if (rc == 0 && q->has_plan) {
        rc = rescan(q, t, err);
        if (rc == 0) rc = mark_matches(q, d, err);
    } else if (rc == 0) {
        st_delete_mark_all(d);
    }
    if (rc == 0) rc = st_delete_commit(d, rows, err);
    else st_delete_abort(d);
    st_table_release(t);
    return rc;
}
