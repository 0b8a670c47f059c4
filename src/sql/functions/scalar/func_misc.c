/* coalesce / ifnull and typeof, and the type descriptors (one per type). */
#include "functions.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fmt_int(const vec *v, int k, char *buf, size_t cap) { return snprintf(buf, cap, "%lld", (long long)v->i[k]); }
static int fmt_bool(const vec *v, int k, char *buf, size_t cap) { return snprintf(buf, cap, "%s", v->i[k] ? "true" : "false"); }
static int fmt_ts(const vec *v, int k, char *buf, size_t cap) {
    ts_format(v->i[k], buf, cap);
    return (int)strlen(buf);
}
static int fmt_date(const vec *v, int k, char *buf, size_t cap) { return (int)qv_date_format(v->i[k], buf, cap); }
static int fmt_float(const vec *v, int k, char *buf, size_t cap, bool f32) {
    char t[QV_FLOAT_TEXT_MAX];
    size_t n = qv_float_format(v->f[k], f32, t);
    if (n >= cap) n = cap - 1;
    memcpy(buf, t, n);
    buf[n] = 0;
    return (int)n;
}
static int fmt_f32(const vec *v, int k, char *buf, size_t cap) { return fmt_float(v, k, buf, cap, true); }
static int fmt_f64(const vec *v, int k, char *buf, size_t cap) { return fmt_float(v, k, buf, cap, false); }
static int fmt_str(const vec *v, int k, char *buf, size_t cap) {
    int n = v->s[k].n < (int32_t)cap ? v->s[k].n : (int)cap - 1;
    memcpy(buf, v->s[k].p, (size_t)n);
    return n;
}

static int parse_int(const char *s, size_t n, vec *out, int j, bool i32) {
    (void)n;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return -1;
    if (i32 && (v < INT32_MIN || v > INT32_MAX)) return -1;
    out->i[j] = v;
    return 0;
}
static int parse_i32(const char *s, size_t n, vec *out, int j) { return parse_int(s, n, out, j, true); }
static int parse_i64(const char *s, size_t n, vec *out, int j) { return parse_int(s, n, out, j, false); }
/* Text is rounded once, straight to the target width (strtof for REAL: going through a double
   could round twice); beyond the largest finite value it is ±inf, as DuckDB reads it. */
static int parse_float(const char *s, vec *out, int j, bool f32) {
    char *end;
    double v = f32 ? (double)strtof(s, &end) : strtod(s, &end);
    if (end == s || *end) return -1;
    out->f[j] = v;
    return 0;
}
static int parse_f32(const char *s, size_t n, vec *out, int j) { (void)n; return parse_float(s, out, j, true); }
static int parse_f64(const char *s, size_t n, vec *out, int j) { (void)n; return parse_float(s, out, j, false); }
static int parse_bool(const char *s, size_t n, vec *out, int j) {
    (void)n;
    if (!strcasecmp(s, "true") || !strcasecmp(s, "t") || !strcmp(s, "1")) out->i[j] = 1;
    else if (!strcasecmp(s, "false") || !strcasecmp(s, "f") || !strcmp(s, "0")) out->i[j] = 0;
    else return -1;
    return 0;
}
static int parse_ts(const char *s, size_t n, vec *out, int j) { return ts_parse(s, n, &out->i[j]); }
static int parse_date(const char *s, size_t n, vec *out, int j) { return qv_date_parse(s, n, &out->i[j]); }
static int fmt_time(const vec *v, int k, char *buf, size_t cap) { return (int)qv_time_format(v->i[k], buf, cap); }
static int parse_time(const char *s, size_t n, vec *out, int j) { return qv_time_parse(s, n, &out->i[j]); }
static int parse_str(const char *s, size_t n, vec *out, int j) {
    vec_set_str(out, j, s, (int32_t)n);
    return 0;
}
static int parse_invalid(const char *s, size_t n, vec *out, int j) { (void)s, (void)n, (void)out, (void)j; return -1; }

static const sql_type_def types[QV_T__COUNT] = {
    [QV_T_INVALID] = {"INVALID", "null", 0, PC_I, fmt_int, parse_invalid},
    [QV_T_INT32] = {"INTEGER", "int32", 8, PC_I, fmt_int, parse_i32},
    [QV_T_INT64] = {"BIGINT", "int64", 8, PC_I, fmt_int, parse_i64},
    [QV_T_FLOAT32] = {"FLOAT", "float32", 8, PC_F, fmt_f32, parse_f32},
    [QV_T_FLOAT64] = {"DOUBLE", "float64", 8, PC_F, fmt_f64, parse_f64},
    [QV_T_BOOL] = {"BOOLEAN", "bool", 8, PC_I, fmt_bool, parse_bool},
    [QV_T_STRING] = {"VARCHAR", "utf8", (int)sizeof(sv), PC_S, fmt_str, parse_str},
    [QV_T_SYMBOL] = {"VARCHAR", "dictionary<int32, utf8>", (int)sizeof(sv), PC_S, fmt_str, parse_str},
    [QV_T_TIMESTAMP] = {"TIMESTAMP", "timestamp[ns]", 8, PC_I, fmt_ts, parse_ts},
    [QV_T_DATE] = {"DATE", "date32[day]", 8, PC_I, fmt_date, parse_date},
    [QV_T_TIME] = {"TIME", "time64[ns]", 8, PC_I, fmt_time, parse_time},
};
_Static_assert(sizeof types / sizeof types[0] == QV_T__COUNT, "one descriptor per type");

/* DECIMAL(p, s): the vector's type carries p and s (sql_base.h). */
static int fmt_dec(const vec *v, int k, char *buf, size_t cap) {
    return (int)qv_dec_format(v->i[k], dec_scale(v->type), buf, cap);
}
static int parse_dec(const char *s, size_t n, vec *out, int j) {
    return qv_dec_parse(s, n, dec_prec(out->type), dec_scale(out->type), &out->i[j]) ? -1 : 0;
}
static const sql_type_def t_decimal = {"DECIMAL", "decimal128", 8, PC_I, fmt_dec, parse_dec};

static int fmt_interval(const vec *v, int k, char *buf, size_t cap) { return (int)qv_interval_format(v->i[k], buf, cap); }
static int parse_interval(const char *s, size_t n, vec *out, int j) { return qv_interval_parse(s, n, &out->i[j]); }
static const sql_type_def t_null = {"\"NULL\"", "null", 8, PC_I, fmt_int, parse_invalid},
                          t_interval = {"INTERVAL", "duration[ns]", 8, PC_I, fmt_interval, parse_interval};

const sql_type_def *sql_type_get(qv_type t) {
    if (t == T_NULL) return &t_null;
    if (t == T_INTERVAL) return &t_interval;
    if (type_is_dec(t)) return &t_decimal;
    return (unsigned)t < QV_T__COUNT ? &types[t] : &types[QV_T_INVALID];
}

const char *sql_type_sqlname(qv_type t, const char *tz) {
    if (t == QV_T_TIMESTAMP && tz && tz[0]) return "TIMESTAMP WITH TIME ZONE";
    if (type_is_dec(t)) return type_name(t);
    return sql_type_get(t)->sql_name;
}

static bexpr *bind_typeof(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)a, (void)fd;
    const char *nm = sql_type_sqlname(e->args[0]->type, e->args[0]->tz);
    bexpr *k = bd_mk(b, B_CONST, QV_T_STRING, 0);
    k->cval.s.p = nm;
    k->cval.s.n = (int32_t)strlen(nm);
    return k;
}

/* coalesce(a, b, ...): the first non-NULL argument, in the arguments' common type */
static bexpr *bind_coalesce(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    bexpr *c = bd_mk(b, B_COALESCE, T_NULL, e->nargs);
    bool ok;
    for (int i = 0; i < e->nargs; i++) {
        c->args[i] = e->args[i];
        qv_type t = c->args[i]->type;
        if (type_pc(t) == PC_S && c->args[i]->kind == B_CONST && c->type != T_NULL && type_pc(c->type) != PC_S) {
            if (!(c->args[i] = bind_coerce(b, c->args[i], c->type))) return NULL;
            continue;
        }
        qv_type nt = bd_common_type(c->type, t, &ok);
        if (!ok || t == T_INTERVAL) {
            char m[200];
            snprintf(m, sizeof m, "%s: arguments have incompatible types %s and %s", fd->name, type_name(c->type), type_name(t));
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
        c->type = nt;
    }
    if (c->type == QV_T_FLOAT32) c->type = QV_T_FLOAT64;
    for (int i = 0; i < e->nargs; i++)
        if (!(c->args[i] = bind_coerce(b, c->args[i], c->type == T_NULL ? c->args[i]->type : c->type))) return NULL;
    snprintf(c->tz, sizeof c->tz, "%s", bd_pick_tz(c->args[0], NULL));
    return c;
}

/* xor(a, b): the bitwise operators' typing and evaluation (binder/bind_ops.c). */
static bexpr *bind_xor(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)fd;
    return bind_op_bitwise(b, a, OP_BXOR, e->args[0], e->args[1]);
}

static bexpr *bind_now_fn(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)a, (void)e, (void)fd;
    return bind_now(b);
}

/* error(message): fails the statement with the message (DuckDB's error()), for
   the rows that reach it (CASE evaluates a branch only over its own rows).
   Volatile, so it is never folded at bind time; its type is NULL, which
   unifies with anything. */
static int ev_error(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)out;
    for (int k = 0; k < n; k++) {
        sv m = vec_null(&a[0], k) || a[0].type == T_NULL ? (sv){"error() was called", 18} : a[0].s[k];
        return qv_err_set(err, QV_EINVAL, "%.*s", m.n > 400 ? 400 : m.n, m.p);
    }
    return 0;
}

const sfunc_def sfunc_misc[] = {
    {"now", 0, 0, "", 'T', bind_now_fn, NULL, 0, "the statement's start time (TIMESTAMP, UTC)"},
    {"get_current_timestamp", 0, 0, "", 'T', bind_now_fn, NULL, 0, "alias of now()"},
    {"transaction_timestamp", 0, 0, "", 'T', bind_now_fn, NULL, 0, "alias of now() (each statement is its own transaction)"},
    {"xor", 2, 2, "A", 'A', bind_xor, NULL, 0, "xor(a, b): bitwise exclusive or of two integers"},
    {"coalesce", 1, 64, "A", 'A', bind_coalesce, NULL, 0, "the first non-NULL argument"},
    {"ifnull", 2, 2, "A", 'A', bind_coalesce, NULL, 0, "ifnull(a, b): a unless NULL, else b"},
    {"typeof", 1, 1, "A", 'S', bind_typeof, NULL, 0, "the name of the argument's type"},
    {"error", 1, 1, "S", '-', NULL, ev_error, SF_VOLATILE, "error(message): fails the statement with message"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
