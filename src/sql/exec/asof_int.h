/* The ASOF join's right-side store (asof_store.c), shared with the operator
   (asof.c). States: filling (asof_store_add per right chunk: payload rows
   copied, each eligible row's time and partition noted) -> finished
   (asof_store_finish: rows grouped by partition in input order, each
   partition checked for time order and sorted stably only when it is not,
   then reduced to its distinct times with the first row of each, or the
   last when tie_last) ->
   read-only, shared by every probing pipeline. Owns its vectors and arrays;
   memory is charged to the query while held. */
#ifndef QUIVER_SQL_ASOF_INT_H
#define QUIVER_SQL_ASOF_INT_H

#include "asof.h"

#include <string.h>

typedef struct asof_slot {
    uint64_t h;
    int32_t part; /* -1: empty */
} asof_slot;

typedef struct asof_store {
    int nr, nk;
    vec *cols;           /* payload: nr columns, n rows */
    int64_t n;
    int64_t *rt;         /* filling: ordered time key of each row */
    int32_t *rpart;      /* filling: partition of each row, -1 when it can never match */
    int64_t rcap;
    int npart, cappart;
    vec *pkeys;          /* nk columns: row p holds partition p's key values */
    asof_slot *slots;
    uint64_t smask;
    int64_t *pstart;     /* npart + 1 offsets into ut / ur */
    int64_t *plen;       /* distinct times of each partition */
    int64_t *ut;         /* from pstart[p]: partition p's distinct times, ascending */
    uint32_t *ur;        /* the first store row (input order) with each of them */
    int nsorted;         /* partitions that arrived out of time order */
    bool tie_last;       /* of rows with one time keep the last in input order (RIGHT / FULL, as DuckDB) */
    int64_t charged;
    qstate *qs;
    const char *label;
} asof_store;

void asof_store_init(asof_store *s, qstate *qs, int nr, const qv_type *rtypes, int nk, bexpr **rkeys, const char *label);
void asof_store_free(asof_store *s);
/* Rows of c (payload) with their evaluated keys, time and gate (NULL: none), indexed by active row. */
int asof_store_add(asof_store *s, const chunk *c, const vec *keys, const vec *time, const vec *gate, qv_err *err);
/* threads > 1 with a pool: partitions are sorted in parallel on it. */
int asof_store_finish(asof_store *s, sql_pool *pool, int threads, qv_err *err);
/* Hash of row r's keys; *null when one of them is NULL. */
uint64_t asof_keys_hash(const vec *keys, int nk, int r, bool *null);
/* Partition of row r's keys (hash h), -1 when the right side has none. */
int32_t asof_store_find(const asof_store *s, const vec *keys, int r, uint64_t h);


/* Times as int64 in SQL order: integers and timestamps as they are, doubles
   by their bits (negatives flipped, -0 as 0, every NaN as one, above +inf). */
static inline int64_t asof_time_key(const vec *v, int r) {
    if (type_pc(v->type) != PC_F) return v->i[r];
    double d = v->f[r];
    if (d == 0) d = 0;
    if (d != d) return INT64_MAX;
    int64_t b;
    memcpy(&b, &d, sizeof b);
    return b ^ ((b >> 63) & INT64_MAX);
}

#endif
