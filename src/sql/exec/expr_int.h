/* Expression evaluation's pieces shared by its files: expr.c (the
   dispatcher and the kinds evaluated over their arguments) and expr_case.c
   (CASE, which evaluates each branch over the rows still undecided) and
   expr_like.c (LIKE / ILIKE). */
#ifndef QUIVER_SQL_EXPR_INT_H
#define QUIVER_SQL_EXPR_INT_H

#include "exec.h"

static inline int sv_cmp(sv a, sv b) {
    int32_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, (size_t)n) : 0;
    if (c) return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

/* s LIKE p (ci: ILIKE), by UTF-8 characters (expr_like.c). bytes_ok: what
   expr_like_bytes_ok(p, pn, ci) says, computed once per pattern (the byte
   loop is exact for that pattern over any string). */
bool expr_like_bytes_ok(const char *p, int32_t pn, bool ci);
bool expr_like_match(const char *s, int32_t sn, const char *p, int32_t pn, bool ci, bool bytes_ok);

/* CASE [operand] WHEN ... THEN ... [ELSE ...] END over the active rows of in. */
int expr_case_eval(const bexpr *e, const chunk *in, vec *out, qv_err *err);

/* Operators after OP_NEG (expr_ops.c): IS [NOT] DISTINCT FROM and the
   binary bitwise ones over a and b; ~ over a. */
int expr_ops_eval(const bexpr *e, const vec *a, const vec *b, vec *out, int n, qv_err *err);
int expr_bnot_eval(const bexpr *e, const vec *a, vec *out, int n);

/* A cast from or to a DECIMAL type, not from or to text (expr_dec.c); lit:
   the source is a decimal literal, converted through its digits. */
int expr_dec_cast(qv_type from, qv_type to, const vec *a, int k, vec *out, int j, bool lit, qv_err *err);

#endif
