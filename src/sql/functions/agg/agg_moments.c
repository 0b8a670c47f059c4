/*
** Aggregates with a small fixed state: the shape moments (skewness, kurtosis,
** kurtosis_pop), geomean, the compensated sums fsum and favg, bit_and/bit_or/
** bit_xor and any_value. Every one merges, so parallel partial aggregation
** and the window segment tree both use it as is.
**
** The moments keep central moments (mean, M2, M3, M4) updated one value at a
** time and combined pairwise (Pebay's formulas), not raw power sums: a
** constant group then has M2 exactly 0 (NULL, as DuckDB), and a large mean
** does not cancel away the spread.
*/
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The argument must be numeric (NULL literal passes) and is coerced to t. */
static int moments_arg_need(binder *b, ast *a, agg_spec *sp, bool (*ok)(qv_type), const char *what, qv_type t) {
    bexpr *x = sp->in[0];
    if (x->type != T_NULL && !ok(x->type)) {
        char m[240];
        snprintf(m, sizeof m, "aggregate %s needs %s argument, got %s", a->name, what, type_name(x->type));
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (x->type != t && !(sp->in[0] = bind_coerce(b, x, t))) return -1;
    sp->arg = sp->in[0];
    return 0;
}

static bool moments_is_num(qv_type t) { return type_is_num(t); }
static bool moments_is_int(qv_type t) { return t == QV_T_INT32 || t == QV_T_INT64; }

static int bind_dbl(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    if (moments_arg_need(b, a, sp, moments_is_num, "a numeric", QV_T_FLOAT64)) return -1;
    sp->type = QV_T_FLOAT64;
    return 0;
}

/* ---- skewness / kurtosis / kurtosis_pop ---- */
typedef struct mom_state {
    int64_t n;
    double mean, m2, m3, m4;
} mom_state;

static int up_mom(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp;
    mom_state *s = st;
    double x = in[0]->f[k], n1 = (double)s->n, n = n1 + 1;
    double d = x - s->mean, dn = d / n, dn2 = dn * dn, t = d * dn * n1;
    s->mean += dn;
    s->m4 += t * dn2 * (n * n - 3 * n + 3) + 6 * dn2 * s->m2 - 4 * dn * s->m3;
    s->m3 += t * dn * (n - 2) - 3 * dn * s->m2;
    s->m2 += t;
    s->n++;
    return 0;
}

static int mg_mom(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    mom_state *a = dp, *b = sp2;
    if (!b->n) return 0;
    if (!a->n) { *a = *b; return 0; }
    double na = (double)a->n, nb = (double)b->n, n = na + nb;
    double d = b->mean - a->mean, d2 = d * d;
    /* M4 and M3 read the old lower moments: update from the top down */
    a->m4 += b->m4 + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n) +
             6 * d2 * (na * na * b->m2 + nb * nb * a->m2) / (n * n) + 4 * d * (na * b->m3 - nb * a->m3) / n;
    a->m3 += b->m3 + d * d2 * na * nb * (na - nb) / (n * n) + 3 * d * (na * b->m2 - nb * a->m2) / n;
    a->m2 += b->m2 + d2 * na * nb / n;
    a->mean += d * nb / n;
    a->n += b->n;
    return 0;
}

/* DuckDB: skewness needs n > 2, kurtosis n > 3, kurtosis_pop n > 0; a zero
   variance gives NULL; a result that is not finite (NaN or infinite input,
   overflow) is an error. */
static int fin_mom(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    const mom_state *s = st;
    int64_t need = sp->fn == AG_SKEWNESS ? 3 : sp->fn == AG_KURTOSIS ? 4 : 1;
    if (s->n < need || s->m2 == 0) { fn_set_null(out, k); return 0; }
    double n = (double)s->n, m2 = s->m2 / n, r;
    if (sp->fn == AG_SKEWNESS) {
        r = sqrt(n * (n - 1)) / (n - 2) * (s->m3 / n) / pow(m2, 1.5);
    } else {
        double g = (s->m4 / n) / (m2 * m2);
        r = sp->fn == AG_KURTOSIS_POP ? g - 3 : (n - 1) * ((n + 1) * g - 3 * (n - 1)) / ((n - 2) * (n - 3));
    }
    if (!isfinite(r))
        return qv_err_set(c->err, QV_EINVAL, "%s: the result is out of range (NaN or infinite input, or overflow)",
                          agg_defs[sp->fn]->name);
    out->f[k] = r;
    return 0;
}

/* ---- geomean: exp of the mean natural log (0 gives 0, a negative NaN) ---- */
typedef struct gm_state {
    int64_t n;
    double logs;
} gm_state;

static int up_gm(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp;
    gm_state *s = st;
    s->logs += log(in[0]->f[k]);
    s->n++;
    return 0;
}

static int mg_gm(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    gm_state *a = dp, *b = sp2;
    a->logs += b->logs;
    a->n += b->n;
    return 0;
}

static int fin_gm(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c, (void)sp;
    const gm_state *s = st;
    if (!s->n) fn_set_null(out, k);
    else out->f[k] = exp(s->logs / (double)s->n);
    return 0;
}

/* ---- fsum / favg: Kahan-Babuska (Neumaier) compensated sums ---- */
typedef struct ks_state {
    int64_t n;
    double sum, comp; /* the running sum and the low-order bits it lost */
} ks_state;

static void ks_add(ks_state *s, double x) {
    double t = s->sum + x;
    if (fabs(s->sum) >= fabs(x)) s->comp += (s->sum - t) + x;
    else s->comp += (x - t) + s->sum;
    s->sum = t;
}

static int up_ks(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c, (void)sp;
    ks_state *s = st;
    ks_add(s, in[0]->f[k]);
    s->n++;
    return 0;
}

static int mg_ks(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    ks_state *a = dp, *b = sp2;
    if (!b->n) return 0;
    ks_add(a, b->sum);
    a->comp += b->comp;
    a->n += b->n;
    return 0;
}

static int fin_ks(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    const ks_state *s = st;
    if (!s->n) { fn_set_null(out, k); return 0; }
    /* once the sum is infinite or NaN the compensation is meaningless (inf - inf) */
    double v = isfinite(s->sum) ? s->sum + s->comp : s->sum;
    out->f[k] = sp->fn == AG_FAVG ? v / (double)s->n : v;
    return 0;
}

/* ---- bit_and / bit_or / bit_xor over INTEGER and BIGINT ---- */
typedef struct bit_state {
    int64_t n, v;
} bit_state;

static int bind_bits(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)d;
    qv_type t = sp->in[0]->type == T_NULL ? QV_T_INT64 : sp->in[0]->type; /* bit_and(NULL): BIGINT, as DuckDB */
    if (moments_arg_need(b, a, sp, moments_is_int, "an INTEGER or BIGINT", t)) return -1;
    sp->type = t; /* sign-extended INTEGERs stay INTEGERs under and/or/xor */
    return 0;
}

static void bit_fold(agg_id fn, bit_state *s, int64_t x) {
    if (!s->n) s->v = x;
    else if (fn == AG_BIT_AND) s->v &= x;
    else if (fn == AG_BIT_OR) s->v |= x;
    else s->v ^= x;
}

static int up_bits(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    (void)c;
    bit_state *s = st;
    bit_fold(sp->fn, s, in[0]->i[k]);
    s->n++;
    return 0;
}

static int mg_bits(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c;
    bit_state *a = dp, *b = sp2;
    if (!b->n) return 0;
    bit_fold(sp->fn, a, b->v);
    a->n += b->n;
    return 0;
}

static int fin_bits(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c, (void)sp;
    const bit_state *s = st;
    if (!s->n) fn_set_null(out, k);
    else out->i[k] = s->v;
    return 0;
}

/* ---- any_value: the first non-NULL value in table order ---- */
typedef struct any_state {
    bool set;
    value v;
} any_state;

static int bind_any(binder *b, ast *a, agg_spec *sp, const agg_def *d) {
    (void)a, (void)d;
    if (sp->in[0]->type == T_NULL && !(sp->in[0] = bind_coerce(b, sp->in[0], QV_T_INT32))) return -1;
    sp->arg = sp->in[0];
    sp->type = sp->in[0]->type;
    memcpy(sp->tz, sp->in[0]->tz, sizeof sp->tz);
    return 0;
}

static int up_any(agg_ctx *c, const agg_spec *sp, void *st, const vec *const *in, int k) {
    any_state *s = st;
    if (s->set) return 0;
    s->set = true;
    const vec *v = in[0];
    switch (type_pc(sp->type)) {
    case PC_I: s->v.i = v->i[k]; break;
    case PC_F: s->v.f = v->f[k]; break;
    case PC_S: s->v.s = (sv){agg_keep_str(c, v->s[k]), v->s[k].n}; break;
    }
    return 0;
}

static int mg_any(agg_ctx *c, const agg_spec *sp, void *dp, void *sp2) {
    (void)c, (void)sp;
    any_state *a = dp, *b = sp2;
    if (!a->set && b->set) *a = *b; /* b's strings live in the operator's blocks */
    return 0;
}

static int fin_any(agg_ctx *c, const agg_spec *sp, void *st, vec *out, int k) {
    (void)c;
    const any_state *s = st;
    if (!s->set) { fn_set_null(out, k); return 0; }
    switch (type_pc(sp->type)) {
    case PC_I: out->i[k] = s->v.i; break;
    case PC_F: out->f[k] = s->v.f; break;
    case PC_S: out->s[k] = s->v.s; break;
    }
    return 0;
}

#define MOM_AGG(VAR, NAME, STATE, BIND, UP, MG, FIN, DESC) \
    const agg_def VAR = {NAME, 1, 1, AGN_SKIP, sizeof(STATE), false, BIND, UP, MG, FIN, NULL, DESC, NULL}
MOM_AGG(agg_def_skewness, "skewness", mom_state, bind_dbl, up_mom, mg_mom, fin_mom, "sample skewness (NULL below 3 values)");
MOM_AGG(agg_def_kurtosis, "kurtosis", mom_state, bind_dbl, up_mom, mg_mom, fin_mom, "sample excess kurtosis (NULL below 4 values)");
MOM_AGG(agg_def_kurtosis_pop, "kurtosis_pop", mom_state, bind_dbl, up_mom, mg_mom, fin_mom, "population excess kurtosis");
MOM_AGG(agg_def_geomean, "geomean", gm_state, bind_dbl, up_gm, mg_gm, fin_gm, "geometric mean, exp(avg(ln(x)))");
MOM_AGG(agg_def_fsum, "fsum", ks_state, bind_dbl, up_ks, mg_ks, fin_ks, "compensated (Kahan-Babuska) DOUBLE sum");
MOM_AGG(agg_def_favg, "favg", ks_state, bind_dbl, up_ks, mg_ks, fin_ks, "mean over a compensated DOUBLE sum");
MOM_AGG(agg_def_bit_and, "bit_and", bit_state, bind_bits, up_bits, mg_bits, fin_bits, "bitwise AND of the integers");
MOM_AGG(agg_def_bit_or, "bit_or", bit_state, bind_bits, up_bits, mg_bits, fin_bits, "bitwise OR of the integers");
MOM_AGG(agg_def_bit_xor, "bit_xor", bit_state, bind_bits, up_bits, mg_bits, fin_bits, "bitwise XOR of the integers");
MOM_AGG(agg_def_any_value, "any_value", any_state, bind_any, up_any, mg_any, fin_any, "a non-NULL value (Quiver: the first in table order)");
