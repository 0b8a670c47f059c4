/*
** DELETE: deletion vectors per row group.
**
** A row group's deletion vector is an immutable bitmap of rg_cap bits
** (1 = deleted) held by the writer-side st_rg and shared by the views that
** readers snapshot; a deletion builds new bitmaps (old | new) and swaps
** them in with the next st_pub, so a snapshot opened before keeps seeing
** the rows and one opened after sees none of them: all or nothing.
**
** Durability: a deletion is one ST_REC_DELETE record (table id, then per
** row group touched: index, rows covered, the bits it adds), durable before
** the new views are published. Live commit and replay apply the record
** with the same function, so the state after replay is the state that was
** acknowledged. Row groups whose rows are all deleted and that lead the
** table are dropped right there (as retention drops them; their column
** files go at the next checkpoint, once a MANIFEST no longer names them).
** A row group in the middle left with no live row loses its column file
** at the next checkpoint: it becomes a tombstone (rows counted, no data,
** named in the MANIFEST with file number -1) so row numbers stay put.
** Other row groups keep their rows and carry the vector: a checkpoint
** writes the vectors of sealed row groups into the MANIFEST and re-logs the
** open row group's one after its CARRY record (ST_REC_DEL_CARRY, replayed
** only with that CARRY). Rows are not compacted: storage row numbers stay
** put, which partitions, subscriptions and replication count on.
**
** States of st_delete: open (marking) -> committed | aborted -> freed. It
** owns a table ref, the table's writer slot and the st_pub it marks.
*/
#include "st_int.h"

#include <stdlib.h>
#include <string.h>

struct st_delete {
    st_table *t;
    st_pub *pub;     /* the state marked rows refer to */
    uint8_t **bits;  /* per row group of pub: rows marked (lazily allocated), or NULL */
};

int64_t st_bits_count(const uint8_t *bits, int64_t n) {
    int64_t c = 0, i = 0;
    for (; i + 64 <= n; i += 64) {
        uint64_t w;
        memcpy(&w, bits + i / 8, 8);
        c += __builtin_popcountll(w);
    }
    for (; i < n; i++) c += qv_bit_get(bits, i);
    return c;
}

static size_t bitmap_bytes(int64_t n) { return (size_t)(n + 7) / 8; }

/* ---------------- applying a record (live and replay) ---------------- */

typedef struct del_ent {
    uint32_t rg, rows;
    const uint8_t *bits;
} del_ent;

/* commit_mu held: checks the whole record, then ORs its bits in. Returns the
   rows it newly deleted in *added. Nothing changes on an error. */
static int apply_record(st_table *t, st_rd *r, int64_t *added, qv_err *err) {
    *added = 0;
    uint32_t n = st_get_u32(r);
    if (r->bad || n > (r->n - r->pos) / 8) return qv_err_set(err, QV_ECORRUPT, "malformed delete record");
    del_ent *es = qv_xcalloc(n ? n : 1, sizeof *es);
    int rc = QV_OK;
    for (uint32_t i = 0; i < n && rc == QV_OK; i++) {
        es[i].rg = st_get_u32(r);
        es[i].rows = st_get_u32(r);
        es[i].bits = r->bad ? NULL : st_get_bytes(r, bitmap_bytes(es[i].rows));
        if (r->bad || !es[i].bits) rc = qv_err_set(err, QV_ECORRUPT, "truncated delete record");
        else if (es[i].rg >= (uint32_t)t->nrgs || (int64_t)es[i].rows > t->rgs[es[i].rg]->rows)
            rc = qv_err_set(err, QV_ECORRUPT, "delete record names row group %u (%u rows) that table %s does not have",
                            es[i].rg, es[i].rows, t->name);
    }
    if (rc == QV_OK && r->pos != r->n) rc = qv_err_set(err, QV_ECORRUPT, "delete record has trailing bytes");
    for (uint32_t i = 0; i < n && rc == QV_OK; i++) {
        st_rg *rg = t->rgs[es[i].rg];
        size_t cap = bitmap_bytes(t->rg_cap);
        qv_buffer *nb = qv_buffer_new(cap);
        if (rg->del) memcpy(nb->data, rg->del->data, cap);
        size_t full = es[i].rows / 8;
        for (size_t k = 0; k < full; k++) nb->data[k] |= es[i].bits[k];
        for (int64_t k = (int64_t)full * 8; k < es[i].rows; k++)
            if (qv_bit_get(es[i].bits, k)) qv_bit_set(nb->data, k, true);
        nb->size = cap;
        int64_t nd = st_bits_count(nb->data, rg->rows);
        *added += nd - rg->ndel;
        t->ndel += nd - rg->ndel;
        qv_buffer_unref(rg->del);
        rg->del = nb;
        rg->ndel = nd;
    }
    free(es);
    return rc;
}

/* Leading row groups with no live row left. */
static int dead_leading(const st_table *t) {
    int k = 0;
    while (k < t->nrgs && t->rgs[k]->rows > 0 && t->rgs[k]->ndel == t->rgs[k]->rows) k++;
    return k;
}

int st_replay_delete(st_db *db, st_rd *r, qv_err *err) {
    uint64_t id = st_get_u64(r);
    if (r->bad) return qv_err_set(err, QV_ECORRUPT, "truncated delete record");
    st_table *t = st_catalog_find_id(db, id);
    if (!t) return QV_OK; /* written before a drop of its table */
    pthread_mutex_lock(&t->commit_mu);
    int64_t added;
    int rc = apply_record(t, r, &added, err);
    if (rc == QV_OK) {
        int k = dead_leading(t);
        if (k) st_table_drop_leading(t, k);
        st_publish(t);
    }
    pthread_mutex_unlock(&t->commit_mu);
    return rc;
}

/* ---------------- checkpoint and manifest ---------------- */

static void put_ent(qv_str *rec, uint32_t rg, int64_t rows, const uint8_t *bits) {
    st_put_u32(rec, rg);
    st_put_u32(rec, (uint32_t)rows);
    size_t nb = bitmap_bytes(rows);
    qv_str_append(rec, bits, nb);
    if (rows % 8) /* clear bits past the rows covered */
        rec->data[rec->len - 1] = (char)((uint8_t)rec->data[rec->len - 1] & ((1u << (rows % 8)) - 1));
}

int st_delete_carry(st_db *db, st_table *t, const st_pub *pub, int rg, int64_t *lsn, qv_err *err) {
    const st_rgview *v = pub->rgs[rg];
    if (!v->del || v->ndel == 0) return QV_OK;
    qv_str rec;
    qv_str_init(&rec);
    st_put_u64(&rec, t->id);
    st_put_u32(&rec, 1);
    put_ent(&rec, (uint32_t)rg, v->rows, v->del->data);
    const qv_str *parts[1] = {&rec};
    int64_t at = st_wal_append(db->wal, ST_REC_DEL_CARRY, parts, 1, err);
    qv_str_free(&rec);
    if (at < 0) return err ? err->code : QV_EIO;
    *lsn = at;
    return QV_OK;
}

void st_rg_set_del(st_table *t, st_rg *rg, const uint8_t *bits, size_t len) {
    size_t cap = bitmap_bytes(t->rg_cap);
    qv_buffer *nb = qv_buffer_new(cap);
    memcpy(nb->data, bits, len < cap ? len : cap);
    for (int64_t k = rg->rows; k < (int64_t)cap * 8; k++) qv_bit_set(nb->data, k, false);
    nb->size = cap;
    int64_t nd = st_bits_count(nb->data, rg->rows);
    t->ndel += nd - rg->ndel;
    qv_buffer_unref(rg->del);
    rg->del = nb;
    rg->ndel = nd;
}

/* ---------------- emptied row groups in the middle ---------------- */

bool st_rg_is_tomb(const st_rg *rg) { return !rg->map && rg->rows > 0 && rg->ndel == rg->rows && !rg->cols[0].values; }

void st_rg_make_tomb(st_rg *rg, int ncols) {
    for (int c = 0; c < ncols; c++) {
        qv_buffer_unref(rg->cols[c].validity);
        qv_buffer_unref(rg->cols[c].values);
        qv_buffer_unref(rg->cols[c].data);
        rg->cols[c].validity = rg->cols[c].values = rg->cols[c].data = NULL;
        rg->cols[c].data_len = 0;
    }
    st_map_unref(rg->map);
    rg->map = NULL;
    rg->fno = -1;
    rg->bytes = 0;
}

/* A tombstone's column: all null (its rows are all deleted; scans never read it). */
void st_tomb_column(const st_table *t, const st_pub *p, int col, int64_t rows, qv_array *out) {
    qv_type ty = t->schema.fields[col].type;
    qv_builder b;
    qv_builder_init(&b, ty == QV_T_SYMBOL ? QV_T_INT32 : ty, rows);
    for (int64_t r = 0; r < rows; r++) qv_builder_append_null(&b);
    qv_builder_finish(&b, out);
    qv_builder_free(&b);
    if (ty == QV_T_SYMBOL) {
        out->type = QV_T_SYMBOL;
        out->dict = qv_xmalloc(sizeof(qv_array));
        if (p->dicts[col]) qv_array_copy_ref(out->dict, p->dicts[col]);
        else qv_array_init(out->dict, QV_T_STRING);
    }
}

/* ---------------- snapshots ---------------- */

int64_t st_snapshot_rowgroup_deleted(const st_snapshot *s, int rg, const uint8_t **bits) {
    *bits = NULL;
    if (rg < 0 || rg >= s->pub->nrgs) return 0;
    const st_rgview *v = s->pub->rgs[rg];
    if (!v->del || v->ndel == 0) return 0;
    *bits = v->del->data;
    return v->ndel;
}

int64_t st_snapshot_deleted_rows(const st_snapshot *s) { return s->pub->ndel; }

int64_t st_snapshot_live_in(const st_snapshot *s, int64_t from, int64_t to) {
    int64_t live = 0, start = 0;
    for (int g = 0; g < s->pub->nrgs && start < to; g++) {
        const st_rgview *v = s->pub->rgs[g];
        int64_t lo = from > start ? from - start : 0, hi = to - start < v->rows ? to - start : v->rows;
        if (hi > lo) {
            live += hi - lo;
            if (v->del && v->ndel) {
                if (lo == 0 && hi == v->rows) live -= v->ndel;
                else
                    for (int64_t k = lo; k < hi; k++) live -= qv_bit_get(v->del->data, k);
            }
        }
        start += v->rows;
    }
    return live;
}

/* ---------------- the deletion ---------------- */

int st_delete_begin(st_table *t, st_delete **out, qv_err *err) {
    *out = NULL;
    if (st_db_read_only_check(t->db, err)) return err->code;
    if (atomic_load(&t->dropped)) return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    pthread_mutex_lock(&t->append_mu);
    while (t->appending) pthread_cond_wait(&t->append_cv, &t->append_mu);
    t->appending = true;
    pthread_mutex_unlock(&t->append_mu);
    st_delete *d = qv_xcalloc(1, sizeof *d);
    atomic_fetch_add(&t->refs, 1);
    d->t = t;
    d->pub = st_pub_get(t);
    d->bits = qv_xcalloc((size_t)(d->pub->nrgs ? d->pub->nrgs : 1), sizeof(uint8_t *));
    *out = d;
    return QV_OK;
}

static void delete_free(st_delete *d) {
    st_table *t = d->t;
    for (int g = 0; g < d->pub->nrgs; g++) free(d->bits[g]);
    free(d->bits);
    st_pub_unref(d->pub);
    free(d);
    pthread_mutex_lock(&t->append_mu);
    t->appending = false;
    pthread_cond_signal(&t->append_cv);
    pthread_mutex_unlock(&t->append_mu);
    st_table_unref(t);
}

void st_delete_abort(st_delete *d) {
    if (d) delete_free(d);
}

void st_delete_mark(st_delete *d, int rg, int64_t row) {
    if (rg < 0 || rg >= d->pub->nrgs) return;
    const st_rgview *v = d->pub->rgs[rg];
    if (row < 0 || row >= v->rows || (v->del && qv_bit_get(v->del->data, row))) return;
    if (!d->bits[rg]) d->bits[rg] = qv_xcalloc(1, bitmap_bytes(v->rows));
    qv_bit_set(d->bits[rg], row, true);
}

void st_delete_mark_all(st_delete *d) {
    for (int g = 0; g < d->pub->nrgs; g++) {
        const st_rgview *v = d->pub->rgs[g];
        if (v->rows == 0 || v->ndel == v->rows) continue;
        size_t nb = bitmap_bytes(v->rows);
        if (!d->bits[g]) d->bits[g] = qv_xcalloc(1, nb);
        memset(d->bits[g], 0xff, nb);
        if (v->del)
            for (size_t k = 0; k < nb; k++) d->bits[g][k] &= (uint8_t)~v->del->data[k];
    }
}

int st_delete_commit(st_delete *d, int64_t *rows_deleted, qv_err *err) {
    st_table *t = d->t;
    st_db *db = t->db;
    if (rows_deleted) *rows_deleted = 0;
    qv_str rec;
    qv_str_init(&rec);
    st_put_u64(&rec, t->id);
    uint32_t n = 0;
    for (int g = 0; g < d->pub->nrgs; g++) n += d->bits[g] != NULL;
    st_put_u32(&rec, n);
    for (int g = 0; g < d->pub->nrgs; g++)
        if (d->bits[g]) put_ent(&rec, (uint32_t)g, d->pub->rgs[g]->rows, d->bits[g]);
    int rc = QV_OK;
    pthread_mutex_lock(&db->ckpt_mu);
    pthread_mutex_lock(&t->commit_mu);
    if (atomic_load(&t->dropped)) rc = qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    else if (t->pub != d->pub && t->pub->nrgs < d->pub->nrgs) /* cannot happen: we hold the writer slot */
        rc = qv_err_set(err, QV_EINTERNAL, "table %s changed during a delete", t->name);
    if (rc == QV_OK && n > 0 && !db->in_memory && st_wal_log(db->wal, ST_REC_DELETE, &rec, err))
        rc = qv_err_prefix(err, "delete from table %s", t->name);
    if (rc == QV_OK && n > 0) {
        st_rd r = {(const uint8_t *)rec.data, rec.len, 8, false};
        int64_t added = 0;
        rc = apply_record(t, &r, &added, err); /* cannot fail: we built it from this state */
        QV_ASSERT(rc == QV_OK);
        int k = rc == QV_OK ? dead_leading(t) : 0;
        if (k) {
            int64_t before = t->rows;
            if (db->hooks.drop_begin) db->hooks.drop_begin(db->hooks.arg, t);
            st_table_drop_leading(t, k);
            st_publish(t);
            if (db->hooks.drop_end) db->hooks.drop_end(db->hooks.arg, t, before - t->rows);
        } else {
            st_publish(t);
        }
        if (rows_deleted) *rows_deleted = added;
        atomic_fetch_add(&db->st_commits, 1);
    }
    pthread_mutex_unlock(&t->commit_mu);
    pthread_mutex_unlock(&db->ckpt_mu);
    qv_str_free(&rec);
    delete_free(d);
    if (rc == QV_OK && n > 0) st_checkpoint_poke(db);
    return rc;
}
