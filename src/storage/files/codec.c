/*
** Byte encodings shared by WAL records and column files: little-endian
** integers, names, schemas and batches (column data normalised to offset 0,
** SYMBOL written as plain strings so a file never depends on a dictionary).
** Decoding checks every length against the bytes left before allocating.
** Stateless apart from the caller's st_rd cursor.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void st_put_u8(qv_str *s, uint8_t v) { qv_str_append(s, &v, 1); }
void st_put_u16(qv_str *s, uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    qv_str_append(s, b, 2);
}
void st_put_u32(qv_str *s, uint32_t v) {
    uint8_t b[4];
    st_wr_u32(b, v);
    qv_str_append(s, b, 4);
}
void st_put_u64(qv_str *s, uint64_t v) {
    st_put_u32(s, (uint32_t)v);
    st_put_u32(s, (uint32_t)(v >> 32));
}
void st_put_name(qv_str *s, const char *name) {
    size_t n = strlen(name);
    st_put_u16(s, (uint16_t)n);
    qv_str_append(s, name, n);
}

const uint8_t *st_get_bytes(st_rd *r, size_t n) {
    if (r->bad || n > r->n - r->pos) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->pos;
    r->pos += n;
    return p;
}
uint8_t st_get_u8(st_rd *r) {
    const uint8_t *p = st_get_bytes(r, 1);
    return p ? p[0] : 0;
}
uint16_t st_get_u16(st_rd *r) {
    const uint8_t *p = st_get_bytes(r, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}
uint32_t st_get_u32(st_rd *r) {
    const uint8_t *p = st_get_bytes(r, 4);
    return p ? st_rd_u32(p) : 0;
}
uint64_t st_get_u64(st_rd *r) {
    uint64_t lo = st_get_u32(r);
    return lo | (uint64_t)st_get_u32(r) << 32;
}
char *st_get_name(st_rd *r) {
    uint16_t n = st_get_u16(r);
    const uint8_t *p = st_get_bytes(r, n);
    return p ? qv_xstrndup((const char *)p, n) : NULL;
}

int st_check_name(const char *name, const char *what, qv_err *err) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0) return qv_err_set(err, QV_EINVAL, "%s name is empty", what);
    if (n > QV_NAME_MAX)
        return qv_err_set(err, QV_EINVAL, "%s name '%.40s...' is longer than %d characters", what,
                          name, QV_NAME_MAX);
    if (name[0] >= '0' && name[0] <= '9')
        return qv_err_set(err, QV_EINVAL, "%s name '%s' starts with a digit", what, name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return qv_err_set(err, QV_EINVAL,
                              "%s name '%s' has character '%c' (allowed: letters, digits, _)",
                              what, name, c >= 32 && c < 127 ? c : '?');
    }
    return QV_OK;
}

int st_check_schema(const qv_schema *schema, qv_err *err) {
    if (!schema || schema->nfields < 1)
        return qv_err_set(err, QV_EINVAL, "schema has no columns");
    if (schema->nfields > ST_MAX_FIELDS)
        return qv_err_set(err, QV_EINVAL, "schema has %d columns (at most %d)", schema->nfields,
                          ST_MAX_FIELDS);
    for (int i = 0; i < schema->nfields; i++) {
        const qv_field *f = &schema->fields[i];
        if (st_check_name(f->name, "column", err)) return err->code;
        if (f->type <= QV_T_INVALID || f->type >= QV_T__COUNT)
            return qv_err_set(err, QV_EINVAL, "column %s has an invalid type (%d)", f->name,
                              (int)f->type);
        for (int j = 0; j < i; j++)
            if (strcmp(schema->fields[j].name, f->name) == 0)
                return qv_err_set(err, QV_EINVAL, "duplicate column name '%s'", f->name);
    }
    return QV_OK;
}

const char *st_array_str(const qv_array *a, int64_t i, int32_t *len) {
    if (a->type == QV_T_SYMBOL) return st_array_str(a->dict, qv_array_get_i32(a, i), len);
    const int32_t *off = (const int32_t *)a->values->data + a->offset + i;
    *len = off[1] - off[0];
    return *len && a->data ? (const char *)a->data->data + off[0] : "";
}

void st_encode_schema(qv_str *s, const qv_schema *schema) {
    st_put_u32(s, (uint32_t)schema->nfields);
    for (int i = 0; i < schema->nfields; i++) {
        const qv_field *f = &schema->fields[i];
        st_put_name(s, f->name);
        st_put_u8(s, (uint8_t)f->type);
        st_put_u8(s, f->nullable);
        size_t tzn = strnlen(f->tz, sizeof f->tz - 1);
        st_put_u8(s, (uint8_t)tzn);
        qv_str_append(s, f->tz, tzn);
        /* Only a DECIMAL field carries its precision and scale: files written
           before DECIMAL existed hold no such field, so they read unchanged. */
        if (f->type == QV_T_DECIMAL) {
            st_put_u8(s, f->precision);
            st_put_u8(s, f->scale);
        }
    }
}

int st_decode_schema(st_rd *r, qv_schema *out, qv_err *err) {
    qv_schema_init(out);
    uint32_t n = st_get_u32(r);
    if (r->bad || n < 1 || n > ST_MAX_FIELDS) goto bad;
    for (uint32_t i = 0; i < n; i++) {
        char *name = st_get_name(r);
        uint8_t type = st_get_u8(r), nullable = st_get_u8(r), tzn = st_get_u8(r);
        const uint8_t *tz = st_get_bytes(r, tzn);
        if (!name || r->bad || tzn >= sizeof out->fields[0].tz || nullable > 1) {
            free(name);
            goto bad;
        }
        qv_schema_add(out, name, (qv_type)type, nullable);
        free(name);
        qv_field *f = &out->fields[out->nfields - 1];
        memset(f->tz, 0, sizeof f->tz);
        memcpy(f->tz, tz, tzn);
        if (type == QV_T_DECIMAL) {
            f->precision = st_get_u8(r);
            f->scale = st_get_u8(r);
            if (r->bad || f->precision < 1 || f->precision > QV_DEC_MAX_PREC || f->scale > f->precision) goto bad;
        }
    }
    if (st_check_schema(out, err)) {
        qv_schema_free(out);
        return qv_err_set(err, QV_ECORRUPT, "stored schema is invalid: %s", err->msg);
    }
    return QV_OK;
bad:
    qv_schema_free(out);
    return qv_err_set(err, QV_ECORRUPT, "stored schema is truncated or malformed");
}

/* Bits [off, off+n) of src as a fresh offset-0 bitmap appended to s. */
static void put_bits(qv_str *s, const uint8_t *src, int64_t off, int64_t n) {
    size_t nb = (size_t)(n + 7) / 8;
    qv_str_reserve(s, nb);
    uint8_t *dst = (uint8_t *)s->data + s->len;
    memset(dst, 0, nb);
    if ((off & 7) == 0) {
        memcpy(dst, src + off / 8, nb);
        if (n & 7) dst[nb - 1] &= (uint8_t)((1u << (n & 7)) - 1);
    } else {
        for (int64_t i = 0; i < n; i++)
            if (qv_bit_get(src, off + i)) dst[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    s->len += nb;
}

void st_encode_batch(qv_str *s, const qv_batch *b) {
    int64_t n = b->nrows;
    st_put_u32(s, (uint32_t)b->schema.nfields);
    st_put_u64(s, (uint64_t)n);
    for (int c = 0; c < b->schema.nfields; c++) {
        qv_array *a = &b->cols[c];
        qv_type t = a->type == QV_T_SYMBOL ? QV_T_STRING : a->type;
        bool hasv = a->validity && qv_array_null_count(a) > 0;
        st_put_u8(s, (uint8_t)t);
        st_put_u8(s, hasv);
        if (hasv) put_bits(s, a->validity->data, a->offset, n);
        if (n == 0) {
            if (t == QV_T_STRING) {
                st_put_u32(s, 0);
                st_put_u64(s, 0);
            }
            continue;
        }
        if (a->type == QV_T_BOOL) {
            put_bits(s, a->values->data, a->offset, n);
        } else if (a->type == QV_T_STRING) {
            const int32_t *off = (const int32_t *)a->values->data + a->offset;
            for (int64_t i = 0; i <= n; i++) st_put_u32(s, (uint32_t)(off[i] - off[0]));
            st_put_u64(s, (uint64_t)(off[n] - off[0]));
            if (off[n] > off[0]) qv_str_append(s, a->data->data + off[0], (size_t)(off[n] - off[0]));
        } else if (a->type == QV_T_SYMBOL) {
            /* Expand to strings; nulls become empty strings. */
            size_t start = s->len;
            qv_str_reserve(s, (size_t)(n + 1) * 4);
            s->len += (size_t)(n + 1) * 4;
            uint32_t total = 0;
            st_wr_u32((uint8_t *)s->data + start, 0);
            qv_str body;
            qv_str_init(&body);
            for (int64_t i = 0; i < n; i++) {
                if (qv_array_is_valid(a, i)) {
                    int32_t len;
                    const char *p = st_array_str(a, i, &len);
                    qv_str_append(&body, p, (size_t)len);
                    total += (uint32_t)len;
                }
                st_wr_u32((uint8_t *)s->data + start + (size_t)(i + 1) * 4, total);
            }
            st_put_u64(s, total);
            qv_str_append(s, body.data, body.len);
            qv_str_free(&body);
        } else {
            size_t w = (size_t)qv_type_width(a->type);
            qv_str_append(s, a->values->data + (size_t)a->offset * w, (size_t)n * w);
        }
    }
}

static qv_buffer *take_buf(st_rd *r, size_t n) {
    const uint8_t *p = st_get_bytes(r, n);
    if (!p) return NULL;
    qv_buffer *b = qv_buffer_new(n ? n : 1);
    memcpy(b->data, p, n);
    b->size = n;
    return b;
}

int st_decode_batch(st_rd *r, const qv_schema *schema, qv_batch *out, qv_err *err) {
    qv_schema sch;
    qv_schema_copy(&sch, schema);
    for (int i = 0; i < sch.nfields; i++)
        if (sch.fields[i].type == QV_T_SYMBOL) sch.fields[i].type = QV_T_STRING;
    qv_batch_init(out, &sch);
    qv_schema_free(&sch);
    uint32_t ncols = st_get_u32(r);
    uint64_t n = st_get_u64(r);
    /* Every row costs at least one bit of payload per column; bounds allocations. */
    if (r->bad || (int)ncols != schema->nfields || n > (uint64_t)(r->n - r->pos) * 8) goto bad;
    out->nrows = (int64_t)n;
    for (int c = 0; c < out->schema.nfields; c++) {
        qv_array *a = &out->cols[c];
        uint8_t t = st_get_u8(r), hasv = st_get_u8(r);
        if (r->bad || t != (uint8_t)a->type || hasv > 1) goto bad;
        a->length = (int64_t)n;
        if (hasv) {
            if (!(a->validity = take_buf(r, (size_t)(n + 7) / 8))) goto bad;
        }
        if (n == 0 && a->type != QV_T_STRING) continue;
        size_t w = (size_t)qv_type_width(a->type);
        if (a->type == QV_T_BOOL) {
            if (!(a->values = take_buf(r, (size_t)(n + 7) / 8))) goto bad;
        } else if (a->type == QV_T_STRING) {
            if (n + 1 > (r->n - r->pos) / 4) goto bad;
            if (!(a->values = take_buf(r, (size_t)(n + 1) * 4))) goto bad;
            uint64_t dlen = st_get_u64(r);
            if (r->bad || dlen > r->n - r->pos || dlen > INT32_MAX) goto bad;
            if (!(a->data = take_buf(r, (size_t)dlen))) goto bad;
        } else {
            if (n > (r->n - r->pos) / w) goto bad;
            if (!(a->values = take_buf(r, (size_t)n * w))) goto bad;
        }
        a->null_count = -1;
        qv_array_null_count(a);
    }
    if (qv_batch_validate(out, err)) {
        qv_batch_free(out);
        return qv_err_set(err, QV_ECORRUPT, "stored batch is inconsistent: %s", err->msg);
    }
    return QV_OK;
bad:
    qv_batch_free(out);
    return qv_err_set(err, QV_ECORRUPT, "stored batch is truncated or malformed");
}

uint8_t st_stats_flags(const st_stats *st) { return (uint8_t)(st->has_minmax | 2 | (st->has_nan ? 4 : 0)); }

void st_stats_flags_set(st_stats *st, uint8_t b) {
    st->has_minmax = b & 1;
    st->has_nan = !(b & 2) || (b & 4);
}

void st_encode_stats(qv_str *s, const st_stats *st) {
    st_put_u8(s, st_stats_flags(st));
    st_put_u64(s, (uint64_t)st->null_count);
    st_put_u64(s, (uint64_t)st->min.i);
    st_put_u64(s, (uint64_t)st->max.i);
}

void st_decode_stats(st_rd *r, st_stats *st) {
    memset(st, 0, sizeof *st);
    st_stats_flags_set(st, st_get_u8(r));
    st->null_count = (int64_t)st_get_u64(r);
    st->min.i = (int64_t)st_get_u64(r);
    st->max.i = (int64_t)st_get_u64(r);
}

int st_fsync_dir(const char *dir, qv_err *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot open directory %s: %m", dir);
    int rc = fsync(fd);
    close(fd);
    if (rc != 0) return qv_err_set(err, QV_EIO, "fsync of directory %s failed: %m", dir);
    return QV_OK;
}

int st_write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}
