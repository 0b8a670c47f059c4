/* Aggregates as window functions, by frame shape: the whole partition (one
   state), frames from the partition start (one growing state, finalized per
   row), sliding frames of count/sum/avg (an accumulator rows enter and
   leave, O(1) per row; double sums exact, win_xsum), sliding min/max (a monotonic deque,
   O(1) amortized), other aggregates without heap state over sliding frames
   (a segment tree of states, O(log n) per row), the holistic ones (median,
   quantiles, mode, approx_count_distinct) over running and sliding frames
   (win_holistic.c, O(log n) per row), and string_agg over them (a fresh
   state per distinct frame, O(frame) per row: so is its output). Frames are the [fs, fe) of win_frame_bounds. */
#include "window.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool skip_row(const win_call *c, vec *const *in, int32_t r) {
    const agg_spec *sp = &c->agg;
    if (agg_defs[sp->fn]->nulls != AGN_SKIP) return false;
    for (int j = 0; j < sp->nin - sp->norder; j++)
        if (vec_null(in[j], r)) return true;
    return false;
}

typedef struct gstate {
    void *st;
    size_t size;
} gstate;

static void gs_reset(gstate *g, const agg_def *d) {
    if (d->destroy) d->destroy(g->st);
    memset(g->st, 0, g->size);
}

static int gs_add(win_pctx *p, const win_call *c, gstate *g, vec *const *in, int32_t r) {
    if (skip_row(c, in, r)) return 0;
    return agg_defs[c->agg.fn]->update(&p->actx, &c->agg, g->st, (const vec *const *)in, r);
}

/* Finalize into row r of out. out is shared by the workers evaluating other
   partitions, so a finalizer that allocates in out's string heap (string_agg)
   goes through a per-call scratch vector, and its string is kept in this
   task's block list (p->actx.strings, handed to the operator after the run). */
static int win_finalize(win_pctx *p, const win_call *c, const agg_def *d, void *st, vec *out, int32_t r, vec *tmp) {
    if (!tmp) return d->finalize(&p->actx, &c->agg, st, out, r);
    vec_reset(tmp, out->type, 1);
    int rc = d->finalize(&p->actx, &c->agg, st, tmp, 0);
    if (rc) return rc;
    if (vec_null(tmp, 0)) fn_set_null(out, r);
    else out->s[r] = (sv){tmp->s[0].n ? agg_keep_str(&p->actx, tmp->s[0]) : "", tmp->s[0].n};
    return 0;
}

/* Whole partition, running from the start, or a fresh state per frame. */
static int agg_generic(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    const agg_def *d = agg_defs[c->agg.fn];
    gstate g = {qv_xcalloc(1, d->state_size), d->state_size};
    vec scratch = {0}, *tmp = c->agg.fn == AG_STRING_AGG ? &scratch : NULL;
    int rc = 0;
    int64_t n = p->n, ce = 0, ps = -1, pe = -1;
    /* holistic states (heap: median, mode, ...) are finalized once per state, never grown after */
    bool whole = c->start == WB_UNB_PREC && c->end == WB_UNB_FOLL, running = c->start == WB_UNB_PREC && !d->destroy;
    for (int64_t i = 0; i < n && !rc; i++) {
        int32_t r = p->rows[i], s = p->fs[i], e = p->fe[i];
        if (i && s == ps && e == pe) { /* the same frame as the row before */
            win_put(out, r, out, p->rows[i - 1]);
            continue;
        }
        if (whole && i) {
            win_put(out, r, out, p->rows[0]);
            continue;
        }
        if (!running || e < ce) {
            gs_reset(&g, d);
            ce = s;
        }
        while (ce < e && !rc) rc = gs_add(p, c, &g, in, p->rows[ce++]);
        if (!rc) rc = win_finalize(p, c, d, g.st, out, r, tmp);
        ps = s;
        pe = e;
    }
    if (d->destroy) d->destroy(g.st);
    free(g.st);
    if (tmp) vec_free(tmp);
    return rc ? -1 : 0;
}

/* count / count(*) / sum / avg over moving frames. */
typedef win_racc racc;

static void racc_fadd(racc *a, double x, int sign) {
    if (isnan(x)) a->nnan += sign;
    else if (isinf(x) && x > 0) a->npinf += sign;
    else if (isinf(x)) a->nninf += sign;
    else win_xsum_add(&a->xs, x, sign);
}

void win_racc_step(const win_call *c, racc *a, vec *const *in, int32_t r, int sign) {
    if (c->agg.fn == AG_COUNT_STAR) { a->cnt += sign; return; }
    if (vec_null(in[0], r)) return;
    a->cnt += sign;
    if (c->agg.fn == AG_COUNT) return;
    if (agg_sum_exact(&c->agg)) a->isum += sign * (__int128)in[0]->i[r];
    else racc_fadd(a, in[0]->f[r], sign);
}

/* NaN with a NaN or both infinities, else the infinity, else the exact sum
   of the finite values rounded once (inf when that is past DBL_MAX). */
static double racc_fsum(racc *a) {
    if (a->nnan || (a->npinf && a->nninf)) return NAN;
    if (a->npinf) return INFINITY;
    if (a->nninf) return -INFINITY;
    return win_xsum_value(&a->xs);
}

int win_racc_out(win_pctx *p, const win_call *c, racc *a, vec *out, int32_t r) {
    agg_id f = c->agg.fn;
    if (f == AG_COUNT_STAR || f == AG_COUNT) {
        out->i[r] = a->cnt;
    } else if (!a->cnt) {
        out->nulls[r] = 1;
    } else if (f == AG_AVG) {
        if (c->agg.type == T_INTERVAL || c->agg.type == QV_T_TIME) out->i[r] = agg_avg_interval(a->isum, a->cnt);
        else out->f[r] = agg_sum_exact(&c->agg) ? agg_avg_of(&c->agg, a->isum, a->cnt) : racc_fsum(a) / (double)a->cnt;
    } else if (agg_sum_exact(&c->agg)) {
        return agg_sum_result(&c->agg, a->isum, &out->i[r], p->err);
    } else {
        out->f[r] = racc_fsum(a);
    }
    return 0;
}

static int agg_removable(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    racc a = {0};
    int64_t cs = 0, ce = 0, removed = 0;
    for (int64_t i = 0; i < p->n; i++) {
        int32_t s = p->fs[i], e = p->fe[i];
        if (s < cs || e < ce || s >= ce || removed > 1024 + (e - s)) { /* start afresh */
            memset(&a, 0, sizeof a);
            cs = ce = s;
            removed = 0;
        }
        while (ce < e) win_racc_step(c, &a, in, p->rows[ce++], 1);
        while (cs < s) {
            win_racc_step(c, &a, in, p->rows[cs++], -1);
            removed++;
        }
        if (win_racc_out(p, c, &a, out, p->rows[i])) return -1;
    }
    return 0;
}

/* min / max over moving frames: positions whose values are monotonic. */
static int agg_minmax(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    const vec *x = in[0];
    int32_t *dq = p->scratch;
    int64_t head = 0, tail = 0, ce = 0, ls = 0;
    bool mn = c->agg.fn == AG_MIN;
    phys_class pc = type_pc(x->type);
    for (int64_t i = 0; i < p->n; i++) {
        int32_t s = p->fs[i], e = p->fe[i];
        if (e < ce || s < ls) { head = tail = 0; ce = s; }
        if (ce < s) ce = s;
        ls = s;
        for (; ce < e; ce++) {
            int32_t r = p->rows[ce];
            if (vec_null(x, r)) continue;
            while (tail > head) {
                int32_t b = p->rows[dq[tail - 1]];
                int cmp;
                if (pc == PC_I) cmp = x->i[b] < x->i[r] ? -1 : x->i[b] > x->i[r];
                else if (pc == PC_F) cmp = dbl_cmp(x->f[b], x->f[r]);
                else {
                    value vb = {.s = x->s[b]}, vr = {.s = x->s[r]};
                    cmp = value_cmp(PC_S, &vb, &vr);
                }
                if (mn ? cmp < 0 : cmp > 0) break;
                tail--;
            }
            dq[tail++] = (int32_t)ce;
        }
        while (head < tail && dq[head] < s) head++;
        if (head < tail) win_put(out, p->rows[i], x, p->rows[dq[head]]);
        else out->nulls[p->rows[i]] = 1;
    }
    return 0;
}

/* Other aggregates without heap state over moving frames: a segment tree of
   states over blocks of SEG_B rows, O(SEG_B + log n) updates and merges per
   frame, merged left to right (first/last and arg_min ties stay in order). */
#define SEG_B 16
static int seg_query(win_pctx *p, const win_call *c, const agg_def *d, char *tree, size_t size, gstate *q,
                     vec *const *in, int64_t s, int64_t e) {
    size_t sz = d->state_size;
    int64_t bs = (s + SEG_B - 1) / SEG_B, be = e / SEG_B;
    int rc = 0;
    if (bs >= be) {
        for (int64_t j = s; j < e && !rc; j++) rc = gs_add(p, c, q, in, p->rows[j]);
        return rc;
    }
    for (int64_t j = s; j < bs * SEG_B && !rc; j++) rc = gs_add(p, c, q, in, p->rows[j]);
    size_t left[64], right[64];
    int nl = 0, nr = 0;
    for (size_t l = (size_t)bs + size, r = (size_t)be + size; l < r; l >>= 1, r >>= 1) {
        if (l & 1) left[nl++] = l++;
        if (r & 1) right[nr++] = --r;
    }
    for (int i = 0; i < nl && !rc; i++) rc = d->merge(&p->actx, &c->agg, q->st, tree + left[i] * sz);
    for (int i = nr - 1; i >= 0 && !rc; i--) rc = d->merge(&p->actx, &c->agg, q->st, tree + right[i] * sz);
    for (int64_t j = be * SEG_B; j < e && !rc; j++) rc = gs_add(p, c, q, in, p->rows[j]);
    return rc;
}

static int agg_segtree(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    const agg_def *d = agg_defs[c->agg.fn];
    size_t sz = d->state_size, size = 1;
    int64_t n = p->n, nb = (n + SEG_B - 1) / SEG_B;
    while ((int64_t)size < nb) size <<= 1;
    int64_t bytes = (int64_t)(2 * size * sz);
    if (agg_charge(&p->actx, bytes)) return -1;
    char *tree = qv_xcalloc(2 * size, sz);
    gstate q = {qv_xcalloc(1, sz), sz};
    int rc = 0;
    for (int64_t b = 0; b < nb && !rc; b++) {
        gstate leaf = {tree + ((size_t)b + size) * sz, sz};
        for (int64_t j = b * SEG_B; j < n && j < (b + 1) * SEG_B && !rc; j++) rc = gs_add(p, c, &leaf, in, p->rows[j]);
    }
    for (size_t i = size - 1; i >= 1 && !rc; i--) {
        rc = d->merge(&p->actx, &c->agg, tree + i * sz, tree + 2 * i * sz);
        if (!rc) rc = d->merge(&p->actx, &c->agg, tree + i * sz, tree + (2 * i + 1) * sz);
    }
    for (int64_t i = 0; i < n && !rc; i++) {
        int32_t r = p->rows[i], s = p->fs[i], e = p->fe[i];
        if (i && s == p->fs[i - 1] && e == p->fe[i - 1]) {
            win_put(out, r, out, p->rows[i - 1]);
            continue;
        }
        memset(q.st, 0, sz);
        rc = seg_query(p, c, d, tree, size, &q, in, s, e);
        if (!rc) rc = d->finalize(&p->actx, &c->agg, q.st, out, r);
    }
    free(q.st);
    free(tree);
    qstate_release(p->actx.qs, bytes);
    *p->actx.charged -= bytes;
    return rc ? -1 : 0;
}

int win_eval_agg(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    bool sliding = c->start != WB_UNB_PREC;
    agg_id f = c->agg.fn;
    if (c->agg.distinct && win_holistic_supports(c)) return win_eval_holistic(p, c, in, out);
    if (sliding && (f == AG_COUNT_STAR || f == AG_COUNT || f == AG_SUM || f == AG_AVG)) return agg_removable(p, c, in, out);
    if (sliding && (f == AG_MIN || f == AG_MAX)) return agg_minmax(p, c, in, out);
    if (sliding && !agg_defs[f]->destroy && agg_defs[f]->merge) return agg_segtree(p, c, in, out);
    if ((sliding || c->end != WB_UNB_FOLL) && win_holistic_supports(c)) return win_eval_holistic(p, c, in, out);
    return agg_generic(p, c, in, out);
}
