/* Partition ids by hashing PARTITION BY keys (a SYMBOL column maps each
   dictionary code once), and the stable sort of a partition's rows. The
   parter owns its key copies and tables; freed with win_parter_free. */
#include "window.h"

#include <stdlib.h>
#include <string.h>

void win_parter_init(win_parter *pt, int nkeys, bexpr **keys) {
    memset(pt, 0, sizeof *pt);
    pt->nkeys = nkeys;
    pt->types = qv_xcalloc((size_t)(nkeys + 1), sizeof(qv_type));
    pt->tmp = qv_xcalloc((size_t)(nkeys + 1), sizeof(vec));
    for (int i = 0; i < nkeys; i++) {
        pt->types[i] = keys[i]->type;
        vec_init(&pt->tmp[i], keys[i]->type);
    }
    pt->null_pid = -1;
    memset(pt->scache, 0xff, sizeof pt->scache);
}

void win_parter_free(win_parter *pt) {
    for (int i = 0; i < pt->nkeys; i++) vec_free(&pt->tmp[i]);
    for (int i = 0; i < pt->nblocks; i++) free(pt->blocks[i]);
    free(pt->blocks);
    free(pt->tmp);
    free(pt->types);
    free(pt->keys);
    free(pt->knull);
    free(pt->khash);
    free(pt->ht);
    free(pt->code_pid);
    memset(pt, 0, sizeof *pt);
}

static uint64_t hash_row(const win_parter *pt, int k) {
    uint64_t h = 0x12345;
    for (int j = 0; j < pt->nkeys; j++) {
        const vec *v = &pt->tmp[j];
        uint64_t x;
        if (vec_null(v, k)) x = 0x9e3779b97f4a7c15ULL;
        else if (type_pc(pt->types[j]) == PC_I) x = hash_mix64((uint64_t)v->i[k]);
        else if (type_pc(pt->types[j]) == PC_F) x = hash_mix64(dbl_key_bits(v->f[k]));
        else x = hash_bytes(v->s[k].p, (size_t)v->s[k].n, 7);
        h = hash_mix64(h ^ x) + (uint64_t)j;
    }
    return h;
}

static bool row_eq(const win_parter *pt, int32_t pid, int k) {
    for (int j = 0; j < pt->nkeys; j++) {
        const vec *v = &pt->tmp[j];
        bool n1 = pt->knull[(size_t)pid * pt->nkeys + j], n2 = vec_null(v, k);
        if (n1 || n2) {
            if (n1 != n2) return false;
            continue;
        }
        const value *kv = &pt->keys[(size_t)pid * pt->nkeys + j];
        switch (type_pc(pt->types[j])) {
        case PC_I: if (kv->i != v->i[k]) return false; break;
        case PC_F: if (!dbl_eq(kv->f, v->f[k])) return false; break;
        case PC_S:
            if (kv->s.n != v->s[k].n || (kv->s.n && memcmp(kv->s.p, v->s[k].p, (size_t)kv->s.n))) return false;
            break;
        }
    }
    return true;
}

static void ht_grow(win_parter *pt) {
    int nc = pt->htcap ? pt->htcap * 2 : 64;
    free(pt->ht);
    pt->ht = qv_xmalloc(sizeof(int32_t) * (size_t)nc);
    memset(pt->ht, 0xff, sizeof(int32_t) * (size_t)nc);
    pt->htcap = nc;
    for (int p = 0; p < pt->nparts; p++) {
        size_t i = pt->khash[p] & (size_t)(nc - 1);
        while (pt->ht[i] >= 0) i = (i + 1) & (size_t)(nc - 1);
        pt->ht[i] = p;
    }
}

static int32_t add_part(win_parter *pt, int k, uint64_t h) {
    if (pt->nparts == pt->cap) {
        pt->cap = pt->cap ? pt->cap * 2 : 16;
        pt->keys = qv_xrealloc(pt->keys, sizeof(value) * (size_t)pt->cap * (size_t)(pt->nkeys ? pt->nkeys : 1));
        pt->knull = qv_xrealloc(pt->knull, (size_t)pt->cap * (size_t)(pt->nkeys ? pt->nkeys : 1));
        pt->khash = qv_xrealloc(pt->khash, sizeof(uint64_t) * (size_t)pt->cap);
    }
    int32_t pid = pt->nparts++;
    for (int j = 0; j < pt->nkeys; j++) {
        const vec *v = &pt->tmp[j];
        value *kv = &pt->keys[(size_t)pid * pt->nkeys + j];
        memset(kv, 0, sizeof *kv);
        pt->knull[(size_t)pid * pt->nkeys + j] = vec_null(v, k);
        if (vec_null(v, k)) continue;
        switch (type_pc(pt->types[j])) {
        case PC_I: kv->i = v->i[k]; break;
        case PC_F: kv->f = v->f[k]; break;
        case PC_S: {
            char *c = qv_xmalloc((size_t)v->s[k].n + 1);
            memcpy(c, v->s[k].p, (size_t)v->s[k].n);
            pt->blocks = qv_xrealloc(pt->blocks, sizeof(char *) * (size_t)(pt->nblocks + 1));
            pt->blocks[pt->nblocks++] = c;
            kv->s = (sv){c, v->s[k].n};
            break;
        }
        }
    }
    pt->khash[pid] = h;
    if ((int64_t)pt->nparts * 2 > pt->htcap) ht_grow(pt);
    else {
        size_t i = h & (size_t)(pt->htcap - 1);
        while (pt->ht[i] >= 0) i = (i + 1) & (size_t)(pt->htcap - 1);
        pt->ht[i] = pid;
    }
    return pid;
}

static int32_t lookup(win_parter *pt, int k) {
    uint64_t h = hash_row(pt, k);
    if (pt->htcap) {
        size_t i = h & (size_t)(pt->htcap - 1);
        while (pt->ht[i] >= 0) {
            int32_t p = pt->ht[i];
            if (pt->khash[p] == h && row_eq(pt, p, k)) return p;
            i = (i + 1) & (size_t)(pt->htcap - 1);
        }
    }
    return add_part(pt, k, h);
}

int win_parter_assign(win_parter *pt, bexpr **keys, const chunk *c, int32_t *pid, qv_err *err) {
    int m = chunk_active(c);
    if (!pt->nkeys) {
        memset(pid, 0, sizeof(int32_t) * (size_t)m);
        if (!pt->nparts) pt->nparts = 1;
        return 0;
    }
    const vec *src = pt->nkeys == 1 && keys[0]->kind == B_COL ? &c->cols[keys[0]->col] : NULL;
    bool codes = src && src->codes && src->dict;
    for (int j = 0; j < pt->nkeys; j++)
        if (expr_eval(keys[j], c, &pt->tmp[j], err)) return err->code;
    if (codes) { /* each dictionary code is looked up once */
        if (src->dict->values != pt->code_dict || pt->ncode < src->dict->length) {
            int64_t from = src->dict->values != pt->code_dict ? 0 : pt->ncode;
            int64_t n = src->dict->length;
            pt->code_pid = qv_xrealloc(pt->code_pid, sizeof(int32_t) * (size_t)(n ? n : 1));
            memset(pt->code_pid + from, 0xff, sizeof(int32_t) * (size_t)(n - from));
            pt->ncode = n;
            pt->code_dict = src->dict->values;
        }
        for (int k = 0; k < m; k++) {
            int r = chunk_row(c, k);
            if (vec_null(src, r)) {
                if (pt->null_pid < 0) pt->null_pid = lookup(pt, k);
                pid[k] = pt->null_pid;
                continue;
            }
            int32_t code = src->codes[r];
            if (code < 0 || code >= pt->ncode) { pid[k] = lookup(pt, k); continue; }
            if (pt->code_pid[code] < 0) pt->code_pid[code] = lookup(pt, k);
            pid[k] = pt->code_pid[code];
        }
        return 0;
    }
    if (pt->nkeys == 1 && type_pc(pt->types[0]) == PC_S) { /* one string key: a small cache by prefix first */
        const vec *v = &pt->tmp[0];
        for (int k = 0; k < m; k++) {
            if (vec_null(v, k)) { pid[k] = lookup(pt, k); continue; }
            sv s = v->s[k];
            uint64_t w = (uint64_t)s.n;
            memcpy(&w, s.p, s.n < 8 ? (size_t)s.n : 8);
            w ^= (uint64_t)s.n << 56;
            int slot = (int)(hash_mix64(w) & (WIN_SCACHE - 1));
            int32_t c = pt->scache[slot];
            if (c >= 0) {
                const sv *ks = &pt->keys[c].s;
                if (!pt->knull[c] && ks->n == s.n && !memcmp(ks->p, s.p, (size_t)s.n)) { pid[k] = c; continue; }
            }
            pid[k] = pt->scache[slot] = lookup(pt, k);
        }
        return 0;
    }
    for (int k = 0; k < m; k++) pid[k] = lookup(pt, k);
    return 0;
}

int win_rows_cmp(const vec *keys, int n, const bool *desc, const bool *nulls_first, int32_t a, int32_t b) {
    for (int j = 0; j < n; j++) {
        const vec *v = &keys[j];
        bool na = vec_null(v, a), nb = vec_null(v, b);
        if (na || nb) {
            if (na && nb) continue;
            int r = na ? 1 : -1;
            return nulls_first[j] ? -r : r;
        }
        int c = 0;
        switch (type_pc(v->type)) {
        case PC_I: c = v->i[a] < v->i[b] ? -1 : v->i[a] > v->i[b]; break;
        case PC_F: c = dbl_cmp(v->f[a], v->f[b]); break;
        case PC_S: {
            value x = {.s = v->s[a]}, y = {.s = v->s[b]};
            c = value_cmp(PC_S, &x, &y);
            break;
        }
        }
        if (c) return desc[j] ? -c : c;
    }
    return 0;
}

typedef struct sort_ctx {
    const vec *keys;
    int nk;
    const bool *desc, *nf;
} sort_ctx;

static void msort(int32_t *a, int32_t *t, int64_t n, const sort_ctx *s) {
    if (n < 2) return;
    if (n <= 16) { /* insertion sort */
        for (int64_t i = 1; i < n; i++) {
            int32_t x = a[i];
            int64_t j = i;
            while (j > 0 && win_rows_cmp(s->keys, s->nk, s->desc, s->nf, a[j - 1], x) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    int64_t h = n / 2;
    msort(a, t, h, s);
    msort(a + h, t + h, n - h, s);
    if (win_rows_cmp(s->keys, s->nk, s->desc, s->nf, a[h - 1], a[h]) <= 0) return;
    memcpy(t, a, sizeof(int32_t) * (size_t)n);
    int64_t i = 0, j = h, k = 0;
    while (i < h && j < n) a[k++] = win_rows_cmp(s->keys, s->nk, s->desc, s->nf, t[j], t[i]) < 0 ? t[j++] : t[i++];
    while (i < h) a[k++] = t[i++];
    while (j < n) a[k++] = t[j++];
}

void win_rows_sort(int32_t *rows, int64_t n, int32_t *tmp, const vec *keys, int nk, const bool *desc,
                   const bool *nulls_first) {
    if (!nk || n < 2) return;
    bool asc = true, dsc = true;
    if (nk == 1 && type_pc(keys[0].type) == PC_I && !keys[0].has_nulls) { /* one integer key: a tight check */
        const int64_t *k = keys[0].i;
        bool d = desc[0];
        for (int64_t i = 1; i < n && asc; i++) asc = d ? k[rows[i - 1]] >= k[rows[i]] : k[rows[i - 1]] <= k[rows[i]];
        if (asc) return;
    }
    for (int64_t i = 1; i < n && (asc || dsc); i++) {
        int c = win_rows_cmp(keys, nk, desc, nulls_first, rows[i - 1], rows[i]);
        if (c > 0) asc = false;
        if (c < 0) dsc = false;
    }
    if (asc) return;
    if (dsc) {
        for (int64_t i = 0, j = n - 1; i < j; i++, j--) {
            int32_t x = rows[i];
            rows[i] = rows[j];
            rows[j] = x;
        }
        for (int64_t i = 0; i < n;) { /* ties back in input order */
            int64_t j = i + 1;
            while (j < n && !win_rows_cmp(keys, nk, desc, nulls_first, rows[i], rows[j])) j++;
            for (int64_t a = i, b = j - 1; a < b; a++, b--) {
                int32_t x = rows[a];
                rows[a] = rows[b];
                rows[b] = x;
            }
            i = j;
        }
        return;
    }
    sort_ctx s = {keys, nk, desc, nulls_first};
    msort(rows, tmp, n, &s);
}
