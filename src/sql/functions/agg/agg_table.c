/* The aggregate table: names and aliases, binding, and the simple
   aggregates (one agg_state per group). The holistic and two-argument ones
   live in agg_holistic.c and agg_stats.c. */
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int agg_charge(agg_ctx *c, int64_t bytes) {
    *c->charged += bytes;
    return qstate_charge(c->qs, bytes, c->err);
}

const char *agg_keep_str(agg_ctx *c, sv s) {
    /* blocks that never move, freed with the operator */
    char *p = qv_xmalloc((size_t)s.n + sizeof(char *) + 1);
    memcpy(p, c->strings, sizeof(char *));
    *c->strings = p;
    memcpy(p + sizeof(char *), s.p, (size_t)s.n);
    return p + sizeof(char *);
}

#define ST(p) ((agg_state *)(p))

static bool is_num(qv_type t) { return type_is_num(t); }
static bool is_bool(qv_type t) { return t == QV_T_BOOL; }

/* Requires argument i to satisfy ok (NULL passes) and coerces it to t (T_NULL: keep). */
static int need_arg(binder *b, ast *a, agg_spec *sp, int i, bool (*ok)(qv_type), const char *what, qv_type t) {
    bexpr *x = sp->in[i];
    if (x->type != T_NULL && !ok(x->type)) {
        char m[240];
        snprintf(m, sizeof m, "aggregate %s needs %s argument%s, got %s", a->name, what, sp->nin > 1 ? "s" : "", type_name(x->type));
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (t != T_NULL || x->type == T_NULL) {
        if (!(sp->in[i] = bind_coerce(b, x, t == T_NULL ? QV_T_INT32 : t))) return -1;
    }
    sp->arg = sp->in[0];
    return 0;
}

/* ---- binders ---- */
static int bind_count(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)b, (void)a, (void)d;
    sp->type = QV_T_INT64;
    return 0;
}

static int bind_same(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    if (sp->in[0]->type == T_NULL && need_arg(b, a, sp, 0, is_num, "a", QV_T_INT32)) return -1;
    sp->type = sp->in[0]->type;
    memcpy(sp->tz, sp->in[0]->tz, sizeof sp->tz);
    return 0;
}

static int bind_sum(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    qv_type t = sp->in[0]->type;
    if (type_is_dec(t)) { /* exact, in DECIMAL(18, s) (DuckDB: 38 digits) */
        sp->type = type_dec(QV_DEC_MAX_PREC, dec_scale(t));
        return 0;
    }
    if (t == T_INTERVAL) { /* exact nanoseconds */
        sp->type = T_INTERVAL;
        return 0;
    }
    bool f = type_pc(t) == PC_F || t == T_NULL;
    if (need_arg(b, a, sp, 0, is_num, "a numeric", f ? QV_T_FLOAT64 : QV_T_INT64)) return -1;
    sp->type = f ? QV_T_FLOAT64 : QV_T_INT64;
    return 0;
}

static int bind_float(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    for (int i = 0; i < sp->nin; i++)
        if (need_arg(b, a, sp, i, is_num, "a numeric", QV_T_FLOAT64)) return -1;
    sp->type = QV_T_FLOAT64;
    return 0;
}

static int bind_avg(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    qv_type t = sp->in[0]->type;
    if (type_is_dec(t) || t == T_INTERVAL || t == QV_T_TIME) { /* the exact sum of the scaled values (ns), divided once */
        sp->type = t == T_INTERVAL || t == QV_T_TIME ? t : QV_T_FLOAT64; /* a TIME's mean is a TIME, as DuckDB */
        return 0;
    }
    bool i = t == QV_T_INT32 || t == QV_T_INT64; /* summed exactly: agg_sum_exact */
    if (need_arg(b, a, sp, 0, is_num, "a numeric", i ? QV_T_INT64 : QV_T_FLOAT64)) return -1;
    sp->type = QV_T_FLOAT64;
    return 0;
}

static int bind_bool(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    if (need_arg(b, a, sp, 0, is_bool, "a BOOLEAN", QV_T_BOOL)) return -1;
    sp->type = d == agg_defs[AG_COUNT_IF] ? QV_T_INT64 : QV_T_BOOL;
    return 0;
}

/* ---- simple updates ---- */
static int up_count(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp, (void)in, (void)k;
    ST(st)->cnt++;
    return 0;
}

static int up_sum(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    agg_state *s = st;
    s->cnt++;
    (void)c;
    if (agg_sum_exact(sp)) {
        s->isum += in[0]->i[k]; /* exact; sum is checked against INT64 when finalized */
    } else {
        s->fsum += in[0]->f[k];
    }
    return 0;
}

static int up_welford(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp;
    agg_state *s = st;
    double x = in[0]->f[k];
    s->cnt++;
    double d = x - s->mean;
    s->mean += d / (double)s->cnt;
    s->m2 += d * (x - s->mean);
    return 0;
}

static int keep_extreme(agg_ctx *c, const agg_spec *sp, agg_state *s, value x, bool isnew_str) {
    phys_class pc = type_pc(sp->type);
    if (s->set) {
        int cmp = value_cmp(pc, &x, &s->v);
        if (sp->fn == AG_MIN ? cmp >= 0 : cmp <= 0) return 0;
    }
    if (pc == PC_S && isnew_str) x.s.p = agg_keep_str(c, x.s);
    s->v = x;
    s->set = true;
    return 0;
}

static int up_minmax(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    agg_state *s = st;
    s->cnt++;
    return keep_extreme(c, sp, s, vec_value_at(in[0], k), true);
}

/* min/max over numbers: a tight loop per class; strings row by row */
static int batch_minmax(agg_ctx *c, const agg_spec *sp, char *states, size_t stride, const int32_t *gids,
                        const vec *const *in, int m) {
    const vec *v = in[0];
    bool mn = sp->fn == AG_MIN;
    phys_class pc = type_pc(sp->type);
    for (int k = 0; k < m; k++) {
        if (vec_null(v, k)) continue;
        agg_state *s = (agg_state *)(states + stride * (size_t)gids[k]);
        if (pc == PC_S) {
            s->cnt++;
            keep_extreme(c, sp, s, vec_value_at(v, k), true);
            continue;
        }
        s->cnt++;
        if (pc == PC_I) {
            int64_t x = v->i[k];
            if (!s->set || (mn ? x < s->v.i : x > s->v.i)) { s->v.i = x; s->set = true; }
        } else {
            double x = v->f[k];
            if (!s->set || (mn ? dbl_lt(x, s->v.f) : dbl_lt(s->v.f, x))) { s->v.f = x; s->set = true; }
        }
    }
    return 0;
}

static int up_firstlast(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    agg_state *s = st;
    if (sp->fn == AG_FIRST && s->set) return 0;
    s->set = true;
    s->vnull = vec_null(in[0], k);
    if (s->vnull) return 0;
    s->v = vec_value_at(in[0], k);
    if (type_pc(sp->type) == PC_S) s->v.s.p = agg_keep_str(c, s->v.s);
    return 0;
}

static int up_bool(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c;
    agg_state *s = st;
    if (sp->fn == AG_COUNT_IF) { /* as sum(x::INT): NULL when no value was seen */
        s->set = true;
        s->cnt += in[0]->i[k] != 0;
        return 0;
    }
    bool x = in[0]->i[k] != 0;
    if (!s->cnt) s->v.i = x;
    else if (sp->fn == AG_BOOL_AND) s->v.i &= x;
    else s->v.i |= x;
    s->cnt++;
    return 0;
}

static int up_product(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp;
    agg_state *s = st;
    s->fsum = s->cnt ? s->fsum * in[0]->f[k] : in[0]->f[k];
    s->cnt++;
    return 0;
}

/* ---- merges ---- */
static int mg_count(agg_ctx *c, const agg_spec *sp, void *d, void *s) {
    (void)c, (void)sp;
    ST(d)->cnt += ST(s)->cnt;
    return 0;
}

static int mg_sum(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    agg_state *d = dp, *s = sp2;
    (void)c;
    if (agg_sum_exact(sp)) {
        d->isum += s->isum;
    } else {
        d->fsum += s->fsum;
    }
    d->cnt += s->cnt;
    return 0;
}

static int mg_welford(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    agg_state *d = dp, *s = sp2;
    if (!s->cnt) return 0;
    if (!d->cnt) { d->cnt = s->cnt; d->mean = s->mean; d->m2 = s->m2; return 0; }
    /* combine two Welford states (Chan et al.) */
    double na = (double)d->cnt, nb = (double)s->cnt, n = na + nb;
    double delta = s->mean - d->mean;
    d->mean += delta * nb / n;
    d->m2 += s->m2 + delta * delta * na * nb / n;
    d->cnt += s->cnt;
    return 0;
}

static int mg_minmax(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    agg_state *d = dp, *s = sp2;
    if (!s->set) return 0;
    d->cnt += s->cnt;
    return keep_extreme(c, sp, d, s->v, false); /* src strings outlive the merge (the part is freed last) */
}

static int mg_firstlast(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c;
    agg_state *d = dp, *s = sp2;
    if (!s->set || (sp->fn == AG_FIRST && d->set)) return 0;
    d->set = true;
    d->vnull = s->vnull;
    d->v = s->v;
    return 0;
}

static int mg_bool(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c;
    agg_state *d = dp, *s = sp2;
    if (sp->fn == AG_COUNT_IF) { d->cnt += s->cnt; d->set |= s->set; return 0; }
    if (!s->cnt) return 0;
    if (!d->cnt) d->v.i = s->v.i;
    else if (sp->fn == AG_BOOL_AND) d->v.i &= s->v.i;
    else d->v.i |= s->v.i;
    d->cnt += s->cnt;
    return 0;
}

static int mg_product(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    agg_state *d = dp, *s = sp2;
    if (!s->cnt) return 0;
    d->fsum = d->cnt ? d->fsum * s->fsum : s->fsum;
    d->cnt += s->cnt;
    return 0;
}

/* ---- finalizers ---- */
static int fin_count(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c, (void)sp;
    out->i[k] = ST(st)->cnt;
    return 0;
}

static int fin_sum(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    agg_state *s = st;
    if (!s->cnt) fn_set_null(out, k);
    else if (agg_sum_exact(sp)) return agg_sum_result(sp, s->isum, &out->i[k], c->err);
    else out->f[k] = s->fsum;
    return 0;
}

static int fin_avg(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    agg_state *s = st;
    if (!s->cnt) fn_set_null(out, k);
    else if (sp->type == T_INTERVAL || sp->type == QV_T_TIME) out->i[k] = agg_avg_interval(s->isum, s->cnt);
    else if (agg_sum_exact(sp)) out->f[k] = agg_avg_of(sp, s->isum, s->cnt);
    else out->f[k] = s->fsum / (double)s->cnt;
    return 0;
}

static int fin_var(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    agg_state *s = st;
    bool samp = sp->fn == AG_STDDEV || sp->fn == AG_VARIANCE;
    if (s->cnt < (samp ? 2 : 1)) { fn_set_null(out, k); return 0; }
    double var = s->m2 / (double)(samp ? s->cnt - 1 : s->cnt);
    out->f[k] = sp->fn == AG_STDDEV || sp->fn == AG_STDDEV_POP ? sqrt(var) : var;
    return 0;
}

static int fin_value(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    agg_state *s = st;
    if (!s->set || s->vnull) { fn_set_null(out, k); return 0; }
    switch (type_pc(sp->type)) {
    case PC_I: out->i[k] = s->v.i; break;
    case PC_F: out->f[k] = s->v.f; break;
    case PC_S: out->s[k] = s->v.s; break;
    }
    return 0;
}

static int fin_bool(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    agg_state *s = st;
    if (sp->fn == AG_COUNT_IF) {
        if (!s->set) fn_set_null(out, k);
        else out->i[k] = s->cnt;
    }
    else if (!s->cnt) fn_set_null(out, k);
    else out->i[k] = s->v.i;
    return 0;
}

static int fin_product(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c, (void)sp;
    agg_state *s = st;
    if (!s->cnt) fn_set_null(out, k);
    else out->f[k] = s->fsum;
    return 0;
}

#define SIMPLE_B(NAME, MIN, MAX, NULLS, BIND, UP, MG, FIN, DESC, BATCH) \
    static const agg_def agg_def_##NAME = {#NAME, MIN, MAX, NULLS, sizeof(agg_state), false, BIND, UP, MG, FIN, NULL, DESC, BATCH}
#define SIMPLE(NAME, MIN, MAX, NULLS, BIND, UP, MG, FIN, DESC) SIMPLE_B(NAME, MIN, MAX, NULLS, BIND, UP, MG, FIN, DESC, NULL)
SIMPLE(count_star, 0, 0, AGN_KEEP, bind_count, up_count, mg_count, fin_count, "count(*): rows");
SIMPLE(count, 1, 1, AGN_SKIP, bind_count, up_count, mg_count, fin_count, "non-NULL values");
SIMPLE(sum, 1, 1, AGN_SKIP, bind_sum, up_sum, mg_sum, fin_sum, "sum (integers: BIGINT, overflow is an error)");
SIMPLE(avg, 1, 1, AGN_SKIP, bind_avg, up_sum, mg_sum, fin_avg, "mean");
SIMPLE_B(min, 1, 1, AGN_SKIP, bind_same, up_minmax, mg_minmax, fin_value, "smallest value", batch_minmax);
SIMPLE_B(max, 1, 1, AGN_SKIP, bind_same, up_minmax, mg_minmax, fin_value, "largest value", batch_minmax);
SIMPLE(first, 1, 1, AGN_KEEP, bind_same, up_firstlast, mg_firstlast, fin_value, "value of the first row (table order)");
SIMPLE(last, 1, 1, AGN_KEEP, bind_same, up_firstlast, mg_firstlast, fin_value, "value of the last row (table order)");
SIMPLE(stddev, 1, 1, AGN_SKIP, bind_float, up_welford, mg_welford, fin_var, "sample standard deviation");
SIMPLE(variance, 1, 1, AGN_SKIP, bind_float, up_welford, mg_welford, fin_var, "sample variance");
SIMPLE(stddev_pop, 1, 1, AGN_SKIP, bind_float, up_welford, mg_welford, fin_var, "population standard deviation");
SIMPLE(var_pop, 1, 1, AGN_SKIP, bind_float, up_welford, mg_welford, fin_var, "population variance");
SIMPLE(bool_and, 1, 1, AGN_SKIP, bind_bool, up_bool, mg_bool, fin_bool, "true if every value is true");
SIMPLE(bool_or, 1, 1, AGN_SKIP, bind_bool, up_bool, mg_bool, fin_bool, "true if any value is true");
SIMPLE(count_if, 1, 1, AGN_SKIP, bind_bool, up_bool, mg_bool, fin_bool, "rows where the condition is true");
SIMPLE(product, 1, 1, AGN_SKIP, bind_float, up_product, mg_product, fin_product, "product of the values (DOUBLE)");

const agg_def *const agg_defs[AG__COUNT] = {
    [AG_COUNT_STAR] = &agg_def_count_star, [AG_COUNT] = &agg_def_count, [AG_SUM] = &agg_def_sum,
    [AG_AVG] = &agg_def_avg, [AG_MIN] = &agg_def_min, [AG_MAX] = &agg_def_max, [AG_FIRST] = &agg_def_first,
    [AG_LAST] = &agg_def_last, [AG_STDDEV] = &agg_def_stddev, [AG_VARIANCE] = &agg_def_variance,
    [AG_STDDEV_POP] = &agg_def_stddev_pop, [AG_VAR_POP] = &agg_def_var_pop, [AG_MEDIAN] = &agg_def_median,
    [AG_QUANTILE_CONT] = &agg_def_quantile_cont, [AG_QUANTILE_DISC] = &agg_def_quantile_disc,
    [AG_MODE] = &agg_def_mode, [AG_ARG_MIN] = &agg_def_arg_min, [AG_ARG_MAX] = &agg_def_arg_max,
    [AG_STRING_AGG] = &agg_def_string_agg, [AG_BOOL_AND] = &agg_def_bool_and, [AG_BOOL_OR] = &agg_def_bool_or,
    [AG_APPROX_COUNT_DISTINCT] = &agg_def_hll, [AG_COUNT_IF] = &agg_def_count_if, [AG_PRODUCT] = &agg_def_product,
    [AG_CORR] = &agg_def_corr, [AG_COVAR_POP] = &agg_def_covar_pop, [AG_COVAR_SAMP] = &agg_def_covar_samp,
    [AG_REGR_SLOPE] = &agg_def_regr_slope, [AG_REGR_INTERCEPT] = &agg_def_regr_intercept,
    [AG_SKEWNESS] = &agg_def_skewness, [AG_KURTOSIS] = &agg_def_kurtosis, [AG_KURTOSIS_POP] = &agg_def_kurtosis_pop,
    [AG_ENTROPY] = &agg_def_entropy, [AG_GEOMEAN] = &agg_def_geomean, [AG_ANY_VALUE] = &agg_def_any_value,
    [AG_BIT_AND] = &agg_def_bit_and, [AG_BIT_OR] = &agg_def_bit_or, [AG_BIT_XOR] = &agg_def_bit_xor,
    [AG_FSUM] = &agg_def_fsum, [AG_FAVG] = &agg_def_favg, [AG_APPROX_QUANTILE] = &agg_def_approx_quantile,
};
_Static_assert(sizeof agg_defs / sizeof agg_defs[0] == AG__COUNT, "one descriptor per aggregate");

static const struct { const char *name; agg_id id; } names[] = {
    {"count", AG_COUNT}, {"sum", AG_SUM}, {"avg", AG_AVG}, {"mean", AG_AVG}, {"min", AG_MIN}, {"max", AG_MAX},
    {"first", AG_FIRST}, {"last", AG_LAST}, {"stddev", AG_STDDEV}, {"stddev_samp", AG_STDDEV},
    {"variance", AG_VARIANCE}, {"var_samp", AG_VARIANCE}, {"stddev_pop", AG_STDDEV_POP}, {"var_pop", AG_VAR_POP},
    {"median", AG_MEDIAN}, {"quantile_cont", AG_QUANTILE_CONT}, {"quantile_disc", AG_QUANTILE_DISC},
    {"quantile", AG_QUANTILE_DISC}, {"mode", AG_MODE}, {"arg_min", AG_ARG_MIN}, {"argmin", AG_ARG_MIN},
    {"min_by", AG_ARG_MIN}, {"arg_max", AG_ARG_MAX}, {"argmax", AG_ARG_MAX}, {"max_by", AG_ARG_MAX},
    {"string_agg", AG_STRING_AGG}, {"group_concat", AG_STRING_AGG}, {"listagg", AG_STRING_AGG},
    {"bool_and", AG_BOOL_AND}, {"bool_or", AG_BOOL_OR}, {"approx_count_distinct", AG_APPROX_COUNT_DISTINCT},
    {"count_if", AG_COUNT_IF}, {"countif", AG_COUNT_IF}, {"product", AG_PRODUCT}, {"corr", AG_CORR},
    {"covar_pop", AG_COVAR_POP}, {"covar_samp", AG_COVAR_SAMP}, {"regr_slope", AG_REGR_SLOPE},
    {"regr_intercept", AG_REGR_INTERCEPT}, {"skewness", AG_SKEWNESS}, {"kurtosis", AG_KURTOSIS},
    {"kurtosis_pop", AG_KURTOSIS_POP}, {"entropy", AG_ENTROPY}, {"geomean", AG_GEOMEAN},
    {"geometric_mean", AG_GEOMEAN}, {"any_value", AG_ANY_VALUE}, {"bit_and", AG_BIT_AND}, {"bit_or", AG_BIT_OR},
    {"bit_xor", AG_BIT_XOR}, {"fsum", AG_FSUM}, {"sumkahan", AG_FSUM}, {"kahan_sum", AG_FSUM}, {"favg", AG_FAVG},
    {"approx_quantile", AG_APPROX_QUANTILE},
};
#define NNAMES ((int)(sizeof names / sizeof names[0]))

const char *const agg_func_names[] = {
    "count", "sum", "avg", "mean", "min", "max", "first", "last", "stddev", "stddev_samp", "variance", "var_samp",
    "stddev_pop", "var_pop", "median", "quantile_cont", "quantile_disc", "quantile", "mode", "arg_min", "argmin",
    "min_by", "arg_max", "argmax", "max_by", "string_agg", "group_concat", "listagg", "bool_and", "bool_or",
    "approx_count_distinct", "count_if", "countif", "product", "corr", "covar_pop", "covar_samp", "regr_slope",
    "regr_intercept", "skewness", "kurtosis", "kurtosis_pop", "entropy", "geomean", "geometric_mean", "any_value",
    "bit_and", "bit_or", "bit_xor", "fsum", "sumkahan", "kahan_sum", "favg", "approx_quantile", NULL};
_Static_assert(sizeof agg_func_names / sizeof agg_func_names[0] == NNAMES + 1, "agg_func_names lists every name");

int agg_lookup(const char *name) {
    for (int i = 0; i < NNAMES; i++)
        if (!strcasecmp(names[i].name, name)) return (int)names[i].id;
    return -1;
}

static int agg_bind_in(binder *b, ast *a, agg_spec *sp, bool window);
int agg_bind(binder *b, ast *a, agg_spec *sp) { return agg_bind_in(b, a, sp, false); }
int agg_bind_window(binder *b, ast *a, agg_spec *sp) { return agg_bind_in(b, a, sp, true); }

/* window: an aggregate used as a window function, whose arguments are bound
   in b's own context (over an aggregation's output in an aggregate query). */
/* Aggregates that order, count, pick or sum their DECIMAL and INTERVAL
   arguments keep them as integers; every other one reads a DECIMAL as a
   DOUBLE and refuses an INTERVAL. ORDER BY keys keep their type. */
static int agg_typed_args(binder *b, ast *a, agg_spec *sp) {
    switch (sp->fn) {
    case AG_COUNT_STAR: case AG_COUNT: case AG_SUM: case AG_AVG: case AG_MIN: case AG_MAX: case AG_FIRST:
    case AG_LAST: case AG_ANY_VALUE: case AG_ARG_MIN: case AG_ARG_MAX: case AG_MODE: case AG_QUANTILE_DISC:
    case AG_STRING_AGG: case AG_APPROX_COUNT_DISTINCT: case AG_COUNT_IF: case AG_BOOL_AND: case AG_BOOL_OR:
        return 0;
    case AG_STDDEV: case AG_VARIANCE: case AG_STDDEV_POP: case AG_VAR_POP: case AG_MEDIAN: case AG_QUANTILE_CONT:
    case AG_PRODUCT: case AG_CORR: case AG_COVAR_POP: case AG_COVAR_SAMP: case AG_REGR_SLOPE: case AG_REGR_INTERCEPT:
    case AG_SKEWNESS: case AG_KURTOSIS: case AG_KURTOSIS_POP: case AG_ENTROPY: case AG_GEOMEAN: case AG_BIT_AND:
    case AG_BIT_OR: case AG_BIT_XOR: case AG_FSUM: case AG_FAVG: case AG_APPROX_QUANTILE: case AG__COUNT:
        break;
    }
    for (int i = 0; i < sp->nin - sp->norder; i++) {
        if (sp->in[i]->type == T_INTERVAL) {
            bd_fail(b, a, QV_EINVAL, "aggregate %s over INTERVAL values is not supported", a->name, NULL);
            return -1;
        }
        if (type_is_dec(sp->in[i]->type) && !(sp->in[i] = bind_coerce(b, sp->in[i], QV_T_FLOAT64))) return -1;
    }
    sp->arg = sp->nin ? sp->in[0] : NULL;
    return 0;
}

static int agg_bind_in(binder *b, ast *a, agg_spec *sp, bool window) {
    int id = agg_lookup(a->name);
    if (a->star) {
        if (id != AG_COUNT) { bd_fail(b, a, QV_EINVAL, "%s(*) is not allowed; only count(*)", a->name, NULL); return -1; }
        id = AG_COUNT_STAR;
    }
    const agg_def *d = agg_defs[id];
    int nargs = a->nargs - a->norder;
    char m[240];
    if (a->norder && !d->ordered) { bd_fail(b, a, QV_EINVAL, "aggregate %s does not take ORDER BY", a->name, NULL); return -1; }
    if (!a->star && (nargs < d->minargs || nargs > d->maxargs)) {
        if (d->minargs == d->maxargs)
            snprintf(m, sizeof m, "aggregate %s takes %s%d argument%s, got %d", a->name, d->minargs == 1 ? "exactly " : "",
                     d->minargs, d->minargs == 1 ? "" : "s", nargs);
        else
            snprintf(m, sizeof m, "aggregate %s takes %d to %d arguments, got %d", a->name, d->minargs, d->maxargs, nargs);
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (a->nargs > AGG_MAXIN) { bd_fail(b, a, QV_EINVAL, "aggregate %s: too many arguments and ORDER BY keys", a->name, NULL); return -1; }
    memset(sp, 0, sizeof *sp);
    sp->fn = (agg_id)id;
    sp->distinct = a->distinct;
    binder sub = *b;
    sub.agg_mode = window && b->agg_mode;
    sub.in_agg_arg = !window;
    sub.in_window = window;
    for (int i = 0; i < a->nargs && !a->star; i++) {
        if (!(sp->in[i] = bind_expr(&sub, a->args[i]))) return -1;
    }
    if (window) bd_sync_aggs(b, &sub); /* sum(sum(x)) OVER (): the inner sum is the query's */
    sp->nin = a->star ? 0 : a->nargs;
    sp->norder = a->norder;
    for (int i = 0; i < a->norder; i++) sp->order_desc[i] = (a->order_desc >> i) & 1;
    sp->arg = sp->nin ? sp->in[0] : NULL;
    if (agg_typed_args(b, a, sp)) return -1;
    if (d->bind(b, a, sp, d)) return -1;
    /* checked once bound: a constant quantile or separator is no input per row */
    if (a->distinct && sp->nin - sp->norder > 1) {
        bd_fail(b, a, QV_EINVAL, "DISTINCT is not supported for %s (more than one argument)", a->name, NULL);
        return -1;
    }
    return 0;
}
