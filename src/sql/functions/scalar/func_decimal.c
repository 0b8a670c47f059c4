/* round, trunc, floor and ceil of a DECIMAL, exactly on its scaled integer,
   with DuckDB's result types: round(x, d) is DECIMAL(p, d) for 0 <= d < s
   (DECIMAL(p, 0) for d < 0, x's own type for d >= s), trunc(x, d) the same,
   and floor, ceil, round(x) and trunc(x) are DECIMAL(p, 0). The
   number of digits must be a constant for a DECIMAL, as the result's type
   depends on it. Other numbers are the functions' own (func_math.c). */
#include "functions.h"

#include <stdio.h>

enum { DR_ROUND, DR_TRUNC, DR_FLOOR, DR_CEIL };

/* v / m (m > 0) rounded by mode. */
static int64_t div_mode(int64_t v, int64_t m, int mode) {
    int64_t q = v / m, r = v % m; /* toward zero */
    switch (mode) {
    case DR_ROUND:
        if (r * 2 >= m) q++;
        else if (r * 2 <= -m) q--;
        break;
    case DR_TRUNC: break;
    case DR_FLOOR: q -= r < 0; break;
    case DR_CEIL: q += r > 0; break;
    }
    return q;
}

static int ev_dec_round(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    int s = dec_scale(e->args[0]->type), rs = dec_scale(e->type), p = dec_prec(e->type);
    int64_t d = e->nargs > 1 ? e->args[1]->cval.i : 0;
    if (d > s) d = s;
    if (d < -QV_DEC_MAX_PREC) d = -QV_DEC_MAX_PREC;
    int64_t m = qv_dec_pow10((int)(s - d)), up = qv_dec_pow10((int)(rs - d));
    bool huge = s - d > QV_DEC_MAX_PREC; /* every |v| < 10^18 rounds to 0 */
    for (int k = 0; k < n; k++) {
        if (vec_null(out, k)) continue;
        int64_t q = huge ? 0 : div_mode(a[0].i[k], m, e->op), r;
        if (__builtin_mul_overflow(q, up, &r) || !qv_dec_fits(r, p))
            return fn_err(err, e, "the result does not fit %s", type_name(e->type));
        out->i[k] = r;
    }
    return 0;
}

static const sfunc_def dec_defs[] = {
    [DR_ROUND] = {"round", 1, 2, "NI", '0', NULL, ev_dec_round, SF_STRICT, "round of a DECIMAL"},
    [DR_TRUNC] = {"trunc", 1, 2, "NI", '0', NULL, ev_dec_round, SF_STRICT, "trunc of a DECIMAL"},
    [DR_FLOOR] = {"floor", 1, 1, "N", '0', NULL, ev_dec_round, SF_STRICT, "floor of a DECIMAL"},
    [DR_CEIL] = {"ceil", 1, 1, "N", '0', NULL, ev_dec_round, SF_STRICT, "ceil of a DECIMAL"},
};

bexpr *bind_dec_round(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    if (!type_is_dec(e->args[0]->type)) return e;
    int mode = fd->name[0] == 'r' ? DR_ROUND : fd->name[0] == 't' ? DR_TRUNC : fd->name[0] == 'f' ? DR_FLOOR : DR_CEIL;
    int p = dec_prec(e->args[0]->type), s = dec_scale(e->args[0]->type);
    int64_t d = 0;
    if (e->nargs > 1) {
        const bexpr *x = e->args[1];
        if (x->kind != B_CONST) {
            char m[160];
            snprintf(m, sizeof m, "%s of a DECIMAL needs a constant number of digits (its result type depends on it)", fd->name);
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
        if (x->cval.null) return e; /* NULL digits: the strict call is NULL */
        d = x->cval.i;
    }
    int rs = d > 0 ? (d < s ? (int)d : s) : 0; /* floor and ceil have d = 0 */
    bexpr *r = bd_mk(b, B_FUNC, type_dec(p, rs), e->nargs);
    r->fn = &dec_defs[mode];
    r->op = mode;
    for (int i = 0; i < e->nargs; i++) r->args[i] = e->args[i];
    return r;
}
