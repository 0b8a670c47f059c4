/*
** Private to the server and call files of src/flight, in the order a call
** goes through them:
**   flight_server.c       the grpc_server, its queue and workers; start, shutdown
**   flight_call_accept.c  a new call: find its RPC, authenticate, first read
**   flight_call_step.c    the step chain: lifetime, reply queue, batches, advance
**   flight_call_wake.c    parking and waking a chain (doorbell, claim/run)
** States and ownership: flight_server.c (the server), flight_internal.h (a call).
*/
#ifndef QUIVER_FLIGHT_SRV_H
#define QUIVER_FLIGHT_SRV_H

#include "flight_internal.h"

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

/* flight_call_accept.c: post one grpc_server_request_call (tag FL_TAG_NEW). */
void fl_server_call_request(flight_server *s);
/* The FL_TAG_NEW event: start the call (or free it when !ok). */
void fl_call_on_new(fl_call *c, bool ok);

/* flight_call_step.c */
fl_call *fl_call_new(flight_server *s);
void fl_call_free(fl_call *c);
/* Start a batch on the call; false (logged) if gRPC refused it. */
bool fl_call_start_batch(fl_call *c, const grpc_op *ops, size_t n, fl_tag *tag);
/* Set the call's error status from err (the first one wins). */
void fl_call_set_error(fl_call *c, const qv_err *err);
void fl_call_send_status(fl_call *c);
void fl_call_start_recv(fl_call *c);
/* Decide the next step batch after the previous one completed (may free c). */
void fl_call_advance(fl_call *c);
/* The FL_TAG_STEP and FL_TAG_CLOSE events. */
void fl_call_on_step(fl_call *c, bool ok);
void fl_call_on_close(fl_call *c, bool ok);

/* flight_call_wake.c */
/* True if the chain is now parked; false if a wake came meanwhile. */
bool fl_call_park(fl_call *c);
/* The FL_TAG_WAKE event: the doorbell rang; advance the chain. */
void fl_call_on_wake(fl_call *c);

#endif
