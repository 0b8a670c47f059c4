/*
** The executor stage (exec/): vectors and chunks of CHUNK rows, the
** per-query run-time state, and the physical operators that the planner
** builds over bound expressions. Includes bind.h; functions/ and the
** planner include this. Operator-specific headers: hashjoin.h, asof.h,
** window/window.h.
*/
#ifndef QUIVER_SQL_EXEC_H
#define QUIVER_SQL_EXEC_H

#include "bind.h"

#include <string.h>

/* ---------------- vectors and chunks ---------------- */
#define CHUNK 2048

typedef struct vec {
    qv_type type;   /* logical type */
    int n;
    bool has_nulls;
    uint8_t *nulls; /* 1 = null; cap entries */
    int64_t *i;
    double *f;
    sv *s;
    int cap;
    void *heap;     /* owned blocks holding computed strings; never moved */
    bool borrowed;  /* arrays belong to another vec (valid while that one is unchanged) */
    /* A scan's SYMBOL column arrives as dictionary codes (s is not filled):
       codes[k] indexes dict; symc remembers constants' codes per dictionary. */
    const int32_t *codes;
    const qv_array *dict;
    struct sym_cache *symc;
} vec;

/* Codes of string constants in one dictionary, owned by the scan that reads
   it. The dictionary is append-only, so an entry stays valid while the
   dictionary's buffer and length are the ones it was found in. */
typedef struct sym_cache {
    const void *buf;
    int64_t len;
    int n;
    struct { const char *p; int32_t n, code; } ent[16];
} sym_cache;
/* Code of s in v's dictionary, or -1 when absent. */
int32_t vec_sym_code(const vec *v, sv s);
/* String of row r of a code vector. */
static inline sv vec_sym_str(const vec *v, int r) {
    const int32_t *o = (const int32_t *)v->dict->values->data + v->dict->offset;
    const char *d = v->dict->data ? (const char *)v->dict->data->data : "";
    int32_t c = v->codes[r];
    return (sv){d + o[c], o[c + 1] - o[c]};
}

void vec_init(vec *v, qv_type t);
void vec_free(vec *v);
void vec_reset(vec *v, qv_type t, int n); /* n rows, all valid, heap emptied */
static inline bool vec_null(const vec *v, int k) { return v->has_nulls && v->nulls[k]; }
/* has_nulls is stored only when it changes: the window operator sets it on its
   shared result vectors before parallel workers write their own rows' null bytes. */
static inline void vec_set_null(vec *v, int k) {
    if (!v->has_nulls) v->has_nulls = true;
    v->nulls[k] = 1;
}
/* Row k of v as a value (its physical slot only; nullness is the caller's). */
static inline value vec_value_at(const vec *v, int k) {
    value x = {0};
    switch (type_pc(v->type)) {
    case PC_I: x.i = v->i[k]; break;
    case PC_F: x.f = v->f[k]; break;
    case PC_S: x.s = v->s[k]; break;
    }
    return x;
}
/* String of row r of a string vector, plain or dictionary codes. */
static inline sv vec_str_at(const vec *v, int64_t r) { return v->codes ? vec_sym_str(v, (int)r) : v->s[r]; }
/* Row r of src into row i of a store vector (a join's or ASOF join's build
   side): NULL (a T_NULL source too) or the value, strings copied into dst's
   heap, dictionary codes resolved. */
void vec_store_row(vec *dst, int64_t i, const vec *src, int r);
/* Copy bytes into v's heap and point row k at them. */
void vec_set_str(vec *v, int k, const char *p, int32_t n);
char *vec_heap_alloc(vec *v, size_t n);
/* Append row k of src to dst's row j (same class); strings copied to dst's heap. */
void vec_copy_row(vec *dst, int j, const vec *src, int k);
void vec_grow(vec *v, int cap); /* keeps contents */
/* Make dst a read-only view of src's arrays (no copy). */
void vec_borrow(vec *dst, const vec *src);

typedef struct chunk {
    int ncols;
    vec *cols;
    int n;        /* rows in the vectors */
    int *sel;     /* active rows (indices < n) when has_sel */
    int nsel;
    bool has_sel;
    bool all_pass; /* a scan's chunk whose row group's min/max prove every pruning predicate true */
} chunk;

void chunk_init(chunk *c, int ncols, const qv_type *types);
void chunk_free(chunk *c);
static inline int chunk_active(const chunk *c) { return c->has_sel ? c->nsel : c->n; }
static inline int chunk_row(const chunk *c, int k) { return c->has_sel ? c->sel[k] : k; }

/* ---------------- expression evaluation ---------------- */
int expr_eval(const bexpr *e, const chunk *in, vec *out, qv_err *err);
/* Rows of in's active rows for which e is true (not NULL), as chunk row
   indices in sel (CHUNK entries); returns their count, or -1 with err set.
   tmp is scratch for the general case. */
int expr_select(const bexpr *e, const chunk *in, vec *tmp, int *sel, qv_err *err);
/* B_FUNC over already evaluated arguments (func.c). */
int func_eval(const bexpr *e, vec *args, int n, vec *out, qv_err *err);
/* Evaluate on one constant row (no input): for VALUES and folding. */
int expr_eval_const(const bexpr *e, vec *out, qv_err *err);

/* ---------------- context and query ---------------- */
typedef struct sql_pool sql_pool;
struct sql_ctx {
    st_db *db;
    int threads;
    int64_t query_memory;
    sql_pool *pool;
};

sql_pool *sql_pool_new(int n);
void sql_pool_free(sql_pool *p);
/* Runs fn(args[i]) for i < n on the pool and waits for all of them. */
void sql_pool_run(sql_pool *p, int n, void (*fn)(void *), void **args, size_t unused);
/* True on a pool worker thread (which must not call sql_pool_run). */
bool sql_pool_in_task(void);

/* A scoped scan: scans of `table` see only storage rows [row_from, row_to). */
typedef struct scan_scope {
    const char *table;
    int64_t row_from, row_to;
} scan_scope;

/* Subqueries run once before the main plan (planner/subquery.c). */
typedef struct init_plan init_plan;
/* B_INSUB over evaluated x (n rows) into out (BOOL, SQL NULL semantics). */
void value_set_eval(const bexpr *e, const vec *x, int n, vec *out);

/* Per-query run-time state every operator sees. */
typedef struct qstate {
    atomic_int cancelled;
    atomic_llong mem;   /* bytes held by blocking operators */
    atomic_llong rows_read, bytes_read; /* storage rows and column bytes scanned (after pruning) */
    int64_t mem_limit;
    sql_ctx *ctx;
    sql_params *params; /* placeholders, or NULL where none are allowed */
    const scan_scope *scope; /* NULL: whole tables */
    init_plan **inits;  /* heap array, in the order they must run */
    int ninits;
    bool inits_done;
} qstate;
int qstate_charge(qstate *qs, int64_t bytes, qv_err *err); /* QV_ERESOURCE past the limit */
void qstate_release(qstate *qs, int64_t bytes);
int qstate_check(qstate *qs, qv_err *err);                /* QV_ECANCELLED when cancelled */

/* ---------------- physical operators ---------------- */
typedef struct op op;
struct op {
    const char *name;
    int ncols;
    qv_type *types;
    /* Set *out to a chunk owned by the operator (valid until the next call)
       holding at least one active row, or to NULL at the end. */
    int (*next)(op *o, chunk **out, qv_err *err);
    void (*free)(op *o);
    void (*explain)(op *o, qv_str *s, int depth);
    qstate *qs;
};

typedef struct scan_pred {  /* col <op> constant, for row-group pruning */
    int col;
    int op;
    value v;
    qv_type vtype;
} scan_pred;

op *op_scan_new(qstate *qs, st_table *t, st_snapshot *snap, int ncols, const int *cols,
                const scan_pred *preds, int npreds);
op *op_values_new(qstate *qs); /* one row, zero columns */
/* Rows held in memory (exec/rowset.c): deep copies of chunks, in order. */
typedef struct rowset {
    int ncols;
    qv_type *types;
    chunk *chunks;
    int n, cap;
    int64_t rows;
} rowset;
rowset *rowset_new(int ncols, const qv_type *types);
void rowset_free(rowset *r);
/* Copies rows (chunk row indices; NULL: c's active rows) of c. */
void rowset_add(rowset *r, const chunk *c, const int *rows, int m);
int64_t rowset_bytes(const rowset *r); /* an estimate, for the query's memory limit */
/* Streams rs (freed with the operator when own). */
op *op_rowset_new(qstate *qs, rowset *rs, bool own);
/* range / generate_series (exec/series.c): one column of type t, start..stop
   by step (three constant expressions, evaluated when it first runs so that
   placeholders have their values); stop included when inclusive. Streams
   CHUNK rows per call. name labels errors and EXPLAIN. */
op *op_series_new(qstate *qs, const char *name, bexpr *const args[3], qv_type t, bool inclusive);
/* Rows of start..stop by step (step != 0), saturated at UINT64_MAX. */
uint64_t series_count(int64_t start, int64_t stop, int64_t step, bool inclusive);
op *op_filter_new(qstate *qs, op *child, bexpr *pred);
/* The filter's predicate is exactly its scan's pruning predicates: chunks
   marked all_pass go through without evaluating it. */
void op_filter_set_covered(op *filter);
op *op_project_new(qstate *qs, op *child, int n, bexpr **exprs);
op *op_agg_new(qstate *qs, op *child, int nkeys, bexpr **keys, int naggs, agg_spec *aggs);
/* Final aggregation over partial ones (each an op_agg_new over its share of
   the row groups, in table order), run in parallel on the pool and merged. */
op *op_agg_parallel_new(qstate *qs, op **parts, int nparts, int nkeys, bexpr **keys, int naggs, agg_spec *aggs);
/* Streams each child to its end, in order (UNION ALL); children have the same types. */
op *op_concat_new(qstate *qs, op **kids, int n);
/* Runs each child to completion in parallel, then emits their rows in child order. */
op *op_gather_new(qstate *qs, op **children, int n);
/* Ordered parallel streaming over row groups [rg_lo, rg_hi): in each round,
   child w (a pipeline over scan scans[w]) processes row group
   rg_lo + round*n + w; results come out in table order. */
op *op_gather_rounds_new(qstate *qs, op **children, op **scans, int n, int rg_lo, int rg_hi);
/* Restrict a scan to row groups [lo, hi). */
void op_scan_set_range(op *scan, int lo, int hi);
/* The scan's last chunk (as the operators above left its selection), its row group and first row. */
chunk *op_scan_last(op *scan, int *rg, int64_t *row);
/* Scan another snapshot of the same table from the start (DELETE: the state under the writer slot). */
void op_scan_set_snapshot(op *scan, st_snapshot *snap);
/* Restrict a scan to storage rows [from, to) of its snapshot (whole row
   groups outside are skipped, partial ones sliced). */
void op_scan_set_rows(op *scan, int64_t from, int64_t to);
op *op_sort_new(qstate *qs, op *child, int nkeys, const int *cols, const bool *desc,
                const bool *nulls_first, int64_t limit);
op *op_limit_new(qstate *qs, op *child, int64_t limit, int64_t offset);
/* Pre-filter for a top-N: drops input rows whose column col (the first sort
   key, a plain column) cannot beat the sort's current N-th row. Link it to
   the top-N it feeds with op_sort_set_guard (until then it passes all rows). */
/* A condition `col op v` that a scan also checks each row group's min/max
   against; its owner (a top-N guard on the same thread) tightens it while the
   scan runs. keep_nulls: NULL rows satisfy it (NULLS FIRST). */
typedef struct scan_bound {
    bool active, keep_nulls;
    int col, op;
    value v;
    qv_type vtype;
} scan_bound;
void op_scan_set_bound(op *scan, const scan_bound *b);
/* scan (may be NULL): the scan under child, which then skips row groups
   that cannot hold a row beating the N-th. */
op *op_topn_guard_new(qstate *qs, op *child, int col, op *scan);
void op_sort_set_guard(op *sort, op *guard);
void op_free(op *o);
void op_explain(op *o, qv_str *s, int depth);
/* Window operator: appends one column per call to child's columns. Rows come
   out in input order. topk > 0: every call is row_number() of one spec and
   only rows numbered <= topk are needed (QUALIFY row_number() ... <= k).
   keep (heap, taken over): the input columns read above; the others come out empty. */
op *op_window_new(qstate *qs, op *child, bool *keep, int ncalls, win_call *calls, int64_t topk);

/* Value helpers shared by aggregates and sorting. */
int value_cmp(phys_class pc, const value *a, const value *b);
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed);
/* Unaligned little loads of key bytes (string keys compared or packed a word
   at a time); memcpy compiles to one load. */
static inline uint64_t load_u64(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint32_t load_u32(const char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
/* The 64-bit finalizer every hash of ours ends in (murmur3's fmix64 constants). */
static inline uint64_t hash_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}
/* The hash of row r's non-null value in v: integers mixed, floats by dbl_key_bits,
   strings through hash_bytes; join and ASOF keys hash alike through it. */
uint64_t hash_value_at(const vec *v, int64_t r);

#endif
