/* More numeric scalar functions: trigonometry, pi/degrees/radians, cbrt,
   mod, the float predicates (isnan, isinf, isfinite, signbit), even,
   factorial, gcd and lcm. DuckDB's semantics: a trigonometric function
   outside its domain (asin(2), sin(inf)) gives NaN rather than an error;
   integer overflow is an error. */
#include "functions.h"

#include <math.h>
#include <stdio.h>

#define EACH_ROW for (int k = 0; k < n; k++) if (!vec_null(out, k))

#define UNARY_F(NAME, EXPR)                                                      \
    static int NAME(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {      \
        (void)e, (void)err;                                                      \
        EACH_ROW { double x = a[0].f[k]; out->f[k] = (EXPR); }                   \
        return 0;                                                                \
    }
/* libm already answers NaN outside the domain, as DuckDB does */
UNARY_F(ev_sin, sin(x))
UNARY_F(ev_cos, cos(x))
UNARY_F(ev_tan, tan(x))
UNARY_F(ev_asin, asin(x))
UNARY_F(ev_acos, acos(x))
UNARY_F(ev_atan, atan(x))
UNARY_F(ev_cot, 1.0 / tan(x))
UNARY_F(ev_cbrt, cbrt(x))
/* the factor first, as DuckDB: x * 180 / pi differs from it in the last bit */
UNARY_F(ev_degrees, x * (180.0 / M_PI))
UNARY_F(ev_radians, x * (M_PI / 180.0))

/* Away from zero to the next even integer: even(1) = 2, even(-0.5) = -2. */
static double even_of(double x) {
    if (!isfinite(x)) return x;
    double v = x >= 0 ? ceil(x) : floor(x);
    if (fmod(v, 2.0) != 0) v += x >= 0 ? 1.0 : -1.0;
    return v;
}
UNARY_F(ev_even, even_of(x))

static int ev_atan2(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->f[k] = atan2(a[0].f[k], a[1].f[k]);
    return 0;
}

static int ev_pi(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)a, (void)err;
    for (int k = 0; k < n; k++) out->f[k] = M_PI;
    return 0;
}

#define PRED_F(NAME, EXPR)                                                       \
    static int NAME(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {      \
        (void)e, (void)err;                                                      \
        EACH_ROW { double x = a[0].f[k]; out->i[k] = (EXPR) != 0; }              \
        return 0;                                                                \
    }
PRED_F(ev_isnan, isnan(x))
PRED_F(ev_isinf, isinf(x))
PRED_F(ev_isfinite, isfinite(x))
/* the sign bit itself: true for -0.0 and for a NaN with the bit set */
PRED_F(ev_signbit, signbit(x))

/* mod(a, b) is a % b: bound to the same operator so both always agree. */
static bool mod_operand_ok(qv_type t) { return t == T_NULL || type_is_num(t); }

static bexpr *bind_mod(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    bexpr *x = e->args[0], *y = e->args[1];
    /* a string constant takes the other side's numeric type, as with % */
    if (type_pc(x->type) == PC_S && x->kind == B_CONST && type_is_num(y->type) && !(x = bind_coerce(b, x, y->type)))
        return NULL;
    if (type_pc(y->type) == PC_S && y->kind == B_CONST && type_is_num(x->type) && !(y = bind_coerce(b, y, x->type)))
        return NULL;
    if (!mod_operand_ok(x->type) || !mod_operand_ok(y->type)) {
        char m[240];
        snprintf(m, sizeof m, "%s: arguments must be numbers, got %s and %s", fd->name, type_name(x->type),
                 type_name(y->type));
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    bd_dec_literals(b, &x, &y); /* mod(d, 0.3): 0.3 as DECIMAL(1, 1), as with % */
    bool ok;
    qv_type rt = bd_common_type(x->type, y->type, &ok);
    if (type_pc(rt) == PC_F) rt = QV_T_FLOAT64;
    if (rt == T_NULL) rt = QV_T_INT32;
    if (!(x = bind_coerce(b, x, rt)) || !(y = bind_coerce(b, y, rt))) return NULL;
    bexpr *m = bd_mk(b, B_BINARY, rt, 2);
    m->op = OP_MOD;
    m->args[0] = x;
    m->args[1] = y;
    return m;
}

/* DuckDB returns HUGEINT and so reaches 33!; Quiver has no 128-bit type, so
   BIGINT, and 21! and above are out of range. */
static int ev_factorial(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        int64_t v = a[0].i[k], r = 1;
        if (v < 0) return fn_err(err, e, "factorial of a negative number (%lld) is undefined", (long long)v);
        if (v > 20) return fn_err(err, e, "%lld! is out of range for BIGINT (20! is the largest)", (long long)v);
        for (int64_t i = 2; i <= v; i++) r *= i;
        out->i[k] = r;
    }
    return 0;
}

/* Euclid on the signed values, the sign dropped at the end: so gcd(INT64_MIN, 2)
   is 2, while gcd(INT64_MIN, 0) overflows (as DuckDB). */
static int gcd_of(const bexpr *e, int64_t x, int64_t y, int64_t *r, qv_err *err) {
    while (y) {
        int64_t t = y == -1 ? 0 : x % y; /* INT64_MIN % -1 traps in C; it is 0 */
        x = y;
        y = t;
    }
    if (x == INT64_MIN) return fn_err(err, e, "integer overflow (the result is 2^63)");
    *r = x < 0 ? -x : x;
    return 0;
}

static int ev_gcd(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW if (gcd_of(e, a[0].i[k], a[1].i[k], &out->i[k], err)) return err->code;
    return 0;
}

static int ev_lcm(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        int64_t x = a[0].i[k], y = a[1].i[k], g = 1, r;
        if (x == 0 || y == 0) { out->i[k] = 0; continue; }
        if (gcd_of(e, x, y, &g, err)) return err->code;
        if (__builtin_mul_overflow(x / g, y, &r) || r == INT64_MIN) return fn_err(err, e, "integer overflow");
        out->i[k] = r < 0 ? -r : r;
    }
    return 0;
}

const sfunc_def sfunc_math_more[] = {
    {"pi", 0, 0, "", 'F', NULL, ev_pi, 0, "pi (3.14159...)"},
    {"sin", 1, 1, "F", 'F', NULL, ev_sin, SF_STRICT, "sine (radians)"},
    {"cos", 1, 1, "F", 'F', NULL, ev_cos, SF_STRICT, "cosine (radians)"},
    {"tan", 1, 1, "F", 'F', NULL, ev_tan, SF_STRICT, "tangent (radians)"},
    {"cot", 1, 1, "F", 'F', NULL, ev_cot, SF_STRICT, "cotangent, 1 / tan(x)"},
    {"asin", 1, 1, "F", 'F', NULL, ev_asin, SF_STRICT, "arcsine (NaN outside [-1, 1])"},
    {"acos", 1, 1, "F", 'F', NULL, ev_acos, SF_STRICT, "arccosine (NaN outside [-1, 1])"},
    {"atan", 1, 1, "F", 'F', NULL, ev_atan, SF_STRICT, "arctangent"},
    {"atan2", 2, 2, "FF", 'F', NULL, ev_atan2, SF_STRICT, "atan2(y, x): the angle of the point (x, y)"},
    {"degrees", 1, 1, "F", 'F', NULL, ev_degrees, SF_STRICT, "radians to degrees"},
    {"radians", 1, 1, "F", 'F', NULL, ev_radians, SF_STRICT, "degrees to radians"},
    {"cbrt", 1, 1, "F", 'F', NULL, ev_cbrt, SF_STRICT, "cube root"},
    {"mod", 2, 2, "A", 'A', bind_mod, NULL, 0, "mod(a, b): a % b"},
    {"isnan", 1, 1, "F", 'B', NULL, ev_isnan, SF_STRICT, "x is NaN"},
    {"isinf", 1, 1, "F", 'B', NULL, ev_isinf, SF_STRICT, "x is infinite"},
    {"isfinite", 1, 1, "F", 'B', NULL, ev_isfinite, SF_STRICT, "x is neither infinite nor NaN"},
    {"signbit", 1, 1, "F", 'B', NULL, ev_signbit, SF_STRICT, "the sign bit of x is set (true for -0.0)"},
    {"even", 1, 1, "F", 'F', NULL, ev_even, SF_STRICT, "away from zero to the next even integer"},
    {"factorial", 1, 1, "I", 'I', NULL, ev_factorial, SF_STRICT, "n! (BIGINT; 0 to 20)"},
    {"gcd", 2, 2, "II", 'I', NULL, ev_gcd, SF_STRICT, "greatest common divisor"},
    {"greatest_common_divisor", 2, 2, "II", 'I', NULL, ev_gcd, SF_STRICT, "alias of gcd"},
    {"lcm", 2, 2, "II", 'I', NULL, ev_lcm, SF_STRICT, "least common multiple"},
    {"least_common_multiple", 2, 2, "II", 'I', NULL, ev_lcm, SF_STRICT, "alias of lcm"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
