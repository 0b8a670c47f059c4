/*
** The step chain of a call (states in flight_internal.h): call lifetime,
** the reply queue, one RECV/SEND/STATUS batch at a time, and what to do
** after each completes (fl_call_advance).
*/
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight_srv.h"

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

static void drop_queue(fl_call *c) {
    for (int i = c->out_head; i < c->nout; i++) grpc_byte_buffer_destroy(c->out[i]);
    c->out_head = c->nout = 0;
}

/* ---- call lifetime ---- */

fl_call *fl_call_new(flight_server *s) {
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

void fl_call_free(fl_call *c) {
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
    if (last) fl_call_free(c);
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

bool fl_call_start_batch(fl_call *c, const grpc_op *ops, size_t n, fl_tag *tag) {
    grpc_call_error rc = grpc_call_start_batch(c->call, ops, n, tag, NULL);
    if (rc != GRPC_CALL_OK) {
        QV_ERROR("flight: grpc_call_start_batch failed (%d) in %s", (int)rc, c->rpc ? c->rpc->name : "?");
        return false;
    }
    return true;
}

void fl_call_set_error(fl_call *c, const qv_err *err) {
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

void fl_call_send_status(fl_call *c) {
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
    if (!fl_call_start_batch(c, ops, n, &c->step_tag)) {
        grpc_slice_unref(c->status_slice);
        step_finish(c);
    }
}

void fl_call_start_recv(fl_call *c) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_buf;
    c->phase = FL_RECV;
    if (!fl_call_start_batch(c, &op, 1, &c->step_tag)) step_finish(c);
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
    if (!fl_call_start_batch(c, ops, n, &c->step_tag)) step_finish(c);
}

void fl_call_fail(fl_call *c, grpc_status_code code, const char *msg) {
    if (c->status_set) return;
    c->status_set = true;
    c->status = code;
    snprintf(c->status_msg, sizeof c->status_msg, "%s", msg);
    QV_DEBUG("flight %s: status %d: %s", c->rpc ? c->rpc->name : "?", (int)code, msg);
}

static bool call_cancelled(fl_call *c) {
    pthread_mutex_lock(&c->mu);
    bool x = c->cancelled;
    pthread_mutex_unlock(&c->mu);
    return x;
}

/* Decide the next step batch after the previous one completed. */
void fl_call_advance(fl_call *c) {
    for (;;) {
        if (call_cancelled(c)) {
            step_finish(c);
            return;
        }
        if (c->status_set) {
            fl_call_send_status(c);
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
                    fl_call_set_error(c, &err);
                    continue;
                }
                if (!ready) {
                    if (fl_call_park(c)) return; /* until the rpc's waker calls fl_call_wake */
                    continue;
                }
            }
            fl_call_start_recv(c);
            return;
        }
        if (c->rpc->produce) {
            bool done = false;
            qv_err err;
            qv_err_clear(&err);
            if (c->rpc->produce(c, &done, &err)) {
                fl_call_set_error(c, &err);
                continue;
            }
            if (!done) {
                if (!c->status_set && fl_call_queued(c) == 0 && fl_call_park(c)) return; /* until fl_call_wake */
                continue;
            }
        }
        fl_call_send_status(c);
        return;
    }
}

void fl_call_on_step(fl_call *c, bool ok) {
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
                fl_call_set_error(c, &err);
            } else if (c->rpc->on_end && c->rpc->on_end(c, &err))
                fl_call_set_error(c, &err);
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
            if (rc) fl_call_set_error(c, &err);
        }
        fl_call_advance(c);
        return;
    }
    case FL_SEND:
        grpc_byte_buffer_destroy(c->send_buf);
        c->send_buf = NULL;
        if (!ok) {
            step_finish(c);
            return;
        }
        fl_call_advance(c);
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

void fl_call_on_close(fl_call *c, bool ok) {
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
