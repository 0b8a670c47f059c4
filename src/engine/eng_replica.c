/*
** A read replica's side of replication: apply what the primary committed,
** keeping the primary's table ids (so its sealed tickets name the same
** incarnations here) and its rows in the same order (so row ranges match).
** The database is read-only for everyone else (QV_EPRECONDITION naming the
** primary); these calls are the one writer. Called from one follower thread;
** the staged catch-up (`pend`, below) is that thread's, one per process.
*/
#include "engine_int.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void eng_set_read_only(eng *e, const char *why) { st_db_set_read_only(e->db, why); }

/* Why the follower is not following (healthcheck), empty when it is. Set by
   the follower thread, read by any; one follower per process. */
static pthread_mutex_t status_mu = PTHREAD_MUTEX_INITIALIZER;
static char status_err[512];

void eng_replica_set_error(eng *e, const char *msg) {
    (void)e;
    pthread_mutex_lock(&status_mu);
    snprintf(status_err, sizeof status_err, "%s", msg ? msg : "");
    pthread_mutex_unlock(&status_mu);
}

void eng_replica_health_json(eng *e, qv_str *out) {
    (void)e;
    pthread_mutex_lock(&status_mu);
    if (status_err[0]) {
        qv_str_append(out, ",\"replica_error\":", 17);
        qv_str_append_json_string(out, status_err, strlen(status_err));
    }
    pthread_mutex_unlock(&status_mu);
}

/* Name of the local table with this id, or -1. */
static int find_id(eng *e, uint64_t id, char *name, qv_err *err) {
    st_table_info *t;
    int n;
    if (st_db_list(e->db, &t, &n, err)) return -1;
    int found = -1;
    for (int i = 0; i < n; i++)
        if (t[i].id == id) {
            snprintf(name, QV_NAME_MAX + 1, "%s", t[i].name);
            found = i;
        }
    st_table_info_free_all(t, n);
    return found;
}

static void abort_if(eng *e, uint64_t id);

/* The trim count of table `name` here, or -1. */
static int64_t trim_of(eng *e, const char *name) {
    st_table *t;
    qv_err e2;
    if (st_table_open(e->db, name, &t, &e2)) return -1;
    int64_t n = st_table_trim_rows(t);
    st_table_release(t);
    return n;
}

int eng_replica_create(eng *e, uint64_t id, const char *name, int64_t trim, const qv_schema *schema, qv_err *err) {
    abort_if(e, id);
    char have[QV_NAME_MAX + 1];
    if (find_id(e, id, have, err) >= 0) {
        if (strcmp(have, name) == 0 && trim_of(e, have) == trim) return QV_OK; /* already here (a reconnect) */
        if (st_table_drop_replica(e->db, have, err)) return err->code; /* not the primary's: replaced */
    }
    st_table *t;
    qv_err e2;
    if (st_table_open(e->db, name, &t, &e2) == QV_OK) { /* an older incarnation under that name */
        st_table_release(t);
        if (st_table_drop_replica(e->db, name, err)) return err->code;
    }
    if (st_table_create_id(e->db, id, name, schema, err)) return err->code;
    /* Row numbers here start where the primary's do (a crash before this is
       logged leaves 0: the next connection's ticket says so and starts over). */
    return trim ? st_table_set_trim_replica(e->db, name, trim, err) : QV_OK;
}

int eng_replica_drop(eng *e, uint64_t id, qv_err *err) {
    abort_if(e, id);
    char name[QV_NAME_MAX + 1];
    if (find_id(e, id, name, err) < 0) return QV_OK;
    int rc = st_table_drop_replica(e->db, name, err);
    return rc == QV_ENOTFOUND ? QV_OK : rc;
}

/* The staged catch-up (one table at a time): rows arrive in chunks and are
   committed together by eng_replica_commit, or dropped by eng_replica_abort.
   Only the follower thread touches it. */
typedef struct pending {
    st_table *t;
    st_append *a;
    uint64_t id;
    int64_t next_row;  /* storage row the next chunk must start at */
} pending;
static pending pend;

void eng_replica_abort(eng *e) {
    (void)e;
    if (pend.a) st_append_abort(pend.a);
    if (pend.t) st_table_release(pend.t);
    memset(&pend, 0, sizeof pend);
}

static void abort_if(eng *e, uint64_t id) {
    if (pend.t && pend.id == id) eng_replica_abort(e);
}

int eng_replica_commit(eng *e, qv_err *err) {
    int rc = pend.a ? st_append_commit_replica(pend.a, NULL, err) : QV_OK;
    pend.a = NULL;
    eng_replica_abort(e);
    return rc;
}

/* The staged catch-up of table id, begun if it is not under way. */
static int pend_begin(eng *e, uint64_t id, qv_err *err) {
    if (pend.t && pend.id != id) eng_replica_abort(e); /* another table: the old catch-up was not finished */
    if (!pend.t) {
        char name[QV_NAME_MAX + 1];
        if (find_id(e, id, name, err) < 0)
            return qv_err_set(err, QV_ECORRUPT, "replication: rows for table id %llu, which this replica lacks",
                              (unsigned long long)id);
        if (st_table_open(e->db, name, &pend.t, err)) return err->code;
        st_snapshot *s;
        st_snapshot_open(pend.t, &s);
        pend.next_row = st_snapshot_rows(s);
        st_snapshot_close(s);
        pend.id = id;
    }
    return QV_OK;
}

int eng_replica_append(eng *e, uint64_t id, int64_t row_from, const qv_batch *b, qv_err *err) {
    if (pend_begin(e, id, err)) return err->code;
    int64_t skip = pend.next_row - row_from;
    if (skip < 0) {
        qv_err_set(err, QV_ECORRUPT, "replication: table %s has %lld rows here, the primary sent rows from %lld",
                   st_table_name(pend.t), (long long)pend.next_row, (long long)row_from);
        eng_replica_abort(e);
        return err->code;
    }
    if (skip >= b->nrows) return QV_OK;
    qv_batch part;
    qv_batch_init(&part, &b->schema);
    for (int i = 0; i < b->schema.nfields; i++) {
        qv_array_free(&part.cols[i]);
        qv_array_slice(&part.cols[i], &b->cols[i], skip, b->nrows - skip);
    }
    part.nrows = b->nrows - skip;
    int rc = pend.a ? QV_OK : st_append_begin(pend.t, &pend.a, err);
    if (rc == QV_OK) rc = st_append_batch(pend.a, &part, err);
    if (rc == QV_OK) pend.next_row += part.nrows;
    qv_batch_free(&part);
    if (rc) eng_replica_abort(e);
    return rc;
}

/* ---- column files (the primary hands them out, a replica adopts them) ---- */

int64_t eng_replica_file_rows(eng *e) { return st_db_replica_file_rows(e->db); }

int eng_repl_file_open(eng *e, const char *name, uint64_t id, int64_t trim, int64_t row_from, int64_t file_rows,
                       eng_repl_file *out) {
    memset(out, 0, sizeof *out);
    out->fd = -1;
    st_table *t;
    qv_err e2;
    if (file_rows <= 0 || row_from % file_rows || st_table_open(e->db, name, &t, &e2)) return -1;
    st_snapshot *s;
    st_snapshot_open(t, &s);
    char path[4200];
    int rg = (int)(row_from / file_rows);
    /* A table with DELETEd rows goes as its live rows: its files still hold the deleted ones. */
    int64_t removed = st_table_removed_rows(t);
    bool ok = st_table_id(t) == id && removed == trim && removed == st_table_trim_rows(t) &&
              st_snapshot_rowgroup_rows(s, 0) == file_rows &&
              st_snapshot_rowgroup_rows(s, rg) == file_rows &&
              st_snapshot_rowgroup_file(s, rg, path, sizeof path, &out->fno);
    if (ok) out->fd = open(path, O_RDONLY | O_CLOEXEC); /* the snapshot keeps the file until then */
    struct stat st;
    if (out->fd >= 0 && fstat(out->fd, &st) == 0) out->size = st.st_size;
    else if (out->fd >= 0) {
        close(out->fd);
        out->fd = -1;
    }
    st_snapshot_close(s);
    st_table_release(t);
    return out->fd >= 0 ? 0 : -1;
}

int eng_replica_file_chunk(eng *e, uint64_t id, int64_t fno, int64_t off, const void *p, size_t n, qv_err *err) {
    (void)id;
    return st_replica_file_chunk(e->db, id, fno, off, p, n, err);
}

int eng_replica_file_stage(eng *e, uint64_t id, int64_t row_from, int64_t fno, int64_t size, uint32_t crc,
                           qv_err *err) {
    int rc = st_replica_file_check(e->db, id, fno, size, crc, err);
    if (rc == QV_OK) rc = pend_begin(e, id, err);
    if (rc == QV_OK && row_from != pend.next_row)
        rc = qv_err_set(err, QV_ECORRUPT, "replication: table %s has %lld rows here, the primary sent a file from %lld",
                        st_table_name(pend.t), (long long)pend.next_row, (long long)row_from);
    if (rc == QV_OK && !pend.a) rc = st_append_begin(pend.t, &pend.a, err);
    if (rc == QV_OK) rc = st_append_add_file_replica(pend.a, fno, err);
    if (rc == QV_OK) pend.next_row += st_db_replica_file_rows(e->db);
    if (rc) {
        st_replica_file_discard(e->db, id, fno);
        eng_replica_abort(e);
    }
    return rc;
}
