/* Results: executor chunks converted to Arrow batches, and the pass-through
   cursor that hands out a plain column projection as zero-copy slices of the
   storage segments (compacted copies where deletions cut a row group into
   short pieces). The cursor's position lives in the sql_query (pt_*). */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

void sql_append_vec(qv_builder *bld, qv_type t, const vec *v, int r) {
    if (vec_null(v, r) || v->type == T_NULL) {
        qv_builder_append_null(bld);
        return;
    }
    switch (t) {
    case QV_T_INT32:
    case QV_T_DATE: qv_builder_append_i32(bld, (int32_t)v->i[r]); break;
    case QV_T_INT64:
    case QV_T_TIMESTAMP:
    case QV_T_DECIMAL:
    case QV_T_INTERVAL:
    case QV_T_TIME: qv_builder_append_i64(bld, v->i[r]); break;
    case QV_T_BOOL: qv_builder_append_bool(bld, v->i[r] != 0); break;
    case QV_T_FLOAT32: qv_builder_append_f32(bld, (float)v->f[r]); break;
    case QV_T_FLOAT64: qv_builder_append_f64(bld, v->f[r]); break;
    case QV_T_STRING: qv_builder_append_str(bld, v->s[r].p, v->s[r].n); break;
    case QV_T_SYMBOL: /* results carry strings; a SYMBOL column is STRING by then */
    case QV_T_INVALID:
    case QV_T__COUNT: qv_builder_append_null(bld); break;
    }
}

void sql_chunk_to_batch(const chunk *c, const qv_schema *sch, qv_batch *out) {
    qv_batch_init(out, sch);
    int m = chunk_active(c);
    for (int i = 0; i < sch->nfields; i++) {
        qv_builder bld;
        qv_type t = sch->fields[i].type;
        qv_builder_init(&bld, t, m);
        for (int k = 0; k < m; k++) sql_append_vec(&bld, t, &c->cols[i], chunk_row(c, k));
        qv_array_free(&out->cols[i]);
        qv_builder_finish(&bld, &out->cols[i]);
        qv_builder_free(&bld);
    }
    out->nrows = m;
}

/* Rows [lo, hi) of whole without the deleted ones, copied (SYMBOL keeps its codes and dictionary). */
static void pt_compact(const qv_array *whole, const uint8_t *del, int64_t lo, int64_t hi, qv_array *out) {
    bool sym = whole->type == QV_T_SYMBOL;
    qv_builder bld;
    qv_builder_init(&bld, sym ? QV_T_INT32 : whole->type, hi - lo);
    for (int64_t r = lo; r < hi; r++) {
        if (qv_bit_get(del, r)) continue;
        if (sym && qv_array_is_valid(whole, r)) qv_builder_append_i32(&bld, qv_array_get_i32(whole, r));
        else qv_builder_append_from(&bld, whole, r);
    }
    qv_builder_finish(&bld, out);
    qv_builder_free(&bld);
    if (sym) {
        out->type = QV_T_SYMBOL;
        if (whole->dict) {
            out->dict = qv_xmalloc(sizeof(qv_array));
            qv_array_copy_ref(out->dict, whole->dict);
        }
    }
}

/* The next piece of row group pt_rg to hand out: live rows [*lo, *hi) as
   zero-copy slices, or (*copy) the live rows of [*lo, *hi) when deletions
   cut it into many pieces. False when the row group is done. */
static bool pt_piece(sql_query *q, int rg, int64_t start, int64_t rows, int64_t *lo, int64_t *hi, const uint8_t **copy) {
    st_snapshot *snap = q->pl.pt_snap;
    int64_t a = q->pl.pt_row_from > start ? q->pl.pt_row_from - start : 0;
    int64_t b = q->pl.pt_row_to < start + rows ? q->pl.pt_row_to - start : rows;
    if (q->pt_in > a) a = q->pt_in;
    *copy = NULL;
    const uint8_t *del;
    if (!st_snapshot_rowgroup_deleted(snap, rg, &del)) {
        *lo = a;
        *hi = b;
        return a < b;
    }
    while (a < b && qv_bit_get(del, a)) a++;
    int64_t e = a;
    while (e < b && !qv_bit_get(del, e)) e++;
    if (a >= b) return false;
    if (e < b && e - a < 4096) { /* short runs: one compacted copy of the rest */
        *copy = del;
        e = b;
    }
    *lo = a;
    *hi = e;
    return true;
}

int sql_next_passthrough(sql_query *q, qv_batch *out, bool *eos, qv_err *err) {
    st_snapshot *snap = q->pl.pt_snap;
    int nrg = st_snapshot_rowgroups(snap);
    while (q->pt_rg < nrg) {
        if (qstate_check(&q->qs, err)) return err->code;
        if (q->pt_left == 0) break;
        int rg = q->pt_rg;
        int64_t start = q->pt_row, rows = st_snapshot_rowgroup_rows(snap, rg), lo, hi;
        const uint8_t *copy;
        /* a scoped scan keeps storage rows [pt_row_from, pt_row_to); deleted rows are skipped */
        bool more = start + rows > q->pl.pt_row_from && start < q->pl.pt_row_to && pt_piece(q, rg, start, rows, &lo, &hi, &copy);
        if (!more) {
            q->pt_rg++;
            q->pt_row += rows;
            q->pt_in = 0;
            continue;
        }
        q->pt_in = hi;
        int64_t live = copy ? st_snapshot_live_in(snap, start + lo, start + hi) : hi - lo;
        if (q->pt_skip >= live) {
            q->pt_skip -= live;
            continue;
        }
        int64_t n = live - q->pt_skip, skip = q->pt_skip;
        q->pt_skip = 0;
        if (q->pt_left >= 0 && n > q->pt_left) n = q->pt_left;
        if (q->pt_left >= 0) q->pt_left -= n;
        qv_batch_init(out, &q->schema);
        for (int i = 0; i < q->schema.nfields; i++) {
            qv_array whole, part;
            if (st_snapshot_read(snap, rg, q->pl.pt_cols[i], &whole, err)) {
                qv_batch_free(out);
                return err->code;
            }
            qv_array_free(&out->cols[i]);
            if (copy) {
                pt_compact(&whole, copy, lo, hi, &part);
                qv_array_slice(&out->cols[i], &part, skip, n);
                qv_array_free(&part);
                qv_array_free(&whole);
            } else if (lo + skip == 0 && n == whole.length) {
                out->cols[i] = whole;
            } else {
                qv_array_slice(&out->cols[i], &whole, lo + skip, n);
                qv_array_free(&whole);
            }
        }
        out->nrows = n;
        atomic_fetch_add(&q->qs.rows_read, n);
        atomic_fetch_add(&q->qs.bytes_read, qv_batch_bytes(out));
        *eos = false;
        return 0;
    }
    *eos = true;
    return 0;
}
