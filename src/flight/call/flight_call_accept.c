/*
** Accepting calls: one grpc_server_request_call outstanding per worker; a
** new call is matched to its RPC table, authenticated, and its step chain
** started with the first read (flight_call_step.c drives it from there).
*/
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight_srv.h"

#define SERVICE_PREFIX "/arrow.flight.protocol.FlightService/"

const fl_rpc *fl_test_rpc;

static const fl_rpc *const rpcs[] = {
    &fl_rpc_handshake, &fl_rpc_list_flights, &fl_rpc_get_flight_info, &fl_rpc_poll_flight_info,
    &fl_rpc_get_schema, &fl_rpc_do_get,       &fl_rpc_do_put,          &fl_rpc_do_exchange,
    &fl_rpc_do_action, &fl_rpc_list_actions,
};

void fl_server_call_request(flight_server *s) {
    fl_call *c = fl_call_new(s);
    c->step_tag.kind = FL_TAG_NEW;
    pthread_mutex_lock(&s->mu);
    s->ncalls++;
    pthread_mutex_unlock(&s->mu);
    grpc_call_error rc = grpc_server_request_call(s->server, &c->call, &c->details, &c->req_md, s->cq, s->cq,
                                                  &c->step_tag);
    if (rc != GRPC_CALL_OK) {
        QV_ERROR("flight: grpc_server_request_call failed (%d)", (int)rc);
        fl_call_free(c);
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

void fl_call_on_new(fl_call *c, bool ok) {
    flight_server *s = c->srv;
    if (!ok) { /* the server is shutting down */
        fl_call_free(c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    bool stopping = s->shutting_down;
    pthread_mutex_unlock(&s->mu);
    if (!stopping) fl_server_call_request(s);

    c->step_tag.kind = FL_TAG_STEP;
    c->rpc = find_rpc(c->details.method);
    c->start_ns = qv_monotonic_ns();
    c->pending = 2;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    if (!fl_call_start_batch(c, &op, 1, &c->close_tag)) c->pending--;

    if (c->rpc == NULL) {
        static const fl_rpc unknown = {.name = "(unknown method)"};
        char *m = grpc_slice_to_c_string(c->details.method);
        qv_err err;
        qv_err_set(&err, QV_EUNSUPPORTED, "unknown method %s (Quiver serves %s*)", m, SERVICE_PREFIX);
        gpr_free(m);
        c->rpc = &unknown;
        fl_call_set_error(c, &err);
        fl_call_send_status(c);
        return;
    }
    if (c->rpc->on_message == NULL) { /* an RPC Quiver answers without reading */
        qv_err err;
        qv_err_set(&err, QV_EUNSUPPORTED,
                   "%s is not implemented by Quiver: use GetFlightInfo and DoGet to read, DoPut to write",
                   c->rpc->name);
        fl_call_set_error(c, &err);
        fl_call_send_status(c);
        return;
    }
    qv_err err;
    qv_err_clear(&err);
    if (fl_auth_start(c, &err)) {
        fl_call_set_error(c, &err);
        fl_call_send_status(c);
        return;
    }
    fl_call_start_recv(c);
}
