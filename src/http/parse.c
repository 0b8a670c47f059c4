/*
** Request body readers for ingest: CSV records and NDJSON objects as cells.
** Each reader walks a body it does not own; cells point into the body or
** into the reader's scratch string, valid until the next call.
*/
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

#define NO_OFF ((size_t)-1)

/* ---- CSV ---- */

void http_csv_init(http_csv *c, const char *p, size_t n) {
    memset(c, 0, sizeof *c);
    c->p = p;
    c->end = p + n;
    c->next_line = 1;
    qv_str_init(&c->scratch);
    /* A UTF-8 byte order mark is not part of the first name. */
    if (n >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF)
        c->p += 3;
}

void http_csv_free(http_csv *c) {
    qv_str_free(&c->scratch);
    free(c->cells);
    free(c->offs);
    memset(c, 0, sizeof *c);
}

static void csv_push(http_csv *c, http_cell cell, size_t off) {
    if (c->ncells == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->cells = qv_xrealloc(c->cells, (size_t)c->cap * sizeof *c->cells);
        c->offs = qv_xrealloc(c->offs, (size_t)c->cap * sizeof *c->offs);
    }
    c->offs[c->ncells] = off;
    c->cells[c->ncells++] = cell;
}

int http_csv_next(http_csv *c, qv_err *err) {
    /* Skip blank lines. */
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n') c->next_line++;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    c->line = c->next_line;
    c->ncells = 0;
    c->scratch.len = 0;
    for (;;) {
        http_cell cell = {.kind = HC_TEXT};
        size_t off = NO_OFF;
        if (c->p < c->end && *c->p == '"') {
            const char *q = ++c->p;
            off = c->scratch.len;
            for (;;) {
                if (q >= c->end)
                    return qv_err_set(err, QV_EINVAL, "CSV line %lld: unterminated quoted field",
                                      (long long)c->line), -1;
                if (*q == '"') {
                    if (q + 1 < c->end && q[1] == '"') {
                        qv_str_append(&c->scratch, c->p, (size_t)(q + 1 - c->p));
                        c->p = q = q + 2;
                        continue;
                    }
                    break;
                }
                if (*q == '\n') c->next_line++;
                q++;
            }
            qv_str_append(&c->scratch, c->p, (size_t)(q - c->p));
            cell.n = c->scratch.len - off;
            c->p = q + 1;
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                return qv_err_set(err, QV_EINVAL, "CSV line %lld, field %d: text after closing quote",
                                  (long long)c->next_line, c->ncells + 1), -1;
        } else {
            const char *s = c->p;
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
                if (*c->p == '"')
                    return qv_err_set(err, QV_EINVAL, "CSV line %lld, field %d: quote inside an unquoted field",
                                      (long long)c->next_line, c->ncells + 1), -1;
                c->p++;
            }
            cell.p = s;
            cell.n = (size_t)(c->p - s);
            if (cell.n == 0) cell.kind = HC_NULL;
        }
        csv_push(c, cell, off);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '\r') c->p++;
        if (c->p < c->end && *c->p == '\n') c->p++, c->next_line++;
        break;
    }
    for (int i = 0; i < c->ncells; i++)
        if (c->offs[i] != NO_OFF) c->cells[i].p = c->scratch.data + c->offs[i];
    return 1;
}

/* ---- NDJSON ---- */

void http_ndjson_init(http_ndjson *j, const char *p, size_t n) {
    memset(j, 0, sizeof *j);
    j->p = p;
    j->end = p + n;
    qv_str_init(&j->scratch);
}

void http_ndjson_free(http_ndjson *j) {
    qv_str_free(&j->scratch);
    free(j->cells);
    free(j->key_off);
    free(j->key_len);
    free(j->val_off);
    free(j->keys);
    memset(j, 0, sizeof *j);
}

typedef struct {
    const char *p, *end, *start;
    http_ndjson *j;
    qv_err *err;
} jcur;

static int jfail(jcur *c, const char *what) {
    return qv_err_set(c->err, QV_EINVAL, "NDJSON line %lld, byte %lld: %s", (long long)c->j->line,
                      (long long)(c->p - c->start + 1), what),
           -1;
}

static void jskip(jcur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')) c->p++;
}

static void put_utf8(qv_str *s, uint32_t cp) {
    char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    qv_str_append(s, b, n);
}

static int hex4(jcur *c, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (c->p >= c->end) return -1;
        char h = *c->p++;
        v <<= 4;
        if (h >= '0' && h <= '9') v |= (uint32_t)(h - '0');
        else if (h >= 'a' && h <= 'f') v |= (uint32_t)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') v |= (uint32_t)(h - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* String at c->p (opening quote) unescaped into scratch; *off and *len locate it. */
static int jstring(jcur *c, size_t *off, size_t *len) {
    qv_str *s = &c->j->scratch;
    c->p++;
    *off = s->len;
    for (;;) {
        const char *run = c->p;
        while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p >= 0x20) c->p++;
        qv_str_append(s, run, (size_t)(c->p - run));
        if (c->p >= c->end) return jfail(c, "unterminated string");
        char ch = *c->p;
        if (ch == '"') {
            c->p++;
            break;
        }
        if (ch != '\\') return jfail(c, "control character in string");
        c->p++;
        if (c->p >= c->end) return jfail(c, "unterminated escape");
        char e = *c->p++;
        switch (e) {
        case '"': qv_str_appendc(s, '"'); break;
        case '\\': qv_str_appendc(s, '\\'); break;
        case '/': qv_str_appendc(s, '/'); break;
        case 'b': qv_str_appendc(s, '\b'); break;
        case 'f': qv_str_appendc(s, '\f'); break;
        case 'n': qv_str_appendc(s, '\n'); break;
        case 'r': qv_str_appendc(s, '\r'); break;
        case 't': qv_str_appendc(s, '\t'); break;
        case 'u': {
            uint32_t cp;
            if (hex4(c, &cp)) return jfail(c, "bad \\u escape");
            if (cp >= 0xD800 && cp < 0xDC00) {
                uint32_t lo;
                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u') return jfail(c, "lone surrogate");
                c->p += 2;
                if (hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF) return jfail(c, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return jfail(c, "lone surrogate");
            }
            put_utf8(s, cp);
            break;
        }
        default: return jfail(c, "bad escape in string");
        }
    }
    *len = s->len - *off;
    return 0;
}

static int jnumber(jcur *c, http_cell *cell) {
    const char *s = c->p;
    if (c->p < c->end && *c->p == '-') c->p++;
    const char *d = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    if (c->p == d || (*d == '0' && c->p - d > 1)) return jfail(c, "bad number");
    if (c->p < c->end && *c->p == '.') {
        d = ++c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        if (c->p == d) return jfail(c, "bad number");
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        d = c->p;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
        if (c->p == d) return jfail(c, "bad number");
    }
    cell->kind = HC_NUM;
    cell->p = s;
    cell->n = (size_t)(c->p - s);
    return 0;
}

static bool jword(jcur *c, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
    c->p += n;
    return true;
}

static void jpush(http_ndjson *j, size_t koff, size_t klen, http_cell cell, size_t voff) {
    if (j->nkeys == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 16;
        j->cells = qv_xrealloc(j->cells, (size_t)j->cap * sizeof *j->cells);
        j->key_off = qv_xrealloc(j->key_off, (size_t)j->cap * sizeof *j->key_off);
        j->key_len = qv_xrealloc(j->key_len, (size_t)j->cap * sizeof *j->key_len);
        j->val_off = qv_xrealloc(j->val_off, (size_t)j->cap * sizeof *j->val_off);
        j->keys = qv_xrealloc(j->keys, (size_t)j->cap * sizeof *j->keys);
    }
    j->key_off[j->nkeys] = koff;
    j->key_len[j->nkeys] = klen;
    j->val_off[j->nkeys] = voff;
    j->cells[j->nkeys++] = cell;
}

int http_ndjson_next(http_ndjson *j, qv_err *err) {
    for (;;) {
        if (j->p >= j->end) return 0;
        const char *nl = memchr(j->p, '\n', (size_t)(j->end - j->p));
        const char *le = nl ? nl : j->end;
        j->line++;
        jcur c = {j->p, le, j->p, j, err};
        j->p = nl ? nl + 1 : j->end;
        jskip(&c);
        if (c.p == c.end) continue; /* blank line */
        j->nkeys = 0;
        j->scratch.len = 0;
        if (*c.p != '{') return jfail(&c, "expected a JSON object");
        c.p++;
        jskip(&c);
        if (c.p < c.end && *c.p == '}') {
            c.p++;
        } else {
            for (;;) {
                jskip(&c);
                if (c.p >= c.end || *c.p != '"') return jfail(&c, "expected a key string");
                size_t koff, klen;
                if (jstring(&c, &koff, &klen)) return -1;
                qv_str_appendc(&j->scratch, 0); /* keys are used as C strings */
                jskip(&c);
                if (c.p >= c.end || *c.p != ':') return jfail(&c, "expected ':'");
                c.p++;
                jskip(&c);
                if (c.p >= c.end) return jfail(&c, "expected a value");
                http_cell cell = {0};
                size_t voff = NO_OFF;
                char ch = *c.p;
                if (ch == '"') {
                    size_t vlen;
                    if (jstring(&c, &voff, &vlen)) return -1;
                    cell.kind = HC_STR;
                    cell.n = vlen;
                } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
                    if (jnumber(&c, &cell)) return -1;
                } else if (jword(&c, "true")) {
                    cell.kind = HC_BOOL, cell.b = true;
                } else if (jword(&c, "false")) {
                    cell.kind = HC_BOOL, cell.b = false;
                } else if (jword(&c, "null")) {
                    cell.kind = HC_NULL;
                } else if (ch == '{' || ch == '[') {
                    return jfail(&c, "nested objects and arrays are not supported");
                } else {
                    return jfail(&c, "bad value");
                }
                jpush(j, koff, klen, cell, voff);
                jskip(&c);
                if (c.p < c.end && *c.p == ',') {
                    c.p++;
                    continue;
                }
                if (c.p < c.end && *c.p == '}') {
                    c.p++;
                    break;
                }
                return jfail(&c, "expected ',' or '}'");
            }
        }
        jskip(&c);
        if (c.p != c.end) return jfail(&c, "text after the object");
        /* Pointers into scratch only now: it may have moved while growing. */
        for (int i = 0; i < j->nkeys; i++) {
            j->keys[i] = j->scratch.data + j->key_off[i];
            if (j->val_off[i] != NO_OFF) j->cells[i].p = j->scratch.data + j->val_off[i];
        }
        return 1;
    }
}

/* ---- inference and conversion ---- */

void http_infer_init(http_infer *f) {
    memset(f, 0, sizeof *f);
    f->t_int = f->t_float = f->t_bool = f->t_ts = true;
    f->s_ts = true;
    f->date = true;
}

/* A bare YYYY-MM-DD (10 bytes, no time of day), for inferring DATE columns. */
static void infer_date(http_infer *f, const http_cell *c) {
    int64_t d;
    if (f->date && (c->n != 10 || qv_date_parse(c->p, c->n, &d))) f->date = false;
}

void http_infer_cell(http_infer *f, const http_cell *c) {
    int64_t i;
    double d;
    bool b;
    switch (c->kind) {
    case HC_NULL: return;
    case HC_TEXT:
        f->any_text = true;
        if (c->n == 0) { /* quoted empty: only a string column holds it */
            f->t_int = f->t_float = f->t_bool = f->t_ts = false;
            return;
        }
        if (f->t_int && http_parse_i64(c->p, c->n, &i)) f->t_int = false;
        if (f->t_float && !f->t_int && http_parse_f64(c->p, c->n, &d)) f->t_float = false;
        if (f->t_bool && http_parse_bool(c->p, c->n, true, &b)) f->t_bool = false;
        if (f->t_ts && http_parse_timestamp(c->p, c->n, &i)) f->t_ts = false;
        infer_date(f, c);
        return;
    case HC_STR:
        f->s_str = true;
        if (f->s_ts && http_parse_timestamp(c->p, c->n, &i)) f->s_ts = false;
        infer_date(f, c);
        return;
    case HC_NUM:
        f->s_num = true;
        if (!f->n_float && http_parse_i64(c->p, c->n, &i)) f->n_float = true;
        return;
    case HC_BOOL: f->s_bool = true; return;
    }
}

qv_type http_infer_result(const http_infer *f) {
    if (f->any_text) {
        if (f->t_int) return QV_T_INT64;
        if (f->t_float) return QV_T_FLOAT64;
        if (f->t_bool) return QV_T_BOOL;
        if (f->t_ts) return f->date ? QV_T_DATE : QV_T_TIMESTAMP;
        return QV_T_STRING;
    }
    int kinds = f->s_str + f->s_num + f->s_bool;
    if (kinds != 1) return QV_T_STRING; /* none seen, or mixed kinds */
    if (f->s_num) return f->n_float ? QV_T_FLOAT64 : QV_T_INT64;
    if (f->s_bool) return QV_T_BOOL;
    return f->s_ts ? (f->date ? QV_T_DATE : QV_T_TIMESTAMP) : QV_T_STRING;
}

static int bad_cell(const http_cell *c, qv_type t, int64_t line, const char *col, qv_err *err) {
    if (c->kind == HC_BOOL)
        return qv_err_set(err, QV_EINVAL, "line %lld, column '%s': %s is not a valid %s", (long long)line, col,
                          c->b ? "true" : "false", qv_type_name(t));
    int n = c->n > 64 ? 64 : (int)c->n;
    return qv_err_set(err, QV_EINVAL, "line %lld, column '%s': '%.*s%s' is not a valid %s", (long long)line, col, n,
                      c->p, c->n > 64 ? "..." : "", qv_type_name(t));
}

int http_cell_append(qv_builder *b, qv_type t, bool nullable, const http_cell *c, int64_t line, const char *col,
                     qv_err *err) {
    bool is_null = c->kind == HC_NULL || (c->kind == HC_TEXT && c->n == 0 && t != QV_T_STRING && t != QV_T_SYMBOL);
    if (is_null) {
        if (!nullable)
            return qv_err_set(err, QV_EINVAL, "line %lld, column '%s': NULL in a NOT NULL column", (long long)line,
                              col);
        qv_builder_append_null(b);
        return 0;
    }
    int64_t i;
    double d;
    bool v;
    switch (t) {
    case QV_T_INT32:
    case QV_T_INT64:
        if (c->kind == HC_BOOL || http_parse_i64(c->p, c->n, &i)) return bad_cell(c, t, line, col, err);
        if (t == QV_T_INT32) {
            if (i < INT32_MIN || i > INT32_MAX) return bad_cell(c, t, line, col, err);
            qv_builder_append_i32(b, (int32_t)i);
        } else {
            qv_builder_append_i64(b, i);
        }
        return 0;
    case QV_T_FLOAT32:
    case QV_T_FLOAT64:
        if (c->kind == HC_BOOL || http_parse_f64(c->p, c->n, &d)) return bad_cell(c, t, line, col, err);
        if (t == QV_T_FLOAT32) qv_builder_append_f32(b, (float)d);
        else qv_builder_append_f64(b, d);
        return 0;
    case QV_T_BOOL:
        if (c->kind == HC_BOOL) v = c->b;
        else if (http_parse_bool(c->p, c->n, false, &v)) return bad_cell(c, t, line, col, err);
        qv_builder_append_bool(b, v);
        return 0;
    case QV_T_TIMESTAMP:
        if (c->kind == HC_BOOL) return bad_cell(c, t, line, col, err);
        /* ISO text, or integer nanoseconds since the epoch. */
        if (http_parse_timestamp(c->p, c->n, &i) && http_parse_i64(c->p, c->n, &i))
            return bad_cell(c, t, line, col, err);
        qv_builder_append_i64(b, i);
        return 0;
    case QV_T_DATE:
        if (c->kind == HC_BOOL || qv_date_parse(c->p, c->n, &i)) return bad_cell(c, t, line, col, err);
        qv_builder_append_i32(b, (int32_t)i);
        return 0;
    case QV_T_STRING:
    case QV_T_SYMBOL:
        if (c->kind == HC_BOOL) qv_builder_append_str(b, c->b ? "true" : "false", c->b ? 4 : 5);
        else if (c->n > INT32_MAX) return bad_cell(c, t, line, col, err);
        else qv_builder_append_str(b, c->p, (int32_t)c->n);
        return 0;
    case QV_T_INTERVAL: /* SQL's interval text ("1 day 2 hours", "00:05:00"), or integer nanoseconds */
        if (c->kind == HC_BOOL || (qv_interval_parse(c->p, c->n, &i) && http_parse_i64(c->p, c->n, &i)))
            return bad_cell(c, t, line, col, err);
        qv_builder_append_i64(b, i);
        return 0;
    case QV_T_TIME: /* "09:30:00.5", or integer nanoseconds since midnight */
        if (c->kind == HC_BOOL || (qv_time_parse(c->p, c->n, &i) && (http_parse_i64(c->p, c->n, &i) || i < 0 ||
                                                                     i > QV_TIME_MAX)))
            return bad_cell(c, t, line, col, err);
        qv_builder_append_i64(b, i);
        return 0;
    case QV_T_DECIMAL: /* needs the column's precision and scale: http_cell_append_field */
    default:
        return qv_err_set(err, QV_EUNSUPPORTED, "column '%s': type %s cannot be loaded from text", col,
                          qv_type_name(t));
    }
}

/* A DECIMAL cell is text or a JSON number (or a JSON string holding one)
   read exactly at the column's precision and scale, as DuckDB casts text:
   never through a double, so 0.1 is 0.1. */
static int decimal_cell_append(qv_builder *b, const qv_field *f, const http_cell *c, int64_t line, qv_err *err) {
    int64_t v;
    char tn[32];
    int rc = c->kind == HC_BOOL ? -1 : qv_dec_parse(c->p, c->n, f->precision, f->scale, &v);
    if (rc == 0) {
        qv_builder_append_i64(b, v);
        return 0;
    }
    qv_dec_type_name(f->precision, f->scale, tn, sizeof tn);
    int n = c->kind == HC_BOOL ? (c->b ? 4 : 5) : c->n > 64 ? 64 : (int)c->n;
    const char *p = c->kind == HC_BOOL ? (c->b ? "true" : "false") : c->p;
    if (rc == -2)
        return qv_err_set(err, QV_EINVAL, "line %lld, column '%s': '%.*s%s' does not fit %s", (long long)line, f->name,
                          n, p, c->n > 64 ? "..." : "", tn);
    return qv_err_set(err, QV_EINVAL, "line %lld, column '%s': '%.*s%s' is not a DECIMAL (%s)", (long long)line,
                      f->name, n, p, c->kind != HC_BOOL && c->n > 64 ? "..." : "", tn);
}

int http_cell_append_field(qv_builder *b, const qv_field *f, const http_cell *c, int64_t line, qv_err *err) {
    bool is_null = c->kind == HC_NULL || (c->kind == HC_TEXT && c->n == 0);
    if (f->type != QV_T_DECIMAL || is_null) return http_cell_append(b, f->type, f->nullable, c, line, f->name, err);
    return decimal_cell_append(b, f, c, line, err);
}
