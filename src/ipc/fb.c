/* Hand-written FlatBuffers reader (bounds-checked) and back-to-front builder. */
#include "fb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- reader ---------------- */

static uint32_t rd_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint16_t rd_u16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

void fb_reader_init(fb_reader *r, const uint8_t *buf, size_t len) {
    memset(r, 0, sizeof *r);
    r->buf = buf;
    r->len = len;
    /* FlatBuffers offsets are 32-bit; larger inputs are not FlatBuffers. */
    if (len > 0x7fffffffu) fb_fail(r, QV_ECORRUPT, "flatbuffer of %zu bytes exceeds 2 GiB", len);
}

bool fb_fail(fb_reader *r, qv_status code, const char *fmt, ...) {
    if (r->failed) return false;
    r->failed = true;
    r->err.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err.msg, sizeof r->err.msg, fmt, ap);
    va_end(ap);
    return false;
}

static bool table_at(fb_reader *r, uint64_t pos, fb_table *out, const char *what) {
    if (pos + 4 > r->len)
        return fb_fail(r, QV_ECORRUPT, "%s: table offset %llu outside metadata of %zu bytes", what,
                       (unsigned long long)pos, r->len);
    int32_t so;
    memcpy(&so, r->buf + pos, 4);
    int64_t vt = (int64_t)pos - (int64_t)so;
    if (vt < 0 || (uint64_t)vt + 4 > r->len)
        return fb_fail(r, QV_ECORRUPT, "%s: vtable offset %lld outside metadata", what, (long long)vt);
    uint16_t vtlen = rd_u16(r->buf + vt), tlen = rd_u16(r->buf + vt + 2);
    if (vtlen < 4 || (vtlen & 1) || (uint64_t)vt + vtlen > r->len)
        return fb_fail(r, QV_ECORRUPT, "%s: vtable of %u bytes is invalid or out of bounds", what,
                       vtlen);
    if (tlen < 4 || pos + tlen > r->len)
        return fb_fail(r, QV_ECORRUPT, "%s: table of %u bytes runs past the metadata end", what, tlen);
    out->r = r;
    out->pos = (uint32_t)pos;
    out->vt = (uint32_t)vt;
    out->vtlen = vtlen;
    out->tlen = tlen;
    return true;
}

bool fb_root(fb_reader *r, fb_table *out, const char *what) {
    memset(out, 0, sizeof *out);
    out->r = r;
    if (r->failed) return false;
    if (r->len < 8) return fb_fail(r, QV_ECORRUPT, "%s: metadata of %zu bytes is too short", what, r->len);
    return table_at(r, rd_u32(r->buf), out, what);
}

/* Offset of `field` inside the table, or 0 if absent; fails if `size` bytes
   at that offset would run past the table's inline part. */
static uint32_t field_off(const fb_table *t, int field, uint32_t size, const char *what) {
    if (t->r->failed || t->tlen == 0) return 0;
    uint32_t idx = 4 + 2 * (uint32_t)field;
    if (idx + 2 > t->vtlen) return 0;
    uint16_t off = rd_u16(t->r->buf + t->vt + idx);
    if (off == 0) return 0;
    if (off < 4 || (uint32_t)off + size > t->tlen) {
        fb_fail(t->r, QV_ECORRUPT, "%s: field at offset %u outside its table", what, off);
        return 0;
    }
    return off;
}

bool fb_has(const fb_table *t, int field) { return field_off(t, field, 0, "field") != 0; }

#define SCALAR_GETTER(fn, T)                                                 \
    T fn(const fb_table *t, int field, T def, const char *what) {            \
        uint32_t off = field_off(t, field, sizeof(T), what);                 \
        if (!off) return def;                                                \
        T v;                                                                 \
        memcpy(&v, t->r->buf + t->pos + off, sizeof v);                      \
        return v;                                                            \
    }
SCALAR_GETTER(fb_i64, int64_t)
SCALAR_GETTER(fb_i32, int32_t)
SCALAR_GETTER(fb_i16, int16_t)
SCALAR_GETTER(fb_u8, uint8_t)

bool fb_bool(const fb_table *t, int field, bool def, const char *what) {
    return fb_u8(t, field, def ? 1 : 0, what) != 0;
}

/* Follow the uoffset stored in `field`; 0 if absent or invalid. */
static uint64_t deref(const fb_table *t, int field, const char *what) {
    uint32_t off = field_off(t, field, 4, what);
    if (!off) return 0;
    uint64_t at = (uint64_t)t->pos + off;
    uint64_t target = at + rd_u32(t->r->buf + at);
    if (target + 4 > t->r->len) {
        fb_fail(t->r, QV_ECORRUPT, "%s: offset points past the metadata end", what);
        return 0;
    }
    return target;
}

bool fb_table_field(const fb_table *t, int field, fb_table *out, const char *what) {
    memset(out, 0, sizeof *out);
    out->r = t->r;
    uint64_t target = deref(t, field, what);
    if (!target) return false;
    return table_at(t->r, target, out, what);
}

static bool vector_at(fb_reader *r, uint64_t target, uint32_t elem, fb_vec *out, const char *what) {
    uint32_t n = rd_u32(r->buf + target);
    if ((uint64_t)n * elem > r->len - target - 4)
        return fb_fail(r, QV_ECORRUPT, "%s: vector of %u elements runs past the metadata end", what, n);
    out->pos = (uint32_t)(target + 4);
    out->n = n;
    return true;
}

bool fb_vector(const fb_table *t, int field, uint32_t elem, fb_vec *out, const char *what) {
    memset(out, 0, sizeof *out);
    out->r = t->r;
    out->elem = elem;
    uint64_t target = deref(t, field, what);
    if (!target) return false;
    return vector_at(t->r, target, elem, out, what);
}

bool fb_string(const fb_table *t, int field, const char **p, uint32_t *n, const char *what) {
    fb_vec v;
    *p = "";
    *n = 0;
    if (!fb_vector(t, field, 1, &v, what)) return false;
    if ((uint64_t)v.pos + v.n >= t->r->len || t->r->buf[v.pos + v.n] != 0)
        return fb_fail(t->r, QV_ECORRUPT, "%s: string is not NUL-terminated", what);
    *p = (const char *)t->r->buf + v.pos;
    *n = v.n;
    return true;
}

bool fb_vec_table(const fb_vec *v, uint32_t i, fb_table *out, const char *what) {
    memset(out, 0, sizeof *out);
    out->r = v->r;
    if (v->r->failed) return false;
    if (i >= v->n || v->elem != 4) return fb_fail(v->r, QV_EINTERNAL, "%s: bad vector access", what);
    uint64_t at = (uint64_t)v->pos + 4ull * i;
    return table_at(v->r, at + rd_u32(v->r->buf + at), out, what);
}

const uint8_t *fb_vec_at(const fb_vec *v, uint32_t i) {
    return v->r->buf + v->pos + (size_t)v->elem * i; /* i < n checked by callers' loops */
}

/* ---------------- builder ---------------- */

void fb_builder_init(fb_builder *b) {
    memset(b, 0, sizeof *b);
    b->minalign = 8;
}

void fb_builder_free(fb_builder *b) {
    free(b->buf);
    memset(b, 0, sizeof *b);
}

void fb_builder_reset(fb_builder *b) {
    b->len = 0;
    b->minalign = 8;
    b->in_table = false;
}

static void ensure(fb_builder *b, size_t need) {
    if (b->cap - b->len >= need) return;
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap - b->len < need) ncap *= 2;
    uint8_t *nb = qv_xmalloc(ncap);
    if (b->len) memcpy(nb + ncap - b->len, b->buf + b->cap - b->len, b->len);
    free(b->buf);
    b->buf = nb;
    b->cap = ncap;
}

static void push(fb_builder *b, const void *p, size_t n) {
    ensure(b, n);
    b->len += n;
    if (p) memcpy(b->buf + b->cap - b->len, p, n);
    else memset(b->buf + b->cap - b->len, 0, n);
}

/* Pad so that after `extra` more bytes the length is a multiple of align. */
static void prep(fb_builder *b, size_t align, size_t extra) {
    if (align > b->minalign) b->minalign = align;
    size_t pad = (~(b->len + extra) + 1) & (align - 1);
    if (pad) push(b, NULL, pad);
}

static void push_u32(fb_builder *b, uint32_t v) { push(b, &v, 4); }

fb_ref fb_create_string(fb_builder *b, const char *s, size_t n) {
    prep(b, 4, n + 1);
    push(b, NULL, 1);
    push(b, s, n);
    push_u32(b, (uint32_t)n);
    return (fb_ref)b->len;
}

fb_ref fb_create_vector(fb_builder *b, const void *data, uint32_t n, uint32_t elem, uint32_t align) {
    size_t bytes = (size_t)n * elem;
    prep(b, align > 4 ? align : 4, bytes);
    if (bytes) push(b, data, bytes);
    push_u32(b, n);
    return (fb_ref)b->len;
}

fb_ref fb_create_vector_refs(fb_builder *b, const fb_ref *refs, uint32_t n) {
    prep(b, 4, (size_t)n * 4);
    for (uint32_t i = n; i-- > 0;) push_u32(b, (uint32_t)(b->len + 4 - refs[i]));
    push_u32(b, n);
    return (fb_ref)b->len;
}

void fb_table_start(fb_builder *b) {
    b->in_table = true;
    b->table_start = b->len;
    b->max_field = -1;
    memset(b->field_ref, 0, sizeof b->field_ref);
}

static void note_field(fb_builder *b, int field) {
    if (field < 0 || field >= FB_MAX_FIELDS) abort(); /* programming error */
    b->field_ref[field] = (uint32_t)b->len;
    if (field > b->max_field) b->max_field = field;
}

#define ADDER(fn, T)                                  \
    void fn(fb_builder *b, int field, T v) {          \
        prep(b, sizeof v, 0);                         \
        push(b, &v, sizeof v);                        \
        note_field(b, field);                         \
    }
ADDER(fb_add_i64, int64_t)
ADDER(fb_add_i32, int32_t)
ADDER(fb_add_i16, int16_t)
ADDER(fb_add_u8, uint8_t)

void fb_add_ref(fb_builder *b, int field, fb_ref r) {
    prep(b, 4, 0);
    push_u32(b, (uint32_t)(b->len + 4 - r));
    note_field(b, field);
}

fb_ref fb_table_end(fb_builder *b) {
    prep(b, 4, 0);
    push(b, NULL, 4); /* soffset to the vtable, patched below */
    size_t table_off = b->len;
    int nf = b->max_field + 1;
    uint16_t vt[2 + FB_MAX_FIELDS];
    vt[0] = (uint16_t)(4 + 2 * nf);
    vt[1] = (uint16_t)(table_off - b->table_start);
    for (int i = 0; i < nf; i++)
        vt[2 + i] = b->field_ref[i] ? (uint16_t)(table_off - b->field_ref[i]) : 0;
    push(b, vt, (size_t)vt[0]);
    int32_t so = (int32_t)(b->len - table_off);
    memcpy(b->buf + b->cap - table_off, &so, 4);
    b->in_table = false;
    return (fb_ref)table_off;
}

const uint8_t *fb_builder_finish(fb_builder *b, fb_ref root, size_t *len) {
    prep(b, b->minalign, 4);
    push_u32(b, (uint32_t)(b->len + 4 - root));
    *len = b->len;
    return b->buf + b->cap - b->len;
}
