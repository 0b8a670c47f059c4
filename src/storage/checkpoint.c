/*
** Checkpoints and recovery. A checkpoint rotates the WAL (carrying the rows
** of every partly filled row group into the new file as CARRY records),
** writes each newly sealed row group to a column file, then publishes a
** MANIFEST (tmp + fsync + rename + dir fsync) naming the tables, how many
** row groups of each are in column files, and the WAL file replay starts
** from; only then are older WAL files and unreferenced column files removed.
** ckpt_mu makes checkpoints one at a time; see docs/storage.md for formats.
*/
#include "st_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char man_magic[8] = {'Q', 'V', 'M', 'A', 'N', 'I', 'F', '1'};
static const char col_magic[8] = {'Q', 'V', 'C', 'O', 'L', 'R', 'G', '1'};
#define COL_HDR 48

typedef struct ck_table {
    st_table *t;
    st_pub *pub;
    int sealed;
} ck_table;

static void col_path(const st_db *db, uint64_t id, int rg, char *buf, size_t n) {
    snprintf(buf, n, "%s/t%llu-%d.qvc", db->dir, (unsigned long long)id, rg);
}

static int write_file_sync(const char *path, const void *p, size_t n, qv_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot create %s: %m", path);
    const uint8_t *b = p;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, b, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return qv_err_set(err, QV_EIO, "cannot write %s: %m", path);
        }
        b += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        close(fd);
        return qv_err_set(err, QV_EIO, "cannot fsync %s: %m", path);
    }
    close(fd);
    return QV_OK;
}

static int write_colfile(st_db *db, const ck_table *c, int rg, qv_err *err) {
    qv_batch b;
    st_pub_batch(c->t, c->pub, rg, &b);
    qv_str s;
    qv_str_init(&s);
    qv_str_reserve(&s, COL_HDR);
    s.len = COL_HDR;
    st_encode_batch(&s, &b);
    qv_batch_free(&b);
    uint8_t *h = (uint8_t *)s.data;
    uint64_t body = s.len - COL_HDR;
    memcpy(h, col_magic, 8);
    uint64_t f[4] = {c->t->id, (uint64_t)rg, (uint64_t)c->pub->rgs[rg]->rows, body};
    for (int i = 0; i < 4; i++) {
        st_wr_u32(h + 8 + i * 8, (uint32_t)f[i]);
        st_wr_u32(h + 12 + i * 8, (uint32_t)(f[i] >> 32));
    }
    st_wr_u32(h + 40, qv_crc32c(0, h + COL_HDR, body));
    st_wr_u32(h + 44, qv_crc32c(0, h, 44));
    char path[4200];
    col_path(db, c->t->id, rg, path, sizeof path);
    int rc = write_file_sync(path, s.data, s.len, err);
    qv_str_free(&s);
    return rc;
}

static int load_colfile(st_db *db, st_table *t, int rg, qv_err *err) {
    char path[4200];
    col_path(db, t->id, rg, path, sizeof path);
    uint8_t *buf;
    size_t n;
    if (st_read_file(path, &buf, &n, err)) {
        if (err) err->code = QV_ECORRUPT;
        return qv_err_prefix(err, "column file of table %s row group %d missing", t->name, rg);
    }
    int rc = QV_OK;
    const char *why = NULL;
    uint64_t f[4] = {0};
    if (n < COL_HDR || memcmp(buf, col_magic, 8) || st_rd_u32(buf + 44) != qv_crc32c(0, buf, 44)) {
        why = "bad header";
    } else {
        for (int i = 0; i < 4; i++) f[i] = st_rd_u32(buf + 8 + i * 8) | (uint64_t)st_rd_u32(buf + 12 + i * 8) << 32;
        if (f[0] != t->id || f[1] != (uint64_t)rg || f[2] != (uint64_t)t->rg_cap)
            why = "header names another table, row group or size";
        else if (f[3] != n - COL_HDR) why = "length does not match the file size";
        else if (st_rd_u32(buf + 40) != qv_crc32c(0, buf + COL_HDR, n - COL_HDR)) why = "checksum mismatch";
    }
    if (!why) {
        st_rd r = {buf + COL_HDR, n - COL_HDR, 0, false};
        qv_batch b;
        qv_err e;
        qv_err_clear(&e);
        if (st_decode_batch(&r, &t->schema, &b, &e)) {
            rc = qv_err_set(err, QV_ECORRUPT, "column file %s: %s", path, e.msg);
        } else {
            if (b.nrows != t->rg_cap || r.pos != r.n || st_check_batch(t, &b, &e))
                rc = qv_err_set(err, QV_ECORRUPT, "column file %s: contents do not match table %s",
                                path, t->name);
            else st_apply_batch(t, &b);
            qv_batch_free(&b);
        }
    } else {
        rc = qv_err_set(err, QV_ECORRUPT, "column file %s: %s", path, why);
    }
    free(buf);
    return rc;
}

/* ---------------- manifest ---------------- */

static int write_manifest(st_db *db, uint64_t wal_seq, uint64_t next_id, ck_table *cs, int n,
                          qv_err *err) {
    qv_str s;
    qv_str_init(&s);
    qv_str_append(&s, man_magic, 8);
    st_put_u32(&s, 1);
    st_put_u64(&s, wal_seq);
    st_put_u64(&s, next_id);
    st_put_u32(&s, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        st_put_u64(&s, cs[i].t->id);
        st_put_u64(&s, (uint64_t)cs[i].t->rg_cap);
        st_put_u32(&s, (uint32_t)cs[i].sealed);
        st_put_name(&s, cs[i].t->name);
        st_encode_schema(&s, &cs[i].t->schema);
    }
    st_put_u32(&s, qv_crc32c(0, s.data, s.len));
    char tmp[4200], path[4200];
    snprintf(tmp, sizeof tmp, "%s/MANIFEST.tmp", db->dir);
    snprintf(path, sizeof path, "%s/MANIFEST", db->dir);
    int rc = write_file_sync(tmp, s.data, s.len, err);
    qv_str_free(&s);
    if (rc) return rc;
    if (rename(tmp, path) != 0) return qv_err_set(err, QV_EIO, "cannot rename %s: %m", tmp);
    return st_fsync_dir(db->dir, err);
}

/* Loads the manifest's tables and column files. *have = false if there is none. */
static int load_manifest(st_db *db, bool *have, uint64_t *wal_seq, qv_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/MANIFEST", db->dir);
    *have = false;
    if (access(path, F_OK) != 0) return QV_OK;
    uint8_t *buf;
    size_t n;
    if (st_read_file(path, &buf, &n, err)) return err->code;
    int rc = QV_OK;
    if (n < 36 || memcmp(buf, man_magic, 8) || st_rd_u32(buf + n - 4) != qv_crc32c(0, buf, n - 4)) {
        free(buf);
        return qv_err_set(err, QV_ECORRUPT, "manifest %s is damaged (bad magic or checksum)", path);
    }
    st_rd r = {buf + 8, n - 12, 0, false};
    uint32_t ver = st_get_u32(&r);
    *wal_seq = st_get_u64(&r);
    uint64_t next_id = st_get_u64(&r);
    uint32_t nt = st_get_u32(&r);
    if (ver != 1) rc = qv_err_set(err, QV_ECORRUPT, "manifest %s has unknown version %u", path, ver);
    for (uint32_t i = 0; rc == QV_OK && i < nt; i++) {
        uint64_t id = st_get_u64(&r), rgc = st_get_u64(&r);
        uint32_t sealed = st_get_u32(&r);
        char *name = st_get_name(&r);
        qv_schema sch;
        if (!name || r.bad) {
            rc = qv_err_set(err, QV_ECORRUPT, "manifest %s is truncated", path);
        } else if (st_decode_schema(&r, &sch, err) == QV_OK) {
            st_table *t;
            if (st_catalog_add(db, id, name, &sch, (int64_t)rgc, &t, err)) {
                rc = qv_err_set(err, QV_ECORRUPT, "manifest %s: %s", path, err->msg);
            } else {
                for (uint32_t g = 0; rc == QV_OK && g < sealed; g++) rc = load_colfile(db, t, (int)g, err);
                t->nckpt = (int)sealed;
                pthread_mutex_lock(&t->commit_mu);
                st_publish(t);
                pthread_mutex_unlock(&t->commit_mu);
            }
            qv_schema_free(&sch);
        } else {
            rc = qv_err_prefix(err, "manifest %s", path);
        }
        free(name);
    }
    if (rc == QV_OK && r.pos != r.n) rc = qv_err_set(err, QV_ECORRUPT, "manifest %s has trailing bytes", path);
    if (rc == QV_OK && next_id > db->next_id) db->next_id = next_id;
    free(buf);
    *have = rc == QV_OK;
    return rc;
}

/* ---------------- directory listing ---------------- */

typedef struct wal_list {
    uint64_t *seqs;
    int n;
} wal_list;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_wals(st_db *db, wal_list *out, qv_err *err) {
    out->seqs = NULL;
    out->n = 0;
    DIR *d = opendir(db->dir);
    if (!d) return qv_err_set(err, QV_EIO, "cannot list %s: %m", db->dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long seq;
        char tail[8];
        if (strlen(e->d_name) == 24 && sscanf(e->d_name, "wal-%16llu.%3s", &seq, tail) == 2 &&
            strcmp(tail, "log") == 0) {
            out->seqs = qv_xrealloc(out->seqs, sizeof(uint64_t) * (size_t)(out->n + 1));
            out->seqs[out->n++] = seq;
        }
    }
    closedir(d);
    if (out->n > 1) qsort(out->seqs, (size_t)out->n, sizeof(uint64_t), cmp_u64);
    return QV_OK;
}

static void wal_path(const st_db *db, uint64_t seq, char *buf, size_t n) {
    snprintf(buf, n, "%s/wal-%016llu.log", db->dir, (unsigned long long)seq);
}

/* Remove WAL files before keep_from and column files the manifest does not name. */
static void remove_garbage(st_db *db, uint64_t keep_from, const ck_table *cs, int n) {
    char path[4200];
    wal_list wl;
    if (list_wals(db, &wl, NULL) == QV_OK) {
        for (int i = 0; i < wl.n; i++)
            if (wl.seqs[i] < keep_from) {
                wal_path(db, wl.seqs[i], path, sizeof path);
                if (unlink(path) != 0) QV_WARN("cannot remove old WAL file %s: %m", path);
            }
        free(wl.seqs);
    }
    DIR *d = opendir(db->dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long id;
        int rg, used = 0;
        if (sscanf(e->d_name, "t%llu-%d.qvc%n", &id, &rg, &used) != 2 || used != (int)strlen(e->d_name))
            continue;
        bool keep = false;
        for (int i = 0; i < n; i++)
            if (cs[i].t->id == id && rg >= 0 && rg < cs[i].sealed) keep = true;
        if (!keep) {
            snprintf(path, sizeof path, "%s/%s", db->dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

/* ---------------- checkpoint ---------------- */

static int checkpoint_locked(st_db *db, qv_err *err) {
    pthread_mutex_lock(&db->cat_mu);
    if (db->closed || db->wal_fd < 0) {
        pthread_mutex_unlock(&db->cat_mu);
        return QV_OK;
    }
    int n = db->ntables;
    ck_table *cs = qv_xcalloc((size_t)(n ? n : 1), sizeof *cs);
    for (int i = 0; i < n; i++) {
        cs[i].t = db->tables[i];
        atomic_fetch_add(&cs[i].t->refs, 1);
        pthread_mutex_lock(&cs[i].t->commit_mu);
    }
    uint64_t next_id = db->next_id;
    pthread_mutex_lock(&db->wal_mu);
    uint64_t seq = db->wal_seq + 1;
    int rc = st_wal_rotate_locked(db, seq, err);
    for (int i = 0; rc == QV_OK && i < n; i++) {
        st_table *t = cs[i].t;
        cs[i].pub = st_pub_get(t);
        int nr = cs[i].pub->nrgs;
        cs[i].sealed = nr && cs[i].pub->rgs[nr - 1]->rows < t->rg_cap ? nr - 1 : nr;
        if (cs[i].sealed == nr) continue;
        /* The partly filled row group lives on only in the new WAL. */
        qv_batch b;
        st_pub_batch(t, cs[i].pub, nr - 1, &b);
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, t->id);
        st_put_u32(&rec, 1);
        st_encode_batch(&rec, &b);
        qv_batch_free(&b);
        if (st_wal_write_locked(db, ST_REC_CARRY, &rec, err) < 0) rc = err ? err->code : QV_EIO;
        qv_str_free(&rec);
    }
    if (rc == QV_OK) rc = st_wal_sync_locked(db, err);
    /* Carried rows do not count toward the next checkpoint, or many partly
       filled tables could make every commit checkpoint again. */
    db->wal_base_bytes = db->wal_file_bytes;
    pthread_mutex_unlock(&db->wal_mu);
    for (int i = n - 1; i >= 0; i--) pthread_mutex_unlock(&cs[i].t->commit_mu);
    pthread_mutex_unlock(&db->cat_mu);

    for (int i = 0; rc == QV_OK && i < n; i++)
        for (int g = cs[i].t->nckpt; rc == QV_OK && g < cs[i].sealed; g++) rc = write_colfile(db, &cs[i], g, err);
    if (rc == QV_OK) rc = st_fsync_dir(db->dir, err);
    if (rc == QV_OK) rc = write_manifest(db, seq, next_id, cs, n, err);
    if (rc == QV_OK) {
        for (int i = 0; i < n; i++) cs[i].t->nckpt = cs[i].sealed;
        remove_garbage(db, seq, cs, n);
        atomic_fetch_add(&db->st_checkpoints, 1);
    }
    for (int i = 0; i < n; i++) {
        st_pub_unref(cs[i].pub);
        st_table_unref(cs[i].t);
    }
    free(cs);
    if (rc) qv_err_prefix(err, "checkpoint");
    return rc;
}

int st_checkpoint_run(st_db *db, qv_err *err) {
    if (db->in_memory) return QV_OK;
    pthread_mutex_lock(&db->ckpt_mu);
    int rc = checkpoint_locked(db, err);
    pthread_mutex_unlock(&db->ckpt_mu);
    return rc;
}

int st_db_checkpoint(st_db *db, qv_err *err) { return st_checkpoint_run(db, err); }

void st_maybe_checkpoint(st_db *db) {
    pthread_mutex_lock(&db->wal_mu);
    bool due = db->wal_fd >= 0 && db->wal_file_bytes - db->wal_base_bytes > db->ckpt_bytes;
    pthread_mutex_unlock(&db->wal_mu);
    if (!due || pthread_mutex_trylock(&db->ckpt_mu) != 0) return;
    qv_err e;
    qv_err_clear(&e);
    pthread_mutex_lock(&db->wal_mu);
    due = db->wal_fd >= 0 && db->wal_file_bytes - db->wal_base_bytes > db->ckpt_bytes;
    pthread_mutex_unlock(&db->wal_mu);
    if (due && checkpoint_locked(db, &e)) QV_ERROR("%s", e.msg);
    pthread_mutex_unlock(&db->ckpt_mu);
}

/* ---------------- recovery ---------------- */

int st_recover(st_db *db, qv_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/MANIFEST.tmp", db->dir);
    unlink(path); /* a checkpoint that died before its rename */
    bool have = false;
    uint64_t start = 0;
    if (load_manifest(db, &have, &start, err)) return err->code;
    wal_list wl;
    if (list_wals(db, &wl, err)) return err->code;
    bool stop = false;
    int64_t records = 0;
    uint64_t last = start;
    int rc = QV_OK, replayed_files = 0;
    for (int i = 0; rc == QV_OK && i < wl.n; i++) {
        uint64_t seq = wl.seqs[i];
        if (seq > last) last = seq;
        wal_path(db, seq, path, sizeof path);
        if (have && seq < start) {
            unlink(path); /* trimmed by a checkpoint that completed */
            continue;
        }
        if (stop) {
            QV_WARN("WAL file %s follows a damaged one; removing it without replay", path);
            if (unlink(path) != 0) rc = qv_err_set(err, QV_EIO, "cannot remove %s: %m", path);
            continue;
        }
        rc = st_wal_replay_file(db, path, seq, have && seq == start, &stop, &records, err);
        replayed_files++;
    }
    free(wl.seqs);
    if (rc) return rc;
    if (have && replayed_files == 0 && start > 0)
        QV_WARN("WAL file %016llu named by the manifest is missing", (unsigned long long)start);
    if (records || replayed_files) QV_INFO("recovered %s: %lld WAL records from %d files", db->dir,
                                           (long long)records, replayed_files);
    if ((rc = st_wal_start(db, last + 1, err))) return rc;
    if (records || replayed_files > 1) return st_checkpoint_run(db, err);
    return QV_OK;
}
