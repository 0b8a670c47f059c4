/* CASE: each WHEN is evaluated over the rows no earlier branch took, and
   each THEN (or ELSE) only over the rows its branch took, so a branch's
   errors (a division by zero, a failed cast) come only from its own rows. */
#include "expr_int.h"

#include <stdlib.h>
#include <string.h>

int expr_case_eval(const bexpr *e, const chunk *in, vec *out, qv_err *err) {
    int n = chunk_active(in);
    int rc = 0;
    vec_reset(out, e->type, n);
    int nw = (e->nargs - (e->has_operand ? 1 : 0) - (e->has_else ? 1 : 0)) / 2;
    int first = e->has_operand ? 1 : 0;
    /* rows still undecided, as positions k into the input's active rows */
    int *pend = qv_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int npend = n;
    for (int k = 0; k < n; k++) pend[k] = k;
    int *rows = qv_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    int *hit = qv_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    chunk view = *in;
    view.has_sel = true;
    view.sel = qv_xmalloc(sizeof(int) * (size_t)(n ? n : 1));
    vec cond, val, opnd;
    vec_init(&cond, QV_T_BOOL);
    vec_init(&val, e->type);
    vec_init(&opnd, T_NULL);
    if (e->has_operand) rc = expr_eval(e->args[0], in, &opnd, err);
    phys_class pc = type_pc(e->type);
    for (int w = 0; w < nw + (e->has_else ? 1 : 0) && !rc && npend; w++) {
        bool is_else = w == nw;
        int nhit = 0;
        for (int j = 0; j < npend; j++) view.sel[j] = chunk_row(in, pend[j]);
        view.nsel = npend;
        if (!is_else) {
            const bexpr *c = e->args[first + 2 * w];
            if ((rc = expr_eval(c, &view, &cond, err))) break;
            int np = 0;
            for (int j = 0; j < npend; j++) {
                bool t;
                if (e->has_operand) {
                    int k = pend[j];
                    if (vec_null(&cond, j) || vec_null(&opnd, k)) t = false;
                    else if (type_pc(c->type) == PC_I) t = cond.i[j] == opnd.i[k];
                    else if (type_pc(c->type) == PC_F) t = dbl_eq(cond.f[j], opnd.f[k]);
                    else t = sv_cmp(cond.s[j], opnd.s[k]) == 0;
                } else {
                    t = !vec_null(&cond, j) && cond.i[j];
                }
                if (t) hit[nhit++] = pend[j];
                else rows[np++] = pend[j];
            }
            memcpy(pend, rows, sizeof(int) * (size_t)np);
            npend = np;
        } else {
            memcpy(hit, pend, sizeof(int) * (size_t)npend);
            nhit = npend;
            npend = 0;
        }
        if (!nhit) continue;
        const bexpr *ve = is_else ? e->args[e->nargs - 1] : e->args[first + 2 * w + 1];
        for (int j = 0; j < nhit; j++) view.sel[j] = chunk_row(in, hit[j]);
        view.nsel = nhit;
        if ((rc = expr_eval(ve, &view, &val, err))) break;
        for (int j = 0; j < nhit; j++) {
            int k = hit[j];
            if (vec_null(&val, j)) { vec_set_null(out, k); continue; }
            if (pc == PC_I) out->i[k] = val.i[j];
            else if (pc == PC_F) out->f[k] = val.f[j];
            else vec_set_str(out, k, val.s[j].p, val.s[j].n);
        }
    }
    for (int j = 0; j < npend && !rc; j++) { /* no branch and no ELSE: NULL */
        int k = pend[j];
        vec_set_null(out, k);
        if (pc == PC_S) out->s[k] = (sv){"", 0};
    }
    vec_free(&cond);
    vec_free(&val);
    vec_free(&opnd);
    free(view.sel);
    free(pend);
    free(rows);
    free(hit);
    return rc;
}
