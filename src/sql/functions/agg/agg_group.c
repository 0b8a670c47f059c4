/* Group ids for the hash aggregate (agg.c). Group keys are encoded into byte
   strings (null flag + fixed 8 bytes, or length + bytes for strings) kept in
   one growing buffer; an open-addressing table maps key hashes to dense
   group ids. Three ways in:
   - the generic path encodes each row's keys and hashes the encoding;
   - one string key (str1) hashes the string itself with a short-string hash
     and compares it against the stored key in place: no encoding per row;
   - one SYMBOL key read as dictionary codes (a SYMBOL column, or a STRING
     column storage keeps dictionary-encoded) looks each code up once per
     dictionary and then maps code -> group by array index.
   A str1 table is only ever probed through str_group (rows, codes, and the
   merge of parallel parts alike), so its hash stays one function. */
#include "agg_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void agg_ht_init(htab *h) {
    h->cap = 1024;
    h->n = 0;
    h->hash = qv_xmalloc(sizeof(uint64_t) * (size_t)h->cap);
    h->gid = qv_xmalloc(sizeof(int32_t) * (size_t)h->cap);
    memset(h->gid, 0xff, sizeof(int32_t) * (size_t)h->cap);
}

void agg_ht_free(htab *h) {
    free(h->hash);
    free(h->gid);
}

static void ht_grow(htab *h) {
    htab nh;
    nh.cap = h->cap * 2;
    nh.n = h->n;
    nh.hash = qv_xmalloc(sizeof(uint64_t) * (size_t)nh.cap);
    nh.gid = qv_xmalloc(sizeof(int32_t) * (size_t)nh.cap);
    memset(nh.gid, 0xff, sizeof(int32_t) * (size_t)nh.cap);
    for (int64_t i = 0; i < h->cap; i++) {
        if (h->gid[i] < 0) continue;
        int64_t j = (int64_t)(h->hash[i] & (uint64_t)(nh.cap - 1));
        while (nh.gid[j] >= 0) j = (j + 1) & (nh.cap - 1);
        nh.gid[j] = h->gid[i];
        nh.hash[j] = h->hash[i];
    }
    agg_ht_free(h);
    *h = nh;
}

/* Stores a new key as group *n in slot j. */
static int32_t ht_insert(htab *h, int64_t j, uint64_t hv, const char *key, size_t klen, qv_str *keys, int64_t **offs,
                         int64_t *n, int64_t *cap) {
    if (*n + 2 > *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *offs = qv_xrealloc(*offs, sizeof(int64_t) * (size_t)*cap);
    }
    int32_t g = (int32_t)*n;
    if (*n == 0) (*offs)[0] = (int64_t)keys->len;
    qv_str_append(keys, key, klen);
    (*offs)[g + 1] = (int64_t)keys->len;
    (*n)++;
    h->gid[j] = g;
    h->hash[j] = hv;
    h->n++;
    return g;
}

int32_t agg_ht_find(htab *h, uint64_t hv, const char *key, size_t klen, qv_str *keys, int64_t **offs, int64_t *n,
                    int64_t *cap, bool *isnew) {
    if (h->n * 2 >= h->cap) ht_grow(h);
    int64_t j = (int64_t)(hv & (uint64_t)(h->cap - 1));
    while (h->gid[j] >= 0) {
        if (h->hash[j] == hv) {
            int32_t g = h->gid[j];
            int64_t o = (*offs)[g], l = (*offs)[g + 1] - o;
            if ((size_t)l == klen && !memcmp(keys->data + o, key, klen)) {
                *isnew = false;
                return g;
            }
        }
        j = (j + 1) & (h->cap - 1);
    }
    *isnew = true;
    return ht_insert(h, j, hv, key, klen, keys, offs, n, cap);
}

void agg_key_encode(qv_str *k, const vec *v, int row) {
    if (vec_null(v, row)) {
        qv_str_appendc(k, 1);
        return;
    }
    qv_str_appendc(k, 0);
    switch (type_pc(v->type)) {
    case PC_I: qv_str_append(k, &v->i[row], 8); break;
    case PC_F: {
        uint64_t d = dbl_key_bits(v->f[row]); /* -0.0 and 0.0 are one group, every NaN one */
        qv_str_append(k, &d, 8);
        break;
    }
    case PC_S:
        qv_str_append(k, &v->s[row].n, 4);
        qv_str_append(k, v->s[row].p, (size_t)v->s[row].n);
        break;
    }
}

const char *agg_key_decode(const char *p, vec *v, int row) {
    if (*p++) {
        vec_set_null(v, row);
        if (type_pc(v->type) == PC_S) v->s[row] = (sv){"", 0};
        return p;
    }
    switch (type_pc(v->type)) {
    case PC_I: memcpy(&v->i[row], p, 8); return p + 8;
    case PC_F: memcpy(&v->f[row], p, 8); return p + 8;
    case PC_S: {
        int32_t n;
        memcpy(&n, p, 4);
        v->s[row] = (sv){p + 4, n}; /* points into keybuf, which outlives the chunk */
        return p + 4 + n;
    }
    }
    return p;
}

/* ---- one string key ---- */
/* A string of up to 16 bytes as two words read from it (overlapping, never
   past its end): with the length they determine the string, so comparing a
   row with a group is comparing (n, w0, w1). Longer strings: w0 = w1 = 0. */
typedef struct skey {
    uint64_t w0, w1;
    int32_t n;
} skey;

static inline skey skey_of(const char *p, int32_t n) {
    skey k = {0, 0, n};
    if (n > 16) return k;
    if (n >= 8) {
        k.w0 = load_u64(p);
        k.w1 = load_u64(p + n - 8);
    } else if (n >= 4) {
        k.w0 = load_u32(p);
        k.w1 = load_u32(p + n - 4);
    } else if (n) {
        k.w0 = ((uint64_t)(uint8_t)p[0] << 16) | ((uint64_t)(uint8_t)p[n >> 1] << 8) | (uint8_t)p[n - 1];
    }
    return k;
}

/* Folded by one 64x64->128 multiply; long strings hash_bytes. */
static inline uint64_t skey_hash(const skey *k, const char *p) {
    if (k->n > 16) return hash_bytes(p, (size_t)k->n, 0x51);
    unsigned __int128 r = (unsigned __int128)(k->w0 ^ 0x9E3779B97F4A7C15ULL) *
                          (k->w1 ^ ((uint64_t)k->n * 0xC2B2AE3D27D4EB4FULL) ^ 0x165667B19E3779F9ULL);
    uint64_t h = (uint64_t)r ^ (uint64_t)(r >> 64);
    return h ^ (h >> 29);
}

#define NULL_HASH 0x6a09e667f3bcc908ULL

static void gs_put(agg_op *a, int32_t g, skey k) {
    if (g >= a->ngs) {
        a->ngs = a->ngs ? a->ngs * 2 : 64;
        a->gs = qv_xrealloc(a->gs, sizeof(skey) * (size_t)a->ngs);
    }
    ((skey *)a->gs)[g] = k;
}

/* A new string group (str1 tables): its encoded key, and its skey in a->gs. */
static __attribute__((noinline)) int32_t str_insert(agg_op *a, int64_t j, const skey *sk, const char *p, uint64_t h) {
    int32_t n = sk->n;
    size_t kl = 5 + (size_t)n;
    char *key = qv_xmalloc(kl);
    key[0] = 0;
    memcpy(key + 1, &n, 4);
    memcpy(key + 5, p, (size_t)n);
    int32_t g = ht_insert(&a->ht, j, h, key, kl, &a->keybuf, &a->keyoff, &a->ngroups, &a->kcap);
    free(key);
    gs_put(a, g, *sk);
    return g;
}

/* Group of string p (str1 tables). */
static inline int32_t str_group(agg_op *a, const char *p, const skey *sk, uint64_t h) {
    htab *t = &a->ht;
    if (t->n * 2 >= t->cap) ht_grow(t);
    const skey *gs = a->gs;
    int64_t mask = t->cap - 1, j = (int64_t)(h & (uint64_t)mask);
    for (; t->gid[j] >= 0; j = (j + 1) & mask) {
        if (t->hash[j] != h) continue;
        int32_t g = t->gid[j];
        const skey *q = &gs[g];
        if (q->n != sk->n || q->w0 != sk->w0 || q->w1 != sk->w1) continue;
        if (sk->n <= 16 || !memcmp(a->keybuf.data + a->keyoff[g] + 5, p, (size_t)sk->n)) return g;
    }
    return str_insert(a, j, sk, p, h);
}

static int32_t null_group(agg_op *a) {
    if (a->null_gid < 0) {
        bool isnew;
        char k = 1;
        a->null_gid = agg_ht_find(&a->ht, NULL_HASH, &k, 1, &a->keybuf, &a->keyoff, &a->ngroups, &a->kcap, &isnew);
        gs_put(a, a->null_gid, (skey){0, 0, -1}); /* matches no string */
    }
    return a->null_gid;
}

static inline int32_t str_group1(agg_op *a, const char *p, int32_t n) {
    skey k = skey_of(p, n);
    return str_group(a, p, &k, skey_hash(&k, p));
}

void agg_group_strs(agg_op *a, const vec *v, int m, int32_t *gids) {
    const sv *s = v->s;
    if (!v->has_nulls) {
        for (int k = 0; k < m; k++) gids[k] = str_group1(a, s[k].p, s[k].n);
        return;
    }
    for (int k = 0; k < m; k++) gids[k] = v->nulls[k] ? null_group(a) : str_group1(a, s[k].p, s[k].n);
}

int32_t agg_group_of_key(agg_op *a, const char *key, size_t klen) {
    if (a->str1) {
        if (key[0]) return null_group(a);
        int32_t n;
        memcpy(&n, key + 1, 4);
        return str_group1(a, key + 5, n);
    }
    bool isnew;
    return agg_ht_find(&a->ht, hash_bytes(key, klen, 0), key, klen, &a->keybuf, &a->keyoff, &a->ngroups, &a->kcap, &isnew);
}

void agg_group_rows(agg_op *a, const vec *const *kp, int m, int32_t *gids, qv_str *key) {
    if (a->str1) {
        agg_group_strs(a, kp[0], m, gids);
        return;
    }
    for (int k = 0; k < m; k++) {
        key->len = 0;
        for (int i = 0; i < a->nkeys; i++) agg_key_encode(key, kp[i], k);
        gids[k] = agg_group_of_key(a, key->data, key->len);
    }
}

void agg_group_codes(agg_op *a, const chunk *c, int32_t *gids) {
    const vec *v = &c->cols[a->keys[0]->col];
    if (v->dict->values != a->code_dict || a->ncode_gid < v->dict->length) {
        int64_t from = v->dict->values != a->code_dict ? 0 : a->ncode_gid;
        int64_t n = v->dict->length > a->ncode_gid ? v->dict->length : a->ncode_gid;
        a->code_gid = qv_xrealloc(a->code_gid, sizeof(int32_t) * (size_t)(n ? n : 1));
        memset(a->code_gid + from, 0xff, sizeof(int32_t) * (size_t)(n - from));
        a->ncode_gid = n;
        if (a->code_dict != v->dict->values) {
            qv_buffer_unref(a->code_dict);
            a->code_dict = qv_buffer_ref(v->dict->values);
        }
    }
    int m = chunk_active(c);
    int32_t *cg = a->code_gid;
    for (int k = 0; k < m; k++) {
        int r = chunk_row(c, k);
        if (vec_null(v, r)) {
            gids[k] = null_group(a);
            continue;
        }
        int32_t code = v->codes[r];
        if (cg[code] < 0) {
            sv str = vec_sym_str(v, r);
            cg[code] = str_group1(a, str.p, str.n);
        }
        gids[k] = cg[code];
    }
}
