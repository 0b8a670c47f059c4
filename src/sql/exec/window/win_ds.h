/* Data structures of the sliding-frame holistic aggregates (win_ds.c):
   rank compression of a partition's values, a Fenwick tree of counts per
   rank (k-th smallest by descent) and a max tree over ranks (the mode).
   Each is caller-owned (_init/_free); memory is charged by the caller
   (win_*_bytes says how much). Positions are those of the partition in
   window order, 0..n). */
#ifndef QUIVER_SQL_WIN_DS_H
#define QUIVER_SQL_WIN_DS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* rank[i]: the dense rank of position i's value among the partition's
   values (-1 when skipped: NULL); rep[r]: the first position of rank r;
   nxt[i]: the next position with the same rank as i, or n. */
typedef struct win_ranks {
    int32_t n, nd;
    int32_t *rank, *rep, *nxt;
} win_ranks;
size_t win_ranks_bytes(int32_t n);
/* By 64-bit keys whose unsigned order is the value order. */
void win_ranks_build_u64(win_ranks *rk, int32_t n, const uint64_t *key, const bool *skip);
/* By a comparison of two positions (<0, 0, >0). */
typedef int (*win_pos_cmp)(const void *ctx, int32_t a, int32_t b);
void win_ranks_build_cmp(win_ranks *rk, int32_t n, win_pos_cmp cmp, const void *ctx, const bool *skip);
void win_ranks_free(win_ranks *rk);
/* Order-preserving keys of numbers (-0.0 as 0.0, every NaN one value above +inf). */
uint64_t win_key_i64(int64_t x);
uint64_t win_key_f64(double x);

/* Counts per rank 0..n); total is the sum. */
typedef struct win_fenwick {
    int32_t *t; /* 1-based */
    int32_t n, top;
    int64_t total;
} win_fenwick;
void win_fenwick_init(win_fenwick *f, int32_t n);
void win_fenwick_free(win_fenwick *f);
void win_fenwick_add(win_fenwick *f, int32_t r, int32_t d);
/* The rank of the k-th smallest counted element, 0 <= k < total. */
int32_t win_fenwick_kth(const win_fenwick *f, int64_t k);

/* The index of the largest key among 0..n) (ties: the lowest index). */
typedef struct win_maxtree {
    int64_t *key;
    int32_t *win; /* nodes 1..2*size: the winning index, -1 for none */
    int32_t n, size;
} win_maxtree;
void win_maxtree_init(win_maxtree *m, int32_t n, int64_t key0);
void win_maxtree_free(win_maxtree *m);
void win_maxtree_set(win_maxtree *m, int32_t i, int64_t key);
int32_t win_maxtree_top(const win_maxtree *m); /* -1 when n == 0 */

/* An exact sum of finite doubles that values enter and leave (win_xsum.c):
   32-bit digits of the binary fixed-point number from 2^-1074 up, each in an
   int64 with room for 2^30 terms before carries are propagated. Sliding sums
   need it: a compensated float sum loses the small values once huge ones
   (1e300) have passed through and left. Zeroed: the sum 0. */
#define WIN_XSUM_DIGITS 68 /* 2098 bits of doubles, and headroom for 2^31 terms */
typedef struct win_xsum {
    int64_t d[WIN_XSUM_DIGITS];
    int32_t lo, hi; /* digits that may be nonzero, when used */
    int32_t terms;  /* added since carries were last propagated */
    bool used;
} win_xsum;
void win_xsum_add(win_xsum *x, double v, int sign); /* v finite; sign -1 takes it out */
double win_xsum_value(win_xsum *x); /* rounded to nearest; inf past DBL_MAX */

#endif
