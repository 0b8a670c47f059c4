/* Table-driven scalar functions: lookup (with a near-name hint), binding by
   signature, constant folding, and the evaluation wrapper that handles NULL
   arguments of strict functions before a descriptor's eval runs. */
#include "functions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const sfunc_def *const groups[] = {sfunc_math, sfunc_math_more, sfunc_str, sfunc_str_more, sfunc_regex, sfunc_time, sfunc_misc, sfunc_format, sfunc_random};
#define NGROUPS ((int)(sizeof groups / sizeof groups[0]))

const sfunc_def *sfunc_lookup(const char *name) {
    for (int g = 0; g < NGROUPS; g++)
        for (const sfunc_def *d = groups[g]; d->name; d++)
            if (!strcasecmp(d->name, name)) return d;
    return NULL;
}

static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 40 || lb > 40) return 99;
    int d[41][41];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) && (a[i - 2] | 0x20) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1; /* a transposition is one edit */
            d[i][j] = best;
        }
    return d[la][lb];
}

extern const char *const agg_func_names[]; /* functions/agg/agg_table.c */

void func_suggest(const char *name, char *buf, size_t cap) {
    const char *best = NULL;
    int bd = 99;
    for (int g = 0; g < NGROUPS; g++)
        for (const sfunc_def *d = groups[g]; d->name; d++) {
            int x = edit_distance(name, d->name);
            if (x < bd) { bd = x; best = d->name; }
        }
    for (int i = 0; agg_func_names[i]; i++) {
        int x = edit_distance(name, agg_func_names[i]);
        if (x < bd) { bd = x; best = agg_func_names[i]; }
    }
    int len = (int)strlen(name);
    if (best && bd <= (len <= 4 ? 1 : len <= 8 ? 2 : 3)) snprintf(buf, cap, ", did you mean '%s'?", best);
    else if (cap) buf[0] = 0;
}

void fn_set_null(vec *out, int k) {
    vec_set_null(out, k);
    if (type_pc(out->type) == PC_S) out->s[k] = (sv){"", 0};
}

int32_t utf8_len(const char *p, int32_t n) {
    int32_t c = 0;
    for (int32_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xc0) != 0x80;
    return c;
}

int32_t utf8_off(const char *p, int32_t n, int64_t cp) {
    int32_t i = 0;
    while (i < n && cp > 0) {
        i++;
        while (i < n && ((unsigned char)p[i] & 0xc0) == 0x80) i++;
        cp--;
    }
    return i;
}

int fn_err(qv_err *err, const bexpr *e, const char *fmt, ...) {
    char m[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return qv_err_set(err, QV_EINVAL, "%s: %s", e->fn ? e->fn->name : "function", m);
}

int func_eval(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    vec_reset(out, e->type, n);
    if (e->fn->flags & SF_STRICT) {
        for (int j = 0; j < e->nargs; j++) {
            if (a[j].type == T_NULL) {
                memset(out->nulls, 1, (size_t)n);
                out->has_nulls = n > 0;
            } else if (a[j].has_nulls) {
                for (int k = 0; k < n; k++) out->nulls[k] |= a[j].nulls[k];
                out->has_nulls = true;
            }
        }
        if (out->has_nulls && type_pc(e->type) == PC_S)
            for (int k = 0; k < n; k++)
                if (out->nulls[k]) out->s[k] = (sv){"", 0};
    }
    return e->fn->eval(e, a, n, out, err);
}

static const char *kind_name(char k) {
    switch (k) {
    case 'S': return "a string";
    case 'I': return "an integer";
    case 'F': case 'N': return "a number";
    case 'T': return "a TIMESTAMP or DATE";
    case 'B': return "a BOOLEAN";
    case 'V': return "an INTERVAL";
    }
    return "a value";
}

static qv_type kind_type(char k) {
    switch (k) {
    case 'S': return QV_T_STRING;
    case 'I': return QV_T_INT64;
    case 'i': return QV_T_INT32;
    case 'F': return QV_T_FLOAT64;
    case 'T': return QV_T_TIMESTAMP;
    case 'D': return QV_T_DATE;
    case 'B': return QV_T_BOOL;
    case 'V': return T_INTERVAL;
    }
    return T_NULL;
}

static bool kind_ok(char k, qv_type t) {
    switch (k) {
    case 'S': return type_pc(t) == PC_S;
    case 'I': return type_is_int(t);
    case 'F': case 'N': return type_is_num(t);
    case 'T': return t == QV_T_TIMESTAMP || t == QV_T_DATE;
    case 'B': return t == QV_T_BOOL;
    case 'V': return t == T_INTERVAL;
    }
    return t != T_INTERVAL;
}

/* Coerce argument i of a call to its signature kind. */
static bexpr *coerce_arg(binder *b, ast *a, const sfunc_def *fd, int i, bexpr *x) {
    size_t sl = strlen(fd->sig);
    char k = sl ? fd->sig[(size_t)i < sl ? (size_t)i : sl - 1] : 'A';
    if (k == 'A') return x;
    if (x->type == T_NULL) {
        qv_type t = k == 'N' ? QV_T_FLOAT64 : kind_type(k);
        return bind_coerce(b, x, t);
    }
    if (k == 'T' && x->type == QV_T_TIME && (fd->flags & SF_TOD)) return x; /* hour(t), date_part('minute', t) */
    if (k != 'S' && k != 'N' && type_pc(x->type) == PC_S && x->kind == B_CONST) /* '2024-01-01', '5' */
        return bind_coerce(b, x, kind_type(k));
    if (!kind_ok(k, x->type)) {
        char m[240];
        snprintf(m, sizeof m, "%s: argument %d must be %s, got %s", fd->name, i + 1, kind_name(k), type_name(x->type));
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    if (k == 'N') return x->type == QV_T_FLOAT32 ? bind_coerce(b, x, QV_T_FLOAT64) : x;
    if (k == 'S') return x;
    return bind_coerce(b, x, kind_type(k));
}

/* All arguments constant: evaluate once now (errors surface at prepare). */
bexpr *sfunc_fold(binder *b, ast *a, bexpr *e) {
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i]->kind != B_CONST) return e;
    vec v;
    vec_init(&v, e->type);
    if (expr_eval_const(e, &v, b->err)) {
        vec_free(&v);
        char m[400];
        memcpy(m, b->err->msg, sizeof m - 1);
        m[sizeof m - 1] = 0;
        bd_fail(b, a, b->err->code, "%s", m, NULL);
        return NULL;
    }
    bexpr *k = bd_mk(b, B_CONST, e->type, 0);
    memcpy(k->tz, e->tz, sizeof k->tz);
    k->cval.null = vec_null(&v, 0);
    if (!k->cval.null) {
        phys_class pc = type_pc(e->type);
        if (pc == PC_I) k->cval.i = v.i[0];
        else if (pc == PC_F) k->cval.f = v.f[0];
        else {
            k->cval.s.p = arena_strndup(b->ar, v.s[0].p, (size_t)v.s[0].n);
            k->cval.s.n = v.s[0].n;
        }
    }
    vec_free(&v);
    return k;
}

bexpr *sfunc_bind(binder *b, ast *a, const sfunc_def *fd) {
    if (a->nargs < fd->minargs || a->nargs > fd->maxargs) {
        char m[240];
        if (fd->minargs == fd->maxargs)
            snprintf(m, sizeof m, "%s takes %d argument%s, got %d", fd->name, fd->minargs, fd->minargs == 1 ? "" : "s", a->nargs);
        else if (fd->maxargs >= 64)
            snprintf(m, sizeof m, "%s takes at least %d argument%s, got %d", fd->name, fd->minargs, fd->minargs == 1 ? "" : "s", a->nargs);
        else
            snprintf(m, sizeof m, "%s takes %d to %d arguments, got %d", fd->name, fd->minargs, fd->maxargs, a->nargs);
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    bexpr *e = bd_mk(b, B_FUNC, T_NULL, a->nargs);
    e->fn = fd;
    bool had_date = false;
    for (int i = 0; i < a->nargs; i++) {
        if (!(e->args[i] = bind_expr(b, a->args[i]))) return NULL;
        had_date |= e->args[i]->type == QV_T_DATE;
        if (!(e->args[i] = coerce_arg(b, a, fd, i, e->args[i]))) return NULL;
    }
    e->type = fd->ret == '0' ? (a->nargs ? e->args[0]->type : T_NULL) : kind_type(fd->ret);
    for (int i = 0; i < a->nargs; i++)
        if (e->args[i]->type == QV_T_TIMESTAMP && e->args[i]->tz[0] && !e->tz[0])
            snprintf(e->tz, sizeof e->tz, "%s", e->args[i]->tz);
    if (fd->bind && !(e = fd->bind(b, a, e, fd))) return NULL;
    if (e->kind != B_FUNC || (fd->flags & SF_VOLATILE)) return e;
    e = sfunc_fold(b, a, e);
    if (e && had_date && (fd->flags & SF_DATE_IN_OUT) && e->type == QV_T_TIMESTAMP) e = bind_coerce(b, e, QV_T_DATE);
    return e;
}
