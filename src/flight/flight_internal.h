/*
** Private to src/flight: the per-call state machine shared by the RPC
** handlers, the hand-written FlightData wire code and status mapping.
**
** One fl_call per accepted gRPC call. Its life (flight_call_step.c drives it):
**
**   RECV   a RECV_MESSAGE batch is outstanding; each message goes to
**          rpc->on_message; a clean half-close goes to rpc->on_end.
**   SEND   queued replies (c->out) go out one SEND_MESSAGE batch at a time,
**          the first with the initial metadata. Only one write is ever in
**          flight, which is the stream's flow control: a producer (DoGet)
**          is asked for its next message only after the previous write
**          completed.
**   STATUS the final SEND_STATUS batch is outstanding.
**   PARKED produce returned *done=false with nothing queued: the step chain
**          waits, with no batch outstanding, for fl_call_wake. A wake rings
**          the call's doorbell (a call on a lame channel bound to the
**          server's queue, which fails at once: tag kind FL_TAG_WAKE), and
**          the worker that takes the event runs produce again. A wake that
**          comes while the chain is busy (not parked) is remembered, so the
**          next park runs produce once more instead; produce must therefore
**          tolerate spurious calls (queue nothing, park again).
**          Also when rpc->recv_ready says not ready (a put waiting for a
**          query slot or its table's writer slot): no read is posted, so
**          gRPC flow control holds the client back until the wake.
**   DONE   no step batch outstanding.
**
** Beside the step chain, a RECV_CLOSE_ON_SERVER batch is outstanding from
** the start; it completes when the call ends and says whether the client
** cancelled (or vanished). The call is freed when both the step chain and
** the close batch have completed (c->pending reaches 0). A parked or ringing
** chain still holds its pending unit, so a parked call is never freed under
** a waker; the close handler wakes a parked chain, which then sees the
** cancellation and finishes (so cancelling a parked call frees it).
**
** fl_call_wake(c) is thread-safe and takes only c->wake_mu (never c->mu), so
** a waker may hold its own lock that rpc->free_state also takes (free_state
** runs under c->mu). It may be called until rpc->free_state has returned;
** whoever wakes must drop its pointer to the call in free_state.
** Lock order: c->mu -> (rpc locks) -> c->wake_mu -> srv->mu.
**
** Ownership: the call owns its grpc_call, its queued byte buffers and its
** rpc state (freed through rpc->free_state, which must abort anything not
** committed). Step handlers run on one worker at a time (there is only one
** step batch in flight); the close handler may run concurrently and only
** touches c->cancelled and calls rpc->on_cancel under c->mu.
*/
#ifndef QUIVER_FLIGHT_INTERNAL_H
#define QUIVER_FLIGHT_INTERNAL_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <pthread.h>

#include "flight.pb-c.h"
#include "flight/flight.h"
#include "ipc/ipc.h"

typedef struct fl_call fl_call;

/* Partitioned FlightInfos (flight_partition.c): per server. */
typedef struct fl_part_cfg {
    int64_t partition_rows;  /* rows per endpoint of a partitioned scan */
    int64_t ttl_ns;          /* ticket lifetime */
    char advertise[256];     /* this server's grpc://HOST:PORT for endpoint locations, or "" */
} fl_part_cfg;

typedef struct fl_rpc {
    const char *name;        /* method name after the service prefix */
    bool client_streams;     /* receive until half-close (DoPut, Handshake) */
    /* A request message. Return QV_OK or a status with err filled. */
    int (*on_message)(fl_call *c, qv_buffer *msg, qv_err *err);
    /* The client half-closed cleanly (client_streams only). */
    int (*on_end)(fl_call *c, qv_err *err);
    /* Lazy replies: queue at most a few messages; *done when none remain.
       *done false with nothing queued parks the call until fl_call_wake. */
    int (*produce)(fl_call *c, bool *done, qv_err *err);
    /* Optional, before each read: *ready false with no error stops reading
       (back-pressure: the client waits) and parks the call until fl_call_wake. */
    int (*recv_ready)(fl_call *c, bool *ready, qv_err *err);
    /* From the close handler, under c->mu: stop work in progress. */
    void (*on_cancel)(fl_call *c);
    /* Frees c->state; must roll back anything not committed. */
    void (*free_state)(fl_call *c);
} fl_rpc;

typedef struct fl_tag {
    fl_call *call;
    int kind; /* FL_TAG_STEP, FL_TAG_CLOSE, FL_TAG_WAKE, ... */
} fl_tag;
enum { FL_TAG_STEP = 1, FL_TAG_CLOSE = 2, FL_TAG_NEW = 3, FL_TAG_SHUTDOWN = 4, FL_TAG_WAKE = 5 };

enum { FL_RECV, FL_SEND, FL_STATUS, FL_DONE };

struct fl_call {
    struct flight_server *srv;
    eng *e;
    int64_t max_batch_bytes;
    const fl_part_cfg *part;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array req_md;
    const fl_rpc *rpc;
    void *state;

    pthread_mutex_t mu;
    int pending;            /* outstanding batches (step + close) */
    bool cancelled;         /* close batch said the call was cancelled */
    bool close_done;
    int phase;              /* FL_RECV ... FL_DONE */
    bool input_done;        /* no more messages will be read */
    bool md_sent;
    bool status_set;        /* an error status replaces the rest */
    grpc_status_code status;
    char status_msg[512];
    grpc_slice status_slice;

    grpc_byte_buffer *recv_buf;
    int close_cancelled;
    grpc_byte_buffer *send_buf;  /* the write in flight */
    grpc_byte_buffer **out;      /* queued replies, FIFO */
    int nout, out_head, out_cap;

    pthread_mutex_t wake_mu;     /* guards the four below */
    bool parked;                 /* step chain waits for fl_call_wake */
    bool wake_again;             /* a wake came while the chain was busy */
    grpc_call *wake_call;        /* the doorbell call in flight, if any */
    grpc_metadata_array wake_md;
    grpc_status_code wake_status;
    grpc_slice wake_details;

    fl_tag step_tag, close_tag, wake_tag;

    auth_identity id;            /* who is calling (fl_auth_start) */
    grpc_metadata init_md[3];    /* extra initial metadata (Handshake's token, Flight SQL set-cookie) */
    size_t n_init_md;
    int64_t start_ns, recv_bytes;
};

/* Make the call's rpc->produce run again on a worker (see the top). */
void fl_call_wake(fl_call *c);
/* A wake that, instead of ringing the doorbell, hands a parked chain to the
   caller: true means the caller must call fl_call_run(c) next (on its own
   thread, holding no lock the rpc takes), which advances the call as a
   worker would; false means the wake was recorded (the chain was busy) or
   the server is stopping. Same rules as fl_call_wake otherwise. */
bool fl_call_claim(fl_call *c);
void fl_call_run(fl_call *c);
/* Cancel the call now with this status (what the client sees), even with a
   write stuck behind a client that does not read. Same contract as wake. */
void fl_call_abort(fl_call *c, grpc_status_code code, const char *msg);
/* End the call with this gRPC status instead of one mapped from qv_status
   (e.g. UNAVAILABLE); the first error set wins. Step thread only. */
void fl_call_fail(fl_call *c, grpc_status_code code, const char *msg);

/* Transport tests: one extra RPC served under its own name (NULL in quiverd),
   and the number of calls alive (accepted or awaiting a request). */
extern const fl_rpc *fl_test_rpc;
int fl_server_live_calls(flight_server *s);

/* Add a header to the call's initial metadata (before its first batch). */
void fl_call_add_initial_metadata(fl_call *c, const char *key, const char *value);

/* ---- authentication and roles (flight_auth.c) ----
** Every RPC handler may assume c->id is an authenticated user whose role
** passed the RPC's own check. What a call carries needs its own check:
**   fl_call_authorize_query(c, q, err)  after eng_query_open, before any
**       next(): SELECT/SHOW/DESCRIBE/EXPLAIN need read, INSERT/CREATE write,
**       DROP/TRUNCATE/SET RETENTION admin (by statement kind, sql_query_access).
**       Flight SQL commands call this too.
**   fl_call_authorize(c, AUTH_ROLE_WRITE, "ingest into t", err)  for
**       anything else (Flight SQL ingest/updates: write; admin actions).
** Both return QV_OK or QV_EPERM (PERMISSION_DENIED naming user, what was
** refused and the role needed), counted in /metrics. */
auth_store *fl_call_auth(fl_call *c); /* NULL: no --users */
int fl_auth_start(fl_call *c, qv_err *err);
int fl_call_authorize(fl_call *c, auth_role need, const char *what, qv_err *err);
int fl_call_authorize_query(fl_call *c, const eng_query *q, qv_err *err);
int fl_call_authorize_action(fl_call *c, const char *type, qv_err *err);
/* Prepare sql only to check its statement kind (no-op without --users or for admins). */
int fl_call_authorize_sql(fl_call *c, const char *sql, size_t len, qv_err *err);

/* Queue a reply (takes ownership of bb). */
void fl_call_push(fl_call *c, grpc_byte_buffer *bb);
/* Queue a reply serialized from a protobuf-c message. */
void fl_call_push_pb(fl_call *c, const void *pb_message);
int fl_call_queued(const fl_call *c);

grpc_status_code fl_status_from_qv(qv_status s);

/* ---- wire: FlightData by hand (flight_wire.c) ---- */
/* One FlightData from an IPC message: header + zero-copy body slices
   holding refs on the message's buffers. app_metadata may be NULL. */
grpc_byte_buffer *fl_flightdata_from_ipc(const ipc_message *m, const uint8_t *app_md, size_t app_md_len);

typedef struct fl_flightdata {
    bool has_descriptor;
    const uint8_t *descriptor; size_t descriptor_len;  /* serialized FlightDescriptor */
    const uint8_t *header; size_t header_len;          /* IPC Message flatbuffer */
    const uint8_t *app_md; size_t app_md_len;
    const uint8_t *body; size_t body_len;
} fl_flightdata;
/* Parse a FlightData message; pointers alias p. Verifies every length. */
int fl_flightdata_parse(const uint8_t *p, size_t n, fl_flightdata *out, qv_err *err);
/* Feed one parsed FlightData with a data_header to an IPC decoder. The body
   is a slice of msg when 8-byte aligned, else a copy. Bytes from a client that
   fail verification are the client's error: QV_ECORRUPT becomes QV_EINVAL. */
int fl_flightdata_decode(ipc_decoder *dec, qv_buffer *msg, const fl_flightdata *fd, ipc_event *ev, qv_batch *batch,
                         qv_err *err);

/* Whole message as one contiguous buffer holding the bytes (a ref to keep). */
/* The received message as one buffer: a view of a single slice, else one
   copy (a big one into a pooled block, its body 64-byte aligned). */
qv_buffer *fl_bb_to_buffer(grpc_byte_buffer *bb);
/* Where the body field's bytes start in a FlightData message whose first n
   bytes are p (untrusted); 0 when that is not within them. */
size_t fl_flightdata_body_offset(const uint8_t *p, size_t n);
extern size_t fl_recv_pool_min; /* messages from this size on go to a pooled block (the fuzzer lowers it) */
/* Serialize a protobuf-c message into a byte buffer. */
grpc_byte_buffer *fl_bb_from_pb(const void *pb_message);

/* ---- request helpers (flight_rpc_meta.c) ---- */
/* Copy a table name (1..QV_NAME_MAX bytes, no control bytes) into out. */
int fl_table_name(const uint8_t *p, size_t n, char *out, qv_err *err);
void fl_select_all(const char *table, qv_str *sql);
/* QV_OK if p..n can be SQL text (not empty, not binary, not huge). */
int fl_ticket_sql(const uint8_t *p, size_t n, qv_err *err);

/* ---- sealed tickets (flight_ticket.c) ---- */
enum { FL_TICKET_QUERY = 1, FL_TICKET_RANGE = 2 };
typedef struct fl_ticket {
    int kind;             /* FL_TICKET_QUERY: the whole query; RANGE: rows of one table */
    int64_t expires_ns;   /* wall clock, ns since the epoch */
    const char *sql;      /* seal: the caller's; open: points into the ticket bytes */
    size_t sql_len;
    eng_range range;      /* FL_TICKET_RANGE */
} fl_ticket;
/* True when p starts like a sealed ticket (which SQL text never does). */
bool fl_ticket_is_sealed(const uint8_t *p, size_t n);
/* Append the sealed ticket (key: ENG_KEY_BYTES). */
void fl_ticket_seal(const uint8_t *key, const fl_ticket *t, qv_str *out);
/* Verify and decode: QV_EINVAL forged/garbled, QV_ENOTFOUND expired. */
int fl_ticket_open(const uint8_t *key, const uint8_t *p, size_t n, int64_t now_ns, fl_ticket *out, qv_err *err);

/* ---- endpoints of a FlightInfo (flight_partition.c) ----
** For every front end that answers GetFlightInfo (raw CMD/PATH, Flight SQL):
** give it the open query and its SQL; attach the endpoints to the FlightInfo
** (sets endpoint, n_endpoint, ordered); free after packing. */
struct fl_endpoints_parts;
typedef struct fl_endpoints {
    int n;
    bool partitioned;     /* a scan split by row ranges (else one whole-query endpoint) */
    bool ordered;
    int64_t total_rows;   /* exact row count when known, else -1 */
    struct fl_endpoints_parts *parts;
    Arrow__Flight__Protocol__FlightEndpoint **ptrs;
} fl_endpoints;
void fl_part_cfg_init(fl_part_cfg *cfg, const flight_options *opts);
int fl_endpoints_build(eng *e, const fl_part_cfg *cfg, eng_query *q, const char *sql, size_t len,
                       fl_endpoints *out, qv_err *err);
void fl_endpoints_attach(fl_endpoints *eps, Arrow__Flight__Protocol__FlightInfo *info);
void fl_endpoints_free(fl_endpoints *eps);
/* DoGet of a sealed ticket: verify it, open its query (or its row range). */
int fl_ticket_query_open(eng *e, const uint8_t *p, size_t n, eng_query **q, qv_err *err);

/* ---- call options (flight_callopts.c) ---- */
/* The `quiver-compression` request header: none (absent), lz4 or zstd; any
   other value is QV_EINVAL naming the valid ones. */
int fl_call_compression(const fl_call *c, ipc_compression *out, qv_err *err);

/* ---- replication (flight_repl.c: the primary's side; flight_follow.c: the replica's) ---- */
typedef struct fl_repl fl_repl;
bool fl_repl_is_ticket(const uint8_t *p, size_t n);
/* A replication stream for the DoGet of ticket p (NULL with err if refused). */
fl_repl *fl_repl_new(const uint8_t *p, size_t n, uint64_t own_nonce, qv_err *err);
int fl_repl_produce(fl_call *c, fl_repl *r, bool *done, qv_err *err);
void fl_repl_cancel(fl_repl *r);
void fl_repl_free(fl_repl *r);
void fl_repl_record(qv_str *out, char kind, uint64_t id, int64_t row_from, const char *name, const void *blob,
                    size_t blob_len);
void fl_repl_ticket(uint64_t nonce, int64_t file_rows, const char *advertise, const uint64_t *ids,
                    const int64_t *rows, const int64_t *trims, int n, qv_str *out);
/* Addresses of the live replicas, rotated per call (caller frees each and the array). */
int fl_repl_locations(char ***out);
bool fl_server_stopping(const fl_call *c);

typedef struct fl_follower fl_follower;
/* user/login: --replication-user and its authorization header value (NULL: none). */
int fl_follower_start(eng *e, const char *primary, const char *advertise, const char *user, const char *login,
                      fl_follower **out, qv_err *err);
void fl_follower_stop(fl_follower *f);
int64_t fl_follower_lag_ms(const fl_follower *f);  /* since the last heartbeat; -1 never */
uint64_t fl_follow_nonce(void);
/* ---- query work off the completion queue (flight_task.c) ----
** A streaming RPC calls fl_task_next from produce(): the first call asks
** for an admission slot (QV_EBUSY "server busy: ..." if the queue is full),
** every call runs eng_query_next on a query runner. *ready false: return
** from produce with *done=false and nothing queued (the call parks; the
** runner wakes it). on_cancel calls fl_task_cancel, free_state calls
** fl_task_finish before closing the query (waits for the runner, gives the
** slot back). */
typedef struct fl_task {
    eng_task t; /* first: the scheduler's handle */
    fl_call *call;
    eng_query *q;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state, busy;
    bool inited, submitted, admitted, eos;
    qv_batch out;
    int rc;
    qv_err err;
    int (*job)(void *arg, qv_err *err);
    void *job_arg;
    bool slot_held; /* fl_put_gate (step thread only): admitted, the slot not given back */
} fl_task;
void fl_task_init(fl_task *t, fl_call *c);
/* On the step thread without c->mu, for a task the close handler can cancel
   (rpc->on_cancel -> fl_task_cancel, under c->mu). */
void fl_task_init_step(fl_task *t, fl_call *c);
void fl_task_finish_step(fl_task *t);
int fl_task_next(fl_task *t, qv_batch *out, bool *eos, bool *ready, qv_err *err);
/* Work that may block on storage (a put's commit, an update, DDL) run on a
** query runner through admission, as a query is: call it (from produce or
** recv_ready) until *ready (its result is the return value and err). The
** first submission takes the admission slot; a later one (once the previous
** is ready) runs on that slot at once. fl_task_finish gives the slot back. The runner runs fn(arg) while the call is parked, so
** fn must not queue replies or touch the step chain: leave results in the
** rpc state for produce to send. */
int fl_task_job(fl_task *t, int (*fn)(void *arg, qv_err *err), void *arg, bool *ready, qv_err *err);
void fl_task_cancel(fl_task *t);
void fl_task_finish(fl_task *t);
/* A put (raw DoPut, Flight SQL ingest) opens its eng_put behind two gates,
** always in this order: a query slot (admitted as a query is: FIFO, or
** RESOURCE_EXHAUSTED when the queue is full; the commit then runs on it),
** then the table's writer slot. One order everywhere (SQL INSERT too), so
** no cycle. While it waits for the writer slot it gives the query slot
** back and holds nothing; told the writer slot is free, it queues for a
** query slot again. Call before reading each batch (rpc->recv_ready):
** *ready false means park, read nothing (the client waits under its own
** deadline: gRPC flow control). */
typedef struct fl_put_open {
    const char *table;
    const qv_schema *schema;
    eng_put_mode mode;
} fl_put_open;
int fl_put_gate(fl_call *c, fl_task *t, fl_put_open *o, eng_put **put, bool *ready, qv_err *err);
/* A put's batches are applied (copied into the table, full row groups written
** to their files) on a query runner too, on the put's slot: on_message hands
** the decoded batch to fl_put_feed_take; the next recv_ready calls
** fl_put_feed_ready, which runs it and says *ready false (park) until it is
** done, then returns its status. fl_put_feed_free after fl_task_finish. */
typedef struct fl_put_feed {
    eng_put **put;
    qv_batch b;      /* received, waiting (has) */
    qv_batch run;    /* on the runner (out); the job frees it */
    bool has, out;
    bool pipelined;  /* the next message is read while one batch is applied (raw DoPut) */
} fl_put_feed;
void fl_put_feed_take(fl_put_feed *f, eng_put **put, qv_batch *b); /* takes b */
/* Pipelined, *ready means "read the next message" while a batch may still be
   applying (at most one more waits). fl_put_feed_drain: *ready only once
   every batch taken is applied (before a commit uses the task). */
int fl_put_feed_ready(fl_task *t, fl_put_feed *f, bool *ready, qv_err *err);
int fl_put_feed_drain(fl_task *t, fl_put_feed *f, bool *ready, qv_err *err);
void fl_put_feed_free(fl_put_feed *f);
/* The client's gRPC deadline becomes the query's time limit. */
void fl_call_apply_deadline(fl_call *c, eng_query *q);

/* ---- TLS (flight_tls.c) ---- */
int fl_server_credentials(const flight_options *o, grpc_server_credentials **out, qv_err *err);

/* ---- RPC tables (flight_rpc_*.c) ---- */
extern const fl_rpc fl_rpc_handshake, fl_rpc_list_actions, fl_rpc_do_action, fl_rpc_do_exchange,
    fl_rpc_poll_flight_info, fl_rpc_do_get, fl_rpc_get_flight_info, fl_rpc_get_schema,
    fl_rpc_list_flights, fl_rpc_do_put;

/* Flight SQL hooks the RPC files call (flight_sql*.c; see flight_sql.h). */
bool fl_sql_is_any(const uint8_t *p, size_t n);
struct Arrow__Flight__Protocol__FlightDescriptor;
int fl_sql_flight_info(fl_call *c, const struct Arrow__Flight__Protocol__FlightDescriptor *d, qv_err *err);
int fl_sql_schema(fl_call *c, const struct Arrow__Flight__Protocol__FlightDescriptor *d, qv_err *err);
int fl_sql_doget(fl_call *c, const uint8_t *p, size_t n, eng_query **q, qv_err *err);
void fl_sql_doget_done(eng_query *q);
bool fl_sql_put_claims(const qv_buffer *msg);
int fl_sql_put_start(fl_call *c, qv_buffer *msg, qv_err *err);
bool fl_sql_action_known(const char *type);
int fl_sql_action(fl_call *c, const char *type, const uint8_t *body, size_t n, qv_err *err);

#endif
