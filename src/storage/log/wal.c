/*
** The write-ahead log, a pure log: it appends framed records to one file at
** a time (wal-<seq>.log), makes them durable, rotates to a new file, and
** reads files back record by record. It knows nothing of tables: recovery
** and checkpoints (recover.c, checkpoint.c) give records their meaning.
**
** Record framing: [u32 len][u32 crc32c(len,type,payload)][u8 type][payload].
** States: open file -> (rotated to the next file)* -> closed. w->mu guards
** the fd, the LSNs (bytes written/synced since open) and the broken flag.
** With sync_ms = 0 a committer fsyncs right after its write, outside mu, so
** commits that wrote meanwhile share the next fsync (sync_busy marks it;
** rotation and close wait for it). With sync_ms > 0 a syncer thread fsyncs
** at most that long after the first unsynced write and wakes the waiters.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char wal_magic[8] = {'Q', 'V', 'W', 'A', 'L', '0', '0', '1'};

struct st_wal {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *dir;
    int sync_ms;
    int fd;
    uint64_t seq;
    int64_t file_bytes, base_bytes;
    int64_t lsn_written, lsn_synced;
    bool broken, stop, sync_busy, syncer_on;
    pthread_t syncer;
    _Atomic int64_t st_bytes, st_syncs;
};

static void *syncer_main(void *arg) {
    st_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (w->lsn_synced >= w->lsn_written || w->fd < 0) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        /* Let the group fill up, then one fsync for all of it. */
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        int64_t ns = dl.tv_nsec + (int64_t)w->sync_ms * 1000000;
        dl.tv_sec += ns / 1000000000;
        dl.tv_nsec = ns % 1000000000;
        while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &dl) != ETIMEDOUT) {
        }
        if (w->fd < 0 || w->lsn_synced >= w->lsn_written || w->sync_busy) continue;
        int64_t target = w->lsn_written;
        if (fdatasync(w->fd) != 0) {
            QV_ERROR("WAL fsync failed: %m; refusing further commits");
            w->broken = true;
        } else {
            w->lsn_synced = target;
            atomic_fetch_add(&w->st_syncs, 1);
        }
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int open_file(st_wal *w, uint64_t seq, qv_err *err) {
    char path[ST_PATH_MAX];
    snprintf(path, sizeof path, "%s/wal-%016llu.log", w->dir, (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot create WAL file %s: %m", path);
    uint8_t h[ST_WAL_HDR];
    memcpy(h, wal_magic, 8);
    st_wr_u64(h + 8, seq);
    st_wr_u32(h + 16, qv_crc32c(0, h, 16));
    if (st_write_all(fd, h, sizeof h) != 0 || fdatasync(fd) != 0) {
        close(fd);
        return qv_err_set(err, QV_EIO, "cannot write WAL file %s: %m", path);
    }
    if (st_fsync_dir(w->dir, err)) {
        close(fd);
        return err->code;
    }
    w->fd = fd;
    w->seq = seq;
    w->file_bytes = w->base_bytes = ST_WAL_HDR;
    return QV_OK;
}

int st_wal_open(const char *dir, uint64_t seq, int sync_ms, st_wal **out, qv_err *err) {
    st_wal *w = qv_xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->dir = qv_xstrdup(dir);
    w->sync_ms = sync_ms;
    w->fd = -1;
    int rc = open_file(w, seq, err);
    if (rc == QV_OK && sync_ms > 0) {
        if (pthread_create(&w->syncer, NULL, syncer_main, w) != 0)
            rc = qv_err_set(err, QV_ERESOURCE, "cannot start the WAL sync thread");
        else w->syncer_on = true;
    }
    if (rc) {
        st_wal_close(w);
        return rc;
    }
    *out = w;
    return QV_OK;
}

void st_wal_shutdown(st_wal *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    while (w->sync_busy) pthread_cond_wait(&w->cv, &w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->syncer_on) pthread_join(w->syncer, NULL);
    w->syncer_on = false;
    pthread_mutex_lock(&w->mu);
    while (w->sync_busy) pthread_cond_wait(&w->cv, &w->mu);
    if (w->fd >= 0) {
        if (w->lsn_synced < w->lsn_written && fdatasync(w->fd) != 0) QV_ERROR("WAL fsync at close failed: %m");
        w->lsn_synced = w->lsn_written;
        close(w->fd);
        w->fd = -1;
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void st_wal_close(st_wal *w) {
    if (!w) return;
    st_wal_shutdown(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->dir);
    free(w);
}

int64_t st_wal_append(st_wal *w, int type, const qv_str *const *parts, int nparts, qv_err *err) {
    size_t len = 0;
    for (int i = 0; i < nparts; i++) len += parts[i]->len;
    if (len > UINT32_MAX - 64) {
        qv_err_set(err, QV_ERESOURCE, "a record of %zu bytes is larger than a WAL record can hold", len);
        return -1;
    }
    uint8_t h[ST_REC_HDR];
    st_wr_u32(h, (uint32_t)len);
    h[8] = (uint8_t)type;
    uint32_t crc = qv_crc32c(0, h, 4);
    crc = qv_crc32c(crc, h + 8, 1);
    struct iovec iov[9];
    if (nparts > 8) {
        qv_err_set(err, QV_EINTERNAL, "WAL record in %d parts", nparts);
        return -1;
    }
    iov[0] = (struct iovec){h, sizeof h};
    for (int i = 0; i < nparts; i++) {
        crc = qv_crc32c(crc, parts[i]->data, parts[i]->len);
        iov[i + 1] = (struct iovec){parts[i]->data, parts[i]->len};
    }
    st_wr_u32(h + 4, crc);
    pthread_mutex_lock(&w->mu);
    int64_t lsn = -1;
    if (w->fd < 0) qv_err_set(err, QV_EINVAL, "database is closed");
    else if (w->broken) qv_err_set(err, QV_EIO, "the write-ahead log failed earlier; no more commits are accepted");
    else {
        size_t total = sizeof h + len, done = 0;
        int k = 0, cnt = nparts + 1;
        while (done < total) {
            ssize_t n = writev(w->fd, iov + k, cnt - k);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += (size_t)n;
            while (k < cnt && (size_t)n >= iov[k].iov_len) n -= (ssize_t)iov[k++].iov_len;
            if (k < cnt) {
                iov[k].iov_base = (uint8_t *)iov[k].iov_base + n;
                iov[k].iov_len -= (size_t)n;
            }
        }
        if (done < total) {
            qv_err_set(err, QV_EIO, "WAL write failed: %m");
            /* Drop the partial record so later records do not follow garbage. */
            if (ftruncate(w->fd, w->file_bytes) != 0 || lseek(w->fd, w->file_bytes, SEEK_SET) < 0) {
                QV_ERROR("cannot cut a failed WAL write: %m; refusing further commits");
                w->broken = true;
            }
        } else {
            w->file_bytes += (int64_t)total;
            w->lsn_written += (int64_t)total;
            atomic_fetch_add(&w->st_bytes, (int64_t)total);
            lsn = w->lsn_written;
            if (w->sync_ms > 0) pthread_cond_broadcast(&w->cv); /* wake the syncer */
        }
    }
    pthread_mutex_unlock(&w->mu);
    return lsn;
}

/* mu held: one waiter at a time runs fdatasync with the lock released; it
   covers everything written so far. */
static int wait_locked(st_wal *w, int64_t lsn, qv_err *err) {
    while (w->lsn_synced < lsn && !w->broken) {
        if (w->sync_busy || w->sync_ms > 0) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        w->sync_busy = true;
        int64_t target = w->lsn_written;
        int fd = w->fd;
        pthread_mutex_unlock(&w->mu);
        int rc = fdatasync(fd);
        pthread_mutex_lock(&w->mu);
        w->sync_busy = false;
        if (rc != 0) {
            QV_ERROR("WAL fsync failed: %m; refusing further commits");
            w->broken = true;
        } else {
            if (target > w->lsn_synced) w->lsn_synced = target;
            atomic_fetch_add(&w->st_syncs, 1);
        }
        pthread_cond_broadcast(&w->cv);
    }
    if (w->lsn_synced < lsn) return qv_err_set(err, QV_EIO, "WAL fsync failed");
    return QV_OK;
}

int st_wal_wait(st_wal *w, int64_t lsn, qv_err *err) {
    pthread_mutex_lock(&w->mu);
    int rc = wait_locked(w, lsn, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int st_wal_log(st_wal *w, int type, const qv_str *payload, qv_err *err) {
    int64_t lsn = st_wal_append(w, type, &payload, 1, err);
    if (lsn < 0) return err ? err->code : QV_EIO;
    return st_wal_wait(w, lsn, err);
}

int st_wal_rotate(st_wal *w, uint64_t seq, qv_err *err) {
    pthread_mutex_lock(&w->mu);
    while (w->sync_busy) pthread_cond_wait(&w->cv, &w->mu);
    int rc = QV_OK;
    if (w->fd < 0) rc = qv_err_set(err, QV_EINVAL, "database is closed");
    if (rc == QV_OK && w->fd >= 0) {
        if (w->lsn_synced < w->lsn_written) {
            if (fdatasync(w->fd) != 0) {
                w->broken = true;
                rc = qv_err_set(err, QV_EIO, "WAL fsync failed: %m");
            } else {
                w->lsn_synced = w->lsn_written;
                atomic_fetch_add(&w->st_syncs, 1);
                pthread_cond_broadcast(&w->cv);
            }
        }
        if (rc == QV_OK) {
            close(w->fd);
            w->fd = -1;
        }
    }
    if (rc == QV_OK) rc = open_file(w, seq, err);
    if (rc) w->broken = true; /* no file to write to: refuse commits rather than lose them */
    pthread_mutex_unlock(&w->mu);
    return rc;
}

uint64_t st_wal_seq(st_wal *w) {
    pthread_mutex_lock(&w->mu);
    uint64_t s = w->seq;
    pthread_mutex_unlock(&w->mu);
    return s;
}

int64_t st_wal_pending_bytes(st_wal *w) {
    pthread_mutex_lock(&w->mu);
    int64_t n = w->file_bytes - w->base_bytes;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void st_wal_mark_base(st_wal *w) {
    pthread_mutex_lock(&w->mu);
    w->base_bytes = w->file_bytes;
    pthread_mutex_unlock(&w->mu);
}

void st_wal_get_stats(st_wal *w, st_wal_stats *out) {
    out->bytes = atomic_load(&w->st_bytes);
    out->syncs = atomic_load(&w->st_syncs);
}

/* ---------------- reading ---------------- */


int st_wal_reader_open(st_wal_reader *r, const char *path, uint64_t seq, qv_err *err) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    if (qv_file_read_all(path, &r->buf, &r->n, err)) return err->code;
    r->pos = ST_WAL_HDR;
    if (r->n < ST_WAL_HDR || memcmp(r->buf, wal_magic, 8) || st_rd_u32(r->buf + 16) != qv_crc32c(0, r->buf, 16) ||
        st_rd_u64(r->buf + 8) != seq) {
        int rc = qv_err_set(err, QV_ECORRUPT, "WAL file %s has a missing or damaged header (%zu bytes)", path, r->n);
        st_wal_reader_close(r);
        return rc;
    }
    return QV_OK;
}

int st_wal_reader_next(st_wal_reader *r, int *type, const uint8_t **p, size_t *n, const char **why) {
    if (r->pos >= r->n) return 0;
    const uint8_t *b = r->buf + r->pos;
    size_t left = r->n - r->pos;
    if (left < ST_REC_HDR) {
        *why = "torn record header";
        return -1;
    }
    uint32_t len = st_rd_u32(b), crc = st_rd_u32(b + 4);
    if (len > left - ST_REC_HDR) {
        *why = "torn record (length past end of file)";
        return -1;
    }
    uint32_t c = qv_crc32c(0, b, 4);
    c = qv_crc32c(c, b + 8, 1);
    c = qv_crc32c(c, b + ST_REC_HDR, len);
    if (c != crc) {
        *why = "record checksum mismatch";
        return -1;
    }
    *type = b[8];
    *p = b + ST_REC_HDR;
    *n = len;
    r->pos += ST_REC_HDR + len;
    return 1;
}

int st_wal_truncate(const char *path, size_t off, qv_err *err) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0) {
        int rc = qv_err_set(err, QV_EIO, "cannot truncate WAL file %s: %m", path);
        if (fd >= 0) close(fd);
        return rc;
    }
    close(fd);
    return QV_OK;
}

void st_wal_reader_close(st_wal_reader *r) {
    free(r->buf);
    r->buf = NULL;
    r->n = r->pos = 0;
}
