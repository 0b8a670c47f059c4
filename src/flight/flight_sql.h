/*
** Private to src/flight: Arrow Flight SQL on top of the raw Flight RPCs.
**
** Flight SQL commands arrive as google.protobuf.Any messages (type URL
** "type.googleapis.com/arrow.flight.protocol.sql.<Name>") in CMD
** descriptors (GetFlightInfo, GetSchema, DoPut) and in action bodies. One
** table per kind maps the name to its handler (flight_sql.c: commands with
** result sets; flight_sql_put.c: DoPut commands; flight_sql_action.c:
** actions). The raw RPC files call in through the few fl_sql_* hooks below
** and keep serving SQL-text tickets and descriptors as before.
**
** Tickets of Flight SQL results are Quiver's own bytes, packed as a
** TicketStatementQuery: "qvt1" + kind + payload, where kind is
**   'S' SQL text to run, 'P' a prepared statement handle (its parameters are
**   read at DoGet), 'M' the metadata command's Any bytes (rebuilt at DoGet),
**   'R' the one-row result of a statement GetFlightInfo already ran (DDL/DML).
*/
#ifndef QUIVER_FLIGHT_SQL_H
#define QUIVER_FLIGHT_SQL_H

#include "flight.pb-c.h"
#include "flight_internal.h"
#include "flight_sql.pb-c.h"
#include "ipc/ipc_meta.h"

#define FL_SQL_URL_PREFIX "type.googleapis.com/arrow.flight.protocol.sql."
#define FL_SQL_SESSION_COOKIE "arrow_flight_session_id"
#define FL_SQL_CATALOG "quiver"
#define FL_SQL_SCHEMA "main"

typedef Arrow__Flight__Protocol__Sql__QvAny fl_any;
typedef Arrow__Flight__Protocol__FlightDescriptor fl_descriptor;

/* A parsed Any: name is the message name after the Flight SQL prefix. */
typedef struct fl_sql_cmd_in {
    char name[96];
    const uint8_t *value;
    size_t value_len;
    fl_any *any; /* owns value */
} fl_sql_cmd_in;

/* QV_OK and *in filled if p..n is an Any naming a Flight SQL message;
   QV_EINVAL (or QV_EUNSUPPORTED for another package) otherwise. */
int fl_sql_any_parse(const uint8_t *p, size_t n, fl_sql_cmd_in *in, qv_err *err);
void fl_sql_any_free(fl_sql_cmd_in *in);
/* True if p..n looks like an Any with the Flight SQL type URL prefix. */
bool fl_sql_is_any(const uint8_t *p, size_t n);
/* Serialize `msg` packed in an Any named FL_SQL_URL_PREFIX + name. */
void fl_sql_any_pack(const char *name, const void *msg, qv_str *out);

/* The session the call belongs to: the arrow_flight_session_id cookie, or "". */
void fl_sql_session(const fl_call *c, char *out, size_t cap);

/* ---- results (flight_sql.c) ---- */
/* What a result-set command resolved to. */
typedef struct fl_sql_result {
    char kind;            /* 'S', 'P', 'M', 'R' as in the ticket */
    qv_str payload;       /* ticket payload */
    eng_query *q;         /* 'S'/'P': the opened query (closed by fl_sql_result_free) */
    ipc_mcol **cols;      /* 'M'/'R': the result table */
    int ncols;
} fl_sql_result;
void fl_sql_result_free(fl_sql_result *r);
ipc_mcol *fl_sql_result_col(fl_sql_result *r, const char *name, ipc_mtype t, bool nullable);

/* Metadata commands (flight_sql_meta.c, flight_sql_info.c): fill r->cols. */
typedef int (*fl_sql_meta_fn)(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_catalogs(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_db_schemas(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_tables(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_table_types(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_primary_keys(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_exported_keys(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_imported_keys(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_cross_reference(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_xdbc_type_info(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);
int fl_sql_get_sql_info(fl_call *c, const fl_sql_cmd_in *in, fl_sql_result *r, qv_err *err);

/* SQL LIKE-style pattern of the metadata filters: % any run, _ one character. */
bool fl_sql_like(const char *pattern, const char *s);

/* DDL/DML by its first word (CREATE, DROP, INSERT, ...): run at GetFlightInfo. */
bool fl_sql_changes_things(const char *sql, size_t len);
/* Open a prepared statement's query with its bound parameters (all rows). */
int fl_sql_open_prepared(fl_call *c, const uint8_t *h, size_t n, eng_query **q, qv_err *err);
/* Run a statement that changes things to its end, once per parameter row
   (params may be NULL); every row is checked before any runs. *count: rows affected. */
int fl_sql_run_update(fl_call *c, const char *sql, size_t len, const qv_batch *params, int64_t *count,
                      qv_err *err);
/* Every row of params binds to the statement (count and types). */
int fl_sql_check_params(eng *e, const char *sql, size_t len, const qv_batch *params, qv_err *err);

/* ---- hooks for the raw RPC files ---- */
/* GetFlightInfo / GetSchema on a descriptor whose cmd is a Flight SQL Any:
   queue the reply. fl_sql_is_any(d->cmd) says whether to call these. */
int fl_sql_flight_info(fl_call *c, const fl_descriptor *d, qv_err *err);
/* The FlightInfo of a result-set command, built (and a change run) here. */
int fl_sql_flight_info_bb(fl_call *c, const fl_descriptor *d, grpc_byte_buffer **out, qv_err *err);
/* flight_sql_change.c: true if d runs a change; then the call was handed to
   a job on the query runners (err set only if that failed). */
bool fl_sql_info_job_start(fl_call *c, const fl_descriptor *d, qv_err *err);
int fl_sql_schema(fl_call *c, const fl_descriptor *d, qv_err *err);
/* DoGet on a Flight SQL ticket: *q set to the query to stream, or NULL when
   the whole reply (schema and batch) was queued already. */
int fl_sql_doget(fl_call *c, const uint8_t *p, size_t n, eng_query **q, qv_err *err);
/* The query a DoGet streams is done (before it is closed): CancelFlightInfo
   can no longer reach it. */
void fl_sql_doget_done(eng_query *q);
/* DoPut whose first message carries a Flight SQL command: take the call over
   (c->rpc becomes the Flight SQL put) and handle this message. */
bool fl_sql_put_claims(const qv_buffer *msg);
int fl_sql_put_start(fl_call *c, qv_buffer *msg, qv_err *err);
/* DoAction: true if `type` is a Flight SQL or session action. */
bool fl_sql_action_known(const char *type);
int fl_sql_action(fl_call *c, const char *type, const uint8_t *body, size_t n, qv_err *err);

/* Running queries CancelFlightInfo can reach, by ticket (flight_sql_action.c). */
void fl_sql_running_add(const uint8_t *ticket, size_t n, eng_query *q);
int fl_sql_running_cancel(const uint8_t *ticket, size_t n);  /* 1 cancelled, 0 not running */

extern const fl_rpc fl_rpc_sql_put;

#endif
