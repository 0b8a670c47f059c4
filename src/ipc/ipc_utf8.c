/* UTF-8 validation for decoded STRING columns (Quiver's strings are utf8). */
#include "ipc_int.h"

#include <string.h>

int64_t ipc_utf8_invalid_at(const uint8_t *p, int64_t n) {
    int64_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
            else if (c == 0xED) hi = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
        } else {
            return i;
        }
        if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
        for (int k = 2; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return i;
        i += len;
    }
    return -1;
}

int ipc_check_utf8(const qv_array *a, const char *col, qv_err *err) {
    if (a->length == 0 || !a->values) return QV_OK;
    const int32_t *o = (const int32_t *)a->values->data + a->offset;
    const uint8_t *d = a->data ? a->data->data : NULL;
    int64_t first = o[0], last = o[a->length];
    if (last == first) return QV_OK;
    int64_t bad = ipc_utf8_invalid_at(d + first, last - first);
    if (bad >= 0) {
        /* find the row for the message */
        int64_t row = 0;
        while (row + 1 < a->length && o[row + 1] <= first + bad) row++;
        return qv_err_set(err, QV_EINVAL, "column %s: invalid UTF-8 in row %lld", col, (long long)row);
    }
    /* each row must also start on a character boundary */
    for (int64_t i = 1; i < a->length; i++)
        if (o[i] < last && (d[o[i]] & 0xC0) == 0x80)
            return qv_err_set(err, QV_EINVAL, "column %s: row %lld starts inside a UTF-8 character", col,
                              (long long)i);
    return QV_OK;
}
