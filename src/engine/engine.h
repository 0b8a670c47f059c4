/*
** engine: the one door the front ends (flight, http) use. It owns the
** storage database and the SQL context, runs queries as streams of batches,
** ingests batch streams into tables (create-or-append, schema checked,
** atomic), and keeps the counters /metrics and healthcheck report.
** Thread-safe: any number of front-end threads call in at once.
*/
#ifndef QUIVER_ENGINE_H
#define QUIVER_ENGINE_H

#include "storage/storage.h"

typedef struct eng eng;

typedef struct eng_options {
    st_options storage;
    int threads;             /* query workers; 0 = cores */
    int64_t query_memory;    /* per-query limit in bytes; 0 = default (1 GiB) */
    int64_t demo_rows;       /* >0: create and fill `trades` if it does not exist */
    int max_running;         /* queries running at once; 0 = 2 x threads */
    int max_queued;          /* queries waiting for a slot; 0 = 4 x max_running, -1 = none */
    int64_t query_timeout_ms;/* 0 = none */
    int64_t subscriber_buffer; /* per-subscription pending limit; 0 = 64 MiB */
    int64_t subscriber_interval_ns; /* least time between two publishes of commits to subscribers; 0 = each at once */
} eng_options;

int eng_open(const eng_options *opts, eng **out, qv_err *err);
void eng_close(eng *e);

/* ---- queries ----
** eng_query_open parses, binds and plans (errors here: bad SQL never starts
** streaming), but runs nothing; DDL/DML run on the first eng_query_next and
** yield a one-row result. Batches are at most `chunk` rows (storage row
** groups or executor chunks); front ends split further for byte limits. */
typedef struct eng_query eng_query;
int eng_query_open(eng *e, const char *sql, size_t len, eng_query **out, qv_err *err);
const qv_schema *eng_query_schema(const eng_query *q);
int64_t eng_query_total_rows(const eng_query *q);   /* exact when cheap, else -1 */
int64_t eng_query_total_bytes(const eng_query *q);  /* -1 if unknown */
/* *eos set true (and batch left empty) when the stream is over. */
int eng_query_next(eng_query *q, qv_batch *out, bool *eos, qv_err *err);
void eng_query_cancel(eng_query *q);  /* any thread; next() then returns QV_ECANCELLED */
/* Storage rows and column bytes the query has scanned so far. */
void eng_query_read_stats(const eng_query *q, int64_t *rows, int64_t *bytes);
void eng_query_close(eng_query *q);   /* frees everything the query holds */
/* Placeholders ($1.. / ?): count, schema (one nullable field each, typed from
   context) and binding row `row` of params before the first next(). */
int eng_query_param_count(const eng_query *q);
const qv_schema *eng_query_param_schema(const eng_query *q);
int eng_query_bind(eng_query *q, const qv_batch *params, int64_t row, qv_err *err);
/* Open with parameters: the statement runs once per row of params, and the
   results follow one another in one stream (same schema). */
int eng_query_open_bound(eng *e, const char *sql, size_t len, const qv_batch *params, eng_query **out,
                         qv_err *err);
/* What the statement does (reads; writes data or creates; drops), for the
   front ends' role checks; *verb (may be NULL) names it, e.g. "INSERT". */
typedef enum eng_access { ENG_ACCESS_READ = 1, ENG_ACCESS_WRITE, ENG_ACCESS_ADMIN } eng_access;
eng_access eng_query_access(const eng_query *q, const char **verb);
char *eng_explain(eng *e, const char *sql, size_t len, qv_err *err); /* caller frees */

/* ---- partitioned reads (eng_partition.c) ----
** A query that scans one table (filters and projections only) can be read as
** row ranges of whole row groups, each opened on its own later, even on
** another server holding the same data: rows [row_from, row_to) of one table
** incarnation never change (storage is append-only). */
#define ENG_KEY_BYTES 32
#define ENG_DEFAULT_PARTITION_ROWS (8LL << 20)
typedef struct eng_part {
    int64_t row_from, row_to;  /* storage rows */
    int64_t rows, bytes;       /* rows and result bytes the range scans (exact without a filter) */
} eng_part;
typedef struct eng_parts {
    bool scan;           /* a scan of one table: parts are set; else one piece, the whole query */
    bool ordered;        /* the query orders its result */
    bool exact;          /* rows per part are the result's rows (no filter) */
    char table[QV_NAME_MAX + 1];
    uint64_t table_id;   /* st_table_id at planning */
    int64_t removed;     /* st_table_removed_rows at planning: row numbers are relative to it */
    bool has_deleted;    /* the table has DELETEd rows: replicas number its rows otherwise (live rows only) */
    int n;
    eng_part *parts;
} eng_parts;
typedef struct eng_range {
    char table[QV_NAME_MAX + 1];
    uint64_t table_id;
    int64_t removed;     /* rows removed from the front (truncate, retention) when planned */
    int64_t row_from, row_to;
} eng_range;
/* Plan the pieces of an open query (partition_rows <= 0: the default). */
int eng_query_partitions(eng *e, const eng_query *q, int64_t partition_rows, eng_parts *out, qv_err *err);
void eng_parts_free(eng_parts *p);
/* Open `sql` seeing only rows [row_from, row_to) of r->table; QV_ENOTFOUND when
   that incarnation is gone (dropped, recreated) or does not hold those rows. */
int eng_query_open_range(eng *e, const char *sql, size_t len, const eng_range *r, eng_query **out, qv_err *err);
/* The 32-byte key tickets are authenticated with: one per data directory. */
const uint8_t *eng_ticket_key(const eng *e);

/* ---- read replicas (eng_replica.c) ----
** A replica applies its primary's catalog and rows through these, keeping the
** primary's table ids; everyone else's writes get QV_EPRECONDITION with `why`. */
void eng_set_read_only(eng *e, const char *why);
int eng_replica_create(eng *e, uint64_t id, const char *name, int64_t trim, const qv_schema *schema, qv_err *err);
int eng_replica_drop(eng *e, uint64_t id, qv_err *err);
/* Stage rows [row_from, row_from + b->nrows) of table id (rows already here are
   skipped); eng_replica_commit makes the staged rows visible in one append,
   eng_replica_abort drops them. One follower thread calls these. */
int eng_replica_append(eng *e, uint64_t id, int64_t row_from, const qv_batch *b, qv_err *err);
int eng_replica_commit(eng *e, qv_err *err);
void eng_replica_abort(eng *e);
/* Why the follower cannot follow its primary (shown by healthcheck as
   "replica_error"); NULL or "" once it follows again. */
void eng_replica_set_error(eng *e, const char *msg);
void eng_replica_health_json(eng *e, qv_str *out); /* appends ,"replica_error":"..." if set */
/* Column files. A replica's row group size when it takes them (0: in memory,
   rows only). The primary side: eng_repl_file_open opens the column file
   holding rows [row_from, row_from + file_rows) of table name (still id,
   trim count trim), 0 and out filled (the caller closes fd), or -1 when that
   row group is not in a column file. A replica: chunks in order into a
   staging file, then stage it (docs/flight.md). */
typedef struct eng_repl_file {
    int fd;
    int64_t fno, size;
} eng_repl_file;
int64_t eng_replica_file_rows(eng *e);
int eng_repl_file_open(eng *e, const char *name, uint64_t id, int64_t trim, int64_t row_from, int64_t file_rows,
                       eng_repl_file *out);
int eng_replica_file_chunk(eng *e, uint64_t id, int64_t fno, int64_t off, const void *p, size_t n, qv_err *err);
/* The file's size and CRC checked, it joins the table's staged catch-up at
   row_from (committed by eng_replica_commit with the rest). */
int eng_replica_file_stage(eng *e, uint64_t id, int64_t row_from, int64_t fno, int64_t size, uint32_t crc,
                           qv_err *err);
/* Take the primary's ticket key (kept in the data directory). */
int eng_ticket_key_set(eng *e, const uint8_t *key, qv_err *err);
/* Stop the query with QV_ETIMEOUT after ms from now (a client deadline,
   HTTP max_execution_time). The sooner of this and --query-timeout wins. */
void eng_query_set_timeout(eng_query *q, int64_t ms);

/* ---- admission and the query runners (sched.c) ----
** At most max_running queries hold a slot at once; up to max_queued more
** wait in FIFO order; beyond that admission is refused with QV_EBUSY
** "server busy: N running, M queued". The runners are max_running threads
** that run tasks for front ends which must not block their own threads
** (Flight's completion queue): a query with a slot has at most one task
** outstanding, so a task never waits long for a runner.
** Task life: submitted -> (queued for a slot) -> run() on a runner. A task
** must stay valid until run() has started or eng_sched_withdraw took it back. */
typedef struct eng_task {
    void (*run)(struct eng_task *t);
    struct eng_task *next;  /* private */
    int where;              /* private */
    bool requeue;           /* waits in the FIFO even when it is full (was admitted once, gave its slot back) */
} eng_task;
/* A new query wants a slot; t->run runs on a runner once it has one. */
int eng_sched_admit(eng *e, eng_task *t, qv_err *err);
/* A query holding a slot runs its next step on a runner. */
void eng_sched_run(eng *e, eng_task *t);
/* Take back a task still waiting for a slot: true if it was (it will not run). */
bool eng_sched_withdraw(eng *e, eng_task *t);
/* Blocking admission for thread-per-request front ends (HTTP). */
int eng_sched_admit_wait(eng *e, qv_err *err);
/* Give back a slot that eng_sched_admit (once its task ran) or _admit_wait gave. */
void eng_sched_release(eng *e);
void eng_sched_counts(eng *e, int *running, int *queued);

/* ---- ingest ----
** No such table: created from `schema`. Existing table: columns matched by
** name and type; a table column missing from the stream is filled with NULL
** when nullable; anything else is QV_EINVAL naming the first bad column.
** Nothing is visible until commit; abort (or any failure) leaves nothing. */
typedef struct eng_put eng_put;
int eng_put_begin(eng *e, const char *table, const qv_schema *schema, eng_put **out, qv_err *err);
/* Flight SQL ingest modes. Missing table: created unless fail_if_missing
** (QV_ENOTFOUND). Existing table: appended to, QV_EEXISTS, or replaced by a
** new table of the stream's schema (dropped only at commit, after the whole
** stream arrived and was checked). eng_put_begin is {false, APPEND}. */
typedef enum { ENG_IF_EXISTS_APPEND = 0, ENG_IF_EXISTS_FAIL, ENG_IF_EXISTS_REPLACE } eng_if_exists;
typedef struct eng_put_mode {
    bool fail_if_missing;
    eng_if_exists if_exists;
} eng_put_mode;
int eng_put_begin_mode(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode,
                       eng_put **out, qv_err *err);
/* For a front end whose threads must never wait (Flight): when another stream
** holds the table's writer slot (or is creating the table), the put neither
** blocks nor holds data. eng_put_ready says *ready false until the slot is
** free: feed no batches and stop reading the stream meanwhile (the client
** waits under its own deadline); wake(arg) is called from another thread
** (holding a storage lock: only signal) when it is worth asking again.
** With ready true, batches stream into storage as with eng_put_begin_mode. */
int eng_put_begin_async(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode,
                        void (*wake)(void *arg), void *arg, eng_put **out, qv_err *err);
int eng_put_ready(eng_put *p, bool *ready, qv_err *err);
int eng_put_batch(eng_put *p, const qv_batch *b, qv_err *err);
int eng_put_commit(eng_put *p, int64_t *rows, qv_err *err);  /* frees p */
void eng_put_abort(eng_put *p);                               /* frees p */

/* ---- sessions and prepared statements (stmt.c; Flight SQL) ----
** A session is a name the front end chooses ("" when the client has none).
** Statement handles are ENG_HANDLE_LEN bytes of text, valid in the session
** that created them until closed, until the session closes, or until unused
** for the idle time; every other lookup is QV_ENOTFOUND. */
#define ENG_HANDLE_LEN 36
typedef struct eng_stmt_view {
    char *sql;
    size_t len;
    bool has_params;
    qv_batch params;   /* the parameter rows bound last (refs) */
} eng_stmt_view;
int eng_stmt_create(eng *e, const char *session, const char *sql, size_t len, char *handle, qv_err *err);
int eng_stmt_get(eng *e, const char *session, const uint8_t *h, size_t n, eng_stmt_view *out, qv_err *err);
void eng_stmt_view_free(eng_stmt_view *v);
/* params NULL clears them. */
int eng_stmt_bind(eng *e, const char *session, const uint8_t *h, size_t n, const qv_batch *params, qv_err *err);
int eng_stmt_close(eng *e, const char *session, const uint8_t *h, size_t n, qv_err *err);
void eng_stmt_set_idle_ms(eng *e, int64_t ms);  /* <= 0: the default, 30 minutes */
int64_t eng_stmt_idle_ms(eng *e);
void eng_session_close(eng *e, const char *session);
int eng_session_set(eng *e, const char *session, const char *name, const char *value, qv_err *err);
/* The session's options as two arrays of n strings (caller frees each and the arrays). */
int eng_session_options(eng *e, const char *session, char ***names, char ***values);
/* ---- subscriptions (subscribe.c; docs/subscriptions.md) ----
** `SUBSCRIBE SELECT <columns/expressions> FROM <table> [WHERE <filter>]
**  [SINCE TIMESTAMP '...']`: the rows of every commit to the table after the
** subscription opened (first, with SINCE, the rows already committed whose
** first TIMESTAMP column is at or after the literal), in commit order, each
** commit whole, never twice. Projections and filters only.
** A front end drives one eng_sub from one thread: eng_sub_next hands out the
** next batch, or *got false when nothing is pending; the engine then calls
** wake(arg) (from its notifier thread, never inside a commit) once more
** rows are there or the subscription ended. wake is never called after
** eng_sub_close returns. Ends: QV_ERESOURCE "subscriber too slow" when more
** than buffer_bytes of commits are pending for it; QV_ECANCELLED "server
** shutting down" after eng_subs_shutdown (front ends report UNAVAILABLE). */
typedef struct eng_sub eng_sub;
typedef struct eng_sub_options {
    /* end is NULL for new rows, else why the subscription ended (next()
       then returns that error); called with no engine lock held. */
    /* Returns true to have run(arg) called next, on the notifier thread,
       once the engine's locks are released: the front end's consumer was
       idle and wake handed it to the notifier, which then delivers the
       pending rows itself (no hop to another thread). run may call
       eng_sub_close. Without run, the return value is ignored. */
    bool (*wake)(void *arg, const qv_err *end);
    void (*run)(void *arg);
    void *arg;
    int64_t buffer_bytes;     /* pending limit; 0 = eng_options.subscriber_buffer */
    int64_t max_batch_bytes;  /* commits are coalesced up to this; 0 = 4 MiB */
} eng_sub_options;
/* True if the text starts with the word SUBSCRIBE (blanks and comments before it allowed). */
bool eng_is_subscribe(const char *text, size_t len);
int eng_sub_open(eng *e, const char *text, size_t len, const eng_sub_options *o, eng_sub **out, qv_err *err);
const qv_schema *eng_sub_schema(const eng_sub *s);
int eng_sub_next(eng_sub *s, qv_batch *out, bool *got, qv_err *err);
void eng_sub_close(eng_sub *s);
/* End every subscription (QV_ECANCELLED, "server shutting down") and refuse new ones. */
void eng_subs_shutdown(eng *e);

/* ---- catalog and status ---- */
int eng_tables(eng *e, st_table_info **out, int *n, qv_err *err); /* st_table_info_free_all */
int eng_drop_table(eng *e, const char *name, qv_err *err);
int eng_describe_table(eng *e, const char *name, qv_str *json, qv_err *err);
void eng_health_json(eng *e, qv_str *out); /* {"status":"ok","version",...,"uptime_s","tables","rows"} */

/* Counters the front ends bump and /metrics reads. All atomic. */
typedef struct eng_metrics {
    atomic_llong queries, query_errors;
    atomic_llong rows_sent, bytes_sent;
    atomic_llong rows_ingested;
    atomic_llong flight_streams_active;
    atomic_llong subscriptions_active, subscriptions_ended_slow;
    /* subscription deliveries: rows evaluated (once per distinct statement and
       commit range when shared), and deliveries that took a shared result */
    atomic_llong subscription_evaluations, subscription_shared;
    /* query latency histogram: bucket i counts queries <= eng_latency_bounds[i] seconds */
    atomic_llong latency_buckets[12];
    atomic_llong latency_count;
    atomic_llong latency_sum_us;
    /* a read replica: wall-clock ns when it last had everything its primary committed; 0 = not a replica */
    atomic_llong replica_synced_ns;
    /* refusals by reason (front ends bump them): enum eng_refusal */
    atomic_llong refusals[6];
} eng_metrics;
extern const double eng_latency_bounds[12];
/* /metrics label values: busy, timeout, unauthenticated, permission, put_bytes, connections */
enum eng_refusal { ENG_REFUSE_BUSY, ENG_REFUSE_TIMEOUT, ENG_REFUSE_UNAUTHENTICATED, ENG_REFUSE_PERMISSION,
                   ENG_REFUSE_PUT_BYTES, ENG_REFUSE_CONNECTIONS, ENG_REFUSE__COUNT };

/* Per-RPC latency histograms (Flight RPCs, HTTP routes): up to ENG_RPC_MAX
   names, same buckets as queries. */
#define ENG_RPC_MAX 32
void eng_rpc_observe(eng *e, const char *name, int64_t ns);
typedef struct eng_rpc_hist {
    char name[32];
    long long buckets[12], count, sum_us;
} eng_rpc_hist;
int eng_rpc_hists(eng *e, eng_rpc_hist *out, int max); /* copies; returns how many */
eng_metrics *eng_get_metrics(eng *e);
void eng_storage_stats(eng *e, st_db_stats *out);
int64_t eng_uptime_s(const eng *e);

#endif
