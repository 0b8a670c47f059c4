/* Filter conditions straight to a selection vector. The common shapes
   (column <op> constant, SYMBOL column = / <> / IN string constants) are
   decided in one typed loop over the column as the scan left it, without a
   boolean vector or a copy of the column; SYMBOL columns compare dictionary
   codes. Everything else goes through expr_eval. Stateless: the caller owns
   the scratch vector and the output array. */
#include "exec.h"

#include <string.h>

/* Appends r to sel when COND holds, without a branch. */
#define SEL_LOOP(COND)                                                              \
    do {                                                                            \
        if (rows) for (int k = 0; k < m; k++) { int r = rows[k]; sel[ns] = r; ns += (COND); } \
        else for (int k = 0; k < m; k++) { int r = k; sel[ns] = r; ns += (COND); }  \
    } while (0)
#define SEL_NN(COND)                                  \
    do {                                              \
        if (nu) SEL_LOOP((COND) && !nu[r]);           \
        else SEL_LOOP(COND);                          \
    } while (0)
/* Same outcome as expr.c's comparisons, which test the sign of (a > b) - (a < b) on integers. */
#define SEL_CMP(CEXPR)                                 \
    switch (op) {                                      \
    case OP_EQ: SEL_NN((CEXPR) == 0); break;           \
    case OP_NE: SEL_NN((CEXPR) != 0); break;           \
    case OP_LT: SEL_NN((CEXPR) < 0); break;            \
    case OP_LE: SEL_NN((CEXPR) <= 0); break;           \
    case OP_GT: SEL_NN((CEXPR) > 0); break;            \
    case OP_GE: SEL_NN((CEXPR) >= 0); break;           \
    default: return -1;                                \
    }

/* Doubles: expr.c's total-order forms (NaN greatest, NaN = NaN), branch free. */
#define SEL_FCMP(A, B)                                 \
    switch (op) {                                      \
    case OP_EQ: SEL_NN(dbl_eq((A), (B))); break;       \
    case OP_NE: SEL_NN(!dbl_eq((A), (B))); break;      \
    case OP_LT: SEL_NN(dbl_lt((A), (B))); break;       \
    case OP_LE: SEL_NN(!dbl_lt((B), (A))); break;      \
    case OP_GT: SEL_NN(dbl_lt((B), (A))); break;       \
    case OP_GE: SEL_NN(!dbl_lt((A), (B))); break;      \
    default: return -1;                                \
    }

/* Doubles against a number (not NaN): the one-comparison forms of sql_base.h. */
#define SEL_FNUM(A, K)                                 \
    switch (op) {                                      \
    case OP_EQ: SEL_NN((A) == (K)); break;             \
    case OP_NE: SEL_NN(!((A) == (K))); break;          \
    case OP_LT: SEL_NN((A) < (K)); break;              \
    case OP_LE: SEL_NN((A) <= (K)); break;             \
    case OP_GT: SEL_NN(!((A) <= (K))); break;          \
    case OP_GE: SEL_NN(!((A) < (K))); break;           \
    default: return -1;                                \
    }

static int sel_compare(const bexpr *e, const chunk *in, int *sel) {
    const bexpr *x = e->args[0], *kx = e->args[1];
    if (x->kind != B_COL || (kx->kind != B_CONST && kx->kind != B_PARAM && kx->kind != B_SUBQ) || kx->cval.null || kx->type == T_NULL || x->type == T_NULL)
        return -1;
    const vec *a = &in->cols[x->col];
    phys_class pc = type_pc(x->type);
    if (type_pc(a->type) != pc) return -1;
    int op = e->op, m = chunk_active(in), ns = 0;
    const int *rows = in->has_sel ? in->sel : NULL;
    const uint8_t *nu = a->has_nulls ? a->nulls : NULL;
    if (pc == PC_I && !a->codes) {
        const int64_t *v = a->i, kc = kx->cval.i;
        SEL_CMP((v[r] > kc) - (v[r] < kc))
    } else if (pc == PC_F) {
        const double *v = a->f, kc = kx->cval.f;
        if (kc == kc) SEL_FNUM(v[r], kc)
        else SEL_FCMP(v[r], kc)
    } else if (a->codes && (op == OP_EQ || op == OP_NE)) {
        const int32_t *v = a->codes, code = vec_sym_code(a, kx->cval.s);
        if (op == OP_EQ) SEL_NN(v[r] == code);
        else SEL_NN(v[r] != code);
    } else {
        return -1;
    }
    return ns;
}

static inline bool code_in(int32_t c, const int32_t *codes, int nc) {
    bool f = false;
    for (int j = 0; j < nc; j++) f |= c == codes[j];
    return f;
}

/* SYMBOL column IN (string constants [, NULL]) on codes. */
static int sel_in(const bexpr *e, const chunk *in, int *sel) {
    const bexpr *x = e->args[0];
    if (x->kind != B_COL || e->nargs - 1 > 16) return -1;
    const vec *a = &in->cols[x->col];
    if (!a->codes) return -1;
    int32_t codes[16];
    int nc = 0;
    bool sawnull = false;
    for (int j = 1; j < e->nargs; j++) {
        const bexpr *c = e->args[j];
        if (c->kind != B_CONST && c->kind != B_PARAM) return -1;
        if (c->cval.null || c->type == T_NULL) { sawnull = true; continue; }
        if (type_pc(c->type) != PC_S) return -1;
        codes[nc++] = vec_sym_code(a, c->cval.s);
    }
    int m = chunk_active(in), ns = 0;
    const int *rows = in->has_sel ? in->sel : NULL;
    const uint8_t *nu = a->has_nulls ? a->nulls : NULL;
    const int32_t *v = a->codes;
    if (e->neg) {
        /* NOT IN: true only when no constant is NULL and none matches */
        if (sawnull) return 0;
        SEL_NN(!code_in(v[r], codes, nc));
    } else {
        if (nc == 1) SEL_NN(v[r] == codes[0]);
        else SEL_NN(code_in(v[r], codes, nc));
    }
    return ns;
}

int expr_select(const bexpr *e, const chunk *in, vec *tmp, int *sel, qv_err *err) {
    int ns = -1;
    if (e->kind == B_BINARY && e->op >= OP_EQ && e->op <= OP_GE) ns = sel_compare(e, in, sel);
    else if (e->kind == B_IN) ns = sel_in(e, in, sel);
    if (ns >= 0) return ns;
    if (expr_eval(e, in, tmp, err)) return -1;
    int m = chunk_active(in);
    const int *rows = in->has_sel ? in->sel : NULL;
    const int64_t *v = tmp->i;
    ns = 0;
    if (tmp->has_nulls) {
        const uint8_t *tn = tmp->nulls;
        if (rows) for (int k = 0; k < m; k++) { sel[ns] = rows[k]; ns += v[k] && !tn[k]; }
        else for (int k = 0; k < m; k++) { sel[ns] = k; ns += v[k] && !tn[k]; }
    } else {
        if (rows) for (int k = 0; k < m; k++) { sel[ns] = rows[k]; ns += v[k] != 0; }
        else for (int k = 0; k < m; k++) { sel[ns] = k; ns += v[k] != 0; }
    }
    return ns;
}
