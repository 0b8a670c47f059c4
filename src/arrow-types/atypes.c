/* Types, schemas, arrays and batches. */
#include "arrow-types/atypes.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *type_names[QV_T__COUNT] = {
    "INVALID", "INT32", "INT64", "FLOAT32", "FLOAT64", "BOOL", "STRING", "SYMBOL", "TIMESTAMP", "DATE", "DECIMAL", "INTERVAL", "TIME"};
_Static_assert(sizeof type_names / sizeof type_names[0] == QV_T__COUNT, "a name per type");

const char *qv_type_name(qv_type t) {
    return (t > 0 && t < QV_T__COUNT) ? type_names[t] : "INVALID";
}

int qv_type_width(qv_type t) {
    switch (t) {
    case QV_T_INT32: case QV_T_FLOAT32: case QV_T_SYMBOL: case QV_T_DATE: return 4;
    case QV_T_INT64: case QV_T_FLOAT64: case QV_T_TIMESTAMP: case QV_T_DECIMAL: case QV_T_INTERVAL: case QV_T_TIME: return 8;
    default: return 0;
    }
}

qv_type qv_type_parse(const char *s, size_t n) {
    static const struct { const char *name; qv_type t; } syn[] = {
        {"INT", QV_T_INT32},        {"INTEGER", QV_T_INT32},   {"INT32", QV_T_INT32},
        {"INT4", QV_T_INT32},       {"BIGINT", QV_T_INT64},    {"INT64", QV_T_INT64},
        {"INT8", QV_T_INT64},       {"LONG", QV_T_INT64},      {"REAL", QV_T_FLOAT32},
        {"FLOAT", QV_T_FLOAT32},    {"FLOAT32", QV_T_FLOAT32}, {"FLOAT4", QV_T_FLOAT32},
        {"DOUBLE", QV_T_FLOAT64},   {"FLOAT64", QV_T_FLOAT64}, {"FLOAT8", QV_T_FLOAT64},
        {"BOOL", QV_T_BOOL},        {"BOOLEAN", QV_T_BOOL},    {"VARCHAR", QV_T_STRING},
        {"STRING", QV_T_STRING},    {"TEXT", QV_T_STRING},     {"UTF8", QV_T_STRING},
        {"SYMBOL", QV_T_SYMBOL},    {"TIMESTAMP", QV_T_TIMESTAMP}, {"DATE", QV_T_DATE},
        {"DECIMAL", QV_T_DECIMAL},  {"NUMERIC", QV_T_DECIMAL},    {"INTERVAL", QV_T_INTERVAL},
        {"TIME", QV_T_TIME},
    };
    for (size_t i = 0; i < sizeof syn / sizeof syn[0]; i++)
        if (strlen(syn[i].name) == n && strncasecmp(syn[i].name, s, n) == 0) return syn[i].t;
    return QV_T_INVALID;
}

void qv_schema_init(qv_schema *s) {
    s->nfields = 0;
    s->fields = NULL;
}

void qv_schema_free(qv_schema *s) {
    for (int i = 0; i < s->nfields; i++) free(s->fields[i].name);
    free(s->fields);
    qv_schema_init(s);
}

void qv_schema_add(qv_schema *s, const char *name, qv_type type, bool nullable) {
    s->fields = qv_xrealloc(s->fields, sizeof(qv_field) * (size_t)(s->nfields + 1));
    qv_field *f = &s->fields[s->nfields++];
    memset(f, 0, sizeof *f);
    f->name = qv_xstrdup(name);
    f->type = type;
    f->nullable = nullable;
    if (type == QV_T_TIMESTAMP) strcpy(f->tz, "UTC");
    if (type == QV_T_DECIMAL) f->precision = QV_DEC_DEFAULT_PREC, f->scale = QV_DEC_DEFAULT_SCALE;
}

void qv_schema_copy(qv_schema *dst, const qv_schema *src) {
    dst->nfields = src->nfields;
    dst->fields = qv_xcalloc((size_t)(src->nfields ? src->nfields : 1), sizeof(qv_field));
    for (int i = 0; i < src->nfields; i++) {
        dst->fields[i] = src->fields[i];
        dst->fields[i].name = qv_xstrdup(src->fields[i].name);
    }
}

int qv_schema_find(const qv_schema *s, const char *name) {
    for (int i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0) return i;
    return -1;
}

bool qv_schema_equal(const qv_schema *a, const qv_schema *b) {
    if (a->nfields != b->nfields) return false;
    for (int i = 0; i < a->nfields; i++) {
        const qv_field *x = &a->fields[i], *y = &b->fields[i];
        if (strcmp(x->name, y->name) || x->type != y->type || x->nullable != y->nullable ||
            strcmp(x->tz, y->tz))
            return false;
        if (x->type == QV_T_DECIMAL && (x->precision != y->precision || x->scale != y->scale)) return false;
    }
    return true;
}

char *qv_schema_to_string(const qv_schema *s) {
    qv_str o;
    qv_str_init(&o);
    for (int i = 0; i < s->nfields; i++) {
        const qv_field *f = &s->fields[i];
        char dn[32];
        qv_str_appendf(&o, "%s%s %s%s", i ? ", " : "", f->name, qv_field_type_name(f, dn, sizeof dn),
                       f->nullable ? "" : " NOT NULL");
    }
    return qv_str_steal(&o);
}

const char *qv_field_type_name(const qv_field *f, char *buf, size_t cap) {
    if (f->type != QV_T_DECIMAL) return qv_type_name(f->type);
    qv_dec_type_name(f->precision, f->scale, buf, cap);
    return buf;
}

void qv_array_init(qv_array *a, qv_type t) {
    memset(a, 0, sizeof *a);
    a->type = t;
}

void qv_array_free(qv_array *a) {
    qv_buffer_unref(a->validity);
    qv_buffer_unref(a->values);
    qv_buffer_unref(a->data);
    if (a->dict) {
        qv_array_free(a->dict);
        free(a->dict);
    }
    qv_array_init(a, a->type);
}

void qv_array_copy_ref(qv_array *dst, const qv_array *src) {
    *dst = *src;
    qv_buffer_ref(dst->validity);
    qv_buffer_ref(dst->values);
    qv_buffer_ref(dst->data);
    if (src->dict) {
        dst->dict = qv_xmalloc(sizeof *dst->dict);
        qv_array_copy_ref(dst->dict, src->dict);
    }
}

void qv_array_slice(qv_array *dst, const qv_array *src, int64_t off, int64_t len) {
    qv_array_copy_ref(dst, src);
    dst->offset = src->offset + off;
    dst->length = len;
    dst->null_count = (src->validity == NULL) ? 0 : -1;
}

int64_t qv_array_null_count(qv_array *a) {
    if (a->null_count >= 0) return a->null_count;
    int64_t n = 0;
    if (a->validity)
        for (int64_t i = 0; i < a->length; i++) n += !qv_bit_get(a->validity->data, a->offset + i);
    a->null_count = n;
    return n;
}

const char *qv_array_get_str(const qv_array *a, int64_t i, int32_t *len) {
    if (a->type == QV_T_SYMBOL) return qv_array_get_str(a->dict, qv_array_get_i32(a, i), len);
    const int32_t *off = (const int32_t *)a->values->data + a->offset + i;
    *len = off[1] - off[0];
    return (const char *)a->data->data + off[0];
}

void qv_batch_init(qv_batch *b, const qv_schema *schema) {
    qv_schema_copy(&b->schema, schema);
    b->nrows = 0;
    b->cols = qv_xcalloc((size_t)(schema->nfields ? schema->nfields : 1), sizeof(qv_array));
    for (int i = 0; i < schema->nfields; i++) qv_array_init(&b->cols[i], schema->fields[i].type);
}

void qv_batch_free(qv_batch *b) {
    if (b->cols)
        for (int i = 0; i < b->schema.nfields; i++) qv_array_free(&b->cols[i]);
    free(b->cols);
    b->cols = NULL;
    qv_schema_free(&b->schema);
    b->nrows = 0;
}

void qv_batch_copy_ref(qv_batch *dst, const qv_batch *src) {
    qv_schema_copy(&dst->schema, &src->schema);
    dst->nrows = src->nrows;
    dst->cols = qv_xcalloc((size_t)(src->schema.nfields ? src->schema.nfields : 1), sizeof(qv_array));
    for (int i = 0; i < src->schema.nfields; i++) qv_array_copy_ref(&dst->cols[i], &src->cols[i]);
}

int64_t qv_array_bytes(const qv_array *a) {
    int64_t n = a->validity ? (a->length + 7) / 8 : 0;
    if (a->type == QV_T_BOOL) return n + (a->length + 7) / 8;
    if (a->type == QV_T_STRING) {
        if (!a->values || a->length == 0) return n;
        const int32_t *off = (const int32_t *)a->values->data + a->offset;
        return n + 4 * (a->length + 1) + (off[a->length] - off[0]);
    }
    return n + (int64_t)qv_type_width(a->type) * a->length;
}

int64_t qv_batch_bytes(const qv_batch *b) {
    int64_t n = 0;
    for (int i = 0; i < b->schema.nfields; i++) n += qv_array_bytes(&b->cols[i]);
    return n;
}

static int validate_array(const qv_array *a, int64_t nrows, const char *name, qv_err *err) {
    if (a->length != nrows)
        return qv_err_set(err, QV_EINVAL, "column %s: length %lld, batch has %lld rows", name,
                          (long long)a->length, (long long)nrows);
    if (a->offset < 0) return qv_err_set(err, QV_EINVAL, "column %s: negative offset", name);
    int64_t end = a->offset + a->length;
    if (a->validity && (size_t)((end + 7) / 8) > a->validity->size)
        return qv_err_set(err, QV_EINVAL, "column %s: validity bitmap too short", name);
    if (nrows == 0) return QV_OK;
    if (!a->values) return qv_err_set(err, QV_EINVAL, "column %s: missing values buffer", name);
    size_t need;
    if (a->type == QV_T_BOOL) need = (size_t)((end + 7) / 8);
    else if (a->type == QV_T_STRING) need = (size_t)(end + 1) * 4;
    else need = (size_t)end * (size_t)qv_type_width(a->type);
    if (need > a->values->size)
        return qv_err_set(err, QV_EINVAL, "column %s: values buffer holds %zu bytes, needs %zu",
                          name, a->values->size, need);
    if (a->type == QV_T_STRING) {
        const int32_t *off = (const int32_t *)a->values->data;
        size_t dlen = a->data ? a->data->size : 0;
        for (int64_t i = a->offset; i < end; i++)
            if (off[i] < 0 || off[i + 1] < off[i] || (size_t)off[i + 1] > dlen)
                return qv_err_set(err, QV_EINVAL, "column %s: bad string offset at row %lld", name,
                                  (long long)(i - a->offset));
    }
    if (a->type == QV_T_SYMBOL) {
        if (!a->dict || a->dict->type != QV_T_STRING)
            return qv_err_set(err, QV_EINVAL, "column %s: symbol without dictionary", name);
        if (validate_array(a->dict, a->dict->length, name, err)) return err->code;
        for (int64_t i = 0; i < a->length; i++) {
            if (!qv_array_is_valid(a, i)) continue;
            int32_t c = qv_array_get_i32(a, i);
            if (c < 0 || c >= a->dict->length)
                return qv_err_set(err, QV_EINVAL, "column %s: dictionary code %d out of range at row %lld",
                                  name, c, (long long)i);
        }
    }
    return QV_OK;
}

int qv_batch_validate(const qv_batch *b, qv_err *err) {
    for (int i = 0; i < b->schema.nfields; i++) {
        if (b->cols[i].type != b->schema.fields[i].type)
            return qv_err_set(err, QV_EINVAL, "column %s: array type %s, schema says %s",
                              b->schema.fields[i].name, qv_type_name(b->cols[i].type),
                              qv_type_name(b->schema.fields[i].type));
        if (validate_array(&b->cols[i], b->nrows, b->schema.fields[i].name, err)) return err->code;
    }
    return QV_OK;
}

/* Both directions shift the year to start on March 1, so the leap day is the
   last day of a year, and count in 400-year eras of 146097 days. */
int64_t qv_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void qv_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void qv_ts_split(int64_t ns, qv_ts_parts *o) {
    const int64_t day = 86400 * (int64_t)1000000000;
    /* remainder first: days * day would overflow near INT64_MIN */
    int64_t rem = ns % day, days = ns / day;
    if (rem < 0) rem += day, days--;
    o->days = days;
    o->ns_of_day = rem;
    qv_civil_from_days(days, &o->year, &o->month, &o->day);
    int64_t secs = rem / 1000000000;
    o->hour = (int)(secs / 3600);
    o->minute = (int)(secs / 60 % 60);
    o->second = (int)(secs % 60);
    o->nanos = rem % 1000000000;
    o->weekday = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}
