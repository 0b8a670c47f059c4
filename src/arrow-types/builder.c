/* Row-at-a-time array builder over growable aligned buffers. */
#include "arrow-types/atypes.h"

#include <string.h>

void qv_builder_init(qv_builder *b, qv_type t, int64_t hint) {
    memset(b, 0, sizeof *b);
    b->type = t;
    b->cap = hint > 16 ? hint : 16;
    size_t w = (size_t)qv_type_width(t);
    if (t == QV_T_BOOL) b->values = qv_buffer_new((size_t)(b->cap + 7) / 8);
    else if (t == QV_T_STRING) {
        b->values = qv_buffer_new((size_t)(b->cap + 1) * 4);
        b->data = qv_buffer_new((size_t)b->cap * 8);
    } else b->values = qv_buffer_new((size_t)b->cap * w);
}

void qv_builder_free(qv_builder *b) {
    qv_buffer_unref(b->validity);
    qv_buffer_unref(b->values);
    qv_buffer_unref(b->data);
    memset(b, 0, sizeof *b);
}

static void grow(qv_builder *b) {
    if (b->length < b->cap) return;
    b->cap *= 2;
    if (b->type == QV_T_BOOL) qv_buffer_reserve(b->values, (size_t)(b->cap + 7) / 8);
    else if (b->type == QV_T_STRING) qv_buffer_reserve(b->values, (size_t)(b->cap + 1) * 4);
    else qv_buffer_reserve(b->values, (size_t)b->cap * (size_t)qv_type_width(b->type));
    if (b->validity) qv_buffer_reserve(b->validity, (size_t)(b->cap + 7) / 8);
}

/* Marks row `length` valid or null; validity is created on the first null. */
static void set_valid(qv_builder *b, bool valid) {
    if (!valid && !b->validity) {
        b->validity = qv_buffer_new((size_t)(b->cap + 7) / 8);
        memset(b->validity->data, 0xff, (size_t)(b->cap + 7) / 8);
    }
    if (b->validity) qv_bit_set(b->validity->data, b->length, valid);
    if (!valid) b->null_count++;
}

static void *slot(qv_builder *b) {
    return b->values->data + (size_t)b->length * (size_t)qv_type_width(b->type);
}

void qv_builder_append_null(qv_builder *b) {
    grow(b);
    set_valid(b, false);
    if (b->type == QV_T_STRING) {
        int32_t *off = (int32_t *)b->values->data;
        off[b->length + 1] = off[b->length];
    } else if (b->type == QV_T_BOOL) {
        qv_bit_set(b->values->data, b->length, false);
    } else {
        memset(slot(b), 0, (size_t)qv_type_width(b->type));
    }
    b->length++;
}

#define APPEND_FIXED(fn, T)                    \
    void fn(qv_builder *b, T v) {              \
        grow(b);                               \
        set_valid(b, true);                    \
        memcpy(slot(b), &v, sizeof v);         \
        b->length++;                           \
    }
APPEND_FIXED(qv_builder_append_i32, int32_t)
APPEND_FIXED(qv_builder_append_i64, int64_t)
APPEND_FIXED(qv_builder_append_f32, float)
APPEND_FIXED(qv_builder_append_f64, double)

void qv_builder_append_bool(qv_builder *b, bool v) {
    grow(b);
    set_valid(b, true);
    qv_bit_set(b->values->data, b->length, v);
    b->length++;
}

void qv_builder_append_str(qv_builder *b, const char *p, int32_t n) {
    grow(b);
    set_valid(b, true);
    int32_t *off = (int32_t *)b->values->data;
    size_t end = (size_t)off[b->length] + (size_t)n;
    if (end > b->data->capacity) qv_buffer_reserve(b->data, end);
    memcpy(b->data->data + off[b->length], p, (size_t)n);
    off = (int32_t *)b->values->data;
    off[b->length + 1] = (int32_t)end;
    b->length++;
}

void qv_builder_append_from(qv_builder *b, const qv_array *src, int64_t i) {
    if (!qv_array_is_valid(src, i)) {
        qv_builder_append_null(b);
        return;
    }
    switch (b->type) {
    case QV_T_INT32:
    case QV_T_DATE: qv_builder_append_i32(b, qv_array_get_i32(src, i)); break;
    case QV_T_INT64:
    case QV_T_TIMESTAMP:
    case QV_T_DECIMAL:
    case QV_T_INTERVAL: case QV_T_TIME: qv_builder_append_i64(b, qv_array_get_i64(src, i)); break;
    case QV_T_FLOAT32: qv_builder_append_f32(b, qv_array_get_f32(src, i)); break;
    case QV_T_FLOAT64: qv_builder_append_f64(b, qv_array_get_f64(src, i)); break;
    case QV_T_BOOL: qv_builder_append_bool(b, qv_array_get_bool(src, i)); break;
    case QV_T_STRING: {
        int32_t n;
        const char *p = qv_array_get_str(src, i, &n);
        qv_builder_append_str(b, p, n);
        break;
    }
    case QV_T_SYMBOL: /* a builder makes codes with qv_builder_append_i32, never from a row */
    case QV_T_INVALID:
    case QV_T__COUNT: qv_builder_append_null(b); break;
    }
}

void qv_builder_finish(qv_builder *b, qv_array *out) {
    qv_array_init(out, b->type);
    out->length = b->length;
    out->null_count = b->null_count;
    if (b->null_count) {
        out->validity = b->validity;
        out->validity->size = (size_t)(b->length + 7) / 8;
    } else {
        qv_buffer_unref(b->validity);
    }
    out->values = b->values;
    if (b->type == QV_T_BOOL) out->values->size = (size_t)(b->length + 7) / 8;
    else if (b->type == QV_T_STRING) out->values->size = (size_t)(b->length + 1) * 4;
    else out->values->size = (size_t)b->length * (size_t)qv_type_width(b->type);
    out->data = b->data;
    if (out->data) out->data->size = (size_t)((int32_t *)out->values->data)[b->length];
    qv_type t = b->type;
    b->validity = b->values = b->data = NULL;
    qv_builder_free(b);
    qv_builder_init(b, t, 16);
}
