/* The operators past the comparisons (parser.h's op_kind after OP_NEG):
   IS [NOT] DISTINCT FROM, which never yields NULL, and the bitwise ones on
   INTEGER / BIGINT (& | xor << >> ~), whose range rules follow DuckDB:
   a left shift refuses a negative amount, a negative operand, an amount of
   the type's width or more (except for 0) and a result that overflows; a
   right shift by a negative amount or by the width or more gives 0. */
#include "expr_int.h"

/* Row k of v is NULL, an untyped NULL vector included. */
static inline bool is_null_at(const vec *v, int k) { return v->type == T_NULL || vec_null(v, k); }

static int eval_distinct(const bexpr *e, const vec *a, const vec *b, vec *out, int n) {
    vec_reset(out, QV_T_BOOL, n);
    phys_class pc = type_pc(e->args[0]->type);
    bool want_distinct = e->op == OP_DISTINCT;
    for (int k = 0; k < n; k++) {
        bool na = is_null_at(a, k), nb = is_null_at(b, k), eq;
        if (na || nb) eq = na && nb;
        else if (pc == PC_I) eq = a->i[k] == b->i[k];
        else if (pc == PC_F) eq = dbl_eq(a->f[k], b->f[k]); /* NaN equals NaN, as in DuckDB */
        else eq = sv_cmp(a->s[k], b->s[k]) == 0;
        out->i[k] = eq != want_distinct;
    }
    return 0;
}

/* x << s in a type of `bits` bits (32 or 64); 0 or an error. */
static int shift_left(int64_t x, int64_t s, int bits, int64_t *r, qv_err *err) {
    if (s < 0) return qv_err_set(err, QV_EINVAL, "cannot left-shift by a negative amount (%lld)", (long long)s);
    if (x < 0) return qv_err_set(err, QV_EINVAL, "cannot left-shift a negative number (%lld)", (long long)x);
    if (s >= bits) {
        if (x == 0) { *r = 0; return 0; }
        return qv_err_set(err, QV_EINVAL, "left-shift amount %lld is out of range for %s", (long long)s,
                          bits == 32 ? "INTEGER" : "BIGINT");
    }
    int64_t max = bits == 32 ? INT32_MAX : INT64_MAX;
    if ((max >> s) < x)
        return qv_err_set(err, QV_EINVAL, "integer overflow in left shift (%lld << %lld)", (long long)x, (long long)s);
    *r = (int64_t)((uint64_t)x << s);
    return 0;
}

static int eval_bitwise(const bexpr *e, const vec *a, const vec *b, vec *out, int n, qv_err *err) {
    vec_reset(out, e->type, n);
    int bits = e->type == QV_T_INT32 ? 32 : 64;
    for (int k = 0; k < n; k++) {
        if (is_null_at(a, k) || is_null_at(b, k)) {
            vec_set_null(out, k);
            out->i[k] = 0;
            continue;
        }
        int64_t x = a->i[k], y = b->i[k], r = 0;
        switch ((op_kind)e->op) {
        case OP_BAND: r = x & y; break;
        case OP_BOR: r = x | y; break;
        case OP_BXOR: r = x ^ y; break;
        case OP_SHL:
            if (shift_left(x, y, bits, &r, err)) return err->code;
            break;
        case OP_SHR: r = (y < 0 || y >= bits) ? 0 : x >> y; break;
        case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_IDIV: case OP_MOD: case OP_CONCAT:
        case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_AND: case OP_OR:
        case OP_NOT: case OP_NEG: case OP_DISTINCT: case OP_NOT_DISTINCT: case OP_BNOT: case OP_POW:
            return qv_err_set(err, QV_EINTERNAL, "operator %d is not bitwise", e->op);
        }
        out->i[k] = r;
    }
    return 0;
}

int expr_ops_eval(const bexpr *e, const vec *a, const vec *b, vec *out, int n, qv_err *err) {
    if (e->op == OP_DISTINCT || e->op == OP_NOT_DISTINCT) return eval_distinct(e, a, b, out, n);
    return eval_bitwise(e, a, b, out, n, err);
}

int expr_bnot_eval(const bexpr *e, const vec *a, vec *out, int n) {
    vec_reset(out, e->type, n);
    for (int k = 0; k < n; k++) {
        if (is_null_at(a, k)) {
            vec_set_null(out, k);
            out->i[k] = 0;
        } else {
            out->i[k] = ~a->i[k]; /* ~ of an INTEGER stays within INTEGER */
        }
    }
    return 0;
}
