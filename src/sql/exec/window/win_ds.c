/* Rank compression (an LSD radix sort of 64-bit keys, or a stable merge
   sort by a comparison), a Fenwick tree of counts and a max tree: the parts
   of the sliding-frame holistic aggregates (win_holistic.c), O(log n) per
   update and query. Stateless but for the caller-owned structures. */
#include "win_ds.h"
#include "sql_base.h"

#include "base/base.h"

#include <stdlib.h>
#include <string.h>

size_t win_ranks_bytes(int32_t n) { return (size_t)(n + 1) * (3 * sizeof(int32_t) + 32); }

uint64_t win_key_i64(int64_t x) { return (uint64_t)x ^ (1ULL << 63); }

uint64_t win_key_f64(double x) {
    uint64_t u = dbl_key_bits(x);
    return (u >> 63) ? ~u : u | (1ULL << 63);
}

/* ranks from positions sorted by value (equal values in position order) */
static void ranks_from_order(win_ranks *rk, const int32_t *ord, int32_t m, bool (*same)(const void *, int32_t, int32_t),
                             const void *ctx) {
    int32_t n = rk->n, nd = 0;
    for (int32_t i = 0; i < n; i++) {
        rk->rank[i] = -1;
        rk->nxt[i] = n;
    }
    for (int32_t j = 0; j < m; j++) {
        int32_t p = ord[j];
        if (j && same(ctx, ord[j - 1], p)) rk->nxt[ord[j - 1]] = p;
        else rk->rep[nd++] = p;
        rk->rank[p] = nd - 1;
    }
    rk->nd = nd;
}

static void ranks_alloc(win_ranks *rk, int32_t n) {
    rk->n = n;
    rk->nd = 0;
    rk->rank = qv_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    rk->rep = qv_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    rk->nxt = qv_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
}

typedef struct kp {
    uint64_t k;
    int32_t p;
} kp;

static bool same_u64(const void *ctx, int32_t a, int32_t b) {
    const uint64_t *key = ctx;
    return key[a] == key[b];
}

void win_ranks_build_u64(win_ranks *rk, int32_t n, const uint64_t *key, const bool *skip) {
    ranks_alloc(rk, n);
    kp *a = qv_xmalloc(sizeof(kp) * (size_t)(n + 1)), *b = qv_xmalloc(sizeof(kp) * (size_t)(n + 1));
    int32_t m = 0;
    uint64_t or_ = 0, and_ = ~0ULL;
    for (int32_t i = 0; i < n; i++) {
        if (skip && skip[i]) continue;
        a[m++] = (kp){key[i], i};
        or_ |= key[i];
        and_ &= key[i];
    }
    for (int sh = 0; sh < 64; sh += 8) { /* stable: equal keys keep position order */
        if (!(((or_ ^ and_) >> sh) & 0xff)) continue; /* this byte is the same everywhere */
        int32_t cnt[257] = {0};
        for (int32_t i = 0; i < m; i++) cnt[((a[i].k >> sh) & 0xff) + 1]++;
        for (int d = 0; d < 256; d++) cnt[d + 1] += cnt[d];
        for (int32_t i = 0; i < m; i++) b[cnt[(a[i].k >> sh) & 0xff]++] = a[i];
        kp *t = a;
        a = b;
        b = t;
    }
    int32_t *ord = (int32_t *)b; /* b is free now */
    for (int32_t i = 0; i < m; i++) ord[i] = a[i].p;
    ranks_from_order(rk, ord, m, same_u64, key);
    free(a);
    free(b);
}

typedef struct cmpctx {
    win_pos_cmp cmp;
    const void *ctx;
} cmpctx;

static bool same_cmp(const void *c, int32_t a, int32_t b) {
    const cmpctx *x = c;
    return x->cmp(x->ctx, a, b) == 0;
}

static void msort(int32_t *v, int32_t *tmp, int32_t n, win_pos_cmp cmp, const void *ctx) {
    if (n < 2) return;
    int32_t h = n / 2;
    msort(v, tmp, h, cmp, ctx);
    msort(v + h, tmp, n - h, cmp, ctx);
    if (cmp(ctx, v[h - 1], v[h]) <= 0) return;
    memcpy(tmp, v, sizeof(int32_t) * (size_t)h);
    int32_t i = 0, j = h, k = 0;
    while (i < h && j < n) v[k++] = cmp(ctx, v[j], tmp[i]) < 0 ? v[j++] : tmp[i++];
    while (i < h) v[k++] = tmp[i++];
}

void win_ranks_build_cmp(win_ranks *rk, int32_t n, win_pos_cmp cmp, const void *ctx, const bool *skip) {
    ranks_alloc(rk, n);
    int32_t *ord = qv_xmalloc(sizeof(int32_t) * (size_t)(n + 1)), *tmp = qv_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (!skip || !skip[i]) ord[m++] = i;
    msort(ord, tmp, m, cmp, ctx);
    cmpctx c = {cmp, ctx};
    ranks_from_order(rk, ord, m, same_cmp, &c);
    free(ord);
    free(tmp);
}

void win_ranks_free(win_ranks *rk) {
    free(rk->rank);
    free(rk->rep);
    free(rk->nxt);
    memset(rk, 0, sizeof *rk);
}

/* ---- Fenwick tree ---- */
/* t has 2 * top entries; those past n hold INT32_MAX so the descent never
   steps there and needs no bounds test (a branch-free loop) */
void win_fenwick_init(win_fenwick *f, int32_t n) {
    f->n = n;
    f->top = 1;
    while (f->top * 2 <= n) f->top *= 2;
    f->t = qv_xcalloc(2 * (size_t)f->top + 1, sizeof(int32_t));
    for (int32_t i = n + 1; i <= 2 * f->top; i++) f->t[i] = INT32_MAX;
    f->total = 0;
}

void win_fenwick_free(win_fenwick *f) {
    free(f->t);
    f->t = NULL;
}

void win_fenwick_add(win_fenwick *f, int32_t r, int32_t d) {
    f->total += d;
    for (int32_t i = r + 1; i <= f->n; i += i & -i) f->t[i] += d;
}

int32_t win_fenwick_kth(const win_fenwick *f, int64_t k) {
    int32_t pos = 0;
    for (int32_t step = f->top; step; step >>= 1) {
        int32_t v = f->t[pos + step];
        bool go = v <= k;
        pos += go ? step : 0;
        k -= go ? v : 0;
    }
    return pos; /* ranks 0..pos) hold at most k elements: rank pos holds the k-th */
}

/* ---- max tree ---- */
static int32_t better(const win_maxtree *m, int32_t a, int32_t b) {
    if (a < 0) return b;
    if (b < 0) return a;
    return m->key[b] > m->key[a] ? b : a; /* a has the lower index */
}

void win_maxtree_init(win_maxtree *m, int32_t n, int64_t key0) {
    m->n = n;
    m->size = 1;
    while (m->size < n) m->size *= 2;
    m->key = qv_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
    m->win = qv_xmalloc(sizeof(int32_t) * 2 * (size_t)m->size);
    for (int32_t i = 0; i < n; i++) m->key[i] = key0;
    for (int32_t i = 0; i < m->size; i++) m->win[m->size + i] = i < n ? i : -1;
    for (int32_t j = m->size - 1; j >= 1; j--) m->win[j] = better(m, m->win[2 * j], m->win[2 * j + 1]);
}

void win_maxtree_free(win_maxtree *m) {
    free(m->key);
    free(m->win);
    m->key = NULL;
    m->win = NULL;
}

void win_maxtree_set(win_maxtree *m, int32_t i, int64_t key) {
    m->key[i] = key;
    for (int32_t j = (m->size + i) / 2; j >= 1; j /= 2) {
        int32_t w = better(m, m->win[2 * j], m->win[2 * j + 1]);
        if (w == m->win[j] && w != i) break; /* nothing above changes */
        m->win[j] = w;
    }
}

int32_t win_maxtree_top(const win_maxtree *m) { return m->n ? m->win[1] : -1; }
