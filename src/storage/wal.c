/*
** Write-ahead log: one append-only file at a time (wal-<seq>.log), records
** framed as [u32 len][u32 crc32c(len,type,payload)][u8 type][payload].
** States: no file (in-memory or closed) -> open file (wal_fd >= 0) ->
** rotated by checkpoints -> stopped at close. wal_mu guards the fd, the
** LSNs (bytes written/synced since open) and the broken flag. With
** wal_sync_ms = 0 a committer fsyncs right after its write, outside wal_mu,
** so commits to other tables that wrote meanwhile share the next fsync
** (sync_busy marks it; rotation and close wait for it to end). With
** wal_sync_ms > 0 a syncer thread fsyncs at most that long after the first
** unsynced write and wakes every commit waiting on wal_cv.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char wal_magic[8] = {'Q', 'V', 'W', 'A', 'L', '0', '0', '1'};

int st_fsync_dir(const char *dir, qv_err *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot open directory %s: %m", dir);
    int rc = fsync(fd);
    close(fd);
    if (rc != 0) return qv_err_set(err, QV_EIO, "fsync of directory %s failed: %m", dir);
    return QV_OK;
}

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static void *syncer_main(void *arg) {
    st_db *db = arg;
    pthread_mutex_lock(&db->wal_mu);
    while (!db->syncer_stop) {
        if (db->lsn_synced >= db->lsn_written || db->wal_fd < 0) {
            pthread_cond_wait(&db->wal_cv, &db->wal_mu);
            continue;
        }
        /* Let the group fill up, then one fsync for all of it. */
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        int64_t ns = dl.tv_nsec + (int64_t)db->wal_sync_ms * 1000000;
        dl.tv_sec += ns / 1000000000;
        dl.tv_nsec = ns % 1000000000;
        while (!db->syncer_stop && pthread_cond_timedwait(&db->wal_cv, &db->wal_mu, &dl) != ETIMEDOUT) {
        }
        if (db->wal_fd < 0 || db->lsn_synced >= db->lsn_written) continue;
        int64_t target = db->lsn_written;
        if (fdatasync(db->wal_fd) != 0) {
            QV_ERROR("WAL fsync failed: %m; refusing further commits");
            db->wal_broken = true;
        } else {
            db->lsn_synced = target;
            atomic_fetch_add(&db->st_wal_syncs, 1);
        }
        pthread_cond_broadcast(&db->wal_cv);
    }
    pthread_mutex_unlock(&db->wal_mu);
    return NULL;
}

static int open_file(st_db *db, uint64_t seq, qv_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/wal-%016llu.log", db->dir, (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot create WAL file %s: %m", path);
    uint8_t h[ST_WAL_HDR];
    memcpy(h, wal_magic, 8);
    st_wr_u32(h + 8, (uint32_t)seq);
    st_wr_u32(h + 12, (uint32_t)(seq >> 32));
    st_wr_u32(h + 16, qv_crc32c(0, h, 16));
    if (write_all(fd, h, sizeof h) != 0 || fdatasync(fd) != 0) {
        close(fd);
        return qv_err_set(err, QV_EIO, "cannot write WAL file %s: %m", path);
    }
    if (st_fsync_dir(db->dir, err)) {
        close(fd);
        return err->code;
    }
    db->wal_fd = fd;
    db->wal_seq = seq;
    db->wal_file_bytes = db->wal_base_bytes = ST_WAL_HDR;
    return QV_OK;
}

int st_wal_start(st_db *db, uint64_t seq, qv_err *err) {
    pthread_mutex_lock(&db->wal_mu);
    int rc = open_file(db, seq, err);
    pthread_mutex_unlock(&db->wal_mu);
    if (rc == QV_OK && db->wal_sync_ms > 0 && !db->syncer_on) {
        db->syncer_stop = false;
        if (pthread_create(&db->syncer, NULL, syncer_main, db) != 0)
            return qv_err_set(err, QV_ERESOURCE, "cannot start the WAL sync thread");
        db->syncer_on = true;
    }
    return rc;
}

void st_wal_stop(st_db *db) {
    pthread_mutex_lock(&db->wal_mu);
    while (db->sync_busy) pthread_cond_wait(&db->wal_cv, &db->wal_mu);
    db->syncer_stop = true;
    pthread_cond_broadcast(&db->wal_cv);
    pthread_mutex_unlock(&db->wal_mu);
    if (db->syncer_on) pthread_join(db->syncer, NULL);
    db->syncer_on = false;
    pthread_mutex_lock(&db->wal_mu);
    while (db->sync_busy) pthread_cond_wait(&db->wal_cv, &db->wal_mu);
    if (db->wal_fd >= 0) {
        if (db->lsn_synced < db->lsn_written && fdatasync(db->wal_fd) != 0)
            QV_ERROR("WAL fsync at close failed: %m");
        db->lsn_synced = db->lsn_written;
        close(db->wal_fd);
        db->wal_fd = -1;
    }
    pthread_cond_broadcast(&db->wal_cv);
    pthread_mutex_unlock(&db->wal_mu);
}

int64_t st_wal_write_locked(st_db *db, int type, const qv_str *payload, qv_err *err) {
    if (db->wal_fd < 0) {
        qv_err_set(err, QV_EINVAL, "database is closed");
        return -1;
    }
    if (db->wal_broken) {
        qv_err_set(err, QV_EIO, "the write-ahead log failed earlier; no more commits are accepted");
        return -1;
    }
    if (payload->len > UINT32_MAX - 64) {
        qv_err_set(err, QV_ERESOURCE, "commit of %zu bytes is larger than a WAL record can hold",
                   payload->len);
        return -1;
    }
    uint8_t h[ST_REC_HDR];
    st_wr_u32(h, (uint32_t)payload->len);
    h[8] = (uint8_t)type;
    uint32_t crc = qv_crc32c(0, h, 4);
    crc = qv_crc32c(crc, h + 8, 1);
    crc = qv_crc32c(crc, payload->data, payload->len);
    st_wr_u32(h + 4, crc);
    if (write_all(db->wal_fd, h, sizeof h) != 0 || write_all(db->wal_fd, payload->data, payload->len) != 0) {
        qv_err_set(err, QV_EIO, "WAL write failed: %m");
        /* Drop the partial record so later records do not follow garbage. */
        if (ftruncate(db->wal_fd, db->wal_file_bytes) != 0 ||
            lseek(db->wal_fd, db->wal_file_bytes, SEEK_SET) < 0) {
            QV_ERROR("cannot cut a failed WAL write: %m; refusing further commits");
            db->wal_broken = true;
        }
        return -1;
    }
    int64_t n = (int64_t)(sizeof h + payload->len);
    db->wal_file_bytes += n;
    db->lsn_written += n;
    atomic_fetch_add(&db->st_wal_bytes, n);
    return db->lsn_written;
}

/* wal_mu held. */
static int sync_now_locked(st_db *db, qv_err *err) {
    while (db->sync_busy) pthread_cond_wait(&db->wal_cv, &db->wal_mu);
    if (db->lsn_synced >= db->lsn_written) return QV_OK;
    if (fdatasync(db->wal_fd) != 0) {
        db->wal_broken = true;
        return qv_err_set(err, QV_EIO, "WAL fsync failed: %m");
    }
    db->lsn_synced = db->lsn_written;
    atomic_fetch_add(&db->st_wal_syncs, 1);
    pthread_cond_broadcast(&db->wal_cv);
    return QV_OK;
}

/* wal_mu held; returns once lsn is durable. One waiter at a time runs
   fdatasync with the lock released; it covers everything written so far. */
static int wait_durable_locked(st_db *db, int64_t lsn, qv_err *err) {
    while (db->lsn_synced < lsn && !db->wal_broken) {
        if (db->sync_busy) {
            pthread_cond_wait(&db->wal_cv, &db->wal_mu);
            continue;
        }
        db->sync_busy = true;
        int64_t target = db->lsn_written;
        int fd = db->wal_fd;
        pthread_mutex_unlock(&db->wal_mu);
        int rc = fdatasync(fd);
        pthread_mutex_lock(&db->wal_mu);
        db->sync_busy = false;
        if (rc != 0) {
            QV_ERROR("WAL fsync failed: %m; refusing further commits");
            db->wal_broken = true;
        } else {
            if (target > db->lsn_synced) db->lsn_synced = target;
            atomic_fetch_add(&db->st_wal_syncs, 1);
        }
        pthread_cond_broadcast(&db->wal_cv);
    }
    if (db->lsn_synced < lsn) return qv_err_set(err, QV_EIO, "WAL fsync failed");
    return QV_OK;
}

int st_wal_log(st_db *db, int type, const qv_str *payload, qv_err *err) {
    pthread_mutex_lock(&db->wal_mu);
    int rc = QV_OK;
    int64_t lsn = st_wal_write_locked(db, type, payload, err);
    if (lsn < 0) {
        rc = err ? err->code : QV_EIO;
    } else if (db->wal_sync_ms == 0) {
        rc = wait_durable_locked(db, lsn, err);
    } else {
        pthread_cond_broadcast(&db->wal_cv); /* wake the syncer */
        while (db->lsn_synced < lsn && !db->wal_broken) pthread_cond_wait(&db->wal_cv, &db->wal_mu);
        if (db->lsn_synced < lsn) rc = qv_err_set(err, QV_EIO, "WAL fsync failed");
    }
    pthread_mutex_unlock(&db->wal_mu);
    return rc;
}

int st_wal_rotate_locked(st_db *db, uint64_t seq, qv_err *err) {
    if (db->wal_fd >= 0) {
        if (sync_now_locked(db, err)) return err->code;
        close(db->wal_fd);
        db->wal_fd = -1;
    }
    return open_file(db, seq, err);
}

int st_wal_sync_locked(st_db *db, qv_err *err) { return sync_now_locked(db, err); }

/* ---------------- replay ---------------- */

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

static int replay_commit(st_db *db, st_rd *r, qv_err *err) {
    uint64_t id = st_get_u64(r);
    uint32_t nb = st_get_u32(r);
    if (r->bad) return qv_err_set(err, QV_ECORRUPT, "truncated commit record");
    st_table *t = st_catalog_find_id(db, id);
    if (!t) return QV_OK; /* written after a concurrent drop of its table */
    if (nb > r->n - r->pos) return qv_err_set(err, QV_ECORRUPT, "commit record batch count %u", nb);
    qv_batch *bs = qv_xcalloc(nb ? nb : 1, sizeof *bs);
    uint32_t got = 0;
    int rc = QV_OK;
    for (; got < nb; got++) {
        if ((rc = st_decode_batch(r, &t->schema, &bs[got], err))) break;
        if ((rc = st_check_batch(t, &bs[got], err))) {
            rc = qv_err_set(err, QV_ECORRUPT, "commit record does not fit: %s", err->msg);
            got++;
            break;
        }
    }
    if (rc == QV_OK && r->pos != r->n) rc = qv_err_set(err, QV_ECORRUPT, "commit record has trailing bytes");
    if (rc == QV_OK) {
        pthread_mutex_lock(&t->commit_mu);
        if (st_check_text_room(t, bs, (int)nb, err)) {
            rc = qv_err_set(err, QV_ECORRUPT, "commit record does not fit: %s", err->msg);
        } else {
            for (uint32_t i = 0; i < nb; i++) st_apply_batch(t, &bs[i]);
            st_publish(t);
        }
        pthread_mutex_unlock(&t->commit_mu);
    }
    for (uint32_t i = 0; i < got; i++) qv_batch_free(&bs[i]);
    free(bs);
    return rc;
}

static int replay_record(st_db *db, int type, const uint8_t *p, size_t n, bool carry_ok, qv_err *err) {
    st_rd r = {p, n, 0, false};
    switch (type) {
    case ST_REC_CREATE: return replay_create(db, &r, err);
    case ST_REC_DROP: {
        uint64_t id = st_get_u64(&r);
        if (r.bad || r.pos != n) return qv_err_set(err, QV_ECORRUPT, "malformed drop-table record");
        st_catalog_remove_id(db, id);
        return QV_OK;
    }
    case ST_REC_CARRY:
        if (!carry_ok) return QV_OK; /* the checkpoint that wrote it never completed */
        return replay_commit(db, &r, err);
    case ST_REC_COMMIT: return replay_commit(db, &r, err);
    default: return qv_err_set(err, QV_ECORRUPT, "unknown record type %d", type);
    }
}

static int read_file(const char *path, uint8_t **out, size_t *n, qv_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot open %s: %m", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return qv_err_set(err, QV_EIO, "cannot stat %s: %m", path);
    }
    size_t sz = (size_t)st.st_size, got = 0;
    uint8_t *buf = qv_xmalloc(sz ? sz : 1);
    while (got < sz) {
        ssize_t r = read(fd, buf + got, sz - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != sz) {
        free(buf);
        return qv_err_set(err, QV_EIO, "cannot read %s", path);
    }
    *out = buf;
    *n = sz;
    return QV_OK;
}

int st_read_file(const char *path, uint8_t **out, size_t *n, qv_err *err) {
    return read_file(path, out, n, err);
}

int st_wal_replay_file(st_db *db, const char *path, uint64_t seq, bool carry_ok, bool *stop,
                       int64_t *records, qv_err *err) {
    uint8_t *buf;
    size_t n;
    if (read_file(path, &buf, &n, err)) return err->code;
    uint64_t hseq = n >= ST_WAL_HDR ? (st_rd_u32(buf + 8) | (uint64_t)st_rd_u32(buf + 12) << 32) : 0;
    if (n < ST_WAL_HDR || memcmp(buf, wal_magic, 8) || st_rd_u32(buf + 16) != qv_crc32c(0, buf, 16) ||
        hseq != seq) {
        /* Only a crash while creating the file leaves this; nothing in it was acknowledged. */
        QV_WARN("WAL file %s has a missing or damaged header (%zu bytes); removing it", path, n);
        free(buf);
        *stop = true;
        if (unlink(path) != 0) return qv_err_set(err, QV_EIO, "cannot remove %s: %m", path);
        return QV_OK;
    }
    size_t pos = ST_WAL_HDR;
    const char *why = NULL;
    qv_err e;
    qv_err_clear(&e);
    while (pos < n) {
        if (n - pos < ST_REC_HDR) {
            why = "torn record header";
            break;
        }
        uint32_t len = st_rd_u32(buf + pos), crc = st_rd_u32(buf + pos + 4);
        uint8_t type = buf[pos + 8];
        if (len > n - pos - ST_REC_HDR) {
            why = "torn record (length past end of file)";
            break;
        }
        uint32_t c = qv_crc32c(0, buf + pos, 4);
        c = qv_crc32c(c, &type, 1);
        c = qv_crc32c(c, buf + pos + ST_REC_HDR, len);
        if (c != crc) {
            why = "record checksum mismatch";
            break;
        }
        if (replay_record(db, type, buf + pos + ST_REC_HDR, len, carry_ok, &e)) {
            why = e.msg;
            break;
        }
        (*records)++;
        pos += ST_REC_HDR + len;
    }
    free(buf);
    if (why) {
        QV_WARN("WAL file %s: %s at offset %zu; cutting off the last %zu bytes", path, why, pos, n - pos);
        *stop = true;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)pos) != 0 || fsync(fd) != 0) {
            int rc = qv_err_set(err, QV_EIO, "cannot truncate WAL file %s: %m", path);
            if (fd >= 0) close(fd);
            return rc;
        }
        close(fd);
    }
    return QV_OK;
}
