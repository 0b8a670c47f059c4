/* Hash aggregation. Group keys are encoded into byte strings (null flag +
   fixed 8 bytes, or length + bytes for strings) kept in one growing buffer;
   an open-addressing table maps key hashes to dense group ids; aggregate
   states are arrays indexed by group id. The operator consumes its whole
   input on the first next(), then emits groups in first-seen order. */
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct htab {
    uint64_t *hash;
    int32_t *gid;   /* -1 empty */
    int64_t cap, n;
} htab;

typedef struct agg_op {
    op base;
    op *child;
    int nkeys, naggs;
    bexpr **keys;
    agg_spec *aggs;
    htab ht;
    qv_str keybuf;          /* all group keys, back to back */
    int64_t *keyoff;        /* per group: offset in keybuf; keyoff[ngroups] = end */
    int64_t ngroups, gcap, kcap;
    int64_t tab_charged;    /* hash table and key offsets already charged */
    char **st;              /* per aggregate: states by group (agg_defs[fn]->state_size bytes each) */
    htab *dht;              /* per DISTINCT aggregate: seen (group, value) */
    qv_str *dkeys;
    int64_t **dkeyoff;
    int64_t *dn, *dcap;
    bool consumed;
    int64_t emitted;
    int64_t charged;
    chunk out;
    char *strings;          /* min/max/first/last strings live in here */
    int32_t *code_gid;      /* one SYMBOL key: group of each dictionary code, -1 unseen */
    int64_t ncode_gid;
    qv_buffer *code_dict;   /* the dictionary buffer code_gid belongs to (a ref: a freed one's address may come back) */
    struct agg_op **parts;  /* parallel: partial aggregations, in table order */
    int nparts;
} agg_op;

static void ht_init(htab *h) {
    h->cap = 1024;
    h->n = 0;
    h->hash = qv_xmalloc(sizeof(uint64_t) * (size_t)h->cap);
    h->gid = qv_xmalloc(sizeof(int32_t) * (size_t)h->cap);
    memset(h->gid, 0xff, sizeof(int32_t) * (size_t)h->cap);
}
static void ht_free(htab *h) {
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
    ht_free(h);
    *h = nh;
}

/* Find or insert key; *isnew set when inserted. keys/offs hold the stored keys. */
static int32_t ht_find(htab *h, uint64_t hv, const char *key, size_t klen, qv_str *keys, int64_t **offs,
                       int64_t *n, int64_t *cap, bool *isnew) {
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
    if (*n + 2 > *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *offs = qv_xrealloc(*offs, sizeof(int64_t) * (size_t)*cap);
        if (*n == 0) (*offs)[0] = 0;
    }
    int32_t g = (int32_t)*n;
    if (*n == 0) (*offs)[0] = (int64_t)keys->len;
    qv_str_append(keys, key, klen);
    (*offs)[g + 1] = (int64_t)keys->len;
    (*n)++;
    h->gid[j] = g;
    h->hash[j] = hv;
    h->n++;
    *isnew = true;
    return g;
}

static void encode(qv_str *k, const vec *v, int row) {
    if (vec_null(v, row)) {
        qv_str_appendc(k, 1);
        return;
    }
    qv_str_appendc(k, 0);
    switch (type_pc(v->type)) {
    case PC_I: qv_str_append(k, &v->i[row], 8); break;
    case PC_F: {
        double d = v->f[row];
        if (d == 0) d = 0; /* -0.0 and 0.0 are one group */
        if (isnan(d)) d = NAN;
        qv_str_append(k, &d, 8);
        break;
    }
    case PC_S:
        qv_str_append(k, &v->s[row].n, 4);
        qv_str_append(k, v->s[row].p, (size_t)v->s[row].n);
        break;
    }
}

static const char *decode(const char *p, vec *v, int row) {
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

static size_t state_size(const agg_op *a, int i) { return agg_defs[a->aggs[i].fn]->state_size; }
static void *state_at(const agg_op *a, int i, int64_t g) { return a->st[i] + (size_t)g * state_size(a, i); }

static int grow_states(agg_op *a, qv_err *err) {
    if (a->ngroups <= a->gcap) return 0;
    int64_t nc = a->gcap ? a->gcap * 2 : 1024;
    while (nc < a->ngroups) nc *= 2;
    size_t per = 32;
    for (int i = 0; i < a->naggs; i++) per += state_size(a, i);
    int64_t add = (nc - a->gcap) * (int64_t)per;
    a->charged += add;
    if (qstate_charge(a->base.qs, add, err)) return err->code;
    for (int i = 0; i < a->naggs; i++) {
        size_t sz = state_size(a, i);
        a->st[i] = qv_xrealloc(a->st[i], sz * (size_t)nc);
        memset(a->st[i] + sz * (size_t)a->gcap, 0, sz * (size_t)(nc - a->gcap));
    }
    a->gcap = nc;
    return 0;
}

static agg_ctx ctx_of(agg_op *a, qv_err *err) {
    agg_ctx c = {a->base.qs, &a->charged, &a->strings, err};
    return c;
}

/* One input row into one group's state: NULL arguments skip the row unless
   the aggregate wants to see them (first/last). */
static int update(agg_op *a, int ai, void *st, const vec *const *in, int k, qv_err *err) {
    const agg_spec *sp = &a->aggs[ai];
    const agg_def *d = agg_defs[sp->fn];
    if (d->nulls == AGN_SKIP)
        for (int j = 0; j < sp->nin - sp->norder; j++)
            if (vec_null(in[j], k)) return 0;
    agg_ctx c = ctx_of(a, err);
    return d->update(&c, sp, st, in, k);
}

/* Groups of one SYMBOL key read as dictionary codes: each code is looked up
   in the hash table once per dictionary, not once per row. */
static void group_codes(agg_op *a, const chunk *c, int32_t *gids, qv_str *key) {
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
    for (int k = 0; k < m; k++) {
        int r = chunk_row(c, k);
        bool isnull = vec_null(v, r);
        int32_t code = isnull ? -1 : v->codes[r];
        if (!isnull && a->code_gid[code] >= 0) {
            gids[k] = a->code_gid[code];
            continue;
        }
        /* same key bytes as encode() */
        key->len = 0;
        qv_str_appendc(key, isnull ? 1 : 0);
        if (!isnull) {
            sv str = vec_sym_str(v, r);
            qv_str_append(key, &str.n, 4);
            qv_str_append(key, str.p, (size_t)str.n);
        }
        bool isnew;
        gids[k] = ht_find(&a->ht, hash_bytes(key->data, key->len, 0), key->data, key->len, &a->keybuf, &a->keyoff,
                          &a->ngroups, &a->kcap, &isnew);
        if (!isnull) a->code_gid[code] = gids[k];
    }
}

static int consume(agg_op *a, qv_err *err) {
    vec *kv = qv_xcalloc((size_t)(a->nkeys ? a->nkeys : 1), sizeof(vec));
    int nav = (a->naggs ? a->naggs : 1) * AGG_MAXIN;
    vec *av = qv_xcalloc((size_t)nav, sizeof(vec)); /* per aggregate: AGG_MAXIN inputs */
    int32_t *gids = qv_xmalloc(sizeof(int32_t) * CHUNK);
    const vec **kp = qv_xcalloc((size_t)(a->nkeys ? a->nkeys : 1), sizeof(vec *));
    const vec **ap = qv_xcalloc((size_t)nav, sizeof(vec *));
    qv_str key;
    qv_str_init(&key);
    int rc = 0;
    if (a->nkeys == 0) {
        a->ngroups = 1;
        if ((rc = grow_states(a, err))) goto out;
    }
    for (;;) {
        chunk *c;
        if ((rc = a->child->next(a->child, &c, err))) break;
        if (!c) break;
        if ((rc = qstate_check(a->base.qs, err))) break;
        int m = chunk_active(c);
        /* plain columns of a chunk without a selection are used in place */
        bool by_code = a->nkeys == 1 && a->keys[0]->kind == B_COL && c->cols[a->keys[0]->col].codes;
        for (int i = 0; i < a->nkeys && !rc && !by_code; i++) {
            if (a->keys[i]->kind == B_COL && !c->has_sel && !c->cols[a->keys[i]->col].codes) kp[i] = &c->cols[a->keys[i]->col];
            else {
                rc = expr_eval(a->keys[i], c, &kv[i], err);
                kp[i] = &kv[i];
            }
        }
        for (int i = 0; i < a->naggs && !rc; i++)
            for (int j = 0; j < a->aggs[i].nin && !rc; j++) {
                const bexpr *x = a->aggs[i].in[j];
                int q = i * AGG_MAXIN + j;
                if (x->kind == B_COL && !c->has_sel && !c->cols[x->col].codes) ap[q] = &c->cols[x->col];
                else {
                    rc = expr_eval(x, c, &av[q], err);
                    ap[q] = &av[q];
                }
            }
        if (rc) break;
        if (a->nkeys) {
            size_t before = a->keybuf.len;
            /* One string key: rows whose value is the same string view (e.g. a
               SYMBOL dictionary entry) reuse the group found for it in this chunk. */
            struct { const char *p; int32_t n, gid; } cache[64];
            bool use_cache = !by_code && a->nkeys == 1 && type_pc(kp[0]->type) == PC_S;
            if (use_cache) memset(cache, 0, sizeof cache);
            if (by_code) group_codes(a, c, gids, &key);
            for (int k = 0; k < m && !by_code; k++) {
                int slot = 0;
                if (use_cache && !vec_null(kp[0], k)) {
                    sv s = kp[0]->s[k];
                    slot = (int)((((uint64_t)(uintptr_t)s.p + (uint64_t)s.n) * 0x9E3779B97F4A7C15ULL) >> 58);
                    if (cache[slot].p == s.p && cache[slot].n == s.n && s.p) {
                        gids[k] = cache[slot].gid;
                        continue;
                    }
                }
                key.len = 0;
                for (int i = 0; i < a->nkeys; i++) encode(&key, kp[i], k);
                bool isnew;
                uint64_t hv = hash_bytes(key.data, key.len, 0);
                gids[k] = ht_find(&a->ht, hv, key.data, key.len, &a->keybuf, &a->keyoff, &a->ngroups, &a->kcap, &isnew);
                (void)isnew;
                if (use_cache && !vec_null(kp[0], k)) {
                    cache[slot].p = kp[0]->s[k].p;
                    cache[slot].n = kp[0]->s[k].n;
                    cache[slot].gid = gids[k];
                }
            }
            /* new key bytes, key offsets and hash table growth */
            int64_t add = (int64_t)(a->keybuf.len - before);
            int64_t tab = a->ht.cap * (int64_t)(sizeof(uint64_t) + sizeof(int32_t)) + a->kcap * (int64_t)sizeof(int64_t);
            if (tab > a->tab_charged) {
                add += tab - a->tab_charged;
                a->tab_charged = tab;
            }
            a->charged += add;
            if ((rc = qstate_charge(a->base.qs, add, err))) break;
        } else {
            memset(gids, 0, sizeof(int32_t) * (size_t)m);
        }
        if ((rc = grow_states(a, err))) break;
        for (int i = 0; i < a->naggs && !rc; i++) {
            const vec *const *in = &ap[i * AGG_MAXIN];
            size_t sz = state_size(a, i);
            if (a->aggs[i].distinct) {
                for (int k = 0; k < m && !rc; k++) {
                    if (vec_null(in[0], k)) continue;
                    key.len = 0;
                    qv_str_append(&key, &gids[k], 4);
                    encode(&key, in[0], k);
                    bool isnew;
                    uint64_t hv = hash_bytes(key.data, key.len, 7);
                    size_t before = a->dkeys[i].len;
                    ht_find(&a->dht[i], hv, key.data, key.len, &a->dkeys[i], &a->dkeyoff[i], &a->dn[i], &a->dcap[i], &isnew);
                    if (isnew) {
                        int64_t add = (int64_t)(a->dkeys[i].len - before) + 24;
                        a->charged += add;
                        if ((rc = qstate_charge(a->base.qs, add, err))) break;
                        rc = update(a, i, state_at(a, i, gids[k]), in, k, err);
                    }
                }
            } else {
                agg_spec *sp = &a->aggs[i];
                const vec *v = in[0];
                bool nn = !v || !v->has_nulls;
                agg_state *st = (agg_state *)a->st[i]; /* count/sum/avg keep agg_state */
                /* tight loops for the common aggregates; everything else row by row */
                if (sp->fn == AG_COUNT_STAR) {
                    for (int k = 0; k < m; k++) st[gids[k]].cnt++;
                } else if (sp->fn == AG_COUNT) {
                    for (int k = 0; k < m; k++) st[gids[k]].cnt += nn || !v->nulls[k];
                } else if ((sp->fn == AG_AVG || (sp->fn == AG_SUM && sp->type == QV_T_FLOAT64)) && nn) {
                    for (int k = 0; k < m; k++) {
                        agg_state *s = &st[gids[k]];
                        s->cnt++;
                        s->fsum += v->f[k];
                    }
                } else if (agg_defs[sp->fn]->update_batch) {
                    agg_ctx ac = ctx_of(a, err);
                    rc = agg_defs[sp->fn]->update_batch(&ac, sp, a->st[i], sz, gids, in, m);
                } else {
                    for (int k = 0; k < m && !rc; k++) rc = update(a, i, a->st[i] + sz * (size_t)gids[k], in, k, err);
                }
            }
        }
        if (rc) break;
    }
out:
    for (int i = 0; i < a->nkeys; i++) vec_free(&kv[i]);
    for (int i = 0; i < nav; i++) vec_free(&av[i]);
    free(kv);
    free(av);
    free(kp);
    free(ap);
    free(gids);
    qv_str_free(&key);
    return rc;
}

typedef struct part_job {
    agg_op *a;
    int rc;
    qv_err err;
} part_job;

static void part_run(void *arg) {
    part_job *j = arg;
    j->rc = consume(j->a, &j->err);
}

static int merge_state(agg_op *a, int i, void *d, void *src, qv_err *err) {
    agg_ctx c = ctx_of(a, err);
    return agg_defs[a->aggs[i].fn]->merge(&c, &a->aggs[i], d, src);
}

static int consume_parallel(agg_op *a, qv_err *err) {
    part_job *jobs = qv_xcalloc((size_t)a->nparts, sizeof(part_job));
    void **args = qv_xcalloc((size_t)a->nparts, sizeof(void *));
    for (int i = 0; i < a->nparts; i++) {
        jobs[i].a = a->parts[i];
        args[i] = &jobs[i];
    }
    sql_pool_run(a->base.qs->ctx->pool, a->nparts, part_run, args, 0);
    int rc = 0;
    for (int i = 0; i < a->nparts && !rc; i++)
        if (jobs[i].rc) {
            *err = jobs[i].err;
            rc = jobs[i].rc;
        }
    if (!rc && a->nkeys == 0) {
        a->ngroups = 1;
        rc = grow_states(a, err);
    }
    for (int p = 0; p < a->nparts && !rc; p++) {
        agg_op *pa = a->parts[p];
        for (int64_t g = 0; g < pa->ngroups && !rc; g++) {
            int32_t gid = 0;
            if (a->nkeys) {
                const char *k = pa->keybuf.data + pa->keyoff[g];
                size_t kl = (size_t)(pa->keyoff[g + 1] - pa->keyoff[g]);
                bool isnew;
                size_t before = a->keybuf.len;
                gid = ht_find(&a->ht, hash_bytes(k, kl, 0), k, kl, &a->keybuf, &a->keyoff, &a->ngroups, &a->kcap, &isnew);
                a->charged += (int64_t)(a->keybuf.len - before);
                if ((rc = qstate_charge(a->base.qs, (int64_t)(a->keybuf.len - before), err))) break;
                if ((rc = grow_states(a, err))) break;
            }
            for (int i = 0; i < a->naggs && !rc; i++) rc = merge_state(a, i, state_at(a, i, gid), state_at(pa, i, g), err);
        }
    }
    free(jobs);
    free(args);
    return rc;
}

static int agg_next(op *o, chunk **out, qv_err *err) {
    agg_op *a = (agg_op *)o;
    if (!a->consumed) {
        if (a->nparts ? consume_parallel(a, err) : consume(a, err)) return err->code;
        a->consumed = true;
    }
    if (a->emitted >= a->ngroups) { *out = NULL; return 0; }
    if (qstate_check(o->qs, err)) return err->code;
    int n = (int)(a->ngroups - a->emitted < CHUNK ? a->ngroups - a->emitted : CHUNK);
    chunk *c = &a->out;
    for (int i = 0; i < a->nkeys + a->naggs; i++) vec_reset(&c->cols[i], o->types[i], n);
    for (int k = 0; k < n; k++) {
        int64_t g = a->emitted + k;
        if (a->nkeys) {
            const char *p = a->keybuf.data + a->keyoff[g];
            for (int i = 0; i < a->nkeys; i++) p = decode(p, &c->cols[i], k);
        }
        for (int i = 0; i < a->naggs; i++) {
            vec *v = &c->cols[a->nkeys + i];
            if (type_pc(a->aggs[i].type) == PC_S) v->s[k] = (sv){"", 0};
            agg_ctx ac = ctx_of(a, err);
            if (agg_defs[a->aggs[i].fn]->finalize(&ac, &a->aggs[i], state_at(a, i, g), v, k)) return err->code;
        }
    }
    a->emitted += n;
    c->n = n;
    c->has_sel = false;
    *out = c;
    return 0;
}

static void agg_free(op *o) {
    agg_op *a = (agg_op *)o;
    op_free(a->child);
    for (int i = 0; i < a->nparts; i++) op_free(&a->parts[i]->base);
    free(a->parts);
    free(a->code_gid);
    qv_buffer_unref(a->code_dict);
    ht_free(&a->ht);
    qv_str_free(&a->keybuf);
    free(a->keyoff);
    for (int i = 0; i < a->naggs; i++) {
        void (*destroy)(void *) = agg_defs[a->aggs[i].fn]->destroy;
        if (destroy && a->st[i])
            for (int64_t g = 0; g < a->gcap; g++) destroy(state_at(a, i, g));
        free(a->st[i]);
        if (a->aggs[i].distinct) {
            ht_free(&a->dht[i]);
            qv_str_free(&a->dkeys[i]);
            free(a->dkeyoff[i]);
        }
    }
    free(a->st);
    free(a->dht);
    free(a->dkeys);
    free(a->dkeyoff);
    free(a->dn);
    free(a->dcap);
    while (a->strings) {
        char *n;
        memcpy(&n, a->strings, sizeof(char *));
        free(a->strings);
        a->strings = n;
    }
    qstate_release(o->qs, a->charged);
    chunk_free(&a->out);
    free(o->types);
    free(a);
}

static void agg_explain(op *o, qv_str *s, int depth) {
    agg_op *a = (agg_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    if (a->nparts) qv_str_appendf(s, "PARALLEL(%d) ", a->nparts);
    qv_str_appendf(s, "HASH_AGGREGATE keys=%d aggregates=[", a->nkeys);
    for (int i = 0; i < a->naggs; i++)
        qv_str_appendf(s, "%s%s%s", i ? ", " : "", agg_defs[a->aggs[i].fn]->name, a->aggs[i].distinct ? "(DISTINCT)" : "");
    qv_str_appendf(s, "]\n");
    op_explain(a->nparts ? &a->parts[0]->base : a->child, s, depth + 1);
}

op *op_agg_new(qstate *qs, op *child, int nkeys, bexpr **keys, int naggs, agg_spec *aggs) {
    agg_op *a = qv_xcalloc(1, sizeof *a);
    a->child = child;
    a->nkeys = nkeys;
    a->keys = keys;
    a->naggs = naggs;
    a->aggs = aggs;
    ht_init(&a->ht);
    qv_str_init(&a->keybuf);
    a->st = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(char *));
    a->dht = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(htab));
    a->dkeys = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(qv_str));
    a->dkeyoff = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(int64_t *));
    a->dn = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(int64_t));
    a->dcap = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(int64_t));
    for (int i = 0; i < naggs; i++)
        if (aggs[i].distinct) ht_init(&a->dht[i]);
    int n = nkeys + naggs;
    a->base.types = qv_xcalloc((size_t)(n ? n : 1), sizeof(qv_type));
    for (int i = 0; i < nkeys; i++) a->base.types[i] = keys[i]->type;
    for (int i = 0; i < naggs; i++) a->base.types[nkeys + i] = aggs[i].type;
    chunk_init(&a->out, n, a->base.types);
    a->base.name = "aggregate";
    a->base.ncols = n;
    a->base.next = agg_next;
    a->base.free = agg_free;
    a->base.explain = agg_explain;
    a->base.qs = qs;
    return &a->base;
}

op *op_agg_parallel_new(qstate *qs, op **parts, int nparts, int nkeys, bexpr **keys, int naggs, agg_spec *aggs) {
    op *o = op_agg_new(qs, NULL, nkeys, keys, naggs, aggs);
    agg_op *a = (agg_op *)o;
    a->parts = qv_xmalloc(sizeof(agg_op *) * (size_t)nparts);
    for (int i = 0; i < nparts; i++) a->parts[i] = (agg_op *)parts[i];
    a->nparts = nparts;
    return o;
}
