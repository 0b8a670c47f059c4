/*
** A Flight SQL statement that changes things (DDL/DML sent as
** CommandStatementQuery, or a prepared one), which GetFlightInfo runs: on a
** query runner through admission (fl_task_job), never on a completion-queue
** thread. The call switches to fl_rpc_sql_info, whose state is an info_job:
** a copy of the descriptor, the job, and the FlightInfo it built, queued by
** produce once the job is done (the runner queues nothing itself).
*/
#include "flight_sql.h"

#include <stdlib.h>
#include <string.h>

typedef struct info_job {
    fl_call *call;
    fl_descriptor *d;
    fl_task job;
    grpc_byte_buffer *out;
} info_job;

static int info_run(void *arg, qv_err *err) {
    info_job *j = arg;
    return fl_sql_flight_info_bb(j->call, j->d, &j->out, err);
}

static int info_produce(fl_call *c, bool *done, qv_err *err) {
    info_job *j = c->state;
    *done = true;
    if (!j || !j->job.inited) return QV_OK; /* the reply went out */
    bool ready = false;
    int rc = fl_task_job(&j->job, info_run, j, &ready, err);
    if (!ready) {
        *done = rc != QV_OK;
        return rc;
    }
    fl_task_finish_step(&j->job);
    if (rc) return rc;
    fl_call_push(c, j->out);
    j->out = NULL;
    *done = false;
    return QV_OK;
}

static void info_cancel(fl_call *c) {
    info_job *j = c->state;
    if (j) fl_task_cancel(&j->job);
}

static void info_free(fl_call *c) {
    info_job *j = c->state;
    fl_task_finish(&j->job);
    if (j->out) grpc_byte_buffer_destroy(j->out);
    arrow__flight__protocol__flight_descriptor__free_unpacked(j->d, NULL);
    free(j);
    c->state = NULL;
}

static const fl_rpc fl_rpc_sql_info = {
    .name = "GetFlightInfo",
    .produce = info_produce,
    .on_cancel = info_cancel,
    .free_state = info_free,
};

/* Whether resolving d runs a statement that changes things. */
static bool info_runs_change(fl_call *c, const fl_descriptor *d) {
    fl_sql_cmd_in in;
    qv_err err;
    if (fl_sql_any_parse(d->cmd.data, d->cmd.len, &in, &err)) return false;
    bool yes = false;
    if (strcmp(in.name, "CommandStatementQuery") == 0) {
        Arrow__Flight__Protocol__Sql__CommandStatementQuery *m =
            arrow__flight__protocol__sql__command_statement_query__unpack(NULL, in.value_len, in.value);
        yes = m && m->query && fl_sql_changes_things(m->query, strlen(m->query));
        if (m) arrow__flight__protocol__sql__command_statement_query__free_unpacked(m, NULL);
    } else if (strcmp(in.name, "CommandPreparedStatementQuery") == 0) {
        Arrow__Flight__Protocol__Sql__CommandPreparedStatementQuery *m =
            arrow__flight__protocol__sql__command_prepared_statement_query__unpack(NULL, in.value_len, in.value);
        char session[128];
        eng_stmt_view v;
        fl_sql_session(c, session, sizeof session);
        if (m && m->has_prepared_statement_handle &&
            eng_stmt_get(c->e, session, m->prepared_statement_handle.data, m->prepared_statement_handle.len, &v,
                         &err) == QV_OK) {
            yes = fl_sql_changes_things(v.sql, v.len);
            eng_stmt_view_free(&v);
        }
        if (m) arrow__flight__protocol__sql__command_prepared_statement_query__free_unpacked(m, NULL);
    }
    fl_sql_any_free(&in);
    return yes;
}

bool fl_sql_info_job_start(fl_call *c, const fl_descriptor *d, qv_err *err) {
    qv_err_clear(err);
    if (!info_runs_change(c, d)) return false;
    info_job *j = qv_xcalloc(1, sizeof *j);
    size_t n = arrow__flight__protocol__flight_descriptor__get_packed_size(d);
    uint8_t *buf = qv_xmalloc(n + 1);
    arrow__flight__protocol__flight_descriptor__pack(d, buf);
    j->d = arrow__flight__protocol__flight_descriptor__unpack(NULL, n, buf);
    free(buf);
    if (!j->d) {
        free(j);
        qv_err_set(err, QV_EINTERNAL, "GetFlightInfo: cannot copy the descriptor");
        return true;
    }
    j->call = c;
    fl_task_init(&j->job, c);
    pthread_mutex_lock(&c->mu);
    c->rpc = &fl_rpc_sql_info;
    c->state = j;
    pthread_mutex_unlock(&c->mu);
    return true;
}
