/*
** Admission control, the query runners, query timeouts and per-RPC latency.
**
** State (all under sc->mu): `running` slots taken (<= max_running);
** `admit` FIFO of tasks waiting for a slot (<= max_queued); `runq` of
** tasks to run now (their query holds a slot). A task moves
**   admit FIFO --(a slot frees: running++)--> runq --(a runner)--> run()
** or straight to runq when a slot is free at admission. eng_sched_release
** frees a slot and promotes the FIFO's head. The runners are max_running
** threads; a query with a slot has at most one task outstanding and HTTP
** queries hold slots without tasks, so a runnable task finds a free runner.
**
** Runners (and the SQL pool's workers, started from a thread at the same
** niceness so they inherit it: eng_sched_start_niced) run at QUERY_NICE: on
** a busy machine the completion-queue and HTTP threads that answer pings and
** health checks get the CPU first, and queries take what is left.
**
** The watchdog thread cancels queries whose deadline passed (the `watched`
** list of queries with a deadline, under sc->mu) every WATCH_MS; the query
** then ends with QV_ETIMEOUT (engine.c). Owned by the eng.
*/
#include "engine_int.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WATCH_MS 10
#define QUERY_NICE 10

/* Lower the calling thread's priority (Linux: niceness is per thread). */
static void nice_this_thread(void) {
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), QUERY_NICE) != 0)
        QV_DEBUG("engine: could not lower a query thread's priority");
}

typedef struct niced_call {
    void (*fn)(void *);
    void *arg;
} niced_call;

static void *niced_main(void *arg) {
    niced_call *nc = arg;
    nice_this_thread();
    nc->fn(nc->arg);
    return NULL;
}

void eng_sched_start_niced(void (*fn)(void *), void *arg) {
    niced_call nc = {fn, arg};
    pthread_t t;
    if (pthread_create(&t, NULL, niced_main, &nc) != 0) {
        fn(arg); /* not expected; run it here at normal priority */
        return;
    }
    pthread_join(t, NULL);
}
enum { W_NONE, W_ADMIT, W_RUNQ };

typedef struct rpc_hist {
    char name[32];
    atomic_llong buckets[12], count, sum_us;
} rpc_hist;

struct eng_sched {
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* runners: runq non-empty or stop */
    pthread_cond_t watch_cv;  /* watchdog: stop */
    eng_task *runq, *runq_tail, *admit, *admit_tail;
    int running, queued, max_running, max_queued;
    bool stop;
    pthread_t *runners, watchdog;
    int nrunners;
    bool watchdog_started;
    eng_query *watched;
    rpc_hist rpc[ENG_RPC_MAX];
    atomic_int nrpc;
    pthread_mutex_t rpc_mu;
};

static void runq_push(eng_sched *sc, eng_task *t) {
    t->next = NULL;
    t->where = W_RUNQ;
    if (sc->runq_tail) sc->runq_tail->next = t;
    else sc->runq = t;
    sc->runq_tail = t;
    pthread_cond_signal(&sc->cv);
}

static void *runner_main(void *arg) {
    eng_sched *sc = arg;
    nice_this_thread();
    pthread_mutex_lock(&sc->mu);
    for (;;) {
        while (!sc->runq && !sc->stop) pthread_cond_wait(&sc->cv, &sc->mu);
        if (!sc->runq) break;
        eng_task *t = sc->runq;
        sc->runq = t->next;
        if (!sc->runq) sc->runq_tail = NULL;
        t->where = W_NONE;
        pthread_mutex_unlock(&sc->mu);
        t->run(t);
        pthread_mutex_lock(&sc->mu);
    }
    pthread_mutex_unlock(&sc->mu);
    return NULL;
}

static void *watchdog_main(void *arg) {
    eng_sched *sc = arg;
    pthread_mutex_lock(&sc->mu);
    while (!sc->stop) {
        int64_t now = qv_monotonic_ns();
        for (eng_query *q = sc->watched; q; q = q->wnext)
            if (!q->timed_out && q->deadline_ns && now >= q->deadline_ns) {
                q->timed_out = true;
                eng_query_cancel(q);
            }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += WATCH_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&sc->watch_cv, &sc->mu, &ts);
    }
    pthread_mutex_unlock(&sc->mu);
    return NULL;
}

eng_sched *eng_sched_new(int threads, const eng_options *o) {
    eng_sched *sc = qv_xcalloc(1, sizeof *sc);
    pthread_mutex_init(&sc->mu, NULL);
    pthread_mutex_init(&sc->rpc_mu, NULL);
    pthread_cond_init(&sc->cv, NULL);
    pthread_cond_init(&sc->watch_cv, NULL);
    sc->max_running = o->max_running > 0 ? o->max_running : 2 * threads;
    sc->max_queued = o->max_queued > 0 ? o->max_queued : o->max_queued < 0 ? 0 : 4 * sc->max_running;
    sc->runners = qv_xcalloc((size_t)sc->max_running, sizeof *sc->runners);
    for (int i = 0; i < sc->max_running; i++) {
        if (pthread_create(&sc->runners[i], NULL, runner_main, sc)) break;
        sc->nrunners++;
    }
    sc->watchdog_started = pthread_create(&sc->watchdog, NULL, watchdog_main, sc) == 0;
    return sc;
}

void eng_sched_free(eng_sched *sc) {
    if (!sc) return;
    pthread_mutex_lock(&sc->mu);
    sc->stop = true;
    pthread_cond_broadcast(&sc->cv);
    pthread_cond_broadcast(&sc->watch_cv);
    pthread_mutex_unlock(&sc->mu);
    for (int i = 0; i < sc->nrunners; i++) pthread_join(sc->runners[i], NULL);
    if (sc->watchdog_started) pthread_join(sc->watchdog, NULL);
    free(sc->runners);
    pthread_mutex_destroy(&sc->mu);
    pthread_mutex_destroy(&sc->rpc_mu);
    pthread_cond_destroy(&sc->cv);
    pthread_cond_destroy(&sc->watch_cv);
    free(sc);
}

static int busy(eng *e, eng_sched *sc, qv_err *err) {
    atomic_fetch_add(&e->metrics.refusals[ENG_REFUSE_BUSY], 1);
    return qv_err_set(err, QV_EBUSY, "server busy: %d running, %d queued (--max-running-queries %d, "
                      "--max-queued-queries %d); retry later", sc->running, sc->queued, sc->max_running,
                      sc->max_queued);
}

int eng_sched_admit(eng *e, eng_task *t, qv_err *err) {
    eng_sched *sc = e->sched;
    int rc = QV_OK;
    pthread_mutex_lock(&sc->mu);
    if (sc->stop) {
        rc = qv_err_set(err, QV_ECANCELLED, "server shutting down");
    } else if (sc->running < sc->max_running && !sc->admit) {
        sc->running++;
        runq_push(sc, t);
    } else if (sc->queued < sc->max_queued || t->requeue) {
        t->next = NULL;
        t->where = W_ADMIT;
        if (sc->admit_tail) sc->admit_tail->next = t;
        else sc->admit = t;
        sc->admit_tail = t;
        sc->queued++;
    } else {
        rc = busy(e, sc, err);
    }
    pthread_mutex_unlock(&sc->mu);
    return rc;
}

void eng_sched_run(eng *e, eng_task *t) {
    eng_sched *sc = e->sched;
    pthread_mutex_lock(&sc->mu);
    runq_push(sc, t);
    pthread_mutex_unlock(&sc->mu);
}

bool eng_sched_withdraw(eng *e, eng_task *t) {
    eng_sched *sc = e->sched;
    bool found = false;
    pthread_mutex_lock(&sc->mu);
    if (t->where == W_ADMIT) {
        eng_task *prev = NULL;
        for (eng_task *x = sc->admit; x; prev = x, x = x->next)
            if (x == t) {
                if (prev) prev->next = t->next;
                else sc->admit = t->next;
                if (sc->admit_tail == t) sc->admit_tail = prev;
                sc->queued--;
                t->where = W_NONE;
                found = true;
                break;
            }
    }
    pthread_mutex_unlock(&sc->mu);
    return found;
}

void eng_sched_release(eng *e) {
    eng_sched *sc = e->sched;
    pthread_mutex_lock(&sc->mu);
    sc->running--;
    while (sc->admit && sc->running < sc->max_running) {
        eng_task *t = sc->admit;
        sc->admit = t->next;
        if (!sc->admit) sc->admit_tail = NULL;
        sc->queued--;
        sc->running++;
        runq_push(sc, t);
    }
    pthread_mutex_unlock(&sc->mu);
}

/* ---- blocking admission (HTTP): the task's run() wakes the waiting thread ---- */

typedef struct waiter {
    eng_task t;
    eng_sched *sc;
    bool admitted;
    pthread_cond_t cv;
} waiter;

static void waiter_run(eng_task *t) {
    waiter *w = (waiter *)t;
    pthread_mutex_lock(&w->sc->mu);
    w->admitted = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->sc->mu);
}

int eng_sched_admit_wait(eng *e, qv_err *err) {
    eng_sched *sc = e->sched;
    pthread_mutex_lock(&sc->mu);
    if (sc->running < sc->max_running && !sc->admit && !sc->stop) {
        sc->running++;
        pthread_mutex_unlock(&sc->mu);
        return QV_OK;
    }
    pthread_mutex_unlock(&sc->mu);
    waiter w = {.t = {.run = waiter_run}, .sc = sc};
    pthread_cond_init(&w.cv, NULL);
    int rc = eng_sched_admit(e, &w.t, err);
    if (rc == QV_OK) {
        pthread_mutex_lock(&sc->mu);
        while (!w.admitted && !sc->stop) pthread_cond_wait(&w.cv, &sc->mu);
        bool admitted = w.admitted;
        pthread_mutex_unlock(&sc->mu);
        if (!admitted && !eng_sched_withdraw(e, &w.t)) {
            /* promoted just as we stopped: wait for the runner to say so */
            pthread_mutex_lock(&sc->mu);
            while (!w.admitted) pthread_cond_wait(&w.cv, &sc->mu);
            pthread_mutex_unlock(&sc->mu);
            admitted = true;
        }
        if (!admitted) rc = qv_err_set(err, QV_ECANCELLED, "server shutting down");
        /* the runner's waiter_run has returned the lock; nothing touches w after */
        pthread_mutex_lock(&sc->mu);
        pthread_mutex_unlock(&sc->mu);
    }
    pthread_cond_destroy(&w.cv);
    return rc;
}

void eng_sched_counts(eng *e, int *running, int *queued) {
    eng_sched *sc = e->sched;
    pthread_mutex_lock(&sc->mu);
    *running = sc->running;
    *queued = sc->queued;
    pthread_mutex_unlock(&sc->mu);
}

/* ---- deadlines ---- */

void eng_sched_watch(eng *e, eng_query *q, int64_t deadline_ns) {
    eng_sched *sc = e->sched;
    pthread_mutex_lock(&sc->mu);
    if (!q->deadline_ns || deadline_ns < q->deadline_ns) q->deadline_ns = deadline_ns;
    if (!q->watched) {
        q->watched = true;
        q->wprev = NULL;
        q->wnext = sc->watched;
        if (sc->watched) sc->watched->wprev = q;
        sc->watched = q;
    }
    pthread_mutex_unlock(&sc->mu);
}

void eng_sched_unwatch(eng *e, eng_query *q) {
    eng_sched *sc = e->sched;
    pthread_mutex_lock(&sc->mu);
    if (q->watched) {
        if (q->wprev) q->wprev->wnext = q->wnext;
        else sc->watched = q->wnext;
        if (q->wnext) q->wnext->wprev = q->wprev;
        q->watched = false;
    }
    pthread_mutex_unlock(&sc->mu);
}

/* ---- per-RPC latency ---- */

void eng_rpc_observe(eng *e, const char *name, int64_t ns) {
    eng_sched *sc = e->sched;
    int n = atomic_load(&sc->nrpc), i;
    for (i = 0; i < n; i++)
        if (strcmp(sc->rpc[i].name, name) == 0) break;
    if (i == n) {
        pthread_mutex_lock(&sc->rpc_mu);
        n = atomic_load(&sc->nrpc);
        for (i = 0; i < n; i++)
            if (strcmp(sc->rpc[i].name, name) == 0) break;
        if (i == n && n < ENG_RPC_MAX) {
            snprintf(sc->rpc[n].name, sizeof sc->rpc[n].name, "%s", name);
            atomic_store(&sc->nrpc, n + 1);
        }
        pthread_mutex_unlock(&sc->rpc_mu);
        if (i >= ENG_RPC_MAX) return;
    }
    rpc_hist *h = &sc->rpc[i];
    double secs = (double)ns / 1e9;
    for (int b = 0; b < 12; b++)
        if (secs <= eng_latency_bounds[b]) {
            atomic_fetch_add(&h->buckets[b], 1);
            break;
        }
    atomic_fetch_add(&h->count, 1);
    atomic_fetch_add(&h->sum_us, ns / 1000);
}

int eng_rpc_hists(eng *e, eng_rpc_hist *out, int max) {
    eng_sched *sc = e->sched;
    int n = atomic_load(&sc->nrpc);
    if (n > max) n = max;
    for (int i = 0; i < n; i++) {
        memcpy(out[i].name, sc->rpc[i].name, sizeof out[i].name);
        for (int b = 0; b < 12; b++) out[i].buckets[b] = atomic_load(&sc->rpc[i].buckets[b]);
        out[i].count = atomic_load(&sc->rpc[i].count);
        out[i].sum_us = atomic_load(&sc->rpc[i].sum_us);
    }
    return n;
}
