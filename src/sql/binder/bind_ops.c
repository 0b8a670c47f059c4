/* Binding of the operators past the comparisons: IS [NOT] DISTINCT FROM,
   the bitwise operators (also xor(), functions/scalar/func_misc.c) and ^, with
   DuckDB's typing: bitwise operands are INTEGER or BIGINT (their common
   type; two untyped NULLs give BIGINT) and ^ is power() on doubles. */
#include "bind.h"

#include <stdio.h>

static const char *op_text(int op) {
    switch ((op_kind)op) {
    case OP_BAND: return "&";
    case OP_BOR: return "|";
    case OP_BXOR: return "xor";
    case OP_SHL: return "<<";
    case OP_SHR: return ">>";
    case OP_BNOT: return "~";
    case OP_DISTINCT: return "IS DISTINCT FROM";
    case OP_NOT_DISTINCT: return "IS NOT DISTINCT FROM";
    case OP_POW: return "^";
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_IDIV: case OP_MOD: case OP_CONCAT:
    case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_AND: case OP_OR:
    case OP_NOT: case OP_NEG: break;
    }
    return "?";
}

static bexpr *mk_op(binder *b, bexpr_kind k, qv_type t, int op, bexpr *x, bexpr *y) {
    bexpr *e = bd_mk(b, k, t, y ? 2 : 1);
    e->op = op;
    e->args[0] = x;
    if (y) e->args[1] = y;
    return e;
}

/* NULL-safe comparison: the operands unify as for =, the result is never NULL. */
static bexpr *bind_distinct(binder *b, ast *a, bexpr *x, bexpr *y) {
    if (bd_unify(b, a, &x, &y, "compare")) return NULL;
    return mk_op(b, B_BINARY, QV_T_BOOL, a->op, x, y);
}

/* An operand of a bitwise operator: an integer, an untyped NULL, or a string
   constant read as the other operand's integer type (1 & '3' is 1). */
static bexpr *int_operand(binder *b, const ast *a, int op, bexpr *x, qv_type other) {
    if (type_pc(x->type) == PC_S && x->kind == B_CONST)
        return bind_coerce(b, x, type_is_int(other) ? other : QV_T_INT64);
    if (x->type == T_NULL || type_is_int(x->type)) return x;
    char m[200];
    snprintf(m, sizeof m, "operator %s needs INTEGER or BIGINT operands, got %s", op_text(op), type_name(x->type));
    return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
}

bexpr *bind_op_bitwise(binder *b, const ast *a, int op, bexpr *x, bexpr *y) {
    if (!(x = int_operand(b, a, op, x, y->type)) || !(y = int_operand(b, a, op, y, x->type))) return NULL;
    qv_type t = x->type == T_NULL ? y->type : y->type == T_NULL || x->type == y->type ? x->type : QV_T_INT64;
    if (t == T_NULL) t = QV_T_INT64;
    if (!(x = bind_coerce(b, x, t)) || !(y = bind_coerce(b, y, t))) return NULL;
    return mk_op(b, B_BINARY, t, op, x, y);
}

static bexpr *bind_bnot(binder *b, ast *a, bexpr *x) {
    if (!(x = int_operand(b, a, OP_BNOT, x, T_NULL))) return NULL;
    qv_type t = x->type == T_NULL ? QV_T_INT64 : x->type;
    if (!(x = bind_coerce(b, x, t))) return NULL;
    return mk_op(b, B_UNARY, t, OP_BNOT, x, NULL);
}

/* x ^ y is power(x, y): bound as that call, so its checks and folding apply. */
static bexpr *bind_pow(binder *b, ast *a) {
    ast *f = arena_alloc(b->ar, sizeof *f);
    *f = *a;
    f->kind = A_FUNC;
    f->op = 0;
    f->name = "power";
    return bind_func(b, f);
}

bexpr *bind_op_binary(binder *b, ast *a) {
    if (a->op == OP_POW) return bind_pow(b, a);
    bexpr *x = bind_expr(b, a->args[0]);
    bexpr *y = x ? bind_expr(b, a->args[1]) : NULL;
    if (!y) return NULL;
    if (a->op == OP_DISTINCT || a->op == OP_NOT_DISTINCT) return bind_distinct(b, a, x, y);
    return bind_op_bitwise(b, a, a->op, x, y);
}

bexpr *bind_op_unary(binder *b, ast *a) {
    bexpr *x = bind_expr(b, a->args[0]);
    return x ? bind_bnot(b, a, x) : NULL;
}

bexpr *bind_now(binder *b) {
    /* each statement is prepared anew for every run (and every parameter
       row), so a constant of its start is never reused by a later run;
       microseconds, as DuckDB's clock */
    int64_t ns = b->params && b->params->now_ns ? b->params->now_ns : qv_now_ns() / 1000 * 1000;
    bexpr *e = bd_mk(b, B_CONST, QV_T_TIMESTAMP, 0);
    e->cval.i = ns;
    snprintf(e->tz, sizeof e->tz, "UTC");
    return e;
}

bexpr *bind_today(binder *b) {
    bexpr *now = bind_now(b), *k = bd_mk(b, B_CONST, QV_T_DATE, 0);
    k->cval.i = qv_date_from_ts(now->cval.i);
    return k;
}
