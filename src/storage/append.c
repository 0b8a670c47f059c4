/*
** Appends: begin (take the table's single writer slot), stage batches,
** commit (WAL, then copy into row groups and publish) or abort.
** States of st_append: staging -> (commit | abort) -> freed. The st_append
** owns a table ref, the writer slot (t->appending) and its staged batches,
** which hold refs on the caller's buffers (no copy until commit).
*/
#include "st_int.h"

#include <stdlib.h>
#include <string.h>

int st_append_begin(st_table *t, st_append **out, qv_err *err) {
    *out = NULL;
    if (atomic_load(&t->dropped))
        return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    pthread_mutex_lock(&t->append_mu);
    while (t->appending) pthread_cond_wait(&t->append_cv, &t->append_mu);
    t->appending = true;
    pthread_mutex_unlock(&t->append_mu);
    st_append *a = qv_xcalloc(1, sizeof *a);
    atomic_fetch_add(&t->refs, 1);
    a->t = t;
    *out = a;
    return QV_OK;
}

static void append_free(st_append *a) {
    st_table *t = a->t;
    for (int i = 0; i < a->nb; i++) qv_batch_free(&a->batches[i]);
    free(a->batches);
    free(a);
    pthread_mutex_lock(&t->append_mu);
    t->appending = false;
    pthread_cond_signal(&t->append_cv);
    pthread_mutex_unlock(&t->append_mu);
    st_table_unref(t);
}

int st_append_batch(st_append *a, const qv_batch *b, qv_err *err) {
    if (!b) return qv_err_set(err, QV_EINVAL, "no batch");
    if (st_check_batch(a->t, b, err)) return err->code;
    if (b->nrows == 0) return QV_OK;
    if (a->nb == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->batches = qv_xrealloc(a->batches, sizeof(qv_batch) * (size_t)a->cap);
    }
    qv_batch_copy_ref(&a->batches[a->nb++], b);
    a->rows += b->nrows;
    return QV_OK;
}

void st_append_abort(st_append *a) {
    if (a) append_free(a);
}

/* String offsets are int32: refuse (before logging anything) an append whose
   text could push a row group's string data or a dictionary past 2 GiB.
   Conservative: counts all of the append's text against the current group. */
int st_check_text_room(st_table *t, const qv_batch *bs, int nb, qv_err *err) {
    for (int c = 0; c < t->schema.nfields; c++) {
        qv_type ty = t->schema.fields[c].type;
        if (ty != QV_T_STRING && ty != QV_T_SYMBOL) continue;
        int64_t have = 0, add = 0;
        if (ty == QV_T_SYMBOL) have = (int64_t)t->dicts[c].data_len;
        else if (t->nrgs && t->rgs[t->nrgs - 1]->rows < t->rg_cap)
            have = (int64_t)t->rgs[t->nrgs - 1]->cols[c].data_len;
        for (int i = 0; i < nb; i++) {
            const qv_array *x = &bs[i].cols[c];
            if (x->type != QV_T_STRING || x->length == 0) continue;
            const int32_t *off = (const int32_t *)x->values->data + x->offset;
            add += off[x->length] - off[0];
        }
        if (have + add > INT32_MAX - 1)
            return qv_err_set(err, QV_ERESOURCE,
                              "table %s column %s: append of %lld text bytes would pass the 2 GiB "
                              "limit per row group or dictionary; split it", t->name,
                              t->schema.fields[c].name, (long long)add);
    }
    return QV_OK;
}

int st_append_commit(st_append *a, int64_t *rows_committed, qv_err *err) {
    st_table *t = a->t;
    st_db *db = t->db;
    int rc = QV_OK;
    if (rows_committed) *rows_committed = 0;
    if (a->rows == 0) {
        append_free(a);
        return QV_OK;
    }
    qv_str rec;
    qv_str_init(&rec);
    if (!db->in_memory) {
        st_put_u64(&rec, t->id);
        st_put_u32(&rec, (uint32_t)a->nb);
        for (int i = 0; i < a->nb; i++) st_encode_batch(&rec, &a->batches[i]);
    }
    pthread_mutex_lock(&db->cat_mu);
    bool closed = db->closed;
    pthread_mutex_unlock(&db->cat_mu);
    int64_t bytes = 0;
    for (int i = 0; i < a->nb; i++) bytes += qv_batch_bytes(&a->batches[i]);
    pthread_mutex_lock(&t->commit_mu);
    int64_t row_from = t->rows;
    if (closed)
        rc = qv_err_set(err, QV_EINVAL, "database is closed; cannot commit to table %s", t->name);
    else if (atomic_load(&t->dropped))
        rc = qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    else
        rc = st_check_text_room(t, a->batches, a->nb, err);
    if (rc == QV_OK && !db->in_memory) {
        rc = st_wal_log(db, ST_REC_COMMIT, &rec, err);
        if (rc) qv_err_prefix(err, "commit to table %s", t->name);
    }
    if (rc == QV_OK) {
        for (int i = 0; i < a->nb; i++) st_apply_batch(t, &a->batches[i]);
        st_publish(t);
        atomic_fetch_add(&db->st_commits, 1);
        if (db->commit_hook) db->commit_hook(db->commit_hook_arg, t, row_from, t->rows, bytes);
        if (rows_committed) *rows_committed = a->rows;
    }
    pthread_mutex_unlock(&t->commit_mu);
    qv_str_free(&rec);
    atomic_fetch_add(&db->refs, 1); /* t (and its db ref) may go with a */
    append_free(a);
    if (rc == QV_OK && !db->in_memory) st_maybe_checkpoint(db);
    st_db_unref(db);
    return rc;
}
