/* Internals of the window operator (exec/window/): the partitioner, the
   per-partition evaluation context and the table of window functions.
   window.c owns the operator: it materializes the input (the kept columns,
   every call's arguments, each window's ORDER BY keys and partition ids),
   then per window (calls sharing PARTITION BY and ORDER BY) sorts each
   partition and evaluates its calls on the pool, partitions in parallel. */
#ifndef QUIVER_SQL_WINDOW_H
#define QUIVER_SQL_WINDOW_H

#include "functions.h"
#include "win_ds.h"

/* Partition ids for the rows of chunks, in order of first appearance
   (win_part.c). Keys are kept as values (strings copied into blocks). */
typedef struct win_parter {
    int nkeys;
    qv_type *types;
    int nparts, cap;
    value *keys;       /* nparts * nkeys */
    uint8_t *knull;
    uint64_t *khash;
    int32_t *ht;       /* open addressing: pid or -1 */
    int htcap;
    char **blocks;     /* copied key strings */
    int nblocks;
    const void *code_dict; /* SYMBOL fast path: code -> pid of one dictionary */
    int32_t *code_pid;
    int64_t ncode;
    int32_t null_pid;  /* pid of a NULL key on the fast path, -1 until seen */
    vec *tmp;          /* nkeys evaluation vectors */
#define WIN_SCACHE 64
    int32_t scache[WIN_SCACHE]; /* one string key: pid by a hash of its first 8 bytes, or -1 */
} win_parter;
void win_parter_init(win_parter *pt, int nkeys, bexpr **keys);
void win_parter_free(win_parter *pt);
/* pid[k] for each active row k of c. */
int win_parter_assign(win_parter *pt, bexpr **keys, const chunk *c, int32_t *pid, qv_err *err);

/* Compare rows a and b (materialized indices) by n order keys. */
int win_rows_cmp(const vec *keys, int n, const bool *desc, const bool *nulls_first, int32_t a, int32_t b);
/* Sort rows[0..n) by the keys (stable), skipping the work when they are in order already. */
void win_rows_sort(int32_t *rows, int64_t n, int32_t *tmp, const vec *keys, int nk, const bool *desc,
                   const bool *nulls_first);

/* One partition being evaluated by one worker. */
typedef struct win_pctx {
    const int32_t *rows; /* the partition's rows in window order */
    int64_t n;
    const vec *okeys;    /* the window's ORDER BY keys (materialized, indexed by row) */
    int norder;
    const bool *desc, *nulls_first;
    int32_t *peer_lo, *peer_hi; /* per position: its peer group [lo, hi), when has_peers */
    bool has_peers;
    int32_t *fs, *fe;    /* per position: the frame [fs, fe) of the call being evaluated */
    int32_t *scratch;    /* n + 1 entries */
    agg_ctx actx;
    qv_err *err;
} win_pctx;

/* The inputs of one call (materialized, indexed by row): in[0] the value
   argument (or an aggregate's first input), in[1] lag/lead's default or the
   aggregate's second input. Results go to out[rows[pos]]. */
typedef int (*win_eval_fn)(win_pctx *p, const win_call *c, vec *const *in, vec *out);
typedef struct win_fn_def {
    const char *name;
    win_eval_fn eval;
    bool frame;      /* reads the frame (fs, fe) */
    bool peers;      /* reads peer groups */
    const char *desc;
} win_fn_def;
extern const win_fn_def win_fn_defs[WFN__COUNT];

/* Frame bounds of every position for c (win_funcs.c). */
void win_frame_bounds(win_pctx *p, const win_call *c);
/* Aggregates over frames (win_agg.c). */
int win_eval_agg(win_pctx *p, const win_call *c, vec *const *in, vec *out);
/* The accumulator of count / count(*) / sum / avg (win_agg.c): a row of in
   enters (sign 1) or leaves (-1); the result for row r of out. */
/* Rows enter and leave, so a double sum is exact (xs: the finite values) and
   keeps the non-finite values apart: inf - inf on removal would turn every
   later frame NaN. */
typedef struct win_racc {
    int64_t cnt;
    __int128 isum;
    win_xsum xs;
    int64_t npinf, nninf, nnan;
} win_racc;
void win_racc_step(const win_call *c, win_racc *a, vec *const *in, int32_t r, int sign);
int win_racc_out(win_pctx *p, const win_call *c, win_racc *a, vec *out, int32_t r);
/* Holistic aggregates and count/sum/avg(DISTINCT) over moving frames (win_holistic.c). */
bool win_holistic_supports(const win_call *c);
int win_eval_holistic(win_pctx *p, const win_call *c, vec *const *in, vec *out);
/* Write value of row src of v to row dst of out (same class; strings are views). */
void win_put(vec *out, int32_t dst, const vec *v, int32_t src);

/* The top-k form of the operator (win_topk.c). */
op *win_topk_new(qstate *qs, op *child, bool *keep, win_call *call, int ncalls, int64_t k);

#endif
