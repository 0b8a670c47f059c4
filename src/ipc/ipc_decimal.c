/*
** Arrow Decimal <-> Quiver DECIMAL. Quiver holds a DECIMAL(p, s) value as
** an int64 (p <= 18); Arrow sends decimal32/64/128/256 as two's-complement
** little-endian integers of that width. Decoding narrows each value to an
** int64 (a copy: the widths differ) and refuses, naming column and row, a
** value that needs more than the field's precision; encoding widens every
** int64 to decimal128, the width every Arrow reader knows.
*/
#include "ipc_dec.h"

#include <string.h>

enum { DEC_PRECISION = 0, DEC_SCALE = 1, DEC_BITWIDTH = 2 };

int ipc_decimal_parse_type(fb_table *ty, ipc_src *s, qv_field *qf, const char *col, qv_err *err) {
    int prec = fb_i32(ty, DEC_PRECISION, 0, "Decimal.precision");
    int scale = fb_i32(ty, DEC_SCALE, 0, "Decimal.scale");
    int bits = fb_i32(ty, DEC_BITWIDTH, 128, "Decimal.bitWidth");
    if (fb_failed(ty->r)) {
        *err = ty->r->err;
        return err->code;
    }
    if (bits == 256)
        return qv_err_set(err, QV_EUNSUPPORTED, "column %s: Arrow type decimal256(%d, %d) is not supported "
                          "(DECIMAL holds at most %d digits; send decimal128)", col, prec, scale, QV_DEC_MAX_PREC);
    if (bits != 32 && bits != 64 && bits != 128)
        return qv_err_set(err, QV_ECORRUPT, "column %s: Decimal.bitWidth %d is unknown", col, bits);
    if (prec < 1)
        return qv_err_set(err, QV_ECORRUPT, "column %s: Decimal.precision %d is not positive", col, prec);
    if (scale < 0 || scale > QV_DEC_MAX_PREC)
        return qv_err_set(err, QV_EUNSUPPORTED, "column %s: decimal scale %d is not supported (DECIMAL takes "
                          "a scale of 0 to %d)", col, scale, QV_DEC_MAX_PREC);
    /* More than 18 digits declared (polars and pandas send decimal128(38, s)):
       stored as DECIMAL(18, s), each value checked to fit as it is decoded.
       A scale above the precision (Arrow allows it) widens the precision to
       the scale, which holds every value the declared type can. */
    int p = prec > QV_DEC_MAX_PREC ? QV_DEC_MAX_PREC : prec;
    if (scale > p) p = scale;
    s->bits = bits;
    s->dec_prec = prec;
    qf->precision = (uint8_t)p;
    qf->scale = (uint8_t)scale;
    return QV_OK;
}

/* Row i of a decimal buffer of `bits` width as an int64; false when the
   two's-complement value needs more than 64 bits. */
static bool load_decimal(const uint8_t *p, int64_t i, int bits, int64_t *out) {
    if (bits == 32) {
        int32_t v;
        memcpy(&v, p + 4 * i, 4);
        *out = v;
        return true;
    }
    if (bits == 64) {
        memcpy(out, p + 8 * i, 8);
        return true;
    }
    uint64_t lo;
    int64_t hi;
    memcpy(&lo, p + 16 * i, 8);
    memcpy(&hi, p + 16 * i + 8, 8);
    *out = (int64_t)lo;
    return hi == (*out < 0 ? -1 : 0); /* the high word only repeats the sign */
}

int ipc_decimal_decode(qv_buffer *v, const ipc_src *s, const qv_field *f, int64_t n, const uint8_t *valid,
                       qv_buffer **out, qv_err *err) {
    const char *col = f->name;
    size_t w = (size_t)s->bits / 8, have = v ? v->size : 0;
    *out = NULL;
    if (have < (size_t)n * w)
        return qv_err_set(err, QV_ECORRUPT, "column %s: values buffer holds %zu bytes, %zu needed", col, have,
                          (size_t)n * w);
    qv_buffer *nb = qv_buffer_new(qv_pad8(n ? (size_t)n * 8 : 1));
    nb->size = (size_t)n * 8;
    int64_t *dst = (int64_t *)nb->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t x = 0;
        if (valid && !qv_bit_get(valid, i)) { /* a NULL slot may hold anything */
            dst[i] = 0;
            continue;
        }
        if (!load_decimal(v->data, i, s->bits, &x) || !qv_dec_fits(x, f->precision)) {
            qv_buffer_unref(nb);
            char tn[32];
            qv_dec_type_name(f->precision, f->scale, tn, sizeof tn);
            return qv_err_set(err, QV_EINVAL, "column %s: decimal%d(%d, %d) value at row %lld does not fit %s%s",
                              col, s->bits, s->dec_prec, f->scale, (long long)i, tn,
                              f->precision == QV_DEC_MAX_PREC ? " (DECIMAL holds at most 18 digits)" : "");
        }
        dst[i] = x;
    }
    *out = nb;
    return QV_OK;
}

qv_buffer *ipc_decimal_widen(const qv_array *a) {
    int64_t n = a->length;
    qv_buffer *nb = qv_buffer_new(qv_pad8(n ? (size_t)n * 16 : 1));
    nb->size = (size_t)n * 16;
    for (int64_t i = 0; i < n; i++) {
        int64_t x = qv_array_get_i64(a, i), hi = x < 0 ? -1 : 0; /* sign-extended to 128 bits */
        memcpy(nb->data + 16 * i, &x, 8);
        memcpy(nb->data + 16 * i + 8, &hi, 8);
    }
    return nb;
}

fb_ref ipc_decimal_build_type(fb_builder *fb, const qv_field *f) {
    fb_table_start(fb);
    fb_add_i32(fb, DEC_PRECISION, f->precision);
    fb_add_i32(fb, DEC_SCALE, f->scale);
    fb_add_i32(fb, DEC_BITWIDTH, 128);
    return fb_table_end(fb);
}
