/*
** The small Flight RPCs: Handshake, ListActions, DoAction, GetFlightInfo,
** GetSchema, ListFlights, and the two Quiver does not implement. Each reads
** its one request (Handshake: a stream of them), queues every reply, and
** keeps no state between messages, so none of them owns anything.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight.pb-c.h"
#include "flight_internal.h"

#define TICKET_MAX (1 << 20)

/* ---- shared helpers ---- */

int fl_table_name(const uint8_t *p, size_t n, char *out, qv_err *err) {
    if (n == 0) return qv_err_set(err, QV_EINVAL, "table name is empty");
    if (n > QV_NAME_MAX)
        return qv_err_set(err, QV_EINVAL, "table name of %zu bytes is longer than %d", n, QV_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return qv_err_set(err, QV_EINVAL, "table name contains a control byte (0x%02x) at offset %zu", p[i], i);
    memcpy(out, p, n);
    out[n] = 0;
    return QV_OK;
}

/* SELECT * FROM name, quoting the name unless it is a plain identifier. */
void fl_select_all(const char *table, qv_str *sql) {
    bool plain = isalpha((unsigned char)table[0]) || table[0] == '_';
    for (const char *q = table; *q && plain; q++) plain = isalnum((unsigned char)*q) || *q == '_';
    qv_str_append(sql, "SELECT * FROM ", 14);
    if (plain) {
        qv_str_append(sql, table, strlen(table));
    } else {
        qv_str_appendc(sql, '"');
        for (const char *q = table; *q; q++) {
            if (*q == '"') qv_str_appendc(sql, '"');
            qv_str_appendc(sql, *q);
        }
        qv_str_appendc(sql, '"');
    }
}

/* The SQL text in a ticket: refuse what cannot be SQL before parsing it. */
int fl_ticket_sql(const uint8_t *p, size_t n, qv_err *err) {
    if (n == 0) return qv_err_set(err, QV_EINVAL, "empty ticket: a Quiver ticket is the SQL text to run");
    if (n > TICKET_MAX)
        return qv_err_set(err, QV_EINVAL, "ticket of %zu bytes is too long (limit %d bytes of SQL)", n, TICKET_MAX);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == 0 || (p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t'))
            return qv_err_set(err, QV_EINVAL,
                              "ticket is not SQL text: binary byte 0x%02x at offset %zu", p[i], i);
    }
    return QV_OK;
}

static int descriptor_sql(const Arrow__Flight__Protocol__FlightDescriptor *d, qv_str *sql, qv_err *err) {
    if (d->type == ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__CMD) {
        if (fl_ticket_sql(d->cmd.data, d->cmd.len, err)) return qv_err_prefix(err, "descriptor command");
        qv_str_append(sql, d->cmd.data, d->cmd.len);
        return QV_OK;
    }
    if (d->type == ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__PATH) {
        if (d->n_path != 1)
            return qv_err_set(err, QV_EINVAL, "descriptor path must be [table], got %zu elements", d->n_path);
        char name[QV_NAME_MAX + 1];
        if (fl_table_name((const uint8_t *)d->path[0], strlen(d->path[0]), name, err)) return err->code;
        fl_select_all(name, sql);
        return QV_OK;
    }
    return qv_err_set(err, QV_EINVAL, "descriptor type must be PATH ([table]) or CMD (SQL)");
}

static const ipc_write_options schema_opts; /* the same (default) options DoGet encodes with */

/* Fill a FlightInfo for `sql`; the caller frees the allocated parts with info_clear. */
typedef struct info_parts {
    qv_str schema, sql;
    Arrow__Flight__Protocol__FlightInfo info;
    fl_endpoints eps; /* flight_partition.c: one per partition, sealed tickets */
} info_parts;

static int info_build(fl_call *c, info_parts *ip, const Arrow__Flight__Protocol__FlightDescriptor *desc,
                      int64_t rows_hint, int64_t bytes_hint, qv_err *err) {
    eng_query *q = NULL;
    if (eng_query_open(c->e, ip->sql.data, ip->sql.len, &q, err)) return err->code;
    int rc = ipc_schema_to_bytes(eng_query_schema(q), &schema_opts, &ip->schema, err);
    int64_t rows = eng_query_total_rows(q), bytes = eng_query_total_bytes(q);
    if (rc == QV_OK) rc = fl_endpoints_build(c->e, c->part, q, ip->sql.data, ip->sql.len, &ip->eps, err);
    eng_query_close(q);
    if (rc) return rc;
    arrow__flight__protocol__flight_info__init(&ip->info);
    ip->info.schema.data = (uint8_t *)ip->schema.data;
    ip->info.schema.len = ip->schema.len;
    ip->info.flight_descriptor = (Arrow__Flight__Protocol__FlightDescriptor *)desc;
    fl_endpoints_attach(&ip->eps, &ip->info);
    ip->info.total_records = rows >= 0 ? rows : rows_hint;
    ip->info.total_bytes = bytes >= 0 ? bytes : bytes_hint;
    return QV_OK;
}

static void info_clear(info_parts *ip) {
    qv_str_free(&ip->schema);
    qv_str_free(&ip->sql);
    fl_endpoints_free(&ip->eps);
}

/* ---- Handshake: accept anyone, echo the payload ---- */

static int handshake_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    Arrow__Flight__Protocol__HandshakeRequest *req =
        arrow__flight__protocol__handshake_request__unpack(NULL, msg->size, msg->data);
    if (!req) return qv_err_set(err, QV_EINVAL, "Handshake: request is not a HandshakeRequest message");
    Arrow__Flight__Protocol__HandshakeResponse resp = ARROW__FLIGHT__PROTOCOL__HANDSHAKE_RESPONSE__INIT;
    resp.protocol_version = req->protocol_version;
    resp.payload = req->payload;
    fl_call_push_pb(c, &resp);
    arrow__flight__protocol__handshake_request__free_unpacked(req, NULL);
    return QV_OK;
}

const fl_rpc fl_rpc_handshake = {.name = "Handshake", .client_streams = true, .on_message = handshake_msg};

/* ---- actions ---- */

static const struct {
    const char *type, *description;
} actions[] = {
    {"ping", "Liveness check: answers \"pong\"."},
    {"healthcheck", "Server status as JSON: status, version, uptime_s, tables, rows."},
    {"drop_table", "Drop the table named by the body (UTF-8 table name)."},
    {"describe_table", "Columns, types, row count and size of the table named by the body, as JSON."},
};
#define NACTIONS (sizeof actions / sizeof actions[0])

static int list_actions_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    (void)msg;
    (void)err;
    for (size_t i = 0; i < NACTIONS; i++) {
        Arrow__Flight__Protocol__ActionType at = ARROW__FLIGHT__PROTOCOL__ACTION_TYPE__INIT;
        at.type = (char *)actions[i].type;
        at.description = (char *)actions[i].description;
        fl_call_push_pb(c, &at);
    }
    return QV_OK;
}

const fl_rpc fl_rpc_list_actions = {.name = "ListActions", .on_message = list_actions_msg};

static void push_result(fl_call *c, const void *p, size_t n) {
    Arrow__Flight__Protocol__Result r = ARROW__FLIGHT__PROTOCOL__RESULT__INIT;
    r.body.data = (uint8_t *)p;
    r.body.len = n;
    fl_call_push_pb(c, &r);
}

static int run_action(fl_call *c, const char *type, const uint8_t *body, size_t blen, qv_err *err) {
    if (strcmp(type, "ping") == 0) {
        push_result(c, "pong", 4);
        return QV_OK;
    }
    qv_str out;
    qv_str_init(&out);
    if (strcmp(type, "healthcheck") == 0) {
        eng_health_json(c->e, &out);
        push_result(c, out.data, out.len);
        qv_str_free(&out);
        return QV_OK;
    }
    char name[QV_NAME_MAX + 1];
    int rc;
    if (strcmp(type, "drop_table") == 0 || strcmp(type, "describe_table") == 0) {
        if (fl_table_name(body, blen, name, err)) return qv_err_prefix(err, "%s: body must be a table name", type);
        if (type[1] == 'r') {
            rc = eng_drop_table(c->e, name, err);
            if (rc == QV_OK) {
                qv_str_append(&out, "{\"dropped\":", 11);
                qv_str_append_json_string(&out, name, strlen(name));
                qv_str_appendc(&out, '}');
            }
        } else {
            rc = eng_describe_table(c->e, name, &out, err);
        }
        if (rc == QV_OK) push_result(c, out.data, out.len);
        qv_str_free(&out);
        return rc;
    }
    qv_str_free(&out);
    if (fl_sql_action_known(type)) return fl_sql_action(c, type, body, blen, err);
    qv_str valid;
    qv_str_init(&valid);
    for (size_t i = 0; i < NACTIONS; i++) qv_str_appendf(&valid, "%s%s", i ? ", " : "", actions[i].type);
    rc = qv_err_set(err, QV_EINVAL, "unknown action '%.100s'; valid actions: %s", type, valid.data);
    qv_str_free(&valid);
    return rc;
}

static int do_action_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    Arrow__Flight__Protocol__Action *a = arrow__flight__protocol__action__unpack(NULL, msg->size, msg->data);
    if (!a) return qv_err_set(err, QV_EINVAL, "DoAction: request is not an Action message");
    int rc = fl_call_authorize_action(c, a->type ? a->type : "", err);
    if (rc == QV_OK) rc = run_action(c, a->type ? a->type : "", a->body.data, a->body.len, err);
    arrow__flight__protocol__action__free_unpacked(a, NULL);
    return rc;
}

const fl_rpc fl_rpc_do_action = {.name = "DoAction", .on_message = do_action_msg};

/* ---- GetFlightInfo / GetSchema ---- */

static Arrow__Flight__Protocol__FlightDescriptor *unpack_descriptor(qv_buffer *msg, const char *rpc, qv_err *err) {
    Arrow__Flight__Protocol__FlightDescriptor *d =
        arrow__flight__protocol__flight_descriptor__unpack(NULL, msg->size, msg->data);
    if (!d) qv_err_set(err, QV_EINVAL, "%s: request is not a FlightDescriptor message", rpc);
    return d;
}

/* Column bytes of the table a PATH descriptor names (what ListFlights reports), or -1. */
static int64_t path_table_bytes(eng *e, const Arrow__Flight__Protocol__FlightDescriptor *d) {
    if (d->type != ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__PATH || d->n_path != 1) return -1;
    st_table_info *tabs;
    int n;
    qv_err e2;
    int64_t bytes = -1;
    if (eng_tables(e, &tabs, &n, &e2)) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tabs[i].name, d->path[0]) == 0) bytes = tabs[i].bytes;
    st_table_info_free_all(tabs, n);
    return bytes;
}

static int get_flight_info_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    Arrow__Flight__Protocol__FlightDescriptor *d = unpack_descriptor(msg, "GetFlightInfo", err);
    if (!d) return err->code;
    if (fl_sql_is_any(d->cmd.data, d->cmd.len)) { /* Flight SQL command */
        int rc = fl_sql_flight_info(c, d, err);
        arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
        return rc;
    }
    info_parts ip;
    memset(&ip, 0, sizeof ip);
    qv_str_init(&ip.sql);
    qv_str_init(&ip.schema);
    int rc = descriptor_sql(d, &ip.sql, err);
    if (rc == QV_OK) rc = fl_call_authorize_sql(c, ip.sql.data, ip.sql.len, err);
    if (rc == QV_OK) rc = info_build(c, &ip, d, -1, path_table_bytes(c->e, d), err);
    if (rc == QV_OK) fl_call_push_pb(c, &ip.info);
    info_clear(&ip);
    arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
    return rc;
}

const fl_rpc fl_rpc_get_flight_info = {.name = "GetFlightInfo", .on_message = get_flight_info_msg};

static int get_schema_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    Arrow__Flight__Protocol__FlightDescriptor *d = unpack_descriptor(msg, "GetSchema", err);
    if (!d) return err->code;
    if (fl_sql_is_any(d->cmd.data, d->cmd.len)) { /* Flight SQL command */
        int rc = fl_sql_schema(c, d, err);
        arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
        return rc;
    }
    qv_str sql, schema;
    qv_str_init(&sql);
    qv_str_init(&schema);
    eng_query *q = NULL;
    int rc = descriptor_sql(d, &sql, err);
    if (rc == QV_OK) rc = fl_call_authorize_sql(c, sql.data, sql.len, err);
    if (rc == QV_OK) rc = eng_query_open(c->e, sql.data, sql.len, &q, err);
    if (rc == QV_OK) {
        rc = ipc_schema_to_bytes(eng_query_schema(q), &schema_opts, &schema, err);
        eng_query_close(q);
    }
    if (rc == QV_OK) {
        Arrow__Flight__Protocol__SchemaResult r = ARROW__FLIGHT__PROTOCOL__SCHEMA_RESULT__INIT;
        r.schema.data = (uint8_t *)schema.data;
        r.schema.len = schema.len;
        fl_call_push_pb(c, &r);
    }
    qv_str_free(&sql);
    qv_str_free(&schema);
    arrow__flight__protocol__flight_descriptor__free_unpacked(d, NULL);
    return rc;
}

const fl_rpc fl_rpc_get_schema = {.name = "GetSchema", .on_message = get_schema_msg};

/* ---- ListFlights: one FlightInfo per table, criteria = name prefix ---- */

static int list_flights_msg(fl_call *c, qv_buffer *msg, qv_err *err) {
    Arrow__Flight__Protocol__Criteria *cr = arrow__flight__protocol__criteria__unpack(NULL, msg->size, msg->data);
    if (!cr) return qv_err_set(err, QV_EINVAL, "ListFlights: request is not a Criteria message");
    st_table_info *tabs = NULL;
    int n = 0;
    int rc = eng_tables(c->e, &tabs, &n, err);
    for (int i = 0; rc == QV_OK && i < n; i++) {
        size_t nl = strlen(tabs[i].name);
        if (cr->expression.len > nl ||
            (cr->expression.len && memcmp(tabs[i].name, cr->expression.data, cr->expression.len) != 0))
            continue;
        Arrow__Flight__Protocol__FlightDescriptor d = ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__INIT;
        d.type = ARROW__FLIGHT__PROTOCOL__FLIGHT_DESCRIPTOR__DESCRIPTOR_TYPE__PATH;
        d.n_path = 1;
        d.path = &tabs[i].name;
        info_parts ip;
        memset(&ip, 0, sizeof ip);
        qv_str_init(&ip.sql);
        qv_str_init(&ip.schema);
        fl_select_all(tabs[i].name, &ip.sql);
        qv_err e2;
        qv_err_clear(&e2);
        /* A table dropped meanwhile is skipped, not an error of the listing. */
        if (info_build(c, &ip, &d, tabs[i].live_rows, tabs[i].bytes, &e2) == QV_OK) {
            ip.info.total_records = tabs[i].live_rows;
            ip.info.total_bytes = tabs[i].bytes;
            fl_call_push_pb(c, &ip.info);
        } else if (e2.code != QV_ENOTFOUND) {
            rc = qv_err_set(err, e2.code, "ListFlights: table %s: %s", tabs[i].name, e2.msg);
        }
        info_clear(&ip);
    }
    if (tabs) st_table_info_free_all(tabs, n);
    arrow__flight__protocol__criteria__free_unpacked(cr, NULL);
    return rc;
}

const fl_rpc fl_rpc_list_flights = {.name = "ListFlights", .on_message = list_flights_msg};

/* ---- not implemented: answered at once, without reading (flight_call_accept.c) ---- */

const fl_rpc fl_rpc_do_exchange = {.name = "DoExchange"};
const fl_rpc fl_rpc_poll_flight_info = {.name = "PollFlightInfo"};
