/*
** Flight SQL result-set commands: the Any envelope, the command table, and
** GetFlightInfo / GetSchema / DoGet for every command that yields rows
** (statements, prepared statements, metadata). Nothing here keeps state
** between calls: a statement's ticket carries its SQL, a metadata ticket its
** command, and a prepared statement lives in the engine's session registry.
*/
#include "flight_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICKET_MAGIC "qvt1"

/* ---- Any ---- */

bool fl_sql_is_any(const uint8_t *p, size_t n) {
    size_t plen = strlen(FL_SQL_URL_PREFIX);
    /* field 1 (type_url), length-delimited, then the URL: cheap to check before unpacking */
    if (n < 2 + plen || p[0] != 0x0a) return false;
    size_t i = 1, len = 0;
    for (int shift = 0; i < n && shift < 28; shift += 7) {
        len |= (size_t)(p[i] & 0x7f) << shift;
        if (!(p[i++] & 0x80)) break;
    }
    return len >= plen && i + plen <= n && memcmp(p + i, FL_SQL_URL_PREFIX, plen) == 0;
}

int fl_sql_any_parse(const uint8_t *p, size_t n, fl_sql_cmd_in *in, qv_err *err) {
    memset(in, 0, sizeof *in);
    fl_any *a = arrow__flight__protocol__sql__qv_any__unpack(NULL, n, p);
    if (!a) return qv_err_set(err, QV_EINVAL, "Flight SQL: the command is not a valid google.protobuf.Any message");
    const char *url = a->type_url ? a->type_url : "";
    size_t plen = strlen(FL_SQL_URL_PREFIX);
    if (strncmp(url, FL_SQL_URL_PREFIX, plen) != 0) {
        qv_err_set(err, QV_EINVAL, "Flight SQL: unknown command type URL '%.200s' (expected %s<Command>)", url,
                   FL_SQL_URL_PREFIX);
        arrow__flight__protocol__sql__qv_any__free_unpacked(a, NULL);
        return err->code;
    }
    snprintf(in->name, sizeof in->name, "%s", url + plen);
    in->any = a;
    in->value = a->has_value ? a->value.data : (const uint8_t *)"";
    in->value_len = a->has_value ? a->value.len : 0;
    return QV_OK;
}

void fl_sql_any_free(fl_sql_cmd_in *in) {
    if (in->any) arrow__flight__protocol__sql__qv_any__free_unpacked(in->any, NULL);
    in->any = NULL;
}

void fl_sql_any_pack(const char *name, const void *msg, qv_str *out) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = qv_xmalloc(n + 1);
    protobuf_c_message_pack(msg, buf);
    char url[160];
    snprintf(url, sizeof url, "%s%s", FL_SQL_URL_PREFIX, name);
    fl_any a = ARROW__FLIGHT__PROTOCOL__SQL__QV_ANY__INIT;
    a.type_url = url;
    a.has_value = true;
    a.value.data = buf;
    a.value.len = n;
    size_t m = arrow__flight__protocol__sql__qv_any__get_packed_size(&a);
    qv_str_reserve(out, m);
    arrow__flight__protocol__sql__qv_any__pack(&a, (uint8_t *)out->data + out->len);
    out->len += m;
    free(buf);
}

/* ---- sessions: the cookie the client sends ---- */

void fl_sql_session(const fl_call *c, char *out, size_t cap) {
    out[0] = 0;
    size_t klen = strlen(FL_SQL_SESSION_COOKIE);
    for (size_t i = 0; i < c->req_md.count; i++) {
        const grpc_metadata *m = &c->req_md.metadata[i];
        if (GRPC_SLICE_LENGTH(m->key) != 6 || memcmp(GRPC_SLICE_START_PTR(m->key), "cookie", 6) != 0) continue;
        const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
        size_t n = GRPC_SLICE_LENGTH(m->value);
        for (size_t j = 0; j + klen < n; j++) {
            if ((j > 0 && v[j - 1] != ' ' && v[j - 1] != ';') || memcmp(v + j, FL_SQL_SESSION_COOKIE, klen) != 0 ||
                v[j + klen] != '=')
                continue;
            size_t s = j + klen + 1, e = s;
            while (e < n && v[e] != ';' && e - s + 1 < cap) e++;
            memcpy(out, v + s, e - s);
            out[e - s] = 0;
            return;
        }
    }
}

/* ---- results ---- */

void fl_sql_result_free(fl_sql_result *r) {
    if (r->q) {
        fl_sql_doget_done(r->q);
        eng_query_close(r->q);
    }
    for (int i = 0; i < r->ncols; i++) ipc_mcol_free(r->cols[i]);
    free(r->cols);
    qv_str_free(&r->payload);
    memset(r, 0, sizeof *r);
}

ipc_mcol *fl_sql_result_col(fl_sql_result *r, const char *name, ipc_mtype t, bool nullable) {
    r->cols = qv_xrealloc(r->cols, sizeof(ipc_mcol *) * (size_t)(r->ncols + 1));
    return r->cols[r->ncols++] = ipc_mcol_new(name, t, nullable);
}

/* Statements that change things run when GetFlightInfo sees them: clients
   send DDL through CommandStatementQuery and may never fetch its result. */
bool fl_sql_changes_things(const char *sql, size_t len) {
    static const char *const verbs[] = {"CREATE", "DROP", "INSERT", "DELETE", "UPDATE", "ALTER", "TRUNCATE"};
    size_t i = 0;
    while (i < len && (isspace((unsigned char)sql[i]) || sql[i] == '(')) i++;
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        size_t k = strlen(verbs[v]);
        if (i + k <= len && strncasecmp(sql + i, verbs[v], k) == 0 &&
            (i + k == len || !isalnum((unsigned char)sql[i + k])))
            return true;
    }
    return false;
}

/* Run q to its end. A one-column INT64 result (INSERT's row count, once
   per parameter row) is summed; a BOOL one (CREATE/DROP) keeps its last value. */
static int drain(eng_query *q, int64_t *value, qv_err *err) {
    *value = 0;
    for (;;) {
        qv_batch b;
        memset(&b, 0, sizeof b);
        bool eos = false;
        if (eng_query_next(q, &b, &eos, err)) return err->code;
        if (eos) return QV_OK;
        for (int64_t i = 0; b.schema.nfields == 1 && i < b.nrows; i++) {
            if (!qv_array_is_valid(&b.cols[0], i)) continue;
            if (b.cols[0].type == QV_T_INT64) *value += qv_array_get_i64(&b.cols[0], i);
            if (b.cols[0].type == QV_T_BOOL) *value = qv_array_get_bool(&b.cols[0], i);
        }
        qv_batch_free(&b);
    }
}

int fl_sql_check_params(eng *e, const char *sql, size_t len, const qv_batch *params, qv_err *err) {
    eng_query *q;
    if (eng_query_open(e, sql, len, &q, err)) return err->code;
    int rc = QV_OK;
    for (int64_t r = 0; rc == QV_OK && r < params->nrows; r++) rc = eng_query_bind(q, params, r, err);
    if (rc == QV_OK && params->nrows == 0 && params->schema.nfields != eng_query_param_count(q))
        rc = qv_err_set(err, QV_EINVAL, "the statement has %d parameters but the batch has %d columns",
                        eng_query_param_count(q), params->schema.nfields);
    eng_query_close(q);
    return rc ? qv_err_prefix(err, "parameters") : QV_OK;
}

static int open_maybe_bound(eng *e, const char *sql, size_t len, const qv_batch *params, eng_query **q,
                            qv_err *err) {
    if (params) return eng_query_open_bound(e, sql, len, params, q, err);
    return eng_query_open(e, sql, len, q, err);
}

int fl_sql_run_update(fl_call *c, const char *sql, size_t len, const qv_batch *params, int64_t *count,
                      qv_err *err) {
    eng_query *q;
    *count = 0;
    if (params && fl_sql_check_params(c->e, sql, len, params, err)) return err->code; /* all rows, before any runs */
    if (open_maybe_bound(c->e, sql, len, params, &q, err)) return err->code;
    /* An update needs write, and more if its statement kind does (DROP: admin); before anything runs. */
    if (fl_call_authorize(c, AUTH_ROLE_WRITE, "run an update", err) || fl_call_authorize_query(c, q, err)) {
        eng_query_close(q);
        return err->code;
    }
    fl_call_apply_deadline(c, q); /* the client's deadline stops it (DEADLINE_EXCEEDED) */
    const qv_schema *s = eng_query_schema(q);
    bool counts = s->nfields == 1 && s->fields[0].type == QV_T_INT64 && strcmp(s->fields[0].name, "rows") == 0;
    int64_t v = 0;
    int rc = drain(q, &v, err);
    eng_query_close(q);
    if (!rc && counts) *count = v;
    return rc;
}

/* The one-row result of a statement already run, as a table ('R'). */
static void result_row(fl_sql_result *r, const char *name, bool is_bool, int64_t v) {
    ipc_mcol *col = fl_sql_result_col(r, name, is_bool ? IPC_MT_BOOL : IPC_MT_INT64, false);
    if (is_bool)
        ipc_mcol_bool(col, v != 0);
    else
        ipc_mcol_int(col, v);
    r->kind = 'R';
    qv_str_appendf(&r->payload, "%c%lld %s", is_bool ? 'b' : 'i', (long long)v, name);
}

static int result_row_parse(const char *p, size_t n, fl_sql_result *r, qv_err *err) {
    char buf[200];
    if (n < 3 || n >= sizeof buf || (p[0] != 'b' && p[0] != 'i'))
        return qv_err_set(err, QV_EINVAL, "DoGet: malformed Flight SQL result ticket");
    memcpy(buf, p, n);
    buf[n] = 0;
    char *sp = strchr(buf, ' ');
    if (!sp || !sp[1]) return qv_err_set(err, QV_EINVAL, "DoGet: malformed Flight SQL result ticket");
    result_row(r, sp + 1, buf[0] == 'b', strtoll(buf + 1, NULL, 10));
    return QV_OK;
}

/* A statement: changes run now (result 'R'); queries are opened ('S'). */
static int resolve_sql(fl_call *c, const char *sql, size_t len, const qv_batch *params, fl_sql_result *r,
                       qv_err *err) {
    if (fl_ticket_sql((const uint8_t *)sql, len, err)) return qv_err_prefix(err, "Flight SQL query");
    eng_query *q;
    if (params && fl_sql_changes_things(sql, len) && fl_sql_check_params(c->e, sql, len, params, err))
        return err->code;
    if (open_maybe_bound(c->e, sql, len, params, &q, err)) return err->code;
    /* The role of the statement kind, before a change runs here (DoGet checks again for a query). */
    if (fl_call_authorize_query(c, q, err)) {
        eng_query_close(q);
        return err->code;
    }
    const qv_schema *s = eng_query_schema(q);
    if (fl_sql_changes_things(sql, len) && s->nfields == 1 &&
        (s->fields[0].type == QV_T_BOOL || s->fields[0].type == QV_T_INT64)) {
        int64_t v = 0;
        char name[QV_NAME_MAX + 1];
        snprintf(name, sizeof name, "%s", s->fields[0].name);
        bool is_bool = s->fields[0].type == QV_T_BOOL;
        fl_call_apply_deadline(c, q);
        int rc = drain(q, &v, err);
        eng_query_close(q);
        if (rc) return rc;
        result_row(r, name, is_bool, v);
        return QV_OK;
    }
    r->kind = 'S';
    qv_str_append(&r->payload, sql, len);
    r->q = q;
    return QV_OK;
}

/* ---- the command table ---- */

static int cmd_statement(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    Arrow__Flight__Protocol__Sql__CommandStatementQuery *m =
        arrow__flight__protocol__sql__command_statement_query__unpack(NULL, in->value_len, in->value);
    if (!m) return qv_err_set(err, QV_EINVAL, "CommandStatementQuery: malformed message");
    int rc;
    if (m->has_transaction_id)
        rc = qv_err_set(err, QV_EUNSUPPORTED, "CommandStatementQuery: Quiver has no transactions (transaction_id set)");
    else
        rc = resolve_sql(c, m->query ? m->query : "", m->query ? strlen(m->query) : 0, NULL, r, err);
    arrow__flight__protocol__sql__command_statement_query__free_unpacked(m, NULL);
    return rc;
}

static int cmd_prepared(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err) {
    Arrow__Flight__Protocol__Sql__CommandPreparedStatementQuery *m =
        arrow__flight__protocol__sql__command_prepared_statement_query__unpack(NULL, in->value_len, in->value);
    if (!m) return qv_err_set(err, QV_EINVAL, "CommandPreparedStatementQuery: malformed message");
    const uint8_t *h = m->has_prepared_statement_handle ? m->prepared_statement_handle.data : NULL;
    size_t hn = m->has_prepared_statement_handle ? m->prepared_statement_handle.len : 0;
    char session[128];
    fl_sql_session(c, session, sizeof session);
    eng_stmt_view v;
    int rc = eng_stmt_get(c->e, session, h, hn, &v, err);
    if (rc == QV_OK && fl_sql_changes_things(v.sql, v.len)) {
        rc = resolve_sql(c, v.sql, v.len, v.has_params ? &v.params : NULL, r, err);
    } else if (rc == QV_OK) {
        rc = fl_sql_open_prepared(c, h, hn, &r->q, err);
        r->kind = 'P';
        qv_str_append(&r->payload, h, hn);
    }
    eng_stmt_view_free(&v);
    arrow__flight__protocol__sql__command_prepared_statement_query__free_unpacked(m, NULL);
    return rc;
}

typedef struct fl_sql_cmd {
    const char *name;
    fl_sql_meta_fn fn;  /* NULL: not a result-set command (see `use`) */
    bool metadata;      /* result rebuilt from the command at DoGet */
    const char *use;    /* description, or what to do instead */
} fl_sql_cmd;

static const fl_sql_cmd cmds[] = {
    {"CommandStatementQuery", cmd_statement, false, "run SQL (any statement kind)"},
    {"CommandPreparedStatementQuery", cmd_prepared, false, "run a prepared statement with its bound parameters"},
    {"CommandGetSqlInfo", fl_sql_get_sql_info, true, "server and SQL dialect facts"},
    {"CommandGetCatalogs", fl_sql_get_catalogs, true, "catalogs"},
    {"CommandGetDbSchemas", fl_sql_get_db_schemas, true, "database schemas"},
    {"CommandGetTables", fl_sql_get_tables, true, "tables, optionally with their Arrow schemas"},
    {"CommandGetTableTypes", fl_sql_get_table_types, true, "table types"},
    {"CommandGetPrimaryKeys", fl_sql_get_primary_keys, true, "primary keys (Quiver has none)"},
    {"CommandGetExportedKeys", fl_sql_get_exported_keys, true, "foreign keys referencing a table (none)"},
    {"CommandGetImportedKeys", fl_sql_get_imported_keys, true, "foreign keys of a table (none)"},
    {"CommandGetCrossReference", fl_sql_get_cross_reference, true, "foreign keys between two tables (none)"},
    {"CommandGetXdbcTypeInfo", fl_sql_get_xdbc_type_info, true, "the SQL types Quiver stores"},
    {"CommandStatementUpdate", NULL, false, "send it with DoPut"},
    {"CommandPreparedStatementUpdate", NULL, false, "send it with DoPut"},
    {"CommandStatementIngest", NULL, false, "send it with DoPut"},
};

static const fl_sql_cmd *find_cmd(const char *name) {
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmds[i].name, name) == 0) return &cmds[i];
    return NULL;
}

/* Resolve the Any in p..n to a result (what GetFlightInfo, GetSchema and a
   metadata DoGet share). */
static int resolve(fl_call *c, const char *rpc, const uint8_t *p, size_t n, bool metadata_only, fl_sql_result *r,
                   qv_err *err) {
    memset(r, 0, sizeof *r);
    qv_str_init(&r->payload);
    fl_sql_cmd_in in;
    if (fl_sql_any_parse(p, n, &in, err)) return qv_err_prefix(err, "%s", rpc);
    const fl_sql_cmd *cmd = find_cmd(in.name);
    int rc;
    if (!cmd) {
        rc = qv_err_set(err, QV_EUNSUPPORTED, "%s: Flight SQL command %.90s is not implemented by Quiver", rpc,
                        in.name);
    } else if (metadata_only && !cmd->metadata) {
        rc = qv_err_set(err, QV_EINVAL, "%s: not a ticket Quiver issued (%s in a metadata ticket)", rpc, cmd->name);
    } else if (!cmd->fn) {
        rc = qv_err_set(err, QV_EINVAL, "%s: %s has no result set: %s", rpc, cmd->name, cmd->use);
    } else {
        rc = cmd->fn(c, &in, r, err);
        if (rc == QV_OK && cmd->metadata) {
            r->kind = 'M';
            qv_str_append(&r->payload, p, n);
        }
    }
    fl_sql_any_free(&in);
    return rc;
}

static const ipc_write_options schema_opts; /* the defaults DoGet encodes with */

static int result_schema(const fl_sql_result *r, qv_str *out, qv_err *err) {
    if (r->q) return ipc_schema_to_bytes(eng_query_schema(r->q), &schema_opts, out, err);
    return ipc_mcols_schema_bytes(r->cols, r->ncols, out, err);
}

static void ticket_bytes(const fl_sql_result *r, qv_str *out) {
    qv_str h;
    qv_str_init(&h);
    qv_str_append(&h, TICKET_MAGIC, 4);
    qv_str_appendc(&h, r->kind);
    qv_str_append(&h, r->payload.data, r->payload.len);
    Arrow__Flight__Protocol__Sql__TicketStatementQuery t = ARROW__FLIGHT__PROTOCOL__SQL__TICKET_STATEMENT_QUERY__INIT;
    t.has_statement_handle = true;
    t.statement_handle.data = (uint8_t *)h.data;
    t.statement_handle.len = h.len;
    fl_sql_any_pack("TicketStatementQuery", &t, out);
    qv_str_free(&h);
}

int fl_sql_flight_info_bb(fl_call *c, const fl_descriptor *d, grpc_byte_buffer **out, qv_err *err) {
    fl_sql_result r;
    int rc = resolve(c, "GetFlightInfo", d->cmd.data, d->cmd.len, false, &r, err);
    qv_str schema, ticket;
    qv_str_init(&schema);
    qv_str_init(&ticket);
    if (rc == QV_OK) rc = result_schema(&r, &schema, err);
    /* A statement that scans one table: one endpoint per partition (flight_partition.c). */
    fl_endpoints parts = {0};
    if (rc == QV_OK && r.kind == 'S' && r.q)
        rc = fl_endpoints_build(c->e, c->part, r.q, r.payload.data, r.payload.len, &parts, err);
    if (rc == QV_OK && r.kind == 'P' && r.q) { /* a prepared query without parameters: its SQL */
        char session[128];
        fl_sql_session(c, session, sizeof session);
        eng_stmt_view v;
        if (eng_stmt_get(c->e, session, (const uint8_t *)r.payload.data, r.payload.len, &v, err) == QV_OK) {
            if (!v.has_params) rc = fl_endpoints_build(c->e, c->part, r.q, v.sql, v.len, &parts, err);
            eng_stmt_view_free(&v);
        }
    }
    if (rc == QV_OK) {
        ticket_bytes(&r, &ticket);
        Arrow__Flight__Protocol__Ticket t = ARROW__FLIGHT__PROTOCOL__TICKET__INIT;
        t.ticket.data = (uint8_t *)ticket.data;
        t.ticket.len = ticket.len;
        Arrow__Flight__Protocol__FlightEndpoint ep = ARROW__FLIGHT__PROTOCOL__FLIGHT_ENDPOINT__INIT, *eps[1] = {&ep};
        ep.ticket = &t;
        Arrow__Flight__Protocol__FlightInfo info = ARROW__FLIGHT__PROTOCOL__FLIGHT_INFO__INIT;
        info.schema.data = (uint8_t *)schema.data;
        info.schema.len = schema.len;
        info.flight_descriptor = (fl_descriptor *)d;
        info.n_endpoint = 1;
        info.endpoint = eps;
        info.ordered = parts.ordered;
        if (parts.partitioned) fl_endpoints_attach(&parts, &info);
        info.total_records = r.q ? eng_query_total_rows(r.q) : (r.ncols ? r.cols[0]->length : 0);
        info.total_bytes = -1;
        *out = fl_bb_from_pb(&info);
    }
    fl_endpoints_free(&parts);
    qv_str_free(&schema);
    qv_str_free(&ticket);
    fl_sql_result_free(&r);
    return rc;
}

int fl_sql_flight_info(fl_call *c, const fl_descriptor *d, qv_err *err) {
    if (fl_sql_info_job_start(c, d, err)) return err->code; /* QV_OK: the job has the call now */
    grpc_byte_buffer *bb = NULL;
    int rc = fl_sql_flight_info_bb(c, d, &bb, err);
    if (rc == QV_OK) fl_call_push(c, bb);
    return rc;
}

int fl_sql_schema(fl_call *c, const fl_descriptor *d, qv_err *err) {
    fl_sql_cmd_in in;
    /* GetSchema must not run anything: a change statement's schema comes from preparing it. */
    if (fl_sql_any_parse(d->cmd.data, d->cmd.len, &in, err)) return qv_err_prefix(err, "GetSchema");
    bool stmt = strcmp(in.name, "CommandStatementQuery") == 0;
    bool prepared = strcmp(in.name, "CommandPreparedStatementQuery") == 0;
    qv_str sql, handle;
    qv_str_init(&sql);
    qv_str_init(&handle);
    if (stmt) {
        Arrow__Flight__Protocol__Sql__CommandStatementQuery *m =
            arrow__flight__protocol__sql__command_statement_query__unpack(NULL, in.value_len, in.value);
        if (m && m->query) qv_str_append(&sql, m->query, strlen(m->query));
        if (m) arrow__flight__protocol__sql__command_statement_query__free_unpacked(m, NULL);
    } else if (prepared) {
        Arrow__Flight__Protocol__Sql__CommandPreparedStatementQuery *m =
            arrow__flight__protocol__sql__command_prepared_statement_query__unpack(NULL, in.value_len, in.value);
        if (m && m->has_prepared_statement_handle)
            qv_str_append(&handle, m->prepared_statement_handle.data, m->prepared_statement_handle.len);
        if (m) arrow__flight__protocol__sql__command_prepared_statement_query__free_unpacked(m, NULL);
    }
    fl_sql_any_free(&in);
    fl_sql_result r;
    memset(&r, 0, sizeof r);
    qv_str_init(&r.payload);
    int rc;
    if (stmt) {
        rc = fl_ticket_sql((const uint8_t *)sql.data, sql.len, err);
        if (rc == QV_OK) rc = eng_query_open(c->e, sql.data, sql.len, &r.q, err);
    } else if (prepared) {
        rc = fl_sql_open_prepared(c, (const uint8_t *)handle.data, handle.len, &r.q, err);
    } else {
        rc = resolve(c, "GetSchema", d->cmd.data, d->cmd.len, false, &r, err);
    }
    qv_str schema;
    qv_str_init(&schema);
    if (rc == QV_OK) rc = result_schema(&r, &schema, err);
    if (rc == QV_OK) {
        Arrow__Flight__Protocol__SchemaResult sr = ARROW__FLIGHT__PROTOCOL__SCHEMA_RESULT__INIT;
        sr.schema.data = (uint8_t *)schema.data;
        sr.schema.len = schema.len;
        fl_call_push_pb(c, &sr);
    }
    qv_str_free(&schema);
    qv_str_free(&sql);
    qv_str_free(&handle);
    fl_sql_result_free(&r);
    return rc;
}

/* Queue a whole table: schema message, then one record batch. */
static int push_table(fl_call *c, fl_sql_result *r, qv_err *err) {
    ipc_message m;
    int rc = ipc_mcols_schema(r->cols, r->ncols, &m, err);
    if (rc == QV_OK) fl_call_push(c, fl_flightdata_from_ipc(&m, NULL, 0));
    ipc_message_free(&m);
    if (rc == QV_OK) rc = ipc_mcols_batch(r->cols, r->ncols, &m, err);
    if (rc == QV_OK) fl_call_push(c, fl_flightdata_from_ipc(&m, NULL, 0));
    ipc_message_free(&m);
    return rc;
}

int fl_sql_doget(fl_call *c, const uint8_t *p, size_t n, eng_query **q, qv_err *err) {
    *q = NULL;
    fl_sql_cmd_in in;
    if (fl_sql_any_parse(p, n, &in, err)) return qv_err_prefix(err, "DoGet");
    Arrow__Flight__Protocol__Sql__TicketStatementQuery *t = NULL;
    if (strcmp(in.name, "TicketStatementQuery") == 0)
        t = arrow__flight__protocol__sql__ticket_statement_query__unpack(NULL, in.value_len, in.value);
    fl_sql_any_free(&in);
    if (!t || !t->has_statement_handle || t->statement_handle.len < 5 ||
        memcmp(t->statement_handle.data, TICKET_MAGIC, 4) != 0) {
        if (t) arrow__flight__protocol__sql__ticket_statement_query__free_unpacked(t, NULL);
        return qv_err_set(err, QV_EINVAL, "DoGet: not a ticket Quiver issued (use the one from GetFlightInfo)");
    }
    char kind = (char)t->statement_handle.data[4];
    const uint8_t *pl = t->statement_handle.data + 5;
    size_t pn = t->statement_handle.len - 5;
    fl_sql_result r;
    memset(&r, 0, sizeof r);
    qv_str_init(&r.payload);
    int rc;
    switch (kind) {
    case 'S':
        rc = fl_ticket_sql(pl, pn, err);
        if (rc == QV_OK) rc = eng_query_open(c->e, (const char *)pl, pn, q, err);
        break;
    case 'P': rc = fl_sql_open_prepared(c, pl, pn, q, err); break;
    case 'M':
        rc = resolve(c, "DoGet", pl, pn, true, &r, err);
        if (rc == QV_OK) rc = push_table(c, &r, err);
        break;
    case 'R':
        rc = result_row_parse((const char *)pl, pn, &r, err);
        if (rc == QV_OK) rc = push_table(c, &r, err);
        break;
    default: rc = qv_err_set(err, QV_EINVAL, "DoGet: unknown Flight SQL ticket kind 0x%02x", (unsigned)kind);
    }
    if (rc == QV_OK && *q) fl_sql_running_add(p, n, *q);
    fl_sql_result_free(&r);
    arrow__flight__protocol__sql__ticket_statement_query__free_unpacked(t, NULL);
    return rc;
}

int fl_sql_open_prepared(fl_call *c, const uint8_t *h, size_t n, eng_query **q, qv_err *err) {
    char session[128];
    fl_sql_session(c, session, sizeof session);
    eng_stmt_view v;
    if (eng_stmt_get(c->e, session, h, n, &v, err)) return err->code;
    int rc = open_maybe_bound(c->e, v.sql, v.len, v.has_params ? &v.params : NULL, q, err);
    eng_stmt_view_free(&v);
    return rc;
}

/* SQL LIKE over bytes: % any run (also empty), _ exactly one byte. */
bool fl_sql_like(const char *pat, const char *s) {
    const char *star = NULL, *mark = NULL;
    while (*s) {
        if (*pat == '%') {
            star = pat++;
            mark = s;
        } else if (*pat == '_' || *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++mark;
        } else {
            return false;
        }
    }
    while (*pat == '%') pat++;
    return *pat == 0;
}
