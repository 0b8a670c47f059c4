/*
** Decoding one column of a RecordBatch body into a Quiver array: every node,
** buffer range, offset and index is checked before the memory is read;
** values land zero-copy (a slice of the body) when the type and alignment
** allow, and are converted into new buffers otherwise.
*/
#include "ipc_dec.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

int ipc_rb_open(ipc_rb *rb, fb_table *t, qv_buffer *body, int64_t body_len, int64_t budget,
                qv_err *err) {
    fb_reader *r = t->r;
    memset(rb, 0, sizeof *rb);
    rb->r = r;
    rb->body = body;
    rb->body_len = body_len;
    rb->budget = budget;
    rb->codec = -1;
    rb->length = fb_i64(t, RB_LENGTH, 0, "RecordBatch.length");
    fb_vector(t, RB_NODES, 16, &rb->nodes, "RecordBatch.nodes");
    fb_vector(t, RB_BUFFERS, 16, &rb->bufs, "RecordBatch.buffers");
    fb_vector(t, RB_VARIADIC, 8, &rb->variadic, "RecordBatch.variadicBufferCounts");
    fb_table comp;
    if (fb_table_field(t, RB_COMPRESSION, &comp, "RecordBatch.compression")) {
        int codec = fb_u8(&comp, BC_CODEC, CODEC_LZ4_FRAME, "BodyCompression.codec");
        int method = fb_u8(&comp, BC_METHOD, 0, "BodyCompression.method");
        if (!fb_failed(r) && codec != CODEC_LZ4_FRAME && codec != CODEC_ZSTD)
            return qv_err_set(err, QV_EUNSUPPORTED, "BodyCompression.codec %d is unknown", codec);
        if (!fb_failed(r) && method != 0)
            return qv_err_set(err, QV_EUNSUPPORTED, "BodyCompression.method %d is unknown", method);
        rb->codec = codec;
    }
    if (fb_failed(r)) {
        *err = r->err;
        return err->code;
    }
    /* The cap keeps every length * width product far from overflow; real
       batches are bounded by their body long before it. */
    if (rb->length < 0 || rb->length > ((int64_t)1 << 40))
        return qv_err_set(err, QV_ECORRUPT, "RecordBatch.length %lld is out of range", (long long)rb->length);
    return QV_OK;
}

static int next_node(ipc_rb *rb, const char *col, int64_t *len, int64_t *nulls, qv_err *err) {
    if (rb->node_i >= rb->nodes.n)
        return qv_err_set(err, QV_ECORRUPT, "column %s: RecordBatch.nodes has only %u entries", col,
                          rb->nodes.n);
    const uint8_t *p = fb_vec_at(&rb->nodes, rb->node_i++);
    *len = fb_read_i64(p);
    *nulls = fb_read_i64(p + 8);
    if (*len < 0 || *nulls < 0 || *nulls > *len)
        return qv_err_set(err, QV_ECORRUPT, "column %s: field node length %lld, null count %lld", col,
                          (long long)*len, (long long)*nulls);
    return QV_OK;
}

/* Next body buffer as a new ref (NULL when empty); decompressed if needed. */
static int next_buffer(ipc_rb *rb, const char *col, const char *what, qv_buffer **out, qv_err *err) {
    *out = NULL;
    if (rb->buf_i >= rb->bufs.n)
        return qv_err_set(err, QV_ECORRUPT, "column %s: RecordBatch.buffers has only %u entries (%s)",
                          col, rb->bufs.n, what);
    const uint8_t *p = fb_vec_at(&rb->bufs, rb->buf_i++);
    int64_t off = fb_read_i64(p), len = fb_read_i64(p + 8);
    if (off < 0 || len < 0 || off > rb->body_len || len > rb->body_len - off)
        return qv_err_set(err, QV_ECORRUPT,
                          "column %s: %s buffer [%lld, +%lld) outside the body of %lld bytes", col,
                          what, (long long)off, (long long)len, (long long)rb->body_len);
    if (len == 0) return QV_OK;
    if (rb->codec < 0) {
        *out = qv_buffer_slice(rb->body, (size_t)off, (size_t)len);
        return QV_OK;
    }
    if (len < 8)
        return qv_err_set(err, QV_ECORRUPT, "column %s: compressed %s buffer of %lld bytes lacks its length",
                          col, what, (long long)len);
    int64_t raw = fb_read_i64(rb->body->data + off);
    if (raw == -1) {
        *out = qv_buffer_slice(rb->body, (size_t)off + 8, (size_t)len - 8);
        return QV_OK;
    }
    if (raw < 0 || raw > rb->budget)
        return qv_err_set(err, raw < 0 ? QV_ECORRUPT : QV_ERESOURCE,
                          "column %s: %s buffer declares %lld uncompressed bytes (limit %lld)", col,
                          what, (long long)raw, (long long)rb->budget);
    rb->budget -= raw;
    if (ipc_decompress(rb->codec, rb->body->data + off + 8, (size_t)len - 8, raw, out, err))
        return qv_err_prefix(err, "column %s: %s buffer", col, what);
    return QV_OK;
}

static qv_buffer *new_buf(size_t size) {
    qv_buffer *b = qv_buffer_new(qv_pad8(size ? size : 1));
    b->size = size;
    return b;
}

/* Replace *b by an aligned copy if its data is not `align`-aligned. */
static void ensure_aligned(qv_buffer **b, size_t align) {
    if (!*b || ((uintptr_t)(*b)->data % align) == 0) return;
    qv_buffer *nb = new_buf((*b)->size);
    memcpy(nb->data, (*b)->data, (*b)->size);
    qv_buffer_unref(*b);
    *b = nb;
}

static size_t bufsize(const qv_buffer *b) { return b ? b->size : 0; }

static int64_t count_valid(const uint8_t *bits, int64_t n) {
    int64_t v = 0, i = 0;
    for (; i + 8 <= n; i += 8) v += __builtin_popcount(bits[i >> 3]);
    for (; i < n; i++) v += qv_bit_get(bits, i);
    return v;
}

static int need_bytes(const qv_buffer *b, size_t need, const char *col, const char *what, qv_err *err) {
    if (bufsize(b) < need)
        return qv_err_set(err, QV_ECORRUPT, "column %s: %s buffer holds %zu bytes, %zu needed", col,
                          what, bufsize(b), need);
    return QV_OK;
}

/* Load a little-endian integer of `bits` width from p[i]. */
static int64_t load_int(const uint8_t *p, int64_t i, int bits, bool is_signed, uint64_t *u) {
    switch (bits) {
    case 8: { uint8_t v = p[i]; *u = v; return is_signed ? (int8_t)v : v; }
    case 16: { uint16_t v; memcpy(&v, p + 2 * i, 2); *u = v; return is_signed ? (int16_t)v : v; }
    case 32: { uint32_t v; memcpy(&v, p + 4 * i, 4); *u = v; return is_signed ? (int32_t)v : (int64_t)v; }
    default: { uint64_t v; memcpy(&v, p + 8 * i, 8); *u = v; return (int64_t)v; }
    }
}

static int check_offsets32(const qv_buffer *offs, const qv_buffer *data, int64_t n, const char *col,
                           qv_err *err) {
    const int32_t *o = (const int32_t *)offs->data;
    if (o[0] < 0)
        return qv_err_set(err, QV_ECORRUPT, "column %s: first string offset %d is negative", col, o[0]);
    for (int64_t i = 0; i < n; i++)
        if (o[i + 1] < o[i])
            return qv_err_set(err, QV_ECORRUPT, "column %s: string offsets decrease at row %lld", col,
                              (long long)i);
    if ((size_t)o[n] > bufsize(data))
        return qv_err_set(err, QV_ECORRUPT, "column %s: string offset %d past the %zu data bytes", col,
                          o[n], bufsize(data));
    return QV_OK;
}

/* The views of a utf8 view column checked against their variadic buffers;
   total gets the string bytes of the valid rows. */
static int check_views(const qv_buffer *a, qv_buffer *const *vb, int64_t nvar, int64_t n, const qv_array *out,
                       const char *col, int64_t *total, qv_err *err) {
    *total = 0;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *v = a->data + 16 * i;
        int32_t len, idx, off;
        memcpy(&len, v, 4);
        memcpy(&idx, v + 8, 4);
        memcpy(&off, v + 12, 4);
        if (out->validity && !qv_bit_get(out->validity->data, i)) continue;
        if (len < 0)
            return qv_err_set(err, QV_ECORRUPT, "column %s: negative view length at row %lld", col, (long long)i);
        if (len > 12 && (idx < 0 || idx >= nvar || off < 0 || (size_t)off + (size_t)len > bufsize(vb[idx])))
            return qv_err_set(err, QV_ECORRUPT, "column %s: string view at row %lld points outside its buffers",
                              col, (long long)i);
        *total += len;
        if (*total > INT32_MAX)
            return qv_err_set(err, QV_EUNSUPPORTED, "column %s: more than 2 GiB of string data", col);
    }
    return QV_OK;
}

/* Checked views copied out as offsets and data (nulls are empty). */
static void copy_views(const qv_buffer *a, qv_buffer *const *vb, int64_t n, int64_t total, qv_array *out) {
    qv_buffer *offs = new_buf((size_t)(n + 1) * 4), *d = new_buf((size_t)total);
    int32_t *o = (int32_t *)offs->data, pos = 0;
    o[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!out->validity || qv_bit_get(out->validity->data, i)) {
            const uint8_t *v = a->data + 16 * i;
            int32_t len, idx, off;
            memcpy(&len, v, 4);
            memcpy(&idx, v + 8, 4);
            memcpy(&off, v + 12, 4);
            memcpy(d->data + pos, len <= 12 ? v + 4 : vb[idx]->data + off, (size_t)len);
            pos += len;
        }
        o[i + 1] = pos;
    }
    out->values = offs;
    out->data = d;
}

/* utf8 view: 16-byte views (inline up to 12 bytes, else buffer, offset), copied. */
static int decode_string_views(ipc_rb *rb, int64_t n, const char *col, qv_array *out, qv_err *err) {
    qv_buffer *a = NULL;
    if (next_buffer(rb, col, "views", &a, err)) return err->code;
    if (rb->var_i >= rb->variadic.n) {
        qv_buffer_unref(a);
        return qv_err_set(err, QV_ECORRUPT, "column %s: variadicBufferCounts has no entry for it", col);
    }
    int64_t nvar = fb_read_i64(fb_vec_at(&rb->variadic, rb->var_i++));
    if (nvar < 0 || nvar > (int64_t)(rb->bufs.n - rb->buf_i)) {
        qv_buffer_unref(a);
        return qv_err_set(err, QV_ECORRUPT, "column %s: %lld variadic buffers declared, %u left", col,
                          (long long)nvar, rb->bufs.n - rb->buf_i);
    }
    qv_buffer **vb = qv_xcalloc((size_t)(nvar ? nvar : 1), sizeof *vb);
    int rc = need_bytes(a, (size_t)n * 16, col, "views", err);
    for (int64_t k = 0; !rc && k < nvar; k++) rc = next_buffer(rb, col, "variadic data", &vb[k], err);
    int64_t total = 0;
    if (!rc) rc = check_views(a, vb, nvar, n, out, col, &total, err);
    if (!rc) copy_views(a, vb, n, total, out);
    for (int64_t k = 0; k < nvar; k++) qv_buffer_unref(vb[k]);
    free(vb);
    qv_buffer_unref(a);
    return rc;
}

/* large_utf8: int64 offsets checked, then narrowed to int32 from the first. */
static int narrow_large_offsets(qv_buffer *a, qv_buffer *data, int64_t n, const char *col, qv_array *out,
                                qv_err *err) {
    if (need_bytes(a, (size_t)(n + 1) * 8, col, "offsets", err)) return err->code;
    int64_t first = fb_read_i64(a->data), prev = first;
    if (first < 0) return qv_err_set(err, QV_ECORRUPT, "column %s: first string offset is negative", col);
    for (int64_t i = 1; i <= n; i++) {
        int64_t o = fb_read_i64(a->data + 8 * i);
        if (o < prev)
            return qv_err_set(err, QV_ECORRUPT, "column %s: string offsets decrease at row %lld", col,
                              (long long)(i - 1));
        prev = o;
    }
    if ((uint64_t)prev > bufsize(data))
        return qv_err_set(err, QV_ECORRUPT, "column %s: string offset %lld past the %zu data bytes", col,
                          (long long)prev, bufsize(data));
    if (prev - first > INT32_MAX)
        return qv_err_set(err, QV_EUNSUPPORTED, "column %s: large_utf8 batch holds more than 2 GiB", col);
    qv_buffer *offs = new_buf((size_t)(n + 1) * 4);
    int32_t *o = (int32_t *)offs->data;
    for (int64_t i = 0; i <= n; i++) o[i] = (int32_t)(fb_read_i64(a->data + 8 * i) - first);
    out->values = offs;
    out->data = data ? qv_buffer_slice(data, (size_t)first, (size_t)(prev - first)) : new_buf(0);
    return QV_OK;
}

/* Strings as Quiver STRING: utf8 (zero-copy), large_utf8 (offsets narrowed), utf8 view (copied). */
static int decode_strings(ipc_rb *rb, int tt, int64_t n, const char *col, qv_array *out, qv_err *err) {
    if (tt == AT_UTF8_VIEW) return decode_string_views(rb, n, col, out, err);
    qv_buffer *a = NULL, *data = NULL;
    if (next_buffer(rb, col, "offsets", &a, err) || next_buffer(rb, col, "data", &data, err)) {
        qv_buffer_unref(a);
        return err->code;
    }
    if (n == 0 && bufsize(a) == 0) { /* writers may omit the lone zero offset */
        qv_buffer_unref(a);
        qv_buffer_unref(data);
        out->values = new_buf(4);
        out->data = new_buf(0);
        return QV_OK;
    }
    if (tt == AT_UTF8) {
        if (need_bytes(a, (size_t)(n + 1) * 4, col, "offsets", err)) goto fail;
        ensure_aligned(&a, 4);
        if (check_offsets32(a, data, n, col, err)) goto fail;
        out->values = a;
        out->data = data ? data : new_buf(0);
        return QV_OK;
    }
    int rc = narrow_large_offsets(a, data, n, col, out, err);
    qv_buffer_unref(a);
    qv_buffer_unref(data);
    return rc;
fail:
    qv_buffer_unref(a);
    qv_buffer_unref(data);
    return err->code;
}

/* Integer/temporal values into INT32/INT64/TIMESTAMP, exact or refused. */
/* IEEE binary16 bits -> float. Every half is exactly a float, so this is a
   widening: the exponent is rebased (15 -> 127), subnormal halves become
   normal floats, inf and NaN keep their class (NaN keeps its payload's top bits). */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | (m << 13);
    } else if (e != 0) {
        bits = sign | ((e + 112) << 23) | (m << 13);
    } else if (m == 0) {
        bits = sign;
    } else { /* subnormal: value m * 2^-24; shift m up until its leading 1 is the implicit bit */
        int sh = 0;
        while (!(m & 0x400)) m <<= 1, sh++;
        bits = sign | ((uint32_t)(113 - sh) << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static int decode_half(qv_buffer *v, int64_t n, const char *col, qv_array *out, qv_err *err) {
    if (need_bytes(v, (size_t)n * 2, col, "values", err)) {
        qv_buffer_unref(v);
        return err->code;
    }
    qv_buffer *nb = new_buf((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, v->data + 2 * i, 2);
        float f = half_to_float(h);
        memcpy(nb->data + 4 * i, &f, 4);
    }
    qv_buffer_unref(v);
    out->values = nb;
    return QV_OK;
}

static int decode_fixed(ipc_rb *rb, const ipc_src *s, qv_type qt, int64_t n, const char *col,
                        qv_array *out, qv_err *err) {
    qv_buffer *v;
    if (next_buffer(rb, col, "values", &v, err)) return err->code;
    if (s->tt == AT_FLOAT && s->bits == 16) return decode_half(v, n, col, out, err);
    int bits = s->bits;
    bool sg = s->is_signed;
    int64_t mul = 1;
    if (s->tt == AT_TIMESTAMP || s->tt == AT_DURATION || s->tt == AT_TIME) { /* all become nanoseconds */
        bits = s->tt == AT_TIME ? s->bits : 64, sg = true;
        static const int64_t m[4] = {1000000000, 1000000, 1000, 1};
        mul = m[s->unit];
    } else if (s->tt == AT_DATE) { /* date32 is DATE's layout; date64 (ms) becomes its day */
        sg = true;
        bits = s->unit == DATE_DAY ? 32 : 64;
    }
    bool ms_days = s->tt == AT_DATE && s->unit == DATE_MILLI;
    size_t w = (size_t)bits / 8, ow = (size_t)qv_type_width(qt);
    QV_ASSERT(w > 0 && ow > 0); /* the schema parser admits only fixed-width layouts here */
    if (w == 0 || ow == 0) {
        qv_buffer_unref(v);
        return qv_err_set(err, QV_EINTERNAL, "column %s: no fixed-width layout for this type", col);
    }
    if (need_bytes(v, (size_t)n * w, col, "values", err)) {
        qv_buffer_unref(v);
        return err->code;
    }
    if (n == 0) {
        qv_buffer_unref(v);
        out->values = new_buf(0);
        return QV_OK;
    }
    const uint8_t *valid = out->validity ? out->validity->data : NULL;
    if (w == ow && mul == 1 && s->tt != AT_TIME && (sg || s->tt != AT_INT || bits < 64)) {
        ensure_aligned(&v, ow); /* same representation: zero-copy */
        out->values = v;
        return QV_OK;
    }
    qv_buffer *nb = new_buf((size_t)n * ow);
    for (int64_t i = 0; i < n; i++) {
        uint64_t u;
        int64_t x = load_int(v->data, i, bits, sg, &u);
        bool ok = !valid || qv_bit_get(valid, i);
        if (ok && s->tt == AT_INT && bits == 64 && !sg && u > (uint64_t)INT64_MAX) {
            qv_buffer_unref(nb);
            qv_buffer_unref(v);
            return qv_err_set(err, QV_EINVAL, "column %s: uint64 value %" PRIu64 " at row %lld does not fit INT64",
                              col, u, (long long)i);
        }
        if (!ok) x = 0;
        else if (ms_days) x = x / 86400000 - (x % 86400000 < 0);
        else if (!ipc_mul_i64(x, mul, &x)) {
            qv_buffer_unref(nb);
            qv_buffer_unref(v);
            return qv_err_set(err, QV_EINVAL,
                              "column %s: %s value at row %lld overflows a nanosecond %s", col,
                              ipc_arrow_type_name(s->tt), (long long)i, s->tt == AT_DURATION ? "duration" : "timestamp");
        }
        if (ok && s->tt == AT_TIME && (x < 0 || x > QV_TIME_MAX)) {
            qv_buffer_unref(nb);
            qv_buffer_unref(v);
            return qv_err_set(err, QV_EINVAL, "column %s: %s value at row %lld is not a time of day (0 to 24:00:00)", col,
                              ipc_arrow_type_name(s->tt), (long long)i);
        }
        if (ms_days && (x < INT32_MIN || x > INT32_MAX)) {
            qv_buffer_unref(nb);
            qv_buffer_unref(v);
            return qv_err_set(err, QV_EINVAL, "column %s: date64 value at row %lld is outside the DATE range", col,
                              (long long)i);
        }
        if (ow == 4) {
            int32_t y = (int32_t)x;
            memcpy(nb->data + 4 * i, &y, 4);
        } else {
            memcpy(nb->data + 8 * i, &x, 8);
        }
    }
    qv_buffer_unref(v);
    out->values = nb;
    return QV_OK;
}

/* Dictionary indices -> int32 codes checked against the dictionary. */
static int decode_indices(ipc_rb *rb, const ipc_src *s, const qv_array *dict, int64_t n,
                          const char *col, qv_buffer **codes, qv_err *err) {
    qv_buffer *v;
    if (next_buffer(rb, col, "indices", &v, err)) return err->code;
    size_t w = (size_t)s->idx_bits / 8;
    if (need_bytes(v, (size_t)n * w, col, "indices", err)) {
        qv_buffer_unref(v);
        return err->code;
    }
    qv_buffer *nb = new_buf((size_t)n * 4);
    for (int64_t i = 0; i < n; i++) {
        uint64_t u;
        int64_t x = load_int(v->data, i, s->idx_bits, s->idx_signed, &u);
        int32_t c = 0;
        if (x >= 0 && x < dict->length && !(s->idx_bits == 64 && !s->idx_signed && u > INT32_MAX)) c = (int32_t)x;
        else c = -1;
        memcpy(nb->data + 4 * i, &c, 4);
    }
    qv_buffer_unref(v);
    *codes = nb;
    return QV_OK;
}

/* An Arrow null-type column has a field node and no buffers: n NULLs of the
   stand-in type (zeroed values, a zeroed validity bitmap). */
static int null_column(int64_t n, const char *col, const qv_field *f, qv_array *out, qv_err *err) {
    if (n > 0 && !f->nullable)
        return qv_err_set(err, QV_EINVAL, "column %s: declared not nullable but has Arrow type null", col);
    out->length = n;
    out->null_count = n;
    out->values = new_buf((size_t)n * 4);
    memset(out->values->data, 0, (size_t)n * 4);
    if (n > 0) {
        out->validity = new_buf((size_t)(n + 7) / 8);
        memset(out->validity->data, 0, (size_t)(n + 7) / 8);
    }
    return QV_OK;
}

int ipc_decode_column(ipc_decoder *d, ipc_rb *rb, const ipc_src *s, const qv_field *f, int64_t length,
                      qv_array *out, qv_err *err) {
    const char *col = f->name;
    int64_t n = 0, nulls = 0;
    qv_array_init(out, f->type);
    if (next_node(rb, col, &n, &nulls, err)) return err->code;
    if (n != length)
        return qv_err_set(err, QV_ECORRUPT, "column %s: %lld values in a batch of %lld rows", col,
                          (long long)n, (long long)length);
    if (f->all_null) return null_column(n, col, f, out, err);
    qv_buffer *valid;
    if (next_buffer(rb, col, "validity", &valid, err)) return err->code;
    if (nulls > 0) {
        if (!f->nullable) {
            qv_buffer_unref(valid);
            return qv_err_set(err, QV_EINVAL, "column %s: declared not nullable but has %lld nulls", col,
                              (long long)nulls);
        }
        if (need_bytes(valid, (size_t)(n + 7) / 8, col, "validity", err)) {
            qv_buffer_unref(valid);
            return err->code;
        }
        int64_t counted = n - count_valid(valid->data, n);
        if (counted != nulls) {
            qv_buffer_unref(valid);
            return qv_err_set(err, QV_ECORRUPT, "column %s: null count %lld, validity bitmap has %lld",
                              col, (long long)nulls, (long long)counted);
        }
        out->validity = valid;
    } else {
        qv_buffer_unref(valid);
    }
    out->length = n;
    out->null_count = nulls;
    int rc;
    if (s->dict) {
        ipc_dict *dd = NULL;
        for (int i = 0; i < d->ndicts; i++)
            if (d->dicts[i].id == s->dict_id) dd = &d->dicts[i];
        if (!dd || !dd->have) {
            qv_array_free(out);
            return qv_err_set(err, QV_ECORRUPT, "column %s: no dictionary with id %lld was received", col,
                              (long long)s->dict_id);
        }
        qv_buffer *codes = NULL;
        if (decode_indices(rb, s, &dd->arr, n, col, &codes, err)) {
            qv_array_free(out);
            return err->code;
        }
        /* check indices of valid rows */
        const int32_t *c = (const int32_t *)codes->data;
        for (int64_t i = 0; i < n; i++) {
            if (c[i] < 0 && (!out->validity || qv_bit_get(out->validity->data, i))) {
                qv_buffer_unref(codes);
                qv_array_free(out);
                return qv_err_set(err, QV_ECORRUPT,
                                  "column %s: dictionary index at row %lld outside the %lld entries",
                                  col, (long long)i, (long long)dd->arr.length);
            }
        }
        qv_array sym;
        qv_array_init(&sym, QV_T_SYMBOL);
        sym.length = n;
        sym.null_count = nulls;
        sym.validity = out->validity;
        out->validity = NULL;
        sym.values = codes;
        for (int64_t i = 0; i < n; i++) /* null rows may hold any index: make them 0 */
            if (c[i] < 0) ((int32_t *)codes->data)[i] = 0;
        sym.dict = qv_xmalloc(sizeof *sym.dict);
        qv_array_copy_ref(sym.dict, &dd->arr);
        qv_array_free(out);
        if (f->type == QV_T_STRING) {
            rc = ipc_symbol_to_string(&sym, out, col, err);
            qv_array_free(&sym);
            return rc;
        }
        /* SYMBOL: rows naming a null dictionary entry become null */
        if (dd->arr.null_count != 0 && dd->arr.validity) {
            qv_buffer *nv = new_buf((size_t)(n + 7) / 8);
            int64_t nn = 0;
            for (int64_t i = 0; i < n; i++) {
                bool ok = qv_array_is_valid(&sym, i) && qv_array_is_valid(&dd->arr, qv_array_get_i32(&sym, i));
                qv_bit_set(nv->data, i, ok);
                nn += !ok;
            }
            qv_buffer_unref(sym.validity);
            sym.validity = nn ? nv : NULL;
            if (!nn) qv_buffer_unref(nv);
            sym.null_count = nn;
        }
        *out = sym;
        return QV_OK;
    }
    switch (s->tt) {
    case AT_BOOL: {
        qv_buffer *v;
        if (next_buffer(rb, col, "values", &v, err)) break;
        if (need_bytes(v, (size_t)(n + 7) / 8, col, "values", err)) {
            qv_buffer_unref(v);
            break;
        }
        out->values = v ? v : new_buf(0);
        return QV_OK;
    }
    case AT_UTF8:
    case AT_LARGE_UTF8:
    case AT_UTF8_VIEW:
        if (decode_strings(rb, s->tt, n, col, out, err)) break;
        if (ipc_check_utf8(out, col, err)) break;
        return QV_OK;
    case AT_DECIMAL: {
        qv_buffer *v;
        if (next_buffer(rb, col, "values", &v, err)) break;
        rc = ipc_decimal_decode(v, s, f, n, out->validity ? out->validity->data : NULL, &out->values, err);
        qv_buffer_unref(v);
        if (rc) break;
        return QV_OK;
    }
    default:
        if (decode_fixed(rb, s, f->type, n, col, out, err)) break;
        return QV_OK;
    }
    qv_array_free(out);
    return err->code;
}
