/*
** Parking and waking a call's step chain (see flight_internal.h): the
** doorbell (a call on a lame channel bound to the server's queue), and
** fl_call_claim/fl_call_run, which advance a parked chain on the caller's
** thread instead.
*/
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight_srv.h"

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
    fl_call_advance(c); /* may free c */
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
bool fl_call_park(fl_call *c) {
    pthread_mutex_lock(&c->wake_mu);
    bool again = c->wake_again;
    c->wake_again = false;
    if (!again) c->parked = true;
    pthread_mutex_unlock(&c->wake_mu);
    return !again;
}

void fl_call_on_wake(fl_call *c) {
    pthread_mutex_lock(&c->wake_mu);
    grpc_call *w = c->wake_call;
    c->wake_call = NULL;
    pthread_mutex_unlock(&c->wake_mu);
    if (w) grpc_call_unref(w);
    grpc_slice_unref(c->wake_details);
    grpc_metadata_array_destroy(&c->wake_md);
    grpc_metadata_array_init(&c->wake_md);
    fl_call_advance(c);
}
