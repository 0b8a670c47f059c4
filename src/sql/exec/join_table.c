/* The hash join's table (hashjoin.h): build rows sorted by bucket into one
   key array, with a directory of bucket offsets (a quarter as many buckets
   as rows, so the directory stays in cache and a run is a cache line or
   two), so a probe reads the directory and then a run of contiguous keys.
   The store is then permuted into the same order (row[]), so entry i is
   build row i and a probe's payload reads are as local as its keys. Built in three passes
   that split across the pool without locks: (1) each task hashes its range
   of build rows and counts them per radix partition (the top bits of the
   bucket); (2) each task scatters its rows into the partitions at offsets
   the counts fix; (3) each partition is counting-sorted by bucket by one
   task. Rows keep their build order inside a bucket, so the layout is the
   same for any number of tasks. The table owns its arrays. */
#include "hashjoin.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PART_BITS 8
#define MAX_TASKS 64

void *jtab_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
#ifdef MADV_HUGEPAGE
    if (bytes >= 2 * huge) {
        size_t sz = (bytes + huge - 1) & ~(huge - 1);
        void *p = aligned_alloc(huge, sz);
        if (p) {
            madvise(p, sz, MADV_HUGEPAGE); /* advice only: a refusal changes nothing */
            return p;
        }
    }
#endif
    return qv_xmalloc(bytes ? bytes : 1);
}

void jtab_hash(const vec *kv, int nk, int64_t from, int64_t to, uint64_t *h, uint8_t *isnull) {
    for (int64_t r = from; r < to; r++) {
        h[r - from] = 0x9e3779b97f4a7c15ULL;
        isnull[r - from] = 0;
    }
    for (int k = 0; k < nk; k++) {
        const vec *v = &kv[k];
        bool tnull = v->type == T_NULL;
        for (int64_t r = from; r < to; r++) {
            uint64_t x;
            if (tnull || vec_null(v, (int)r)) {
                isnull[r - from] = 1;
                x = 0x5bd1e995ULL;
            } else {
                x = hash_value_at(v, r);
            }
            h[r - from] = hash_mix64(h[r - from] ^ (x + (uint64_t)k));
        }
    }
}

static int64_t buckets_for(int64_t n, int *bits) {
    int64_t size = 16;
    *bits = 4;
    while (size < n) size *= 2, (*bits)++;
    return size;
}

int64_t jtab_bytes(int64_t n) {
    int bits;
    int64_t size = buckets_for(n, &bits);
    /* directory, keys (or string slots), order, and while building: hashes,
       null flags, scattered rows and their hashes or string slots */
    return (size + 1) * 4 + n * (4 + (int64_t)sizeof(jskey)) + n * (8 + 1 + 12 + (int64_t)sizeof(jskey));
}

typedef struct bctx {
    jtab *t;
    const vec *keys;
    int nk, T, P, shift;
    int64_t n;
    bool keep_null;
    uint64_t *bh, *th;  /* per build row; per scattered row (not str1) */
    jskey *ts;          /* str1: per scattered row, its table slot (read in build order, not at random) */
    uint8_t *bnull;
    uint32_t *tr;       /* scattered rows, grouped by partition */
    uint32_t *cur;      /* T x P: counts, then each task's write cursors */
    uint32_t *pstart;   /* P + 1: where each partition begins in tr */
} bctx;

typedef struct btask {
    bctx *c;
    int t;
} btask;

static void task_range(const bctx *c, int t, int64_t *lo, int64_t *hi) {
    *lo = c->n * t / c->T;
    *hi = c->n * (t + 1) / c->T;
}

static void pass_count(void *arg) {
    btask *b = arg;
    bctx *c = b->c;
    int64_t lo, hi;
    task_range(c, b->t, &lo, &hi);
    if (c->t->direct) { /* the bucket is the key's offset from the smallest key: no hashing */
        const vec *k = &c->keys[0];
        for (int64_t r = lo; r < hi; r++) {
            c->bh[r] = (uint64_t)k->i[r] - (uint64_t)c->t->kmin;
            c->bnull[r] = vec_null(k, (int)r);
        }
    } else {
        jtab_hash(c->keys, c->nk, lo, hi, c->bh + lo, c->bnull + lo);
    }
    uint32_t *cnt = c->cur + (size_t)b->t * (size_t)c->P;
    for (int64_t r = lo; r < hi; r++)
        if (!c->bnull[r] || c->keep_null) cnt[(c->bh[r] & c->t->mask) >> c->shift]++;
}

static void pass_scatter(void *arg) {
    btask *b = arg;
    bctx *c = b->c;
    int64_t lo, hi;
    task_range(c, b->t, &lo, &hi);
    uint32_t *cur = c->cur + (size_t)b->t * (size_t)c->P;
    for (int64_t r = lo; r < hi; r++) {
        if (c->bnull[r] && !c->keep_null) continue;
        uint32_t at = cur[(c->bh[r] & c->t->mask) >> c->shift]++;
        c->tr[at] = (uint32_t)r;
        if (!c->ts) {
            c->th[at] = c->bh[r];
            continue;
        }
        sv x = vec_str_at(&c->keys[0], r);
        jskey *e = &c->ts[at];
        memset(e, 0, sizeof *e);
        e->h = c->bh[r];
        e->len = x.n;
        memcpy(e->b, x.p, (size_t)(x.n < JSK_PREFIX ? x.n : JSK_PREFIX));
    }
}

/* Partitions t, t+T, ...: counting sort of each one's rows by bucket. */
static void pass_sort(void *arg) {
    btask *b = arg;
    bctx *c = b->c;
    jtab *t = c->t;
    uint64_t nb = (uint64_t)1 << c->shift;
    for (int p = b->t; p < c->P; p += c->T) {
        uint32_t *d = t->dir + 1 + (uint64_t)p * nb; /* d[i]: bucket i's cursor, then its end */
        memset(d, 0, sizeof(uint32_t) * nb);
        uint32_t lo = c->pstart[p], hi = c->pstart[p + 1];
        for (uint32_t i = lo; i < hi; i++) d[((c->ts ? c->ts[i].h : c->th[i]) & t->mask) - (uint64_t)p * nb]++;
        uint32_t s = lo;
        for (uint64_t i = 0; i < nb; i++) {
            uint32_t k = d[i];
            d[i] = s;
            s += k;
        }
        for (uint32_t i = lo; i < hi; i++) {
            uint32_t at = d[((c->ts ? c->ts[i].h : c->th[i]) & t->mask) - (uint64_t)p * nb]++;
            uint32_t r = c->tr[i];
            t->row[at] = r;
            if (c->ts) t->sk[at] = c->ts[i];
            else t->key[at] = t->int1 ? (uint64_t)c->keys[0].i[r] : c->th[i];
        }
    }
}

static void run_pass(bctx *c, sql_pool *pool, void (*fn)(void *)) {
    btask tasks[MAX_TASKS];
    void *args[MAX_TASKS];
    for (int t = 0; t < c->T; t++) {
        tasks[t] = (btask){c, t};
        args[t] = &tasks[t];
    }
    if (pool && c->T > 1) sql_pool_run(pool, c->T, fn, args, 0);
    else
        for (int t = 0; t < c->T; t++) fn(args[t]);
}

/* One integer key whose values span no more than the buckets: bucket = key - min. */
static void direct_check(jtab *t, const vec *k, int64_t n, uint64_t size) {
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int64_t r = 0; r < n; r++) {
        if (vec_null(k, (int)r)) continue;
        int64_t v = k->i[r];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (lo > hi || (uint64_t)hi - (uint64_t)lo >= size) return;
    t->direct = true;
    t->kmin = lo;
    t->range = (uint64_t)hi - (uint64_t)lo + 1;
}

/* Direct with every key at most once: unique; and every key of the range
   exactly once: identity, entry i is key kmin + i. */
static void identity_check(jtab *t) {
    if (!t->direct) return;
    uint32_t dup = 0;
    for (uint64_t b = 0; b < t->range; b++) dup |= t->dir[b + 1] - t->dir[b] > 1;
    t->unique = !dup;
    if (!t->unique || (uint64_t)t->nent != t->range) return;
    t->identity = true;
}

/* One integer key, no NULLs, that is kmin + r in build row r (a dense
   surrogate key stored in order): the table is the store itself, nothing
   to sort or permute. */
static bool inorder_build(jtab *t, const vec *k, int64_t n) {
    if (!t->direct || k->has_nulls || t->range != (uint64_t)n) return false;
    const int64_t *v = k->i;
    uint64_t bad = 0, base = (uint64_t)t->kmin;
    for (int64_t r = 0; r < n; r++) bad |= (uint64_t)v[r] ^ (base + (uint64_t)r);
    if (bad) return false;
    for (int64_t r = 0; r < n; r++) t->row[r] = (uint32_t)r;
    t->nent = n;
    t->unique = t->identity = t->inorder = true;
    return true;
}

void jtab_build(jtab *t, const vec *keys, int nk, int64_t n, bool int1, bool null_eq, sql_pool *pool, int ntasks) {
    memset(t, 0, sizeof *t);
    int bits;
    int64_t size = buckets_for(n, &bits);
    t->mask = (uint64_t)size - 1;
    t->int1 = int1;
    t->n = n;
    t->row = jtab_alloc(sizeof(uint32_t) * (size_t)(n + 1));
    if (int1 && keys[0].type != T_NULL) direct_check(t, &keys[0], n, (uint64_t)size);
    if (int1 && keys[0].type != T_NULL && inorder_build(t, &keys[0], n)) return;
    t->dir = jtab_alloc(sizeof(uint32_t) * (size_t)(size + 1));
    t->dir[0] = 0;
    t->str1 = !int1 && !null_eq && nk == 1 && keys[0].type != T_NULL && type_pc(keys[0].type) == PC_S;
    if (t->str1) t->sk = jtab_alloc(sizeof(jskey) * (size_t)(n + 1));
    else t->key = jtab_alloc(sizeof(uint64_t) * (size_t)(n + 1));
    bctx c = {.t = t, .keys = keys, .nk = nk, .n = n, .keep_null = null_eq};
    c.T = ntasks < 1 ? 1 : ntasks > MAX_TASKS ? MAX_TASKS : ntasks;
    if (n < 65536) c.T = 1; /* not worth the hand-offs */
    int pbits = bits < PART_BITS ? bits : PART_BITS;
    c.P = 1 << pbits;
    c.shift = bits - pbits;
    c.bh = qv_xmalloc(sizeof(uint64_t) * (size_t)(n + 1));
    if (t->str1) c.ts = jtab_alloc(sizeof(jskey) * (size_t)(n + 1));
    else c.th = qv_xmalloc(sizeof(uint64_t) * (size_t)(n + 1));
    c.tr = qv_xmalloc(sizeof(uint32_t) * (size_t)(n + 1));
    c.bnull = qv_xmalloc((size_t)(n + 1));
    c.cur = qv_xcalloc((size_t)c.T * (size_t)c.P, sizeof(uint32_t));
    c.pstart = qv_xcalloc((size_t)c.P + 1, sizeof(uint32_t));
    run_pass(&c, pool, pass_count);
    uint32_t s = 0;
    for (int p = 0; p < c.P; p++) {
        c.pstart[p] = s;
        for (int k = 0; k < c.T; k++) {
            uint32_t *x = &c.cur[(size_t)k * (size_t)c.P + (size_t)p];
            uint32_t cnt = *x;
            *x = s;
            s += cnt;
        }
    }
    c.pstart[c.P] = s;
    t->nent = s;
    run_pass(&c, pool, pass_scatter);
    run_pass(&c, pool, pass_sort);
    uint32_t at = s; /* rows left out (NULL keys) after the entries */
    for (int64_t r = 0; r < n && at < n; r++)
        if (c.bnull[r] && !c.keep_null) t->row[at++] = (uint32_t)r;
    identity_check(t);
    free(c.bh);
    free(c.th);
    free(c.ts);
    free(c.tr);
    free(c.bnull);
    free(c.cur);
    free(c.pstart);
}

void jtab_free(jtab *t) {
    free(t->dir);
    free(t->key);
    free(t->row);
    free(t->sk);
    memset(t, 0, sizeof *t);
}
