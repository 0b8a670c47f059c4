/*
** Running a query's next() on the engine's query runners instead of a
** completion-queue thread, for any RPC that streams query results.
**
** fl_task states (t->mu): IDLE (nothing out) -> QUEUED (waiting for an
** admission slot; only the first next()) or RUNNING (on a runner) -> READY
** (result in t->out/eos/rc, the call woken) -> IDLE when fl_task_next takes
** it. `busy` counts submissions whose runner has not yet made its last
** touch of the task; fl_task_finish waits for it to reach 0 before the
** owner frees anything, and gives back the admission slot. The runner's
** last touch of the call is fl_call_wake, made while busy still counts it,
** so the call is alive then (its state is freed only after finish).
** A job task (fl_task_job) runs a function instead of next(): the first
** submission is admitted, later ones run at once on the slot it holds.
*/
#include <grpc/support/time.h>
#include <string.h>

#include "flight_internal.h"

enum { FT_IDLE, FT_QUEUED, FT_RUNNING, FT_READY };

static void task_run(eng_task *et) {
    fl_task *t = (fl_task *)et;
    pthread_mutex_lock(&t->mu);
    t->admitted = true;
    t->state = FT_RUNNING;
    pthread_mutex_unlock(&t->mu);
    qv_batch b;
    memset(&b, 0, sizeof b);
    bool eos = false;
    qv_err err;
    qv_err_clear(&err);
    int rc;
    if (t->job) {
        rc = t->job(t->job_arg, &err);
        eos = true;
    } else {
        rc = eng_query_next(t->q, &b, &eos, &err);
    }
    pthread_mutex_lock(&t->mu);
    t->out = b;
    t->eos = eos;
    t->rc = rc;
    t->err = err;
    t->state = FT_READY;
    pthread_mutex_unlock(&t->mu);
    fl_call_wake(t->call);
    pthread_mutex_lock(&t->mu);
    t->busy--;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void fl_task_init(fl_task *t, fl_call *c) {
    memset(t, 0, sizeof *t);
    t->t.run = task_run;
    t->call = c;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->inited = true;
}

int fl_task_next(fl_task *t, qv_batch *out, bool *eos, bool *ready, qv_err *err) {
    *ready = false;
    pthread_mutex_lock(&t->mu);
    if (t->state == FT_READY) {
        int rc = t->rc;
        *out = t->out;
        *eos = t->eos;
        if (rc) *err = t->err;
        memset(&t->out, 0, sizeof t->out);
        t->state = FT_IDLE;
        pthread_mutex_unlock(&t->mu);
        *ready = true;
        return rc;
    }
    if (t->state != FT_IDLE) { /* a spurious wake: still out */
        pthread_mutex_unlock(&t->mu);
        return QV_OK;
    }
    bool first = !t->submitted;
    t->submitted = true;
    t->state = first ? FT_QUEUED : FT_RUNNING;
    t->busy++;
    pthread_mutex_unlock(&t->mu);
    eng *e = t->call->e;
    if (!first) {
        eng_sched_run(e, &t->t);
        return QV_OK;
    }
    int rc = eng_sched_admit(e, &t->t, err);
    if (rc) {
        pthread_mutex_lock(&t->mu);
        t->state = FT_IDLE;
        t->busy--;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    return rc;
}

int fl_task_job(fl_task *t, int (*fn)(void *arg, qv_err *err), void *arg, bool *ready, qv_err *err) {
    pthread_mutex_lock(&t->mu);
    if (t->state == FT_IDLE) { /* not out: this submission runs fn */
        t->job = fn;
        t->job_arg = arg;
    }
    pthread_mutex_unlock(&t->mu);
    qv_batch unused;
    memset(&unused, 0, sizeof unused);
    bool eos = false;
    return fl_task_next(t, &unused, &eos, ready, err);
}

/* Under c->mu (the close handler): a task still waiting for a slot is
   taken back and the call will see CANCELLED when it is woken. */
void fl_task_cancel(fl_task *t) {
    if (!t->inited) return;
    pthread_mutex_lock(&t->mu);
    bool queued = t->state == FT_QUEUED;
    pthread_mutex_unlock(&t->mu);
    if (!queued || !eng_sched_withdraw(t->call->e, &t->t)) return;
    pthread_mutex_lock(&t->mu);
    t->state = FT_READY;
    t->rc = qv_err_set(&t->err, QV_ECANCELLED, "cancelled while waiting for a query slot");
    t->busy--;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

static void task_drain(fl_task *t) {
    eng *e = t->call->e;
    pthread_mutex_lock(&t->mu);
    if (t->state == FT_QUEUED) {
        pthread_mutex_unlock(&t->mu);
        bool took = eng_sched_withdraw(e, &t->t);
        pthread_mutex_lock(&t->mu);
        if (took) {
            t->state = FT_IDLE;
            t->busy--;
        }
    }
    if (t->busy > 0 && t->q) eng_query_cancel(t->q);
    while (t->busy > 0) pthread_cond_wait(&t->cv, &t->mu);
    if (t->state == FT_READY && t->rc == QV_OK && !t->eos) qv_batch_free(&t->out);
    bool admitted = t->admitted;
    t->admitted = false;
    pthread_mutex_unlock(&t->mu);
    if (admitted) eng_sched_release(e);
}

static void task_teardown(fl_task *t) {
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    t->inited = false;
}

void fl_task_finish(fl_task *t) {
    if (!t->inited) return;
    task_drain(t);
    task_teardown(t);
}

/* The step thread's forms: the close handler may be in fl_task_cancel (under
   c->mu, reading t->inited and taking t->mu) meanwhile, so the task's mutex
   is created and destroyed, and inited changed, under c->mu. */
void fl_task_init_step(fl_task *t, fl_call *c) {
    pthread_mutex_lock(&c->mu);
    fl_task_init(t, c);
    pthread_mutex_unlock(&c->mu);
}

void fl_task_finish_step(fl_task *t) {
    if (!t->inited) return;
    fl_call *c = t->call;
    task_drain(t);
    pthread_mutex_lock(&c->mu);
    task_teardown(t);
    pthread_mutex_unlock(&c->mu);
}

void fl_call_apply_deadline(fl_call *c, eng_query *q) {
    gpr_timespec d = c->details.deadline;
    if (gpr_time_cmp(d, gpr_inf_future(d.clock_type)) == 0) return;
    gpr_timespec left = gpr_time_sub(gpr_convert_clock_type(d, GPR_CLOCK_MONOTONIC), gpr_now(GPR_CLOCK_MONOTONIC));
    int64_t ms = gpr_time_to_millis(left);
    eng_query_set_timeout(q, ms > 0 ? ms : 1);
}

static int admitted_job(void *arg, qv_err *err) {
    (void)arg;
    (void)err;
    return QV_OK;
}

static void put_wake(void *arg) { fl_call_wake(arg); }

int fl_put_gate(fl_call *c, fl_task *t, fl_put_open *o, eng_put **put, bool *ready, qv_err *err) {
    *ready = false;
    int rc;
    if (!t->inited) fl_task_init_step(t, c);
    if (!t->slot_held) {
        if ((rc = fl_task_job(t, admitted_job, NULL, ready, err)) || !*ready) return rc;
        t->slot_held = true;
    }
    if (!*put && (rc = eng_put_begin_async(c->e, o->table, o->schema, &o->mode, put_wake, c, put, err))) return rc;
    if ((rc = eng_put_ready(*put, ready, err)) || *ready) return rc;
    /* Queued for the writer slot: give the query slot back meanwhile, so a
       waiting put holds nothing; told the writer slot is free, it asks again
       (and, admitted once already, is not refused for a full queue then). */
    fl_task_finish_step(t);
    fl_task_init_step(t, c);
    t->t.requeue = true;
    return QV_OK;
}

void fl_put_feed_take(fl_put_feed *f, eng_put **put, qv_batch *b) {
    /* pipelined, a runner may be reading f->put now (feed_job): store only a change */
    if (f->put != put) f->put = put;
    f->b = *b;
    f->has = true;
}

static int feed_job(void *arg, qv_err *err) {
    fl_put_feed *f = arg;
    int rc = eng_put_batch(*f->put, &f->run, err);
    qv_batch_free(&f->run);
    return rc;
}

int fl_put_feed_ready(fl_task *t, fl_put_feed *f, bool *ready, qv_err *err) {
    *ready = true;
    int rc;
    if (f->out) { /* is the batch on the runner done? */
        rc = fl_task_job(t, feed_job, f, ready, err);
        if (!*ready) {
            *ready = f->pipelined && !f->has; /* still applying: read on unless one already waits */
            return rc;
        }
        f->out = false;
        if (rc) return rc;
    }
    if (!f->has) return QV_OK;
    f->run = f->b; /* hand it to a runner (the put holds a slot: no admission) */
    memset(&f->b, 0, sizeof f->b);
    f->has = false;
    f->out = true;
    rc = fl_task_job(t, feed_job, f, ready, err);
    if (*ready || rc) { /* not out after all (an error submitting it) */
        f->out = false;
        if (rc && !*ready) qv_batch_free(&f->run);
        *ready = true;
        return rc;
    }
    *ready = f->pipelined;
    return QV_OK;
}

int fl_put_feed_drain(fl_task *t, fl_put_feed *f, bool *ready, qv_err *err) {
    bool p = f->pipelined;
    f->pipelined = false;
    int rc = fl_put_feed_ready(t, f, ready, err);
    f->pipelined = p;
    return rc;
}

void fl_put_feed_free(fl_put_feed *f) {
    if (f->has) qv_batch_free(&f->b);
    f->has = false;
}
