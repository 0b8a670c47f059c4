/*
** DoPut: the first FlightData names the table (descriptor PATH [table] or
** CMD table) and carries the schema; every record batch after it goes to
** eng_put_batch and is acknowledged with a PutResult {"rows": n}. Only a
** clean half-close of a call that was not cancelled commits; everything
** else (bad data, client gone, server shutdown) aborts, leaving nothing.
**
** State (owned by the call): the IPC decoder and the open eng_put. Batches
** stream into storage as they come (each applied on a query runner while
** the next message is received, at most one more waiting: fl_put_feed,
** pipelined; the commit first waits for the last); while another stream holds the table's
** writer slot, nothing more is read (doput_recv_ready: the client waits, we
** hold nothing). The commit runs on a query runner (admitted as a query:
** RESOURCE_EXHAUSTED when the queue is full), never on a completion-queue
** thread. doput_free aborts a put that was not committed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight.pb-c.h"
#include "flight_internal.h"

typedef struct doput_state {
    ipc_decoder *dec;
    eng_put *put;        /* the step thread's, or the commit job's while it runs */
    char table[QV_NAME_MAX + 1];
    int64_t rows, batches, committed;
    bool has_schema;     /* the put is opened once admitted (doput_recv_ready) */
    bool committing;
    fl_task job;         /* the admission slot, then each batch and the commit on a query runner */
    fl_put_feed feed;    /* the batch the runner applies next */
} doput_state;

static void doput_free(fl_call *c) {
    doput_state *st = c->state;
    fl_task_finish(&st->job); /* no runner touches st after this */
    fl_put_feed_free(&st->feed);
    if (st->put) {
        QV_INFO("flight DoPut into '%s' abandoned after %lld rows: nothing applied", st->table,
                (long long)st->rows);
        eng_put_abort(st->put);
    }
    if (st->dec) ipc_decoder_free(st->dec);
    free(st);
    c->state = NULL;
    atomic_fetch_sub(&eng_get_metrics(c->e)->flight_streams_active, 1);
}

static int descriptor_table(const fl_flightdata *fd, char *out, qv_err *err) {
    Arrow__Flight__Protocol__FlightDescriptor *d =
        arrow__flight__protocol__flight_descriptor__unpack(NULL, fd->descriptor_len, fd->descriptor);
    if (!d) return qv_err_set(err, QV_EINVAL, "DoPut: flight_descriptor is not a FlightDescriptor message");
    int rc;
    if (d->type == ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__PATH && d->n_path == 1)
        rc = fl_table_name((const uint8_t *)d->path[0], strlen(d->path[0]), out, err);
    else if (d->type == ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD)
        rc = fl_table_name(d->cmd.data, d->cmd.len, out, err);
    else
        rc = qv_err_set(err, QV_EINVAL, "DoPut: descriptor must be PATH [table] or CMD table (got type %d, %zu path elements)",
                        (int)d->type, d->n_path);
    arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
    return rc;
}

/* The body as a buffer the decoder may keep: a view of msg when 8-byte
   aligned (the usual case), else an aligned copy. */
static int doput_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    doput_state *st = c->state;
    if (!st && fl_sql_put_claims(msg)) return fl_sql_put_start(c, msg, err); /* a Flight SQL command */
    if (!st) {
        /* Flight SQL commands check their own roles (binding a query's parameters needs only read). */
        if (fl_call_authorize(c, AUTH_ROLE_WRITE, "call DoPut", err)) return err->code;
        st = qv_xcalloc(1, sizeof *st);
        atomic_fetch_add(&eng_get_metrics(c->e)->flight_streams_active, 1);
        ipc_read_options ro = {.dictionary_as_symbol = false, .max_body_bytes = 0};
        ipc_decoder_new(&ro, &st->dec);
        st->feed.pipelined = true; /* receive the next batch while one is applied */
        pthread_mutex_lock(&c->mu);
        c->state = st;
        pthread_mutex_unlock(&c->mu);
    }
    fl_flightdata fd;
    if (fl_flightdata_parse(msg->data, msg->size, &fd, err)) return qv_err_prefix(err, "DoPut");
    if (!st->has_schema) {
        if (!st->table[0]) {
            if (!fd.has_descriptor)
                return qv_err_set(err, QV_EINVAL,
                                  "DoPut: the first message must carry a flight_descriptor naming the table");
            if (descriptor_table(&fd, st->table, err)) return err->code;
        }
        if (fd.header_len == 0) {
            if (fd.body_len) return qv_err_set(err, QV_EINVAL, "DoPut: data before the schema");
            return QV_OK; /* metadata-only message */
        }
    }
    if (fd.header_len == 0) {
        if (fd.body_len) return qv_err_set(err, QV_EINVAL, "DoPut: FlightData with a body but no data_header");
        return QV_OK;
    }
    ipc_event ev;
    qv_batch batch;
    int rc = fl_flightdata_decode(st->dec, msg, &fd, &ev, &batch, err);
    if (rc) return qv_err_prefix(err, "DoPut into '%s', message %lld", st->table, (long long)st->batches + 1);
    if (ev == IPC_EV_SCHEMA) {
        if (st->has_schema)
            return qv_err_set(err, QV_EINVAL, "DoPut into '%s': a second schema in one stream", st->table);
        st->has_schema = true;
        return QV_OK; /* doput_recv_ready opens the put */
    }
    if (ev != IPC_EV_BATCH) return QV_OK;
    if (!st->put) {
        qv_batch_free(&batch);
        return qv_err_set(err, QV_EINVAL, "DoPut into '%s': a record batch before the schema", st->table);
    }
    int64_t n = batch.nrows;
    fl_put_feed_take(&st->feed, &st->put, &batch); /* applied on a runner before the next read */
    st->rows += n;
    st->batches++;
    char md[48];
    int len = snprintf(md, sizeof md, "{\"rows\": %lld}", (long long)n);
    Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
    pr.app_metadata.data = (uint8_t *)md;
    pr.app_metadata.len = (size_t)len;
    fl_call_push_pb(c, &pr);
    return QV_OK;
}

/*
** End of stream. gRPC reports a vanished client (killed, reset, deadline)
** to a pending RECV_MESSAGE exactly like a clean half-close, and the close
** batch that tells them apart may not have completed yet. So before
** committing we write one more message, a summary PutResult
** {"stream_rows": n}: on a call that is already cancelled that write fails
** (the call breaks off and the put is aborted); only if it goes through,
** and the call is still not cancelled, does doput_produce commit.
*/
static int doput_end(fl_call *c, qv_err *err) {
    doput_state *st = c->state;
    if (!st || !st->put)
        return qv_err_set(err, QV_EINVAL, "DoPut: the stream ended without a schema; nothing was written");
    char md[64];
    int len = snprintf(md, sizeof md, "{\"stream_rows\": %lld}", (long long)st->rows);
    Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
    pr.app_metadata.data = (uint8_t *)md;
    pr.app_metadata.len = (size_t)len;
    fl_call_push_pb(c, &pr);
    return QV_OK;
}

/* Before reading a batch: the query slot and the table's writer slot (fl_put_gate). */
static int doput_recv_ready(fl_call *c, bool *ready, qv_err *err) {
    doput_state *st = c->state;
    *ready = true;
    if (!st || !st->has_schema || st->committing) return QV_OK;
    int rc = fl_put_feed_ready(&st->job, &st->feed, ready, err);
    if (rc || !*ready) return rc;
    fl_put_open o = {st->table, ipc_decoder_schema(st->dec), {false, ENG_IF_EXISTS_APPEND}};
    return fl_put_gate(c, &st->job, &o, &st->put, ready, err);
}

static int commit_job(void *arg, qv_err *err) {
    doput_state *st = arg;
    eng_put *p = st->put;
    st->put = NULL;
    return eng_put_commit(p, &st->committed, err);
}

/* Called once the summary went out and the call is not cancelled: the
   commit (fsync, WAL) runs on a query runner, admitted as a query is. */
static int doput_commit(fl_call *c, bool *done, qv_err *err) {
    doput_state *st = c->state;
    *done = true;
    if (!st || !st->job.inited) return QV_OK;
    if (!st->committing) { /* from here on the job owns st->put */
        bool applied = true; /* the last batches may still be applying */
        int rc = fl_put_feed_drain(&st->job, &st->feed, &applied, err);
        if (rc || !applied) {
            *done = rc != QV_OK;
            return rc;
        }
        if (!st->put) return QV_OK;
        st->committing = true;
    }
    bool ready = false;
    int rc = fl_task_job(&st->job, commit_job, st, &ready, err);
    if (!ready) {
        *done = rc != QV_OK;
        return rc;
    }
    fl_task_finish_step(&st->job);
    if (rc == QV_OK) QV_DEBUG("flight DoPut into '%s': %lld rows committed", st->table, (long long)st->committed);
    return rc;
}

static void doput_cancel(fl_call *c) {
    doput_state *st = c->state;
    if (c->rpc == &fl_rpc_do_put && st) fl_task_cancel(&st->job);
}

const fl_rpc fl_rpc_do_put = {
    .name = "DoPut",
    .client_streams = true,
    .on_message = doput_msg,
    .on_end = doput_end,
    .produce = doput_commit,
    .recv_ready = doput_recv_ready,
    .on_cancel = doput_cancel,
    .free_state = doput_free,
};
