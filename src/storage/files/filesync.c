/*
** Background disk work for the column files a streaming append writes, so a
** put's writes and flushes overlap the receiving of its next batches and the
** commit waits only for the last few (then logs its record). One per
** append, with FS_LANES threads (lanes): a file's jobs run in the order
** added, in one lane; different files' run side by side. Jobs: fdatasync of
** a path, and for files written with O_DIRECT (colwrite.c) a block write
** from a staging buffer (released after), then the file's close; a sync
** asked for while that close is still queued runs in it, on the open
** descriptor. The lanes start on the first write or the second sync (a
** one-file append syncs at its commit, on the caller's thread); a write
** with no lane running runs at once, on the caller's.
** A caller queuing writes faster than the disk takes them waits in
** st_filesync_write once ST_FILESYNC_PENDING_MAX bytes are queued, so what
** it holds for them (a received batch's memory) stays bounded.
**
** States: idle (no lane; st_filesync_wait runs the syncs inline) ->
** running (the lanes drain their queues) -> stopped (st_filesync_free
** joined them). mu guards the queues, the counters and the first error;
** the lanes do their I/O outside it. st_filesync_wait returns once every
** job added so far is done (or failed): a caller that unlinks files waits
** or drops first, so no job races it. A dropped write still releases its
** buffer and closes its file.
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

/* One thread and its queue. A file's jobs go to the lane already holding
   one of them (queued, or in hand until released), so they run in order;
   a file with none goes to the lane with the fewest bytes queued. Several
   lanes keep several files' writes and flushes in flight: on this
   project's 2-core VM, 8 MiB files of 2 MiB O_DIRECT writes and an
   fdatasync each went at 1566, 1661 and 1722 MiB/s from one, two and three
   threads (medians of 6), and durable 10M-row puts at 1034 MB/s with one
   lane and a 16 MiB bound against 1254 with three and 24 MiB (medians of 6
   interleaved; four lanes and 32 MiB were no faster). */
#define FS_LANES 3

typedef struct fs_lane {
    fs_job *jobs;
    int n, cap, head;   /* queue: jobs[head..n) */
    const char *busy;   /* the path of the job in hand, until it is released */
    size_t pending;     /* bytes of this lane's queued writes not yet done */
    pthread_t thread;
    bool started;
    struct st_filesync *s;
} fs_lane;

struct st_filesync {
    pthread_mutex_t mu;
    pthread_cond_t more, done;
    fs_lane lane[FS_LANES];
    int nlanes;         /* threads started: 0 (jobs run inline) .. FS_LANES */
    bool stop;
    int64_t added, synced;
    size_t pending; /* bytes of queued writes not yet done, all lanes */
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

/* Whatever the job holds, run or not (its path stays: the caller frees it). */
static void job_release(fs_job *j) {
    if (j->kind == JOB_WRITE && j->release) j->release(j->ctx);
    if (j->kind == JOB_CLOSE) close(j->fd);
}

/* mu held: the job's bytes leave the bounds, the first error is kept */
static void job_done_locked(st_filesync *s, fs_lane *l, const fs_job *j, int rc, const char *why) {
    if (j->kind == JOB_WRITE) s->pending -= j->len, l->pending -= j->len;
    if (rc != 0 && s->rc == QV_OK) {
        s->rc = QV_EIO;
        snprintf(s->why, sizeof s->why, "%s", why);
    }
    s->synced++;
    pthread_cond_broadcast(&s->done);
}

static void *lane_main(void *arg) {
    fs_lane *l = arg;
    st_filesync *s = l->s;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (l->head == l->n && !s->stop) pthread_cond_wait(&s->more, &s->mu);
        if (l->head == l->n) break;
        fs_job j = l->jobs[l->head++];
        if (l->head == l->n) l->head = l->n = 0; /* drained: reuse the array from the start */
        l->busy = j.path;
        pthread_mutex_unlock(&s->mu);
        char why[sizeof s->why];
        int rc = job_run(&j, why, sizeof why);
        job_release(&j);
        pthread_mutex_lock(&s->mu);
        l->busy = NULL;
        job_done_locked(s, l, &j, rc, why);
        free(j.path);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

st_filesync *st_filesync_new(void) {
    st_filesync *s = qv_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->more, NULL);
    pthread_cond_init(&s->done, NULL);
    for (int i = 0; i < FS_LANES; i++) s->lane[i].s = s;
    return s;
}

/* mu held, no thread: run the queued jobs here (one lane at a time: a
   file's jobs are all in one, in order). */
static void sync_inline_locked(st_filesync *s) {
    for (int i = 0; i < FS_LANES; i++) {
        fs_lane *l = &s->lane[i];
        while (l->head < l->n) {
            fs_job j = l->jobs[l->head++];
            char why[sizeof s->why];
            int rc = job_run(&j, why, sizeof why);
            job_release(&j);
            job_done_locked(s, l, &j, rc, why);
            free(j.path);
        }
        l->head = l->n = 0;
    }
}

/* mu held: the lane path's earlier jobs are in, else the least loaded one. */
static fs_lane *lane_for(st_filesync *s, const char *path) {
    int nl = s->nlanes ? s->nlanes : 1;
    for (int i = 0; i < nl; i++) {
        fs_lane *l = &s->lane[i];
        if (l->busy && !strcmp(l->busy, path)) return l;
        for (int k = l->head; k < l->n; k++)
            if (!strcmp(l->jobs[k].path, path)) return l;
    }
    fs_lane *best = &s->lane[0];
    for (int i = 1; i < nl; i++) {
        fs_lane *l = &s->lane[i];
        if (l->pending < best->pending || (l->pending == best->pending && l->n - l->head < best->n - best->head))
            best = l;
    }
    return best;
}

/* mu held: the lanes' threads, from the first write or the second sync on
   (a small append of one file syncs at its commit, on the caller's). */
static void lanes_start_locked(st_filesync *s, fs_kind kind) {
    if (s->nlanes || (s->added < 2 && kind == JOB_SYNC)) return;
    while (s->nlanes < FS_LANES) {
        fs_lane *l = &s->lane[s->nlanes];
        if (pthread_create(&l->thread, NULL, lane_main, l) != 0) break;
        l->started = true;
        s->nlanes++;
    }
}

static void add_job(st_filesync *s, fs_job j) {
    pthread_mutex_lock(&s->mu);
    s->added++;
    lanes_start_locked(s, j.kind);
    fs_lane *l = lane_for(s, j.path);
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->jobs = qv_xrealloc(l->jobs, sizeof(fs_job) * (size_t)l->cap);
    }
    l->jobs[l->n++] = j;
    if (j.kind == JOB_WRITE) s->pending += j.len, l->pending += j.len;
    if (!s->nlanes && j.kind != JOB_SYNC) sync_inline_locked(s); /* its buffer must come back now */
    pthread_cond_broadcast(&s->more);
    /* A writer ahead of the disk waits here rather than holding more of
       what it received: writes from a batch's own memory keep that memory
       (a 32 MiB receive block for a 1M-row batch) until done. */
    while (s->nlanes && s->pending > ST_FILESYNC_PENDING_MAX && s->rc == QV_OK) pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void st_filesync_add(st_filesync *s, const char *path) {
    /* The file's close still queued: sync on that descriptor instead of
       reopening the path (an open per direct-written file saved). */
    pthread_mutex_lock(&s->mu);
    fs_lane *l = lane_for(s, path);
    fs_job *last = l->head < l->n ? &l->jobs[l->n - 1] : NULL;
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
    if (!s->nlanes) sync_inline_locked(s);
    while (s->synced < s->added) pthread_cond_wait(&s->done, &s->mu);
    int rc = s->rc;
    if (rc) qv_err_set(err, rc, "%s", s->why);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void st_filesync_drop(st_filesync *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < FS_LANES; i++) { /* not run: their files are about to go */
        fs_lane *l = &s->lane[i];
        for (; l->head < l->n; l->head++) {
            fs_job *j = &l->jobs[l->head];
            job_release(j);
            job_done_locked(s, l, j, 0, "");
            free(j->path);
        }
        l->head = l->n = 0;
    }
    while (s->synced < s->added) pthread_cond_wait(&s->done, &s->mu); /* the ones in hand */
    pthread_mutex_unlock(&s->mu);
}

void st_filesync_free(st_filesync *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->more);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < FS_LANES; i++) {
        fs_lane *l = &s->lane[i];
        if (l->started) pthread_join(l->thread, NULL);
        for (int k = l->head; k < l->n; k++) {
            job_release(&l->jobs[k]);
            free(l->jobs[k].path);
        }
        free(l->jobs);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->done);
    free(s);
}
