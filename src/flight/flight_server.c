/*
** The Flight server: one grpc_server, one completion queue, a few worker
** threads that take events off it and advance the per-call state machines
** described in flight_internal.h.
**
** Server states: RUNNING (calls are requested, one outstanding
** grpc_server_request_call per worker) -> SHUTTING_DOWN (no new requests;
** grpc_server_shutdown_and_notify posted; after grace_ms running calls are
** cancelled) -> STOPPED (shutdown tag seen, queue drained, workers joined).
** The server owns every fl_call until the call's last batch completes;
** live calls are counted in s->ncalls. s->doorbell, a lame channel, carries
** fl_call_wake's events onto the queue; it is dropped (under s->mu) before
** the queue shuts down, so no wake can start an operation after that.
*/
#include <errno.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flight_srv.h"

#define DEFAULT_WORKERS 4
#define MAX_RECV_MESSAGE (512 << 20)

auth_store *fl_call_auth(fl_call *c) { return c->srv->auth; }

bool flight_built_in(void) { return true; }

grpc_status_code fl_status_from_qv(qv_status s) {
    switch (s) {
    case QV_OK: return GRPC_STATUS_OK;
    case QV_EINVAL: return GRPC_STATUS_INVALID_ARGUMENT;
    case QV_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
    case QV_ERESOURCE: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case QV_ECANCELLED: return GRPC_STATUS_CANCELLED;
    case QV_EEXISTS: return GRPC_STATUS_ALREADY_EXISTS;
    case QV_EUNSUPPORTED: return GRPC_STATUS_UNIMPLEMENTED;
    case QV_EPRECONDITION: return GRPC_STATUS_FAILED_PRECONDITION;
    case QV_EUNAUTH: return GRPC_STATUS_UNAUTHENTICATED;
    case QV_EPERM: return GRPC_STATUS_PERMISSION_DENIED;
    case QV_EBUSY: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case QV_ETIMEOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
    default: return GRPC_STATUS_INTERNAL;
    }
}

bool fl_server_stopping(const fl_call *c) {
    pthread_mutex_lock(&c->srv->mu);
    bool x = c->srv->shutting_down;
    pthread_mutex_unlock(&c->srv->mu);
    return x;
}

int fl_server_live_calls(flight_server *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->ncalls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void *worker_main(void *arg) {
    flight_server *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type != GRPC_OP_COMPLETE) continue;
        fl_tag *t = ev.tag;
        switch (t->kind) {
        case FL_TAG_NEW: fl_call_on_new(t->call, ev.success != 0); break;
        case FL_TAG_STEP: fl_call_on_step(t->call, ev.success != 0); break;
        case FL_TAG_CLOSE: fl_call_on_close(t->call, ev.success != 0); break;
        case FL_TAG_WAKE: fl_call_on_wake(t->call); break;
        case FL_TAG_SHUTDOWN:
            pthread_mutex_lock(&s->mu);
            s->shutdown_done = true;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            break;
        default: QV_ERROR("flight: unknown completion tag kind %d", t->kind);
        }
    }
    return NULL;
}

/* gRPC's own log lines go through ours, at debug level: every failure that
   matters to a user is reported by Quiver with its own words. */
static void grpc_log_to_qv(gpr_log_func_args *a) {
    QV_DEBUG("grpc %s:%d: %s", a->file ? a->file : "?", a->line, a->message ? a->message : "");
}

int flight_server_start(eng *e, const flight_options *opts, flight_server **out, int *bound_port, qv_err *err) {
    *out = NULL;
    *bound_port = 0;
    const char *host = opts->host && opts->host[0] ? opts->host : "127.0.0.1";
    if (opts->port < 0 || opts->port > 65535)
        return qv_err_set(err, QV_EINVAL, "flight port %d is out of range 0..65535", opts->port);
    char addr[300];
    if (strchr(host, ':') && host[0] != '[')
        snprintf(addr, sizeof addr, "[%s]:%d", host, opts->port);
    else
        snprintf(addr, sizeof addr, "%s:%d", host, opts->port);

    gpr_set_log_function(grpc_log_to_qv);
    grpc_init();
    flight_server *s = qv_xcalloc(1, sizeof *s);
    s->e = e;
    s->max_batch_bytes = opts->max_batch_bytes > 0 ? opts->max_batch_bytes : (4 << 20);
    fl_part_cfg_init(&s->part, opts);
    s->nworkers = opts->threads > 0 ? opts->threads : DEFAULT_WORKERS;
    if (s->nworkers < 2) s->nworkers = 2; /* one must stay free to deliver cancellations */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->shutdown_tag = (fl_tag){NULL, FL_TAG_SHUTDOWN};

    grpc_server_credentials *creds = NULL;
    if (fl_server_credentials(opts, &creds, err)) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        grpc_shutdown();
        return err->code;
    }
    s->auth = opts->auth;
    s->max_put_bytes = opts->max_put_bytes;
    /* No SO_REUSEPORT: a port another process holds must be an error here.
       Idle connections are pinged and closed, so a client cannot hold one forever. */
    const struct {
        const char *key;
        int value;
    } iargs[] = {
        {GRPC_ARG_ALLOW_REUSEPORT, 0},
        {GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, MAX_RECV_MESSAGE},
        {GRPC_ARG_KEEPALIVE_TIME_MS, opts->keepalive_ms > 0 ? opts->keepalive_ms : 60000},
        {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000},
        {GRPC_ARG_MAX_CONNECTION_IDLE_MS, opts->max_idle_ms > 0 ? opts->max_idle_ms : 600000},
        /* clients' keepalive pings (pyarrow, Java) are welcome down to 10 s */
        {GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000},
        {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
    };
    enum { NARGS = sizeof iargs / sizeof iargs[0] };
    grpc_arg args[NARGS];
    memset(args, 0, sizeof args);
    for (int i = 0; i < NARGS; i++) {
        args[i].type = GRPC_ARG_INTEGER;
        args[i].key = (char *)iargs[i].key;
        args[i].value.integer = iargs[i].value;
    }
    grpc_channel_args cargs = {NARGS, args};
    s->server = grpc_server_create(&cargs, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->cq, NULL);
    int port = grpc_server_add_http2_port(s->server, addr, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0) {
        grpc_server_destroy(s->server);
        grpc_completion_queue_shutdown(s->cq);
        while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
               GRPC_QUEUE_SHUTDOWN) {
        }
        grpc_completion_queue_destroy(s->cq);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        grpc_shutdown();
        return qv_err_set(err, QV_EIO, "cannot listen on %s (address in use, or not available on this host)",
                          addr);
    }
    s->doorbell = grpc_lame_client_channel_create("quiver-wake", GRPC_STATUS_UNAVAILABLE, "wake");
    grpc_server_start(s->server);
    for (int i = 0; i < s->nworkers; i++) fl_server_call_request(s);
    s->workers = qv_xcalloc((size_t)s->nworkers, sizeof *s->workers);
    for (int i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
            /* Not expected; keep what started. */
            QV_ERROR("flight: could only start %d of %d workers", i, s->nworkers);
            s->nworkers = i;
            break;
        }
    }
    if (opts->replica_of && opts->replica_of[0] &&
        fl_follower_start(e, opts->replica_of, opts->advertise, opts->replication_user, opts->replication_login,
                          &s->follower, err)) {
        flight_server_free(s);
        return err->code;
    }
    *bound_port = port;
    *out = s;
    QV_DEBUG("flight: serving on %s (port %d) with %d workers", addr, port, s->nworkers);
    return QV_OK;
}

static bool wait_shutdown(flight_server *s, int ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)(ms % 1000) * 1000000;
    ts.tv_sec += ms / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&s->mu);
    while (!s->shutdown_done) {
        if (ms < 0) {
            pthread_cond_wait(&s->cv, &s->mu);
        } else if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) {
            break;
        }
    }
    bool done = s->shutdown_done;
    pthread_mutex_unlock(&s->mu);
    return done;
}

int64_t flight_replica_lag_ms(const flight_server *s) { return s && s->follower ? fl_follower_lag_ms(s->follower) : -1; }

void flight_server_shutdown(flight_server *s, int grace_ms) {
    if (!s || !s->server) return;
    fl_follower_stop(s->follower);
    s->follower = NULL;
    pthread_mutex_lock(&s->mu);
    s->shutting_down = true;
    pthread_mutex_unlock(&s->mu);
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    if (!wait_shutdown(s, grace_ms < 0 ? 0 : grace_ms)) {
        QV_WARN("flight: calls still running after %d ms; cancelling them", grace_ms);
        grpc_server_cancel_all_calls(s->server);
        wait_shutdown(s, -1);
    }
    /* Calls may still be finishing (a cancelled parked call wakes once more):
       give them a moment before the doorbell goes. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 2;
    pthread_mutex_lock(&s->mu);
    while (s->ncalls > 0 && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT) {
    }
    if (s->ncalls > 0) QV_WARN("flight: %d calls still alive at shutdown", s->ncalls);
    grpc_channel *bell = s->doorbell;
    s->doorbell = NULL; /* no fl_call_claim succeeds after this */
    while (s->inline_runs > 0) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (bell) grpc_channel_destroy(bell);
    grpc_server_destroy(s->server);
    s->server = NULL;
    grpc_completion_queue_shutdown(s->cq);
    for (int i = 0; i < s->nworkers; i++) pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
    grpc_completion_queue_destroy(s->cq);
    s->cq = NULL;
}

void flight_server_free(flight_server *s) {
    if (!s) return;
    if (s->server) flight_server_shutdown(s, 0);
    free(s->workers);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    grpc_shutdown();
}
