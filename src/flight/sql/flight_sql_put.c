/*
** Flight SQL over DoPut: CommandStatementUpdate (run SQL, answer the row
** count), CommandStatementIngest (bulk load with the ADBC ingest modes),
** CommandPreparedStatementQuery (bind parameter rows to a handle) and
** CommandPreparedStatementUpdate (run a prepared statement once per
** parameter row, answer the summed count). Replies are one PutResult whose
** app_metadata is DoPutUpdateResult / DoPutPreparedStatementResult.
**
** The raw DoPut hands the call over on its first message (fl_sql_put_start
** switches c->rpc), so this file owns the call's state from then on:
** the command, the IPC decoder, and either the open eng_put (ingest) or the
** parameter rows received so far. Nothing is applied before the client's
** clean half-close (an ingest, only once its reply reached the client, as
** the raw DoPut commits); sqlput_free aborts whatever was not committed.
*/
#include "flight_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAM_ROWS 1000000
#define MAX_PARAM_BYTES (64 << 20)

enum { PUT_UPDATE = 1, PUT_INGEST, PUT_BIND, PUT_PREP_UPDATE };

typedef struct put_kind {
    const char *name;
    int kind;
} put_kind;

/* The DoPut commands, by Any type name. */
static const put_kind put_kinds[] = {
    {"CommandStatementUpdate", PUT_UPDATE},
    {"CommandStatementIngest", PUT_INGEST},
    {"CommandPreparedStatementQuery", PUT_BIND},
    {"CommandPreparedStatementUpdate", PUT_PREP_UPDATE},
};

typedef struct sqlput_state {
    int kind;
    bool started;
    qv_str sql;      /* PUT_UPDATE */
    qv_str handle;   /* PUT_BIND, PUT_PREP_UPDATE */
    char table[QV_NAME_MAX + 1];
    eng_put_mode mode;
    ipc_decoder *dec;
    eng_put *put;
    qv_batch *params;
    int nparams;
    int64_t rows, bytes;
    bool have_schema;
    fl_call *call;
    fl_task job;      /* the command's work, on a query runner (sqlput_job) */
    fl_put_feed feed; /* an ingest's next batch, applied on a runner */
    bool job_done;
    int64_t count;    /* the job's row count for the reply */
} sqlput_state;

static void sqlput_free(fl_call *c) {
    sqlput_state *st = c->state;
    fl_task_finish(&st->job); /* no runner touches st after this */
    fl_put_feed_free(&st->feed);
    if (st->put) eng_put_abort(st->put);
    if (st->dec) ipc_decoder_free(st->dec);
    for (int i = 0; i < st->nparams; i++) qv_batch_free(&st->params[i]);
    free(st->params);
    qv_str_free(&st->sql);
    qv_str_free(&st->handle);
    free(st);
    c->state = NULL;
}

static int ingest_setup(sqlput_state *st, const fl_sql_cmd_in *in, qv_err *err) {
    Arrow__Flight__Protocol__Sql__CommandStatementIngest *m =
        arrow__flight__protocol__sql__command_statement_ingest__unpack(NULL, in->value_len, in->value);
    if (!m) return qv_err_set(err, QV_EINVAL, "CommandStatementIngest: malformed message");
    int rc = QV_OK;
    const Arrow__Flight__Protocol__Sql__CommandStatementIngest__TableDefinitionOptions *o = m->table_definition_options;
    int if_not_exist = o && o->has_if_not_exist ? (int)o->if_not_exist : 0;
    int if_exists = o && o->has_if_exists ? (int)o->if_exists : 0;
    if (m->has_temporary && m->temporary)
        rc = qv_err_set(err, QV_EUNSUPPORTED, "CommandStatementIngest: Quiver has no temporary tables");
    else if (m->catalog && strcmp(m->catalog, FL_SQL_CATALOG) != 0)
        rc = qv_err_set(err, QV_EINVAL, "CommandStatementIngest: catalog '%.100s' does not exist (Quiver has '%s')",
                        m->catalog, FL_SQL_CATALOG);
    else if (m->schema && strcmp(m->schema, FL_SQL_SCHEMA) != 0)
        rc = qv_err_set(err, QV_EINVAL, "CommandStatementIngest: schema '%.100s' does not exist (Quiver has '%s')",
                        m->schema, FL_SQL_SCHEMA);
    else if (m->has_transaction_id)
        rc = qv_err_set(err, QV_EUNSUPPORTED, "CommandStatementIngest: Quiver has no transactions");
    else
        rc = fl_table_name((const uint8_t *)(m->table ? m->table : ""), m->table ? strlen(m->table) : 0, st->table,
                           err);
    /* not-exist: CREATE (also unspecified) or FAIL; exists: APPEND, REPLACE, FAIL (also unspecified) */
    st->mode.fail_if_missing = if_not_exist == 2;
    st->mode.if_exists = if_exists == 2 ? ENG_IF_EXISTS_APPEND : if_exists == 3 ? ENG_IF_EXISTS_REPLACE
                                                                                : ENG_IF_EXISTS_FAIL;
    arrow__flight__protocol__sql__command_statement_ingest__free_unpacked(m, NULL);
    return rc;
}

/* Ingest needs write; replacing an existing table drops its rows, as DROP
   does, so it needs admin (checked before any batch is taken). */
static int ingest_authorize(fl_call *c, const sqlput_state *st, qv_err *err) {
    bool replace = st->mode.if_exists == ENG_IF_EXISTS_REPLACE;
    char what[QV_NAME_MAX + 48];
    snprintf(what, sizeof what, "ingest into %s%s", st->table, replace ? " replacing it" : "");
    return fl_call_authorize(c, replace ? AUTH_ROLE_ADMIN : AUTH_ROLE_WRITE, what, err);
}

static int command_setup(fl_call *c, sqlput_state *st, const fl_flightdata *fd, qv_err *err) {
    fl_descriptor *d = arrow__flight__protocol__flight_descriptor__unpack(NULL, fd->descriptor_len, fd->descriptor);
    if (!d) return qv_err_set(err, QV_EINVAL, "DoPut: flight_descriptor is not a FlightDescriptor message");
    fl_sql_cmd_in in;
    int rc = fl_sql_any_parse(d->cmd.data, d->cmd.len, &in, err);
    arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
    if (rc) return qv_err_prefix(err, "DoPut");
    for (size_t i = 0; i < sizeof put_kinds / sizeof put_kinds[0]; i++)
        if (strcmp(put_kinds[i].name, in.name) == 0) st->kind = put_kinds[i].kind;
    if (st->kind == PUT_UPDATE) {
        Arrow__Flight__Protocol__Sql__CommandStatementUpdate *m =
            arrow__flight__protocol__sql__command_statement_update__unpack(NULL, in.value_len, in.value);
        if (!m)
            rc = qv_err_set(err, QV_EINVAL, "CommandStatementUpdate: malformed message");
        else if (m->has_transaction_id)
            rc = qv_err_set(err, QV_EUNSUPPORTED, "CommandStatementUpdate: Quiver has no transactions");
        else if (m->query)
            qv_str_append(&st->sql, m->query, strlen(m->query));
        if (m) arrow__flight__protocol__sql__command_statement_update__free_unpacked(m, NULL);
        if (!rc) rc = fl_ticket_sql((const uint8_t *)st->sql.data, st->sql.len, err);
        if (!rc) rc = fl_call_authorize(c, AUTH_ROLE_WRITE, "call DoPut with CommandStatementUpdate", err);
    } else if (st->kind == PUT_INGEST) {
        rc = ingest_setup(st, &in, err);
        if (!rc) rc = fl_call_authorize(c, AUTH_ROLE_WRITE, "call DoPut with CommandStatementIngest", err);
        if (!rc) rc = ingest_authorize(c, st, err);
    } else if (st->kind == PUT_BIND || st->kind == PUT_PREP_UPDATE) {
        /* Both messages are one bytes field 1: the handle. */
        Arrow__Flight__Protocol__Sql__CommandPreparedStatementQuery *m =
            arrow__flight__protocol__sql__command_prepared_statement_query__unpack(NULL, in.value_len, in.value);
        if (!m) {
            rc = qv_err_set(err, QV_EINVAL, "%s: malformed message", in.name);
        } else {
            qv_str_append(&st->handle, m->prepared_statement_handle.data,
                          m->has_prepared_statement_handle ? m->prepared_statement_handle.len : 0);
            arrow__flight__protocol__sql__command_prepared_statement_query__free_unpacked(m, NULL);
            char session[128];
            eng_stmt_view v;
            fl_sql_session(c, session, sizeof session);
            rc = eng_stmt_get(c->e, session, (const uint8_t *)st->handle.data, st->handle.len, &v, err);
            /* Binding a prepared query's parameters is a read; an update's needs write (and its kind's role). */
            if (!rc && st->kind == PUT_PREP_UPDATE)
                rc = fl_call_authorize(c, AUTH_ROLE_WRITE, "call DoPut with CommandPreparedStatementUpdate", err);
            if (!rc) rc = fl_call_authorize_sql(c, v.sql, v.len, err);
            eng_stmt_view_free(&v); /* safe after a failed get: it zeroes v */
        }
    } else {
        rc = qv_err_set(err, QV_EUNSUPPORTED, "DoPut: Flight SQL command %.90s is not implemented by Quiver", in.name);
    }
    fl_sql_any_free(&in);
    return rc;
}

static int take_batch(sqlput_state *st, qv_batch *b, qv_err *err) {
    if (st->kind == PUT_INGEST) {
        st->rows += b->nrows;
        fl_put_feed_take(&st->feed, &st->put, b); /* applied on a runner before the next read */
        return QV_OK;
    }
    if (st->kind == PUT_UPDATE) {
        qv_batch_free(b);
        return qv_err_set(err, QV_EINVAL, "CommandStatementUpdate takes no data; bind parameters to a prepared statement");
    }
    st->rows += b->nrows;
    st->bytes += qv_batch_bytes(b);
    if (st->rows > MAX_PARAM_ROWS || st->bytes > MAX_PARAM_BYTES) {
        qv_batch_free(b);
        return qv_err_set(err, QV_ERESOURCE,
                          "prepared statement parameters: more than %d rows or %d MiB in one DoPut; nothing was bound",
                          MAX_PARAM_ROWS, MAX_PARAM_BYTES >> 20);
    }
    st->params = qv_xrealloc(st->params, sizeof(qv_batch) * (size_t)(st->nparams + 1));
    st->params[st->nparams++] = *b;
    return QV_OK;
}

static int sqlput_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    sqlput_state *st = c->state;
    fl_flightdata fd;
    if (fl_flightdata_parse(msg->data, msg->size, &fd, err)) return qv_err_prefix(err, "DoPut");
    if (!st->started) {
        st->started = true;
        if (command_setup(c, st, &fd, err)) return err->code;
    }
    if (fd.header_len == 0) {
        if (fd.body_len) return qv_err_set(err, QV_EINVAL, "DoPut: FlightData with a body but no data_header");
        return QV_OK;
    }
    ipc_event ev;
    qv_batch batch;
    int rc = fl_flightdata_decode(st->dec, msg, &fd, &ev, &batch, err);
    if (rc) return qv_err_prefix(err, "DoPut (Flight SQL)");
    if (ev == IPC_EV_SCHEMA) {
        if (st->have_schema) return qv_err_set(err, QV_EINVAL, "DoPut: a second schema in one stream");
        st->have_schema = true;
        return QV_OK; /* an ingest's put: sqlput_recv_ready */
    }
    if (ev != IPC_EV_BATCH) return QV_OK;
    if (!st->have_schema) {
        qv_batch_free(&batch);
        return qv_err_set(err, QV_EINVAL, "DoPut: a record batch before the schema");
    }
    return take_batch(st, &batch, err);
}

static void push_update_result(fl_call *c, int64_t n) {
    Arrow__Flight__Protocol__Sql__DoPutUpdateResult r = ARROW__FLIGHT__PROTOCOL__SQL__DO_PUT_UPDATE_RESULT__INIT;
    r.has_record_count = true;
    r.record_count = n;
    uint8_t buf[32];
    size_t len = arrow__flight__protocol__sql__do_put_update_result__pack(&r, buf);
    Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
    pr.app_metadata.data = buf;
    pr.app_metadata.len = len;
    fl_call_push_pb(c, &pr);
}

/* All parameter rows received, as one batch (params NULL when none came). */
static int gather_params(sqlput_state *st, qv_batch *out, bool *have, qv_err *err) {
    *have = false;
    const qv_schema *s = ipc_decoder_schema(st->dec);
    if (!st->have_schema || !s) return QV_OK;
    qv_batch_init(out, s);
    *have = true;
    for (int j = 0; j < s->nfields; j++) {
        qv_type t = s->fields[j].type == QV_T_SYMBOL ? QV_T_STRING : s->fields[j].type;
        qv_builder b;
        qv_builder_init(&b, t, st->rows);
        for (int i = 0; i < st->nparams; i++)
            for (int64_t r = 0; r < st->params[i].nrows; r++) qv_builder_append_from(&b, &st->params[i].cols[j], r);
        qv_array_free(&out->cols[j]);
        qv_builder_finish(&b, &out->cols[j]);
        qv_builder_free(&b);
        out->schema.fields[j].type = t;
    }
    out->nrows = st->rows;
    (void)err;
    return QV_OK;
}

static bool cancelled(fl_call *c) {
    pthread_mutex_lock(&c->mu);
    bool x = c->cancelled;
    pthread_mutex_unlock(&c->mu);
    return x;
}

static int sqlput_end(fl_call *c, qv_err *err) {
    sqlput_state *st = c->state;
    if (!st->started) return qv_err_set(err, QV_EINVAL, "DoPut: the stream ended before its first message");
    if (cancelled(c)) return qv_err_set(err, QV_ECANCELLED, "DoPut: the client went away; nothing was applied");
    if (st->kind != PUT_INGEST) return QV_OK; /* the work runs from sqlput_produce */
    /* As the raw DoPut does: the reply goes out first, and only if that
       write reaches a live client does the commit run (a killed client can
       look like a clean end of stream). */
    if (!st->put)
        return qv_err_set(err, QV_EINVAL, "CommandStatementIngest: the stream carried no schema; nothing was written");
    push_update_result(c, st->rows);
    return QV_OK;
}

/* Bind the parameter rows to the handle, or run the prepared update once per row. */
static int run_prepared(sqlput_state *st, qv_err *err) {
    fl_call *c = st->call;
    char session[128];
    fl_sql_session(c, session, sizeof session);
    qv_batch params;
    bool have = false;
    eng_stmt_view v;
    memset(&v, 0, sizeof v);
    int rc = gather_params(st, &params, &have, err);
    if (!rc) rc = eng_stmt_get(c->e, session, (const uint8_t *)st->handle.data, st->handle.len, &v, err);
    if (!rc && have && st->kind == PUT_BIND) rc = fl_sql_check_params(c->e, v.sql, v.len, &params, err);
    if (!rc && st->kind == PUT_BIND)
        rc = eng_stmt_bind(c->e, session, (const uint8_t *)st->handle.data, st->handle.len, have ? &params : NULL,
                           err);
    if (!rc && st->kind == PUT_PREP_UPDATE)
        rc = fl_sql_run_update(c, v.sql, v.len, have ? &params : NULL, &st->count, err);
    eng_stmt_view_free(&v);
    if (have) qv_batch_free(&params);
    return rc;
}

/* On a query runner while the call is parked: replies are queued by produce. */
static int sqlput_job(void *arg, qv_err *err) {
    sqlput_state *st = arg;
    switch (st->kind) {
    case PUT_UPDATE: return fl_sql_run_update(st->call, st->sql.data, st->sql.len, NULL, &st->count, err);
    case PUT_INGEST: {
        eng_put *p = st->put;
        st->put = NULL;
        return p ? eng_put_commit(p, &st->count, err) : QV_OK;
    }
    case PUT_BIND:
    case PUT_PREP_UPDATE: return run_prepared(st, err);
    }
    return qv_err_set(err, QV_EINTERNAL, "DoPut: Flight SQL put of kind %d", st->kind);
}

static void push_bind_result(fl_call *c, const sqlput_state *st) {
    Arrow__Flight__Protocol__Sql__DoPutPreparedStatementResult r =
        ARROW__FLIGHT__PROTOCOL__SQL__DO_PUT_PREPARED_STATEMENT_RESULT__INIT;
    r.has_prepared_statement_handle = true;
    r.prepared_statement_handle.data = (uint8_t *)st->handle.data;
    r.prepared_statement_handle.len = st->handle.len;
    Arrow__Flight__Protocol__PutResult pr = ARROW__FLIGHT__PROTOCOL__PUT_RESULT__INIT;
    uint8_t buf[128];
    pr.app_metadata.data = buf;
    pr.app_metadata.len = arrow__flight__protocol__sql__do_put_prepared_statement_result__pack(&r, buf);
    fl_call_push_pb(c, &pr);
}

/* After the clean end (and, for an ingest, once its reply went out to a
   live client): the command's work runs on a query runner, admitted as a
   query is, never on a completion-queue thread; then its reply goes out. */
static int sqlput_produce(fl_call *c, bool *done, qv_err *err) {
    sqlput_state *st = c->state;
    *done = true;
    if (!st || st->job_done) return QV_OK;
    if (!st->job.inited) fl_task_init_step(&st->job, c);
    bool ready = false;
    int rc = fl_task_job(&st->job, sqlput_job, st, &ready, err);
    if (!ready) {
        *done = rc != QV_OK;
        return rc;
    }
    fl_task_finish_step(&st->job);
    st->job_done = true;
    if (rc) return rc;
    if (st->kind == PUT_UPDATE || st->kind == PUT_PREP_UPDATE) push_update_result(c, st->count);
    if (st->kind == PUT_BIND) push_bind_result(c, st);
    *done = st->kind == PUT_INGEST; /* else: send the reply, then done */
    return QV_OK;
}

/* An ingest opens its put as the raw DoPut does (fl_put_gate). */
static int sqlput_recv_ready(fl_call *c, bool *ready, qv_err *err) {
    sqlput_state *st = c->state;
    *ready = true;
    if (!st || st->kind != PUT_INGEST || !st->have_schema) return QV_OK;
    int rc = fl_put_feed_ready(&st->job, &st->feed, ready, err);
    if (rc || !*ready) return rc;
    fl_put_open o = {st->table, ipc_decoder_schema(st->dec), st->mode};
    return fl_put_gate(c, &st->job, &o, &st->put, ready, err);
}

static void sqlput_cancel(fl_call *c) {
    sqlput_state *st = c->state;
    if (st) fl_task_cancel(&st->job);
}

const fl_rpc fl_rpc_sql_put = {
    .name = "DoPut",
    .client_streams = true,
    .on_message = sqlput_msg,
    .on_end = sqlput_end,
    .produce = sqlput_produce,
    .recv_ready = sqlput_recv_ready,
    .on_cancel = sqlput_cancel,
    .free_state = sqlput_free,
};

bool fl_sql_put_claims(const qv_buffer *msg) {
    fl_flightdata fd;
    qv_err err;
    if (fl_flightdata_parse(msg->data, msg->size, &fd, &err) || !fd.has_descriptor) return false;
    fl_descriptor *d = arrow__flight__protocol__flight_descriptor__unpack(NULL, fd.descriptor_len, fd.descriptor);
    if (!d) return false;
    bool yes = d->type == ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD &&
               fl_sql_is_any(d->cmd.data, d->cmd.len);
    arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
    return yes;
}

int fl_sql_put_start(fl_call *c, qv_buffer *msg, qv_err *err) {
    sqlput_state *st = qv_xcalloc(1, sizeof *st);
    qv_str_init(&st->sql);
    qv_str_init(&st->handle);
    ipc_read_options ro = {.dictionary_as_symbol = false, .max_body_bytes = 0};
    ipc_decoder_new(&ro, &st->dec);
    st->call = c;
    pthread_mutex_lock(&c->mu);
    c->rpc = &fl_rpc_sql_put;
    c->state = st;
    pthread_mutex_unlock(&c->mu);
    return sqlput_msg(c, msg, err);
}
