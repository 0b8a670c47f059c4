/* Hash aggregation: the operator. It consumes its whole input on the first
   next() (or runs one partial aggregation per share of the row groups and
   merges them), then emits groups in first-seen order. Group ids come from
   agg_group.c; aggregate states are arrays indexed by group id, updated per
   chunk by one tight typed loop per aggregate where one exists (count, sum,
   avg, min, max over numbers) and row by row otherwise. */
#include "agg_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Sum of v[0..m) exactly: the low and high 32-bit halves summed apart
   (neither can overflow over a chunk), a loop compilers vectorize. */
static __int128 sum_i64(const int64_t *v, int m) {
    int64_t lo[4] = {0}, hi[4] = {0};
    int k = 0;
    for (; k + 4 <= m; k += 4)
        for (int j = 0; j < 4; j++) {
            lo[j] += v[k + j] & 0xffffffff;
            hi[j] += v[k + j] >> 32;
        }
    for (; k < m; k++) {
        lo[0] += v[k] & 0xffffffff;
        hi[0] += v[k] >> 32;
    }
    __int128 h = (__int128)hi[0] + hi[1] + hi[2] + hi[3];
    return h * ((__int128)1 << 32) + lo[0] + lo[1] + lo[2] + lo[3];
}

/* count/sum/avg as one typed loop over (group id, value): true when handled.
   one: every row is in group 0 (no keys). */
static bool update_fast(agg_op *a, int i, const int32_t *gids, const vec *const *in, int m, bool one) {
    const agg_spec *sp = &a->aggs[i];
    const vec *v = in[0];
    agg_state *st = (agg_state *)a->st[i];
    bool nn = !v || !v->has_nulls;
    const uint8_t *nl = nn ? NULL : v->nulls;
    bool sa = sp->fn == AG_SUM || sp->fn == AG_AVG;
    bool isum = sa && agg_sum_exact(sp), fsum = sa && !isum;
    if (sp->fn == AG_COUNT_STAR || (sp->fn == AG_COUNT && nn)) {
        if (one) st->cnt += m;
        else
            for (int k = 0; k < m; k++) st[gids[k]].cnt++;
    } else if (sp->fn == AG_COUNT) {
        for (int k = 0; k < m; k++) st[one ? 0 : gids[k]].cnt += !nl[k];
    } else if (isum && type_pc(v->type) == PC_I && one && nn) {
        st->cnt += m;
        st->isum += sum_i64(v->i, m);
    } else if (isum && type_pc(v->type) == PC_I) {
        for (int k = 0; k < m; k++) {
            if (nl && nl[k]) continue;
            agg_state *s = &st[one ? 0 : gids[k]];
            s->cnt++;
            s->isum += v->i[k];
        }
    } else if (fsum && type_pc(v->type) == PC_F && one && nn) {
        double acc = st->fsum;
        for (int k = 0; k < m; k++) acc += v->f[k];
        st->fsum = acc;
        st->cnt += m;
    } else if (fsum && type_pc(v->type) == PC_F) {
        for (int k = 0; k < m; k++) {
            if (nl && nl[k]) continue;
            agg_state *s = &st[one ? 0 : gids[k]];
            s->cnt++;
            s->fsum += v->f[k];
        }
    } else {
        return false;
    }
    return true;
}

/* DISTINCT: a row updates its group only the first time its (group, value) is seen. */
static int update_distinct(agg_op *a, int i, const int32_t *gids, const vec *const *in, int m, qv_str *key,
                           qv_err *err) {
    int rc = 0;
    for (int k = 0; k < m && !rc; k++) {
        if (vec_null(in[0], k)) continue;
        key->len = 0;
        qv_str_append(key, &gids[k], 4);
        agg_key_encode(key, in[0], k);
        bool isnew;
        uint64_t hv = hash_bytes(key->data, key->len, 7);
        size_t before = a->dkeys[i].len;
        agg_ht_find(&a->dht[i], hv, key->data, key->len, &a->dkeys[i], &a->dkeyoff[i], &a->dn[i], &a->dcap[i], &isnew);
        if (!isnew) continue;
        int64_t add = (int64_t)(a->dkeys[i].len - before) + 24;
        a->charged += add;
        if ((rc = qstate_charge(a->base.qs, add, err))) break;
        rc = update(a, i, state_at(a, i, gids[k]), in, k, err);
    }
    return rc;
}

static int update_aggs(agg_op *a, const int32_t *gids, const vec *const *ap, int m, qv_str *key, qv_err *err) {
    int rc = 0;
    for (int i = 0; i < a->naggs && !rc; i++) {
        const vec *const *in = &ap[i * AGG_MAXIN];
        size_t sz = state_size(a, i);
        const agg_spec *sp = &a->aggs[i];
        if (sp->distinct) rc = update_distinct(a, i, gids, in, m, key, err);
        else if (update_fast(a, i, gids, in, m, a->nkeys == 0)) {
        } else if (agg_defs[sp->fn]->update_batch) {
            agg_ctx ac = ctx_of(a, err);
            rc = agg_defs[sp->fn]->update_batch(&ac, sp, a->st[i], sz, gids, in, m);
        } else {
            for (int k = 0; k < m && !rc; k++) rc = update(a, i, a->st[i] + sz * (size_t)gids[k], in, k, err);
        }
    }
    return rc;
}

/* The chunk's key and aggregate input vectors: plain columns of a chunk
   without a selection are used in place, everything else evaluated over the
   active rows. by_code: the one key is read as dictionary codes instead. */
static int chunk_inputs(agg_op *a, chunk *c, bool by_code, vec *kv, const vec **kp, vec *av, const vec **ap,
                        qv_err *err) {
    int rc = 0;
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
    return rc;
}

/* Group ids of the chunk's rows, charging new key bytes and table growth. */
static int chunk_groups(agg_op *a, const chunk *c, bool by_code, const vec *const *kp, int32_t *gids, qv_str *key,
                        qv_err *err) {
    size_t before = a->keybuf.len;
    if (by_code) agg_group_codes(a, c, gids);
    else agg_group_rows(a, kp, chunk_active(c), gids, key);
    int64_t add = (int64_t)(a->keybuf.len - before);
    int64_t tab = a->ht.cap * (int64_t)(sizeof(uint64_t) + sizeof(int32_t)) + a->kcap * (int64_t)sizeof(int64_t);
    if (tab > a->tab_charged) {
        add += tab - a->tab_charged;
        a->tab_charged = tab;
    }
    a->charged += add;
    return qstate_charge(a->base.qs, add, err);
}

static int consume(agg_op *a, qv_err *err) {
    vec *kv = qv_xcalloc((size_t)(a->nkeys ? a->nkeys : 1), sizeof(vec));
    int nav = (a->naggs ? a->naggs : 1) * AGG_MAXIN;
    vec *av = qv_xcalloc((size_t)nav, sizeof(vec)); /* per aggregate: AGG_MAXIN inputs */
    int32_t *gids = qv_xcalloc(CHUNK, sizeof(int32_t)); /* all 0 without keys */
    const vec **kp = qv_xcalloc((size_t)(a->nkeys ? a->nkeys : 1), sizeof(vec *));
    const vec **ap = qv_xcalloc((size_t)nav, sizeof(vec *));
    qv_str key;
    qv_str_init(&key);
    int rc = 0;
    if (a->nkeys == 0) {
        a->ngroups = 1;
        rc = grow_states(a, err);
    }
    while (!rc) {
        chunk *c;
        if ((rc = a->child->next(a->child, &c, err)) || !c) break;
        if ((rc = qstate_check(a->base.qs, err))) break;
        bool by_code = a->nkeys == 1 && a->keys[0]->kind == B_COL && c->cols[a->keys[0]->col].codes;
        if ((rc = chunk_inputs(a, c, by_code, kv, kp, av, ap, err))) break;
        if (a->nkeys && (rc = chunk_groups(a, c, by_code, kp, gids, &key, err))) break;
        if ((rc = grow_states(a, err))) break;
        rc = update_aggs(a, gids, ap, chunk_active(c), &key, err);
    }
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
                size_t before = a->keybuf.len;
                gid = agg_group_of_key(a, k, kl);
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
            for (int i = 0; i < a->nkeys; i++) p = agg_key_decode(p, &c->cols[i], k);
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
    free(a->gs);
    qv_buffer_unref(a->code_dict);
    agg_ht_free(&a->ht);
    qv_str_free(&a->keybuf);
    free(a->keyoff);
    for (int i = 0; i < a->naggs; i++) {
        void (*destroy)(void *) = agg_defs[a->aggs[i].fn]->destroy;
        if (destroy && a->st[i])
            for (int64_t g = 0; g < a->gcap; g++) destroy(state_at(a, i, g));
        free(a->st[i]);
        if (a->aggs[i].distinct) {
            agg_ht_free(&a->dht[i]);
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
    a->str1 = nkeys == 1 && type_pc(keys[0]->type) == PC_S;
    a->null_gid = -1;
    agg_ht_init(&a->ht);
    qv_str_init(&a->keybuf);
    a->st = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(char *));
    a->dht = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(htab));
    a->dkeys = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(qv_str));
    a->dkeyoff = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(int64_t *));
    a->dn = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(int64_t));
    a->dcap = qv_xcalloc((size_t)(naggs ? naggs : 1), sizeof(int64_t));
    for (int i = 0; i < naggs; i++)
        if (aggs[i].distinct) agg_ht_init(&a->dht[i]);
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
