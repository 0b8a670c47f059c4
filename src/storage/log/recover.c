/*
** Recovery at open. Reads the MANIFEST (tables and their row groups in
** column files, with stats: no column file is opened; each is mapped and
** verified the first time a scan uses it), then replays the WAL files from
** the one the manifest names, in order, giving each record its meaning
** (catalog changes, appends, carried rows). A torn or corrupt record ends a
** file's valid part: the file is cut there and later files are removed,
** since replaying them after a gap would invent a state that never existed.
** Then a new WAL file is started, and a checkpoint runs if anything was
** replayed; files nothing names (a put that never committed) are removed.
*/
#include "st_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_manifest(st_db *db, bool *have, uint64_t *wal_seq, qv_err *err) {
    st_manifest m;
    if (st_manifest_read(db->dir, &m, have, err)) return err->code;
    if (!*have) return QV_OK;
    int rc = QV_OK;
    *wal_seq = m.wal_seq;
    for (int i = 0; rc == QV_OK && i < m.ntables; i++) {
        st_man_table *mt = &m.tables[i];
        st_table *t;
        if (st_catalog_add(db, mt->id, mt->name, &mt->schema, mt->rg_cap, &t, err)) {
            rc = qv_err_set(err, QV_ECORRUPT, "manifest of %s: %s", db->dir, err->msg);
            break;
        }
        pthread_mutex_lock(&t->commit_mu);
        for (int g = 0; g < mt->nrgs; g++) {
            char path[ST_PATH_MAX];
            int64_t fno = mt->rgs[g].fno;
            st_col_path(db->dir, t->id, fno, path, sizeof path);
            /* fno -1: a tombstone (every row deleted, no file) */
            st_map *map = fno < 0 ? NULL : st_map_new(path, t->id, fno, t->rg_cap, &t->schema, false);
            st_table_add_file_rg(t, fno, map, mt->rgs[g].stats, mt->rgs[g].bytes);
            if (mt->rgs[g].del) st_rg_set_del(t, t->rgs[t->nrgs - 1], mt->rgs[g].del, mt->rgs[g].del_len);
        }
        if (mt->next_fno > t->next_fno) t->next_fno = mt->next_fno;
        if (mt->ret_col >= -1 && mt->ret_col < t->schema.nfields) {
            t->ret_col = mt->ret_col;
            t->ret_ns = mt->ret_ns;
        }
        t->nckpt = mt->nrgs;
        t->removed_rows = mt->removed;
        st_publish(t);
        pthread_mutex_unlock(&t->commit_mu);
    }
    if (rc == QV_OK && m.next_id > db->next_id) db->next_id = m.next_id;
    st_manifest_free(&m);
    return rc;
}

static int replay_create(st_db *db, st_rd *r, qv_err *err) {
    uint64_t id = st_get_u64(r), rg = st_get_u64(r);
    char *name = st_get_name(r);
    if (!name || r->bad) {
        free(name);
        return qv_err_set(err, QV_ECORRUPT, "truncated create-table record");
    }
    qv_schema s;
    int rc = st_decode_schema(r, &s, err);
    if (rc == QV_OK) {
        rc = st_catalog_add(db, id, name, &s, (int64_t)rg, NULL, err);
        if (rc) rc = qv_err_set(err, QV_ECORRUPT, "create-table record: %s", err->msg);
        qv_schema_free(&s);
    }
    free(name);
    return rc;
}

static int replay_maintain(st_db *db, int type, st_rd *r, qv_err *err) {
    uint64_t id = st_get_u64(r);
    int32_t col = 0;
    int64_t ns = 0;
    uint32_t n = 0;
    if (type == ST_REC_RETENTION) {
        col = (int32_t)st_get_u32(r);
        ns = (int64_t)st_get_u64(r);
    } else if (type == ST_REC_DROP_RGS) {
        n = st_get_u32(r);
    } else if (type == ST_REC_TRIM_BASE) {
        ns = (int64_t)st_get_u64(r);
    }
    if (r->bad || r->pos != r->n) return qv_err_set(err, QV_ECORRUPT, "malformed record of type %d", type);
    st_table *t = st_catalog_find_id(db, id);
    if (!t) return QV_OK;
    int rc = QV_OK;
    pthread_mutex_lock(&t->commit_mu);
    if (type == ST_REC_TRUNCATE) st_table_drop_leading(t, t->nrgs);
    else if (type == ST_REC_DROP_RGS && (int64_t)n <= t->nrgs) st_table_drop_leading(t, (int)n);
    else if (type == ST_REC_TRIM_BASE && ns >= 0 && t->rows == 0) t->removed_rows = ns;
    else if (type == ST_REC_RETENTION && col >= -1 && col < t->schema.nfields) {
        t->ret_col = col;
        t->ret_ns = ns;
    } else rc = qv_err_set(err, QV_ECORRUPT, "record of type %d does not fit table %s", type, t->name);
    st_publish(t);
    pthread_mutex_unlock(&t->commit_mu);
    return rc;
}

static int replay_record(st_db *db, int type, const uint8_t *p, size_t n, bool carry_ok, bool *fatal, qv_err *err) {
    st_rd r = {p, n, 0, false};
    switch (type) {
    case ST_REC_CREATE: {
        int rc = replay_create(db, &r, err);
        if (rc == QV_OK && r.pos != n) rc = qv_err_set(err, QV_ECORRUPT, "create-table record has trailing bytes");
        return rc;
    }
    case ST_REC_DROP: {
        uint64_t id = st_get_u64(&r);
        if (r.bad || r.pos != n) return qv_err_set(err, QV_ECORRUPT, "malformed drop-table record");
        st_catalog_remove_id(db, id);
        return QV_OK;
    }
    case ST_REC_CARRY:
        if (!carry_ok) return QV_OK; /* the checkpoint that wrote it never completed */
        return st_replay_put(db, &r, false, fatal, err);
    case ST_REC_COMMIT: return st_replay_put(db, &r, false, fatal, err);
    case ST_REC_PUT: return st_replay_put(db, &r, true, fatal, err);
    case ST_REC_TRUNCATE:
    case ST_REC_RETENTION:
    case ST_REC_DROP_RGS:
    case ST_REC_TRIM_BASE: return replay_maintain(db, type, &r, err);
    case ST_REC_DEL_CARRY:
        if (!carry_ok) return QV_OK; /* as CARRY: its checkpoint never completed */
        return st_replay_delete(db, &r, err);
    case ST_REC_DELETE: return st_replay_delete(db, &r, err);
    case ST_REC_CREATE_PUT:
        if (replay_create(db, &r, err)) return err->code;
        return st_replay_put(db, &r, true, fatal, err);
    default: return qv_err_set(err, QV_ECORRUPT, "unknown record type %d", type);
    }
}

/* Replays one file; *stop when it was cut (later files must not be replayed). */
static int replay_file(st_db *db, const char *path, uint64_t seq, bool carry_ok, bool *stop, int64_t *records,
                       qv_err *err) {
    st_wal_reader rd;
    qv_err e;
    qv_err_clear(&e);
    int rc = st_wal_reader_open(&rd, path, seq, &e);
    if (rc == QV_ECORRUPT) {
        /* Only a crash while creating the file leaves this; nothing in it was acknowledged. */
        QV_WARN("%s; removing it", e.msg);
        *stop = true;
        if (unlink(path) != 0) return qv_err_set(err, QV_EIO, "cannot remove %s: %m", path);
        return QV_OK;
    }
    if (rc) return qv_err_set(err, rc, "%s", e.msg);
    const char *why = NULL;
    int type, got;
    const uint8_t *p;
    size_t n;
    bool fatal = false;
    size_t at = rd.pos;
    while ((got = st_wal_reader_next(&rd, &type, &p, &n, &why)) == 1) {
        if (replay_record(db, type, p, n, carry_ok, &fatal, &e)) {
            if (fatal) {
                st_wal_reader_close(&rd);
                return qv_err_set(err, QV_ECORRUPT, "%s", e.msg);
            }
            why = e.msg;
            break;
        }
        (*records)++;
        at = rd.pos;
    }
    size_t total = rd.n;
    st_wal_reader_close(&rd);
    if (why) {
        QV_WARN("WAL file %s: %s at offset %zu; cutting off the last %zu bytes", path, why, at, total - at);
        *stop = true;
        return st_wal_truncate(path, at, err);
    }
    return QV_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_wals(const char *dir, uint64_t **out, int *n, qv_err *err) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return qv_err_set(err, QV_EIO, "cannot list %s: %m", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long seq;
        int used = 0;
        if (strlen(e->d_name) == 24 && sscanf(e->d_name, "wal-%16llu.log%n", &seq, &used) == 1 && used == 24) {
            *out = qv_xrealloc(*out, sizeof(uint64_t) * (size_t)(*n + 1));
            (*out)[(*n)++] = seq;
        }
    }
    closedir(d);
    if (*n > 1) qsort(*out, (size_t)*n, sizeof(uint64_t), cmp_u64);
    return QV_OK;
}

int st_recover(st_db *db, qv_err *err) {
    char path[ST_PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST.tmp", db->dir);
    unlink(path); /* a checkpoint that died before its rename */
    st_replica_parts_remove(db); /* replica column files cut mid-transfer */
    bool have = false;
    uint64_t start = 0;
    if (load_manifest(db, &have, &start, err)) return err->code;
    uint64_t *seqs;
    int nw;
    if (list_wals(db->dir, &seqs, &nw, err)) return err->code;
    bool stop = false;
    int64_t records = 0;
    uint64_t last = start;
    int rc = QV_OK, replayed_files = 0;
    for (int i = 0; rc == QV_OK && i < nw; i++) {
        uint64_t seq = seqs[i];
        if (seq > last) last = seq;
        snprintf(path, sizeof path, "%s/wal-%016llu.log", db->dir, (unsigned long long)seq);
        if (have && seq < start) {
            unlink(path); /* trimmed by a checkpoint that completed */
            continue;
        }
        if (stop) {
            QV_WARN("WAL file %s follows a damaged one; removing it without replay", path);
            if (unlink(path) != 0) rc = qv_err_set(err, QV_EIO, "cannot remove %s: %m", path);
            continue;
        }
        rc = replay_file(db, path, seq, have && seq == start, &stop, &records, err);
        replayed_files++;
    }
    free(seqs);
    if (rc) return rc;
    if (have && replayed_files == 0 && start > 0)
        QV_WARN("WAL file %016llu named by the manifest is missing", (unsigned long long)start);
    if (records || replayed_files)
        QV_INFO("recovered %s: %lld WAL records from %d files", db->dir, (long long)records, replayed_files);
    if ((rc = st_wal_open(db->dir, last + 1, db->wal_sync_ms, &db->wal, err))) return rc;
    if (records || replayed_files > 1) return st_checkpoint_run(db, err);
    st_remove_garbage(db, have ? start : 0);
    return QV_OK;
}
