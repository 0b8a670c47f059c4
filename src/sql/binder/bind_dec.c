/* DECIMAL typing: the common type of DECIMALs and integers, the result types
   of arithmetic, and decimal literals next to DECIMALs. The rules are
   DuckDB's (INTEGER is DECIMAL(10, 0); a sum of DECIMAL(p1, s1) and
   DECIMAL(p2, s2) keeps the larger scale and one more digit; a product adds
   precisions and scales), with precision capped at 18: values are int64.
   A result that then does not fit its 18 digits is an error at run time,
   never a wrapped value. */
#include "bind.h"

#include <stdio.h>
#include <string.h>

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

qv_type bd_dec_of(qv_type t) {
    if (type_is_dec(t)) return t;
    if (t == QV_T_INT32) return type_dec(10, 0);
    if (t == QV_T_INT64) return type_dec(QV_DEC_MAX_PREC, 0);
    return T_NULL;
}

qv_type bd_dec_common(qv_type a, qv_type c) {
    if (type_pc(a) == PC_F || type_pc(c) == PC_F) return QV_T_FLOAT64;
    a = bd_dec_of(a), c = bd_dec_of(c);
    int s = imax(dec_scale(a), dec_scale(c));
    int d = imax(dec_prec(a) - dec_scale(a), dec_prec(c) - dec_scale(c));
    return type_dec(imin(QV_DEC_MAX_PREC, d + s), s);
}

/* The DECIMAL a decimal literal's digits spell, as DuckDB types it (1.25 is
   DECIMAL(3, 2), 0.5 DECIMAL(2, 1), 1.10 DECIMAL(3, 2)): from the text as
   written, else from the shortest text of its double. The literal unchanged
   when that has an exponent (1e2 is a DOUBLE) or more than 18 digits. */
static bexpr *dec_literal(binder *b, bexpr *e) {
    if (!bexpr_is_decimal_lit(e)) return e;
    const bexpr *k = e->kind == B_CONST ? e : e->args[0];
    char t[QV_FLOAT_TEXT_MAX + 48];
    size_t n;
    if (k->cval.s.p && k->cval.s.n > 0 && (size_t)k->cval.s.n < sizeof t) {
        n = (size_t)k->cval.s.n;
        memcpy(t, k->cval.s.p, n);
        t[n] = 0;
    } else {
        n = qv_float_format(k->cval.f, false, t);
    }
    int ip = 0, sc = 0; /* every digit written counts, leading zeros too (0.05 is DECIMAL(3, 2)) */
    bool dot = false;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (ch == '.') dot = true;
        else if (ch == 'e' || ch == 'E' || ch == 'i' || ch == 'n') return e; /* exponent, inf, nan */
        else if (ch >= '0' && ch <= '9') *(dot ? &sc : &ip) += 1;
    }
    int p = imax(ip + sc, 1);
    if (p > QV_DEC_MAX_PREC) return e;
    int64_t v;
    if (qv_dec_parse(t, n, p, sc, &v)) return e;
    bexpr *d = bd_mk(b, B_CONST, type_dec(p, sc), 0);
    /* the parser folds a leading minus into the double but not into its text */
    int64_t mag = v < 0 ? -v : v;
    v = k->cval.f < 0 ? -mag : mag;
    d->cval.i = e->kind == B_CONST ? v : -v;
    return d;
}

void bd_dec_literals(binder *b, bexpr **x, bexpr **y) {
    if (type_is_dec((*x)->type)) *y = dec_literal(b, *y);
    if (type_is_dec((*y)->type)) *x = dec_literal(b, *x);
}

static bool dec_operand(qv_type t) { return type_is_dec(t) || type_is_int(t) || t == T_NULL; }

int bind_dec_arith(binder *b, const ast *a, int op, bexpr **x, bexpr **y, qv_type *rt) {
    bd_dec_literals(b, x, y);
    qv_type tx = (*x)->type, ty = (*y)->type;
    if (!(type_is_dec(tx) || type_is_dec(ty)) || !dec_operand(tx) || !dec_operand(ty)) return 0;
    if (op == OP_DIV || op == OP_IDIV) return 0; /* divided as doubles, as DuckDB */
    if (tx == T_NULL) tx = ty;
    if (ty == T_NULL) ty = tx;
    qv_type c = bd_dec_common(tx, ty);
    if (op == OP_ADD || op == OP_SUB) {
        c = type_dec(imin(QV_DEC_MAX_PREC, dec_prec(c) + 1), dec_scale(c));
        if (!(*x = bind_coerce(b, *x, c)) || !(*y = bind_coerce(b, *y, c))) return -1;
        *rt = c;
        return 1;
    }
    if (op == OP_MOD) {
        if (!(*x = bind_coerce(b, *x, c)) || !(*y = bind_coerce(b, *y, c))) return -1;
        *rt = c;
        return 1;
    }
    /* OP_MUL: each operand at its own scale; the product's scale is their sum */
    qv_type dx = bd_dec_of(tx), dy = bd_dec_of(ty);
    int s = dec_scale(dx) + dec_scale(dy);
    if (s > QV_DEC_MAX_PREC) {
        char m[200];
        snprintf(m, sizeof m, "%s * %s has scale %d, above the 18 digits a DECIMAL holds here: cast an operand to DOUBLE "
                 "or to a smaller scale", type_name(dx), type_name(dy), s);
        bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        return -1;
    }
    if (!(*x = bind_coerce(b, *x, dx)) || !(*y = bind_coerce(b, *y, dy))) return -1;
    *rt = type_dec(imin(QV_DEC_MAX_PREC, dec_prec(dx) + dec_prec(dy)), s);
    return 1;
}
