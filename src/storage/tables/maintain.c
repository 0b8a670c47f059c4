/*
** Whole-row-group maintenance: TRUNCATE, per-table retention, and the
** background drop of expired row groups. Each change is a WAL record that
** is durable before the table changes in memory; the column files it frees
** are removed only by the next checkpoint, after a MANIFEST that no longer
** names them, so a crash at any point shows the table before or after.
** Every change holds the table's writer slot (no append is open) and
** ckpt_mu (no checkpoint is walking the row groups). Stateless itself.
*/
#include "st_int.h"

#include <stdlib.h>
#include <string.h>

/* Open the table and take its writer slot (waiting, or not when try). */
static int hold_table(st_db *db, const char *name, bool try, st_table **out, qv_err *err) {
    if (st_table_open(db, name, out, err)) return err->code;
    st_table *t = *out;
    pthread_mutex_lock(&t->append_mu);
    if (try && t->appending) {
        pthread_mutex_unlock(&t->append_mu);
        st_table_release(t);
        *out = NULL;
        return QV_OK;
    }
    while (t->appending) pthread_cond_wait(&t->append_cv, &t->append_mu);
    t->appending = true;
    pthread_mutex_unlock(&t->append_mu);
    return QV_OK;
}

static void release_table(st_table *t) {
    pthread_mutex_lock(&t->append_mu);
    t->appending = false;
    pthread_cond_signal(&t->append_cv);
    pthread_mutex_unlock(&t->append_mu);
    st_table_release(t);
}

/* Slot, ckpt_mu and commit_mu held: log, then apply. */
static int log_change(st_db *db, st_table *t, int type, const qv_str *rec, qv_err *err) {
    if (atomic_load(&t->dropped)) return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    if (!db->in_memory && st_wal_log(db->wal, type, rec, err)) return qv_err_prefix(err, "table %s", t->name);
    return QV_OK;
}

int st_table_truncate(st_db *db, const char *name, int64_t *rows_removed, qv_err *err) {
    if (st_db_read_only_check(db, err)) return err->code;
    st_table *t;
    if (hold_table(db, name, false, &t, err)) return err->code;
    pthread_mutex_lock(&db->ckpt_mu);
    pthread_mutex_lock(&t->commit_mu);
    qv_str rec;
    qv_str_init(&rec);
    st_put_u64(&rec, t->id);
    int64_t before = t->rows;
    int rc = log_change(db, t, ST_REC_TRUNCATE, &rec, err);
    if (rc == QV_OK) {
        if (db->hooks.drop_begin) db->hooks.drop_begin(db->hooks.arg, t);
        st_table_drop_leading(t, t->nrgs);
        st_publish(t);
        if (db->hooks.drop_end) db->hooks.drop_end(db->hooks.arg, t, before - t->rows);
        if (rows_removed) *rows_removed = before;
    }
    pthread_mutex_unlock(&t->commit_mu);
    pthread_mutex_unlock(&db->ckpt_mu);
    qv_str_free(&rec);
    release_table(t);
    return rc;
}

int st_table_set_trim_replica(st_db *db, const char *name, int64_t removed, qv_err *err) {
    if (removed < 0) return qv_err_set(err, QV_EINVAL, "trim count must not be negative");
    st_table *t;
    if (hold_table(db, name, false, &t, err)) return err->code;
    pthread_mutex_lock(&db->ckpt_mu);
    pthread_mutex_lock(&t->commit_mu);
    int rc = QV_OK;
    if (t->rows != 0) rc = qv_err_set(err, QV_EINVAL, "table %s holds rows: its trim count cannot change", t->name);
    if (rc == QV_OK && t->removed_rows != removed) {
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, t->id);
        st_put_u64(&rec, (uint64_t)removed);
        rc = log_change(db, t, ST_REC_TRIM_BASE, &rec, err);
        if (rc == QV_OK) t->removed_rows = removed;
        qv_str_free(&rec);
    }
    pthread_mutex_unlock(&t->commit_mu);
    pthread_mutex_unlock(&db->ckpt_mu);
    release_table(t);
    return rc;
}

int st_table_set_retention(st_db *db, const char *name, const char *column, int64_t interval_ns, qv_err *err) {
    if (interval_ns < 0) return qv_err_set(err, QV_EINVAL, "retention interval must not be negative");
    if (st_db_read_only_check(db, err)) return err->code;
    st_table *t;
    if (hold_table(db, name, false, &t, err)) return err->code;
    int col = -1, rc = QV_OK;
    if (interval_ns > 0) {
        for (int c = 0; c < t->schema.nfields && col < 0; c++)
            if (t->schema.fields[c].type == QV_T_TIMESTAMP && (!column || !strcmp(column, t->schema.fields[c].name)))
                col = c;
        if (col < 0)
            rc = column ? qv_err_set(err, QV_EINVAL, "table %s has no TIMESTAMP column %s", t->name, column)
                        : qv_err_set(err, QV_EINVAL, "table %s has no TIMESTAMP column for a retention", t->name);
    }
    if (rc == QV_OK) {
        pthread_mutex_lock(&db->ckpt_mu);
        pthread_mutex_lock(&t->commit_mu);
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, t->id);
        st_put_u32(&rec, (uint32_t)col);
        st_put_u64(&rec, (uint64_t)interval_ns);
        rc = log_change(db, t, ST_REC_RETENTION, &rec, err);
        if (rc == QV_OK) {
            pthread_mutex_lock(&t->mu);
            t->ret_col = col;
            t->ret_ns = col < 0 ? 0 : interval_ns;
            pthread_mutex_unlock(&t->mu);
        }
        qv_str_free(&rec);
        pthread_mutex_unlock(&t->commit_mu);
        pthread_mutex_unlock(&db->ckpt_mu);
    }
    release_table(t);
    return rc;
}

/* Leading sealed row groups whose newest timestamp is older than cutoff. */
static int expired(const st_table *t, int64_t cutoff) {
    int n = 0;
    while (n < t->nrgs) {
        const st_rg *rg = t->rgs[n];
        const st_stats *st = &rg->cols[t->ret_col].stats;
        if (rg->rows < t->rg_cap || !st->has_minmax || st->max.i >= cutoff) break;
        n++;
    }
    return n;
}

static int enforce_one(st_db *db, st_table *t, int64_t now_ns, int64_t *dropped, qv_err *err) {
    int rc = QV_OK;
    pthread_mutex_lock(&db->ckpt_mu);
    pthread_mutex_lock(&t->commit_mu);
    int n = t->ret_col >= 0 ? expired(t, now_ns - t->ret_ns) : 0;
    if (n > 0) {
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, t->id);
        st_put_u32(&rec, (uint32_t)n);
        int64_t before = t->rows;
        rc = log_change(db, t, ST_REC_DROP_RGS, &rec, err);
        if (rc == QV_OK) {
            if (db->hooks.drop_begin) db->hooks.drop_begin(db->hooks.arg, t);
            st_table_drop_leading(t, n);
            st_publish(t);
            if (db->hooks.drop_end) db->hooks.drop_end(db->hooks.arg, t, before - t->rows);
            *dropped += before - t->rows;
            QV_INFO("retention: dropped %d expired row groups (%lld rows) of table %s", n,
                    (long long)(before - t->rows), t->name);
        }
        qv_str_free(&rec);
    }
    pthread_mutex_unlock(&t->commit_mu);
    pthread_mutex_unlock(&db->ckpt_mu);
    return rc;
}

int st_db_enforce_retention(st_db *db, int64_t now_ns, int64_t *rows_dropped, qv_err *err) {
    st_table_info *inf;
    int n;
    int64_t dropped = 0;
    if (st_db_list(db, &inf, &n, err)) return err->code;
    int rc = QV_OK;
    for (int i = 0; i < n && rc == QV_OK; i++) {
        st_table *t;
        if (hold_table(db, inf[i].name, true, &t, err)) continue; /* dropped meanwhile */
        if (!t) continue; /* an append is open: next time */
        rc = enforce_one(db, t, now_ns, &dropped, err);
        release_table(t);
    }
    st_table_info_free_all(inf, n);
    if (rows_dropped) *rows_dropped = dropped;
    return rc;
}

void st_retention_tick(st_db *db) {
    qv_err e;
    qv_err_clear(&e);
    if (st_db_enforce_retention(db, qv_now_ns(), NULL, &e)) QV_ERROR("retention: %s", e.msg);
}
