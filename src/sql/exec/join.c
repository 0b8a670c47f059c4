/* Hash join. States: not built -> built (build child drained into a column
   store, hash table over its keys) -> probing (one probe chunk at a time:
   pairs collected up to CHUNK, residual applied, then the chunk's tail of
   unmatched or semi/anti rows) -> unmatched build rows (RIGHT/FULL side) ->
   done. The operator owns both children, the store (strings copied into the
   store vectors' heaps) and its output chunks; output strings point into the
   current probe chunk or the store, valid until the next call. Build memory
   is charged to the query. */
#include "hashjoin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct join_op {
    op base;
    op *left, *right, *probe, *build;
    join_spec sp;
    bool probe_left, need_used, unmatched_probe, unmatched_build, semi;
    int nl, nr, nk;
    bexpr **pkeys, **bkeys;
    /* build store */
    vec *bcols, *bk, *tk; /* payload columns, key columns, scratch keys */
    int nbc;
    int64_t bn, *heads;
    struct jent { uint64_t h; int64_t next, k0; } *ent; /* per build row: key hash, next row of its bucket, an integer key */
    bool int1;                                            /* one integer key: compare ent.k0 */
    uint64_t mask;
    uint8_t *bnull, *bused;
    bool built;
    int64_t charged;
    /* probe state */
    chunk *pc;
    vec *pk;
    uint64_t phash[CHUNK];
    int64_t pstart[CHUNK]; /* first build row of each probe row's bucket */
    uint8_t pnull[CHUNK], pmatched[CHUNK];
    int prow;
    int64_t pchain;
    bool pstarted, ptail;
    int phase; /* 0 probing, 1 unmatched build rows, 2 done */
    int64_t ub;
    int pp[CHUNK];
    int64_t pb[CHUNK];
    chunk pairs, out;
    vec tmp;
    /* parallel probing: a clone probes the master's store, read-only once built */
    struct join_op *master;
} join_op;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}


/* Hashes of rows [0, n) of the key vectors; isnull[r] when any key is NULL. */
static void hash_keys(const vec *kv, int nk, int64_t n, uint64_t *h, uint8_t *isnull) {
    for (int64_t r = 0; r < n; r++) {
        h[r] = 0x9e3779b97f4a7c15ULL;
        isnull[r] = 0;
    }
    for (int k = 0; k < nk; k++) {
        const vec *v = &kv[k];
        phys_class pc = type_pc(v->type);
        for (int64_t r = 0; r < n; r++) {
            uint64_t x;
            if (vec_null(v, (int)r) || v->type == T_NULL) {
                isnull[r] = 1;
                x = 0x5bd1e995ULL;
            } else if (pc == PC_I) {
                x = mix64((uint64_t)v->i[r]);
            } else if (pc == PC_F) {
                double d = v->f[r] == 0 ? 0.0 : v->f[r];
                memcpy(&x, &d, sizeof x);
                x = mix64(x);
            } else {
                sv s = vec_str_at(v, r);
                x = hash_bytes(s.p, (size_t)s.n, 0);
            }
            h[r] = mix64(h[r] ^ (x + (uint64_t)k));
        }
    }
}

static bool keys_eq(const join_op *j, int pr, int64_t br) {
    for (int k = 0; k < j->nk; k++) {
        const vec *a = &j->pk[k], *b = &j->bk[k];
        bool na = vec_null(a, pr) || a->type == T_NULL, nb = vec_null(b, (int)br) || b->type == T_NULL;
        if (na || nb) {
            if (!(j->sp.null_eq && na && nb)) return false;
            continue;
        }
        switch (type_pc(a->type)) {
        case PC_I: if (a->i[pr] != b->i[br]) return false; break;
        case PC_F: if (!(a->f[pr] == b->f[br])) return false; break;
        case PC_S: {
            sv x = vec_str_at(a, pr), y = b->s[br];
            if (x.n != y.n || (x.n && memcmp(x.p, y.p, (size_t)x.n))) return false;
            break;
        }
        }
    }
    return true;
}

static inline void null_put(vec *d, int i) {
    vec_set_null(d, i);
    if (type_pc(d->type) == PC_S) d->s[i] = (sv){"", 0};
    else if (type_pc(d->type) == PC_F) d->f[i] = 0;
    else d->i[i] = 0;
}

/* rows[i] of src (a chunk's vector, or the store when rows64) into rows 0..n-1 of dst. */
static void fill_col(vec *d, const vec *src, int n, const int *rows, const int64_t *rows64, const chunk *c) {
    bool nul = src->has_nulls || src->type == T_NULL;
    switch (type_pc(d->type)) {
    case PC_I:
        if (rows64) for (int i = 0; i < n; i++) d->i[i] = src->i[rows64[i]];
        else for (int i = 0; i < n; i++) d->i[i] = src->i[chunk_row(c, rows[i])];
        break;
    case PC_F:
        if (rows64) for (int i = 0; i < n; i++) d->f[i] = src->f[rows64[i]];
        else for (int i = 0; i < n; i++) d->f[i] = src->f[chunk_row(c, rows[i])];
        break;
    case PC_S:
        if (src->codes) {
            for (int i = 0; i < n; i++) {
                int64_t r = rows64 ? rows64[i] : chunk_row(c, rows[i]);
                d->s[i] = vec_null(src, (int)r) ? (sv){"", 0} : vec_sym_str(src, (int)r);
            }
            break;
        }
        if (rows64) for (int i = 0; i < n; i++) d->s[i] = src->s[rows64[i]];
        else for (int i = 0; i < n; i++) d->s[i] = src->s[chunk_row(c, rows[i])];
        break;
    }
    if (!nul) return;
    for (int i = 0; i < n; i++) {
        int64_t r = rows64 ? rows64[i] : chunk_row(c, rows[i]);
        if (src->type == T_NULL || vec_null(src, (int)r)) null_put(d, i);
    }
}

/* Row r of src into row i of an output vector (strings by reference). */
static inline void out_put(vec *dst, int i, const vec *src, int64_t r) {
    if (vec_null(src, (int)r) || src->type == T_NULL) {
        vec_set_null(dst, i);
        if (type_pc(dst->type) == PC_S) dst->s[i] = (sv){"", 0};
        return;
    }
    switch (type_pc(dst->type)) {
    case PC_I: dst->i[i] = src->i[r]; break;
    case PC_F: dst->f[i] = src->f[r]; break;
    case PC_S: dst->s[i] = vec_str_at(src, r); break;
    }
}

static void store_init(vec *v, qv_type t) {
    vec_init(v, t);
    vec_reset(v, t, 16);
    v->n = 0;
}

static int charge(join_op *j, int64_t bytes, qv_err *err) {
    j->charged += bytes;
    if (qstate_charge(j->base.qs, bytes, err))
        return qv_err_set(err, QV_ERESOURCE, "%s: the hash table exceeded the query memory limit of %lld bytes (--query-memory)",
                          j->sp.label ? j->sp.label : "hash join", (long long)j->base.qs->mem_limit);
    return 0;
}

static int build_side(join_op *j, qv_err *err) {
    for (;;) {
        chunk *c;
        if (j->build->next(j->build, &c, err)) return err->code;
        if (!c) break;
        int n = chunk_active(c);
        for (int k = 0; k < j->nk; k++)
            if (expr_eval(j->bkeys[k], c, &j->tk[k], err)) return err->code;
        if (j->bn + n > INT32_MAX - CHUNK)
            return qv_err_set(err, QV_ERESOURCE, "%s: the build side has more than 2^31 rows", j->sp.label);
        int cap = (int)(j->bn + n);
        int64_t bytes = 0;
        for (int c2 = 0; c2 < j->nbc; c2++) vec_grow(&j->bcols[c2], cap);
        for (int k = 0; k < j->nk; k++) vec_grow(&j->bk[k], cap);
        for (int r = 0; r < n; r++) {
            int row = chunk_row(c, r);
            for (int c2 = 0; c2 < j->nbc; c2++) {
                vec_store_row(&j->bcols[c2], j->bn + r, &c->cols[c2], row);
                if (type_pc(j->bcols[c2].type) == PC_S) bytes += j->bcols[c2].s[j->bn + r].n;
            }
            for (int k = 0; k < j->nk; k++) vec_store_row(&j->bk[k], j->bn + r, &j->tk[k], r);
        }
        j->bn += n;
        bytes += (int64_t)n * (9 * (j->nbc + j->nk) + 25);
        if (charge(j, bytes, err)) return err->code;
        if (qstate_check(j->base.qs, err)) return err->code;
    }
    int64_t n = j->bn, size = 16;
    while (size < 2 * n) size *= 2;
    if (charge(j, size * 8, err)) return err->code;
    j->mask = (uint64_t)size - 1;
    uint64_t *bh = qv_xmalloc(sizeof(uint64_t) * (size_t)(n + 1));
    j->bnull = qv_xmalloc((size_t)(n + 1));
    j->ent = qv_xmalloc(sizeof(struct jent) * (size_t)(n + 1));
    j->heads = qv_xmalloc(sizeof(int64_t) * (size_t)size);
    j->bused = qv_xcalloc((size_t)(n + 1), 1);
    memset(j->heads, 0xff, sizeof(int64_t) * (size_t)size);
    hash_keys(j->bk, j->nk, n, bh, j->bnull);
    for (int64_t r = n - 1; r >= 0; r--) {
        j->ent[r].h = bh[r];
        if (j->int1) j->ent[r].k0 = j->bk[0].i[r];
        if (j->bnull[r] && !j->sp.null_eq) continue;
        uint64_t b = bh[r] & j->mask;
        j->ent[r].next = j->heads[b];
        j->heads[b] = r;
    }
    free(bh);
    return 0;
}

static int probe_load(join_op *j, qv_err *err) {
    if (qstate_check(j->base.qs, err)) return err->code;
    if (j->probe->next(j->probe, &j->pc, err)) return err->code;
    if (!j->pc) return 0;
    int n = chunk_active(j->pc);
    for (int k = 0; k < j->nk; k++)
        if (expr_eval(j->pkeys[k], j->pc, &j->pk[k], err)) return err->code;
    hash_keys(j->pk, j->nk, n, j->phash, j->pnull);
    /* bucket heads for the whole chunk first: independent loads overlap their cache misses */
    if (j->bn == 0) {
        for (int r = 0; r < n; r++) j->pstart[r] = -1;
    } else {
        for (int r = 0; r < n; r++) j->pstart[r] = j->heads[j->phash[r] & j->mask];
        for (int r = 0; r < n; r++)
            if (j->pstart[r] >= 0) __builtin_prefetch(&j->ent[j->pstart[r]]);
    }
    memset(j->pmatched, 0, (size_t)n);
    j->prow = 0;
    j->pstarted = false;
    j->ptail = false;
    return 0;
}

/* Candidate pairs of the current probe chunk, up to CHUNK. */
static int collect(join_op *j) {
    int n = 0, pn = chunk_active(j->pc);
    bool exists_only = j->semi && !j->sp.residual;
    while (j->prow < pn && n < CHUNK) {
        int r = j->prow;
        if (!j->pstarted) {
            j->pstarted = true;
            j->pchain = j->pnull[r] && !j->sp.null_eq ? -1 : j->pstart[r];
        }
        while (j->pchain >= 0 && n < CHUNK) {
            int64_t b = j->pchain;
            const struct jent *en = &j->ent[b];
            j->pchain = en->next;
            if (en->h != j->phash[r]) continue;
            if (j->int1 ? en->k0 != j->pk[0].i[r] : !keys_eq(j, r, b)) continue;
            if (j->sp.consume) {
                if (j->bused[b]) continue;
                j->bused[b] = 1;
                j->pmatched[r] = 1;
                j->pchain = -1;
                break;
            }
            if (exists_only) {
                j->pmatched[r] = 1;
                j->pchain = -1;
                break;
            }
            j->pp[n] = r;
            j->pb[n++] = b;
        }
        if (j->pchain < 0) {
            j->prow++;
            j->pstarted = false;
        }
    }
    return n;
}

static void pairs_reset(join_op *j, int n) {
    for (int c = 0; c < j->pairs.ncols; c++) vec_reset(&j->pairs.cols[c], j->pairs.cols[c].type, n);
    j->pairs.n = n;
    j->pairs.has_sel = false;
}

/* Fill n output rows: probe row pr[i] (or NULLs when pr is NULL) beside build row br[i] (or NULLs). */
static void pairs_fill(join_op *j, int n, const int *pr, const int64_t *br) {
    pairs_reset(j, n);
    int poff = j->probe_left ? 0 : j->nl, boff = j->probe_left ? j->nl : 0;
    int npc = j->probe_left ? j->nl : j->nr;
    for (int c = 0; c < npc; c++) {
        vec *d = &j->pairs.cols[poff + c];
        if (!pr) {
            for (int i = 0; i < n; i++) null_put(d, i);
            continue;
        }
        fill_col(d, &j->pc->cols[c], n, pr, NULL, j->pc);
    }
    for (int c = 0; c < j->nbc; c++) {
        vec *d = &j->pairs.cols[boff + c];
        if (br) fill_col(d, &j->bcols[c], n, NULL, br, NULL);
        else for (int i = 0; i < n; i++) null_put(d, i);
    }
}

/* Pairs through the residual; marks matches. Returns survivors (pairs.sel) or -1. */
static int pairs_filter(join_op *j, int n, qv_err *err) {
    pairs_fill(j, n, j->pp, j->pb);
    int ns = n;
    if (j->sp.residual) {
        ns = expr_select(j->sp.residual, &j->pairs, &j->tmp, j->pairs.sel, err);
        if (ns < 0) return -1;
        j->pairs.has_sel = true;
        j->pairs.nsel = ns;
    }
    for (int k = 0; k < ns; k++) {
        int i = j->pairs.has_sel ? j->pairs.sel[k] : k;
        j->pmatched[j->pp[i]] = 1;
        if (j->need_used) j->bused[j->pb[i]] = 1;
    }
    return ns;
}

/* After a probe chunk: SEMI/ANTI rows, or unmatched probe rows NULL-extended. */
static int probe_tail(join_op *j) {
    int pn = chunk_active(j->pc), m = 0;
    int rows[CHUNK];
    bool want = j->sp.jt == JT_SEMI;
    if (j->semi) {
        for (int r = 0; r < pn; r++)
            if ((j->pmatched[r] != 0) == want) rows[m++] = r;
        for (int c = 0; c < j->nl; c++) {
            vec *d = &j->out.cols[c];
            vec_reset(d, d->type, m);
            for (int i = 0; i < m; i++) out_put(d, i, &j->pc->cols[c], chunk_row(j->pc, rows[i]));
        }
        j->out.n = m;
        j->out.has_sel = false;
        return m;
    }
    if (!j->unmatched_probe) return 0;
    for (int r = 0; r < pn; r++)
        if (!j->pmatched[r]) rows[m++] = r;
    if (m) pairs_fill(j, m, rows, NULL);
    return m;
}

static int unmatched_build(join_op *j) {
    int m = 0;
    while (j->ub < j->bn && m < CHUNK) {
        if (!j->bused[j->ub]) j->pb[m++] = j->ub;
        j->ub++;
    }
    if (m) pairs_fill(j, m, NULL, j->pb);
    return m;
}

static void attach_master(join_op *j) {
    const join_op *m = j->master;
    j->bcols = m->bcols;
    j->bk = m->bk;
    j->nbc = m->nbc;
    j->bn = m->bn;
    j->heads = m->heads;
    j->ent = m->ent;
    j->int1 = m->int1;
    j->mask = m->mask;
    j->bnull = m->bnull;
    j->built = true;
}

static int join_next(op *o, chunk **out, qv_err *err) {
    join_op *j = (join_op *)o;
    if (!j->built) {
        if (j->master) {
            attach_master(j);
        } else {
            if (build_side(j, err)) return err->code;
            j->built = true;
        }
    }
    for (;;) {
        if (j->phase == 0) {
            if (!j->pc) {
                if (probe_load(j, err)) return err->code;
                if (!j->pc && j->master) { /* a clone: its scan may be pointed at another row group */
                    *out = NULL;
                    return 0;
                }
                if (!j->pc) {
                    j->phase = 1;
                    continue;
                }
            }
            if (j->prow < chunk_active(j->pc)) {
                int n = collect(j);
                if (n == 0) continue;
                int ns = pairs_filter(j, n, err);
                if (ns < 0) return err->code;
                if (!j->semi && ns > 0) {
                    *out = &j->pairs;
                    return 0;
                }
                continue;
            }
            if (!j->ptail) {
                j->ptail = true;
                if (probe_tail(j) > 0) {
                    *out = j->semi ? &j->out : &j->pairs;
                    return 0;
                }
            }
            j->pc = NULL;
            continue;
        }
        if (j->phase == 1 && j->unmatched_build && unmatched_build(j) > 0) {
            *out = &j->pairs;
            return 0;
        }
        j->phase = 2;
        *out = NULL;
        return 0;
    }
}

static void join_free(op *o) {
    join_op *j = (join_op *)o;
    op_free(j->left);
    op_free(j->right);
    bool own = !j->master;
    for (int c = 0; c < j->nbc && own; c++) vec_free(&j->bcols[c]);
    for (int k = 0; k < j->nk; k++) {
        if (own) vec_free(&j->bk[k]);
        vec_free(&j->tk[k]);
        vec_free(&j->pk[k]);
    }
    if (!own) { /* the master's store */
        j->bcols = j->bk = NULL;
        j->ent = NULL;
        j->heads = NULL;
        j->bnull = NULL;
    }
    free(j->bcols);
    free(j->bk);
    free(j->tk);
    free(j->pk);
    free(j->ent);
    free(j->bnull);
    free(j->heads);
    free(j->bused);
    chunk_free(&j->pairs);
    chunk_free(&j->out);
    vec_free(&j->tmp);
    qstate_release(o->qs, j->charged);
    free(o->types);
    free(j);
}

static void join_explain(op *o, qv_str *s, int depth) {
    join_op *j = (join_op *)o;
    static const char *nm[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS", "SEMI", "ANTI"};
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    if (j->master) {
        qv_str_appendf(s, "HASH JOIN PROBE %s keys=%d%s\n", nm[j->sp.jt], j->nk, j->sp.residual ? " +residual" : "");
        op_explain(j->left, s, depth + 1);
        return;
    }
    qv_str_appendf(s, "HASH JOIN %s keys=%d%s build=%s%s%s\n", nm[j->sp.jt], j->nk, j->sp.residual ? " +residual" : "",
                   j->sp.build_left ? "left" : "right", j->sp.null_eq ? " nulls-equal" : "", j->sp.consume ? " consume" : "");
    if (j->left) op_explain(j->left, s, depth + 1);
    if (j->right) op_explain(j->right, s, depth + 1);
}

op *op_hash_join_new(qstate *qs, op *left, op *right, const join_spec *spec) {
    join_op *j = qv_xcalloc(1, sizeof *j);
    j->left = left;
    j->right = right;
    j->sp = *spec;
    bool semi = spec->jt == JT_SEMI || spec->jt == JT_ANTI;
    if (semi) j->sp.build_left = false;
    j->semi = semi;
    j->probe_left = !j->sp.build_left;
    j->probe = j->probe_left ? left : right;
    j->build = j->probe_left ? right : left;
    j->pkeys = j->probe_left ? spec->lkeys : spec->rkeys;
    j->bkeys = j->probe_left ? spec->rkeys : spec->lkeys;
    j->nl = left->ncols;
    j->nr = right->ncols;
    j->nk = spec->nkeys;
    join_type jt = spec->jt;
    bool keep_left = jt == JT_LEFT || jt == JT_FULL, keep_right = jt == JT_RIGHT || jt == JT_FULL;
    j->unmatched_probe = j->probe_left ? keep_left : keep_right;
    j->unmatched_build = j->probe_left ? keep_right : keep_left;
    j->need_used = j->unmatched_build || spec->consume;
    j->int1 = !spec->null_eq && j->nk == 1 && type_pc(j->bkeys[0]->type) == PC_I && j->pkeys[0]->type == j->bkeys[0]->type &&
              j->bkeys[0]->type != T_NULL;
    j->nbc = j->build->ncols;
    j->bcols = qv_xcalloc((size_t)(j->nbc + 1), sizeof(vec));
    for (int c = 0; c < j->nbc; c++) store_init(&j->bcols[c], j->build->types[c]);
    j->bk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    j->tk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    j->pk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    for (int k = 0; k < j->nk; k++) {
        store_init(&j->bk[k], j->bkeys[k]->type);
        vec_init(&j->tk[k], j->bkeys[k]->type);
        vec_init(&j->pk[k], j->pkeys[k]->type);
    }
    int nout = j->nl + j->nr;
    qv_type *types = qv_xcalloc((size_t)(nout + 1), sizeof(qv_type));
    for (int c = 0; c < j->nl; c++) types[c] = left->types[c];
    for (int c = 0; c < j->nr; c++) types[j->nl + c] = right->types[c];
    chunk_init(&j->pairs, nout, types);
    j->pairs.sel = qv_xmalloc(sizeof(int) * CHUNK);
    chunk_init(&j->out, j->nl, types);
    vec_init(&j->tmp, QV_T_BOOL);
    j->base.name = "hash_join";
    j->base.ncols = semi ? j->nl : nout;
    j->base.types = types;
    j->base.next = join_next;
    j->base.free = join_free;
    j->base.explain = join_explain;
    j->base.qs = qs;
    return &j->base;
}

/* ---- parallel probing ---- */
static join_op *clone_of(qstate *qs, join_op *m, op *probe) {
    join_op *j = qv_xcalloc(1, sizeof *j);
    j->master = m;
    j->left = j->probe = probe;
    j->sp = m->sp;
    j->probe_left = true;
    j->semi = m->semi;
    j->unmatched_probe = m->unmatched_probe;
    j->nl = m->nl;
    j->nr = m->nr;
    j->nk = m->nk;
    j->pkeys = m->pkeys;
    j->bkeys = m->bkeys;
    j->tk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    j->pk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    for (int k = 0; k < j->nk; k++) {
        vec_init(&j->tk[k], j->bkeys[k]->type);
        vec_init(&j->pk[k], j->pkeys[k]->type);
    }
    int nout = j->nl + j->nr;
    qv_type *types = qv_xcalloc((size_t)(nout + 1), sizeof(qv_type));
    memcpy(types, m->base.types, sizeof(qv_type) * (size_t)nout);
    chunk_init(&j->pairs, nout, types);
    j->pairs.sel = qv_xmalloc(sizeof(int) * CHUNK);
    chunk_init(&j->out, j->nl, types);
    vec_init(&j->tmp, QV_T_BOOL);
    j->base = m->base;
    j->base.types = types;
    j->base.qs = qs;
    return j;
}

typedef struct pjoin_op {
    op base;
    join_op *m;   /* owns the build child and the store */
    op *gather;   /* the clones' pipelines, row group by row group */
    int n;
} pjoin_op;

static int pjoin_next(op *o, chunk **out, qv_err *err) {
    pjoin_op *p = (pjoin_op *)o;
    if (!p->m->built) { /* on the calling thread, before any worker probes */
        if (build_side(p->m, err)) return err->code;
        p->m->built = true;
    }
    return p->gather->next(p->gather, out, err);
}

static void pjoin_free(op *o) {
    pjoin_op *p = (pjoin_op *)o;
    op_free(p->gather);
    op_free(&p->m->base);
    free(o->types);
    free(p);
}

static void pjoin_explain(op *o, qv_str *s, int depth) {
    pjoin_op *p = (pjoin_op *)o;
    static const char *nm[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS", "SEMI", "ANTI"};
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "HASH JOIN %s keys=%d%s build=right, probed by %d workers\n", nm[p->m->sp.jt], p->m->nk,
                   p->m->sp.residual ? " +residual" : "", p->n);
    op_explain(p->m->right, s, depth + 1);
    op_explain(p->gather, s, depth + 1);
}

op *op_hash_join_master_new(qstate *qs, op *probe_shape, op *build, const join_spec *spec) {
    join_spec sp = *spec;
    sp.build_left = false;
    join_op *m = (join_op *)op_hash_join_new(qs, probe_shape, build, &sp);
    m->left = m->probe = NULL; /* the master only builds */
    return &m->base;
}

op *op_hash_join_clone_new(qstate *qs, op *master, op *probe) { return &clone_of(qs, (join_op *)master, probe)->base; }

op *op_join_prebuild_new(qstate *qs, op *master, op *child, int n) {
    join_op *m = (join_op *)master;
    pjoin_op *p = qv_xcalloc(1, sizeof *p);
    p->m = m;
    p->n = n;
    p->gather = child;
    p->base.name = "hash_join";
    p->base.next = pjoin_next;
    p->base.free = pjoin_free;
    p->base.explain = pjoin_explain;
    p->base.qs = qs;
    p->base.ncols = child->ncols;
    p->base.types = qv_xcalloc((size_t)(child->ncols + 1), sizeof(qv_type));
    memcpy(p->base.types, child->types, sizeof(qv_type) * (size_t)child->ncols);
    return &p->base;
}

op *op_hash_join_parallel_new(qstate *qs, op **probes, op **scans, int n, int nrg, op *build, const join_spec *spec) {
    op *m = op_hash_join_master_new(qs, probes[0], build, spec);
    op *kids[64];
    for (int w = 0; w < n; w++) kids[w] = op_hash_join_clone_new(qs, m, probes[w]);
    return op_join_prebuild_new(qs, m, op_gather_rounds_new(qs, kids, scans, n, nrg), n);
}
