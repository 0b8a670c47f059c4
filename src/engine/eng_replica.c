/*
** A read replica's side of replication: apply what the primary committed,
** keeping the primary's table ids (so its sealed tickets name the same
** incarnations here) and its rows in the same order (so row ranges match).
** The database is read-only for everyone else (QV_EPRECONDITION naming the
** primary); these calls are the one writer. Called from one follower thread.
*/
#include "engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eng_set_read_only(eng *e, const char *why) { st_db_set_read_only(e->db, why); }

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

int eng_replica_create(eng *e, uint64_t id, const char *name, const qv_schema *schema, qv_err *err) {
    char have[QV_NAME_MAX + 1];
    if (find_id(e, id, have, err) >= 0) {
        if (strcmp(have, name) == 0) return QV_OK; /* already here (a reconnect) */
        if (st_table_drop_replica(e->db, have, err)) return err->code; /* not the primary's: replaced */
    }
    st_table *t;
    qv_err e2;
    if (st_table_open(e->db, name, &t, &e2) == QV_OK) { /* an older incarnation under that name */
        st_table_release(t);
        if (st_table_drop_replica(e->db, name, err)) return err->code;
    }
    return st_table_create_id(e->db, id, name, schema, err);
}

int eng_replica_drop(eng *e, uint64_t id, qv_err *err) {
    char name[QV_NAME_MAX + 1];
    if (find_id(e, id, name, err) < 0) return QV_OK;
    int rc = st_table_drop_replica(e->db, name, err);
    return rc == QV_ENOTFOUND ? QV_OK : rc;
}

int eng_replica_append(eng *e, uint64_t id, int64_t row_from, const qv_batch *b, qv_err *err) {
    char name[QV_NAME_MAX + 1];
    if (find_id(e, id, name, err) < 0)
        return qv_err_set(err, QV_ECORRUPT, "replication: rows for table id %llu, which this replica lacks",
                          (unsigned long long)id);
    st_table *t;
    if (st_table_open(e->db, name, &t, err)) return err->code;
    st_snapshot *s;
    st_snapshot_open(t, &s);
    int64_t rows = st_snapshot_rows(s);
    st_snapshot_close(s);
    int rc = QV_OK;
    int64_t skip = rows - row_from;
    if (skip < 0) {
        rc = qv_err_set(err, QV_ECORRUPT, "replication: table %s has %lld rows here, the primary sent rows from %lld",
                        name, (long long)rows, (long long)row_from);
    } else if (skip < b->nrows) {
        qv_batch part;
        qv_batch_init(&part, &b->schema);
        for (int i = 0; i < b->schema.nfields; i++) {
            qv_array_free(&part.cols[i]);
            qv_array_slice(&part.cols[i], &b->cols[i], skip, b->nrows - skip);
        }
        part.nrows = b->nrows - skip;
        st_append *a;
        rc = st_append_begin(t, &a, err);
        if (rc == QV_OK && (rc = st_append_batch(a, &part, err)) != QV_OK) st_append_abort(a);
        if (rc == QV_OK) rc = st_append_commit_replica(a, NULL, err);
        qv_batch_free(&part);
    }
    st_table_release(t);
    return rc;
}
