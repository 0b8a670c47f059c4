/* The context's worker pool: `threads` pthreads wait for tasks on one queue.
   sql_pool_run() submits a group of tasks and blocks until all of them have
   run; it is called from query threads (never from a pool task), so a
   waiting caller never holds a worker. Owned by sql_ctx. */
#include "exec.h"

#include <stdlib.h>

typedef struct task_group {
    int left;
    pthread_cond_t done;
} task_group;

typedef struct task {
    void (*fn)(void *);
    void *arg;
    task_group *g;
    struct task *next;
} task;

struct sql_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task *head, *tail;
    bool stop;
    int n;
    pthread_t *th;
};

static _Thread_local bool in_task;

bool sql_pool_in_task(void) { return in_task; }

static void *worker(void *arg) {
    sql_pool *p = arg;
    in_task = true;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        if (!p->head) break;
        task *t = p->head;
        p->head = t->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        t->fn(t->arg);
        pthread_mutex_lock(&p->mu);
        if (--t->g->left == 0) pthread_cond_broadcast(&t->g->done);
        free(t);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

sql_pool *sql_pool_new(int n) {
    sql_pool *p = qv_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->th = qv_xcalloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->th[i], NULL, worker, p)) break;
        p->n++;
    }
    return p;
}

void sql_pool_free(sql_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n; i++) pthread_join(p->th[i], NULL);
    free(p->th);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void sql_pool_run(sql_pool *p, int n, void (*fn)(void *), void **args, size_t unused) {
    (void)unused;
    if (!p || p->n == 0) {
        for (int i = 0; i < n; i++) fn(args[i]);
        return;
    }
    task_group g = {.left = n};
    pthread_cond_init(&g.done, NULL);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < n; i++) {
        task *t = qv_xcalloc(1, sizeof *t);
        t->fn = fn;
        t->arg = args[i];
        t->g = &g;
        if (p->tail) p->tail->next = t;
        else p->head = t;
        p->tail = t;
    }
    pthread_cond_broadcast(&p->cv);
    while (g.left > 0) pthread_cond_wait(&g.done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&g.done);
}
