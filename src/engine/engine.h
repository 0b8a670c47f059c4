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
    int64_t subscriber_buffer; /* per-subscription pending limit; 0 = 64 MiB */
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
char *eng_explain(eng *e, const char *sql, size_t len, qv_err *err); /* caller frees */

/* ---- ingest ----
** No such table: created from `schema`. Existing table: columns matched by
** name and type; a table column missing from the stream is filled with NULL
** when nullable; anything else is QV_EINVAL naming the first bad column.
** Nothing is visible until commit; abort (or any failure) leaves nothing. */
typedef struct eng_put eng_put;
int eng_put_begin(eng *e, const char *table, const qv_schema *schema, eng_put **out, qv_err *err);
int eng_put_batch(eng_put *p, const qv_batch *b, qv_err *err);
int eng_put_commit(eng_put *p, int64_t *rows, qv_err *err);  /* frees p */
void eng_put_abort(eng_put *p);                               /* frees p */

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
    void (*wake)(void *arg, const qv_err *end);
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
    /* query latency histogram: bucket i counts queries <= eng_latency_bounds[i] seconds */
    atomic_llong latency_buckets[12];
    atomic_llong latency_count;
    atomic_llong latency_sum_us;
} eng_metrics;
extern const double eng_latency_bounds[12];
eng_metrics *eng_get_metrics(eng *e);
void eng_storage_stats(eng *e, st_db_stats *out);
int64_t eng_uptime_s(const eng *e);

#endif
