/* Calendar intervals: months and years. Quiver's INTERVAL value is a fixed
   length in ns, and a month has none, so no INTERVAL value holds months.
   The binder takes an interval constant with months only where DuckDB's
   meaning is a calendar step, and turns it into a call of one of the
   internal functions below (not in the name tables: users reach them only
   through these forms):
     ts ± INTERVAL '1 month 2 days', INTERVAL '1 year' + ts, date_add(ts, ...),
     ts - n * INTERVAL '1 month' (n any integer expression)
                                        -> sfunc_add_months (months, then the rest)
     time_bucket(INTERVAL '3 months', ts) -> sfunc_bucket_months
     generate_series / range step       -> a constant with months (exec/series.c)
   Anywhere else an INTERVAL with months is an error naming these places
   (bind_expr.c). DATE operands are their midnight, as DuckDB (DATE +
   INTERVAL is a TIMESTAMP); the day of month is clamped (Jan 31 + 1 month
   is Feb 29 in a leap year), in qv_ts_add_months, the one calendar step. */
#include "functions.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_DAY (86400LL * 1000000000LL)

/* An integer literal, or its negation. */
static bool int_lit(const ast *a, int64_t *v) {
    if (a->kind == A_INT && !a->neg) { *v = a->ival; return true; }
    if (a->kind == A_UNARY && a->op == OP_NEG && a->args[0]->kind == A_INT && !a->args[0]->neg) {
        *v = -a->args[0]->ival;
        return true;
    }
    return false;
}

int bind_cal_const(const ast *a, bool str_ok, int32_t *months, int64_t *ns) {
    int64_t k, m2 = 0, n2 = 0;
    int32_t ma, mb;
    int64_t na, nb;
    int r = 0;
    switch (a->kind) {
    case A_INTERVAL: *months = a->months; *ns = a->ival; return 1;
    case A_STR: return str_ok && !qv_interval_parse_cal(a->name, strlen(a->name), months, ns);
    case A_UNARY:
        if (a->op != OP_NEG || (r = bind_cal_const(a->args[0], false, &ma, &na)) != 1) return r < 0 ? -1 : 0;
        if (ma == INT32_MIN || na == INT64_MIN) return -1;
        *months = -ma, *ns = -na;
        return 1;
    case A_BINARY:
        if (a->op == OP_MUL) {
            const ast *iv = int_lit(a->args[0], &k) ? a->args[1] : int_lit(a->args[1], &k) ? a->args[0] : NULL;
            if (!iv || (r = bind_cal_const(iv, false, &ma, &na)) != 1) return iv && r < 0 ? -1 : 0;
            if (__builtin_mul_overflow((int64_t)ma, k, &m2) || __builtin_mul_overflow(na, k, &n2) || m2 != (int32_t)m2)
                return -1;
        } else if (a->op == OP_ADD || a->op == OP_SUB) {
            int ra = bind_cal_const(a->args[0], false, &ma, &na), rb = bind_cal_const(a->args[1], false, &mb, &nb);
            if (ra < 0 || rb < 0) return -1;
            if (!ra || !rb) return 0;
            bool sub = a->op == OP_SUB;
            if (sub ? __builtin_sub_overflow((int64_t)ma, mb, &m2) || __builtin_sub_overflow(na, nb, &n2)
                    : __builtin_add_overflow((int64_t)ma, mb, &m2) || __builtin_add_overflow(na, nb, &n2))
                return -1;
            if (m2 != (int32_t)m2) return -1;
        } else {
            return 0;
        }
        *months = (int32_t)m2, *ns = n2;
        return 1;
    case A_FLOAT: case A_BOOL: case A_NULL: case A_TSLIT: case A_COL: case A_STAR: case A_FUNC: case A_CASE:
    case A_CAST: case A_IN: case A_BETWEEN: case A_LIKE: case A_ISNULL: case A_EXTRACT: case A_PARAM: case A_SUBQ:
    case A_EXISTS: case A_INT:
        return 0;
    }
    return 0;
}

static ast *mk_ast(binder *b, const ast *at, ast_kind k, int nargs) {
    ast *n = arena_alloc(b->ar, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = k;
    n->line = at->line, n->col = at->col;
    n->nargs = nargs;
    n->height = at->height;
    if (nargs) n->args = arena_alloc(b->ar, sizeof(ast *) * (size_t)nargs);
    return n;
}

static ast *int_ast(binder *b, const ast *at, int64_t v) {
    ast *n = mk_ast(b, at, A_INT, 0);
    n->ival = v;
    n->name = "0";
    return n;
}

static ast *ns_ast(binder *b, const ast *at, int64_t v) {
    ast *n = mk_ast(b, at, A_INTERVAL, 0);
    n->ival = v;
    n->name = "0";
    return n;
}

/* The call's first argument must be a time: a DATE, text or NULL becomes a TIMESTAMP. */
static bexpr *bind_ts_arg(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)fd;
    bexpr *x = e->args[0];
    _Static_assert(sizeof(((bexpr *)0)->months) == 4, "months fit the parser's int32");
    if (x->type == QV_T_DATE || x->type == T_NULL || (type_pc(x->type) == PC_S && x->kind == B_CONST))
        if (!(x = e->args[0] = bind_coerce(b, x, QV_T_TIMESTAMP))) return NULL;
    if (x->type != QV_T_TIMESTAMP)
        return bd_fail(b, a, QV_EINVAL, "an INTERVAL with months or years is a calendar step: it is added to or "
                       "subtracted from a TIMESTAMP or DATE, not %s", type_name(x->type), NULL);
    memcpy(e->tz, x->tz, sizeof e->tz);
    return e;
}

static int ev_add_months(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e;
    for (int k = 0; k < n; k++) {
        if (vec_null(out, k)) continue;
        int64_t t;
        if (!qv_ts_add_months(a[0].i[k], a[1].i[k], &t) || __builtin_add_overflow(t, a[2].i[k], &out->i[k]))
            return qv_err_set(err, QV_EINVAL, "a TIMESTAMP plus an INTERVAL with months is outside the TIMESTAMP range "
                              "(1677-09-21 to 2262-04-11)");
    }
    return 0;
}

/* Buckets of whole months counted from 2000-01 (DuckDB's origin for them). */
static int ev_bucket_months(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    for (int k = 0; k < n; k++) {
        if (vec_null(out, k)) continue;
        qv_ts_parts p;
        qv_ts_split(a[1].i[k], &p);
        int64_t w = a[0].i[k], mi = (p.year - 2000) * 12 + (p.month - 1), q = mi / w;
        if (mi % w && mi < 0) q--;
        if (!qv_ts_add_months(946684800LL * 1000000000LL, q * w, &out->i[k])) /* 2000-01-01 */
            return fn_err(err, e, "timestamp out of range");
    }
    return 0;
}

/* Not in the lookup tables (func.c): bound only from the forms above. */
static const sfunc_def sfunc_add_months = {"date_add", 3, 3, "AIV", 'T', bind_ts_arg, ev_add_months, SF_STRICT,
                                           "a TIMESTAMP plus calendar months, then a fixed INTERVAL"};
static const sfunc_def sfunc_bucket_months = {"time_bucket", 2, 2, "IT", 'T', NULL, ev_bucket_months,
                                              SF_STRICT | SF_DATE_IN_OUT, "month-wide buckets from 2000-01"};

static bexpr *range_err(binder *b, const ast *a) {
    return bd_fail(b, a, QV_EINVAL, "INTERVAL out of range", NULL, NULL);
}

/* ts + months / ns (sign: -1 for a subtraction) as a call of sfunc_add_months. */
static bexpr *add_call(binder *b, ast *at, ast *ts, int32_t months, int64_t ns, int sign) {
    if (sign < 0 && ns == INT64_MIN) return range_err(b, at);
    ast *f = mk_ast(b, at, A_FUNC, 3);
    f->name = "date_add";
    f->args[0] = ts;
    f->args[1] = int_ast(b, at, (int64_t)months * sign);
    f->args[2] = ns_ast(b, at, ns * sign);
    return sfunc_bind(b, f, &sfunc_add_months);
}

/* n * INTERVAL '1 month' (either order) with n not a literal: 1 and the
   factor n in *k when a is that product and the interval has months. */
static int scaled_cal(const ast *a, ast **k, int32_t *m, int64_t *ns) {
    if (a->kind != A_BINARY || a->op != OP_MUL) return 0;
    for (int i = 0; i < 2; i++) {
        int r = bind_cal_const(a->args[i], false, m, ns);
        if (r < 0) return -1;
        if (r == 1 && *m) {
            *k = a->args[1 - i];
            return 1;
        }
    }
    return 0;
}

/* ts ± n * (m months + ns): date_add(ts, n * m * sign, n * INTERVAL ns * sign). */
static bexpr *scaled_call(binder *b, ast *at, ast *ts, ast *k, int32_t m, int64_t ns, int sign) {
    if (sign < 0 && ns == INT64_MIN) return range_err(b, at);
    ast *f = mk_ast(b, at, A_FUNC, 3), *mm = mk_ast(b, at, A_BINARY, 2), *mn = mk_ast(b, at, A_BINARY, 2);
    mm->op = mn->op = OP_MUL;
    mm->args[0] = mn->args[0] = k;
    mm->args[1] = int_ast(b, at, (int64_t)m * sign);
    mn->args[1] = ns_ast(b, at, ns * sign);
    f->name = "date_add";
    f->args[0] = ts;
    f->args[1] = mm;
    f->args[2] = mn;
    return sfunc_bind(b, f, &sfunc_add_months);
}

bexpr *bind_cal_binary(binder *b, ast *a, bool *handled) {
    int32_t m = 0;
    int64_t ns = 0;
    ast *k = NULL;
    *handled = false;
    if (a->op != OP_ADD && a->op != OP_SUB) return NULL;
    int sign = a->op == OP_SUB ? -1 : 1;
    for (int side = 1; side >= (a->op == OP_ADD ? 0 : 1); side--) {
        int r = bind_cal_const(a->args[side], true, &m, &ns);
        if (r == 1 && !m) r = 0;
        if (r) {
            *handled = true;
            return r < 0 ? range_err(b, a) : add_call(b, a, a->args[1 - side], m, ns, sign);
        }
        if ((r = scaled_cal(a->args[side], &k, &m, &ns)) != 0) {
            *handled = true;
            return r < 0 ? range_err(b, a) : scaled_call(b, a, a->args[1 - side], k, m, ns, sign);
        }
    }
    return NULL;
}

bexpr *bind_cal_call(binder *b, ast *a, bool *handled) {
    int32_t m = 0;
    int64_t ns = 0;
    *handled = false;
    bool add = !strcasecmp(a->name, "date_add"), bucket = !strcasecmp(a->name, "time_bucket");
    if (a->nargs != 2 || !(add || bucket)) return NULL;
    int r = bind_cal_const(a->args[add ? 1 : 0], false, &m, &ns);
    if (!r || (r == 1 && !m)) return NULL;
    *handled = true;
    if (r < 0) return range_err(b, a);
    if (add) return add_call(b, a, a->args[0], m, ns, 1);
    if (ns || m <= 0)
        return bd_fail(b, a, QV_EINVAL, m <= 0 ? "time_bucket needs a positive width" :
                       "time_bucket: a width in months cannot also have days or a time part", NULL, NULL);
    ast *f = mk_ast(b, a, A_FUNC, 2);
    f->name = "time_bucket";
    f->args[0] = int_ast(b, a, m);
    f->args[1] = a->args[1];
    return sfunc_bind(b, f, &sfunc_bucket_months);
}
