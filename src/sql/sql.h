/*
** sql: parser -> binder -> logical plan -> vectorized physical plan, over
** storage snapshots. Statements: SELECT, CREATE/DROP TABLE, INSERT, SHOW
** TABLES, DESCRIBE, EXPLAIN. Results come out as a stream of qv_batch with a
** schema fixed at prepare time.
*/
#ifndef QUIVER_SQL_H
#define QUIVER_SQL_H

#include "storage/storage.h"

typedef struct sql_ctx sql_ctx;     /* shared by all queries: db, worker pool, limits */
typedef struct sql_query sql_query; /* one statement's execution; one thread drives it */

int sql_ctx_new(st_db *db, int threads, int64_t query_memory, sql_ctx **out, qv_err *err);
void sql_ctx_free(sql_ctx *c);

/* Parse, bind and plan. Runs nothing (DDL/DML run on the first next()). */
int sql_query_prepare(sql_ctx *c, const char *text, size_t len, sql_query **out, qv_err *err);
const qv_schema *sql_query_schema(const sql_query *q);
int64_t sql_query_total_rows(const sql_query *q);   /* exact when cheap, else -1 */
/* Next batch; *eos true when done (batch untouched). */
int sql_query_next(sql_query *q, qv_batch *out, bool *eos, qv_err *err);
void sql_query_cancel(sql_query *q);  /* any thread */
/* Storage rows and column bytes scanned so far (row groups skipped by min/max not counted). */
void sql_query_read_stats(const sql_query *q, int64_t *rows, int64_t *bytes);
void sql_query_free(sql_query *q);
/* What a prepared statement does, for role checks in the front ends, and
   its verb ("SELECT", "INSERT", "DROP TABLE", ...) for their messages. */
typedef enum sql_access { SQL_ACCESS_READ = 1, SQL_ACCESS_WRITE, SQL_ACCESS_ADMIN } sql_access;
sql_access sql_query_access(const sql_query *q, const char **verb);
/* Placeholders: `?` (numbered left to right) or `$1..$N`, in any expression
   position. The schema has one nullable field per parameter, named "$1"..,
   typed from its context (the other side of a comparison or arithmetic, an
   INSERT target column, a CAST target; utf8 when nothing constrains it). */
int sql_query_param_count(const sql_query *q);
const qv_schema *sql_query_param_schema(const sql_query *q);
/* Binds row `row` of params (one column per parameter, cast to the inferred
   types like an implicit cast; QV_EINVAL naming the parameter otherwise).
   Call before the first next(), which fails naming $N while unbound. */
int sql_query_bind(sql_query *q, const qv_batch *params, int64_t row, qv_err *err);

/* Scoped scans: every scan of `table` (case-insensitive) sees only storage
   rows [row_from, row_to) of its snapshot; row_to is clipped to the
   snapshot's rows. Whole row groups outside are skipped, partial ones sliced. */
typedef struct sql_scope {
    const char *table;
    int64_t row_from, row_to;
} sql_scope;
int sql_query_prepare_scoped(sql_ctx *c, const char *text, size_t len, const sql_scope *scope, sql_query **out,
                             qv_err *err);
/* True when the statement is a SELECT that is only scan + filter + projection
   of one base table (no aggregate, join, sort, limit, distinct, window); sets
   *table (valid while q lives) and *ordered (false: no order is promised). */
bool sql_query_is_scan(const sql_query *q, const char **table, bool *ordered);
/* True when the statement is a SELECT whose result is ORDER BY'd (Flight's
   FlightInfo.ordered). */
bool sql_query_orders(const sql_query *q);

/* EXPLAIN text of a statement (caller frees), or NULL with err. */
char *sql_explain(sql_ctx *c, const char *text, size_t len, qv_err *err);

/* Text form of row i of a result column, as the SQL tests and sql_tool print
   it: NULL, true/false, shortest round-trip floats, 'YYYY-MM-DD HH:MM:SS[.f]'
   timestamps, DECIMALs with their scale's digits (f: the column's field),
   strings as is ("(empty)" for ""). Appended to out. */
void sql_format_value(const qv_field *f, const qv_array *a, int64_t i, qv_str *out);

#endif
