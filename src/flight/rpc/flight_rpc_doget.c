/*
** DoGet: the ticket is SQL. The query is opened on the request (bad SQL
** fails before anything streams), the schema goes out first, then batches
** as eng_query_next produces them, each cut into FlightData messages of at
** most max_batch_bytes by slicing rows (zero copy).
**
** State (owned by the call, freed by doget_free): the open query, the IPC
** encoder, and the batch being cut (`cur`, next row `off`). produce() is
** called only when the previous write has completed and queues one slice
** (its dictionary messages plus the record batch), so at most one batch is
** in flight per stream and the server never holds more of a result than
** the batch it is cutting. on_cancel (close handler thread) cancels the
** query so a running eng_query_next returns; the query itself is closed
** only by the step thread, under c->mu.
**
** The query never runs on a completion-queue thread: eng_query_next runs
** as a task on the engine's query runners (flight_task.c), which also holds
** the query's admission slot. produce() parks the call while a task is out
** and the task wakes it (fl_call_wake) when the next batch is ready.
**
** A ticket that starts with SUBSCRIBE opens an eng_sub instead of a query:
** produce() takes its batches as they come and, when none is pending,
** returns *done false with nothing queued, parking the call; the engine's
** notifier claims it (fl_call_claim) when a commit arrives and runs
** produce on its own thread (fl_call_run), the shared evaluation of that
** commit already in the engine's cache. If the
** subscription ends (too slow, shutdown), the wake also aborts the call with
** its status at once (RESOURCE_EXHAUSTED, UNAVAILABLE), since a client that
** does not read would never let a queued status through. The subscription
** is closed in doget_free, after which it never wakes the call.
*/
#include <stdlib.h>
#include <string.h>

#include "flight.pb-c.h"
#include "flight_internal.h"
#include "flight_sql.h"

typedef struct doget_state {
    eng_query *q;
    eng_sub *sub;
    ipc_encoder *enc;
    qv_batch cur;
    bool have_cur;
    int64_t off, chunk_rows;
    fl_task task; /* the next batch, computed on a query runner */
    fl_repl *repl; /* a replication stream instead of a query (flight_repl.c) */
} doget_state;

/* Defaults: same as GetFlightInfo's schema bytes; the quiver-compression
   header (flight_callopts.c) may turn on body compression. */
static const ipc_write_options write_opts;

static void doget_free(fl_call *c) {
    doget_state *st = c->state;
    fl_task_finish(&st->task); /* no runner touches the query after this */
    if (st->q) {
        fl_sql_doget_done(st->q);
        eng_query_close(st->q);
    }
    if (st->sub) eng_sub_close(st->sub);
    if (st->enc) ipc_encoder_free(st->enc);
    if (st->have_cur) qv_batch_free(&st->cur);
    fl_repl_free(st->repl);
    free(st);
    c->state = NULL;
    atomic_fetch_sub(&eng_get_metrics(c->e)->flight_streams_active, 1);
}

static void doget_cancel(fl_call *c) {
    doget_state *st = c->state;
    if (st->q) eng_query_cancel(st->q);
    if (st->repl) fl_repl_cancel(st->repl);
    fl_task_cancel(&st->task);
}

/* Engine notifier thread: new rows, or the subscription ended. A parked
   call (its previous write done) is handed to the notifier, which runs
   produce and starts the write itself (doget_sub_run): no doorbell and no
   hop to a worker per delivery; the write's completion comes back to a
   worker as usual. */
static bool doget_sub_wake(void *arg, const qv_err *end) {
    fl_call *c = arg;
    /* Too slow: the client may not be reading, so a queued status would never
       get through; cancel with it now. Shutdown: the status goes out through
       the call (produce sees the end), so it is written before the server
       closes the connection. */
    if (end && end->code != QV_ECANCELLED) fl_call_abort(c, fl_status_from_qv(end->code), end->msg);
    return fl_call_claim(c);
}

static void doget_sub_run(void *arg) { fl_call_run(arg); }

/* A subscription's QV_ECANCELLED means the server is going away: UNAVAILABLE. */
static int sub_status(fl_call *c, int rc, qv_err *err) {
    if (rc != QV_ECANCELLED) return rc;
    fl_call_fail(c, GRPC_STATUS_UNAVAILABLE, err->msg);
    return QV_OK;
}

static void push_messages(fl_call *c, ipc_message *msgs, int n, int64_t *bytes) {
    for (int i = 0; i < n; i++) {
        fl_call_push(c, fl_flightdata_from_ipc(&msgs[i], NULL, 0));
        *bytes += (int64_t)msgs[i].metadata.len + msgs[i].body_len;
    }
}

static int doget_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    Arrow__Flight__Protocol__Ticket *t = arrow__flight__protocol__ticket__unpack(NULL, msg->size, msg->data);
    if (!t) return qv_err_set(err, QV_EINVAL, "DoGet: request is not a Ticket message");
    doget_state *st = qv_xcalloc(1, sizeof *st);
    fl_task_init(&st->task, c);
    atomic_fetch_add(&eng_get_metrics(c->e)->flight_streams_active, 1);
    pthread_mutex_lock(&c->mu);
    c->state = st;
    pthread_mutex_unlock(&c->mu);
    if (fl_repl_is_ticket(t->ticket.data, t->ticket.len)) { /* a replica following this server */
        /* Everything, and the ticket key: admins only (no-op without --users). */
        if (fl_call_authorize(c, AUTH_ROLE_ADMIN, "follow this server as a replica", err)) {
            arrow__flight__protocol__ticket__free_unpacked(t, NULL);
            return err->code;
        }
        fl_repl *r = fl_repl_new(t->ticket.data, t->ticket.len, fl_follow_nonce(), err);
        arrow__flight__protocol__ticket__free_unpacked(t, NULL);
        if (!r) return err->code;
        pthread_mutex_lock(&c->mu);
        st->repl = r;
        pthread_mutex_unlock(&c->mu);
        return QV_OK;
    }
    eng_query *q = NULL;
    eng_sub *sub = NULL;
    ipc_write_options wo = write_opts;
    int rc = fl_call_compression(c, &wo.compression, err);
    if (rc) {
        arrow__flight__protocol__ticket__free_unpacked(t, NULL);
        return rc;
    }
    if (fl_ticket_is_sealed(t->ticket.data, t->ticket.len)) { /* from GetFlightInfo */
        rc = fl_ticket_query_open(c->e, t->ticket.data, t->ticket.len, &q, err);
        if (rc == QV_OK) fl_sql_running_add(t->ticket.data, t->ticket.len, q); /* CancelFlightInfo finds it */
        arrow__flight__protocol__ticket__free_unpacked(t, NULL);
        if (rc) return rc;
    } else if (fl_sql_is_any(t->ticket.data, t->ticket.len)) { /* a Flight SQL ticket; NULL q: reply queued */
        rc = fl_sql_doget(c, t->ticket.data, t->ticket.len, &q, err);
        arrow__flight__protocol__ticket__free_unpacked(t, NULL);
        if (rc || !q) return rc;
    } else {
        const char *sql = (const char *)t->ticket.data;
        rc = fl_ticket_sql(t->ticket.data, t->ticket.len, err);
        if (rc == QV_OK && eng_is_subscribe(sql, t->ticket.len)) {
            eng_sub_options so = {.wake = doget_sub_wake, .run = doget_sub_run, .arg = c,
                                 .max_batch_bytes = c->max_batch_bytes};
            rc = eng_sub_open(c->e, sql, t->ticket.len, &so, &sub, err);
        } else if (rc == QV_OK) {
            rc = eng_query_open(c->e, sql, t->ticket.len, &q, err);
        }
        arrow__flight__protocol__ticket__free_unpacked(t, NULL);
        if (rc) return sub_status(c, rc, err);
    }
    pthread_mutex_lock(&c->mu);
    st->q = q;
    st->task.q = q;
    st->sub = sub;
    pthread_mutex_unlock(&c->mu);
    if (q) {
        if ((rc = fl_call_authorize_query(c, q, err))) return rc;
        fl_call_apply_deadline(c, q);
    }
    const qv_schema *schema = q ? eng_query_schema(q) : eng_sub_schema(sub);
    if ((rc = ipc_encoder_new(schema, &wo, &st->enc, err))) return rc;
    ipc_message m;
    ipc_message_init(&m);
    rc = ipc_encoder_schema(st->enc, &m, err);
    int64_t bytes = 0;
    if (rc == QV_OK) push_messages(c, &m, 1, &bytes);
    ipc_message_free(&m);
    if (rc == QV_OK && q) {
        /* Ask for a query slot now: a busy server refuses before the schema
           goes out, and the first batch is computed while it does. */
        bool ready = false, eos = false;
        qv_batch unused;
        rc = fl_task_next(&st->task, &unused, &eos, &ready, err);
    }
    return rc;
}

/* Rows [off, off+len) of src as a batch of zero-copy column views. */
static void batch_slice(qv_batch *dst, const qv_batch *src, int64_t off, int64_t len) {
    qv_batch_init(dst, &src->schema);
    for (int i = 0; i < src->schema.nfields; i++) {
        qv_array_free(&dst->cols[i]);
        qv_array_slice(&dst->cols[i], &src->cols[i], off, len);
    }
    dst->nrows = len;
}

static int doget_produce(fl_call *c, bool *done, qv_err *err) {
    doget_state *st = c->state;
    if (st && st->repl) return fl_repl_produce(c, st->repl, done, err);
    *done = st == NULL || (st->q == NULL && st->sub == NULL);
    if (*done) return QV_OK;
    while (!st->have_cur) {
        bool eos = false;
        memset(&st->cur, 0, sizeof st->cur); /* next() fills it; zeroed is safe to free */
        if (st->sub) {
            bool got = false;
            int rc = eng_sub_next(st->sub, &st->cur, &got, err);
            if (rc) return sub_status(c, rc, err);
            if (!got) return QV_OK; /* parked until the engine wakes us */
            eos = false;
        }
        int rc = QV_OK;
        if (!st->sub) {
            bool ready = false;
            rc = fl_task_next(&st->task, &st->cur, &eos, &ready, err);
            if (rc == QV_OK && !ready) return QV_OK; /* parked until the runner has it */
        }
        if (rc || eos) {
            qv_batch_free(&st->cur);
            if (rc == QV_OK) *done = true;
            return rc;
        }
        if (st->cur.nrows == 0) {
            qv_batch_free(&st->cur);
            continue;
        }
        st->have_cur = true;
        st->off = 0;
        int64_t b = qv_batch_bytes(&st->cur);
        st->chunk_rows = st->cur.nrows;
        if (b > c->max_batch_bytes * 9 / 10) {
            /* Aim under the limit; metadata and padding take a little. */
            st->chunk_rows = (int64_t)((double)st->cur.nrows * ((double)c->max_batch_bytes * 0.85) / (double)b);
            if (st->chunk_rows < 1) st->chunk_rows = 1;
        }
    }
    int ncols = st->cur.schema.nfields;
    ipc_message *msgs = qv_xcalloc((size_t)ncols + 1, sizeof *msgs);
    int64_t len, nmsgs = 0;
    int rc;
    for (;;) {
        len = st->cur.nrows - st->off;
        if (len > st->chunk_rows) len = st->chunk_rows;
        qv_batch part;
        batch_slice(&part, &st->cur, st->off, len);
        int n = 0;
        for (int i = 0; i <= ncols; i++) ipc_message_init(&msgs[i]);
        rc = ipc_encoder_batch(st->enc, &part, msgs, &n, err);
        qv_batch_free(&part);
        nmsgs = n;
        if (rc) break;
        int64_t total = 0;
        for (int i = 0; i < n; i++) total += (int64_t)msgs[i].metadata.len + msgs[i].body_len;
        /* An estimate that was too low (strings, padding): halve and redo. The
           encoder already saw this slice's dictionaries, so only without any. */
        if (total <= c->max_batch_bytes || len == 1 || n > 1) break;
        for (int i = 0; i < n; i++) ipc_message_free(&msgs[i]);
        st->chunk_rows = len / 2;
    }
    if (rc == QV_OK) {
        int64_t bytes = 0;
        push_messages(c, msgs, (int)nmsgs, &bytes);
        eng_metrics *mt = eng_get_metrics(c->e);
        atomic_fetch_add(&mt->rows_sent, len);
        atomic_fetch_add(&mt->bytes_sent, bytes);
        st->off += len;
        if (st->off >= st->cur.nrows) {
            qv_batch_free(&st->cur);
            st->have_cur = false;
        }
    }
    for (int i = 0; i < nmsgs; i++) ipc_message_free(&msgs[i]);
    free(msgs);
    return rc;
}

const fl_rpc fl_rpc_do_get = {
    .name = "DoGet",
    .on_message = doget_msg,
    .produce = doget_produce,
    .on_cancel = doget_cancel,
    .free_state = doget_free,
};
