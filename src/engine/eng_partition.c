/*
** Partitioned reads: what a front end needs to hand one query out as several
** independently fetched pieces that all read the same snapshot.
**
** - The ticket key: 32 random bytes kept in <data_dir>/ticket.key (created
**   0600 on first open, so every server opened on the same data redeems the
**   same tickets), or fresh per process with an in-memory database.
** - eng_query_partitions: for a query that is a scan of one table (with
**   filters and projections), row ranges of whole row groups of about
**   `partition_rows` rows each, as of a snapshot taken now, with the table's
**   incarnation id. Storage only appends, except that TRUNCATE, retention and
**   DELETE remove rows, and each raises st_table_removed_rows: a range read
**   later with the same count returns exactly what the plan saw.
** - eng_query_open_range: the same query seeing only storage rows [a, b) of
**   that incarnation; a table dropped or recreated since is QV_ENOTFOUND.
**
** Nothing here keeps state between calls except the key (set once at open).
*/
#include "engine_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE "ticket.key"
#define MAX_PARTS 4096

static int random_bytes(uint8_t *p, size_t n, qv_err *err) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return qv_err_set(err, QV_EIO, "cannot get random bytes for the ticket key: %s", strerror(errno));
        got += (size_t)r;
    }
    return QV_OK;
}

static int read_key(const char *path, int fd, uint8_t *key, qv_err *err) {
    uint8_t buf[ENG_KEY_BYTES + 1];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return qv_err_set(err, QV_EIO, "cannot read %s: %s", path, strerror(errno));
        if (r == 0 || (got += (size_t)r) == sizeof buf) break;
    }
    if (got != ENG_KEY_BYTES)
        return qv_err_set(err, QV_ECORRUPT, "%s holds %zu bytes, not a %d-byte key (remove it to make a new one)",
                          path, got, ENG_KEY_BYTES);
    memcpy(key, buf, ENG_KEY_BYTES);
    return QV_OK;
}

static int write_key(const char *path, int fd, const uint8_t *key, qv_err *err) {
    size_t put = 0;
    while (put < ENG_KEY_BYTES) {
        ssize_t w = write(fd, key + put, ENG_KEY_BYTES - put);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return qv_err_set(err, QV_EIO, "cannot write %s: %s", path, strerror(errno));
        put += (size_t)w;
    }
    if (fsync(fd) != 0) return qv_err_set(err, QV_EIO, "cannot sync %s: %s", path, strerror(errno));
    return QV_OK;
}

static int store_key(const char *path, const uint8_t *key, qv_err *err) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot create %s: %s", tmp, strerror(errno));
    int rc = write_key(tmp, fd, key, err);
    close(fd);
    if (rc == QV_OK && rename(tmp, path) != 0)
        rc = qv_err_set(err, QV_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc) unlink(tmp);
    return rc;
}

int eng_ticket_key_set(eng *e, const uint8_t *key, qv_err *err) {
    if (memcmp(e->key, key, ENG_KEY_BYTES) == 0) return QV_OK;
    memcpy(e->key, key, ENG_KEY_BYTES);
    return e->key_path[0] ? store_key(e->key_path, key, err) : QV_OK;
}

int eng_key_load(eng *e, const eng_options *opts, qv_err *err) {
    if (opts->storage.in_memory || !opts->storage.data_dir) return random_bytes(e->key, ENG_KEY_BYTES, err);
    char *path = e->key_path;
    snprintf(e->key_path, sizeof e->key_path, "%s/%s", opts->storage.data_dir, KEY_FILE);
    /* The same data directory is opened by one process at a time (storage
       locks it), so create-or-read has no race with another server. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        int rc = read_key(path, fd, e->key, err);
        close(fd);
        return rc;
    }
    if (errno != ENOENT) return qv_err_set(err, QV_EIO, "cannot open %s: %s", path, strerror(errno));
    if (random_bytes(e->key, ENG_KEY_BYTES, err)) return err->code;
    return store_key(path, e->key, err);
}

const uint8_t *eng_ticket_key(const eng *e) { return e->key; }

/* ---- planning ---- */

static int64_t fixed_width(qv_type t) {
    switch (t) {
    case QV_T_BOOL: return 1;
    case QV_T_INT32: case QV_T_FLOAT32: case QV_T_SYMBOL: case QV_T_DATE: return 4;
    case QV_T_INT64: case QV_T_FLOAT64: case QV_T_TIMESTAMP: case QV_T_DECIMAL: case QV_T_INTERVAL: case QV_T_TIME: return 8;
    case QV_T_STRING: return 16;
    case QV_T_INVALID: case QV_T__COUNT: return 8;
    }
    return 8;
}

/* Bytes of the result columns over rows of row groups [rg0, rg1): a column
   the result takes from the table counts its storage bytes, any other its
   type's width per row. An upper bound when the query filters. */
static int64_t range_bytes(const st_snapshot *s, const qv_schema *table, const qv_schema *out, int rg0, int rg1,
                           int64_t rows) {
    int64_t total = 0;
    for (int f = 0; f < out->nfields; f++) {
        int col = -1;
        for (int k = 0; k < table->nfields && col < 0; k++)
            if (strcasecmp(table->fields[k].name, out->fields[f].name) == 0 &&
                (table->fields[k].type == out->fields[f].type || table->fields[k].type == QV_T_SYMBOL))
                col = k;
        if (col < 0) {
            total += rows * fixed_width(out->fields[f].type);
            continue;
        }
        for (int rg = rg0; rg < rg1; rg++) {
            qv_array a;
            st_snapshot_column(s, rg, col, &a);
            total += qv_array_bytes(&a);
            qv_array_free(&a);
        }
    }
    return total;
}

static void parts_add(eng_parts *p, const st_snapshot *s, int64_t from, int64_t to, int64_t bytes) {
    p->parts = qv_xrealloc(p->parts, sizeof *p->parts * (size_t)(p->n + 1));
    int64_t live = s ? st_snapshot_live_in(s, from, to) : 0; /* rows a DELETE removed are not read */
    p->parts[p->n++] = (eng_part){.row_from = from, .row_to = to, .rows = live, .bytes = bytes};
}

static int split_table(eng *e, const char *table, const qv_schema *out, int64_t partition_rows, eng_parts *p,
                       qv_err *err) {
    st_table *t;
    if (st_table_open(e->db, table, &t, err)) return err->code;
    snprintf(p->table, sizeof p->table, "%s", st_table_name(t));
    p->table_id = st_table_id(t);
    st_snapshot *s;
    /* The snapshot's row numbers go with the removed-rows count read around it. */
    for (;;) {
        p->removed = st_table_removed_rows(t);
        st_snapshot_open(t, &s);
        if (st_table_removed_rows(t) == p->removed) break;
        st_snapshot_close(s);
    }
    p->has_deleted = p->removed != st_table_trim_rows(t);
    int nrg = st_snapshot_rowgroups(s);
    /* A FlightInfo must stay a small message: at most MAX_PARTS endpoints. */
    int64_t total = st_snapshot_rows(s);
    if (partition_rows < total / MAX_PARTS + 1) partition_rows = total / MAX_PARTS + 1;
    int64_t row = 0, from = 0, acc = 0;
    int rg0 = 0;
    for (int rg = 0; rg < nrg; rg++) {
        int64_t n = st_snapshot_rowgroup_rows(s, rg);
        row += n;
        acc += n;
        if (acc >= partition_rows || rg == nrg - 1) {
            parts_add(p, s, from, row, range_bytes(s, st_table_schema(t), out, rg0, rg + 1, acc));
            from = row;
            acc = 0;
            rg0 = rg + 1;
        }
    }
    if (p->n == 0) parts_add(p, NULL, 0, 0, 0); /* an empty table: one empty endpoint */
    st_snapshot_close(s);
    st_table_release(t);
    return QV_OK;
}

int eng_query_partitions(eng *e, const eng_query *q, int64_t partition_rows, eng_parts *out, qv_err *err) {
    memset(out, 0, sizeof *out);
    if (partition_rows <= 0) partition_rows = ENG_DEFAULT_PARTITION_ROWS;
    const char *table = NULL;
    bool ordered = false;
    out->scan = eng_sql_scan_of(q, &table, &ordered);
    out->ordered = ordered;
    if (!out->scan) return QV_OK;
    int rc = split_table(e, table, eng_query_schema(q), partition_rows, out, err);
    out->exact = rc == QV_OK && eng_query_total_rows(q) >= 0;
    if (rc) eng_parts_free(out);
    return rc;
}

void eng_parts_free(eng_parts *p) {
    free(p->parts);
    memset(p, 0, sizeof *p);
}

int eng_query_open_range(eng *e, const char *sql, size_t len, const eng_range *r, eng_query **out, qv_err *err) {
    *out = NULL;
    if (r->row_from < 0 || r->row_to < r->row_from)
        return qv_err_set(err, QV_EINVAL, "row range [%lld, %lld) is not a range", (long long)r->row_from,
                          (long long)r->row_to);
    st_table *t;
    if (st_table_open(e->db, r->table, &t, err)) {
        if (err->code == QV_ENOTFOUND)
            qv_err_set(err, QV_ENOTFOUND, "table '%s' was dropped after this ticket was issued", r->table);
        return err->code;
    }
    uint64_t id = st_table_id(t);
    int64_t removed = st_table_removed_rows(t);
    st_snapshot *s;
    st_snapshot_open(t, &s);
    int64_t rows = st_snapshot_rows(s);
    st_snapshot_close(s);
    st_table_release(t);
    if (id == r->table_id && removed != r->removed)
        return qv_err_set(err, QV_ENOTFOUND,
                          "rows were removed from table '%s' (truncate, retention or DELETE) after this ticket was issued; "
                          "ask for a new FlightInfo",
                          r->table);
    if (id != r->table_id)
        return qv_err_set(err, QV_ENOTFOUND,
                          "table '%s' was dropped and recreated after this ticket was issued; ask for a new FlightInfo",
                          r->table);
    if (rows < r->row_to)
        return qv_err_set(err, QV_ENOTFOUND,
                          "table '%s' has %lld rows here, the ticket reads rows up to %lld: this server does not hold "
                          "that snapshot",
                          r->table, (long long)rows, (long long)r->row_to);
    if (eng_sql_open_range(e, sql, len, r, out, err)) return err->code;
    /* The query opened the table by name: make sure it is still the same
       incarnation (a drop and re-create between the check and the open). */
    qv_err e2;
    bool same = st_table_open(e->db, r->table, &t, &e2) == QV_OK;
    if (same) {
        same = st_table_id(t) == r->table_id && st_table_removed_rows(t) == r->removed;
        st_table_release(t);
    }
    if (!same) {
        eng_query_close(*out);
        *out = NULL;
        return qv_err_set(err, QV_ENOTFOUND, "table '%s' changed (dropped, recreated or trimmed) while this ticket was redeemed",
                          r->table);
    }
    return QV_OK;
}
