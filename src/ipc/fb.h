/*
** fb: a minimal FlatBuffers reader and builder, written by hand because
** Debian ships neither a C FlatBuffers runtime nor nanoarrow, and Arrow IPC
** metadata is FlatBuffers. Only what Arrow's Message/Schema tables need.
**
** Reader: never trusts the bytes. Every table, vtable, offset, vector and
** string is checked against the buffer bounds before it is dereferenced.
** Failures are sticky: the first one is recorded in the fb_reader (with the
** name of what was being read) and later getters return defaults, so callers
** check fb_failed() at convenient points instead of after every read.
**
** Builder: writes back to front into a growable buffer it owns, as the
** format's unsigned forward offsets require (children before parents).
** fb_builder_finish() yields the finished bytes, still owned by the builder.
*/
#ifndef QUIVER_IPC_FB_H
#define QUIVER_IPC_FB_H

#include "base/base.h"

/* ---------------- reader ---------------- */

typedef struct fb_reader {
    const uint8_t *buf;
    size_t len;
    int depth;       /* nesting guard for recursive structures */
    bool failed;
    qv_err err;      /* first failure */
} fb_reader;

typedef struct fb_table {
    fb_reader *r;
    uint32_t pos;     /* table start */
    uint32_t vt;      /* vtable start */
    uint16_t vtlen;   /* vtable bytes */
    uint16_t tlen;    /* table inline bytes */
} fb_table;

typedef struct fb_vec {
    fb_reader *r;
    uint32_t pos;     /* first element */
    uint32_t n;       /* element count */
    uint32_t elem;    /* element size in bytes */
} fb_vec;

void fb_reader_init(fb_reader *r, const uint8_t *buf, size_t len);
static inline bool fb_failed(const fb_reader *r) { return r->failed; }
/* Record a failure (first one wins); returns false for convenient chaining. */
bool fb_fail(fb_reader *r, qv_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Root table of the buffer. False (and failure recorded) if invalid. */
bool fb_root(fb_reader *r, fb_table *out, const char *what);
bool fb_has(const fb_table *t, int field);
/* Scalars: default if absent or failed. `what` names the field in errors. */
int64_t fb_i64(const fb_table *t, int field, int64_t def, const char *what);
int32_t fb_i32(const fb_table *t, int field, int32_t def, const char *what);
int16_t fb_i16(const fb_table *t, int field, int16_t def, const char *what);
uint8_t fb_u8(const fb_table *t, int field, uint8_t def, const char *what);
bool fb_bool(const fb_table *t, int field, bool def, const char *what);
/* Sub-table: false if absent (no failure) or invalid (failure recorded). */
bool fb_table_field(const fb_table *t, int field, fb_table *out, const char *what);
/* Vector of `elem`-byte elements: false if absent or invalid. */
bool fb_vector(const fb_table *t, int field, uint32_t elem, fb_vec *out, const char *what);
/* String: false if absent or invalid; *p is NUL-terminated inside the buffer. */
bool fb_string(const fb_table *t, int field, const char **p, uint32_t *n, const char *what);
/* Element i of a vector of tables. */
bool fb_vec_table(const fb_vec *v, uint32_t i, fb_table *out, const char *what);
/* Element i of a vector of structs / scalars (pointer to elem bytes). */
const uint8_t *fb_vec_at(const fb_vec *v, uint32_t i);

static inline int64_t fb_read_i64(const uint8_t *p) {
    int64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

/* ---------------- builder ---------------- */

#define FB_MAX_FIELDS 16

typedef uint32_t fb_ref; /* position of an object, counted from the buffer end */

typedef struct fb_builder {
    uint8_t *buf;     /* data lives in buf[cap - len, cap) */
    size_t cap, len;
    size_t minalign;
    /* table in progress */
    bool in_table;
    size_t table_start;
    uint32_t field_ref[FB_MAX_FIELDS];
    int max_field;
} fb_builder;

void fb_builder_init(fb_builder *b);
void fb_builder_free(fb_builder *b);
void fb_builder_reset(fb_builder *b);

fb_ref fb_create_string(fb_builder *b, const char *s, size_t n);
/* Vector of structs/scalars: `data` holds n elements of `elem` bytes in order. */
fb_ref fb_create_vector(fb_builder *b, const void *data, uint32_t n, uint32_t elem, uint32_t align);
fb_ref fb_create_vector_refs(fb_builder *b, const fb_ref *refs, uint32_t n);

void fb_table_start(fb_builder *b);
void fb_add_i64(fb_builder *b, int field, int64_t v);
void fb_add_i32(fb_builder *b, int field, int32_t v);
void fb_add_i16(fb_builder *b, int field, int16_t v);
void fb_add_u8(fb_builder *b, int field, uint8_t v);
void fb_add_ref(fb_builder *b, int field, fb_ref r);
fb_ref fb_table_end(fb_builder *b);

/* Finish with `root` as root table; returns the bytes (length a multiple of 8). */
const uint8_t *fb_builder_finish(fb_builder *b, fb_ref root, size_t *len);

#endif
