/*
** ipc_message: an encoded message owns its metadata bytes and one ref on
** every buffer its body pieces point into; ipc_message_free drops them.
** Also the shared helpers: symbol materialisation and Arrow type names.
*/
#include "ipc_int.h"

#include <stdlib.h>
#include <string.h>

void ipc_message_init(ipc_message *m) {
    memset(m, 0, sizeof *m);
    qv_str_init(&m->metadata);
}

void ipc_message_free(ipc_message *m) {
    for (int i = 0; i < m->npieces; i++) qv_buffer_unref(m->pieces[i].owner);
    free(m->pieces);
    qv_str_free(&m->metadata);
    ipc_message_init(m);
}

void ipc_message_add_piece(ipc_message *m, const uint8_t *data, size_t len, qv_buffer *owner) {
    if (len == 0) return;
    if (m->npieces == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->pieces = qv_xrealloc(m->pieces, sizeof(ipc_piece) * (size_t)m->cap);
    }
    m->pieces[m->npieces++] = (ipc_piece){data, len, qv_buffer_ref(owner)};
    m->body_len += (int64_t)len;
}

void ipc_message_write_stream(const ipc_message *m, qv_str *out) {
    uint32_t cont = IPC_CONTINUATION;
    int32_t len = (int32_t)m->metadata.len;
    qv_str_append(out, &cont, 4);
    qv_str_append(out, &len, 4);
    qv_str_append(out, m->metadata.data, m->metadata.len);
    static const uint8_t zeros[64];
    for (int i = 0; i < m->npieces; i++) {
        const ipc_piece *p = &m->pieces[i];
        if (p->data) {
            qv_str_append(out, p->data, p->len);
            continue;
        }
        for (size_t left = p->len; left;) {
            size_t k = left < sizeof zeros ? left : sizeof zeros;
            qv_str_append(out, zeros, k);
            left -= k;
        }
    }
}

void ipc_write_eos(qv_str *out) {
    uint32_t v[2] = {IPC_CONTINUATION, 0};
    qv_str_append(out, v, 8);
}

const char *ipc_arrow_type_name(int t) {
    static const char *names[AT__COUNT] = {
        "none", "null", "int", "floating point", "binary", "utf8", "bool", "decimal", "date",
        "time", "timestamp", "interval", "list", "struct", "union", "fixed_size_binary",
        "fixed_size_list", "map", "duration", "large_binary", "large_utf8", "large_list",
        "run_end_encoded", "binary_view", "string_view", "list_view", "large_list_view"};
    return (t >= 0 && t < AT__COUNT) ? names[t] : "unknown";
}

int ipc_symbol_to_string(const qv_array *sym, qv_array *out, const char *col, qv_err *err) {
    const qv_array *d = sym->dict;
    int64_t n = sym->length;
    qv_array_init(out, QV_T_STRING);
    int64_t total = 0, nulls = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!qv_array_is_valid(sym, i)) continue;
        int32_t c = qv_array_get_i32(sym, i);
        if (!d || c < 0 || c >= d->length)
            return qv_err_set(err, QV_EINVAL, "column %s: dictionary code %d out of range at row %lld",
                              col, c, (long long)i);
        if (!qv_array_is_valid(d, c)) continue;
        int32_t len;
        qv_array_get_str(d, c, &len);
        total += len;
    }
    if (total > INT32_MAX)
        return qv_err_set(err, QV_ERESOURCE, "column %s: %lld bytes of strings exceed 2 GiB", col,
                          (long long)total);
    qv_buffer *offs = qv_buffer_new(qv_pad8((size_t)(n + 1) * 4));
    qv_buffer *data = qv_buffer_new(qv_pad8((size_t)total + 1));
    qv_buffer *valid = qv_buffer_new(qv_pad8((size_t)(n + 7) / 8));
    int32_t *o = (int32_t *)offs->data;
    int32_t pos = 0;
    o[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok = qv_array_is_valid(sym, i);
        int32_t c = ok ? qv_array_get_i32(sym, i) : 0;
        if (ok && !qv_array_is_valid(d, c)) ok = false;
        if (ok) {
            int32_t len;
            const char *p = qv_array_get_str(d, c, &len);
            memcpy(data->data + pos, p, (size_t)len);
            pos += len;
        } else {
            nulls++;
        }
        qv_bit_set(valid->data, i, ok);
        o[i + 1] = pos;
    }
    offs->size = (size_t)(n + 1) * 4;
    data->size = (size_t)pos;
    valid->size = (size_t)(n + 7) / 8;
    out->length = n;
    out->null_count = nulls;
    out->values = offs;
    out->data = data;
    if (nulls) out->validity = valid;
    else qv_buffer_unref(valid);
    return QV_OK;
}
