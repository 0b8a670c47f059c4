/*
** Two-argument and sketch aggregates: arg_min/arg_max, the covariance family
** (corr, covar_pop, covar_samp, regr_slope, regr_intercept: co-moments
** updated and merged pairwise, as the variances), and approx_count_distinct,
** a HyperLogLog with 2^14 registers that counts exactly (a hash set) until
** 1024 distinct hashes, then estimates with Ertl's improved raw estimator
** (standard error about 0.8%).
*/
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arg_min / arg_max(arg, key) ---- */
typedef struct argx_state {
    bool set;
    value arg, key;
} argx_state;

static int bind_argx(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)a, (void)d;
    for (int i = 0; i < 2; i++)
        if (sp->in[i]->type == T_NULL && !(sp->in[i] = bind_coerce(b, sp->in[i], QV_T_INT32))) return -1;
    sp->arg = sp->in[0];
    sp->type = sp->in[0]->type;
    memcpy(sp->tz, sp->in[0]->tz, sizeof sp->tz);
    return 0;
}

static bool better(const agg_spec *sp, const value *key, const argx_state *s) {
    if (!s->set) return true;
    int c = value_cmp(type_pc(sp->in[1]->type), key, &s->key);
    return sp->fn == AG_ARG_MIN ? c < 0 : c > 0;
}

static int up_argx(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    argx_state *s = st;
    value key = vec_value_at(in[1], k);
    if (!better(sp, &key, s)) return 0;
    s->set = true;
    s->key = key;
    s->arg = vec_value_at(in[0], k);
    if (type_pc(in[1]->type) == PC_S) s->key.s.p = agg_keep_str(c, key.s);
    if (type_pc(in[0]->type) == PC_S) s->arg.s.p = agg_keep_str(c, s->arg.s);
    return 0;
}

/* A chunk at once: numeric key and argument in one typed loop per shape (no
   per-row dispatch); a row replaces its group's pick only when its key is
   strictly better, so ties keep the first row, as up_argx. On a table in time
   order arg_max(x, ts) replaces on nearly every row, which is a store. */
#define ARGX_LOOP(KF, AF, BETTER)                                                      \
    for (int k = 0; k < m; k++) {                                                      \
        if (nulls && ((kn && kn[k]) || (an && an[k]))) continue;                       \
        argx_state *s = (argx_state *)(states + stride * (size_t)gids[k]);             \
        if (s->set && !BETTER(key->KF[k], s->key.KF)) continue;                        \
        s->set = true;                                                                 \
        s->key.KF = key->KF[k];                                                        \
        s->arg.AF = arg->AF[k];                                                        \
    }
/* "a is a better key than b" per key class; doubles in the total order (NaN greatest) */
#define ARGX_iGT(a, b) ((a) > (b))
#define ARGX_iLT(a, b) ((a) < (b))
#define ARGX_fGT(a, b) dbl_lt((b), (a))
#define ARGX_fLT(a, b) dbl_lt((a), (b))
#define ARGX_DIR(KF, AF)                          \
    do {                                          \
        if (mx) ARGX_LOOP(KF, AF, ARGX_##KF##GT)  \
        else ARGX_LOOP(KF, AF, ARGX_##KF##LT)     \
    } while (0)

static int ub_argx(agg_ctx *c, const agg_spec *sp, char *states, size_t stride, const int32_t *gids,
                   const vec *const *in, int m) {
    const vec *arg = in[0], *key = in[1];
    phys_class ak = type_pc(arg->type), kk = type_pc(key->type);
    if (ak == PC_S || kk == PC_S) {
        for (int k = 0; k < m; k++) {
            if (vec_null(arg, k) || vec_null(key, k)) continue;
            int rc = up_argx(c, sp, states + stride * (size_t)gids[k], in, k);
            if (rc) return rc;
        }
        return 0;
    }
    const uint8_t *kn = key->has_nulls ? key->nulls : NULL, *an = arg->has_nulls ? arg->nulls : NULL;
    bool nulls = kn || an, mx = sp->fn == AG_ARG_MAX;
    if (kk == PC_I && ak == PC_I) ARGX_DIR(i, i);
    else if (kk == PC_I) ARGX_DIR(i, f);
    else if (ak == PC_I) ARGX_DIR(f, i);
    else ARGX_DIR(f, f);
    return 0;
}

static int mg_argx(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c;
    argx_state *d = dp, *s = sp2;
    if (s->set && better(sp, &s->key, d)) *d = *s; /* ties keep the earlier part */
    return 0;
}

static int fin_argx(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    argx_state *s = st;
    if (!s->set) { fn_set_null(out, k); return 0; }
    switch (type_pc(sp->type)) {
    case PC_I: out->i[k] = s->arg.i; break;
    case PC_F: out->f[k] = s->arg.f; break;
    case PC_S: out->s[k] = s->arg.s; break;
    }
    return 0;
}

const agg_def agg_def_arg_min = {"arg_min", 2, 2, AGN_SKIP, sizeof(argx_state), false, bind_argx, up_argx, mg_argx, fin_argx, NULL,
                                 "arg_min(arg, key): arg of the row with the smallest key", ub_argx};
const agg_def agg_def_arg_max = {"arg_max", 2, 2, AGN_SKIP, sizeof(argx_state), false, bind_argx, up_argx, mg_argx, fin_argx, NULL,
                                 "arg_max(arg, key): arg of the row with the largest key", ub_argx};

/* ---- covariance family over (y, x) ---- */
typedef struct cov_state {
    int64_t n;
    double mx, my, m2x, m2y, cxy;
} cov_state;

static int bind_cov(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    for (int i = 0; i < 2; i++) {
        bexpr *x = sp->in[i];
        if (x->type != T_NULL && !type_is_num(x->type)) {
            char m[200];
            snprintf(m, sizeof m, "aggregate %s needs numeric arguments, got %s", a->name, type_name(x->type));
            bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
            return -1;
        }
        if (!(sp->in[i] = bind_coerce(b, x, QV_T_FLOAT64))) return -1;
    }
    sp->arg = sp->in[0];
    sp->type = QV_T_FLOAT64;
    return 0;
}

static int up_cov(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp;
    cov_state *s = st;
    double y = in[0]->f[k], x = in[1]->f[k];
    s->n++;
    double n = (double)s->n, dx = x - s->mx, dy = y - s->my;
    s->mx += dx / n;
    s->my += dy / n;
    s->m2x += dx * (x - s->mx);
    s->m2y += dy * (y - s->my);
    s->cxy += dx * (y - s->my);
    return 0;
}

static int mg_cov(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    cov_state *d = dp, *s = sp2;
    if (!s->n) return 0;
    if (!d->n) { *d = *s; return 0; }
    double na = (double)d->n, nb = (double)s->n, n = na + nb, dx = s->mx - d->mx, dy = s->my - d->my;
    d->mx += dx * nb / n;
    d->my += dy * nb / n;
    d->m2x += s->m2x + dx * dx * na * nb / n;
    d->m2y += s->m2y + dy * dy * na * nb / n;
    d->cxy += s->cxy + dx * dy * na * nb / n;
    d->n += s->n;
    return 0;
}

#define FIN_COV(NAME, MIN_N, EXPR)                                                   \
    static int NAME(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {       \
        (void)c, (void)sp;                                                             \
        const cov_state *s = st;                                                       \
        double n = (double)s->n;                                                       \
        (void)n;                                                                       \
        if (s->n < (MIN_N)) fn_set_null(out, k);                                       \
        else out->f[k] = (EXPR);                                                       \
        return 0;                                                                      \
    }
FIN_COV(fin_corr, 1, s->cxy / sqrt(s->m2x * s->m2y))
FIN_COV(fin_covar_pop, 1, s->cxy / n)
FIN_COV(fin_covar_samp, 2, s->cxy / (n - 1))
FIN_COV(fin_regr_slope, 1, s->cxy / s->m2x)

static int fin_regr_intercept(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c, (void)sp;
    const cov_state *s = st;
    if (!s->n || s->m2x == 0) fn_set_null(out, k);
    else out->f[k] = s->my - s->cxy / s->m2x * s->mx;
    return 0;
}

#define COV(VAR, NAME, FIN, DESC) \
    const agg_def VAR = {NAME, 2, 2, AGN_SKIP, sizeof(cov_state), false, bind_cov, up_cov, mg_cov, FIN, NULL, DESC, NULL}
COV(agg_def_corr, "corr", fin_corr, "corr(y, x): Pearson correlation");
COV(agg_def_covar_pop, "covar_pop", fin_covar_pop, "covar_pop(y, x): population covariance");
COV(agg_def_covar_samp, "covar_samp", fin_covar_samp, "covar_samp(y, x): sample covariance");
COV(agg_def_regr_slope, "regr_slope", fin_regr_slope, "regr_slope(y, x): slope of the least-squares line");
COV(agg_def_regr_intercept, "regr_intercept", fin_regr_intercept, "regr_intercept(y, x): intercept of the least-squares line");

/* ---- approx_count_distinct ---- */
#define HLL_P 14
#define HLL_M (1 << HLL_P)
#define HLL_Q (64 - HLL_P)
#define SMALL_MAX 1024

typedef struct hll_state {
    uint64_t *set;   /* exact phase: open addressing, 0 = empty */
    int32_t nset, capset;
    uint8_t *reg;    /* sketch phase: HLL_M registers */
} hll_state;

static void hll_destroy(void *st) {
    hll_state *s = st;
    free(s->set);
    free(s->reg);
}

static void reg_add(uint8_t *reg, uint64_t h) {
    uint32_t idx = (uint32_t)(h >> HLL_Q);
    uint64_t w = h << HLL_P;
    uint8_t rho = w ? (uint8_t)(__builtin_clzll(w) + 1) : HLL_Q + 1;
    if (rho > reg[idx]) reg[idx] = rho;
}

static int to_sketch(agg_ctx *c, hll_state *s) {
    if (agg_charge(c, HLL_M)) return c->err->code;
    s->reg = qv_xcalloc(HLL_M, 1);
    for (int32_t i = 0; i < s->capset; i++)
        if (s->set[i]) reg_add(s->reg, s->set[i]);
    free(s->set);
    s->set = NULL;
    s->nset = s->capset = 0;
    return 0;
}

static int hll_add(agg_ctx *c, hll_state *s, uint64_t h) {
    if (!h) h = 1;
    if (s->reg) { reg_add(s->reg, h); return 0; }
    if ((s->nset + 1) * 2 > s->capset) {
        if (s->nset >= SMALL_MAX) {
            if (to_sketch(c, s)) return c->err->code;
            reg_add(s->reg, h);
            return 0;
        }
        int32_t nc = s->capset ? s->capset * 2 : 16;
        if (agg_charge(c, (int64_t)(nc - s->capset) * 8)) return c->err->code;
        uint64_t *ns = qv_xcalloc((size_t)nc, 8);
        for (int32_t i = 0; i < s->capset; i++)
            if (s->set[i]) {
                int32_t j = (int32_t)(s->set[i] & (uint64_t)(nc - 1));
                while (ns[j]) j = (j + 1) & (nc - 1);
                ns[j] = s->set[i];
            }
        free(s->set);
        s->set = ns;
        s->capset = nc;
    }
    int32_t j = (int32_t)(h & (uint64_t)(s->capset - 1));
    while (s->set[j]) {
        if (s->set[j] == h) return 0;
        j = (j + 1) & (s->capset - 1);
    }
    s->set[j] = h;
    s->nset++;
    return 0;
}

static int bind_hll(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)b, (void)a, (void)d;
    sp->type = QV_T_INT64;
    return 0;
}

static inline uint64_t value_hash(const vec *v, int k) {
    switch (type_pc(v->type)) {
    case PC_I: return hash_mix64((uint64_t)v->i[k] ^ 0x5eed);
    case PC_F: return hash_mix64(dbl_key_bits(v->f[k]) ^ 0x5eed);
    case PC_S: return hash_bytes(v->s[k].p, (size_t)v->s[k].n, 0x5eed);
    }
    return 0;
}

static int up_hll(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)sp;
    return hll_add(c, st, value_hash(in[0], k));
}

static int batch_hll(agg_ctx *c, const agg_spec *sp, char *states, size_t stride, const int32_t *gids,
                     const vec *const *in, int m) {
    (void)sp;
    const vec *v = in[0];
    for (int k = 0; k < m; k++) {
        if (vec_null(v, k)) continue;
        hll_state *s = (hll_state *)(states + stride * (size_t)gids[k]);
        uint64_t h = value_hash(v, k);
        if (s->reg && h) reg_add(s->reg, h);
        else if (hll_add(c, s, h)) return c->err->code;
    }
    return 0;
}

static int mg_hll(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)sp;
    hll_state *d = dp, *s = sp2;
    if (s->reg) {
        if (!d->reg && to_sketch(c, d)) return c->err->code;
        for (int i = 0; i < HLL_M; i++)
            if (s->reg[i] > d->reg[i]) d->reg[i] = s->reg[i];
        return 0;
    }
    for (int32_t i = 0; i < s->capset; i++)
        if (s->set[i] && hll_add(c, d, s->set[i])) return c->err->code;
    return 0;
}

static double hll_sigma(double x) {
    if (x == 1) return INFINITY;
    double y = 1, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (z != zp);
    return z;
}

static double hll_tau(double x) {
    if (x == 0 || x == 1) return 0;
    double y = 1, z = 1 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (z != zp);
    return z / 3;
}

_Static_assert(HLL_Q + 2 == AGG_HLL_LEVELS && HLL_M == AGG_HLL_REGS && SMALL_MAX == AGG_HLL_EXACT, "the sketch's shape in functions.h");

int64_t agg_hll_estimate(const int64_t *cnt) {
    double m = HLL_M, z = m * hll_tau(1 - (double)cnt[HLL_Q + 1] / m);
    for (int j = HLL_Q; j >= 1; j--) z = 0.5 * (z + (double)cnt[j]);
    z += m * hll_sigma((double)cnt[0] / m);
    return (int64_t)llround(m * m / (2 * log(2)) / z);
}

uint64_t agg_hll_hash(const vec *v, int k) {
    uint64_t h = value_hash(v, k);
    return h ? h : 1;
}

void agg_hll_split(uint64_t h, uint32_t *idx, uint8_t *rho) {
    uint64_t w = h << HLL_P;
    *idx = (uint32_t)(h >> HLL_Q);
    *rho = w ? (uint8_t)(__builtin_clzll(w) + 1) : HLL_Q + 1;
}

static int fin_hll(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c, (void)sp;
    hll_state *s = st;
    if (!s->reg) { out->i[k] = s->nset; return 0; }
    int64_t cnt[HLL_Q + 2] = {0};
    for (int i = 0; i < HLL_M; i++) cnt[s->reg[i]]++;
    out->i[k] = agg_hll_estimate(cnt);
    return 0;
}

const agg_def agg_def_hll = {"approx_count_distinct", 1, 1, AGN_SKIP, sizeof(hll_state), false, bind_hll, up_hll, mg_hll, fin_hll,
                             hll_destroy, "approximate number of distinct values (HyperLogLog)", batch_hll};
