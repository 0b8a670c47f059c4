/* engine internals shared by engine.c, put.c and demo.c. */
#ifndef QUIVER_ENGINE_INT_H
#define QUIVER_ENGINE_INT_H

#include "engine/engine.h"
#include "sql/sql.h"

typedef struct eng_hub eng_hub;

struct eng {
    st_db *db;
    sql_ctx *sql;
    eng_metrics metrics;
    int64_t started_ns;   /* monotonic */
    eng_hub *hub;         /* subscriptions (subscribe.c) */
    int64_t subscriber_buffer;
};

/* subscribe.c: the commit notification hub. new() before the first commit. */
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
int sub_cache_get(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to, qv_batch **out,
                  int *n);
void sub_cache_put(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to, bool ok,
                   const qv_batch *b, int n);

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
