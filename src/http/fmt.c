/* Output formats of the HTTP API: format names, value text, row writers. */
#include "http_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    http_format f;
} fmt_names[] = {
    {"JSON", HF_JSON},
    {"JSONEachRow", HF_JSONEACHROW},
    {"NDJSON", HF_JSONEACHROW},
    {"JSONLines", HF_JSONEACHROW},
    {"JSONCompact", HF_JSONCOMPACT},
    {"CSV", HF_CSV},
    {"CSVWithNames", HF_CSVWITHNAMES},
    {"TSV", HF_TSV},
    {"TabSeparated", HF_TSV},
    {"TSVWithNames", HF_TSVWITHNAMES},
    {"TabSeparatedWithNames", HF_TSVWITHNAMES},
    {"Arrow", HF_ARROW},
    {"ArrowStream", HF_ARROW},
};

int http_format_parse(const char *s, size_t n, http_format *out) {
    for (size_t i = 0; i < sizeof fmt_names / sizeof fmt_names[0]; i++) {
        if (strlen(fmt_names[i].name) == n && strncasecmp(fmt_names[i].name, s, n) == 0) {
            *out = fmt_names[i].f;
            return 0;
        }
    }
    return -1;
}

const char *http_format_name(http_format f) {
    static const char *names[HF__COUNT] = {"JSON", "JSONEachRow", "JSONCompact", "CSV",
                                          "CSVWithNames", "TSV", "TSVWithNames", "Arrow"};
    return (unsigned)f < HF__COUNT ? names[f] : "?";
}

const char *http_format_content_type(http_format f) {
    switch (f) {
    case HF_JSON:
    case HF_JSONCOMPACT: return "application/json; charset=utf-8";
    case HF_JSONEACHROW: return "application/x-ndjson; charset=utf-8";
    case HF_CSV:
    case HF_CSVWITHNAMES: return "text/csv; charset=utf-8";
    case HF_TSV:
    case HF_TSVWITHNAMES: return "text/tab-separated-values; charset=utf-8";
    case HF_ARROW: return "application/vnd.apache.arrow.stream";
    default: return "application/octet-stream";
    }
}

static bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

int http_sql_split_format(const char *sql, size_t *len, const char **name, size_t *name_len) {
    size_t e = *len;
    while (e > 0 && (is_blank(sql[e - 1]) || sql[e - 1] == ';')) e--;
    size_t we = e;
    while (e > 0 && is_word(sql[e - 1])) e--;
    size_t ws = e;
    if (ws == we) return 0;
    if (e == 0 || !is_blank(sql[e - 1])) return 0;
    while (e > 0 && is_blank(sql[e - 1])) e--;
    if (e < 6 || strncasecmp(sql + e - 6, "FORMAT", 6) != 0) return 0;
    /* FORMAT must be a whole word, preceded by a blank or ')' (not e.g. MYFORMAT). */
    if (e > 6 && is_word(sql[e - 7])) return 0;
    *name = sql + ws;
    *name_len = we - ws;
    *len = e - 6;
    return 1;
}

/* ---- values ---- */

size_t http_fmt_i64(int64_t v, char *buf) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0) buf[k++] = '-';
    while (n) buf[k++] = tmp[--n];
    buf[k] = 0;
    return k;
}

/* The one text form of a number (base/floatfmt.c): the same as SQL's CAST to VARCHAR. */
size_t http_fmt_f64(double v, char *buf) { return qv_float_format(v, false, buf); }

size_t http_fmt_f32(float v, char *buf) { return qv_float_format((double)v, true, buf); }

size_t http_fmt_timestamp(int64_t ns, char *buf) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    int n = snprintf(buf, 40, "%04lld-%02d-%02dT%02d:%02d:%02d.%09lldZ", (long long)t.year, t.month, t.day, t.hour,
                     t.minute, t.second, (long long)t.nanos);
    return (size_t)n;
}

/* ---- parsers ---- */

int http_parse_i64(const char *p, size_t n, int64_t *out) {
    if (n == 0 || n > 24) return -1;
    size_t i = 0;
    bool neg = false;
    if (p[0] == '-' || p[0] == '+') neg = p[0] == '-', i++;
    if (i == n) return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        unsigned dgt = (unsigned)(p[i] - '0');
        if (v > (lim - dgt) / 10) return -1;
        v = v * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int http_parse_f64(const char *p, size_t n, double *out) {
    char buf[64];
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    /* strtod also takes hex floats and leading blanks; people mean neither. */
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 'x' || buf[i] == 'X' || is_blank(buf[i])) return -1;
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end != buf + n) return -1;
    if (errno == ERANGE && isinf(v)) return -1;
    *out = v;
    return 0;
}

int http_parse_bool(const char *p, size_t n, bool strict, bool *out) {
    static const char *yes[] = {"true", "1", "t", "yes", "y"}, *no[] = {"false", "0", "f", "no", "n"};
    int lim = strict ? 1 : 5;
    for (int i = 0; i < lim; i++) {
        if (strlen(yes[i]) == n && strncasecmp(p, yes[i], n) == 0) return *out = true, 0;
        if (strlen(no[i]) == n && strncasecmp(p, no[i], n) == 0) return *out = false, 0;
    }
    return -1;
}

static int digits(const char *p, size_t n, size_t *i, int cnt, int *out) {
    int v = 0;
    for (int k = 0; k < cnt; k++) {
        if (*i >= n || p[*i] < '0' || p[*i] > '9') return -1;
        v = v * 10 + (p[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

int http_parse_timestamp(const char *p, size_t n, int64_t *out) {
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, s = 0;
    int64_t frac = 0;
    if (digits(p, n, &i, 4, &y) || i >= n || p[i++] != '-' || digits(p, n, &i, 2, &mo) || i >= n ||
        p[i++] != '-' || digits(p, n, &i, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[mo - 1]) return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return -1;
    int64_t off_s = 0;
    if (i < n) {
        if (p[i] != 'T' && p[i] != 't' && p[i] != ' ') return -1;
        i++;
        if (digits(p, n, &i, 2, &h) || i >= n || p[i++] != ':' || digits(p, n, &i, 2, &mi)) return -1;
        if (i < n && p[i] == ':') {
            i++;
            if (digits(p, n, &i, 2, &s)) return -1;
            if (i < n && (p[i] == '.' || p[i] == ',')) {
                i++;
                int nd = 0;
                while (i < n && p[i] >= '0' && p[i] <= '9') {
                    if (nd < 9) frac = frac * 10 + (p[i] - '0');
                    nd++, i++;
                }
                if (nd == 0 || nd > 9) return -1;
                for (; nd < 9; nd++) frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || s > 60) return -1;
        if (i < n) {
            if (p[i] == 'Z' || p[i] == 'z') {
                i++;
            } else if (p[i] == '+' || p[i] == '-') {
                int sign = p[i++] == '-' ? -1 : 1, oh, om = 0;
                if (digits(p, n, &i, 2, &oh)) return -1;
                if (i < n && p[i] == ':') i++;
                if (i < n && digits(p, n, &i, 2, &om)) return -1;
                if (oh > 23 || om > 59) return -1;
                off_s = sign * (oh * 3600 + om * 60);
            } else {
                return -1;
            }
        }
    }
    if (i != n) return -1;
    int64_t days = qv_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - off_s;
    /* int64 ns covers 1677..2262. */
    if (secs > INT64_MAX / 1000000000LL - 1 || secs < INT64_MIN / 1000000000LL + 1) return -1;
    *out = secs * 1000000000LL + frac;
    return 0;
}

/* ---- writers ---- */

static void csv_quote(qv_str *out, const char *p, size_t n, bool force) {
    bool need = force || n == 0;
    for (size_t i = 0; i < n && !need; i++)
        if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r') need = true;
    if (!need) {
        qv_str_append(out, p, n);
        return;
    }
    qv_str_appendc(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '"') continue;
        qv_str_append(out, p + run, i + 1 - run);
        qv_str_appendc(out, '"');
        run = i + 1;
    }
    qv_str_append(out, p + run, n - run);
    qv_str_appendc(out, '"');
}

static void tsv_escape(qv_str *out, const char *p, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i], e;
        switch (c) {
        case '\t': e = 't'; break;
        case '\n': e = 'n'; break;
        case '\r': e = 'r'; break;
        case '\\': e = '\\'; break;
        default: continue;
        }
        qv_str_append(out, p + run, i - run);
        char esc[2] = {'\\', e};
        qv_str_append(out, esc, 2);
        run = i + 1;
    }
    qv_str_append(out, p + run, n - run);
}

static bool fmt_is_json(http_format f) { return f == HF_JSON || f == HF_JSONEACHROW || f == HF_JSONCOMPACT; }

void http_writer_init(http_writer *w, http_format fmt, const qv_schema *schema) {
    memset(w, 0, sizeof *w);
    w->fmt = fmt;
    w->ncols = schema->nfields;
    w->types = qv_xcalloc((size_t)w->ncols + 1, sizeof *w->types);
    w->scales = qv_xcalloc((size_t)w->ncols + 1, sizeof *w->scales);
    w->keys = qv_xcalloc((size_t)w->ncols + 1, sizeof *w->keys);
    w->keylens = qv_xcalloc((size_t)w->ncols + 1, sizeof *w->keylens);
    for (int i = 0; i < w->ncols; i++) {
        const qv_field *f = &schema->fields[i];
        w->types[i] = f->type;
        w->scales[i] = f->type == QV_T_DECIMAL ? f->scale : 0;
        qv_str k;
        qv_str_init(&k);
        if (fmt_is_json(fmt)) {
            qv_str_append_json_string(&k, f->name, strlen(f->name));
            qv_str_appendc(&k, ':');
        } else if (fmt == HF_TSV || fmt == HF_TSVWITHNAMES) {
            tsv_escape(&k, f->name, strlen(f->name));
        } else {
            csv_quote(&k, f->name, strlen(f->name), false);
        }
        w->keylens[i] = k.len;
        w->keys[i] = qv_str_steal(&k);
    }
}

void http_writer_free(http_writer *w) {
    for (int i = 0; i < w->ncols; i++) free(w->keys[i]);
    free(w->keys);
    free(w->keylens);
    free(w->types);
    free(w->scales);
    memset(w, 0, sizeof *w);
}

void http_writer_begin(http_writer *w, const qv_schema *schema, qv_str *out) {
    switch (w->fmt) {
    case HF_JSON:
    case HF_JSONCOMPACT:
        qv_str_append(out, "{\"meta\":[", 9);
        for (int i = 0; i < w->ncols; i++) {
            const qv_field *f = &schema->fields[i];
            if (i) qv_str_appendc(out, ',');
            qv_str_append(out, "{\"name\":", 8);
            qv_str_append_json_string(out, f->name, strlen(f->name));
            char dn[32];
            qv_str_appendf(out, ",\"type\":\"%s\"}", qv_field_type_name(f, dn, sizeof dn));
        }
        qv_str_append(out, "],\"data\":[", 10);
        break;
    case HF_CSVWITHNAMES:
    case HF_TSVWITHNAMES:
        for (int i = 0; i < w->ncols; i++) {
            if (i) qv_str_appendc(out, w->fmt == HF_CSVWITHNAMES ? ',' : '\t');
            qv_str_append(out, w->keys[i], w->keylens[i]);
        }
        qv_str_appendc(out, '\n');
        break;
    default: break;
    }
}

/* One value as JSON (scale: a DECIMAL's). A DECIMAL is a JSON number with
   its exact digits (1.25, never 1.2500000000000002), as INT64s are numbers. */
static void json_value(qv_str *out, qv_type t, int scale, const qv_array *a, int64_t r) {
    char buf[48];
    size_t n = 0;
    if (!qv_array_is_valid(a, r)) {
        qv_str_append(out, "null", 4);
        return;
    }
    switch (t) {
    case QV_T_INT32: n = http_fmt_i64(qv_array_get_i32(a, r), buf); break;
    case QV_T_INT64: n = http_fmt_i64(qv_array_get_i64(a, r), buf); break;
    case QV_T_DECIMAL: n = qv_dec_format(qv_array_get_i64(a, r), scale, buf, sizeof buf); break;
    case QV_T_FLOAT32:
    case QV_T_FLOAT64: {
        double v = t == QV_T_FLOAT64 ? qv_array_get_f64(a, r) : (double)qv_array_get_f32(a, r);
        n = t == QV_T_FLOAT64 ? http_fmt_f64(v, buf) : http_fmt_f32((float)v, buf);
        if (!isfinite(v)) {
            qv_str_appendc(out, '"');
            qv_str_append(out, buf, n);
            qv_str_appendc(out, '"');
            return;
        }
        break;
    }
    case QV_T_BOOL:
        if (qv_array_get_bool(a, r)) qv_str_append(out, "true", 4);
        else qv_str_append(out, "false", 5);
        return;
    case QV_T_TIMESTAMP:
        buf[0] = '"';
        n = 1 + http_fmt_timestamp(qv_array_get_i64(a, r), buf + 1);
        buf[n++] = '"';
        break;
    case QV_T_DATE:
        buf[0] = '"';
        n = 1 + qv_date_format(qv_array_get_i32(a, r), buf + 1, sizeof buf - 2);
        buf[n++] = '"';
        break;
    case QV_T_INTERVAL: /* its text, as a string: "2 days 01:02:03.5" */
        buf[0] = '"';
        n = 1 + qv_interval_format(qv_array_get_i64(a, r), buf + 1, sizeof buf - 2);
        buf[n++] = '"';
        break;
    case QV_T_TIME: /* "09:30:00.5" */
        buf[0] = '"';
        n = 1 + qv_time_format(qv_array_get_i64(a, r), buf + 1, sizeof buf - 2);
        buf[n++] = '"';
        break;
    case QV_T_STRING:
    case QV_T_SYMBOL: {
        int32_t len;
        const char *s = qv_array_get_str(a, r, &len);
        qv_str_append_json_string(out, s, (size_t)len);
        return;
    }
    case QV_T_INVALID:
    case QV_T__COUNT: qv_str_append(out, "null", 4); return;
    }
    qv_str_append(out, buf, n);
}

/* One value as CSV/TSV text. NULL is empty; in CSV an empty string is "". */
static void text_value(qv_str *out, bool csv, qv_type t, int scale, const qv_array *a, int64_t r) {
    char buf[48];
    size_t n = 0;
    if (!qv_array_is_valid(a, r)) return;
    switch (t) {
    case QV_T_INT32: n = http_fmt_i64(qv_array_get_i32(a, r), buf); break;
    case QV_T_INT64: n = http_fmt_i64(qv_array_get_i64(a, r), buf); break;
    case QV_T_DECIMAL: n = qv_dec_format(qv_array_get_i64(a, r), scale, buf, sizeof buf); break;
    case QV_T_FLOAT32: n = http_fmt_f32(qv_array_get_f32(a, r), buf); break;
    case QV_T_FLOAT64: n = http_fmt_f64(qv_array_get_f64(a, r), buf); break;
    case QV_T_BOOL:
        if (qv_array_get_bool(a, r)) qv_str_append(out, "true", 4);
        else qv_str_append(out, "false", 5);
        return;
    case QV_T_TIMESTAMP: n = http_fmt_timestamp(qv_array_get_i64(a, r), buf); break;
    case QV_T_DATE: n = qv_date_format(qv_array_get_i32(a, r), buf, sizeof buf); break;
    case QV_T_INTERVAL: n = qv_interval_format(qv_array_get_i64(a, r), buf, sizeof buf); break;
    case QV_T_TIME: n = qv_time_format(qv_array_get_i64(a, r), buf, sizeof buf); break;
    case QV_T_STRING:
    case QV_T_SYMBOL: {
        int32_t len;
        const char *s = qv_array_get_str(a, r, &len);
        if (csv) csv_quote(out, s, (size_t)len, false);
        else tsv_escape(out, s, (size_t)len);
        return;
    }
    case QV_T_INVALID:
    case QV_T__COUNT: return;
    }
    qv_str_append(out, buf, n);
}

void http_writer_rows(http_writer *w, const qv_batch *b, int64_t from, int64_t to, qv_str *out) {
    int nc = w->ncols < b->schema.nfields ? w->ncols : b->schema.nfields;
    for (int64_t r = from; r < to; r++) {
        switch (w->fmt) {
        case HF_JSON:
        case HF_JSONEACHROW:
            if (w->fmt == HF_JSON && w->rows) qv_str_appendc(out, ',');
            qv_str_appendc(out, '{');
            for (int c = 0; c < nc; c++) {
                if (c) qv_str_appendc(out, ',');
                qv_str_append(out, w->keys[c], w->keylens[c]);
                json_value(out, w->types[c], w->scales[c], &b->cols[c], r);
            }
            qv_str_appendc(out, '}');
            if (w->fmt == HF_JSONEACHROW) qv_str_appendc(out, '\n');
            break;
        case HF_JSONCOMPACT:
            if (w->rows) qv_str_appendc(out, ',');
            qv_str_appendc(out, '[');
            for (int c = 0; c < nc; c++) {
                if (c) qv_str_appendc(out, ',');
                json_value(out, w->types[c], w->scales[c], &b->cols[c], r);
            }
            qv_str_appendc(out, ']');
            break;
        case HF_CSV:
        case HF_CSVWITHNAMES:
        case HF_TSV:
        case HF_TSVWITHNAMES: {
            bool csv = w->fmt == HF_CSV || w->fmt == HF_CSVWITHNAMES;
            for (int c = 0; c < nc; c++) {
                if (c) qv_str_appendc(out, csv ? ',' : '\t');
                text_value(out, csv, w->types[c], w->scales[c], &b->cols[c], r);
            }
            qv_str_appendc(out, '\n');
            break;
        }
        default: break;
        }
        w->rows++;
    }
}

void http_writer_end(http_writer *w, const http_stats *st, qv_str *out) {
    if (w->fmt != HF_JSON && w->fmt != HF_JSONCOMPACT) return;
    char el[48];
    http_fmt_f64(st->elapsed_s, el);
    qv_str_appendf(out, "],\"rows\":%lld,\"statistics\":{\"elapsed_s\":%s,\"rows_read\":%lld,\"bytes_read\":%lld}}\n",
                   (long long)w->rows, el, (long long)st->rows_read, (long long)st->bytes_read);
}
