/* printf(fmt, ...) and format(fmt, ...): text built from a format string, as
   DuckDB's two families (C-style % conversions and {} placeholders). Each row
   is built in a growable qv_str, so no width, precision or value can overrun a
   buffer; widths and precisions are capped so a format cannot ask for
   gigabytes. Conversions are checked against the argument's type per use, as
   DuckDB does: %d of a string or %s of a number is an error, not a cast. */
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FMT_MAX_WIDTH 100000 /* larger widths or precisions are refused */

enum vclass { VC_INT, VC_FLOAT, VC_BOOL, VC_TEXT, VC_TS };

static enum vclass val_class(qv_type t) {
    if (type_is_int(t)) return VC_INT;
    if (type_pc(t) == PC_F) return VC_FLOAT;
    if (t == QV_T_BOOL) return VC_BOOL;
    if (t == QV_T_TIMESTAMP) return VC_TS;
    return VC_TEXT;
}

/* A DECIMAL formats as its text ({} and %s: "1.20", its digits), and as a
   DOUBLE for a floating-point conversion: v, or a one-row DOUBLE copy of its
   row *k (then *k = 0). */
static const vec *dec_as_double(const vec *v, int *k, char conv, vec *tmp, double *slot) {
    if (!type_is_dec(v->type) || !conv || !strchr("fFeEgGaA%", conv)) return v;
    *slot = qv_dec_to_double(v->i[*k], dec_scale(v->type));
    memset(tmp, 0, sizeof *tmp);
    tmp->type = QV_T_FLOAT64;
    tmp->n = tmp->cap = 1;
    tmp->f = slot;
    *k = 0;
    return tmp;
}

static const char *class_name(enum vclass c) {
    switch (c) {
    case VC_INT: return "an integer";
    case VC_FLOAT: return "a floating-point number";
    case VC_BOOL: return "a BOOLEAN";
    case VC_TEXT: return "a string";
    case VC_TS: return "a TIMESTAMP";
    }
    return "a value";
}

/* The value's text form: strings as they are, others by their type's one
   codec (what CAST(x AS VARCHAR) gives). */
static sv val_text(const vec *v, int k, char *buf, size_t cap) {
    if (type_pc(v->type) == PC_S) return v->s[k];
    int l = sql_type_get(v->type)->format(v, k, buf, cap);
    return (sv){buf, l};
}

/* Appends s padded with fill to width code points (left: pad on the right;
   centre: the extra pad on the right, as the fmt library does). */
static void put_padded(qv_str *o, const char *p, int32_t n, int64_t width, char align, const char *fill, int fl) {
    int64_t len = utf8_len(p, n), pad = width > len ? width - len : 0, before = 0;
    if (align == '>') before = pad;
    else if (align == '^') before = pad / 2;
    for (int64_t i = 0; i < before; i++) qv_str_append(o, fill, (size_t)fl);
    qv_str_append(o, p, (size_t)n);
    for (int64_t i = before; i < pad; i++) qv_str_append(o, fill, (size_t)fl);
}

static bool is_arg_null(const vec *v, int k) { return v->type == T_NULL || vec_null(v, k); }

/* Reads a decimal number at *p (digits only), capped; -1 when too large. */
static int64_t read_num(const char *s, int32_t n, int32_t *i) {
    int64_t v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        if (v > FMT_MAX_WIDTH) v = FMT_MAX_WIDTH + 1;
        (*i)++;
    }
    return v;
}

/* ---------------- printf ---------------- */

typedef struct pf_spec {
    char flags[8];   /* distinct flag characters among "-+ #0" */
    int64_t width, prec; /* -1: not given */
    char conv;
} pf_spec;

/* Picks the argument for the next use: %N$ (manual) or the next in order;
   the two styles may not be mixed in one format string. */
static int pf_arg(const bexpr *e, int64_t pos, int *next, int *mode, int *out, qv_err *err) {
    int m = pos > 0 ? 2 : 1;
    if (*mode && *mode != m) return fn_err(err, e, "cannot mix %%N$ and automatic argument positions");
    *mode = m;
    int64_t idx = pos > 0 ? pos : ++*next;
    if (idx >= e->nargs)
        return fn_err(err, e, "format needs argument %lld, only %d given", (long long)idx, e->nargs - 1);
    *out = (int)idx;
    return 0;
}

/* A '*' width or precision: an integer argument; a negative width left-aligns. */
static int pf_star(const bexpr *e, vec *a, int k, int idx, const char *what, int64_t *v, qv_err *err) {
    if (val_class(a[idx].type) != VC_INT) return fn_err(err, e, "the %s given by '*' must be an integer", what);
    int64_t x = a[idx].i[k];
    if (x < -FMT_MAX_WIDTH || x > FMT_MAX_WIDTH) return fn_err(err, e, "%s %lld is too large", what, (long long)x);
    *v = x;
    return 0;
}

static void add_flag(pf_spec *s, char c) {
    if (!strchr(s->flags, c)) {
        size_t l = strlen(s->flags);
        s->flags[l] = c;
        s->flags[l + 1] = 0;
    }
}

/* One conversion of a numeric value through C's formatting, which gives the
   flags, width and precision their standard meaning. */
static void pf_c_number(qv_str *o, const pf_spec *s, const char *len, char conv, const vec *v, int k) {
    char cf[40];
    int l = snprintf(cf, sizeof cf, "%%%s", s->flags);
    if (s->width >= 0) l += snprintf(cf + l, sizeof cf - (size_t)l, "%lld", (long long)s->width);
    if (s->prec >= 0) l += snprintf(cf + l, sizeof cf - (size_t)l, ".%lld", (long long)s->prec);
    snprintf(cf + l, sizeof cf - (size_t)l, "%s%c", len, conv);
    if (type_pc(v->type) == PC_F) qv_str_appendf(o, cf, v->f[k]);
    else if (conv == 'd' || conv == 'i') qv_str_appendf(o, cf, (long long)v->i[k]);
    else qv_str_appendf(o, cf, (unsigned long long)v->i[k]);
}

static int pf_convert(const bexpr *e, const pf_spec *s, const vec *v, int k, qv_str *o, qv_err *err) {
    vec dtmp;
    double dslot;
    v = dec_as_double(v, &k, s->conv, &dtmp, &dslot);
    enum vclass c = val_class(v->type);
    char conv = s->conv;
    bool intish = c == VC_INT || c == VC_BOOL;
    if (strchr("diuxXo", conv)) {
        if (!intish) goto wrong;
        pf_c_number(o, s, "ll", conv == 'u' ? 'u' : conv, v, k);
    } else if (strchr("fFeEgGaA", conv)) {
        if (c != VC_FLOAT) goto wrong;
        pf_c_number(o, s, "", conv, v, k);
    } else if (conv == 'c') {
        if (!intish) goto wrong;
        int64_t x = v->i[k];
        if (x < 0 || x > 0x7f)
            return fn_err(err, e, "%%c writes one byte (0 to 127), got %lld; use chr() for a Unicode code point",
                          (long long)x);
        char ch = (char)x;
        put_padded(o, &ch, 1, s->width, strchr(s->flags, '-') ? '<' : '>', " ", 1);
    } else if (conv == 's') {
        if (c == VC_INT || c == VC_FLOAT) goto wrong;
        char buf[64];
        sv t = val_text(v, k, buf, sizeof buf);
        int32_t n = t.n;
        if (s->prec >= 0) n = utf8_off(t.p, t.n, s->prec); /* precision: at most that many characters */
        put_padded(o, t.p, n, s->width, strchr(s->flags, '-') ? '<' : '>', " ", 1);
    } else {
        return fn_err(err, e, "unknown conversion '%%%c'", conv);
    }
    return 0;
wrong:
    return fn_err(err, e, "'%%%c' cannot format %s (%s)", conv, class_name(c), sql_type_sqlname(v->type, NULL));
}

/* Parses the conversion at f[*i] (just past the '%') and appends it. */
static int pf_one(const bexpr *e, vec *a, int k, sv f, int32_t *i, int *next, int *mode, qv_str *o,
                  qv_err *err) {
    pf_spec s = {.flags = "", .width = -1, .prec = -1};
    int32_t j = *i;
    int64_t pos = 0;
    int32_t save = j;
    int64_t num = read_num(f.p, f.n, &j);
    if (j < f.n && f.p[j] == '$' && j > save) {
        if (num < 1) return fn_err(err, e, "argument positions %%N$ start at 1");
        pos = num;
        j++;
    } else {
        j = save;
    }
    if (pos > FMT_MAX_WIDTH) return fn_err(err, e, "argument position too large");
    while (j < f.n && strchr("-+ #0", f.p[j]) && f.p[j]) add_flag(&s, f.p[j++]);
    int idx = 0;
    if (j < f.n && f.p[j] == '*') {
        j++;
        if (pf_arg(e, 0, next, mode, &idx, err) || pf_star(e, a, k, idx, "width", &s.width, err)) return -1;
        if (s.width < 0) { add_flag(&s, '-'); s.width = -s.width; }
    } else if (j < f.n && f.p[j] >= '1' && f.p[j] <= '9') {
        s.width = read_num(f.p, f.n, &j);
    }
    if (j < f.n && f.p[j] == '.') {
        j++;
        if (j < f.n && f.p[j] == '*') {
            j++;
            if (pf_arg(e, 0, next, mode, &idx, err) || pf_star(e, a, k, idx, "precision", &s.prec, err)) return -1;
        } else {
            s.prec = read_num(f.p, f.n, &j);
        }
    }
    if (s.width > FMT_MAX_WIDTH || s.prec > FMT_MAX_WIDTH)
        return fn_err(err, e, "width or precision larger than %d", FMT_MAX_WIDTH);
    while (j < f.n && strchr("hlzjtL", f.p[j]) && f.p[j]) j++; /* C length modifiers: values are 64-bit anyway */
    if (j >= f.n) return fn_err(err, e, "format string ends inside a conversion");
    s.conv = f.p[j];
    if ((unsigned char)s.conv >= 0x80) { /* name the whole character, not its first byte */
        int32_t cl = utf8_off(f.p + j, f.n - j, 1);
        return fn_err(err, e, "unknown conversion '%%%.*s'", cl, f.p + j);
    }
    *i = ++j;
    if (pf_arg(e, pos, next, mode, &idx, err)) return -1;
    return pf_convert(e, &s, &a[idx], k, o, err);
}

static int pf_row(const bexpr *e, vec *a, int k, qv_str *o, qv_err *err) {
    sv f = a[0].s[k];
    int next = 0, mode = 0;
    for (int32_t i = 0; i < f.n;) {
        const char *pc = memchr(f.p + i, '%', (size_t)(f.n - i));
        int32_t lit = pc ? (int32_t)(pc - (f.p + i)) : f.n - i;
        qv_str_append(o, f.p + i, (size_t)lit);
        i += lit;
        if (i >= f.n) break;
        i++;
        if (i < f.n && f.p[i] == '%') { qv_str_appendc(o, '%'); i++; continue; }
        if (pf_one(e, a, k, f, &i, &next, &mode, o, err)) return -1;
    }
    return 0;
}

/* ---------------- format ---------------- */

typedef struct ff_spec {
    char fill[5];
    int fl;
    char align;   /* 0: the type's default (numbers right, text left) */
    char sign;    /* 0, '+', '-' or ' ' */
    bool alt, zero;
    char group;   /* 0, ',' or '_' */
    int64_t width, prec;
    char type;    /* 0 or the presentation letter */
} ff_spec;

/* Parses the spec between ':' and '}' (s, n bytes). */
static int ff_parse(const bexpr *e, const char *s, int32_t n, ff_spec *sp, qv_err *err) {
    *sp = (ff_spec){.fill = " ", .fl = 1, .width = -1, .prec = -1};
    int32_t i = 0;
    int32_t cl = n ? utf8_off(s, n, 1) : 0; /* the first character, maybe a fill */
    if (cl < n && strchr("<>^", s[cl]) && s[cl]) {
        memcpy(sp->fill, s, (size_t)cl);
        sp->fill[cl] = 0;
        sp->fl = cl;
        sp->align = s[cl];
        i = cl + 1;
    } else if (i < n && strchr("<>^", s[i]) && s[i]) {
        sp->align = s[i++];
    }
    if (i < n && strchr("+- ", s[i]) && s[i]) sp->sign = s[i++];
    if (i < n && s[i] == '#') { sp->alt = true; i++; }
    if (i < n && s[i] == '0') { sp->zero = true; i++; }
    if (i < n && s[i] >= '1' && s[i] <= '9') sp->width = read_num(s, n, &i);
    if (i < n && (s[i] == ',' || s[i] == '_')) sp->group = s[i++];
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return fn_err(err, e, "'.' in a format spec must be followed by digits");
        sp->prec = read_num(s, n, &i);
    }
    if (sp->width > FMT_MAX_WIDTH || sp->prec > FMT_MAX_WIDTH)
        return fn_err(err, e, "width or precision larger than %d", FMT_MAX_WIDTH);
    if (i < n && strchr("dxXobfFeEgGs", s[i]) && s[i]) sp->type = s[i++];
    if (i < n) return fn_err(err, e, "unsupported format spec '{:%.*s}'", n, s);
    return 0;
}

/* Inserts sep every three digits of the leading digit run of t (after a sign). */
static void ff_group(qv_str *o, const char *t, int32_t n, char sep) {
    int32_t i = 0;
    if (i < n && (t[i] == '-' || t[i] == '+' || t[i] == ' ')) qv_str_appendc(o, t[i++]);
    int32_t d = i;
    while (d < n && t[d] >= '0' && t[d] <= '9') d++;
    for (int32_t j = i; j < d; j++) {
        qv_str_appendc(o, t[j]);
        if (j + 1 < d && (d - j - 1) % 3 == 0) qv_str_appendc(o, sep);
    }
    qv_str_append(o, t + d, (size_t)(n - d));
}

/* The digits of an integer in base (10, 16, 8, 2), without its sign. */
static int ff_digits(uint64_t u, int base, bool upper, char *buf) {
    const char *dg = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char t[72];
    int n = 0;
    do { t[n++] = dg[u % (unsigned)base]; u /= (unsigned)base; } while (u);
    for (int i = 0; i < n; i++) buf[i] = t[n - 1 - i];
    return n;
}

/* A number's text: sign and prefix apart from its digits, so zero padding
   can go between them. */
static int ff_number(const bexpr *e, const ff_spec *sp, const vec *v, int k, qv_str *pre, qv_str *body, qv_err *err) {
    char t = sp->type;
    bool neg;
    if (type_pc(v->type) == PC_F) {
        double x = v->f[k];
        if (t && !strchr("fFeEgG", t)) goto wrong;
        neg = signbit(x);
        char buf[QV_FLOAT_TEXT_MAX + 8], cf[24];
        if (!t && sp->prec < 0) {
            sv s = val_text(v, k, buf, sizeof buf);
            qv_str_append(body, s.p + neg, (size_t)(s.n - neg));
        } else {
            snprintf(cf, sizeof cf, "%%%s.%lld%c", sp->alt ? "#" : "", (long long)(sp->prec < 0 ? 6 : sp->prec),
                     t ? t : 'g');
            qv_str_appendf(body, cf, neg ? -x : x);
        }
    } else {
        if (t && !strchr("dxXob", t)) goto wrong;
        if (sp->prec >= 0) return fn_err(err, e, "a precision is not allowed for an integer");
        int64_t x = v->i[k];
        neg = x < 0;
        uint64_t u = neg ? 0 - (uint64_t)x : (uint64_t)x;
        int base = t == 'x' || t == 'X' ? 16 : t == 'o' ? 8 : t == 'b' ? 2 : 10;
        char buf[72];
        int n = ff_digits(u, base, t == 'X', buf);
        qv_str_append(body, buf, (size_t)n);
    }
    if (neg) qv_str_appendc(pre, '-');
    else if (sp->sign == '+' || sp->sign == ' ') qv_str_appendc(pre, sp->sign);
    if (sp->alt && t && strchr("xXob", t)) qv_str_append(pre, t == 'x' ? "0x" : t == 'X' ? "0X" : t == 'o' ? "0" : "0b", t == 'o' ? 1 : 2);
    return 0;
wrong:
    return fn_err(err, e, "'{:%c}' cannot format %s (%s)", t, class_name(val_class(v->type)), sql_type_sqlname(v->type, NULL));
}

static int ff_convert(const bexpr *e, const ff_spec *sp, const vec *v, int k, qv_str *o, qv_err *err) {
    vec dtmp;
    double dslot;
    v = dec_as_double(v, &k, sp->type, &dtmp, &dslot);
    enum vclass c = val_class(v->type);
    bool num = c == VC_INT || c == VC_FLOAT || (c == VC_BOOL && sp->type && sp->type != 's');
    if (!num) {
        if (sp->type && sp->type != 's')
            return fn_err(err, e, "'{:%c}' cannot format %s (%s)", sp->type, class_name(c), sql_type_sqlname(v->type, NULL));
        if (sp->sign || sp->alt) return fn_err(err, e, "a sign or '#' is not allowed for %s", class_name(c));
        char buf[64];
        sv t = val_text(v, k, buf, sizeof buf);
        int32_t n = sp->prec >= 0 ? utf8_off(t.p, t.n, sp->prec) : t.n;
        put_padded(o, t.p, n, sp->width, sp->align ? sp->align : '<', sp->fill, sp->fl);
        return 0;
    }
    qv_str pre, body, all;
    qv_str_init(&pre), qv_str_init(&body), qv_str_init(&all);
    int rc = ff_number(e, sp, v, k, &pre, &body, err);
    if (!rc) {
        qv_str_append(&all, pre.data, pre.len);
        if (sp->group && (!sp->type || strchr("dfFgG", sp->type))) ff_group(&all, body.data, (int32_t)body.len, sp->group);
        else qv_str_append(&all, body.data, body.len);
        /* zeros go between the sign/prefix and the digits; inf and nan are
           padded with spaces, as the fmt library documents */
        bool finite = type_pc(v->type) != PC_F || isfinite(v->f[k]);
        if (sp->zero && !sp->align && finite) {
            qv_str_append(o, pre.data, pre.len);
            for (int64_t z = (int64_t)all.len; z < sp->width; z++) qv_str_appendc(o, '0');
            qv_str_append(o, all.data + pre.len, all.len - pre.len);
        } else {
            put_padded(o, all.data, (int32_t)all.len, sp->width, sp->align ? sp->align : '>', sp->fill, sp->fl);
        }
    }
    qv_str_free(&pre), qv_str_free(&body), qv_str_free(&all);
    return rc;
}

/* One {...} at f[*i] (just past the '{'). */
static int ff_one(const bexpr *e, vec *a, int k, sv f, int32_t *i, int *next, int *mode, qv_str *o, qv_err *err) {
    int32_t j = *i, st = j;
    while (j < f.n && f.p[j] != '}' && f.p[j] != ':' && f.p[j] != '{') j++;
    if (j >= f.n) return fn_err(err, e, "'{' without a closing '}' in the format string");
    if (f.p[j] == '{') return fn_err(err, e, "'{' inside a placeholder (nested placeholders are not supported)");
    int64_t pos = -1;
    if (j > st) {
        int32_t d = st;
        pos = read_num(f.p, j, &d);
        if (d != j) return fn_err(err, e, "named placeholder '{%.*s}' is not supported; use {} or {N}", j - st, f.p + st);
    }
    int32_t ss = j, se = j;
    if (f.p[j] == ':') {
        ss = ++j;
        while (j < f.n && f.p[j] != '}' && f.p[j] != '{') j++;
        if (j >= f.n) return fn_err(err, e, "'{' without a closing '}' in the format string");
        if (f.p[j] == '{') return fn_err(err, e, "'{' inside a placeholder (nested placeholders are not supported)");
        se = j;
    }
    *i = j + 1;
    int m = pos >= 0 ? 2 : 1;
    if (*mode && *mode != m) return fn_err(err, e, "cannot mix {N} and {} placeholders");
    *mode = m;
    int64_t idx = pos >= 0 ? pos + 1 : ++*next;
    if (idx >= e->nargs)
        return fn_err(err, e, "placeholder refers to argument %lld, only %d given", (long long)idx - 1, e->nargs - 1);
    ff_spec sp;
    if (ff_parse(e, f.p + ss, se - ss, &sp, err)) return -1;
    return ff_convert(e, &sp, &a[idx], k, o, err);
}

static int ff_row(const bexpr *e, vec *a, int k, qv_str *o, qv_err *err) {
    sv f = a[0].s[k];
    int next = 0, mode = 0;
    for (int32_t i = 0; i < f.n;) {
        char c = f.p[i++];
        if (c == '{' && i < f.n && f.p[i] == '{') { qv_str_appendc(o, '{'); i++; }
        else if (c == '}' && i < f.n && f.p[i] == '}') { qv_str_appendc(o, '}'); i++; }
        else if (c == '}') return fn_err(err, e, "unmatched '}' in the format string (write '}}' for a brace)");
        else if (c == '{') { if (ff_one(e, a, k, f, &i, &next, &mode, o, err)) return -1; }
        else qv_str_appendc(o, c);
    }
    return 0;
}

/* ---------------- shared ---------------- */

/* Arguments of any type but INTERVAL (whose text form is not Quiver's yet). */
static bexpr *bind_fmt(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    for (int i = 1; i < e->nargs; i++)
        if (e->args[i]->type == T_INTERVAL) {
            char m[160];
            snprintf(m, sizeof m, "%s: argument %d is an INTERVAL, which it cannot format", fd->name, i + 1);
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
    e->type = QV_T_STRING;
    e->tz[0] = 0;
    return e;
}

typedef int (*row_fn)(const bexpr *e, vec *a, int k, qv_str *o, qv_err *err);

static int eval_rows(const bexpr *e, vec *a, int n, vec *out, qv_err *err, row_fn row) {
    qv_str o;
    qv_str_init(&o);
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        bool null = vec_null(out, k);
        for (int j = 0; j < e->nargs && !null; j++) null = is_arg_null(&a[j], k);
        if (null) { fn_set_null(out, k); continue; }
        o.len = 0;
        rc = row(e, a, k, &o, err);
        if (!rc && o.len > INT32_MAX) rc = fn_err(err, e, "result too large");
        if (!rc) vec_set_str(out, k, o.len ? o.data : "", (int32_t)o.len);
    }
    qv_str_free(&o);
    return rc;
}

static int ev_printf(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return eval_rows(e, a, n, out, err, pf_row); }
static int ev_format(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return eval_rows(e, a, n, out, err, ff_row); }

const sfunc_def sfunc_format[] = {
    {"printf", 1, 64, "SA", 'S', bind_fmt, ev_printf, SF_STRICT,
     "printf(fmt, ...): C-style %d %i %u %x %X %o %c %s %f %e %g %a with flags, width, precision, * and %N$"},
    {"format", 1, 64, "SA", 'S', bind_fmt, ev_format, SF_STRICT,
     "format(fmt, ...): {} / {N} placeholders with [[fill]align][sign][#][0][width][,][.prec][type]"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
