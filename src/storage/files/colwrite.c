/*
** Writing column files (the layout is described in colfile.c).
**
** Buffers go out in pieces of PIECE bytes, each checksummed (and, where
** asked, scanned for min/max) right before it is queued, so a buffer is
** read from memory once and the copy that follows finds it in cache. The
** header, which holds the checksums and stats, is written last at offset 0:
** until then the file starts with a hole that fails the header check.
**
** Two ways out:
** - buffered: pieces and the small parts between them are gathered up to
**   GATHER bytes per writev; the kernel copies them into the page cache.
** - direct (ST_WF_DIRECT, a bulk load): pieces are copied into a 4 KiB
**   aligned staging block and written with O_DIRECT, a whole block per
**   write. Measured on the 2-core VM this was built on: a buffered write
**   plus fdatasync of fresh data costs 2.5-2.8 s of system CPU per GB (the
**   page-cache copy into memory the host backs on first touch), O_DIRECT of
**   2 MiB files 0.08 s/GB at twice the bandwidth. Our copy into the block is
**   the price, except for a values buffer of 64 KiB or more that is page
**   aligned in memory (an adopted batch whose body flight placed so, the
**   row group starting at a page): that goes out from its own memory, at a
**   page-aligned file offset, holding a ref on its buffer until written. A
**   scan right after a bulk load reads the disk rather than the page cache. The data area then starts at a 4 KiB offset; readers
**   take every offset from the directory, so both kinds of file read alike.
**   Where the file system refuses O_DIRECT (tmpfs, some overlays), the file
**   is written buffered and later bulk writes go buffered too.
**
** With a background writer (the append's st_filesync) a full staging
** block is handed to it and the caller fills the next one, so the disk
** works while the put goes on; the header and the close follow as jobs in
** the same queue, and a failure surfaces at the append's commit.
**
** Staging blocks come from a process-wide pool, so they stay faulted in
** across files; each is owned by one writer (then its background job)
** between get and put. About STAGE_MAX exist: a writer that gets ahead of
** the disk waits for one to come back.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR ST_COL_HDR
#define ENT ST_COL_ENT
#define NBUF ST_COL_NBUF
#define PIECE ((size_t)256 << 10)
#define GATHER ((size_t)512 << 10)
#define DIO_ALIGN ((size_t)4096) /* covers 512- and 4096-byte logical blocks */
#define STAGE ((size_t)4 << 20)  /* per direct write of staged bytes (half of a default group of four 8-byte columns) */
#define STAGE_POOL 4              /* kept idle */
#define STAGE_MAX 8               /* in use at once, process-wide (32 MiB) */

static atomic_bool direct_refused; /* the data directory's file system said no once */
static atomic_bool direct_proven;  /* one direct file went out whole: later ones may go in the background */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t back;
    uint8_t *idle[STAGE_POOL];
    int n, out;
} stages = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0};

/* wait false: past STAGE_MAX if need be. A writer holding its first block
   asks so for its second; were it to wait, STAGE_MAX writers that each hold
   a first block would wait on one another for ever. */
static uint8_t *stage_get(bool wait) {
    uint8_t *p = NULL;
    pthread_mutex_lock(&stages.mu);
    while (wait && stages.out >= STAGE_MAX) pthread_cond_wait(&stages.back, &stages.mu);
    stages.out++;
    if (stages.n) p = stages.idle[--stages.n];
    pthread_mutex_unlock(&stages.mu);
    if (!p && posix_memalign((void **)&p, DIO_ALIGN, STAGE) != 0) {
        pthread_mutex_lock(&stages.mu);
        stages.out--;
        pthread_cond_signal(&stages.back);
        pthread_mutex_unlock(&stages.mu);
        p = NULL;
    }
    return p;
}

static void stage_put(uint8_t *p) {
    if (!p) return;
    pthread_mutex_lock(&stages.mu);
    stages.out--;
    pthread_cond_signal(&stages.back);
    if (stages.n < STAGE_POOL) stages.idle[stages.n++] = p, p = NULL;
    pthread_mutex_unlock(&stages.mu);
    free(p);
}

static void stage_release(void *p) { stage_put(p); }

typedef struct wbuf {
    int fd;
    bool direct;
    bool bad;
    int err; /* errno of the failure */
    /* buffered */
    struct iovec iov[64];
    int n;
    size_t bytes;
    /* direct: stage[0..used) goes to file offset at; through bg when set.
       first holds the file's first STAGE bytes (header space included) once
       a later block has begun: it goes out last, header filled in. */
    uint8_t *stage, *first;
    size_t used, first_used;
    off_t at;
    st_filesync *bg;
    const char *path;
} wbuf;

static void wfail(wbuf *w) {
    w->bad = true;
    w->err = errno ? errno : EIO;
}

static void wflush_buffered(wbuf *w) {
    int k = 0;
    while (!w->bad && k < w->n) {
        ssize_t r = writev(w->fd, w->iov + k, w->n - k);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            wfail(w);
            break;
        }
        while (k < w->n && (size_t)r >= w->iov[k].iov_len) r -= (ssize_t)w->iov[k++].iov_len;
        if (k < w->n) {
            w->iov[k].iov_base = (uint8_t *)w->iov[k].iov_base + r;
            w->iov[k].iov_len -= (size_t)r;
        }
    }
    w->n = 0;
    w->bytes = 0;
}

/* Writes stage[0..used), zero-padded to a whole block (only the file's
   last block is short). A short direct write is a failure: resuming it
   would break the alignment O_DIRECT needs. With bg the block is handed over
   to it instead, and the stage is gone. */
static void wdirect_out(wbuf *w) {
    size_t len = (w->used + DIO_ALIGN - 1) & ~(DIO_ALIGN - 1);
    memset(w->stage + w->used, 0, len - w->used);
    if (w->bg) {
        st_filesync_write(w->bg, w->fd, w->stage, len, w->at, stage_release, w->stage, w->path);
        w->stage = NULL;
    } else if (st_pwrite_whole(w->fd, w->stage, len, w->at)) {
        wfail(w);
    }
    w->used = 0;
}

/* A full stage: the first is held back for the header, later ones go out. */
static void wdirect_full(wbuf *w) {
    bool wait = true;
    if (w->at == 0 && !w->first) {
        w->first = w->stage;
        w->first_used = STAGE;
        w->stage = NULL;
        wait = false;
    } else {
        wdirect_out(w);
    }
    w->at += (off_t)STAGE;
    if (!w->stage && !(w->stage = stage_get(wait))) errno = ENOMEM, wfail(w);
    w->used = 0;
}

/* The end of a direct file: the last block, then the first with the header
   (head bytes of h) in it, so the header is the last thing written. */
static void wdirect_finish(wbuf *w, const uint8_t *h, size_t head) {
    if (!w->bad && w->first) {
        if (w->used) wdirect_out(w);
        stage_put(w->stage);
        w->stage = w->first, w->first = NULL;
        w->used = w->first_used;
        w->at = 0;
    }
    if (w->bad) return;
    memcpy(w->stage, h, head);
    wdirect_out(w);
}

static void wadd(wbuf *w, const void *p, size_t n) {
    if (!n || w->bad) return;
    if (w->direct) {
        const uint8_t *s = p;
        while (n && !w->bad) {
            size_t k = STAGE - w->used < n ? STAGE - w->used : n;
            memcpy(w->stage + w->used, s, k);
            w->used += k, s += k, n -= k;
            if (w->used == STAGE) wdirect_full(w);
        }
        return;
    }
    if (w->n == 64) wflush_buffered(w);
    w->iov[w->n++] = (struct iovec){(void *)p, n};
    w->bytes += n;
    if (w->bytes >= GATHER) wflush_buffered(w);
}

static const uint8_t zeros[DIO_ALIGN];

/* One buffer: its CRC, min/max into mm when given, the bytes queued
   (or, for a buffer written from its own memory, only looked at). */
static uint32_t wbuffer(wbuf *w, qv_type ty, const uint8_t *p, size_t n, st_stats *mm, bool queue) {
    uint32_t crc = 0;
    size_t width = mm ? (size_t)qv_type_width(ty) : 1;
    for (size_t at = 0; at < n; at += PIECE) {
        size_t k = n - at < PIECE ? n - at : PIECE;
        if (mm) st_minmax_merge(mm, ty, p + at, (int64_t)(k / width)); /* PIECE is a multiple of every width */
        crc = qv_crc32c(crc, p + at, k);
        if (queue) wadd(w, p + at, k);
    }
    if (queue) wadd(w, zeros, qv_pad64(n) - n);
    return crc;
}

/* A direct write from the caller's memory: a values buffer of an adopted
   batch, page aligned (flight places a received body so). Skips the copy
   into a stage, which was 8% of a durable put's CPU. */
#define ZC_MIN ((size_t)64 << 10)

static bool zc_values(const st_colsrc *s) {
    return s->values_buf && s->values_len >= ZC_MIN && (uintptr_t)s->values % DIO_ALIGN == 0;
}

static void unref_buffer(void *b) { qv_buffer_unref(b); }

/* Column s's values, to go at file offset off (block aligned by lay_out):
   the staged bytes before them go out (the first stage is held back for the
   header), their whole blocks are written from their own memory (a ref held
   until done), their tail is staged. */
static uint32_t wvalues_direct(wbuf *w, const st_colsrc *s, size_t off, st_stats *mm) {
    while (!w->bad && (size_t)w->at + w->used < off) {
        size_t gap = off - ((size_t)w->at + w->used);
        wadd(w, zeros, gap < DIO_ALIGN ? gap : DIO_ALIGN);
    }
    const uint8_t *p = s->values;
    size_t n = s->values_len, whole = n & ~(DIO_ALIGN - 1);
    uint32_t crc = wbuffer(w, s->type, p, n, mm, false);
    if (w->bad) return crc;
    if (w->at == 0 && !w->first) {
        w->first = w->stage, w->first_used = w->used;
        w->stage = NULL;
    } else if (w->used) {
        wdirect_out(w);
    }
    if (w->bg) {
        st_filesync_write(w->bg, w->fd, p, whole, (off_t)off, unref_buffer, qv_buffer_ref(s->values_buf), w->path);
    } else if (st_pwrite_whole(w->fd, p, whole, (off_t)off)) {
        wfail(w);
    }
    w->at = (off_t)(off + whole);
    w->used = 0;
    if (!w->stage && !(w->stage = stage_get(!w->first))) errno = ENOMEM, wfail(w);
    wadd(w, p + whole, n - whole);
    wadd(w, zeros, qv_pad64(n) - n);
    return crc;
}

/* The directory's offsets and lengths; returns the file's length. */
static size_t lay_out(uint8_t *h, size_t head, int64_t rows, int ncols, const st_colsrc *cols, bool direct) {
    size_t off = head;
    for (int c = 0; c < ncols; c++) {
        const st_colsrc *s = &cols[c];
        uint8_t *e = h + HDR + (size_t)c * ENT;
        const uint8_t *p[NBUF] = {s->validity, s->values, s->data, s->dict_off, s->dict_data};
        size_t l[NBUF] = {s->validity ? (size_t)(rows + 7) / 8 : 0, s->values_len, s->data_len, s->dict_off_len,
                          s->dict_data_len};
        for (int b = 0; b < NBUF; b++) {
            uint8_t *x = e + 32 + b * 24;
            if (!p[b]) l[b] = 0;
            if (b == 1 && direct && zc_values(s)) off = (off + DIO_ALIGN - 1) & ~(DIO_ALIGN - 1);
            st_wr_u64(x, l[b] ? off : 0);
            st_wr_u64(x + 8, l[b]);
            off += qv_pad64(l[b]);
        }
    }
    return off;
}

/* Every buffer, in directory order, then each entry's CRCs and stats. */
static void write_columns(wbuf *w, uint8_t *h, int ncols, const st_colsrc *cols) {
    for (int c = 0; c < ncols && !w->bad; c++) {
        const st_colsrc *s = &cols[c];
        uint8_t *e = h + HDR + (size_t)c * ENT;
        const uint8_t *p[NBUF] = {s->validity, s->values, s->data, s->dict_off, s->dict_data};
        st_stats st = s->stats;
        for (int b = 0; b < NBUF; b++) {
            size_t l = st_rd_u64(e + 32 + b * 24 + 8);
            st_stats *mm = b == 1 && s->minmax_out ? s->minmax_out : NULL;
            if (!l) continue;
            uint32_t crc = b == 1 && w->direct && zc_values(s)
                               ? wvalues_direct(w, s, (size_t)st_rd_u64(e + 32 + b * 24), mm)
                               : wbuffer(w, s->type, p[b], l, mm, true);
            st_wr_u32(e + 32 + b * 24 + 16, crc);
        }
        if (s->minmax_out) {
            st.has_minmax = s->minmax_out->has_minmax;
            st.has_nan = s->minmax_out->has_nan;
            st.min = s->minmax_out->min;
            st.max = s->minmax_out->max;
        }
        e[0] = (uint8_t)s->type;
        e[1] = st_stats_flags(&st);
        e[2] = s->dict_encoded;
        st_wr_u64(e + 8, (uint64_t)st.null_count);
        st_wr_u64(e + 16, (uint64_t)st.min.i);
        st_wr_u64(e + 24, (uint64_t)st.max.i);
    }
    if (!w->direct) wflush_buffered(w);
}

static void seal_header(uint8_t *h, uint64_t table_id, int64_t rg, int64_t rows, int ncols, size_t dirlen,
                        size_t len) {
    memcpy(h, st_col_magic, 8);
    st_wr_u64(h + 8, table_id);
    st_wr_u64(h + 16, (uint64_t)rg);
    st_wr_u64(h + 24, (uint64_t)rows);
    st_wr_u32(h + 32, (uint32_t)ncols);
    st_wr_u32(h + 36, qv_crc32c(0, h + HDR, dirlen));
    st_wr_u64(h + 40, len);
    st_wr_u32(h + 60, qv_crc32c(0, h, 60));
}

/* Opens path for writing; *refused when O_DIRECT was asked for and the
   file system will not take it. */
static int open_file(const char *path, bool direct, bool *refused, qv_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0644);
    if (fd < 0 && direct && errno == EINVAL) *refused = true;
    else if (fd < 0) qv_err_set(err, QV_EIO, "cannot create %s: %m", path);
    return fd;
}

/* The buffered way: data from offset head by writev, then the header. */
static void write_buffered(wbuf *w, uint8_t *h, size_t head, int ncols, const st_colsrc *cols, uint64_t table_id,
                           int64_t rg, int64_t rows, size_t len) {
    if (lseek(w->fd, (off_t)head, SEEK_SET) != (off_t)head) wfail(w);
    write_columns(w, h, ncols, cols);
    seal_header(h, table_id, rg, rows, ncols, (size_t)ncols * ENT, len);
    if (!w->bad && pwrite(w->fd, h, head, 0) != (ssize_t)head) wfail(w);
}

/* The direct way: the data area starts at a whole block, the header's
   space is the first stage's start, and the file's length is rounded up to
   a whole block (zeros after the last buffer; the header records it). */
static void write_direct(wbuf *w, uint8_t *h, size_t head, int ncols, const st_colsrc *cols, uint64_t table_id,
                         int64_t rg, int64_t rows, size_t len) {
    w->at = 0;
    w->used = head;
    if (!(w->stage = stage_get(true))) errno = ENOMEM, wfail(w);
    else memset(w->stage, 0, head);
    write_columns(w, h, ncols, cols);
    seal_header(h, table_id, rg, rows, ncols, (size_t)ncols * ENT, len);
    wdirect_finish(w, h, head);
    stage_put(w->first);
    stage_put(w->stage);
}

/* One attempt; *refused when O_DIRECT was asked for and the file system
   would not take it (nothing is left behind then; the caller goes
   buffered). With bg the direct writes and the close are jobs of bg: this
   returns once they are queued, and bg reports their errors. */
static int write_once(const char *path, uint64_t table_id, int64_t rg, int64_t rows, int ncols,
                      const st_colsrc *cols, unsigned flags, st_filesync *bg, bool *refused, int64_t *file_bytes,
                      qv_err *err) {
    bool direct = (flags & ST_WF_DIRECT) != 0;
    size_t head = qv_pad64(HDR + (size_t)ncols * ENT);
    if (direct) head = (head + DIO_ALIGN - 1) & ~(DIO_ALIGN - 1);
    uint8_t *h = qv_xcalloc(1, head);
    size_t len = lay_out(h, head, rows, ncols, cols, direct);
    if (direct) len = (len + DIO_ALIGN - 1) & ~(DIO_ALIGN - 1);
    int fd = open_file(path, direct, refused, err);
    if (fd < 0) {
        free(h);
        return *refused ? QV_EIO : err->code;
    }
    wbuf w = {.fd = fd, .direct = direct, .bg = direct ? bg : NULL, .path = path};
    if (direct) write_direct(&w, h, head, ncols, cols, table_id, rg, rows, len);
    else write_buffered(&w, h, head, ncols, cols, table_id, rg, rows, len);
    free(h);
    if (w.bg) { /* the close goes behind its writes; a failure here is reported now too */
        st_filesync_close(bg, fd, path);
        if (w.bad) {
            unlink(path);
            errno = w.err;
            return qv_err_set(err, QV_EIO, "cannot write %s: %m", path);
        }
        if (file_bytes) *file_bytes = (int64_t)len;
        return QV_OK;
    }
    if (direct && w.bad && w.err == EINVAL) { /* alignment the file system will not take */
        close(fd);
        unlink(path);
        *refused = true;
        return QV_EIO;
    }
    int rc = QV_OK;
    if (w.bad) errno = w.err, rc = qv_err_set(err, QV_EIO, "cannot write %s: %m", path);
    else if ((flags & ST_WF_SYNC) && fdatasync(fd) != 0) rc = qv_err_set(err, QV_EIO, "cannot fsync %s: %m", path);
    else if (!(flags & ST_WF_SYNC) && !direct) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* start writeback */
    close(fd);
    if (rc) unlink(path);
    else if (file_bytes) *file_bytes = (int64_t)len;
    return rc;
}

int st_colfile_write(const char *path, uint64_t table_id, int64_t rg, int64_t rows, int ncols,
                     const st_colsrc *cols, unsigned flags, st_filesync *bg, int64_t *file_bytes, qv_err *err) {
    if (atomic_load(&direct_refused)) flags &= ~(unsigned)ST_WF_DIRECT;
    if (!atomic_load(&direct_proven)) bg = NULL; /* the first direct file is checked whole, here */
    bool refused = false;
    int rc = write_once(path, table_id, rg, rows, ncols, cols, flags, bg, &refused, file_bytes, err);
    if (!refused) {
        if (rc == QV_OK && (flags & ST_WF_DIRECT)) atomic_store(&direct_proven, true);
        return rc;
    }
    if (!atomic_exchange(&direct_refused, true))
        QV_INFO("the data directory does not take O_DIRECT writes; bulk loads go through the page cache");
    /* min/max merge again to the same result; the CRCs are recomputed */
    return write_once(path, table_id, rg, rows, ncols, cols, flags & ~(unsigned)ST_WF_DIRECT, NULL, &refused,
                      file_bytes, err);
}
