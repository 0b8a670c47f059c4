/*
** A process-wide pool of helper threads for body compression: the encoder of
** one message hands its buffers out as items of a job, the calling thread
** works on them too, and returns when all are done. Several encoders (one
** per stream) may run jobs at once; helpers take items from the oldest job.
**
** States: the pool starts on first use (min(cores, 16) - 1 helpers; none on
** one core, then every job runs on its caller) and lives until the process
** ends. A job lives on its caller's stack: it is queued until every item is
** claimed, and the caller returns only when every item is finished and no
** helper still holds the job (job->active == 0), all under pool.mu.
*/
#include "ipc_int.h"

#include <pthread.h>

#define MAX_HELPERS 15

typedef struct job {
    void (*fn)(void *ctx, int i);
    void *ctx;
    int n, next, done, active;
    struct job *qnext;
} job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, finished;
    job *head, *tail;
    int helpers;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void dequeue(job *j) { /* pool.mu held; j is the head once fully claimed */
    job **pp = &pool.head, *prev = NULL;
    while (*pp && *pp != j) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp) return;
    *pp = j->qnext;
    if (pool.tail == j) pool.tail = prev;
}

/* Claim and run items of j until none are left; pool.mu held on entry and exit. */
static void work_on(job *j) {
    while (j->next < j->n) {
        int i = j->next++;
        if (j->next == j->n) dequeue(j);
        pthread_mutex_unlock(&pool.mu);
        j->fn(j->ctx, i);
        pthread_mutex_lock(&pool.mu);
        if (++j->done == j->n) pthread_cond_broadcast(&pool.finished);
    }
}

static void *helper_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (!pool.head) pthread_cond_wait(&pool.work, &pool.mu);
        job *j = pool.head;
        j->active++;
        work_on(j);
        if (--j->active == 0) pthread_cond_broadcast(&pool.finished);
    }
    return NULL;
}

static void pool_start(void) {
    int n = qv_cpu_count() - 1;
    if (n > MAX_HELPERS) n = MAX_HELPERS;
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, helper_main, NULL) == 0) pool.helpers++;
        pthread_attr_destroy(&at);
    }
}

void ipc_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx) {
    if (n <= 0) return;
    pthread_once(&pool_once, pool_start);
    if (n == 1 || pool.helpers == 0) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    job j = {.fn = fn, .ctx = ctx, .n = n};
    pthread_mutex_lock(&pool.mu);
    if (pool.tail) pool.tail->qnext = &j;
    else pool.head = &j;
    pool.tail = &j;
    pthread_cond_broadcast(&pool.work);
    work_on(&j);
    while (j.done < j.n || j.active > 0) pthread_cond_wait(&pool.finished, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
}
