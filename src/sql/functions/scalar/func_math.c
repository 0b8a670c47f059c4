/* Numeric scalar functions and the comparison-like ones (greatest, least,
   nullif, hash). DuckDB's semantics: the logarithm of 0 is -inf, of a
   negative number (and the square root of one) NaN. */
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EACH_ROW for (int k = 0; k < n; k++) if (!vec_null(out, k))

static int ev_abs(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    if (type_pc(e->type) == PC_F) {
        EACH_ROW out->f[k] = fabs(a[0].f[k]);
        return 0;
    }
    EACH_ROW {
        int64_t v = a[0].i[k];
        if (v == INT64_MIN || (e->type == QV_T_INT32 && v == INT32_MIN)) return fn_err(err, e, "integer overflow");
        out->i[k] = v < 0 ? -v : v;
    }
    return 0;
}

static int ev_sign(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    if (type_pc(a[0].type) == PC_F) {
        EACH_ROW out->i[k] = (a[0].f[k] > 0) - (a[0].f[k] < 0);
    } else {
        EACH_ROW out->i[k] = (a[0].i[k] > 0) - (a[0].i[k] < 0);
    }
    return 0;
}

/* Half away from zero at d decimals, computed in long double so that the
   scaling does not round first (864.05 is below 864.05 and rounds to 864.0). */
static double round_to(double x, int64_t d) {
    if (d > 300) return x;
    if (d < -300) return 0;
    long double r;
    if (d >= 0) {
        long double m = powl(10.0L, (long double)d);
        r = roundl((long double)x * m) / m;
    } else {
        long double m = powl(10.0L, (long double)-d);
        r = roundl((long double)x / m) * m;
    }
    return isfinite((double)r) ? (double)r : x;
}

/* A literal such as 1.2345 is a DECIMAL to DuckDB: round (or, for trunc,
   cut) its shortest decimal text, not its binary value. */
static double decimal_cut(double x, int64_t d, bool cut) {
    if (!isfinite(x) || d > 300) return x;
    char buf[48], dig[24], out[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    const char *q = buf;
    bool neg = *q == '-';
    if (neg) q++;
    int nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') dig[nd++] = *q;
    int e10 = atoi(q + 1);
    int64_t keep = e10 + 1 + d; /* digits before the rounding point */
    if (keep >= nd) return x;
    if (keep < 0) return neg && !cut ? -0.0 : 0.0;
    bool up = !cut && dig[keep] >= '5';
    int len = (int)keep;
    for (int i = len - 1; up && i >= 0; i--) {
        if (dig[i] == '9') dig[i] = '0';
        else { dig[i]++; up = false; }
    }
    snprintf(out, sizeof out, "%s%s%.*se%lld", neg ? "-" : "", up ? "1" : "", len, dig, (long long)(e10 + 1 - keep));
    if (!len && !up) return neg && !cut ? -0.0 : 0.0; /* a DECIMAL has no -0 to cut to */
    return strtod(out, NULL);
}
static double round_decimal(double x, int64_t d) { return decimal_cut(x, d, false); }

static int ev_round(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    bool has_d = e->nargs > 1;
    if (type_pc(e->type) == PC_F) {
        bool lit = bexpr_is_decimal_lit(e->args[0]);
        EACH_ROW out->f[k] = lit ? round_decimal(a[0].f[k], has_d ? a[1].i[k] : 0) : round_to(a[0].f[k], has_d ? a[1].i[k] : 0);
        return 0;
    }
    EACH_ROW {
        int64_t v = a[0].i[k], d = has_d ? a[1].i[k] : 0;
        if (d < 0 && d > -19) {
            int64_t m = 1;
            for (int64_t t = 0; t < -d; t++) m *= 10;
            int64_t q = v / m, r = v % m;
            if (r * 2 >= m) q++;
            else if (r * 2 <= -m) q--;
            if (__builtin_mul_overflow(q, m, &v)) return fn_err(err, e, "integer overflow");
        } else if (d <= -19) {
            v = 0;
        }
        if (e->type == QV_T_INT32 && (v > INT32_MAX || v < INT32_MIN)) return fn_err(err, e, "integer overflow");
        out->i[k] = v;
    }
    return 0;
}

/* trunc of a DOUBLE at d decimals, as DuckDB: scaled in double precision,
   and x itself when the scale or the scaled value is not finite. */
static double trunc_to(double x, int64_t d) {
    if (d == 0) return trunc(x);
    double m = pow(10.0, (double)(d < 0 ? -d : d));
    if (!isfinite(m)) return x;
    if (d < 0) return trunc(x / m) * m;
    double s = x * m;
    return isfinite(s) ? trunc(s) / m : x;
}

/* trunc(x[, d]): toward zero; integers keep their type (DuckDB) and are only
   changed by a negative d. */
static int ev_trunc(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    bool has_d = e->nargs > 1;
    if (type_pc(e->type) == PC_F) {
        bool lit = bexpr_is_decimal_lit(e->args[0]);
        EACH_ROW {
            int64_t d = has_d ? a[1].i[k] : 0;
            out->f[k] = lit ? decimal_cut(a[0].f[k], d, true) : trunc_to(a[0].f[k], d);
        }
        return 0;
    }
    EACH_ROW {
        int64_t v = a[0].i[k], d = has_d ? a[1].i[k] : 0;
        if (d <= -19) v = 0;
        else if (d < 0) {
            int64_t m = 1;
            for (int64_t t = 0; t < -d; t++) m *= 10;
            v -= v % m;
        }
        out->i[k] = v;
    }
    return 0;
}

static int ev_floor(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    if (type_pc(e->type) == PC_F) {
        EACH_ROW out->f[k] = floor(a[0].f[k]);
    } else {
        EACH_ROW out->i[k] = a[0].i[k];
    }
    return 0;
}

static int ev_ceil(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    if (type_pc(e->type) == PC_F) {
        EACH_ROW out->f[k] = ceil(a[0].f[k]);
    } else {
        EACH_ROW out->i[k] = a[0].i[k];
    }
    return 0;
}

#define UNARY_F(NAME, EXPR)                                                      \
    static int NAME(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {      \
        (void)e, (void)err;                                                      \
        EACH_ROW { double x = a[0].f[k]; out->f[k] = (EXPR); }                   \
        return 0;                                                                \
    }
UNARY_F(ev_sqrt, x < 0 ? NAN : sqrt(x))
UNARY_F(ev_ln, x < 0 ? NAN : log(x))
UNARY_F(ev_log10, x < 0 ? NAN : log10(x))
UNARY_F(ev_log2, x < 0 ? NAN : log2(x))
UNARY_F(ev_exp, exp(x))

static int ev_power(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->f[k] = pow(a[0].f[k], a[1].f[k]);
    return 0;
}

/* log(x) is base 10; log(b, x) base b (as DuckDB) */
static int ev_log(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    if (e->nargs == 1) {
        EACH_ROW out->f[k] = a[0].f[k] < 0 ? NAN : log10(a[0].f[k]);
        return 0;
    }
    EACH_ROW {
        double bs = a[0].f[k], x = a[1].f[k];
        out->f[k] = (bs < 0 || x < 0) ? NAN : log(x) / log(bs);
    }
    return 0;
}

/* ---- greatest / least / nullif: arguments unified to one type ---- */
static bexpr *bind_unify_all(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    bool ok;
    qv_type t = T_NULL;
    for (int i = 0; i < e->nargs; i++) {
        qv_type at = e->args[i]->type;
        if (type_pc(at) == PC_S && e->args[i]->kind == B_CONST) continue; /* takes the others' type */
        t = bd_common_type(t, at, &ok);
        if (!ok || at == T_INTERVAL) {
            char m[240];
            snprintf(m, sizeof m, "%s: arguments of types %s and %s cannot be compared", fd->name,
                     type_name(e->args[0]->type), type_name(at));
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
    }
    if (t == T_NULL) {
        for (int i = 0; i < e->nargs; i++)
            if (e->args[i]->type != T_NULL) t = e->args[i]->type;
        if (t == T_NULL) t = QV_T_INT32;
    }
    if (t == QV_T_FLOAT32) t = QV_T_FLOAT64;
    if (t == QV_T_SYMBOL) t = QV_T_STRING;
    for (int i = 0; i < e->nargs; i++)
        if (!(e->args[i] = bind_coerce(b, e->args[i], t))) return NULL;
    e->type = t;
    snprintf(e->tz, sizeof e->tz, "%s", bd_pick_tz(e->args[0], NULL));
    return e;
}

static int cmp_row(phys_class pc, const vec *x, const vec *y, int k) {
    value p = {0}, q = {0};
    if (pc == PC_I) { p.i = x->i[k]; q.i = y->i[k]; }
    else if (pc == PC_F) { p.f = x->f[k]; q.f = y->f[k]; }
    else { p.s = x->s[k]; q.s = y->s[k]; }
    return value_cmp(pc, &p, &q);
}

static void put_row(vec *out, int k, const vec *src) {
    switch (type_pc(out->type)) {
    case PC_I: out->i[k] = src->i[k]; break;
    case PC_F: out->f[k] = src->f[k]; break;
    case PC_S: out->s[k] = src->s[k]; break;
    }
}

static int extreme(const bexpr *e, vec *a, int n, vec *out, int sign) {
    phys_class pc = type_pc(e->type);
    for (int k = 0; k < n; k++) {
        int best = -1;
        for (int j = 0; j < e->nargs; j++) {
            if (a[j].type == T_NULL || vec_null(&a[j], k)) continue;
            if (best < 0 || cmp_row(pc, &a[j], &a[best], k) * sign > 0) best = j;
        }
        if (best < 0) fn_set_null(out, k);
        else put_row(out, k, &a[best]);
    }
    return 0;
}
static int ev_greatest(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return extreme(e, a, n, out, 1); }
static int ev_least(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return extreme(e, a, n, out, -1); }

static int ev_nullif(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    phys_class pc = type_pc(e->type);
    for (int k = 0; k < n; k++) {
        if (a[0].type == T_NULL || vec_null(&a[0], k)) { fn_set_null(out, k); continue; }
        bool eq = a[1].type != T_NULL && !vec_null(&a[1], k) && cmp_row(pc, &a[0], &a[1], k) == 0;
        if (eq) fn_set_null(out, k);
        else put_row(out, k, &a[0]);
    }
    return 0;
}

/* hash(x, ...): BIGINT (DuckDB returns UBIGINT with its own function; ours
   agrees on equality: equal values, equal hashes; NULL hashes too). */
static int ev_hash(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    for (int k = 0; k < n; k++) {
        uint64_t h = 0x9E3779B97F4A7C15ULL;
        for (int j = 0; j < e->nargs; j++) {
            const vec *v = &a[j];
            if (v->type == T_NULL || vec_null(v, k)) { h = hash_bytes("", 0, h ^ 0x5bd1e995); continue; }
            switch (type_pc(v->type)) {
            case PC_I: h = hash_bytes(&v->i[k], 8, h); break;
            case PC_F: {
                uint64_t d = dbl_key_bits(v->f[k]);
                h = hash_bytes(&d, 8, h);
                break;
            }
            case PC_S: h = hash_bytes(v->s[k].p, (size_t)v->s[k].n, h); break;
            }
        }
        out->i[k] = (int64_t)h;
    }
    return 0;
}

const sfunc_def sfunc_math[] = {
    {"abs", 1, 1, "N", '0', NULL, ev_abs, SF_STRICT, "absolute value"},
    {"round", 1, 2, "NI", '0', bind_dec_round, ev_round, SF_STRICT, "round(x[, d]): half away from zero to d decimals"},
    {"trunc", 1, 2, "NI", '0', bind_dec_round, ev_trunc, SF_STRICT, "trunc(x[, d]): toward zero at d decimals"},
    {"floor", 1, 1, "N", '0', bind_dec_round, ev_floor, SF_STRICT, "largest integer not above x"},
    {"ceil", 1, 1, "N", '0', bind_dec_round, ev_ceil, SF_STRICT, "smallest integer not below x"},
    {"ceiling", 1, 1, "N", '0', bind_dec_round, ev_ceil, SF_STRICT, "alias of ceil"},
    {"sign", 1, 1, "N", 'i', NULL, ev_sign, SF_STRICT, "-1, 0 or 1"},
    {"sqrt", 1, 1, "F", 'F', NULL, ev_sqrt, SF_STRICT, "square root (NaN below 0)"},
    {"ln", 1, 1, "F", 'F', NULL, ev_ln, SF_STRICT, "natural logarithm"},
    {"log10", 1, 1, "F", 'F', NULL, ev_log10, SF_STRICT, "base-10 logarithm"},
    {"log2", 1, 1, "F", 'F', NULL, ev_log2, SF_STRICT, "base-2 logarithm"},
    {"log", 1, 2, "F", 'F', NULL, ev_log, SF_STRICT, "log(x) base 10, log(b, x) base b"},
    {"exp", 1, 1, "F", 'F', NULL, ev_exp, SF_STRICT, "e to the x"},
    {"power", 2, 2, "F", 'F', NULL, ev_power, SF_STRICT, "x to the y"},
    {"pow", 2, 2, "F", 'F', NULL, ev_power, SF_STRICT, "alias of power"},
    {"greatest", 1, 64, "A", 'A', bind_unify_all, ev_greatest, 0, "largest non-NULL argument"},
    {"least", 1, 64, "A", 'A', bind_unify_all, ev_least, 0, "smallest non-NULL argument"},
    {"nullif", 2, 2, "A", 'A', bind_unify_all, ev_nullif, 0, "NULL if a = b, else a"},
    {"hash", 1, 64, "A", 'I', NULL, ev_hash, 0, "64-bit hash of the arguments"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
