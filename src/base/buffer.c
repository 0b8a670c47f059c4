/* Refcounted buffers: owned (aligned heap), wrapped (someone else's), slices. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

static void release_owned(qv_buffer *b) {
    qv_free_aligned(b->data);
    free(b);
}

qv_buffer *qv_buffer_new(size_t capacity) {
    qv_buffer *b = qv_xmalloc(sizeof *b);
    atomic_init(&b->refs, 1);
    b->data = qv_alloc_aligned(capacity);
    b->size = 0;
    b->capacity = capacity;
    b->release = release_owned;
    b->ctx = NULL;
    return b;
}

typedef struct wrap_ctx {
    void (*free_ctx)(void *);
    void *ctx;
} wrap_ctx;

static void release_wrapped(qv_buffer *b) {
    wrap_ctx *w = b->ctx;
    if (w->free_ctx) w->free_ctx(w->ctx);
    free(w);
    free(b);
}

qv_buffer *qv_buffer_wrap(const void *data, size_t size, void (*free_ctx)(void *), void *ctx) {
    qv_buffer *b = qv_xmalloc(sizeof *b);
    wrap_ctx *w = qv_xmalloc(sizeof *w);
    w->free_ctx = free_ctx;
    w->ctx = ctx;
    atomic_init(&b->refs, 1);
    b->data = (uint8_t *)data;
    b->size = size;
    b->capacity = size;
    b->release = release_wrapped;
    b->ctx = w;
    return b;
}

static void release_slice(qv_buffer *b) {
    qv_buffer_unref(b->ctx);
    free(b);
}

qv_buffer *qv_buffer_slice(qv_buffer *parent, size_t off, size_t len) {
    qv_buffer *b = qv_xmalloc(sizeof *b);
    atomic_init(&b->refs, 1);
    b->data = parent->data + off;
    b->size = len;
    b->capacity = len;
    b->release = release_slice;
    b->ctx = qv_buffer_ref(parent);
    return b;
}

qv_buffer *qv_buffer_ref(qv_buffer *b) {
    if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void qv_buffer_unref(qv_buffer *b) {
    if (!b) return;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) b->release(b);
}

void qv_buffer_reserve(qv_buffer *b, size_t capacity) {
    if (capacity <= b->capacity) return;
    /* Only owned buffers grow; the caller guarantees no other holder. */
    size_t ncap = b->capacity * 2;
    if (ncap < capacity) ncap = capacity;
    uint8_t *nd = qv_alloc_aligned(ncap);
    memcpy(nd, b->data, b->capacity); /* builders track length themselves; keep it all */
    qv_free_aligned(b->data);
    b->data = nd;
    b->capacity = ncap;
}
