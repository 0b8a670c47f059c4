/*
** Background disk work for the column files a streaming append writes, so a
** put's writes and flushes overlap the receiving of its next batches and the
** commit waits only for the last few (then logs its record). One per
** append. Jobs run in the order added: fdatasync of a path, and for files
** written with O_DIRECT (colwrite.c) a block write from a staging buffer
** (released after), then the file's close; a sync asked for while that
** close is still queued runs in it, on the open descriptor. Its thread
** starts on the first write or the second sync (a one-file append syncs at
** its commit, on the caller's thread); a write with no thread runs at once,
** on the caller's.
** A caller queuing writes faster than the disk takes them waits in
** st_filesync_write once ST_FILESYNC_PENDING_MAX bytes are queued, so what
** it holds for them (a received batch's memory) stays bounded.
**
** States: idle (no thread; st_filesync_wait runs the syncs inline) ->
** running (a thread draining the queue) -> stopped (st_filesync_free joined
** it). mu guards the queue, the counters and the first error; the thread
** does its I/O outside it. st_filesync_wait returns once every job added so
** far is done (or failed): a caller that unlinks files waits or drops
** first, so no job races it. A dropped write still releases its buffer and
** closes its file.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { JOB_SYNC, JOB_WRITE, JOB_CLOSE } fs_kind;

typedef struct fs_job {
    fs_kind kind;
    char *path;
    int fd;                 /* JOB_WRITE, JOB_CLOSE */
    const uint8_t *buf;     /* JOB_WRITE: len bytes for offset off, then release(ctx) */
    size_t len;
    off_t off;
    bool sync;              /* JOB_CLOSE: fdatasync first (a sync of its path folded in) */
    void (*release)(void *);
    void *ctx;
} fs_job;

struct st_filesync {
    pthread_mutex_t mu;
    pthread_cond_t more, done;
    pthread_t thread;
    bool started, stop;
    fs_job *jobs;
    int n, cap, head; /* queue: jobs[head..n) */
    int64_t added, synced;
    size_t pending; /* bytes of queued writes not yet done */
    int rc;
    char why[ST_PATH_MAX + 64];
};

int st_pwrite_whole(int fd, const void *p, size_t n, off_t off) {
    ssize_t r;
    do r = pwrite(fd, p, n, off);
    while (r < 0 && errno == EINTR);
    if (r >= 0 && r != (ssize_t)n) errno = ENOSPC; /* a short O_DIRECT write cannot be resumed */
    return r == (ssize_t)n ? 0 : -1;
}

/* The job's I/O; returns 0 or fills why. */
static int job_run(fs_job *j, char *why, size_t cap) {
    int rc = 0;
    switch (j->kind) {
    case JOB_SYNC: {
        int fd = open(j->path, O_RDONLY | O_CLOEXEC);
        rc = fd < 0 ? -1 : fdatasync(fd);
        if (rc != 0) snprintf(why, cap, "cannot fsync %s: %m", j->path);
        if (fd >= 0) close(fd);
        break;
    }
    case JOB_WRITE:
        if ((rc = st_pwrite_whole(j->fd, j->buf, j->len, j->off))) snprintf(why, cap, "cannot write %s: %m", j->path);
        break;
    case JOB_CLOSE:
        if (j->sync && fdatasync(j->fd) != 0) rc = -1, snprintf(why, cap, "cannot fsync %s: %m", j->path);
        break;
    }
    return rc;
}

/* Whatever the job holds, run or not. */
static void job_release(fs_job *j) {
    if (j->kind == JOB_WRITE && j->release) j->release(j->ctx);
    if (j->kind == JOB_CLOSE) close(j->fd);
    free(j->path);
}

/* mu held: the first error is kept */
static void job_done_locked(st_filesync *s, int rc, const char *why) {
    if (rc != 0 && s->rc == QV_OK) {
        s->rc = QV_EIO;
        snprintf(s->why, sizeof s->why, "%s", why);
    }
    s->synced++;
    pthread_cond_broadcast(&s->done);
}

static void *sync_main(void *arg) {
    st_filesync *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->head == s->n && !s->stop) pthread_cond_wait(&s->more, &s->mu);
        if (s->head == s->n) break;
        fs_job j = s->jobs[s->head++];
        pthread_mutex_unlock(&s->mu);
        char why[sizeof s->why];
        int rc = job_run(&j, why, sizeof why);
        job_release(&j);
        pthread_mutex_lock(&s->mu);
        if (j.kind == JOB_WRITE) s->pending -= j.len;
        job_done_locked(s, rc, why);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

st_filesync *st_filesync_new(void) {
    st_filesync *s = qv_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->more, NULL);
    pthread_cond_init(&s->done, NULL);
    return s;
}

/* mu held, no thread: run the queued jobs here, in order. */
static void sync_inline_locked(st_filesync *s) {
    while (s->head < s->n) {
        fs_job j = s->jobs[s->head++];
        char why[sizeof s->why];
        int rc = job_run(&j, why, sizeof why);
        job_release(&j);
        job_done_locked(s, rc, why);
    }
}

static void add_job(st_filesync *s, fs_job j) {
    pthread_mutex_lock(&s->mu);
    if (s->head == s->n) s->head = s->n = 0; /* drained: reuse the array from the start */
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->jobs = qv_xrealloc(s->jobs, sizeof(fs_job) * (size_t)s->cap);
    }
    s->jobs[s->n++] = j;
    s->added++;
    /* A small append (one file) syncs at its commit, as before: the thread
       pays off from the second file on, or from the first write. */
    if (!s->started && (s->added >= 2 || j.kind != JOB_SYNC))
        s->started = pthread_create(&s->thread, NULL, sync_main, s) == 0;
    if (!s->started && j.kind != JOB_SYNC) sync_inline_locked(s); /* its buffer must come back now */
    else if (j.kind == JOB_WRITE) s->pending += j.len;
    pthread_cond_signal(&s->more);
    /* A writer ahead of the disk waits here rather than holding more of
       what it received: writes from a batch's own memory keep that memory
       (a 32 MiB receive block for a 1M-row batch) until done. */
    while (s->started && s->pending > ST_FILESYNC_PENDING_MAX && s->rc == QV_OK) pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void st_filesync_add(st_filesync *s, const char *path) {
    /* The file's close still queued: sync on that descriptor instead of
       reopening the path (an open per direct-written file saved). */
    pthread_mutex_lock(&s->mu);
    fs_job *last = s->head < s->n ? &s->jobs[s->n - 1] : NULL;
    bool folded = last && last->kind == JOB_CLOSE && !last->sync && !strcmp(last->path, path);
    if (folded) last->sync = true;
    pthread_mutex_unlock(&s->mu);
    if (!folded) add_job(s, (fs_job){.kind = JOB_SYNC, .path = qv_xstrdup(path), .fd = -1});
}

void st_filesync_write(st_filesync *s, int fd, const uint8_t *buf, size_t len, off_t off, void (*release)(void *),
                       void *ctx, const char *path) {
    add_job(s, (fs_job){.kind = JOB_WRITE, .path = qv_xstrdup(path), .fd = fd, .buf = buf, .len = len, .off = off,
                        .release = release, .ctx = ctx});
}

void st_filesync_close(st_filesync *s, int fd, const char *path) {
    add_job(s, (fs_job){.kind = JOB_CLOSE, .path = qv_xstrdup(path), .fd = fd});
}

int st_filesync_wait(st_filesync *s, qv_err *err) {
    if (!s) return QV_OK;
    pthread_mutex_lock(&s->mu);
    if (!s->started) sync_inline_locked(s);
    while (s->synced < s->added) pthread_cond_wait(&s->done, &s->mu);
    int rc = s->rc;
    if (rc) qv_err_set(err, rc, "%s", s->why);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void st_filesync_drop(st_filesync *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    for (; s->head < s->n; s->head++) { /* not run: their files are about to go */
        if (s->jobs[s->head].kind == JOB_WRITE) s->pending -= s->jobs[s->head].len;
        job_release(&s->jobs[s->head]);
        s->synced++;
    }
    while (s->synced < s->added) pthread_cond_wait(&s->done, &s->mu); /* the one in hand */
    pthread_mutex_unlock(&s->mu);
}

void st_filesync_free(st_filesync *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->mu);
    if (s->started) pthread_join(s->thread, NULL);
    for (int i = s->head; i < s->n; i++) job_release(&s->jobs[i]);
    free(s->jobs);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->done);
    free(s);
}
