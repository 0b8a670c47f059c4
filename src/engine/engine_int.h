/* engine internals shared by engine.c, put.c and demo.c. */
#ifndef QUIVER_ENGINE_INT_H
#define QUIVER_ENGINE_INT_H

#include "engine/engine.h"
#include "sql/sql.h"

#include <pthread.h>

typedef struct eng_sched eng_sched;
typedef struct eng_hub eng_hub;

struct eng {
    st_db *db;
    sql_ctx *sql;
    eng_metrics metrics;
    int64_t started_ns;   /* monotonic */
    uint8_t key[ENG_KEY_BYTES]; /* ticket key (eng_partition.c) */
    char key_path[4200];        /* where it is kept; empty in memory */
    eng_sched *sched;     /* sched.c */
    int64_t query_timeout_ms;
    eng_hub *hub;         /* subscriptions (sub_int.h) */
    int64_t subscriber_buffer;
    int64_t subscriber_interval_ns;
    struct eng_sessions *sessions;  /* stmt.c */
};

/* eng_partition.c: the ticket key from <data_dir>/ticket.key (created if
   missing) or random when in memory. */
int eng_key_load(eng *e, const eng_options *opts, qv_err *err);
/* engine.c: thin wrappers over the SQL layer's scan detection and scoped scans. */
bool eng_sql_scan_of(const eng_query *q, const char **table, bool *ordered);
int eng_sql_open_range(eng *e, const char *sql, size_t len, const eng_range *r, eng_query **out, qv_err *err);

typedef struct eng_sessions eng_sessions;
eng_sessions *eng_sessions_new(void);
void eng_sessions_free(eng_sessions *s);

struct eng_query {
    eng *e;
    sql_query *q;
    int64_t started_ns;
    bool failed;
    /* deadline (sched.c watchdog, under the sched lock) */
    int64_t deadline_ns;
    bool watched, timed_out;
    eng_query *wprev, *wnext;
    /* eng_query_open_bound: the statement runs once per parameter row; mu
       guards swapping q->q against eng_query_cancel from another thread */
    pthread_mutex_t mu;
    bool cancelled;
    bool bound;
    qv_batch params;
    int64_t row;
    char *sql;
    size_t len;
};

/* sched.c */
eng_sched *eng_sched_new(int threads, const eng_options *o);
void eng_sched_free(eng_sched *sc);
/* Cancel q (it then fails with QV_ETIMEOUT) at deadline_ns unless it closes first. */
void eng_sched_watch(eng *e, eng_query *q, int64_t deadline_ns);
void eng_sched_unwatch(eng *e, eng_query *q);
/* Run fn(arg) on a fresh thread at the query niceness and wait: threads it
   starts (the SQL pool) inherit the lower priority. */
void eng_sched_start_niced(void (*fn)(void *), void *arg);

/* sub_notify.c: the commit notification hub. new() before the first commit. */
eng_hub *eng_hub_new(eng *e);
void eng_hub_free(eng_hub *h);

/* sub_cache.c: recent (statement, table, row range) results, shared by
   subscriptions (refs, no copies); bounded. get copies refs into a new array. */
typedef struct sub_cache sub_cache;
sub_cache *sub_cache_new(void);
void sub_cache_free(sub_cache *c);
/* HIT: out and n hold refs to the result. CLAIMED: evaluate, then put (ok false
   if it failed). MISS: evaluate without the cache. Waits while another
   subscriber is evaluating the same range. */
enum { SUB_CACHE_MISS, SUB_CACHE_HIT, SUB_CACHE_CLAIMED };
int sub_cache_get(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to,
                  qv_batch **out, int *n);
/* The end of the longest entry (ready or being filled) for rows starting at
   `from` and ending at or before `limit`; -1 if none. */
int64_t sub_cache_end(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t limit);
/* Claim the entry if nobody has it or is filling it (then evaluate and put); false otherwise. */
bool sub_cache_claim(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to);
void sub_cache_put(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to,
                   bool ok, const qv_batch *b, int n);

/* Every non-empty batch of q as one batch (one message on the wire, so a
   delivery is whole or not at all); SYMBOL columns keep their pieces. */
int sub_result_collect(sql_query *q, qv_batch **out, int *nout, qv_err *err);

/* sub_text.c: a SUBSCRIBE statement taken apart. */
typedef struct sub_text {
    char *select;             /* SELECT ... FROM t [WHERE ...] */
    char *since;              /* the SINCE literal with its quotes, or NULL */
    char table[QV_NAME_MAX + 1];
    size_t where_pos;         /* offset of WHERE in select, SIZE_MAX if none */
} sub_text;
int sub_text_parse(const char *text, size_t len, sub_text *out, qv_err *err);
/* select with `extra` ANDed to its filter (caller frees). */
char *sub_text_with_filter(const sub_text *t, const char *extra);
void sub_text_free(sub_text *t);

/* demo.c: create and fill `trades` with n synthetic ticks if it does not exist. */
int eng_demo_create(eng *e, int64_t n, qv_err *err);

#endif
