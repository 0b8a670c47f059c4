/* Vectorized evaluation of bound expressions over the active rows of a chunk.
   The output vector is dense: its row k is the chunk's k-th active row.
   CASE is in expr_case.c. */
#include "expr_int.h"
#include "functions.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


static int eval_col(const bexpr *e, const chunk *in, vec *out) {
    const vec *src = &in->cols[e->col];
    int n = chunk_active(in);
    if (src->codes) { /* SYMBOL codes: look up the strings of the active rows only */
        vec_reset(out, e->type, n);
        for (int k = 0; k < n; k++) {
            int r = chunk_row(in, k);
            if (vec_null(src, r)) {
                vec_set_null(out, k);
                out->s[k] = (sv){"", 0};
            } else {
                out->s[k] = vec_sym_str(src, r);
            }
        }
        return 0;
    }
    if (!in->has_sel && src->type == e->type && src->n >= n) {
        vec_borrow(out, src);
        out->n = n;
        return 0;
    }
    vec_reset(out, e->type, n);
    phys_class pc = type_pc(e->type);
    if (!in->has_sel) {
        if (pc == PC_I) memcpy(out->i, src->i, sizeof(int64_t) * (size_t)n);
        else if (pc == PC_F) memcpy(out->f, src->f, sizeof(double) * (size_t)n);
        else memcpy(out->s, src->s, sizeof(sv) * (size_t)n);
        if (src->has_nulls) {
            memcpy(out->nulls, src->nulls, (size_t)n);
            out->has_nulls = true;
        }
        return 0;
    }
    const int *sel = in->sel;
    if (pc == PC_I) for (int k = 0; k < n; k++) out->i[k] = src->i[sel[k]];
    else if (pc == PC_F) for (int k = 0; k < n; k++) out->f[k] = src->f[sel[k]];
    else for (int k = 0; k < n; k++) out->s[k] = src->s[sel[k]];
    if (src->has_nulls) {
        for (int k = 0; k < n; k++) out->nulls[k] = src->nulls[sel[k]];
        out->has_nulls = true;
    }
    return 0;
}

static void fill_const(const bexpr *e, vec *out, int n) {
    vec_reset(out, e->type, n);
    if (e->cval.null || e->type == T_NULL) {
        memset(out->nulls, 1, (size_t)n);
        out->has_nulls = n > 0;
        return;
    }
    switch (type_pc(e->type)) {
    case PC_I: for (int k = 0; k < n; k++) out->i[k] = e->cval.i; break;
    case PC_F: for (int k = 0; k < n; k++) out->f[k] = e->cval.f; break;
    case PC_S: for (int k = 0; k < n; k++) out->s[k] = e->cval.s; break;
    }
}

static void merge_nulls(vec *out, const vec *a, const vec *b, int n) {
    if (a && a->has_nulls) {
        for (int k = 0; k < n; k++) out->nulls[k] |= a->nulls[k];
        out->has_nulls = true;
    }
    if (b && b->has_nulls) {
        for (int k = 0; k < n; k++) out->nulls[k] |= b->nulls[k];
        out->has_nulls = true;
    }
}

#define CMP_LOOP(EXPR)                                                          \
    switch (e->op) {                                                            \
    case OP_EQ: for (int k = 0; k < n; k++) { int c = EXPR; out->i[k] = c == 0; } break; \
    case OP_NE: for (int k = 0; k < n; k++) { int c = EXPR; out->i[k] = c != 0; } break; \
    case OP_LT: for (int k = 0; k < n; k++) { int c = EXPR; out->i[k] = c < 0; } break;  \
    case OP_LE: for (int k = 0; k < n; k++) { int c = EXPR; out->i[k] = c <= 0; } break; \
    case OP_GT: for (int k = 0; k < n; k++) { int c = EXPR; out->i[k] = c > 0; } break;  \
    case OP_GE: for (int k = 0; k < n; k++) { int c = EXPR; out->i[k] = c >= 0; } break; \
    }

/* Doubles: each operator in its own branch-free total-order form (sql_base.h). */
#define FCMP_LOOP(A, B)                                                                              \
    switch (e->op) {                                                                                 \
    case OP_EQ: for (int k = 0; k < n; k++) out->i[k] = dbl_eq((A), (B)); break;                     \
    case OP_NE: for (int k = 0; k < n; k++) out->i[k] = !dbl_eq((A), (B)); break;                    \
    case OP_LT: for (int k = 0; k < n; k++) out->i[k] = dbl_lt((A), (B)); break;                     \
    case OP_LE: for (int k = 0; k < n; k++) out->i[k] = !dbl_lt((B), (A)); break;                    \
    case OP_GT: for (int k = 0; k < n; k++) out->i[k] = dbl_lt((B), (A)); break;                     \
    case OP_GE: for (int k = 0; k < n; k++) out->i[k] = !dbl_lt((A), (B)); break;                    \
    }

/* Doubles against a number (not NaN): the one-comparison forms of sql_base.h. */
#define FNUM_LOOP(A, K)                                                                              \
    switch (e->op) {                                                                                 \
    case OP_EQ: for (int k = 0; k < n; k++) out->i[k] = (A) == (K); break;                           \
    case OP_NE: for (int k = 0; k < n; k++) out->i[k] = !((A) == (K)); break;                        \
    case OP_LT: for (int k = 0; k < n; k++) out->i[k] = (A) < (K); break;                            \
    case OP_LE: for (int k = 0; k < n; k++) out->i[k] = (A) <= (K); break;                           \
    case OP_GT: for (int k = 0; k < n; k++) out->i[k] = !((A) <= (K)); break;                        \
    case OP_GE: for (int k = 0; k < n; k++) out->i[k] = !((A) < (K)); break;                         \
    }

static int eval_compare(const bexpr *e, vec *a, vec *b, vec *out, int n) {
    vec_reset(out, QV_T_BOOL, n);
    phys_class pc = type_pc(e->args[0]->type);
    if (e->args[0]->type == T_NULL || e->args[1]->type == T_NULL) {
        memset(out->nulls, 1, (size_t)n);
        out->has_nulls = n > 0;
        return 0;
    }
    if (pc == PC_I) { CMP_LOOP((a->i[k] > b->i[k]) - (a->i[k] < b->i[k])) }
    else if (pc == PC_F) { FCMP_LOOP(a->f[k], b->f[k]) }
    else { CMP_LOOP(sv_cmp(a->s[k], b->s[k])) }
    merge_nulls(out, a, b, n);
    return 0;
}

/* column <op> constant: the common filter shape, without materializing the constant */
static int eval_compare_const(const bexpr *e, const chunk *in, vec *out, qv_err *err) {
    int n = chunk_active(in);
    const bexpr *x = e->args[0];
    const value *cv = &e->args[1]->cval;
    vec tmp;
    vec_init(&tmp, x->type);
    const vec *a;
    if (x->kind == B_COL && in->cols[x->col].codes && (e->op == OP_EQ || e->op == OP_NE)) {
        a = &in->cols[x->col];
        int32_t code = vec_sym_code(a, cv->s);
        bool eq = e->op == OP_EQ;
        vec_reset(out, QV_T_BOOL, n);
        for (int k = 0; k < n; k++) {
            int r = chunk_row(in, k);
            out->i[k] = (a->codes[r] == code) == eq;
            if (vec_null(a, r)) vec_set_null(out, k);
        }
        return 0;
    }
    if (x->kind == B_COL && !in->has_sel && !in->cols[x->col].codes) a = &in->cols[x->col];
    else {
        if (expr_eval(x, in, &tmp, err)) {
            vec_free(&tmp);
            return err->code;
        }
        a = &tmp;
    }
    vec_reset(out, QV_T_BOOL, n);
    phys_class pc = type_pc(x->type);
    if (pc == PC_I) {
        int64_t kc = cv->i;
        CMP_LOOP((a->i[k] > kc) - (a->i[k] < kc))
    } else if (pc == PC_F) {
        double kc = cv->f;
        if (kc == kc) { FNUM_LOOP(a->f[k], kc) }
        else { FCMP_LOOP(a->f[k], kc) }
    } else {
        /* Column values that are the same view (a SYMBOL dictionary entry) compare
           the same way: remember the outcome per view within this chunk. */
        sv kc = cv->s;
        struct { const char *p; int32_t n; int c; } memo[32];
        memset(memo, 0, sizeof memo);
        int8_t *cs = qv_xmalloc((size_t)(n ? n : 1));
        for (int k = 0; k < n; k++) {
            sv s = a->s[k];
            int slot = (int)((((uint64_t)(uintptr_t)s.p + (uint64_t)s.n) * 0x9E3779B97F4A7C15ULL) >> 59);
            if (memo[slot].p == s.p && memo[slot].n == s.n && s.p) {
                cs[k] = (int8_t)memo[slot].c;
                continue;
            }
            int c = sv_cmp(s, kc);
            c = (c > 0) - (c < 0);
            cs[k] = (int8_t)c;
            memo[slot].p = s.p;
            memo[slot].n = s.n;
            memo[slot].c = c;
        }
        CMP_LOOP(cs[k])
        free(cs);
    }
    if (a->has_nulls) {
        memcpy(out->nulls, a->nulls, (size_t)n);
        out->has_nulls = true;
    }
    vec_free(&tmp);
    return 0;
}

static int overflow(qv_err *err, const char *what, qv_type t) {
    if (type_is_dec(t))
        return qv_err_set(err, QV_EINVAL, "overflow in %s %s: the result does not fit %d digits", type_name(t), what, dec_prec(t));
    return qv_err_set(err, QV_EINVAL, "integer overflow in %s %s", type_name(t), what);
}

static int eval_arith(const bexpr *e, vec *a, vec *b, vec *out, int n, qv_err *err) {
    vec_reset(out, e->type, n);
    merge_nulls(out, a, b, n);
    if (e->args[0]->type == T_NULL || e->args[1]->type == T_NULL) {
        memset(out->nulls, 1, (size_t)n);
        out->has_nulls = n > 0;
        return 0;
    }
    const uint8_t *nu = out->has_nulls ? out->nulls : NULL;
    if (e->type == QV_T_STRING) { /* || */
        for (int k = 0; k < n; k++) {
            if (nu && nu[k]) continue;
            char *d = vec_heap_alloc(out, (size_t)a->s[k].n + (size_t)b->s[k].n + 1);
            memcpy(d, a->s[k].p, (size_t)a->s[k].n);
            memcpy(d + a->s[k].n, b->s[k].p, (size_t)b->s[k].n);
            out->s[k].p = d;
            out->s[k].n = a->s[k].n + b->s[k].n;
        }
        return 0;
    }
    if (type_pc(e->type) == PC_F && (e->op == OP_ADD || e->op == OP_SUB || e->op == OP_MUL)) {
        /* the ops that cannot fail, one loop each (NULL rows give 0, as below) */
        double *restrict o = out->f;
        const double *restrict x = a->f, *restrict y = b->f;
        if (e->op == OP_ADD) for (int k = 0; k < n; k++) o[k] = x[k] + y[k];
        else if (e->op == OP_SUB) for (int k = 0; k < n; k++) o[k] = x[k] - y[k];
        else for (int k = 0; k < n; k++) o[k] = x[k] * y[k];
        if (nu) for (int k = 0; k < n; k++) o[k] = nu[k] ? 0 : o[k];
        return 0;
    }
    if (type_pc(e->type) == PC_F) {
        /* operands arrive as doubles (binder casts); a float op on ints: `/` */
        for (int k = 0; k < n; k++) {
            if (nu && nu[k]) { out->f[k] = 0; continue; }
            double x = a->f[k], y = b->f[k], r = 0;
            switch (e->op) {
            case OP_ADD: r = x + y; break;
            case OP_SUB: r = x - y; break;
            case OP_MUL: r = x * y; break;
            case OP_DIV: r = x / y; break; /* IEEE, as DuckDB 2: x / 0 is ±inf, 0 / 0 NaN */
            case OP_IDIV:
                if (y == 0) return qv_err_set(err, QV_EINVAL, "division by zero"); /* DuckDB too */
                r = x / y; /* DuckDB: // on doubles divides without flooring */
                break;
            case OP_MOD: r = fmod(x, y); break; /* NaN for y = 0, as DuckDB */
            }
            out->f[k] = r;
        }
        return 0;
    }
    bool i32 = e->type == QV_T_INT32;
    for (int k = 0; k < n; k++) {
        if (nu && nu[k]) { out->i[k] = 0; continue; }
        int64_t x = a->i[k], y = b->i[k], r = 0;
        switch (e->op) {
        case OP_ADD: if (__builtin_add_overflow(x, y, &r)) return overflow(err, "addition", e->type); break;
        case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) return overflow(err, "subtraction", e->type); break;
        case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) return overflow(err, "multiplication", e->type); break;
        case OP_DIV:
        case OP_IDIV:
            if (y == 0) return qv_err_set(err, QV_EINVAL, "division by zero");
            if (x == INT64_MIN && y == -1) return overflow(err, "division", e->type);
            r = x / y; /* truncates toward zero, as DuckDB's // on integers */
            break;
        case OP_MOD:
            if (y == 0) return qv_err_set(err, QV_EINVAL, "division by zero");
            r = (y == -1) ? 0 : x % y;
            break;
        }
        if (type_is_dec(e->type) && !qv_dec_fits(r, dec_prec(e->type)))
            return overflow(err, e->op == OP_ADD ? "addition" : e->op == OP_SUB ? "subtraction" : "multiplication", e->type);
        if (e->type == QV_T_DATE && (r < QV_DATE_MIN || r > QV_DATE_MAX))
            return qv_err_set(err, QV_EINVAL, "date out of range: the result of DATE %s is beyond 5881580-07-10 or "
                              "5877642-06-25 (BC)", e->op == OP_ADD ? "addition" : "subtraction");
        if (i32 && (r < INT32_MIN || r > INT32_MAX)) {
            const char *w = e->op == OP_ADD ? "addition" : e->op == OP_SUB ? "subtraction"
                          : e->op == OP_MUL ? "multiplication" : "division";
            return overflow(err, w, e->type);
        }
        out->i[k] = r;
    }
    return 0;
}

static int eval_logic(const bexpr *e, vec *a, vec *b, vec *out, int n) {
    vec_reset(out, QV_T_BOOL, n);
    bool an = a->has_nulls, bn = b->has_nulls;
    for (int k = 0; k < n; k++) {
        bool xa = an && a->nulls[k], xb = bn && b->nulls[k];
        bool va = a->i[k] != 0, vb = b->i[k] != 0;
        if (e->op == OP_AND) {
            if ((!xa && !va) || (!xb && !vb)) out->i[k] = 0;
            else if (xa || xb) { out->i[k] = 0; vec_set_null(out, k); }
            else out->i[k] = 1;
        } else {
            if ((!xa && va) || (!xb && vb)) out->i[k] = 1;
            else if (xa || xb) { out->i[k] = 0; vec_set_null(out, k); }
            else out->i[k] = 0;
        }
    }
    return 0;
}

/* Cast one value; returns 0 or an error. */
/* half_away: a constant (DuckDB reads 2.5 as a DECIMAL, which rounds half away
   from zero); DOUBLE values round half to even, as DuckDB's casts do. */
static int cast_value(qv_type from, qv_type to, const vec *a, int k, vec *out, int j, bool half_away, qv_err *err) {
    phys_class fp = type_pc(from), tp = type_pc(to);
    char buf[64];
    if (from == to || (fp == PC_S && tp == PC_S)) {
        if (tp == PC_I) out->i[j] = a->i[k];
        else if (tp == PC_F) out->f[j] = a->f[k];
        else out->s[j] = a->s[k];
        return 0;
    }
    if (tp == PC_S) { /* the source type's text form */
        int l = sql_type_get(from)->format(a, k, buf, sizeof buf);
        vec_set_str(out, j, buf, l);
        return 0;
    }
    if (fp == PC_S) { /* the target type's text parser, on the trimmed text */
        sv s = a->s[k];
        int32_t sn = s.n;
        const char *sp = s.p;
        while (sn && isspace((unsigned char)*sp)) { sp++; sn--; }
        while (sn && isspace((unsigned char)sp[sn - 1])) sn--;
        if (sn < (int32_t)sizeof buf) {
            memcpy(buf, sp, (size_t)sn);
            buf[sn] = 0;
            if (!sql_type_get(to)->parse(buf, (size_t)sn, out, j)) return 0;
        }
        return qv_err_set(err, QV_EINVAL, "could not convert string '%.*s' to %s", s.n > 60 ? 60 : s.n, s.p,
                          type_name(to));
    }
    if (type_is_dec(from) || type_is_dec(to)) return expr_dec_cast(from, to, a, k, out, j, half_away, err);
    if (to == QV_T_DATE && from == QV_T_TIMESTAMP) {
        out->i[j] = qv_date_from_ts(a->i[k]);
        return 0;
    }
    if (to == QV_T_TIME && from == QV_T_TIMESTAMP) { /* the time of day, rounding the day toward the past */
        const int64_t day = 86400 * (int64_t)1000000000;
        int64_t r = a->i[k] % day;
        out->i[j] = r < 0 ? r + day : r;
        return 0;
    }
    if (to == QV_T_TIMESTAMP && from == QV_T_DATE) {
        if (qv_date_to_ts(a->i[k], &out->i[j])) return 0;
        qv_date_format(a->i[k], buf, sizeof buf);
        return qv_err_set(err, QV_EINVAL, "DATE '%s' is outside the TIMESTAMP range (1677-09-22 .. 2262-04-11)", buf);
    }
    if (tp == PC_F) {
        double v = fp == PC_F ? a->f[k] : (double)a->i[k];
        if (to == QV_T_FLOAT32 && isfinite(v) && fabs(v) > FLT_MAX)
            return qv_err_set(err, QV_EINVAL, "value %g is out of range for FLOAT32", v);
        out->f[j] = to == QV_T_FLOAT32 ? (double)(float)v : v;
        return 0;
    }
    /* to an integer-class type */
    int64_t v;
    if (fp == PC_F) {
        double d = a->f[k];
        if (to == QV_T_BOOL) { out->i[j] = d != 0; return 0; }
        double r = half_away ? round(d) : nearbyint(d);
        if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
            return qv_err_set(err, QV_EINVAL, "value %g is out of range for %s", d, type_name(to));
        v = (int64_t)r;
    } else {
        v = a->i[k];
    }
    if (to == QV_T_BOOL) v = v != 0;
    if (to == QV_T_INT32 && (v < INT32_MIN || v > INT32_MAX))
        return qv_err_set(err, QV_EINVAL, "value %lld is out of range for INT32", (long long)v);
    out->i[j] = v;
    return 0;
}

static int eval_unary(const bexpr *e, const vec *a, int n, vec *out, qv_err *err) {
    vec_reset(out, e->type, n);
    merge_nulls(out, a, NULL, n);
    if (e->op == OP_NOT) {
        for (int k = 0; k < n; k++) out->i[k] = !a->i[k];
    } else if (type_pc(e->type) == PC_F) {
        for (int k = 0; k < n; k++) out->f[k] = -a->f[k];
    } else {
        for (int k = 0; k < n; k++) {
            if (vec_null(out, k)) continue;
            int64_t v = a->i[k];
            if (v == INT64_MIN || (e->type == QV_T_INT32 && v == INT32_MIN)) return overflow(err, "negation", e->type);
            out->i[k] = -v;
        }
    }
    return 0;
}

/* CAST, and TRY_CAST (e->neg), whose failed rows are NULL instead. */
static int eval_cast(const bexpr *e, const vec *a, int n, vec *out, qv_err *err) {
    int rc = 0;
    vec_reset(out, e->type, n);
    merge_nulls(out, a, NULL, n);
    if (e->args[0]->type == T_NULL) return 0;
    if (e->type == QV_T_FLOAT64 && type_pc(e->args[0]->type) == PC_I && !type_is_dec(e->args[0]->type)) { /* cast_value's integer to DOUBLE, in one loop */
        double *restrict o = out->f;
        const int64_t *restrict x = a->i;
        for (int k = 0; k < n; k++) o[k] = (double)x[k];
        return 0;
    }
    for (int k = 0; k < n && !rc; k++)
        if (!vec_null(out, k)) {
            rc = cast_value(e->args[0]->type, e->type, a, k, out, k, bexpr_is_decimal_lit(e->args[0]), err);
            if (rc && e->neg) { /* TRY_CAST */
                rc = 0;
                vec_set_null(out, k);
                if (type_pc(e->type) == PC_S) out->s[k] = (sv){"", 0};
            }
        }
    return rc;
}

/* args[0] [NOT] IN (args[1], ...): NULL when no value matches and one is NULL. */
static void eval_in(const bexpr *e, const vec *args, int na, int n, vec *out) {
    vec_reset(out, QV_T_BOOL, n);
    phys_class pc = type_pc(e->args[0]->type);
    for (int k = 0; k < n; k++) {
        if (vec_null(&args[0], k)) { vec_set_null(out, k); out->i[k] = 0; continue; }
        bool found = false, sawnull = false;
        for (int j = 1; j < na && !found; j++) {
            if (vec_null(&args[j], k)) { sawnull = true; continue; }
            if (pc == PC_I) found = args[0].i[k] == args[j].i[k];
            else if (pc == PC_F) found = dbl_eq(args[0].f[k], args[j].f[k]);
            else found = sv_cmp(args[0].s[k], args[j].s[k]) == 0;
        }
        if (found) out->i[k] = !e->neg;
        else if (sawnull) { out->i[k] = 0; vec_set_null(out, k); }
        else out->i[k] = e->neg;
    }
}

static void eval_like(const bexpr *e, const vec *args, int n, vec *out) {
    vec_reset(out, QV_T_BOOL, n);
    merge_nulls(out, &args[0], &args[1], n);
    sv last = {NULL, -1};
    bool bytes_ok = false;
    for (int k = 0; k < n; k++) {
        if (vec_null(out, k)) { out->i[k] = 0; continue; }
        sv p = args[1].s[k];
        if (p.p != last.p || p.n != last.n) { /* a constant pattern is looked at once */
            bytes_ok = expr_like_bytes_ok(p.p, p.n, e->ilike);
            last = p;
        }
        out->i[k] = expr_like_match(args[0].s[k].p, args[0].s[k].n, p.p, p.n, e->ilike, bytes_ok) != e->neg;
    }
}

static void eval_coalesce(const bexpr *e, const vec *args, int na, int n, vec *out) {
    vec_reset(out, e->type, n);
    for (int k = 0; k < n; k++) {
        int j = 0;
        while (j < na && vec_null(&args[j], k)) j++;
        if (j == na) {
            vec_set_null(out, k);
            if (type_pc(e->type) == PC_I) out->i[k] = 0;
            else if (type_pc(e->type) == PC_F) out->f[k] = 0;
            else out->s[k] = (sv){"", 0};
        } else {
            if (type_pc(e->type) == PC_I) out->i[k] = args[j].i[k];
            else if (type_pc(e->type) == PC_F) out->f[k] = args[j].f[k];
            else out->s[k] = args[j].s[k];
        }
    }
}

/* EXTRACT(field FROM ts): e->op the field; DOUBLE for the fractional ones. */
static void eval_extract(const bexpr *e, const vec *a, int n, vec *out) {
    vec_reset(out, e->type, n);
    merge_nulls(out, a, NULL, n);
    for (int k = 0; k < n; k++) {
        if (vec_null(out, k)) continue;
        if (e->type == QV_T_FLOAT64) out->f[k] = ts_extract_f(a->i[k], e->op);
        else out->i[k] = ts_extract(a->i[k], e->op);
    }
}

/* e over its evaluated arguments: the kinds expr_eval does not finish itself. */
static int eval_over_args(const bexpr *e, vec *args, int na, int n, vec *out, qv_err *err) {
    switch (e->kind) {
    case B_UNARY:
        if (e->op == OP_BNOT) return expr_bnot_eval(e, &args[0], out, n);
        return eval_unary(e, &args[0], n, out, err);
    case B_BINARY:
        if (e->op == OP_AND || e->op == OP_OR) return eval_logic(e, &args[0], &args[1], out, n);
        if (e->op >= OP_DISTINCT) return expr_ops_eval(e, &args[0], &args[1], out, n, err);
        if (e->op >= OP_EQ && e->op <= OP_GE) return eval_compare(e, &args[0], &args[1], out, n);
        return eval_arith(e, &args[0], &args[1], out, n, err);
    case B_CAST: return eval_cast(e, &args[0], n, out, err);
    case B_INSUB: value_set_eval(e, &args[0], n, out); return 0;
    case B_ISNULL:
        vec_reset(out, QV_T_BOOL, n);
        for (int k = 0; k < n; k++) out->i[k] = vec_null(&args[0], k) != e->neg;
        return 0;
    case B_IN: eval_in(e, args, na, n, out); return 0;
    case B_LIKE: eval_like(e, args, n, out); return 0;
    case B_COALESCE: eval_coalesce(e, args, na, n, out); return 0;
    case B_EXTRACT: eval_extract(e, &args[0], n, out); return 0;
    case B_TRUNC:
        vec_reset(out, e->type, n);
        merge_nulls(out, &args[0], NULL, n);
        for (int k = 0; k < n; k++)
            if (!vec_null(out, k) && !ts_trunc(args[0].i[k], e->op, &out->i[k]))
                return ts_trunc_fail(args[0].i[k], e->op, err);
        return 0;
    case B_FUNC: return func_eval(e, args, n, out, err);
    case B_CONST: case B_PARAM: case B_SUBQ: case B_COL: case B_CASE: break; /* expr_eval's own */
    }
    return qv_err_set(err, QV_EINTERNAL, "unknown expression kind %d", e->kind);
}

/* Results that point into argument heaps must keep them: move the heaps over. */
static void heaps_move(vec *out, vec *args, int na) {
    for (int i = 0; i < na; i++) {
        if (!args[i].heap) continue;
        void **tail = &args[i].heap;
        while (*(void **)*tail) tail = (void **)*tail;
        *(void **)*tail = out->heap;
        out->heap = args[i].heap;
        args[i].heap = NULL;
    }
}

int expr_eval(const bexpr *e, const chunk *in, vec *out, qv_err *err) {
    int n = chunk_active(in);
    int rc = 0;
    switch (e->kind) {
    case B_CONST:
    case B_PARAM:
    case B_SUBQ: fill_const(e, out, n); return 0;
    case B_COL: return eval_col(e, in, out);
    case B_CASE: return expr_case_eval(e, in, out, err);
    case B_BINARY:
        if (e->op >= OP_EQ && e->op <= OP_GE && (e->args[1]->kind == B_CONST || e->args[1]->kind == B_PARAM || e->args[1]->kind == B_SUBQ) && !e->args[1]->cval.null &&
            e->args[0]->type != T_NULL && e->args[1]->type != T_NULL)
            return eval_compare_const(e, in, out, err);
        break;
    case B_UNARY: case B_FUNC: case B_CAST: case B_IN: case B_LIKE: case B_ISNULL: case B_COALESCE: case B_EXTRACT:
    case B_TRUNC: case B_INSUB: break; /* over their arguments, below */
    }
    int na = e->nargs;
    vec stackv[4];
    vec *args = na <= 4 ? stackv : qv_xcalloc((size_t)na, sizeof(vec));
    for (int i = 0; i < na; i++) vec_init(&args[i], e->args[i]->type);
    for (int i = 0; i < na && !rc; i++) rc = expr_eval(e->args[i], in, &args[i], err);
    if (!rc) rc = eval_over_args(e, args, na, n, out, err);
    if (!rc && type_pc(e->type) == PC_S) heaps_move(out, args, na);
    for (int i = 0; i < na; i++) vec_free(&args[i]);
    if (args != stackv) free(args);
    return rc;
}

int expr_eval_const(const bexpr *e, vec *out, qv_err *err) {
    chunk c;
    chunk_init(&c, 0, NULL);
    c.n = 1;
    int rc = expr_eval(e, &c, out, err);
    chunk_free(&c);
    return rc;
}
