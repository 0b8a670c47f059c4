/* Executor vectors: one column of up to a chunk of rows in a uniform
   physical form (int64 / double / string view) plus a null byte map.
   A vec owns its arrays and a heap of string blocks, or borrows the arrays
   (borrowed = true) of another vec or of a storage segment, read-only and
   only until that source changes; string views may point into snapshot
   memory, which outlives the query's vectors. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

typedef struct hblk {
    struct hblk *next;
    size_t used, cap;
    char data[];
} hblk;

/* "DECIMAL(p,s)" for every internal decimal type, made once. */
static char dec_names[QV_DEC_MAX_PREC + 1][QV_DEC_MAX_PREC + 1][16];
static pthread_once_t dec_names_once = PTHREAD_ONCE_INIT;
static void dec_names_make(void) {
    for (int p = 1; p <= QV_DEC_MAX_PREC; p++)
        for (int s = 0; s <= p; s++) qv_dec_type_name(p, s, dec_names[p][s], sizeof dec_names[p][s]);
}

const char *type_name(qv_type t) {
    if (t == T_NULL) return "NULL";
    if (t == T_INTERVAL) return "INTERVAL";
    if (type_is_dec(t)) {
        pthread_once(&dec_names_once, dec_names_make);
        return dec_names[dec_prec(t)][dec_scale(t)];
    }
    return qv_type_name(t);
}

qv_type sql_field_type(const qv_field *f) {
    if (f->type == QV_T_DECIMAL) return type_dec(f->precision, f->scale);
    if (f->type == QV_T_INTERVAL) return T_INTERVAL;
    return f->type;
}

void sql_field_set_type(qv_field *f, qv_type t) {
    if (type_is_dec(t)) {
        f->type = QV_T_DECIMAL;
        f->precision = (uint8_t)dec_prec(t);
        f->scale = (uint8_t)dec_scale(t);
        return;
    }
    f->type = t == T_INTERVAL ? QV_T_INTERVAL : t;
}

void sql_schema_add(qv_schema *s, const char *name, qv_type t, bool nullable) {
    qv_schema_add(s, name, type_is_dec(t) ? QV_T_DECIMAL : t == T_INTERVAL ? QV_T_INTERVAL : t, nullable);
    sql_field_set_type(&s->fields[s->nfields - 1], t);
}

void vec_init(vec *v, qv_type t) {
    memset(v, 0, sizeof *v);
    v->type = t;
}

static void heap_free(vec *v) {
    hblk *b = v->heap;
    while (b) {
        hblk *n = b->next;
        free(b);
        b = n;
    }
    v->heap = NULL;
}

static void unborrow(vec *v) {
    v->nulls = NULL;
    v->i = NULL;
    v->f = NULL;
    v->s = NULL;
    v->cap = 0;
    v->has_nulls = false;
    v->borrowed = false;
    v->codes = NULL;
    v->dict = NULL;
    v->symc = NULL;
}

void vec_borrow(vec *dst, const vec *src) {
    if (dst->borrowed) unborrow(dst);
    else vec_free(dst);
    dst->type = src->type;
    dst->n = src->n;
    dst->has_nulls = src->has_nulls;
    dst->nulls = src->nulls;
    dst->i = src->i;
    dst->f = src->f;
    dst->s = src->s;
    dst->cap = src->cap;
    dst->heap = NULL;
    dst->borrowed = true;
    dst->codes = src->codes;
    dst->dict = src->dict;
    dst->symc = src->symc;
}

void vec_free(vec *v) {
    if (v->borrowed) unborrow(v);
    free(v->nulls);
    free(v->i);
    free(v->f);
    free(v->s);
    heap_free(v);
    memset(v, 0, sizeof *v);
}

void vec_grow(vec *v, int cap) {
    if (v->borrowed) { /* take a private copy first */
        vec tmp = *v;
        unborrow(v);
        vec_reset(v, tmp.type, tmp.n < 16 ? 16 : tmp.n);
        v->n = tmp.n;
        phys_class pc = type_pc(tmp.type);
        if (pc == PC_I && tmp.i) memcpy(v->i, tmp.i, sizeof(int64_t) * (size_t)tmp.n);
        if (pc == PC_F && tmp.f) memcpy(v->f, tmp.f, sizeof(double) * (size_t)tmp.n);
        if (pc == PC_S && tmp.s) memcpy(v->s, tmp.s, sizeof(sv) * (size_t)tmp.n);
        if (tmp.has_nulls) {
            memcpy(v->nulls, tmp.nulls, (size_t)tmp.n);
            v->has_nulls = true;
        }
    }
    if (cap <= v->cap) return;
    int nc = v->cap ? v->cap : 16;
    while (nc < cap) nc *= 2;
    v->nulls = qv_xrealloc(v->nulls, (size_t)nc);
    memset(v->nulls + v->cap, 0, (size_t)(nc - v->cap));
    if (v->i) v->i = qv_xrealloc(v->i, sizeof(int64_t) * (size_t)nc);
    if (v->f) v->f = qv_xrealloc(v->f, sizeof(double) * (size_t)nc);
    if (v->s) v->s = qv_xrealloc(v->s, sizeof(sv) * (size_t)nc);
    v->cap = nc;
}

void vec_reset(vec *v, qv_type t, int n) {
    if (v->borrowed) unborrow(v);
    v->codes = NULL;
    v->dict = NULL;
    v->symc = NULL;
    v->type = t;
    vec_grow(v, n < 16 ? 16 : n);
    phys_class pc = type_pc(t);
    if (pc == PC_I && !v->i) v->i = qv_xmalloc(sizeof(int64_t) * (size_t)v->cap);
    if (pc == PC_F && !v->f) v->f = qv_xmalloc(sizeof(double) * (size_t)v->cap);
    if (pc == PC_S && !v->s) v->s = qv_xcalloc((size_t)v->cap, sizeof(sv));
    if (v->has_nulls) memset(v->nulls, 0, (size_t)v->cap);
    v->has_nulls = false;
    v->n = n;
    if (v->heap) {
        hblk *b = v->heap;
        heap_free(v);
        (void)b;
    }
}

char *vec_heap_alloc(vec *v, size_t n) {
    hblk *b = v->heap;
    if (!b || b->used + n > b->cap) {
        size_t cap = n > 65536 ? n : 65536;
        hblk *nb = qv_xmalloc(sizeof *nb + cap);
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        v->heap = b = nb;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

void vec_set_str(vec *v, int k, const char *p, int32_t n) {
    char *d = vec_heap_alloc(v, (size_t)n ? (size_t)n : 1);
    if (n) memcpy(d, p, (size_t)n);
    v->s[k].p = d;
    v->s[k].n = n;
}

void vec_copy_row(vec *dst, int j, const vec *src, int k) {
    if (vec_null(src, k)) {
        vec_set_null(dst, j);
        return;
    }
    switch (type_pc(dst->type)) {
    case PC_I: dst->i[j] = src->i[k]; break;
    case PC_F: dst->f[j] = src->f[k]; break;
    case PC_S: vec_set_str(dst, j, src->s[k].p, src->s[k].n); break;
    }
}

void vec_store_row(vec *dst, int64_t i, const vec *src, int r) {
    if (src->type == T_NULL || vec_null(src, r)) {
        vec_set_null(dst, (int)i);
        if (type_pc(dst->type) == PC_S) dst->s[i] = (sv){"", 0};
        return;
    }
    switch (type_pc(dst->type)) {
    case PC_I: dst->i[i] = src->i[r]; break;
    case PC_F: dst->f[i] = src->f[r]; break;
    case PC_S: {
        sv t = vec_str_at(src, r);
        vec_set_str(dst, (int)i, t.p, t.n);
        break;
    }
    }
}

int32_t vec_sym_code(const vec *v, sv s) {
    const qv_array *d = v->dict;
    const void *buf = d->values;
    sym_cache *c = v->symc;
    if (c && (c->buf != buf || c->len != d->length)) {
        c->buf = buf;
        c->len = d->length;
        c->n = 0;
    }
    if (c)
        for (int i = 0; i < c->n; i++)
            if (c->ent[i].p == s.p && c->ent[i].n == s.n) return c->ent[i].code;
    const int32_t *o = (const int32_t *)d->values->data + d->offset;
    const char *data = d->data ? (const char *)d->data->data : "";
    int32_t code = -1;
    for (int64_t j = 0; j < d->length && code < 0; j++)
        if (o[j + 1] - o[j] == s.n && (!s.n || !memcmp(data + o[j], s.p, (size_t)s.n))) code = (int32_t)j;
    if (c && c->n < (int)(sizeof c->ent / sizeof c->ent[0])) {
        c->ent[c->n].p = s.p;
        c->ent[c->n].n = s.n;
        c->ent[c->n].code = code;
        c->n++;
    }
    return code;
}

void chunk_init(chunk *c, int ncols, const qv_type *types) {
    memset(c, 0, sizeof *c);
    c->ncols = ncols;
    c->cols = qv_xcalloc((size_t)(ncols ? ncols : 1), sizeof(vec));
    for (int i = 0; i < ncols; i++) vec_init(&c->cols[i], types ? types[i] : T_NULL);
}

void chunk_free(chunk *c) {
    for (int i = 0; i < c->ncols; i++) vec_free(&c->cols[i]);
    free(c->cols);
    free(c->sel);
    memset(c, 0, sizeof *c);
}

int value_cmp(phys_class pc, const value *a, const value *b) {
    switch (pc) {
    case PC_I: return a->i < b->i ? -1 : a->i > b->i;
    case PC_F: return dbl_cmp(a->f, b->f);
    case PC_S: {
        int32_t n = a->s.n < b->s.n ? a->s.n : b->s.n;
        int c = n ? memcmp(a->s.p, b->s.p, (size_t)n) : 0;
        if (c) return c < 0 ? -1 : 1;
        return a->s.n < b->s.n ? -1 : a->s.n > b->s.n;
    }
    }
    return 0;
}

/* FNV-1a over 8-byte words, then a finalizer; good enough for hash tables. */
uint64_t hash_bytes(const void *p, size_t n, uint64_t seed) {
    const unsigned char *s = p;
    uint64_t h = seed ^ 0xcbf29ce484222325ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

uint64_t hash_value_at(const vec *v, int64_t r) {
    uint64_t x = 0;
    switch (type_pc(v->type)) {
    case PC_I: return hash_mix64((uint64_t)v->i[r]);
    case PC_F: return hash_mix64(dbl_key_bits(v->f[r]));
    case PC_S: {
        sv t = vec_str_at(v, r);
        return hash_bytes(t.p, (size_t)t.n, 0);
    }
    }
    return x;
}
