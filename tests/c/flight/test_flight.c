/*
** Flight transport tests that need neither SQL nor storage: the hand-made
** FlightData wire code, and a real server answering a real gRPC C client
** (ping, ListActions, unknown action / method, unimplemented RPCs, a taken
** port, shutdown). The engine and IPC functions Flight calls are replaced
** by the small fakes at the bottom, so only src/flight is under test.
*/
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "flight.pb-c.h"
#include "flight_internal.h"
#include "qtest.h"

#include <pthread.h>
#include <time.h>

/* ---- wire ---- */

static qv_buffer *bb_bytes(grpc_byte_buffer *bb) {
    qv_buffer *b = fl_bb_to_buffer(bb);
    grpc_byte_buffer_destroy(bb);
    return b;
}

QTEST(flightdata_roundtrip_zero_copy_body) {
    qv_buffer *col = qv_buffer_new(10000);
    for (int i = 0; i < 10000; i++) col->data[i] = (uint8_t)(i * 7);
    col->size = 10000;
    ipc_message m;
    memset(&m, 0, sizeof m);
    qv_str_init(&m.metadata);
    qv_str_append(&m.metadata, "METADATA", 8);
    ipc_piece pieces[3] = {{col->data, 10000, col}, {NULL, 0 + 0, NULL}, {col->data, 16, col}};
    pieces[1].len = 8; /* padding */
    m.pieces = pieces;
    m.npieces = 3;
    m.body_len = 10000 + 8 + 16;
    grpc_byte_buffer *bb = fl_flightdata_from_ipc(&m, (const uint8_t *)"md", 2);
    qv_buffer_unref(col); /* the byte buffer must keep the column alive */
    qv_buffer *wire = bb_bytes(bb);
    fl_flightdata fd;
    qv_err err;
    QCHECK_EQ(fl_flightdata_parse(wire->data, wire->size, &fd, &err), QV_OK);
    QCHECK(!fd.has_descriptor);
    QCHECK_EQ(fd.header_len, 8);
    QCHECK(memcmp(fd.header, "METADATA", 8) == 0);
    QCHECK_EQ(fd.app_md_len, 2);
    QCHECK_EQ(fd.body_len, 10024);
    for (int i = 0; i < 10000; i++) QCHECK_EQ(fd.body[i], (uint8_t)(i * 7));
    for (int i = 0; i < 8; i++) QCHECK_EQ(fd.body[10000 + i], 0);
    QCHECK_EQ(fd.body[10008 + 3], (uint8_t)21);
    qv_buffer_unref(wire);
    qv_str_free(&m.metadata);
}

/* A big message whose fields before the body straddle slices (it began in
   the last bytes of a read buffer) still has its body placed on a page,
   which storage's O_DIRECT writes need; and every byte survives. */
QTEST(big_message_body_is_page_aligned_whatever_the_slices) {
    size_t blen = 1 << 20;
    qv_buffer *col = qv_buffer_new(blen);
    for (size_t i = 0; i < blen; i++) col->data[i] = (uint8_t)(i * 13 + 1);
    col->size = blen;
    ipc_message m;
    memset(&m, 0, sizeof m);
    qv_str_init(&m.metadata);
    qv_str_append(&m.metadata, "HEADER-OF-A-RECORD-BATCH", 24);
    ipc_piece pieces[1] = {{col->data, blen, col}};
    m.pieces = pieces;
    m.npieces = 1;
    m.body_len = blen;
    qv_buffer *flat = bb_bytes(fl_flightdata_from_ipc(&m, NULL, 0));
    qv_buffer_unref(col);
    size_t cuts[] = {0, 5, 9, 40000}; /* first slices shorter than the fields before the body */
    for (int first = 0; first < 2; first++) {
        grpc_slice sl[64];
        size_t ns = 0, at = 0;
        for (size_t k = first ? 0 : 3; k + 1 < sizeof cuts / sizeof cuts[0]; k++, ns++) {
            sl[ns] = grpc_slice_from_copied_buffer((const char *)flat->data + cuts[k], cuts[k + 1] - cuts[k]);
            at = cuts[k + 1];
        }
        for (; at < flat->size; ns++) {
            size_t n = flat->size - at < 65536 ? flat->size - at : 65536;
            sl[ns] = grpc_slice_from_copied_buffer((const char *)flat->data + at, n);
            at += n;
        }
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(sl, ns);
        for (size_t k = 0; k < ns; k++) grpc_slice_unref(sl[k]);
        qv_buffer *got = bb_bytes(bb);
        fl_flightdata fd;
        qv_err err;
        QCHECK_EQ(fl_flightdata_parse(got->data, got->size, &fd, &err), QV_OK);
        QCHECK_EQ(fd.body_len, blen);
        QCHECK_EQ((uintptr_t)fd.body % 4096, 0);
        QCHECK(memcmp(fd.body, flat->data + (flat->size - blen), blen) == 0);
        qv_buffer_unref(got);
    }
    qv_buffer_unref(flat);
    qv_str_free(&m.metadata);
}

QTEST(flightdata_parse_rejects_bad_lengths) {
    fl_flightdata fd;
    qv_err err;
    /* field 2, length 100, only 3 bytes follow */
    const uint8_t trunc[] = {0x12, 100, 1, 2, 3};
    QCHECK_EQ(fl_flightdata_parse(trunc, sizeof trunc, &fd, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "claims more bytes") != NULL);
    /* a varint that never ends */
    const uint8_t endless[] = {0x12, 0xff, 0xff, 0xff};
    QCHECK_EQ(fl_flightdata_parse(endless, sizeof endless, &fd, &err), QV_EINVAL);
    /* wire type 7 */
    const uint8_t badwt[] = {0x0f};
    QCHECK_EQ(fl_flightdata_parse(badwt, sizeof badwt, &fd, &err), QV_EINVAL);
    /* a huge length that would wrap a pointer */
    const uint8_t huge[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    QCHECK_EQ(fl_flightdata_parse(huge, sizeof huge, &fd, &err), QV_EINVAL);
    /* empty is a valid (empty) message; unknown fields are skipped */
    QCHECK_EQ(fl_flightdata_parse(NULL, 0, &fd, &err), QV_OK);
    const uint8_t unknown[] = {0x20, 5, 0x2a, 1, 9, 0x12, 1, 'x'};
    QCHECK_EQ(fl_flightdata_parse(unknown, sizeof unknown, &fd, &err), QV_OK);
    QCHECK_EQ(fd.header_len, 1);
    /* random garbage never crashes */
    uint32_t x = 12345;
    uint8_t junk[256];
    for (int round = 0; round < 2000; round++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        fl_flightdata_parse(junk, (size_t)(x % sizeof junk), &fd, &err);
    }
}

QTEST(sealed_tickets_open_only_as_sealed) {
    uint8_t key[ENG_KEY_BYTES] = {7}, other[ENG_KEY_BYTES] = {8};
    fl_ticket t;
    memset(&t, 0, sizeof t);
    t.kind = FL_TICKET_RANGE;
    t.expires_ns = 2000;
    t.sql = "SELECT a FROM x WHERE a > 1";
    t.sql_len = strlen(t.sql);
    strcpy(t.range.table, "x");
    t.range.table_id = 42;
    t.range.row_from = 65536;
    t.range.row_to = 131072;
    qv_str s;
    qv_str_init(&s);
    fl_ticket_seal(key, &t, &s);
    const uint8_t *p = (const uint8_t *)s.data;
    QCHECK(fl_ticket_is_sealed(p, s.len));
    QCHECK(fl_ticket_sql(p, s.len, NULL) != QV_OK); /* never mistaken for SQL */
    fl_ticket o;
    qv_err err;
    QCHECK_OK(fl_ticket_open(key, p, s.len, 1000, &o, &err), &err);
    QCHECK_EQ(o.kind, FL_TICKET_RANGE);
    QCHECK_STR(o.range.table, "x");
    QCHECK_EQ(o.range.table_id, 42);
    QCHECK_EQ(o.range.row_from, 65536);
    QCHECK_EQ(o.range.row_to, 131072);
    QCHECK_EQ(o.sql_len, t.sql_len);
    QCHECK(memcmp(o.sql, t.sql, t.sql_len) == 0);
    QCHECK_EQ(fl_ticket_open(key, p, s.len, 2001, &o, &err), QV_ENOTFOUND); /* expired */
    QCHECK(strstr(err.msg, "expired") != NULL);
    QCHECK_EQ(fl_ticket_open(other, p, s.len, 1000, &o, &err), QV_EINVAL); /* another server's key */
    for (size_t i = 4; i < s.len; i++) { /* any flipped bit past the magic */
        s.data[i] ^= 0x10;
        QCHECK_EQ(fl_ticket_open(key, p, s.len, 1000, &o, &err), QV_EINVAL);
        s.data[i] ^= 0x10;
    }
    for (size_t n = 0; n < s.len; n++) QCHECK(fl_ticket_open(key, p, n, 1000, &o, &err) != QV_OK);
    qv_str_free(&s);
}

/* The expiry message names the stamp in UTC for any int64 one, even the
   most negative (a fuzzer found the age computed in int64 overflowing). */
QTEST(expired_ticket_names_its_stamp) {
    uint8_t key[ENG_KEY_BYTES] = {7};
    const int64_t stamps[] = {1709296496000000000LL, -1, INT64_MIN};
    const char *want[] = {"expired at 2024-03-01T12:34:56Z", "expired at 1969-12-31T23:59:59Z",
                          "expired at 1677-09-21T00:12:43Z"};
    for (int i = 0; i < 3; i++) {
        fl_ticket t;
        memset(&t, 0, sizeof t);
        t.kind = FL_TICKET_QUERY;
        t.expires_ns = stamps[i];
        t.sql = "SELECT 1";
        t.sql_len = strlen(t.sql);
        qv_str s;
        qv_str_init(&s);
        fl_ticket_seal(key, &t, &s);
        fl_ticket o;
        qv_err err;
        QCHECK_EQ(fl_ticket_open(key, (const uint8_t *)s.data, s.len, INT64_MAX, &o, &err), QV_ENOTFOUND);
        qv_str_free(&s);
        if (!strstr(err.msg, want[i])) fprintf(stderr, "  got: %s\n", err.msg);
        QCHECK(strstr(err.msg, want[i]) != NULL);
    }
}

QTEST(status_mapping) {
    QCHECK_EQ(fl_status_from_qv(QV_EINVAL), GRPC_STATUS_INVALID_ARGUMENT);
    QCHECK_EQ(fl_status_from_qv(QV_ENOTFOUND), GRPC_STATUS_NOT_FOUND);
    QCHECK_EQ(fl_status_from_qv(QV_ERESOURCE), GRPC_STATUS_RESOURCE_EXHAUSTED);
    QCHECK_EQ(fl_status_from_qv(QV_ECANCELLED), GRPC_STATUS_CANCELLED);
    QCHECK_EQ(fl_status_from_qv(QV_EEXISTS), GRPC_STATUS_ALREADY_EXISTS);
    QCHECK_EQ(fl_status_from_qv(QV_EUNSUPPORTED), GRPC_STATUS_UNIMPLEMENTED);
    QCHECK_EQ(fl_status_from_qv(QV_EIO), GRPC_STATUS_INTERNAL);
    QCHECK_EQ(fl_status_from_qv(QV_ECORRUPT), GRPC_STATUS_INTERNAL);
}

/* ---- a real server and a gRPC C client ---- */

typedef struct reply {
    grpc_status_code status;
    char details[600];
    int nmsgs;
    qv_buffer *msgs[16];
} reply;

static void reply_free(reply *r) {
    for (int i = 0; i < r->nmsgs; i++) qv_buffer_unref(r->msgs[i]);
}

static void pluck(grpc_completion_queue *cq, void *tag) {
    grpc_event ev = grpc_completion_queue_pluck(cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    (void)ev;
}

/* One request message, half-close, read every reply and the status. */
static void call_rpc(int port, const char *method, const void *req, size_t len, reply *r) {
    memset(r, 0, sizeof *r);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    char full[128];
    snprintf(full, sizeof full, "/arrow.flight.protocol.FlightService/%s", method);
    grpc_slice ms = grpc_slice_from_copied_string(full);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(20, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, ms, NULL, deadline, NULL);
    grpc_slice_unref(ms);
    grpc_slice body = grpc_slice_from_copied_buffer(req, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    grpc_metadata_array md, tmd;
    grpc_metadata_array_init(&md);
    grpc_metadata_array_init(&tmd);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
    grpc_call_start_batch(call, ops, 4, (void *)1, NULL);
    pluck(cq, (void *)1);
    grpc_byte_buffer_destroy(bb);
    for (;;) {
        grpc_byte_buffer *in = NULL;
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &in;
        grpc_call_start_batch(call, &op, 1, (void *)2, NULL);
        pluck(cq, (void *)2);
        if (!in) break;
        if (r->nmsgs < 16) r->msgs[r->nmsgs++] = fl_bb_to_buffer(in);
        grpc_byte_buffer_destroy(in);
    }
    grpc_slice details;
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &tmd;
    op.data.recv_status_on_client.status = &r->status;
    op.data.recv_status_on_client.status_details = &details;
    grpc_call_start_batch(call, &op, 1, (void *)3, NULL);
    pluck(cq, (void *)3);
    char *d = grpc_slice_to_c_string(details);
    snprintf(r->details, sizeof r->details, "%s", d);
    gpr_free(d);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md);
    grpc_metadata_array_destroy(&tmd);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
}

static void action(int port, const char *type, const char *body, reply *r) {
    Arrow__Flight__Protocol__Action a = ARROW__FLIGHT__PROTOCOL__ACTION__INIT;
    a.type = (char *)type;
    a.body.data = (uint8_t *)body;
    a.body.len = strlen(body);
    uint8_t buf[256];
    size_t n = arrow__flight__protocol__action__pack(&a, buf);
    call_rpc(port, "DoAction", buf, n, r);
}

QTEST(server_actions_and_errors) {
    grpc_init();
    flight_options o = {.host = "127.0.0.1", .port = 0, .threads = 2};
    flight_server *s;
    int port = 0;
    qv_err err;
    QCHECK_EQ(flight_server_start(NULL, &o, &s, &port, &err), QV_OK);
    QCHECK(port > 0);

    reply r;
    action(port, "ping", "", &r);
    QCHECK_EQ(r.status, GRPC_STATUS_OK);
    QCHECK_EQ(r.nmsgs, 1);
    Arrow__Flight__Protocol__Result *res =
        arrow__flight__protocol__result__unpack(NULL, r.msgs[0]->size, r.msgs[0]->data);
    QCHECK(res && res->body.len == 4 && memcmp(res->body.data, "pong", 4) == 0);
    arrow__flight__protocol__result__free_unpacked(res, NULL);
    reply_free(&r);

    action(port, "fly_to_moon", "", &r);
    QCHECK_EQ(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    QCHECK(strstr(r.details, "fly_to_moon") && strstr(r.details, "ping") && strstr(r.details, "describe_table"));
    reply_free(&r);

    action(port, "drop_table", "", &r); /* empty name: refused before the engine is asked */
    QCHECK_EQ(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    reply_free(&r);

    call_rpc(port, "ListActions", "", 0, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_OK);
    QCHECK_EQ(r.nmsgs, 4);
    Arrow__Flight__Protocol__ActionType *at =
        arrow__flight__protocol__action_type__unpack(NULL, r.msgs[0]->size, r.msgs[0]->data);
    QCHECK(at && strcmp(at->type, "ping") == 0 && at->description[0]);
    arrow__flight__protocol__action_type__free_unpacked(at, NULL);
    reply_free(&r);

    call_rpc(port, "DoAction", "\xff\xff\xff", 3, &r); /* not an Action */
    QCHECK_EQ(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    reply_free(&r);

    call_rpc(port, "DoExchange", "", 0, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_UNIMPLEMENTED);
    QCHECK(strstr(r.details, "DoExchange") != NULL);
    reply_free(&r);
    call_rpc(port, "PollFlightInfo", "", 0, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_UNIMPLEMENTED);
    reply_free(&r);
    call_rpc(port, "NoSuchMethod", "", 0, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_UNIMPLEMENTED);
    reply_free(&r);

    /* DoPut whose first message is garbage: a clear error, nothing begun */
    call_rpc(port, "DoPut", "\x12\x64\x01", 3, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    reply_free(&r);
    /* DoPut that ends before any schema */
    call_rpc(port, "DoPut", "", 0, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_INVALID_ARGUMENT);
    QCHECK(strstr(r.details, "descriptor") || strstr(r.details, "schema"));
    reply_free(&r);

    Arrow__Flight__Protocol__HandshakeRequest hr = ARROW__FLIGHT__PROTOCOL__HANDSHAKE_REQUEST__INIT;
    hr.protocol_version = 7;
    uint8_t hb[32];
    size_t hn = arrow__flight__protocol__handshake_request__pack(&hr, hb);
    call_rpc(port, "Handshake", hb, hn, &r);
    QCHECK_EQ(r.status, GRPC_STATUS_OK);
    QCHECK_EQ(r.nmsgs, 1);
    reply_free(&r);

    /* The same port again: refused with QV_EIO and a message. */
    flight_server *s2 = NULL;
    int port2 = 0;
    o.port = port;
    QCHECK_EQ(flight_server_start(NULL, &o, &s2, &port2, &err), QV_EIO);
    QCHECK(strstr(err.msg, "cannot listen") != NULL);
    QCHECK(s2 == NULL);

    /* still serving after all that */
    action(port, "ping", "", &r);
    QCHECK_EQ(r.status, GRPC_STATUS_OK);
    reply_free(&r);

    flight_server_shutdown(s, 1000);
    flight_server_free(s);
    grpc_shutdown();
}

/* ---- parking and fl_call_wake, through a test RPC ----
** TestPark sends message k only once the test has allowed k+1 messages, and
** parks (produce: *done false, nothing queued) otherwise; the test wakes it
** with fl_call_wake from its own thread, as the engine's commit hub would. */

static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static fl_call *park_call;       /* the live TestPark call, under park_mu */
static int park_allowed, park_finish, park_freed, park_produced;

typedef struct park_state { int sent; } park_state;

static int park_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    (void)msg; (void)err;
    pthread_mutex_lock(&c->mu);
    c->state = qv_xcalloc(1, sizeof(park_state));
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_lock(&park_mu);
    park_call = c;
    pthread_mutex_unlock(&park_mu);
    return QV_OK;
}

static int park_produce(fl_call *c, bool *done, qv_err *err) {
    (void)err;
    park_state *st = c->state;
    pthread_mutex_lock(&park_mu);
    int allowed = park_allowed, finish = park_finish;
    park_produced++;
    pthread_mutex_unlock(&park_mu);
    *done = false;
    if (st->sent < allowed) {
        char m[16];
        int n = snprintf(m, sizeof m, "m%d", st->sent++);
        grpc_slice sl = grpc_slice_from_copied_buffer(m, (size_t)n);
        fl_call_push(c, grpc_raw_byte_buffer_create(&sl, 1));
        grpc_slice_unref(sl);
    } else if (finish) {
        *done = true;
    }
    return QV_OK; /* nothing queued and not done: parked */
}

static void park_free(fl_call *c) {
    free(c->state);
    c->state = NULL;
    pthread_mutex_lock(&park_mu);
    park_call = NULL;
    park_freed++;
    pthread_mutex_unlock(&park_mu);
}

static const fl_rpc park_rpc = {
    .name = "TestPark", .on_message = park_msg, .produce = park_produce, .free_state = park_free};

static void park_set(int allowed, int finish, bool wake) {
    pthread_mutex_lock(&park_mu);
    park_allowed = allowed;
    park_finish = finish;
    if (wake && park_call) fl_call_wake(park_call);
    pthread_mutex_unlock(&park_mu);
}

typedef struct client {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_byte_buffer *in;
    grpc_metadata_array md;
} client;

static void client_open(client *k, int port, const char *method) {
    memset(k, 0, sizeof *k);
    char target[64], full[128];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    k->ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    k->cq = grpc_completion_queue_create_for_pluck(NULL);
    snprintf(full, sizeof full, "/arrow.flight.protocol.FlightService/%s", method);
    grpc_slice ms = grpc_slice_from_copied_string(full);
    k->call = grpc_channel_create_call(k->ch, NULL, GRPC_PROPAGATE_DEFAULTS, k->cq, ms, NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_slice_unref(ms);
    grpc_slice body = grpc_slice_from_copied_string("go");
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    grpc_metadata_array_init(&k->md);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &k->md;
    grpc_call_start_batch(k->call, ops, 4, (void *)1, NULL);
    pluck(k->cq, (void *)1);
    grpc_byte_buffer_destroy(bb);
}

static void client_start_recv(client *k) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &k->in;
    grpc_call_start_batch(k->call, &op, 1, (void *)2, NULL);
}

/* Waits up to ms for the outstanding read: 1 = got one (text in out), 0 = end of stream, -1 = not yet. */
static int client_wait_recv(client *k, int ms, char *out, size_t cap) {
    gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_pluck(k->cq, (void *)2, dl, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) return -1;
    if (!k->in) return 0;
    qv_buffer *b = fl_bb_to_buffer(k->in);
    grpc_byte_buffer_destroy(k->in);
    k->in = NULL;
    snprintf(out, cap, "%.*s", (int)b->size, (const char *)b->data);
    qv_buffer_unref(b);
    return 1;
}

static grpc_status_code client_close(client *k) {
    grpc_status_code st = GRPC_STATUS_UNKNOWN;
    grpc_slice details;
    grpc_metadata_array tmd;
    grpc_metadata_array_init(&tmd);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &tmd;
    op.data.recv_status_on_client.status = &st;
    op.data.recv_status_on_client.status_details = &details;
    grpc_call_start_batch(k->call, &op, 1, (void *)3, NULL);
    pluck(k->cq, (void *)3);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&tmd);
    grpc_metadata_array_destroy(&k->md);
    grpc_call_unref(k->call);
    grpc_completion_queue_shutdown(k->cq);
    while (grpc_completion_queue_pluck(k->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(k->cq);
    grpc_channel_destroy(k->ch);
    return st;
}

static void *wake_storm(void *arg) {
    (void)arg;
    /* Spurious wakes. Only wake: reading park_allowed here and writing it back
       through park_set could undo the main thread's newer value. */
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&park_mu);
        if (park_call) fl_call_wake(park_call);
        pthread_mutex_unlock(&park_mu);
    }
    return NULL;
}

/* Polls up to 5 s for cond; the server's workers free calls asynchronously. */
#define WAIT_FOR(cond)                                                              \
    for (int w_ = 0; w_ < 500 && !(cond); w_++) {                                   \
        struct timespec ts_ = {0, 10 * 1000 * 1000};                                \
        nanosleep(&ts_, NULL);                                                       \
    }

QTEST(parked_calls_wake_and_cancel_frees) {
    grpc_init();
    fl_test_rpc = &park_rpc;
    flight_options o = {.host = "127.0.0.1", .port = 0, .threads = 2};
    flight_server *s;
    int port = 0;
    qv_err err;
    QCHECK_EQ(flight_server_start(NULL, &o, &s, &port, &err), QV_OK);
    int idle = fl_server_live_calls(s);
    char m[32];

    /* One message allowed: it arrives, then the call parks and nothing comes. */
    park_set(1, 0, false);
    client k;
    client_open(&k, port, "TestPark");
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 5000, m, sizeof m), 1);
    QCHECK_STR(m, "m0");
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 300, m, sizeof m), -1);
    /* A wake with nothing new is harmless: still parked. */
    park_set(1, 0, true);
    QCHECK_EQ(client_wait_recv(&k, 200, m, sizeof m), -1);
    /* Allow one more and wake: it arrives. */
    park_set(2, 0, true);
    QCHECK_EQ(client_wait_recv(&k, 5000, m, sizeof m), 1);
    QCHECK_STR(m, "m1");
    /* Many messages, each allowed by a wake, with a storm of spurious wakes beside. */
    pthread_t storm;
    pthread_create(&storm, NULL, wake_storm, NULL);
    for (int i = 2; i < 50; i++) {
        park_set(i + 1, 0, true);
        client_start_recv(&k);
        QCHECK_EQ(client_wait_recv(&k, 5000, m, sizeof m), 1);
        char want[16];
        snprintf(want, sizeof want, "m%d", i);
        QCHECK_STR(m, want);
    }
    pthread_join(storm, NULL);
    /* Finish: the stream ends with OK and the call is freed. */
    park_set(50, 1, true);
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 5000, m, sizeof m), 0);
    QCHECK_EQ(client_close(&k), GRPC_STATUS_OK);
    WAIT_FOR(park_freed == 1 && fl_server_live_calls(s) == idle);
    QCHECK_EQ(park_freed, 1);
    QCHECK_EQ(fl_server_live_calls(s), idle);

    /* Cancel a parked call: it is freed without any wake from us. */
    park_set(1, 0, false);
    client_open(&k, port, "TestPark");
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 5000, m, sizeof m), 1);
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 200, m, sizeof m), -1); /* parked */
    int produced = park_produced;
    grpc_call_cancel(k.call, NULL);
    QCHECK(client_wait_recv(&k, 5000, m, sizeof m) == 0);
    QCHECK_EQ(client_close(&k), GRPC_STATUS_CANCELLED);
    WAIT_FOR(park_freed == 2 && fl_server_live_calls(s) == idle);
    QCHECK_EQ(park_freed, 2);
    QCHECK_EQ(fl_server_live_calls(s), idle);
    QCHECK_EQ(park_produced, produced); /* cancelled: produce was not run again */

    /* A parked call at shutdown is cancelled and freed; shutdown does not hang. */
    client_open(&k, port, "TestPark");
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 5000, m, sizeof m), 1);
    client_start_recv(&k);
    QCHECK_EQ(client_wait_recv(&k, 200, m, sizeof m), -1);
    flight_server_shutdown(s, 100);
    QCHECK_EQ(park_freed, 3);
    QCHECK(client_wait_recv(&k, 5000, m, sizeof m) == 0);
    client_close(&k);
    flight_server_free(s);
    fl_test_rpc = NULL;
    grpc_shutdown();
}

/* ---- fakes for what Flight calls in engine and ipc ---- */

static eng_metrics fake_metrics;
eng_metrics *eng_get_metrics(eng *e) { (void)e; return &fake_metrics; }
#define NO_ENGINE(...) return qv_err_set(err, QV_EUNSUPPORTED, "no engine in this test")
int eng_query_open(eng *e, const char *sql, size_t len, eng_query **out, qv_err *err) {
    (void)e; (void)sql; (void)len; *out = NULL; NO_ENGINE();
}
const qv_schema *eng_query_schema(const eng_query *q) { (void)q; return NULL; }
int64_t eng_query_total_rows(const eng_query *q) { (void)q; return -1; }
int64_t eng_query_total_bytes(const eng_query *q) { (void)q; return -1; }
void eng_query_read_stats(const eng_query *q, int64_t *rows, int64_t *bytes) {
    (void)q;
    *rows = 0;
    *bytes = 0;
}
int eng_query_next(eng_query *q, qv_batch *out, bool *eos, qv_err *err) { (void)q; (void)out; *eos = true; NO_ENGINE(); }
void eng_query_cancel(eng_query *q) { (void)q; }
bool eng_is_subscribe(const char *text, size_t len) { (void)text; (void)len; return false; }
int eng_sub_open(eng *e, const char *text, size_t len, const eng_sub_options *o, eng_sub **out, qv_err *err) {
    (void)e; (void)text; (void)len; (void)o; *out = NULL; NO_ENGINE();
}
const qv_schema *eng_sub_schema(const eng_sub *s) { (void)s; return NULL; }
int eng_sub_next(eng_sub *s, qv_batch *out, bool *got, qv_err *err) { (void)s; (void)out; *got = false; NO_ENGINE(); }
void eng_sub_close(eng_sub *s) { (void)s; }
void eng_query_close(eng_query *q) { (void)q; }
int eng_put_begin(eng *e, const char *table, const qv_schema *schema, eng_put **out, qv_err *err) {
    (void)e; (void)table; (void)schema; *out = NULL; NO_ENGINE();
}
int eng_put_begin_async(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode,
                        void (*wake)(void *arg), void *arg, eng_put **out, qv_err *err) {
    (void)e; (void)table; (void)schema; (void)mode; (void)wake; (void)arg; *out = NULL; NO_ENGINE();
}
int eng_put_ready(eng_put *p, bool *ready, qv_err *err) { (void)p; (void)err; *ready = true; return 0; }
int eng_put_batch(eng_put *p, const qv_batch *b, qv_err *err) { (void)p; (void)b; NO_ENGINE(); }
int eng_put_commit(eng_put *p, int64_t *rows, qv_err *err) { (void)p; *rows = 0; NO_ENGINE(); }
void eng_put_abort(eng_put *p) { (void)p; }
int eng_tables(eng *e, st_table_info **out, int *n, qv_err *err) { (void)e; *out = NULL; *n = 0; (void)err; return 0; }
void st_table_info_free_all(st_table_info *infos, int n) { (void)infos; (void)n; }
int eng_drop_table(eng *e, const char *name, qv_err *err) { (void)e; (void)name; NO_ENGINE(); }
int eng_describe_table(eng *e, const char *name, qv_str *json, qv_err *err) { (void)e; (void)name; (void)json; NO_ENGINE(); }
void eng_health_json(eng *e, qv_str *out) { (void)e; qv_str_append(out, "{\"status\":\"ok\"}", 15); }
int eng_query_partitions(eng *e, const eng_query *q, int64_t partition_rows, eng_parts *out, qv_err *err) {
    (void)e; (void)q; (void)partition_rows; memset(out, 0, sizeof *out); NO_ENGINE();
}
void eng_parts_free(eng_parts *p) { (void)p; }
int eng_query_open_range(eng *e, const char *sql, size_t len, const eng_range *r, eng_query **out, qv_err *err) {
    (void)e; (void)sql; (void)len; (void)r; *out = NULL; NO_ENGINE();
}
int eng_replica_create(eng *e, uint64_t id, const char *name, int64_t trim, const qv_schema *schema, qv_err *err) {
    (void)e; (void)id; (void)name; (void)trim; (void)schema; NO_ENGINE();
}
int eng_replica_drop(eng *e, uint64_t id, qv_err *err) { (void)e; (void)id; NO_ENGINE(); }
int eng_replica_append(eng *e, uint64_t id, int64_t row_from, const qv_batch *b, qv_err *err) {
    (void)e; (void)id; (void)row_from; (void)b; NO_ENGINE();
}
int eng_ticket_key_set(eng *e, const uint8_t *key, qv_err *err) { (void)e; (void)key; NO_ENGINE(); }
int eng_replica_commit(eng *e, qv_err *err) { (void)e; NO_ENGINE(); }
void eng_replica_abort(eng *e) { (void)e; }
void eng_replica_set_error(eng *e, const char *msg) { (void)e; (void)msg; }
int64_t eng_replica_file_rows(eng *e) { (void)e; return 0; }
int eng_repl_file_open(eng *e, const char *name, uint64_t id, int64_t trim, int64_t row_from, int64_t file_rows,
                       eng_repl_file *out) {
    (void)e; (void)name; (void)id; (void)trim; (void)row_from; (void)file_rows; out->fd = -1; return -1;
}
int eng_replica_file_chunk(eng *e, uint64_t id, int64_t fno, int64_t off, const void *p, size_t n, qv_err *err) {
    (void)e; (void)id; (void)fno; (void)off; (void)p; (void)n; NO_ENGINE();
}
int eng_replica_file_stage(eng *e, uint64_t id, int64_t row_from, int64_t fno, int64_t size, uint32_t crc,
                           qv_err *err) {
    (void)e; (void)id; (void)row_from; (void)fno; (void)size; (void)crc; NO_ENGINE();
}
int ipc_stream_decode(const ipc_read_options *opts, qv_buffer *bytes,
                      int (*on_batch)(void *ctx, const qv_batch *b, qv_err *err), void *ctx, qv_schema *schema,
                      qv_err *err) {
    (void)opts; (void)bytes; (void)on_batch; (void)ctx; qv_schema_init(schema); NO_ENGINE();
}
void ipc_message_write_stream(const ipc_message *m, qv_str *out) { (void)m; (void)out; }
void ipc_write_eos(qv_str *out) { (void)out; }
static const uint8_t fake_key[ENG_KEY_BYTES];
const uint8_t *eng_ticket_key(const eng *e) { (void)e; return fake_key; }
eng_access eng_query_access(const eng_query *q, const char **verb) { (void)q; if (verb) *verb = "SELECT"; return ENG_ACCESS_READ; }
void eng_query_set_timeout(eng_query *q, int64_t ms) { (void)q; (void)ms; }
int eng_sched_admit(eng *e, eng_task *t, qv_err *err) { (void)e; (void)t; NO_ENGINE(); }
void eng_sched_run(eng *e, eng_task *t) { (void)e; (void)t; }
bool eng_sched_withdraw(eng *e, eng_task *t) { (void)e; (void)t; return false; }
void eng_sched_release(eng *e) { (void)e; }
void eng_rpc_observe(eng *e, const char *name, int64_t ns) { (void)e; (void)name; (void)ns; }

int ipc_schema_to_bytes(const qv_schema *schema, const ipc_write_options *opts, qv_str *out, qv_err *err) {
    (void)schema; (void)opts; (void)out; NO_ENGINE();
}
int ipc_encoder_new(const qv_schema *schema, const ipc_write_options *opts, ipc_encoder **out, qv_err *err) {
    (void)schema; (void)opts; *out = NULL; NO_ENGINE();
}
void ipc_encoder_free(ipc_encoder *e) { (void)e; }
int ipc_encoder_schema(ipc_encoder *e, ipc_message *out, qv_err *err) { (void)e; (void)out; NO_ENGINE(); }
int ipc_encoder_batch(ipc_encoder *e, const qv_batch *b, ipc_message *out, int *nout, qv_err *err) {
    (void)e; (void)b; (void)out; *nout = 0; NO_ENGINE();
}
void ipc_message_init(ipc_message *m) { memset(m, 0, sizeof *m); qv_str_init(&m->metadata); }
void ipc_message_free(ipc_message *m) { qv_str_free(&m->metadata); }
void ipc_decoder_new(const ipc_read_options *opts, ipc_decoder **out) { (void)opts; *out = NULL; }
void ipc_decoder_free(ipc_decoder *d) { (void)d; }
int ipc_decoder_message(ipc_decoder *d, const uint8_t *metadata, size_t metadata_len, qv_buffer *body,
                        ipc_event *ev, qv_batch *batch, qv_err *err) {
    (void)d; (void)metadata; (void)metadata_len; (void)body; (void)batch; *ev = IPC_EV_NONE; NO_ENGINE();
}
const qv_schema *ipc_decoder_schema(const ipc_decoder *d) { (void)d; return NULL; }

/* Flight SQL (src/flight/flight_sql*.c) is left out of these transport
   tests: its hooks answer "not Flight SQL", so the raw RPCs run as before. */
bool fl_sql_is_any(const uint8_t *p, size_t n) { (void)p; (void)n; return false; }
int fl_sql_flight_info(fl_call *c, const struct Arrow__Flight__Protocol__FlightDescriptor *d, qv_err *err) {
    (void)c; (void)d; NO_ENGINE();
}
int fl_sql_schema(fl_call *c, const struct Arrow__Flight__Protocol__FlightDescriptor *d, qv_err *err) {
    (void)c; (void)d; NO_ENGINE();
}
int fl_sql_doget(fl_call *c, const uint8_t *p, size_t n, eng_query **q, qv_err *err) {
    (void)c; (void)p; (void)n; *q = NULL; NO_ENGINE();
}
void fl_sql_doget_done(eng_query *q) { (void)q; }
void fl_sql_running_add(const uint8_t *ticket, size_t n, eng_query *q) { (void)ticket; (void)n; (void)q; }
bool fl_sql_put_claims(const qv_buffer *msg) { (void)msg; return false; }
int fl_sql_put_start(fl_call *c, qv_buffer *msg, qv_err *err) { (void)c; (void)msg; NO_ENGINE(); }
bool fl_sql_action_known(const char *type) { (void)type; return false; }
int fl_sql_action(fl_call *c, const char *type, const uint8_t *body, size_t n, qv_err *err) {
    (void)c; (void)type; (void)body; (void)n; NO_ENGINE();
}
