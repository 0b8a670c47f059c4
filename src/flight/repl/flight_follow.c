/*
** Replication, the replica's side: one follower thread per replica server.
** It calls DoGet on the primary with a replication ticket naming the tables
** and rows it already holds, applies each record (flight_repl.c) through the
** engine's replica calls, and when the stream ends or fails (primary gone,
** restarted, refused) waits a little and reconnects, continuing from what it
** holds. Records are applied in order, one at a time, so a replica is at most
** the commits in flight behind.
**
** States: CONNECTING -> STREAMING -> (error) -> WAITING -> CONNECTING ...;
** STOPPED once fl_follower_stop has set `stop` and cancelled the live call.
** With --replication-user, every DoGet carries `authorization: Basic ...`
** (the primary checks it like any call and needs the admin role); a refused
** login is logged and shown by healthcheck ("replica_error"), and retried
** every AUTH_RETRY_MS (slow enough to stay clear of the failed-login throttle
** on the primary for a long time; the users file may be fixed meanwhile).
** The follower owns its channel, completion queue and call; `mu` guards the
** call pointer against the stopping thread.
*/
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flight_internal.h"

#define SERVICE_DOGET "/arrow.flight.protocol.FlightService/DoGet"
#define RETRY_MS 300
#define AUTH_RETRY_MS 2000

struct fl_follower {
    eng *e;
    char target[300], advertise[256];
    uint64_t nonce;
    pthread_t th;
    atomic_bool stop;
    pthread_mutex_t mu;
    grpc_call *call;
    atomic_llong last_ok_ns;  /* wall clock of the last heartbeat: lag = now - this */
    char user[80];            /* --replication-user, or empty */
    char login[1024];         /* its authorization header value, or empty */
    char last_err[512];       /* the last error logged (each new one is logged once) */
    bool auth_refused;        /* the last attempt was refused for its credentials */
    bool no_files;            /* a column file could not be adopted: rows only from then on */
};

/* this process's follower (refused by ourselves as a primary); atomic: set by
   fl_follower_start after the flight workers that read it have started */
static _Atomic uint64_t follower_nonce;

uint64_t fl_follow_nonce(void) { return atomic_load_explicit(&follower_nonce, memory_order_relaxed); }

static uint64_t rd_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int decode_schema(const uint8_t *p, size_t n, qv_schema *s, qv_err *err) {
    qv_schema_init(s);
    if (n < 4) return qv_err_set(err, QV_ECORRUPT, "replication: schema truncated");
    uint64_t nf = rd_le(p, 4);
    size_t pos = 4;
    if (nf == 0 || nf > 1024)
        return qv_err_set(err, QV_ECORRUPT, "replication: schema of %llu fields", (unsigned long long)nf);
    for (uint64_t i = 0; i < nf; i++) {
        size_t nl = pos + 2 <= n ? rd_le(p + pos, 2) : (size_t)-1;
        if (nl > QV_NAME_MAX || pos + 2 + nl + 3 > n)
            return qv_err_set(err, QV_ECORRUPT, "replication: schema field %llu truncated", (unsigned long long)i);
        char name[QV_NAME_MAX + 1];
        memcpy(name, p + pos + 2, nl);
        name[nl] = 0;
        pos += 2 + nl;
        qv_type t = (qv_type)p[pos];
        if (t <= QV_T_INVALID || t >= QV_T__COUNT) return qv_err_set(err, QV_ECORRUPT, "replication: bad column type");
        qv_schema_add(s, name, t, p[pos + 1] != 0);
        size_t tl = p[pos + 2];
        pos += 3;
        if (tl >= sizeof s->fields[0].tz || pos + tl > n)
            return qv_err_set(err, QV_ECORRUPT, "replication: schema time zone truncated");
        memcpy(s->fields[s->nfields - 1].tz, p + pos, tl);
        pos += tl;
        if (t == QV_T_DECIMAL) {
            qv_field *f = &s->fields[s->nfields - 1];
            if (pos + 2 > n || p[pos] < 1 || p[pos] > QV_DEC_MAX_PREC || p[pos + 1] > p[pos])
                return qv_err_set(err, QV_ECORRUPT, "replication: DECIMAL precision and scale truncated or invalid");
            f->precision = p[pos];
            f->scale = p[pos + 1];
            pos += 2;
        }
    }
    return QV_OK;
}

typedef struct append_ctx {
    eng *e;
    uint64_t id;
    int64_t row;
} append_ctx;

static int on_rows(void *ctx, const qv_batch *b, qv_err *err) {
    append_ctx *a = ctx;
    int rc = eng_replica_append(a->e, a->id, a->row, b, err);
    a->row += b->nrows;
    return rc;
}

/* A column file chunk ('F'), or its last one ('G': the file joins the
   table's staged catch-up; 'E': and the catch-up commits). */
static int apply_file(fl_follower *f, char kind, uint64_t id, int64_t row_from, const uint8_t *p, size_t n,
                      qv_err *err) {
    bool last = kind != 'F';
    if (n < 28) return qv_err_set(err, QV_ECORRUPT, "replication: file chunk of %zu bytes is truncated", n);
    int64_t fno = (int64_t)rd_le(p, 8), off = (int64_t)rd_le(p + 8, 8), size = (int64_t)rd_le(p + 16, 8);
    uint32_t crc = (uint32_t)rd_le(p + 24, 4);
    if (fno < 0 || off < 0 || size < 0 || off + (int64_t)(n - 28) > size || (last && off + (int64_t)(n - 28) != size))
        return qv_err_set(err, QV_ECORRUPT, "replication: file chunk does not fit its file");
    int rc = eng_replica_file_chunk(f->e, id, fno, off, p + 28, n - 28, err);
    if (rc == QV_OK && last) rc = eng_replica_file_stage(f->e, id, row_from, fno, size, crc, err);
    if (rc == QV_OK && kind == 'E') rc = eng_replica_commit(f->e, err);
    if (rc && !f->no_files) {
        /* Rows always work: ask for them from the next connection on. */
        QV_WARN("replica: %s; taking rows instead of column files from now on", err->msg);
        f->no_files = true;
    }
    return rc;
}

static int apply(fl_follower *f, const uint8_t *p, size_t n, qv_err *err) {
    if (n < 1 + 8 + 8 + 2 + 4) return qv_err_set(err, QV_ECORRUPT, "replication: record of %zu bytes is truncated", n);
    char kind = (char)p[0];
    uint64_t id = rd_le(p + 1, 8);
    int64_t row_from = (int64_t)rd_le(p + 9, 8);
    size_t nl = rd_le(p + 17, 2);
    if (nl > QV_NAME_MAX || 19 + nl + 4 > n) return qv_err_set(err, QV_ECORRUPT, "replication: record name truncated");
    char name[QV_NAME_MAX + 1];
    memcpy(name, p + 19, nl);
    name[nl] = 0;
    size_t bl = rd_le(p + 19 + nl, 4);
    const uint8_t *blob = p + 23 + nl;
    if (bl != n - 23 - nl) return qv_err_set(err, QV_ECORRUPT, "replication: record blob does not match its length");
    switch (kind) {
    case 'K':
        if (bl != ENG_KEY_BYTES) return qv_err_set(err, QV_ECORRUPT, "replication: key of %zu bytes", bl);
        if (f->last_err[0]) QV_INFO("replica: following primary %s again", f->target);
        f->last_err[0] = 0;
        eng_replica_set_error(f->e, NULL);
        return eng_ticket_key_set(f->e, blob, err);
    case 'C': {
        qv_schema s;
        if (decode_schema(blob, bl, &s, err)) {
            qv_schema_free(&s);
            return err->code;
        }
        int rc = row_from < 0 ? qv_err_set(err, QV_ECORRUPT, "replication: negative trim count")
                              : eng_replica_create(f->e, id, name, row_from, &s, err);
        qv_schema_free(&s);
        return rc;
    }
    case 'D': return eng_replica_drop(f->e, id, err);
    case 'A':
    case 'B': {
        qv_buffer *b = qv_buffer_new(bl + 8);
        memcpy(b->data, blob, bl);
        b->size = bl;
        append_ctx a = {f->e, id, row_from};
        qv_schema s;
        ipc_read_options ro = {0};
        int rc = ipc_stream_decode(&ro, b, on_rows, &a, &s, err);
        qv_schema_free(&s);
        qv_buffer_unref(b);
        if (rc == QV_OK && kind == 'B') rc = eng_replica_commit(f->e, err);
        return rc;
    }
    case 'F':
    case 'G':
    case 'E': return apply_file(f, kind, id, row_from, blob, bl, err);
    case 'H':
        atomic_store(&f->last_ok_ns, qv_now_ns());
        atomic_store(&eng_get_metrics(f->e)->replica_synced_ns, qv_now_ns());
        return QV_OK;
    default: return qv_err_set(err, QV_ECORRUPT, "replication: unknown record kind 0x%02x", (unsigned)(uint8_t)kind);
    }
}

static void state_ticket(fl_follower *f, qv_str *out) {
    st_table_info *t = NULL;
    int n = 0;
    qv_err err;
    if (eng_tables(f->e, &t, &n, &err)) n = 0;
    uint64_t *ids = qv_xcalloc((size_t)n + 1, sizeof *ids);
    int64_t *rows = qv_xcalloc((size_t)n + 1, sizeof *rows), *trims = qv_xcalloc((size_t)n + 1, sizeof *trims);
    for (int i = 0; i < n; i++) {
        ids[i] = t[i].id;
        rows[i] = t[i].rows;
        trims[i] = t[i].trim_rows;
    }
    fl_repl_ticket(f->nonce, f->no_files ? 0 : eng_replica_file_rows(f->e), f->advertise, ids, rows, trims, n, out);
    if (t) st_table_info_free_all(t, n);
    free(ids);
    free(rows);
    free(trims);
}

static bool run_batch(grpc_call *call, grpc_completion_queue *cq, const grpc_op *ops, size_t n) {
    if (grpc_call_start_batch(call, ops, n, (void *)1, NULL) != GRPC_CALL_OK) return false;
    grpc_event ev = grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* One connection: stream and apply until it ends. QV_OK only when stopped. */
static int follow_once(fl_follower *f, grpc_channel *ch, qv_err *err) {
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_static_string(SERVICE_DOGET);
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                               gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    pthread_mutex_lock(&f->mu);
    f->call = call;
    bool stopping = atomic_load(&f->stop);
    pthread_mutex_unlock(&f->mu);
    if (stopping) grpc_call_cancel(call, NULL);
    qv_str tk;
    qv_str_init(&tk);
    state_ticket(f, &tk);
    Arrow__Flight__Protocol__Ticket t = ARROW__FLIGHT__PROTOCOL__TICKET__INIT;
    t.ticket.data = (uint8_t *)tk.data;
    t.ticket.len = tk.len;
    grpc_byte_buffer *req = fl_bb_from_pb(&t);
    qv_str_free(&tk);
    grpc_metadata_array md, tmd;
    grpc_metadata_array_init(&md);
    grpc_metadata_array_init(&tmd);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    grpc_metadata login;
    memset(&login, 0, sizeof login);
    if (f->login[0]) {
        login.key = grpc_slice_from_static_string("authorization");
        login.value = grpc_slice_from_static_string(f->login);
        ops[0].data.send_initial_metadata.count = 1;
        ops[0].data.send_initial_metadata.metadata = &login;
    }
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = req;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
    int rc = run_batch(call, cq, ops, 4) ? QV_OK : qv_err_set(err, QV_EIO, "cannot reach the primary %s", f->target);
    grpc_byte_buffer_destroy(req);
    while (rc == QV_OK) {
        grpc_byte_buffer *in = NULL;
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &in;
        if (!run_batch(call, cq, &op, 1) || !in) break;
        qv_buffer *msg = fl_bb_to_buffer(in);
        grpc_byte_buffer_destroy(in);
        fl_flightdata fd;
        rc = fl_flightdata_parse(msg->data, msg->size, &fd, err);
        if (rc == QV_OK && fd.app_md_len) rc = apply(f, fd.app_md, fd.app_md_len, err);
        qv_buffer_unref(msg);
    }
    if (rc) grpc_call_cancel(call, NULL);
    eng_replica_abort(f->e); /* a catch-up cut before its last chunk: none of it */
    grpc_status_code status = GRPC_STATUS_OK;
    grpc_slice details = grpc_empty_slice();
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &tmd;
    ops[0].data.recv_status_on_client.status = &status;
    ops[0].data.recv_status_on_client.status_details = &details;
    run_batch(call, cq, ops, 1);
    f->auth_refused = false;
    if (rc == QV_OK && !atomic_load(&f->stop)) {
        char *d = grpc_slice_to_c_string(details);
        f->auth_refused = status == GRPC_STATUS_UNAUTHENTICATED || status == GRPC_STATUS_PERMISSION_DENIED;
        if (status == GRPC_STATUS_UNAUTHENTICATED && !f->user[0])
            rc = qv_err_set(err, QV_EUNAUTH,
                            "primary %s requires a login (it runs with --users): start this replica with "
                            "--replication-user NAME (an admin there) and its password (%s)",
                            f->target, d);
        else if (status == GRPC_STATUS_UNAUTHENTICATED)
            rc = qv_err_set(err, QV_EUNAUTH, "primary %s refused the login of --replication-user %s: %s", f->target,
                            f->user, d);
        else if (status == GRPC_STATUS_PERMISSION_DENIED)
            rc = qv_err_set(err, QV_EPERM,
                            "primary %s: --replication-user %s is not an admin there (replication needs the admin "
                            "role): %s",
                            f->target, f->user, d);
        else
            rc = qv_err_set(err, status == GRPC_STATUS_OK ? QV_EIO : QV_EINVAL, "primary %s ended replication: %s%s",
                            f->target, status == GRPC_STATUS_OK ? "stream closed" : "", d);
        gpr_free(d);
    }
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&md);
    grpc_metadata_array_destroy(&tmd);
    pthread_mutex_lock(&f->mu);
    f->call = NULL;
    pthread_mutex_unlock(&f->mu);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    return atomic_load(&f->stop) ? QV_OK : rc;
}

static void *follow_main(void *arg) {
    fl_follower *f = arg;
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_arg carg;
    memset(&carg, 0, sizeof carg);
    carg.type = GRPC_ARG_INTEGER;
    carg.key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    carg.value.integer = 512 << 20;
    grpc_channel_args cargs;
    memset(&cargs, 0, sizeof cargs);
    cargs.num_args = 1;
    cargs.args = &carg;
    grpc_channel *ch = grpc_channel_create(f->target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    while (!atomic_load(&f->stop)) {
        qv_err err;
        qv_err_clear(&err);
        int wait_ms = RETRY_MS;
        if (follow_once(f, ch, &err) && !atomic_load(&f->stop)) {
            if (f->auth_refused) wait_ms = AUTH_RETRY_MS;
            if (strcmp(err.msg, f->last_err) != 0) { /* each new error once, not every retry */
                QV_WARN("replica: %s; retrying every %d ms", err.msg, wait_ms);
                snprintf(f->last_err, sizeof f->last_err, "%s", err.msg);
            }
            eng_replica_set_error(f->e, err.msg);
        }
        for (int i = 0; i < wait_ms / 10 && !atomic_load(&f->stop); i++) {
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    grpc_channel_destroy(ch);
    return NULL;
}

int fl_follower_start(eng *e, const char *primary, const char *advertise, const char *user, const char *login,
                      fl_follower **out, qv_err *err) {
    *out = NULL;
    const char *hp = strncmp(primary, "grpc://", 7) == 0 ? primary + 7 : primary;
    if (!*hp || strlen(hp) >= 300) return qv_err_set(err, QV_EINVAL, "--replica-of: '%s' is not grpc://HOST:PORT", primary);
    fl_follower *f = qv_xcalloc(1, sizeof *f);
    f->e = e;
    snprintf(f->target, sizeof f->target, "%s", hp);
    snprintf(f->advertise, sizeof f->advertise, "%s", advertise ? advertise : "");
    snprintf(f->user, sizeof f->user, "%s", user ? user : "");
    if (login && strlen(login) >= sizeof f->login) {
        free(f);
        return qv_err_set(err, QV_EINVAL, "--replication-user: login too long");
    }
    snprintf(f->login, sizeof f->login, "%s", login ? login : "");
    if (getrandom(&f->nonce, sizeof f->nonce, 0) != sizeof f->nonce || f->nonce == 0) f->nonce = (uint64_t)qv_now_ns();
    atomic_store_explicit(&follower_nonce, f->nonce, memory_order_relaxed);
    pthread_mutex_init(&f->mu, NULL);
    if (pthread_create(&f->th, NULL, follow_main, f) != 0) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return qv_err_set(err, QV_EIO, "cannot start the replication thread");
    }
    QV_INFO("replica: following primary %s%s%s", f->target, f->user[0] ? " as user " : "", f->user);
    *out = f;
    return QV_OK;
}

int64_t fl_follower_lag_ms(const fl_follower *f) {
    int64_t t = atomic_load(&f->last_ok_ns);
    return t ? (qv_now_ns() - t) / 1000000 : -1;
}

void fl_follower_stop(fl_follower *f) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->stop, true);
    if (f->call) grpc_call_cancel(f->call, NULL);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    pthread_mutex_destroy(&f->mu);
    memset(f->login, 0, sizeof f->login);
    free(f);
}
