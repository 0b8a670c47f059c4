/*
** Flight SQL actions (DoAction): prepared statements, cancellation,
** sessions, and the transaction actions Quiver answers as unsupported. One
** table maps the action type to its handler and description (the raw
** ListActions keeps listing only Quiver's own four actions). Flight SQL action bodies and results are packed in Any; the
** base protocol's session and cancel actions use their messages as is.
**
** Also the registry of running Flight SQL DoGets that CancelFlightInfo
** reaches: ticket bytes -> the query, under one mutex. A DoGet removes its
** entry (fl_sql_doget_done) before it closes the query, so a cancel never
** touches a freed query.
*/
#include "flight_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef Arrow__Flight__Protocol__Sql__SessionOptionValue opt_value;

static void push_result(fl_call *c, const void *p, size_t n) {
    Arrow__Flight__Protocol__Result r = ARROW__FLIGHT__PROTOCOL__RESULT__INIT;
    r.body.data = (uint8_t *)p;
    r.body.len = n;
    fl_call_push_pb(c, &r);
}

static void push_any_result(fl_call *c, const char *name, const void *msg) {
    qv_str b;
    qv_str_init(&b);
    fl_sql_any_pack(name, msg, &b);
    push_result(c, b.data, b.len);
    qv_str_free(&b);
}

static void push_pb_result(fl_call *c, const void *msg) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = qv_xmalloc(n + 1);
    protobuf_c_message_pack(msg, buf);
    push_result(c, buf, n);
    free(buf);
}

/* The Flight SQL request inside an action body (an Any of the expected name). */
static int unpack_body(const char *action, const char *want, const uint8_t *body, size_t n, fl_sql_cmd_in *in,
                       qv_err *err) {
    if (fl_sql_any_parse(body, n, in, err)) return qv_err_prefix(err, "%s", action);
    if (strcmp(in->name, want) != 0) {
        qv_err_set(err, QV_EINVAL, "%s: body must be a %s, got %.90s", action, want, in->name);
        fl_sql_any_free(in);
        return err->code;
    }
    return QV_OK;
}

/* ---- prepared statements ---- */

static const ipc_write_options schema_opts;

static int create_prepared(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    fl_sql_cmd_in in;
    if (unpack_body("CreatePreparedStatement", "ActionCreatePreparedStatementRequest", body, n, &in, err))
        return err->code;
    Arrow__Flight__Protocol__Sql__ActionCreatePreparedStatementRequest *m =
        arrow__flight__protocol__sql__action_create_prepared_statement_request__unpack(NULL, in.value_len, in.value);
    fl_sql_any_free(&in);
    if (!m) return qv_err_set(err, QV_EINVAL, "CreatePreparedStatement: malformed request");
    const char *sql = m->query ? m->query : "";
    size_t len = strlen(sql);
    char session[128], handle[ENG_HANDLE_LEN + 1];
    fl_sql_session(c, session, sizeof session);
    eng_query *q = NULL;
    qv_str ds, ps;
    qv_str_init(&ds);
    qv_str_init(&ps);
    int rc = QV_OK;
    if (m->has_transaction_id)
        rc = qv_err_set(err, QV_EUNSUPPORTED, "CreatePreparedStatement: Quiver has no transactions");
    if (!rc) rc = fl_ticket_sql((const uint8_t *)sql, len, err);
    if (!rc) rc = eng_query_open(c->e, sql, len, &q, err); /* checks the SQL now; runs nothing */
    /* A statement that changes things has no result set: JDBC tells updates
       from queries by an empty dataset schema (is_update says the same). */
    bool is_update = !rc && fl_sql_changes_things(sql, len);
    qv_schema none;
    qv_schema_init(&none);
    if (!rc) rc = ipc_schema_to_bytes(is_update ? &none : eng_query_schema(q), &schema_opts, &ds, err);
    if (!rc) rc = ipc_schema_to_bytes(eng_query_param_schema(q), &schema_opts, &ps, err);
    if (!rc) rc = eng_stmt_create(c->e, session, sql, len, handle, err);
    if (!rc) {
        Arrow__Flight__Protocol__Sql__ActionCreatePreparedStatementResult res =
            ARROW__FLIGHT__PROTOCOL__SQL__ACTION_CREATE_PREPARED_STATEMENT_RESULT__INIT;
        res.has_prepared_statement_handle = res.has_dataset_schema = res.has_parameter_schema = true;
        res.prepared_statement_handle.data = (uint8_t *)handle;
        res.prepared_statement_handle.len = ENG_HANDLE_LEN;
        res.dataset_schema.data = (uint8_t *)ds.data;
        res.dataset_schema.len = ds.len;
        res.parameter_schema.data = (uint8_t *)ps.data;
        res.parameter_schema.len = ps.len;
        res.has_is_update = true;
        res.is_update = is_update;
        push_any_result(c, "ActionCreatePreparedStatementResult", &res);
    }
    if (q) eng_query_close(q);
    qv_schema_free(&none);
    qv_str_free(&ds);
    qv_str_free(&ps);
    arrow__flight__protocol__sql__action_create_prepared_statement_request__free_unpacked(m, NULL);
    return rc;
}

static int close_prepared(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    fl_sql_cmd_in in;
    if (unpack_body("ClosePreparedStatement", "ActionClosePreparedStatementRequest", body, n, &in, err))
        return err->code;
    Arrow__Flight__Protocol__Sql__ActionClosePreparedStatementRequest *m =
        arrow__flight__protocol__sql__action_close_prepared_statement_request__unpack(NULL, in.value_len, in.value);
    fl_sql_any_free(&in);
    if (!m) return qv_err_set(err, QV_EINVAL, "ClosePreparedStatement: malformed request");
    char session[128];
    fl_sql_session(c, session, sizeof session);
    int rc = eng_stmt_close(c->e, session, m->prepared_statement_handle.data,
                            m->has_prepared_statement_handle ? m->prepared_statement_handle.len : 0, err);
    arrow__flight__protocol__sql__action_close_prepared_statement_request__free_unpacked(m, NULL);
    return rc;
}

/* ---- cancellation ---- */

typedef struct running {
    uint8_t *ticket;
    size_t n;
    eng_query *q;
} running;

static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;
static running *run_tab;
static int run_n, run_cap;

void fl_sql_running_add(const uint8_t *ticket, size_t n, eng_query *q) {
    pthread_mutex_lock(&run_mu);
    if (run_n == run_cap) {
        run_cap = run_cap ? 2 * run_cap : 16;
        run_tab = qv_xrealloc(run_tab, sizeof(running) * (size_t)run_cap);
    }
    running *r = &run_tab[run_n++];
    r->ticket = qv_xmalloc(n + 1);
    memcpy(r->ticket, ticket, n);
    r->n = n;
    r->q = q;
    pthread_mutex_unlock(&run_mu);
}

void fl_sql_doget_done(eng_query *q) {
    pthread_mutex_lock(&run_mu);
    for (int i = 0; i < run_n; i++)
        if (run_tab[i].q == q) {
            free(run_tab[i].ticket);
            run_tab[i] = run_tab[--run_n];
            break;
        }
    if (run_n == 0) {
        free(run_tab);
        run_tab = NULL;
        run_cap = 0;
    }
    pthread_mutex_unlock(&run_mu);
}

int fl_sql_running_cancel(const uint8_t *ticket, size_t n) {
    int hit = 0;
    pthread_mutex_lock(&run_mu);
    for (int i = 0; i < run_n; i++)
        if (run_tab[i].n == n && memcmp(run_tab[i].ticket, ticket, n) == 0) {
            eng_query_cancel(run_tab[i].q);
            hit = 1;
        }
    pthread_mutex_unlock(&run_mu);
    return hit;
}

/* Cancel the DoGets of every endpoint of a FlightInfo. Returns the CancelStatus. */
static int cancel_info(const uint8_t *p, size_t n, qv_err *err) {
    Arrow__Flight__Protocol__FlightInfo *fi = arrow__flight__protocol__flight_info__unpack(NULL, n, p);
    if (!fi) return -qv_err_set(err, QV_EINVAL, "CancelFlightInfo: info is not a FlightInfo message");
    int hits = 0;
    for (size_t i = 0; i < fi->n_endpoint; i++)
        if (fi->endpoint[i]->ticket)
            hits += fl_sql_running_cancel(fi->endpoint[i]->ticket->ticket.data, fi->endpoint[i]->ticket->ticket.len);
    arrow__flight__protocol__flight_info__free_unpacked(fi, NULL);
    /* Not running (finished, or never fetched): nothing is left to cancel. */
    return hits ? 1 : 3; /* CANCELLED or NOT_CANCELLABLE */
}

static int cancel_flight_info(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    Arrow__Flight__Protocol__Sql__CancelFlightInfoRequest *m =
        arrow__flight__protocol__sql__cancel_flight_info_request__unpack(NULL, n, body);
    if (!m) return qv_err_set(err, QV_EINVAL, "CancelFlightInfo: body is not a CancelFlightInfoRequest");
    int st = cancel_info(m->info.data, m->has_info ? m->info.len : 0, err);
    arrow__flight__protocol__sql__cancel_flight_info_request__free_unpacked(m, NULL);
    if (st < 0) return err->code;
    Arrow__Flight__Protocol__Sql__CancelFlightInfoResult res = ARROW__FLIGHT__PROTOCOL__SQL__CANCEL_FLIGHT_INFO_RESULT__INIT;
    res.has_status = true;
    res.status = (Arrow__Flight__Protocol__Sql__CancelFlightInfoResult__CancelStatus)st;
    push_pb_result(c, &res);
    return QV_OK;
}

static int cancel_query(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    fl_sql_cmd_in in;
    if (unpack_body("CancelQuery", "ActionCancelQueryRequest", body, n, &in, err)) return err->code;
    Arrow__Flight__Protocol__Sql__ActionCancelQueryRequest *m =
        arrow__flight__protocol__sql__action_cancel_query_request__unpack(NULL, in.value_len, in.value);
    fl_sql_any_free(&in);
    if (!m) return qv_err_set(err, QV_EINVAL, "CancelQuery: malformed request");
    int st = cancel_info(m->info.data, m->has_info ? m->info.len : 0, err);
    arrow__flight__protocol__sql__action_cancel_query_request__free_unpacked(m, NULL);
    if (st < 0) return err->code;
    Arrow__Flight__Protocol__Sql__ActionCancelQueryResult res = ARROW__FLIGHT__PROTOCOL__SQL__ACTION_CANCEL_QUERY_RESULT__INIT;
    res.has_result = true;
    res.result = (Arrow__Flight__Protocol__Sql__ActionCancelQueryResult__CancelResult)st;
    push_any_result(c, "ActionCancelQueryResult", &res);
    return QV_OK;
}

/* ---- sessions ---- */

/* Quiver knows two options; each accepts only what exists. */
static int option_check(const char *name, const opt_value *v) {
    enum { OK = 0, BAD_NAME = 1, BAD_VALUE = 2 };
    const char *want = strcmp(name, "catalog") == 0 ? FL_SQL_CATALOG : strcmp(name, "schema") == 0 ? FL_SQL_SCHEMA : NULL;
    if (!want) return BAD_NAME;
    if (!v || v->option_value_case != ARROW__FLIGHT__PROTOCOL__SQL__SESSION_OPTION_VALUE__OPTION_VALUE_STRING_VALUE)
        return BAD_VALUE;
    return strcmp(v->string_value, want) == 0 ? OK : BAD_VALUE;
}

static void new_session_id(char *out) {
    uint8_t r[16] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        int64_t t = qv_now_ns();
        memcpy(r, &t, 8);
    }
    for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
}

static int set_session_options(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    Arrow__Flight__Protocol__Sql__SetSessionOptionsRequest *m =
        arrow__flight__protocol__sql__set_session_options_request__unpack(NULL, n, body);
    if (!m) return qv_err_set(err, QV_EINVAL, "SetSessionOptions: body is not a SetSessionOptionsRequest");
    char session[128];
    fl_sql_session(c, session, sizeof session);
    if (!session[0]) { /* the request starts a session: the client keeps it as a cookie */
        new_session_id(session);
        char cookie[200];
        snprintf(cookie, sizeof cookie, "%s=%s", FL_SQL_SESSION_COOKIE, session);
        fl_call_add_initial_metadata(c, "set-cookie", cookie);
    }
    size_t ne = 0;
    Arrow__Flight__Protocol__Sql__SetSessionOptionsResult__ErrorsEntry *ents = qv_xcalloc(m->n_session_options + 1, sizeof *ents),
        **eps = qv_xcalloc(m->n_session_options + 1, sizeof *eps);
    Arrow__Flight__Protocol__Sql__SetSessionOptionsResult__Error *errs = qv_xcalloc(m->n_session_options + 1, sizeof *errs);
    int rc = QV_OK;
    for (size_t i = 0; rc == QV_OK && i < m->n_session_options; i++) {
        const char *name = m->session_options[i]->key ? m->session_options[i]->key : "";
        int bad = option_check(name, m->session_options[i]->value);
        if (bad == 0) {
            rc = eng_session_set(c->e, session, name, m->session_options[i]->value->string_value, err);
            continue;
        }
        arrow__flight__protocol__sql__set_session_options_result__errors_entry__init(&ents[ne]);
        arrow__flight__protocol__sql__set_session_options_result__error__init(&errs[ne]);
        errs[ne].has_value = true;
        errs[ne].value = (Arrow__Flight__Protocol__Sql__SetSessionOptionsResult__ErrorValue)bad;
        ents[ne].key = (char *)name;
        ents[ne].value = &errs[ne];
        eps[ne] = &ents[ne];
        ne++;
    }
    if (rc == QV_OK) {
        Arrow__Flight__Protocol__Sql__SetSessionOptionsResult res = ARROW__FLIGHT__PROTOCOL__SQL__SET_SESSION_OPTIONS_RESULT__INIT;
        res.n_errors = ne;
        res.errors = eps;
        push_pb_result(c, &res);
    }
    free(ents);
    free(eps);
    free(errs);
    arrow__flight__protocol__sql__set_session_options_request__free_unpacked(m, NULL);
    return rc;
}

static int get_session_options(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    (void)body;
    (void)n;
    (void)err;
    char session[128];
    fl_sql_session(c, session, sizeof session);
    char **names, **values;
    int k = eng_session_options(c->e, session, &names, &values);
    Arrow__Flight__Protocol__Sql__GetSessionOptionsResult__SessionOptionsEntry *ents = qv_xcalloc((size_t)k + 1, sizeof *ents),
        **eps = qv_xcalloc((size_t)k + 1, sizeof *eps);
    opt_value *vals = qv_xcalloc((size_t)k + 1, sizeof *vals);
    for (int i = 0; i < k; i++) {
        arrow__flight__protocol__sql__get_session_options_result__session_options_entry__init(&ents[i]);
        arrow__flight__protocol__sql__session_option_value__init(&vals[i]);
        vals[i].option_value_case = ARROW__FLIGHT__PROTOCOL__SQL__SESSION_OPTION_VALUE__OPTION_VALUE_STRING_VALUE;
        vals[i].string_value = values[i];
        ents[i].key = names[i];
        ents[i].value = &vals[i];
        eps[i] = &ents[i];
    }
    Arrow__Flight__Protocol__Sql__GetSessionOptionsResult res = ARROW__FLIGHT__PROTOCOL__SQL__GET_SESSION_OPTIONS_RESULT__INIT;
    res.n_session_options = (size_t)k;
    res.session_options = eps;
    push_pb_result(c, &res);
    for (int i = 0; i < k; i++) {
        free(names[i]);
        free(values[i]);
    }
    free(names);
    free(values);
    free(ents);
    free(eps);
    free(vals);
    return QV_OK;
}

static int close_session(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    (void)body;
    (void)n;
    char session[128];
    fl_sql_session(c, session, sizeof session);
    if (!session[0])
        return qv_err_set(err, QV_ENOTFOUND, "CloseSession: the call carries no %s cookie", FL_SQL_SESSION_COOKIE);
    eng_session_close(c->e, session);
    Arrow__Flight__Protocol__Sql__CloseSessionResult res = ARROW__FLIGHT__PROTOCOL__SQL__CLOSE_SESSION_RESULT__INIT;
    res.has_status = true;
    res.status = ARROW__FLIGHT__PROTOCOL__SQL__CLOSE_SESSION_RESULT__STATUS__CLOSED;
    push_pb_result(c, &res);
    return QV_OK;
}

static int no_transactions(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    (void)c;
    (void)body;
    (void)n;
    return qv_err_set(err, QV_EUNSUPPORTED,
                      "Quiver does not support transactions (SqlInfo FLIGHT_SQL_SERVER_TRANSACTION = NONE): "
                      "every statement commits on its own");
}

static int no_substrait(fl_call *c, const uint8_t *body, size_t n, qv_err *err) {
    (void)c;
    (void)body;
    (void)n;
    return qv_err_set(err, QV_EUNSUPPORTED, "CreatePreparedSubstraitPlan: Quiver does not run Substrait plans; send SQL");
}

typedef struct sql_action {
    const char *type;
    int (*fn)(fl_call *c, const uint8_t *body, size_t n, qv_err *err);
    const char *description;
} sql_action;

static const sql_action sql_actions[] = {
    {"CreatePreparedStatement", create_prepared, "Flight SQL: prepare a statement; returns its handle and schemas."},
    {"ClosePreparedStatement", close_prepared, "Flight SQL: close a prepared statement handle."},
    {"CancelFlightInfo", cancel_flight_info, "Cancel the running query of a FlightInfo."},
    {"CancelQuery", cancel_query, "Flight SQL (deprecated): cancel the running query of a FlightInfo."},
    {"SetSessionOptions", set_session_options, "Set session options (catalog, schema); starts a session."},
    {"GetSessionOptions", get_session_options, "The session's options."},
    {"CloseSession", close_session, "Close the session and its prepared statements."},
    {"BeginTransaction", no_transactions, "Unsupported: Quiver has no transactions."},
    {"EndTransaction", no_transactions, "Unsupported: Quiver has no transactions."},
    {"BeginSavepoint", no_transactions, "Unsupported: Quiver has no transactions."},
    {"EndSavepoint", no_transactions, "Unsupported: Quiver has no transactions."},
    {"CreatePreparedSubstraitPlan", no_substrait, "Unsupported: Quiver runs SQL, not Substrait."},
};
#define NSQL_ACTIONS (sizeof sql_actions / sizeof sql_actions[0])

bool fl_sql_action_known(const char *type) {
    for (size_t i = 0; i < NSQL_ACTIONS; i++)
        if (strcmp(sql_actions[i].type, type) == 0) return true;
    return false;
}

int fl_sql_action(fl_call *c, const char *type, const uint8_t *body, size_t n, qv_err *err) {
    for (size_t i = 0; i < NSQL_ACTIONS; i++)
        if (strcmp(sql_actions[i].type, type) == 0) return sql_actions[i].fn(c, body, n, err);
    return qv_err_set(err, QV_EUNSUPPORTED, "action %.100s is not implemented by Quiver", type);
}
