/* The window function table: ranking (row_number, rank, dense_rank,
   percent_rank, cume_dist, ntile), navigation (lag, lead, first_value,
   last_value, nth_value, with IGNORE NULLS), ema, and aggregates over frames
   (win_agg.c); plus the frame bounds of every row of a partition. Each
   function writes its result for position i of the partition to row
   rows[i] of the result vector. */
#include "window.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void win_put(vec *out, int32_t dst, const vec *v, int32_t src) {
    if (vec_null(v, src)) {
        out->nulls[dst] = 1;
        return;
    }
    switch (type_pc(out->type)) {
    case PC_I: out->i[dst] = v->i[src]; break;
    case PC_F: out->f[dst] = v->f[src]; break;
    case PC_S: out->s[dst] = v->s[src]; break;
    }
}

static void put_null(vec *out, int32_t dst) { out->nulls[dst] = 1; }

/* ---- frame bounds ---- */
static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Key of position j in ascending form (negated for DESC). */
static int64_t ikey(const win_pctx *p, int64_t j) {
    int64_t x = p->okeys[0].i[p->rows[j]];
    return p->desc[0] ? (x == INT64_MIN ? INT64_MAX : -x) : x;
}
/* Doubles are not negated for DESC (NaN must stay one end of the order):
   the target of position j moved d toward the sort's end, and whether a key
   is at or past a target, both in the sort's direction and in the total
   order of doubles (NaN +- d is NaN: a NaN row's frame is its peers). */
static double ftarget(const win_pctx *p, int64_t j, double d) {
    double x = p->okeys[0].f[p->rows[j]];
    return p->desc[0] ? x - d : x + d;
}
static bool fpast(const win_pctx *p, int64_t j, double t, bool strict) {
    double x = p->okeys[0].f[p->rows[j]];
    if (p->desc[0]) return strict ? dbl_lt(x, t) : !dbl_lt(t, x);
    return strict ? dbl_lt(t, x) : !dbl_lt(x, t);
}

/* First position j in [lo, hi) from *cur on whose key is >= t (strict: > t)
   in the sort's direction. */
static int64_t seek(const win_pctx *p, int64_t cur, int64_t hi, bool isf, int64_t ti, double tf, bool strict) {
    while (cur < hi) {
        bool past = isf ? fpast(p, cur, tf, strict) : (strict ? ikey(p, cur) > ti : ikey(p, cur) >= ti);
        if (past) break;
        cur++;
    }
    return cur;
}

/* The target of row j's key moved by months, then off (ns, or days for a
   DATE key), toward the sort's end when s is 1 and back when -1, in ikey's
   ascending form; saturated like sat_add outside the range. */
static int64_t cal_target(const win_pctx *p, int64_t j, int s, int32_t months, int64_t off) {
    const int64_t day = 86400 * (int64_t)1000000000;
    bool date = p->okeys[0].type == QV_T_DATE;
    int64_t x = p->okeys[0].i[p->rows[j]], t;
    int dir = p->desc[0] ? -s : s; /* in key order: DESC PRECEDING is later keys */
    if (!qv_ts_add_months(date ? x * day : x, (int64_t)dir * months, &t)) t = dir > 0 ? INT64_MAX : INT64_MIN;
    else t = sat_add(date ? t / day : t, dir * off); /* a date's midnight plus months is a midnight */
    return p->desc[0] ? (t == INT64_MIN ? INT64_MAX : -t) : t;
}

static int64_t range_target(const win_pctx *p, int64_t j, int s, int32_t months, int64_t off) {
    return months ? cal_target(p, j, s, months, off) : sat_add(ikey(p, j), s * off);
}

static void range_offsets(win_pctx *p, const win_call *c) {
    int64_t n = p->n, lo = 0, hi = n;
    const vec *k = &p->okeys[0];
    while (lo < n && vec_null(k, p->rows[lo])) lo++;      /* NULLS FIRST block */
    while (hi > lo && vec_null(k, p->rows[hi - 1])) hi--; /* NULLS LAST block */
    bool isf = type_pc(k->type) == PC_F;
    int64_t sp = lo, ep = lo;
    for (int64_t i = 0; i < n; i++) {
        bool null = vec_null(k, p->rows[i]);
        if (c->start == WB_PREC || c->start == WB_FOLL) {
            if (null) p->fs[i] = p->peer_lo[i];
            else {
                int64_t s = c->start == WB_PREC ? -1 : 1;
                sp = isf ? seek(p, sp, hi, true, 0, ftarget(p, i, (double)s * c->start_off.f), false)
                         : seek(p, sp, hi, false, range_target(p, i, (int)s, c->start_months, c->start_off.i), 0, false);
                p->fs[i] = (int32_t)sp;
            }
        }
        if (c->end == WB_PREC || c->end == WB_FOLL) {
            if (null) p->fe[i] = p->peer_hi[i];
            else {
                int64_t s = c->end == WB_PREC ? -1 : 1;
                ep = isf ? seek(p, ep, hi, true, 0, ftarget(p, i, (double)s * c->end_off.f), true)
                         : seek(p, ep, hi, false, range_target(p, i, (int)s, c->end_months, c->end_off.i), 0, true);
                p->fe[i] = (int32_t)ep;
            }
        }
    }
}

/* GROUPS offsets count whole peer groups before or after the row's own;
   scratch holds each group's first position (and n after the last). */
static void groups_offsets(win_pctx *p, const win_call *c) {
    int64_t n = p->n, ng = 0, gi = -1;
    int32_t *gs = p->scratch;
    for (int64_t i = 0; i < n; i++)
        if (p->peer_lo[i] == i) gs[ng++] = (int32_t)i;
    gs[ng] = (int32_t)n;
    for (int64_t i = 0; i < n; i++) {
        if (p->peer_lo[i] == i) gi++;
        int64_t g;
        if (c->start == WB_PREC) p->fs[i] = (g = gi - c->start_off.i) < 0 ? 0 : gs[g];
        if (c->start == WB_FOLL) p->fs[i] = (g = sat_add(gi, c->start_off.i)) >= ng ? (int32_t)n : gs[g];
        if (c->end == WB_PREC) p->fe[i] = (g = gi - c->end_off.i) < 0 ? 0 : gs[g + 1];
        if (c->end == WB_FOLL) p->fe[i] = (g = sat_add(gi, c->end_off.i)) >= ng ? (int32_t)n : gs[g + 1];
    }
}

void win_frame_bounds(win_pctx *p, const win_call *c) {
    int64_t n = p->n;
    bool rows = c->frame == WF_ROWS;
    if (c->frame == WF_RANGE) range_offsets(p, c);
    if (c->frame == WF_GROUPS) groups_offsets(p, c);
    for (int64_t i = 0; i < n; i++) {
        int64_t s = p->fs[i], e = p->fe[i];
        switch (c->start) {
        case WB_UNB_PREC: s = 0; break;
        case WB_CURRENT: s = rows ? i : p->peer_lo[i]; break;
        case WB_PREC: if (rows) s = i - c->start_off.i; break;
        case WB_FOLL: if (rows) s = sat_add(i, c->start_off.i); break;
        case WB_UNB_FOLL: case WB_NONE: s = n; break;
        }
        switch (c->end) {
        case WB_UNB_FOLL: e = n; break;
        case WB_CURRENT: e = rows ? i + 1 : p->peer_hi[i]; break;
        case WB_PREC: if (rows) e = i - c->end_off.i + 1; break;
        case WB_FOLL: if (rows) e = sat_add(sat_add(i, c->end_off.i), 1); break;
        case WB_UNB_PREC: case WB_NONE: e = 0; break;
        }
        if (s < 0) s = 0;
        if (s > n) s = n;
        if (e > n) e = n;
        if (e < s) e = s;
        p->fs[i] = (int32_t)s;
        p->fe[i] = (int32_t)e;
    }
}

/* ---- ranking ---- */
static int ev_row_number(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    (void)c, (void)in;
    for (int64_t i = 0; i < p->n; i++) out->i[p->rows[i]] = i + 1;
    return 0;
}

static int ev_rank(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    (void)c, (void)in;
    for (int64_t i = 0; i < p->n; i++) out->i[p->rows[i]] = p->peer_lo[i] + 1;
    return 0;
}

static int ev_dense_rank(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    (void)c, (void)in;
    int64_t r = 0;
    for (int64_t i = 0; i < p->n; i++) {
        if (p->peer_lo[i] == i) r++;
        out->i[p->rows[i]] = r;
    }
    return 0;
}

static int ev_percent_rank(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    (void)c, (void)in;
    for (int64_t i = 0; i < p->n; i++) out->f[p->rows[i]] = p->n > 1 ? (double)p->peer_lo[i] / (double)(p->n - 1) : 0;
    return 0;
}

static int ev_cume_dist(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    (void)c, (void)in;
    for (int64_t i = 0; i < p->n; i++) out->f[p->rows[i]] = (double)p->peer_hi[i] / (double)p->n;
    return 0;
}

static int ev_ntile(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    (void)in;
    int64_t n = p->n, b = c->n > n ? n : c->n;
    if (!b) return 0;
    int64_t size = n / b, large = n - b * size, small_end = large * (size + 1);
    for (int64_t i = 0; i < n; i++)
        out->i[p->rows[i]] = i < small_end ? 1 + i / (size + 1) : 1 + large + (i - small_end) / size;
    return 0;
}

/* ---- navigation ---- */
static int ev_lag_lead(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    int64_t off = c->fn == WFN_LAG ? -c->n : c->n, n = p->n;
    const vec *x = in[0];
    int32_t *nn = p->fs, *cnt = p->fe; /* IGNORE NULLS: positions of the non-NULL values, and counts before i */
    int64_t m = 0;
    if (c->ignore_nulls)
        for (int64_t i = 0; i < n; i++) {
            cnt[i] = (int32_t)m;
            if (!vec_null(x, p->rows[i])) nn[m++] = (int32_t)i;
        }
    for (int64_t i = 0; i < n; i++) {
        int32_t r = p->rows[i];
        int64_t j;
        if (!c->ignore_nulls) j = i + off;
        else if (off < 0) j = cnt[i] + off >= 0 ? nn[cnt[i] + off] : -1;
        else if (off > 0) {
            int64_t after = cnt[i] + (vec_null(x, r) ? 0 : 1); /* non-NULLs up to and including i */
            j = after + off - 1 < m ? nn[after + off - 1] : -1;
        } else j = i;
        if (j >= 0 && j < n) win_put(out, r, x, p->rows[j]);
        else if (c->dflt) win_put(out, r, in[1], r);
        else put_null(out, r);
    }
    return 0;
}

static int ev_first_last(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    const vec *x = in[0];
    int64_t n = p->n;
    int32_t *near = p->scratch; /* IGNORE NULLS: next (first_value) / previous (last_value) non-NULL */
    bool first = c->fn == WFN_FIRST_VALUE;
    if (c->ignore_nulls) {
        if (first) {
            near[n] = (int32_t)n;
            for (int64_t i = n - 1; i >= 0; i--) near[i] = vec_null(x, p->rows[i]) ? near[i + 1] : (int32_t)i;
        } else {
            for (int64_t i = 0; i < n; i++) near[i] = vec_null(x, p->rows[i]) ? (i ? near[i - 1] : -1) : (int32_t)i;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t r = p->rows[i], s = p->fs[i], e = p->fe[i];
        int64_t j = -1;
        if (s < e) {
            j = first ? s : e - 1;
            if (c->ignore_nulls) {
                j = near[j];
                if (j < s || j >= e) j = -1;
            }
        }
        if (j >= 0) win_put(out, r, x, p->rows[j]);
        else put_null(out, r);
    }
    return 0;
}

static int ev_nth_value(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    const vec *x = in[0];
    int64_t n = p->n;
    int32_t *cnt = p->scratch, *nn = NULL;
    if (c->ignore_nulls) {
        if (agg_charge(&p->actx, sizeof(int32_t) * (n + 1))) return -1;
        nn = qv_xmalloc(sizeof(int32_t) * (size_t)(n + 1));
        int32_t m = 0;
        for (int64_t i = 0; i < n; i++) {
            cnt[i] = m;
            if (!vec_null(x, p->rows[i])) nn[m++] = (int32_t)i;
        }
        cnt[n] = m;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t r = p->rows[i], s = p->fs[i], e = p->fe[i];
        int64_t j = -1;
        if (!c->ignore_nulls) j = s + c->n - 1 < e ? s + c->n - 1 : -1;
        else if (cnt[s] + c->n - 1 < cnt[e]) j = nn[cnt[s] + c->n - 1];
        if (j >= 0) win_put(out, r, x, p->rows[j]);
        else put_null(out, r);
    }
    free(nn);
    return 0;
}

/* pandas Series.ewm(alpha, adjust=False).mean() with ignore_na=False: a NULL
   keeps the previous average but still ages its weight. */
static int ev_ema(win_pctx *p, const win_call *c, vec *const *in, vec *out) {
    const vec *x = in[0];
    double a = c->alpha, w_old = 1, avg = 0;
    bool have = false;
    for (int64_t i = 0; i < p->n; i++) {
        int32_t r = p->rows[i];
        bool obs = !vec_null(x, r);
        double v = obs ? x->f[r] : 0;
        if (have) {
            w_old *= 1 - a;
            if (obs) {
                if (avg != v) avg = (w_old * avg + a * v) / (w_old + a);
                w_old = 1;
            }
        } else if (obs) {
            avg = v;
            have = true;
            w_old = 1;
        }
        if (have) out->f[r] = avg;
        else put_null(out, r);
    }
    return 0;
}

const win_fn_def win_fn_defs[WFN__COUNT] = {
    [WFN_ROW_NUMBER] = {"row_number", ev_row_number, false, false, "1, 2, 3, ... in window order"},
    [WFN_RANK] = {"rank", ev_rank, false, true, "rank with gaps (peers share it)"},
    [WFN_DENSE_RANK] = {"dense_rank", ev_dense_rank, false, true, "rank without gaps"},
    [WFN_PERCENT_RANK] = {"percent_rank", ev_percent_rank, false, true, "(rank - 1) / (rows - 1)"},
    [WFN_CUME_DIST] = {"cume_dist", ev_cume_dist, false, true, "rows up to the last peer / rows"},
    [WFN_NTILE] = {"ntile", ev_ntile, false, false, "bucket 1..n of nearly equal size"},
    [WFN_LAG] = {"lag", ev_lag_lead, false, false, "value `offset` rows before (default 1), else the default"},
    [WFN_LEAD] = {"lead", ev_lag_lead, false, false, "value `offset` rows after (default 1), else the default"},
    [WFN_FIRST_VALUE] = {"first_value", ev_first_last, true, false, "value of the frame's first row"},
    [WFN_LAST_VALUE] = {"last_value", ev_first_last, true, false, "value of the frame's last row"},
    [WFN_NTH_VALUE] = {"nth_value", ev_nth_value, true, false, "value of the frame's n-th row"},
    [WFN_EMA] = {"ema", ev_ema, false, false, "exponential moving average (pandas ewm(alpha, adjust=False))"},
    [WFN_AGG] = {"aggregate", win_eval_agg, true, false, "an aggregate over the frame"},
};
_Static_assert(sizeof win_fn_defs / sizeof win_fn_defs[0] == WFN__COUNT, "one descriptor per window function");

int win_fn_lookup(const char *name) {
    for (int f = 0; f < WFN_AGG; f++)
        if (!strcasecmp(win_fn_defs[f].name, name)) return f;
    return -1;
}

const char *win_fn_name(win_fn f) { return win_fn_defs[f].name; }
