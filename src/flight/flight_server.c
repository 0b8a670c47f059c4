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

#include "flight.pb-c.h"
#include "flight_internal.h"

#define SERVICE_PREFIX "/arrow.flight.protocol.FlightService/"
#define DEFAULT_WORKERS 4
#define MAX_RECV_MESSAGE (512 << 20)

struct flight_server {
    eng *e;
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t *workers;
    int nworkers;
    int64_t max_batch_bytes;
    fl_part_cfg part;
    fl_follower *follower;  /* a read replica's replication thread, or NULL */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shutting_down, shutdown_done;
    int ncalls;
    fl_tag shutdown_tag;
    auth_store *auth;
    int64_t max_put_bytes;
    grpc_channel *doorbell; /* guarded by mu */
    int inline_runs;        /* fl_call_claim'ed chains being advanced off the queue's workers; under mu */
};

auth_store *fl_call_auth(fl_call *c) { return c->srv->auth; }

const fl_rpc *fl_test_rpc;

static const fl_rpc *const rpcs[] = {
    &fl_rpc_handshake, &fl_rpc_list_flights, &fl_rpc_get_flight_info, &fl_rpc_poll_flight_info,
    &fl_rpc_get_schema, &fl_rpc_do_get,       &fl_rpc_do_put,          &fl_rpc_do_exchange,
    &fl_rpc_do_action, &fl_rpc_list_actions,
};

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

/* ---- reply queue ---- */

void fl_call_push(fl_call *c, grpc_byte_buffer *bb) {
    if (c->out_head > 0 && c->out_head == c->nout) c->out_head = c->nout = 0;
    if (c->nout == c->out_cap) {
        c->out_cap = c->out_cap ? c->out_cap * 2 : 8;
        c->out = qv_xrealloc(c->out, (size_t)c->out_cap * sizeof *c->out);
    }
    c->out[c->nout++] = bb;
}

void fl_call_push_pb(fl_call *c, const void *pb_message) { fl_call_push(c, fl_bb_from_pb(pb_message)); }

int fl_call_queued(const fl_call *c) { return c->nout - c->out_head; }

bool fl_server_stopping(const fl_call *c) {
    pthread_mutex_lock(&c->srv->mu);
    bool x = c->srv->shutting_down;
    pthread_mutex_unlock(&c->srv->mu);
    return x;
}

static void drop_queue(fl_call *c) {
    for (int i = c->out_head; i < c->nout; i++) grpc_byte_buffer_destroy(c->out[i]);
    c->out_head = c->nout = 0;
}

/* ---- call lifetime ---- */

static fl_call *call_new(flight_server *s) {
    fl_call *c = qv_xcalloc(1, sizeof *c);
    c->srv = s;
    c->e = s->e;
    c->max_batch_bytes = s->max_batch_bytes;
    c->part = &s->part;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->req_md);
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->wake_mu, NULL);
    grpc_metadata_array_init(&c->wake_md);
    c->step_tag = (fl_tag){c, FL_TAG_STEP};
    c->close_tag = (fl_tag){c, FL_TAG_CLOSE};
    c->wake_tag = (fl_tag){c, FL_TAG_WAKE};
    return c;
}

static void call_free(fl_call *c) {
    flight_server *s = c->srv;
    if (c->rpc && c->rpc->free_state && c->state) c->rpc->free_state(c);
    drop_queue(c);
    free(c->out);
    if (c->send_buf) grpc_byte_buffer_destroy(c->send_buf);
    if (c->recv_buf) grpc_byte_buffer_destroy(c->recv_buf);
    if (c->call) grpc_call_unref(c->call);
    for (size_t i = 0; i < c->n_init_md; i++) {
        grpc_slice_unref(c->init_md[i].key);
        grpc_slice_unref(c->init_md[i].value);
    }
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->req_md);
    if (c->rpc && c->start_ns) eng_rpc_observe(c->e, c->rpc->name, qv_monotonic_ns() - c->start_ns);
    grpc_metadata_array_destroy(&c->wake_md);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->wake_mu);
    free(c);
    pthread_mutex_lock(&s->mu);
    s->ncalls--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void call_unref(fl_call *c) {
    pthread_mutex_lock(&c->mu);
    bool last = --c->pending == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) call_free(c);
}

/* The step chain is over (status sent or the call broke): roll back. */
static void step_finish(fl_call *c) {
    c->phase = FL_DONE;
    pthread_mutex_lock(&c->mu);
    if (c->rpc && c->rpc->free_state && c->state) c->rpc->free_state(c);
    c->state = NULL;
    pthread_mutex_unlock(&c->mu);
    drop_queue(c);
    call_unref(c);
}

static bool start_batch(fl_call *c, const grpc_op *ops, size_t n, fl_tag *tag) {
    grpc_call_error rc = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (rc != GRPC_CALL_OK) {
        QV_ERROR("flight: grpc_call_start_batch failed (%d) in %s", (int)rc, c->rpc ? c->rpc->name : "?");
        return false;
    }
    return true;
}

static void set_error(fl_call *c, const qv_err *err) {
    if (c->status_set) return;
    c->status_set = true;
    c->status = fl_status_from_qv(err->code);
    snprintf(c->status_msg, sizeof c->status_msg, "%s", err->msg[0] ? err->msg : qv_status_name(err->code));
    if (c->status == GRPC_STATUS_INTERNAL)
        QV_ERROR("flight %s: %s", c->rpc ? c->rpc->name : "?", c->status_msg);
    else
        QV_DEBUG("flight %s: %s: %s", c->rpc ? c->rpc->name : "?", qv_status_name(err->code), c->status_msg);
}

/* The first batch a call starts must carry its initial metadata; returns the ops used (0 or 1). */
static size_t add_initial_metadata(fl_call *c, grpc_op *ops) {
    if (c->md_sent) return 0;
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = c->n_init_md;
    ops[0].data.send_initial_metadata.metadata = c->n_init_md ? c->init_md : NULL;
    c->md_sent = true;
    return 1;
}

void fl_call_add_initial_metadata(fl_call *c, const char *key, const char *value) {
    if (c->md_sent || c->n_init_md == sizeof c->init_md / sizeof c->init_md[0]) return;
    memset(&c->init_md[c->n_init_md], 0, sizeof c->init_md[0]);
    c->init_md[c->n_init_md].key = grpc_slice_from_copied_string(key);
    c->init_md[c->n_init_md].value = grpc_slice_from_copied_string(value);
    c->n_init_md++;
}

static void send_status(fl_call *c) {
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = add_initial_metadata(c, ops);
    if (!c->status_set) {
        c->status = GRPC_STATUS_OK;
        c->status_msg[0] = 0;
    }
    drop_queue(c);
    c->status_slice = grpc_slice_from_copied_string(c->status_msg);
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = c->status;
    ops[n].data.send_status_from_server.status_details = &c->status_slice;
    n++;
    c->phase = FL_STATUS;
    if (!start_batch(c, ops, n, &c->step_tag)) {
        grpc_slice_unref(c->status_slice);
        step_finish(c);
    }
}

static void start_recv(fl_call *c) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    c->phase = FL_RECV;
    if (!start_batch(c, &op, 1, &c->step_tag)) step_finish(c);
}

static void start_send(fl_call *c) {
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = add_initial_metadata(c, ops);
    c->send_buf = c->out[c->out_head++];
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->send_buf;
    n++;
    c->phase = FL_SEND;
    if (!start_batch(c, ops, n, &c->step_tag)) step_finish(c);
}

void fl_call_fail(fl_call *c, grpc_status_code code, const char *msg) {
    if (c->status_set) return;
    c->status_set = true;
    c->status = code;
    snprintf(c->status_msg, sizeof c->status_msg, "%s", msg);
    QV_DEBUG("flight %s: status %d: %s", c->rpc ? c->rpc->name : "?", (int)code, msg);
}

/* ---- parking and waking (see flight_internal.h) ---- */

/* With c->wake_mu held: start the doorbell call; its failure is the event. */
static void ring_locked(fl_call *c) {
    flight_server *s = c->srv;
    pthread_mutex_lock(&s->mu);
    grpc_call *w = NULL;
    if (s->doorbell) {
        grpc_slice m = grpc_slice_from_static_string("/quiver.Internal/Wake");
        w = grpc_channel_create_call(s->doorbell, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, m, NULL,
                                     gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        grpc_slice_unref(m);
    }
    if (w) {
        grpc_op ops[2];
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[1].data.recv_status_on_client.trailing_metadata = &c->wake_md;
        ops[1].data.recv_status_on_client.status = &c->wake_status;
        ops[1].data.recv_status_on_client.status_details = &c->wake_details;
        if (grpc_call_start_batch(w, ops, 2, &c->wake_tag, NULL) != GRPC_CALL_OK) {
            grpc_call_unref(w);
            w = NULL;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (w) {
        c->wake_call = w;
    } else {
        /* Only when the server is past shutdown: the call stays parked and
           is cancelled with the rest. */
        QV_WARN("flight %s: cannot wake a parked call (server stopping)", c->rpc ? c->rpc->name : "?");
        c->parked = true;
    }
}

void fl_call_wake(fl_call *c) {
    pthread_mutex_lock(&c->wake_mu);
    if (c->parked) {
        c->parked = false;
        ring_locked(c);
    } else {
        c->wake_again = true;
    }
    pthread_mutex_unlock(&c->wake_mu);
}

static void advance(fl_call *c);

bool fl_call_claim(fl_call *c) {
    flight_server *s = c->srv;
    pthread_mutex_lock(&c->wake_mu);
    bool got = false;
    if (c->parked) {
        pthread_mutex_lock(&s->mu);
        got = s->doorbell != NULL; /* past that, the queue may be going away: no new operations */
        if (got) s->inline_runs++;
        pthread_mutex_unlock(&s->mu);
        if (got) c->parked = false;
        else ring_locked(c); /* only warns and stays parked, as a stopping server does */
    } else {
        c->wake_again = true;
    }
    pthread_mutex_unlock(&c->wake_mu);
    return got;
}

void fl_call_run(fl_call *c) {
    flight_server *s = c->srv;
    advance(c); /* may free c */
    pthread_mutex_lock(&s->mu);
    s->inline_runs--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void fl_call_abort(fl_call *c, grpc_status_code code, const char *msg) {
    QV_DEBUG("flight %s: aborting with status %d: %s", c->rpc ? c->rpc->name : "?", (int)code, msg);
    grpc_call_cancel_with_status(c->call, code, msg, NULL);
}

/* True if the chain is now parked; false if a wake came meanwhile. */
static bool park(fl_call *c) {
    pthread_mutex_lock(&c->wake_mu);
    bool again = c->wake_again;
    c->wake_again = false;
    if (!again) c->parked = true;
    pthread_mutex_unlock(&c->wake_mu);
    return !again;
}

static void on_wake(fl_call *c) {
    pthread_mutex_lock(&c->wake_mu);
    grpc_call *w = c->wake_call;
    c->wake_call = NULL;
    pthread_mutex_unlock(&c->wake_mu);
    if (w) grpc_call_unref(w);
    grpc_slice_unref(c->wake_details);
    grpc_metadata_array_destroy(&c->wake_md);
    grpc_metadata_array_init(&c->wake_md);
    advance(c);
}

int fl_server_live_calls(flight_server *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->ncalls;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool call_cancelled(fl_call *c) {
    pthread_mutex_lock(&c->mu);
    bool x = c->cancelled;
    pthread_mutex_unlock(&c->mu);
    return x;
}

/* Decide the next step batch after the previous one completed. */
static void advance(fl_call *c) {
    for (;;) {
        if (call_cancelled(c)) {
            step_finish(c);
            return;
        }
        if (c->status_set) {
            send_status(c);
            return;
        }
        if (fl_call_queued(c) > 0) {
            start_send(c);
            return;
        }
        if (!c->input_done) {
            if (c->rpc->recv_ready) {
                bool ready = true;
                qv_err err;
                qv_err_clear(&err);
                if (c->rpc->recv_ready(c, &ready, &err)) {
                    set_error(c, &err);
                    continue;
                }
                if (!ready) {
                    if (park(c)) return; /* until the rpc's waker calls fl_call_wake */
                    continue;
                }
            }
            start_recv(c);
            return;
        }
        if (c->rpc->produce) {
            bool done = false;
            qv_err err;
            qv_err_clear(&err);
            if (c->rpc->produce(c, &done, &err)) {
                set_error(c, &err);
                continue;
            }
            if (!done) {
                if (!c->status_set && fl_call_queued(c) == 0 && park(c)) return; /* until fl_call_wake */
                continue;
            }
        }
        send_status(c);
        return;
    }
}

static void on_step(fl_call *c, bool ok) {
    qv_err err;
    qv_err_clear(&err);
    switch (c->phase) {
    case FL_RECV: {
        if (!ok) {
            step_finish(c);
            return;
        }
        grpc_byte_buffer *bb = c->recv_buf;
        c->recv_buf = NULL;
        if (bb == NULL) {
            c->input_done = true;
            /* A vanished client must never look like a clean end of stream. */
            if (call_cancelled(c)) {
                step_finish(c);
                return;
            }
            if (!c->rpc->client_streams) {
                qv_err_set(&err, QV_EINVAL, "%s: the client closed its side without sending the request",
                           c->rpc->name);
                set_error(c, &err);
            } else if (c->rpc->on_end && c->rpc->on_end(c, &err))
                set_error(c, &err);
        } else {
            qv_buffer *msg = fl_bb_to_buffer(bb);
            grpc_byte_buffer_destroy(bb);
            if (!c->rpc->client_streams) c->input_done = true;
            c->recv_bytes += (int64_t)msg->size;
            int rc;
            if (c->rpc == &fl_rpc_do_put && c->srv->max_put_bytes > 0 && c->recv_bytes > c->srv->max_put_bytes) {
                atomic_fetch_add(&eng_get_metrics(c->e)->refusals[ENG_REFUSE_PUT_BYTES], 1);
                rc = qv_err_set(&err, QV_ERESOURCE,
                                "DoPut: stream is over %lld bytes (--max-put-bytes); nothing was applied",
                                (long long)c->srv->max_put_bytes);
            } else {
                rc = c->rpc->on_message(c, msg, &err);
            }
            qv_buffer_unref(msg);
            if (rc) set_error(c, &err);
        }
        advance(c);
        return;
    }
    case FL_SEND:
        grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = NULL;
        if (!ok) {
            step_finish(c);
            return;
        }
        advance(c);
        return;
    case FL_STATUS:
        grpc_slice_unref(c->status_slice);
        step_finish(c);
        return;
    default:
        QV_ERROR("flight: step event in phase %d", c->phase);
        return;
    }
}

static void on_close(fl_call *c, bool ok) {
    pthread_mutex_lock(&c->mu);
    c->close_done = true;
    if (!ok || c->close_cancelled) {
        c->cancelled = true;
        if (c->rpc && c->rpc->on_cancel && c->state) c->rpc->on_cancel(c);
    }
    pthread_mutex_unlock(&c->mu);
    if (c->cancelled) fl_call_wake(c); /* a parked chain must see it and finish */
    call_unref(c);
}

static void request_new_call(flight_server *s) {
    fl_call *c = call_new(s);
    c->step_tag.kind = FL_TAG_NEW;
    pthread_mutex_lock(&s->mu);
    s->ncalls++;
    pthread_mutex_unlock(&s->mu);
    grpc_call_error rc = grpc_server_request_call(s->server, &c->call, &c->details, &c->req_md, s->cq, s->cq,
                                                  &c->step_tag);
    if (rc != GRPC_CALL_OK) {
        QV_ERROR("flight: grpc_server_request_call failed (%d)", (int)rc);
        call_free(c);
    }
}

static const fl_rpc *find_rpc(grpc_slice method) {
    size_t n = GRPC_SLICE_LENGTH(method), plen = strlen(SERVICE_PREFIX);
    const char *p = (const char *)GRPC_SLICE_START_PTR(method);
    if (n <= plen || memcmp(p, SERVICE_PREFIX, plen) != 0) return NULL;
    for (size_t i = 0; i < sizeof rpcs / sizeof rpcs[0]; i++)
        if (strlen(rpcs[i]->name) == n - plen && memcmp(rpcs[i]->name, p + plen, n - plen) == 0) return rpcs[i];
    const fl_rpc *t = fl_test_rpc;
    if (t && strlen(t->name) == n - plen && memcmp(t->name, p + plen, n - plen) == 0) return t;
    return NULL;
}

static void on_new_call(fl_call *c, bool ok) {
    flight_server *s = c->srv;
    if (!ok) { /* the server is shutting down */
        call_free(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    bool stopping = s->shutting_down;
    pthread_mutex_unlock(&s->mu);
    if (!stopping) request_new_call(s);

    c->step_tag.kind = FL_TAG_STEP;
    c->rpc = find_rpc(c->details.method);
    c->start_ns = qv_monotonic_ns();
    c->pending = 2;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    if (!start_batch(c, &op, 1, &c->close_tag)) c->pending--;

    if (c->rpc == NULL) {
        static const fl_rpc unknown = {.name = "(unknown method)"};
        char *m = grpc_slice_to_c_string(c->details.method);
        qv_err err;
        qv_err_set(&err, QV_EUNSUPPORTED, "unknown method %s (Quiver serves %s*)", m, SERVICE_PREFIX);
        gpr_free(m);
        c->rpc = &unknown;
        set_error(c, &err);
        send_status(c);
        return;
    }
    if (c->rpc->on_message == NULL) { /* an RPC Quiver answers without reading */
        qv_err err;
        qv_err_set(&err, QV_EUNSUPPORTED,
                   "%s is not implemented by Quiver: use GetFlightInfo and DoGet to read, DoPut to write",
                   c->rpc->name);
        set_error(c, &err);
        send_status(c);
        return;
    }
    qv_err err;
    qv_err_clear(&err);
    if (fl_auth_start(c, &err)) {
        set_error(c, &err);
        send_status(c);
        return;
    }
    start_recv(c);
}

static void *worker_main(void *arg) {
    flight_server *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type != GRPC_OP_COMPLETE) continue;
        fl_tag *t = ev.tag;
        switch (t->kind) {
        case FL_TAG_NEW: on_new_call(t->call, ev.success != 0); break;
        case FL_TAG_STEP: on_step(t->call, ev.success != 0); break;
        case FL_TAG_CLOSE: on_close(t->call, ev.success != 0); break;
        case FL_TAG_WAKE: on_wake(t->call); break;
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
    for (int i = 0; i < s->nworkers; i++) request_new_call(s);
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
