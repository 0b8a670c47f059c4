/*
** Holistic aggregates: median, quantile_cont, quantile_disc, mode and
** string_agg. Each group keeps its values (a growing array, charged to the
** query); parts of a parallel aggregation are appended in table order, so
** mode's first-seen tie break and string_agg's order without ORDER BY are
** those of the table. Strings are copied into the operator's string blocks.
*/
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kept rows: numbers without ORDER BY keys compactly in w (int64 or
   double, by the argument's class), else values (the value, then the ORDER
   BY keys: stride values per row) in v. */
typedef struct vlist {
    int64_t n, cap;
    value *v;
    void *w;
    int stride;
} vlist;

static void vl_destroy(void *st) {
    free(((vlist *)st)->v);
    free(((vlist *)st)->w);
}

static bool compact(const agg_spec *sp) { return type_pc(sp->in[0]->type) != PC_S && sp->norder == 0; }

static int vl_grow(agg_ctx *c, vlist *l, size_t elem, void **arr) {
    int64_t nc = l->cap ? l->cap * 2 : 8;
    if (agg_charge(c, (nc - l->cap) * (int64_t)elem)) return c->err->code;
    *arr = qv_xrealloc(*arr, elem * (size_t)nc);
    l->cap = nc;
    return 0;
}

static int vl_push(agg_ctx *c, vlist *l, int stride, const value *vals) {
    if (l->n == l->cap && vl_grow(c, l, sizeof(value) * (size_t)stride, (void **)&l->v)) return c->err->code;
    l->stride = stride;
    memcpy(&l->v[l->n * stride], vals, sizeof(value) * (size_t)stride);
    l->n++;
    return 0;
}

static int vl_push_words(agg_ctx *c, vlist *l, const void *words, int64_t cnt) {
    while (l->n + cnt > l->cap)
        if (vl_grow(c, l, 8, &l->w)) return c->err->code;
    memcpy((char *)l->w + 8 * l->n, words, 8 * (size_t)cnt);
    l->n += cnt;
    return 0;
}

static int take(agg_ctx *c, const vec *v, int k, value *x) {
    memset(x, 0, sizeof *x);
    x->null = vec_null(v, k);
    if (x->null) return 0;
    switch (type_pc(v->type)) {
    case PC_I: x->i = v->i[k]; break;
    case PC_F: x->f = v->f[k]; break;
    case PC_S:
        if (agg_charge(c, v->s[k].n + 16)) return c->err->code;
        x->s = v->s[k];
        x->s.p = agg_keep_str(c, x->s);
        break;
    }
    return 0;
}

static int up_list(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    if (compact(sp)) {
        vlist *l = st;
        if (l->n == l->cap && vl_grow(c, l, 8, &l->w)) return c->err->code;
        if (type_pc(in[0]->type) == PC_F) ((double *)l->w)[l->n++] = in[0]->f[k];
        else ((int64_t *)l->w)[l->n++] = in[0]->i[k];
        return 0;
    }
    value vals[AGG_MAXIN];
    int stride = 1 + sp->norder;
    if (take(c, in[0], k, &vals[0])) return c->err->code;
    for (int j = 0; j < sp->norder; j++)
        if (take(c, in[sp->nin - sp->norder + j], k, &vals[1 + j])) return c->err->code;
    return vl_push(c, st, stride, vals);
}

/* numbers without ORDER BY straight into the compact arrays */
static int batch_list(agg_ctx *c, const agg_spec *sp, char *states, size_t stride, const int32_t *gids,
                      const vec *const *in, int m) {
    const vec *v = in[0];
    bool cp = compact(sp), f = type_pc(v->type) == PC_F;
    for (int k = 0; k < m; k++) {
        if (vec_null(v, k)) continue;
        vlist *l = (vlist *)(states + stride * (size_t)gids[k]);
        if (!cp) {
            if (up_list(c, sp, l, in, k)) return c->err->code;
            continue;
        }
        if (l->n == l->cap && vl_grow(c, l, 8, &l->w)) return c->err->code;
        if (f) ((double *)l->w)[l->n++] = v->f[k];
        else ((int64_t *)l->w)[l->n++] = v->i[k];
    }
    return 0;
}

static int mg_list(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    vlist *d = dp, *s = sp2;
    if (!s->n) return 0;
    if (!d->n) { vl_destroy(d); *d = *s; memset(s, 0, sizeof *s); return 0; }
    if (compact(sp)) return vl_push_words(c, d, s->w, s->n);
    for (int64_t i = 0; i < s->n; i++)
        if (vl_push(c, d, s->stride, &s->v[i * s->stride])) return c->err->code;
    return 0;
}

/* ---- sorting kept values ---- */
static _Thread_local phys_class sort_pc;

static int cmp_val(const void *x, const void *y) {
    return value_cmp(sort_pc, x, y);
}

static void sort_values(vlist *l, phys_class pc) {
    sort_pc = pc;
    qsort(l->v, (size_t)l->n, sizeof(value) * (size_t)(l->stride ? l->stride : 1), cmp_val);
}

static phys_class arg_pc(const agg_spec *sp) { return type_pc(sp->in[0]->type); }

/* ---- median / quantiles ---- */
static int quantile_param(binder *b, ast *a, agg_spec *sp, bool signed_q);

static int bind_quantile(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    qv_type t = sp->in[0]->type;
    bool disc = d == &agg_def_quantile_disc || (d == &agg_def_median && type_pc(t) == PC_S);
    if (t == T_NULL) sp->in[0] = bind_coerce(b, sp->in[0], t = QV_T_FLOAT64);
    if (!disc && t == QV_T_DATE && !(sp->in[0] = bind_coerce(b, sp->in[0], t = QV_T_TIMESTAMP))) return -1;
    if (!disc && !type_is_num(t) && t != QV_T_TIMESTAMP) {
        char m[200];
        snprintf(m, sizeof m, "aggregate %s needs a numeric or TIMESTAMP argument, got %s", a->name, type_name(t));
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (t == QV_T_BOOL && disc) {
        bd_fail(b, a, QV_EINVAL, "aggregate %s over BOOLEAN values is not supported", a->name, NULL);
        return -1;
    }
    if (quantile_param(b, a, sp, d != &agg_def_median)) return -1;
    if (disc) sp->type = t;
    else sp->type = t == QV_T_TIMESTAMP ? QV_T_TIMESTAMP : QV_T_FLOAT64;
    if (disc || t == QV_T_TIMESTAMP) memcpy(sp->tz, sp->in[0]->tz, sizeof sp->tz);
    sp->arg = sp->in[0];
    return 0;
}

/* The quantile of quantile_cont/disc and approx_quantile: a constant in [0, 1]
   (0.5 when absent) kept in sp->param and dropped from the inputs. As
   DuckDB, quantile_cont/disc also take -1..0 (-0.0 too): |q| counted from the
   largest value, which is how WITHIN GROUP (ORDER BY x DESC) reaches them. */
static int quantile_param(binder *b, ast *a, agg_spec *sp, bool signed_q) {
    sp->param = 0.5;
    if (sp->nin > 1) {
        bexpr *q = sp->in[1];
        if (q->kind != B_CONST || q->cval.null || !type_is_num(q->type)) {
            bd_fail(b, a, QV_EINVAL, "aggregate %s needs a constant numeric quantile as its second argument", a->name, NULL);
            return -1;
        }
        sp->param = type_pc(q->type) == PC_F ? q->cval.f : (double)q->cval.i;
        if (signed_q && signbit(sp->param) && sp->param >= -1) {
            sp->param = -sp->param;
            sp->from_top = true;
        }
        if (!(sp->param >= 0 && sp->param <= 1)) {
            char m[240];
            snprintf(m, sizeof m, "aggregate %s: the quantile must be between 0 and 1, got %g%s", a->name, sp->param,
                     signed_q ? " (or between -1 and 0: counted from the largest value)" : "");
            bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
            return -1;
        }
        sp->nin = 1; /* the quantile is not an input per row */
    }
    return 0;
}

/* The k-th smallest of a[0..n) moved to a[k] (Hoare's selection); LT is
   the order (doubles: the total order, NaN greatest). */
#define SELECT_FN(NAME, T, LT)                                                    \
    static T NAME(T *a, int64_t n, int64_t k) {                                   \
        int64_t lo = 0, hi = n - 1;                                               \
        while (lo < hi) {                                                         \
            T p = a[lo + (hi - lo) / 2];                                          \
            int64_t i = lo, j = hi;                                               \
            while (i <= j) {                                                      \
                while (LT(a[i], p)) i++;                                          \
                while (LT(p, a[j])) j--;                                          \
                if (i <= j) { T t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }      \
            }                                                                     \
            if (k <= j) hi = j;                                                   \
            else if (k >= i) lo = i;                                              \
            else break;                                                           \
        }                                                                         \
        return a[k];                                                              \
    }                                                                             \
    static T NAME##_min(const T *a, int64_t from, int64_t n) {                    \
        T m = a[from];                                                            \
        for (int64_t i = from + 1; i < n; i++) if (LT(a[i], m)) m = a[i];         \
        return m;                                                                 \
    }                                                                             \
    static T NAME##_max(const T *a, int64_t to) {                                 \
        T m = a[0];                                                               \
        for (int64_t i = 1; i < to; i++) if (LT(m, a[i])) m = a[i];               \
        return m;                                                                 \
    }
#define INT_LT(a, b) ((a) < (b))
SELECT_FN(select_i64, int64_t, INT_LT)
SELECT_FN(select_f64, double, dbl_lt)

static int64_t disc_index(double q, int64_t n) {
    int64_t i = (int64_t)ceil(q * (double)n - 1e-9) - 1;
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* Counted from the top, the k-th largest is the (n-1-k)-th smallest; a
   discrete quantile from the top is not the one at 1 - q (n = 4, q = 0.25:
   the largest but one from the bottom, the largest from the top). */
agg_qpos agg_quantile_pos(const agg_spec *sp, int64_t n) {
    bool disc = sp->fn == AG_QUANTILE_DISC || (sp->fn == AG_MEDIAN && type_pc(sp->type) == PC_S);
    agg_qpos p = {0, 0, 0};
    if (disc) {
        p.lo = p.hi = disc_index(sp->param, n);
    } else {
        double pos = sp->param * (double)(n - 1);
        p.lo = (int64_t)floor(pos);
        p.f = pos - (double)p.lo;
        p.hi = p.f > 0 && p.lo + 1 < n ? p.lo + 1 : p.lo;
        if (p.hi == p.lo) p.f = 0;
    }
    if (sp->from_top) {
        p.lo = n - 1 - p.lo;
        p.hi = n - 1 - p.hi;
    }
    return p;
}

double agg_quantile_lerp(double a, double b, double f) {
    if (f <= 0 || a == b) return a;
    return a * (1 - f) + b * f;
}

int64_t agg_quantile_lerp_ts(int64_t a, int64_t b, double f) {
    if (f <= 0 || a == b) return a;
    return a + (int64_t)llround(f * (double)((__int128)b - a)); /* b - a can overflow INT64 */
}

/* Numbers kept compactly: select the one or two order statistics needed
   (after the selection, a[lo]'s neighbour in order is the least of those
   after it or the greatest of those before it). */
static void quantile_compact(const agg_spec *sp, vlist *l, vec *out, int k) {
    int64_t n = l->n;
    agg_qpos p = agg_quantile_pos(sp, n);
    if (type_pc(sp->in[0]->type) == PC_F) {
        double a = select_f64(l->w, n, p.lo);
        double b = p.hi > p.lo ? select_f64_min(l->w, p.hi, n) : p.hi < p.lo ? select_f64_max(l->w, p.lo) : a;
        out->f[k] = agg_quantile_lerp(a, b, p.f);
        return;
    }
    int64_t a = select_i64(l->w, n, p.lo);
    int64_t b = p.hi > p.lo ? select_i64_min(l->w, p.hi, n) : p.hi < p.lo ? select_i64_max(l->w, p.lo) : a;
    if (sp->type == QV_T_TIMESTAMP) out->i[k] = agg_quantile_lerp_ts(a, b, p.f);
    else if (type_pc(sp->type) == PC_F) out->f[k] = agg_quantile_lerp((double)a, (double)b, p.f);
    else out->i[k] = a;
}

static int fin_quantile(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    vlist *l = st;
    if (!l->n) { fn_set_null(out, k); return 0; }
    if (compact(sp)) {
        quantile_compact(sp, l, out, k);
        return 0;
    }
    phys_class pc = arg_pc(sp);
    sort_values(l, pc);
    agg_qpos p = agg_quantile_pos(sp, l->n);
    const value *lo = &l->v[p.lo * l->stride], *hi = &l->v[p.hi * l->stride];
    if (sp->type == QV_T_TIMESTAMP) {
        out->i[k] = agg_quantile_lerp_ts(lo->i, hi->i, p.f);
        return 0;
    }
    switch (type_pc(sp->type)) {
    case PC_I: out->i[k] = lo->i; break;
    case PC_S: out->s[k] = lo->s; break;
    case PC_F:
        if (pc == PC_F) out->f[k] = agg_quantile_lerp(lo->f, hi->f, p.f);
        else out->f[k] = agg_quantile_lerp((double)lo->i, (double)hi->i, p.f);
        break;
    }
    return 0;
}

/* ---- mode: the most frequent value; ties go to the one seen first ---- */
static int bind_mode(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    if (sp->in[0]->type == T_NULL && !(sp->in[0] = bind_coerce(b, sp->in[0], QV_T_INT32))) return -1;
    (void)a;
    sp->arg = sp->in[0];
    sp->type = sp->in[0]->type;
    memcpy(sp->tz, sp->in[0]->tz, sizeof sp->tz);
    return 0;
}

static int fin_mode(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    vlist *l = st;
    if (!l->n) { fn_set_null(out, k); return 0; }
    phys_class pc = arg_pc(sp);
    if (compact(sp)) { /* widen to values once, then as below */
        if (agg_charge(c, l->n * (int64_t)sizeof(value))) return c->err->code;
        l->v = qv_xcalloc((size_t)l->n, sizeof(value));
        l->stride = 1;
        for (int64_t i = 0; i < l->n; i++) {
            if (pc == PC_F) l->v[i].f = ((double *)l->w)[i];
            else l->v[i].i = ((int64_t *)l->w)[i];
        }
    }
    /* remember each value's position (i) before sorting: stored in .f of a copy */
    value *cp = qv_xmalloc(sizeof(value) * 2 * (size_t)l->n);
    if (agg_charge(c, 2 * l->n * (int64_t)sizeof(value))) { free(cp); return c->err->code; }
    for (int64_t i = 0; i < l->n; i++) {
        cp[2 * i] = l->v[i];
        cp[2 * i + 1].i = i;
    }
    sort_pc = pc;
    qsort(cp, (size_t)l->n, 2 * sizeof(value), cmp_val);
    int64_t best = -1, best_cnt = 0, best_first = 0;
    for (int64_t i = 0; i < l->n;) {
        int64_t j = i, first = cp[2 * i + 1].i;
        while (j < l->n && value_cmp(pc, &cp[2 * j], &cp[2 * i]) == 0) {
            if (cp[2 * j + 1].i < first) first = cp[2 * j + 1].i;
            j++;
        }
        if (j - i > best_cnt || (j - i == best_cnt && first < best_first)) {
            best = i;
            best_cnt = j - i;
            best_first = first;
        }
        i = j;
    }
    value v = cp[2 * best];
    switch (type_pc(sp->type)) {
    case PC_I: out->i[k] = v.i; break;
    case PC_F: out->f[k] = v.f; break;
    case PC_S: out->s[k] = v.s; break;
    }
    free(cp);
    return 0;
}

/* ---- string_agg(x [, sep] [ORDER BY ...]) ---- */
static int bind_string_agg(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    int nargs = sp->nin - sp->norder;
    if (sp->in[0]->type != T_NULL && type_pc(sp->in[0]->type) != PC_S && !(sp->in[0] = bind_coerce(b, sp->in[0], QV_T_STRING)))
        return -1;
    if (sp->in[0]->type == T_NULL) sp->in[0] = bind_coerce(b, sp->in[0], QV_T_STRING);
    sp->sep = (sv){",", 1};
    if (nargs > 1) {
        bexpr *s = sp->in[1];
        if (s->kind != B_CONST || (type_pc(s->type) != PC_S && s->type != T_NULL)) {
            bd_fail(b, a, QV_EINVAL, "aggregate %s needs a constant string separator", a->name, NULL);
            return -1;
        }
        sp->sep = s->cval.null ? (sv){"", 0} : s->cval.s;
        /* drop the separator from the per-row inputs */
        for (int i = 1; i + 1 < sp->nin; i++) sp->in[i] = sp->in[i + 1];
        sp->nin--;
    }
    sp->arg = sp->in[0];
    sp->type = QV_T_STRING;
    return 0;
}

static _Thread_local const agg_spec *order_spec;
static _Thread_local int order_stride;

/* Rows are stride values (the string, then the keys) plus their position. */
static int cmp_order(const void *x, const void *y) {
    const value *a = x, *b = y;
    const agg_spec *sp = order_spec;
    for (int j = 0; j < sp->norder; j++) {
        const value *p = &a[1 + j], *q = &b[1 + j];
        int c;
        if (p->null || q->null) c = p->null == q->null ? 0 : p->null ? 1 : -1; /* NULLs last */
        else {
            c = value_cmp(type_pc(sp->in[sp->nin - sp->norder + j]->type), p, q);
            if (sp->order_desc[j]) c = -c;
        }
        if (c) return c;
    }
    int64_t pa = a[order_stride].i, pb = b[order_stride].i; /* equal keys keep table order */
    return pa < pb ? -1 : pa > pb;
}

static void sort_ordered(const agg_spec *sp, vlist *l) {
    int w = l->stride + 1;
    value *tmp = qv_xmalloc(sizeof(value) * (size_t)(l->n * w));
    for (int64_t i = 0; i < l->n; i++) {
        memcpy(&tmp[i * w], &l->v[i * l->stride], sizeof(value) * (size_t)l->stride);
        tmp[i * w + l->stride].i = i;
    }
    order_spec = sp;
    order_stride = l->stride;
    qsort(tmp, (size_t)l->n, sizeof(value) * (size_t)w, cmp_order);
    for (int64_t i = 0; i < l->n; i++) memcpy(&l->v[i * l->stride], &tmp[i * w], sizeof(value) * (size_t)l->stride);
    free(tmp);
}

static int fin_string_agg(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    vlist *l = st;
    if (!l->n) { fn_set_null(out, k); return 0; }
    if (sp->norder) sort_ordered(sp, l);
    size_t tot = 0;
    int64_t m = 0;
    for (int64_t i = 0; i < l->n; i++)
        if (!l->v[i * l->stride].null) tot += (size_t)l->v[i * l->stride].s.n + (m++ ? (size_t)sp->sep.n : 0);
    if (!m) { fn_set_null(out, k); return 0; }
    if (tot > INT32_MAX) return qv_err_set(c->err, QV_ERESOURCE, "string_agg: result of %zu bytes is too large", tot);
    char *d = vec_heap_alloc(out, tot + 1);
    size_t o = 0;
    m = 0;
    for (int64_t i = 0; i < l->n; i++) {
        const value *v = &l->v[i * l->stride];
        if (v->null) continue;
        if (m++) { memcpy(d + o, sp->sep.p, (size_t)sp->sep.n); o += (size_t)sp->sep.n; }
        memcpy(d + o, v->s.p, (size_t)v->s.n);
        o += (size_t)v->s.n;
    }
    out->s[k] = (sv){d, (int32_t)o};
    return 0;
}

/* ---- approx_quantile(x, q): exact, at DuckDB's t-digest positions ---- */
/* DuckDB's t-digest keeps every value while a group is small; its answer is
   then the sorted values read as centred at i + 0.5, at position q * n with
   q rounded to FLOAT, clamped to the extremes; integers round half to even.
   Quiver gives that answer exactly for every size (docs/sql.md). */
static int bind_approx_quantile(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    qv_type t = sp->in[0]->type;
    if (t == T_NULL || t == QV_T_FLOAT32) { /* approx_quantile(NULL, q) is a BIGINT NULL, as DuckDB */
        qv_type to = t == T_NULL ? QV_T_INT64 : QV_T_FLOAT64;
        if (!(sp->in[0] = bind_coerce(b, sp->in[0], to))) return -1;
        t = to;
    }
    if (t == QV_T_DATE && !(sp->in[0] = bind_coerce(b, sp->in[0], t = QV_T_TIMESTAMP))) return -1;
    if (t != QV_T_INT32 && t != QV_T_INT64 && t != QV_T_FLOAT64 && t != QV_T_TIMESTAMP) {
        char m[200];
        snprintf(m, sizeof m, "aggregate %s needs a numeric or TIMESTAMP argument, got %s", a->name, type_name(t));
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (quantile_param(b, a, sp, false)) return -1;
    sp->type = t;
    memcpy(sp->tz, sp->in[0]->tz, sizeof sp->tz);
    sp->arg = sp->in[0];
    return 0;
}

/* x + f * (y - x) for x <= y, rounded half to even: the offset from x is
   computed apart (y - x can pass INT64_MAX), so values near the ends of
   BIGINT neither lose their low digits nor overflow a cast. */
static int64_t approx_round(int64_t x, int64_t y, double f) {
    if (f <= 0 || x == y) return x;
    double off = f * (double)((__int128)y - x), whole = floor(off), frac = off - whole;
    __int128 r = (__int128)x + (__int128)whole;
    if (frac > 0.5 || (frac == 0.5 && (r & 1))) r++;
    return r > y ? y : (int64_t)r;
}

static int fin_approx_quantile(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    vlist *l = st;
    int64_t n = l->n;
    if (!n) { fn_set_null(out, k); return 0; }
    double p = (double)(float)sp->param * (double)n - 0.5, f = 0;
    int64_t lo = 0;
    if (p >= (double)(n - 1)) lo = n - 1;
    else if (p > 0) { lo = (int64_t)floor(p); f = p - (double)lo; }
    if (type_pc(sp->type) == PC_F) {
        double x = select_f64(l->w, n, lo), y = f > 0 ? select_f64_min(l->w, lo + 1, n) : x;
        out->f[k] = agg_quantile_lerp(x, y, f);
        return 0;
    }
    int64_t x = select_i64(l->w, n, lo), y = f > 0 ? select_i64_min(l->w, lo + 1, n) : x;
    if (sp->type == QV_T_TIMESTAMP) out->i[k] = agg_quantile_lerp_ts(x, y, f);
    else out->i[k] = approx_round(x, y, f);
    return 0;
}

/* ---- entropy: -sum p log2 p over the distinct values (0 for no values) ---- */
static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int cmp_f64(const void *x, const void *y) { return dbl_cmp(*(const double *)x, *(const double *)y); }

static double entropy_term(int64_t run, int64_t n) {
    double p = (double)run / (double)n;
    return -p * log2(p);
}

static int fin_entropy(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    vlist *l = st;
    double h = 0;
    int64_t n = l->n, run = 1;
    if (!n) {
        out->f[k] = 0;
    } else if (compact(sp)) {
        bool fl = type_pc(sp->in[0]->type) == PC_F;
        qsort(l->w, (size_t)n, 8, fl ? cmp_f64 : cmp_i64);
        for (int64_t i = 1; i <= n; i++, run++) {
            bool same = i < n && (fl ? dbl_eq(((double *)l->w)[i], ((double *)l->w)[i - 1])
                                     : ((int64_t *)l->w)[i] == ((int64_t *)l->w)[i - 1]);
            if (!same) { h += entropy_term(run, n); run = 0; }
        }
    } else {
        phys_class pc = arg_pc(sp);
        sort_values(l, pc);
        for (int64_t i = 1; i <= n; i++, run++)
            if (i == n || value_cmp(pc, &l->v[i * l->stride], &l->v[(i - 1) * l->stride])) { h += entropy_term(run, n); run = 0; }
    }
    out->f[k] = h;
    return 0;
}

static int bind_entropy(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    if (bind_mode(b, a, sp, d)) return -1;
    sp->type = QV_T_FLOAT64;
    return 0;
}

#define LIST_AGG(VAR, NAME, MIN, MAX, ORD, BIND, FIN, DESC, BATCH) \
    const agg_def VAR = {NAME, MIN, MAX, AGN_SKIP, sizeof(vlist), ORD, BIND, up_list, mg_list, FIN, vl_destroy, DESC, BATCH}
LIST_AGG(agg_def_median, "median", 1, 1, false, bind_quantile, fin_quantile, "middle value (interpolated for numbers)", batch_list);
LIST_AGG(agg_def_quantile_cont, "quantile_cont", 2, 2, false, bind_quantile, fin_quantile, "quantile_cont(x, q): interpolated quantile", batch_list);
LIST_AGG(agg_def_quantile_disc, "quantile_disc", 2, 2, false, bind_quantile, fin_quantile, "quantile_disc(x, q): a value of x at quantile q", batch_list);
LIST_AGG(agg_def_mode, "mode", 1, 1, false, bind_mode, fin_mode, "most frequent value (ties: the first seen)", batch_list);
LIST_AGG(agg_def_string_agg, "string_agg", 1, 2, true, bind_string_agg, fin_string_agg, "string_agg(x[, sep] [ORDER BY k]): the values joined by sep (default ',')", NULL);
LIST_AGG(agg_def_approx_quantile, "approx_quantile", 2, 2, false, bind_approx_quantile, fin_approx_quantile,
         "approx_quantile(x, q): quantile at t-digest positions (Quiver: exact)", batch_list);
LIST_AGG(agg_def_entropy, "entropy", 1, 1, false, bind_entropy, fin_entropy, "Shannon entropy (log base 2) of the values' counts", batch_list);
