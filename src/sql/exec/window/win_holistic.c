/* The holistic aggregates over frames that move (sliding ROWS and RANGE
   frames, running frames): median, quantile_cont, quantile_disc, mode and
   approx_count_distinct, O(n log n) per partition. The values of the
   region the frames cover (the partition, or for short frames a block of
   rows' region, see win_eval_holistic) are rank-compressed once
   (win_ds.c); then the frame slides, rows leaving
   at its start and entering at its end (frames only move forward; a frame
   that moves back is rebuilt), each an O(log d) update of
   - quantiles: a Fenwick tree of counts per rank, the k-th value by descent;
   - mode: counts per rank in a max tree keyed by (count, -first position in
     the frame): the most frequent value, ties to the one whose first row in
     the frame comes first (as the aggregate's "first seen");
   - approx_count_distinct: counts per distinct hash; exact while the frame
     holds at most AGG_HLL_EXACT distinct hashes, else the HyperLogLog
     estimate of the same registers a fresh sketch of the frame would have
     (per register, how many distinct hashes of the frame sit at each level).
   - count/sum/avg(DISTINCT): counts per value; a value enters the
     accumulator of win_agg.c when its count becomes 1 and leaves it at 0 (a
     floating sum is rebuilt from the frame's distinct values after about as
     many removals as the frame has rows, so removals do not accumulate error).
   string_agg stays with a fresh state per frame: its output is O(frame). */
#include "win_ds.h"
#include "window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_distinct(const win_call *c);

bool win_holistic_supports(const win_call *c) {
    agg_id f = c->agg.fn;
    if (is_distinct(c)) return true;
    return f == AG_MEDIAN || f == AG_QUANTILE_CONT || f == AG_QUANTILE_DISC || f == AG_MODE ||
           f == AG_APPROX_COUNT_DISTINCT;
}

static bool is_distinct(const win_call *c) {
    agg_id f = c->agg.fn;
    return c->agg.distinct && (f == AG_COUNT || f == AG_SUM || f == AG_AVG);
}

typedef struct hslide {
    win_pctx *p;
    const win_call *c;
    const vec *x;
    vec *const *in;
    const int32_t *rows; /* the region of the partition ranked: positions base..base+m, here 0..m */
    int32_t m;
    win_ranks rk;
    win_fenwick fw;     /* quantiles */
    win_maxtree mt;     /* mode */
    int32_t *cnt, *first;
    int32_t nonzero;    /* distinct values in the frame */
    win_racc acc;       /* count/sum/avg(DISTINCT): one row per distinct value of the frame */
    int64_t removed;    /* values taken out of acc since it was last rebuilt */
    int32_t *lvl;       /* approx_count_distinct past the exact phase: AGG_HLL_REGS * AGG_HLL_LEVELS counts */
    uint8_t *reg;
    int64_t hist[AGG_HLL_LEVELS];
    uint32_t *ridx;     /* per rank: register and level of its hash */
    uint8_t *rrho;
    int64_t bytes;
} hslide;

static int row_cmp_str(const void *ctx, int32_t a, int32_t b) {
    const hslide *h = ctx;
    value va = {.s = h->x->s[h->rows[a]]}, vb = {.s = h->x->s[h->rows[b]]};
    return value_cmp(PC_S, &va, &vb);
}

static int64_t mode_key(const hslide *h, int32_t r) {
    return h->cnt[r] ? ((int64_t)h->cnt[r] << 32) | (uint32_t)(INT32_MAX - h->first[r]) : 0;
}

static void reg_level_add(hslide *h, int32_t r, int d) {
    uint32_t idx = h->ridx[r];
    uint8_t rho = h->rrho[r], old = h->reg[idx];
    int32_t *lv = h->lvl + (size_t)idx * AGG_HLL_LEVELS;
    lv[rho] += d;
    uint8_t now = old;
    if (d > 0 && rho > old) now = rho;
    if (d < 0 && rho == old && !lv[rho])
        while (now && !lv[now]) now--;
    if (now != old) {
        h->hist[old]--;
        h->hist[now]++;
        h->reg[idx] = now;
    }
}

/* Position j enters (d = 1) or leaves (d = -1, only the frame's first position). */
static void step(hslide *h, int32_t j, int d) {
    int32_t r = h->rk.rank[j];
    if (r < 0) return;
    agg_id f = h->c->agg.fn;
    if (f == AG_MEDIAN || f == AG_QUANTILE_CONT || f == AG_QUANTILE_DISC) {
        win_fenwick_add(&h->fw, r, d);
        return;
    }
    int32_t before = h->cnt[r];
    h->cnt[r] += d;
    if (d > 0 && !before) h->first[r] = j;
    if (d < 0) h->first[r] = h->rk.nxt[j]; /* j was the first of its value in the frame */
    if (f == AG_MODE) {
        win_maxtree_set(&h->mt, r, mode_key(h, r));
        return;
    }
    if (is_distinct(h->c)) {
        if (before && h->cnt[r]) return;
        win_racc_step(h->c, &h->acc, h->in, h->rows[j], d);
        h->removed += d < 0;
        return;
    }
    if (!before || !h->cnt[r]) {
        h->nonzero += d;
        if (h->lvl) reg_level_add(h, r, d);
    }
}

static int32_t kth_row(const hslide *h, int64_t k) { return h->rows[h->rk.rep[win_fenwick_kth(&h->fw, k)]]; }

/* As the aggregate's finalize: the same order statistics and interpolation. */
static void put_quantile(const hslide *h, vec *out, int32_t r) {
    const agg_spec *sp = &h->c->agg;
    const vec *x = h->x;
    int64_t n = h->fw.total;
    if (!n) { out->nulls[r] = 1; return; }
    phys_class pc = type_pc(x->type);
    agg_qpos p = agg_quantile_pos(sp, n);
    int32_t ra = kth_row(h, p.lo), rb = p.hi != p.lo ? kth_row(h, p.hi) : ra;
    if (sp->fn == AG_QUANTILE_DISC || (sp->fn == AG_MEDIAN && pc == PC_S)) {
        win_put(out, r, x, ra);
        return;
    }
    if (sp->type == QV_T_TIMESTAMP) {
        int64_t a = x->i[ra], b = x->i[rb];
        out->i[r] = agg_quantile_lerp_ts(a, b, p.f);
        return;
    }
    double a = pc == PC_F ? x->f[ra] : (double)x->i[ra], b = pc == PC_F ? x->f[rb] : (double)x->i[rb];
    out->f[r] = agg_quantile_lerp(a, b, p.f);
}

/* count/sum/avg(DISTINCT): the first row of each value of frame [cs, ce) again (floating sums
   lose no accuracy to removals; amortized O(1) per row) */
static void rebuild(hslide *h, int32_t cs, int32_t ce) {
    memset(&h->acc, 0, sizeof h->acc);
    h->removed = 0;
    for (int32_t j = cs; j < ce; j++) {
        int32_t r = h->rk.rank[j];
        if (r >= 0 && h->first[r] == j) win_racc_step(h->c, &h->acc, h->in, h->rows[j], 1);
    }
}

static int put(hslide *h, vec *out, int32_t r) {
    agg_id f = h->c->agg.fn;
    if (is_distinct(h->c)) return win_racc_out(h->p, h->c, &h->acc, out, r);
    if (f == AG_MODE) {
        int32_t t = win_maxtree_top(&h->mt);
        if (t < 0 || !h->cnt[t]) out->nulls[r] = 1;
        else win_put(out, r, h->x, h->rows[h->rk.rep[t]]);
    } else if (f == AG_APPROX_COUNT_DISTINCT) {
        out->i[r] = h->nonzero <= AGG_HLL_EXACT || !h->lvl ? h->nonzero : agg_hll_estimate(h->hist);
    } else {
        put_quantile(h, out, r);
    }
    return 0;
}

static int setup(hslide *h, vec *in0) {
    win_pctx *p = h->p;
    int32_t n = h->m;
    const int32_t *rows = h->rows;
    agg_id f = h->c->agg.fn;
    h->bytes = (int64_t)win_ranks_bytes(n) + (int64_t)(n + 1) * 48; /* keys, skips, the tree, counts */
    if (agg_charge(&p->actx, h->bytes)) return -1;
    bool *skip = qv_xmalloc((size_t)n + 1);
    for (int32_t i = 0; i < n; i++) skip[i] = vec_null(in0, rows[i]);
    phys_class pc = type_pc(in0->type);
    if (f != AG_APPROX_COUNT_DISTINCT && pc == PC_S) { /* count(DISTINCT) of strings too */
        win_ranks_build_cmp(&h->rk, n, row_cmp_str, h, skip);
    } else {
        uint64_t *key = qv_xmalloc(sizeof(uint64_t) * ((size_t)n + 1));
        for (int32_t i = 0; i < n; i++) {
            int32_t r = rows[i];
            if (skip[i]) key[i] = 0;
            else if (f == AG_APPROX_COUNT_DISTINCT) key[i] = agg_hll_hash(in0, r);
            else key[i] = pc == PC_F ? win_key_f64(in0->f[r]) : win_key_i64(in0->i[r]);
        }
        win_ranks_build_u64(&h->rk, n, key, skip);
        if (f == AG_APPROX_COUNT_DISTINCT && h->rk.nd > AGG_HLL_EXACT) {
            int64_t more = (int64_t)AGG_HLL_REGS * (AGG_HLL_LEVELS * 4 + 1) + (int64_t)h->rk.nd * 5;
            if (agg_charge(&p->actx, more)) {
                free(key);
                free(skip);
                return -1;
            }
            h->bytes += more;
            h->lvl = qv_xcalloc((size_t)AGG_HLL_REGS * AGG_HLL_LEVELS, sizeof(int32_t));
            h->reg = qv_xcalloc(AGG_HLL_REGS, 1);
            h->hist[0] = AGG_HLL_REGS;
            h->ridx = qv_xmalloc(sizeof(uint32_t) * (size_t)h->rk.nd);
            h->rrho = qv_xmalloc((size_t)h->rk.nd);
            for (int32_t r = 0; r < h->rk.nd; r++) agg_hll_split(key[h->rk.rep[r]], &h->ridx[r], &h->rrho[r]);
        }
        free(key);
    }
    free(skip);
    if (!is_distinct(h->c) && (f == AG_MEDIAN || f == AG_QUANTILE_CONT || f == AG_QUANTILE_DISC)) {
        win_fenwick_init(&h->fw, h->rk.nd);
        return 0;
    }
    h->cnt = qv_xcalloc((size_t)h->rk.nd + 1, sizeof(int32_t));
    h->first = qv_xcalloc((size_t)h->rk.nd + 1, sizeof(int32_t));
    if (f == AG_MODE) win_maxtree_init(&h->mt, h->rk.nd, 0);
    return 0;
}

/* release: give the charged bytes back (after a failed charge they stay with the operator, released when it is freed) */
static void teardown(hslide *h, bool release) {
    win_ranks_free(&h->rk);
    win_fenwick_free(&h->fw);
    win_maxtree_free(&h->mt);
    free(h->cnt);
    free(h->first);
    free(h->lvl);
    free(h->reg);
    free(h->ridx);
    free(h->rrho);
    if (!release) return;
    qstate_release(h->p->actx.qs, h->bytes);
    *h->p->actx.charged -= h->bytes;
}

/* Rows [i0, i1) of the partition with frames inside positions [lo, hi), ranked by themselves. */
static int eval_block(win_pctx *p, const win_call *c, vec *const *in, vec *out, int64_t i0, int64_t i1, int32_t lo,
                      int32_t hi) {
    hslide h = {.p = p, .c = c, .x = in[0], .in = in, .rows = p->rows + lo, .m = hi - lo};
    if (setup(&h, in[0])) {
        teardown(&h, false);
        return -1;
    }
    int rc = 0;
    int32_t cs = 0, ce = 0; /* the frame, in region positions */
    for (int64_t i = i0; i < i1; i++) {
        int32_t r = p->rows[i], s = p->fs[i] - lo, e = p->fe[i] - lo;
        if (i > i0 && p->fs[i] == p->fs[i - 1] && p->fe[i] == p->fe[i - 1]) {
            win_put(out, r, out, p->rows[i - 1]);
            continue;
        }
        if (s < cs || e < ce || s >= ce) { /* moved back, or no overlap: empty the frame */
            while (cs < ce) step(&h, cs++, -1);
            cs = ce = s;
            memset(&h.acc, 0, sizeof h.acc);
            h.removed = 0;
        }
        while (cs < s) step(&h, cs++, -1);
        while (ce < e) step(&h, ce++, 1);
        if (h.removed > 1024 + (ce - cs)) rebuild(&h, cs, ce);
        if ((rc = put(&h, out, r))) break;
    }
    teardown(&h, true);
    return rc ? -1 : 0;
}

/* Short frames (most ROWS frames) are evaluated in blocks of rows whose
   frames stay within a region a few times the block's size, so the ranks,
   the tree and the counts are per region and stay in cache; wide frames
   (running, long RANGE) rank the rest of the partition at once. */
#define HOL_BLOCK 32768
int win_eval_holistic(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    for (int64_t i0 = 0; i0 < p->n;) {
        int64_t i1 = i0 + HOL_BLOCK < p->n ? i0 + HOL_BLOCK : p->n;
        int32_t lo = INT32_MAX, hi = 0;
        for (int64_t i = i0; i < i1; i++) {
            if (p->fs[i] < lo) lo = p->fs[i];
            if (p->fe[i] > hi) hi = p->fe[i];
        }
        if (hi - lo > 4 * HOL_BLOCK) { /* wide frames: the rest in one region */
            i1 = p->n;
            for (int64_t i = i0; i < i1; i++) {
                if (p->fs[i] < lo) lo = p->fs[i];
                if (p->fe[i] > hi) hi = p->fe[i];
            }
        }
        if (hi < lo) hi = lo;
        if (eval_block(p, c, in, out, i0, i1, lo, hi)) return -1;
        i0 = i1;
    }
    return 0;
}
