/*
** Background fdatasync of the column files a streaming append writes, so a
** put's disk flushes overlap the receiving of its next batches and the
** commit waits only for the last few (then logs its record). One per
** append, its thread started on the second file (a one-file append syncs
** at its commit, on the caller's thread).
**
** States: idle (no thread; st_filesync_wait syncs inline) -> running (a thread draining the queue of
** paths in order) -> stopped (st_filesync_free joined it). mu guards the
** queue, the counters and the first error; the thread fsyncs outside it.
** st_filesync_wait returns once every path added so far is synced (or
** failed): a caller that unlinks files waits first, so no sync races it.
*/
#include "st_int.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct st_filesync {
    pthread_mutex_t mu;
    pthread_cond_t more, done;
    pthread_t thread;
    bool started, stop;
    char **paths;
    int n, cap, head; /* queue: paths[head..n) */
    int64_t added, synced;
    int rc;
    char why[ST_PATH_MAX + 64];
};

static void *sync_main(void *arg) {
    st_filesync *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->head == s->n && !s->stop) pthread_cond_wait(&s->more, &s->mu);
        if (s->head == s->n) break;
        char *path = s->paths[s->head++];
        pthread_mutex_unlock(&s->mu);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int rc = fd < 0 ? -1 : fdatasync(fd);
        char why[sizeof s->why];
        if (rc != 0) snprintf(why, sizeof why, "cannot fsync %s: %m", path);
        if (fd >= 0) close(fd);
        free(path);
        pthread_mutex_lock(&s->mu);
        if (rc != 0 && s->rc == QV_OK) {
            s->rc = QV_EIO;
            memcpy(s->why, why, sizeof why);
        }
        s->synced++;
        pthread_cond_broadcast(&s->done);
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

/* mu held, no thread: sync the queued paths here, in order. */
static void sync_inline_locked(st_filesync *s) {
    while (s->head < s->n) {
        char *path = s->paths[s->head++];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int rc = fd < 0 ? -1 : fdatasync(fd);
        if (rc != 0 && s->rc == QV_OK) {
            s->rc = QV_EIO;
            snprintf(s->why, sizeof s->why, "cannot fsync %s: %m", path);
        }
        if (fd >= 0) close(fd);
        free(path);
        s->synced++;
    }
}

void st_filesync_add(st_filesync *s, const char *path) {
    pthread_mutex_lock(&s->mu);
    if (s->head == s->n) s->head = s->n = 0; /* drained: reuse the array from the start */
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->paths = qv_xrealloc(s->paths, sizeof(char *) * (size_t)s->cap);
    }
    s->paths[s->n++] = qv_xstrdup(path);
    s->added++;
    /* A small append (one file) syncs at its commit, as before: the thread
       pays off from the second file on. */
    if (!s->started && s->added >= 2) s->started = pthread_create(&s->thread, NULL, sync_main, s) == 0;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->mu);
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
    for (; s->head < s->n; s->head++) { /* not synced: their files are about to go */
        free(s->paths[s->head]);
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
    for (int i = s->head; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->done);
    free(s);
}
