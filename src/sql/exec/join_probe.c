/* The hash join's probe side: each probe chunk's keys hashed and looked up
   in the table in one batch (directory reads and entry prefetches for the
   whole chunk before any compare, so their cache misses overlap), then the
   candidate pairs walked, the residual applied over the pairs, and the
   output rows gathered column by column. */
#include "join_int.h"

#include <stdlib.h>
#include <string.h>

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
        case PC_F: if (!dbl_eq(a->f[pr], b->f[br])) return false; break;
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
    const int *sel = c && c->has_sel ? c->sel : NULL;
    switch (type_pc(d->type)) {
    case PC_I: {
        int64_t *restrict o = d->i;
        const int64_t *restrict v = src->i;
        if (rows64) for (int i = 0; i < n; i++) o[i] = v[rows64[i]];
        else if (sel) for (int i = 0; i < n; i++) o[i] = v[sel[rows[i]]];
        else for (int i = 0; i < n; i++) o[i] = v[rows[i]];
        break;
    }
    case PC_F: {
        double *restrict o = d->f;
        const double *restrict v = src->f;
        if (rows64) for (int i = 0; i < n; i++) o[i] = v[rows64[i]];
        else if (sel) for (int i = 0; i < n; i++) o[i] = v[sel[rows[i]]];
        else for (int i = 0; i < n; i++) o[i] = v[rows[i]];
        break;
    }
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

/* Each row's run of entries: directory reads for the whole chunk, then prefetches of the runs. */
static void runs_find(join_op *j, int n) {
    const jtab *t = &j->tab;
    if (t->nent == 0) {
        memset(j->plo, 0, sizeof(uint32_t) * (size_t)n);
        memset(j->phi, 0, sizeof(uint32_t) * (size_t)n);
        return;
    }
    if (t->direct) {
        const int64_t *k = j->pk[0].i;
        for (int r = 0; r < n; r++) {
            uint64_t b = (uint64_t)k[r] - (uint64_t)t->kmin;
            bool in = b < t->range;
            b = in ? b : 0;
            j->plo[r] = t->identity ? (uint32_t)b : t->dir[b];
            j->phi[r] = in ? (t->identity ? (uint32_t)b + 1 : t->dir[b + 1]) : j->plo[r];
        }
    } else {
        for (int r = 0; r < n; r++) {
            uint64_t b = j->phash[r] & t->mask;
            j->plo[r] = t->dir[b];
            j->phi[r] = t->dir[b + 1];
        }
    }
    if (!j->sp.null_eq)
        for (int r = 0; r < n; r++)
            if (j->pnull[r]) j->phi[r] = j->plo[r];
    for (int r = 0; r < n && !t->direct; r++)
        if (j->plo[r] < j->phi[r]) {
            if (t->sk) __builtin_prefetch(&t->sk[j->plo[r]]);
            else __builtin_prefetch(&t->key[j->plo[r]]);
        }
}

/* The probe chunk's column that is the (one) probe key as it is, or -1. */
static inline int key_col(const join_op *j) {
    const bexpr *e = j->pkeys[0];
    if (e->kind != B_COL || j->nk != 1) return -1;
    const vec *v = &j->pc->cols[e->col];
    return v->type == e->type && !v->codes && type_pc(v->type) == PC_I ? e->col : -1;
}

int join_probe_load(join_op *j, qv_err *err) {
    if (qstate_check(j->base.qs, err)) return err->code;
    if (j->probe->next(j->probe, &j->pc, err)) return err->code;
    if (!j->pc) return 0;
    int n = chunk_active(j->pc);
    for (int k = 0; k < j->nk && !(j->perfect && key_col(j) >= 0); k++)
        if (expr_eval(j->pkeys[k], j->pc, &j->pk[k], err)) return err->code;
    if (j->perfect) { /* join_pairs_perfect does the lookups */
    } else if (j->tab.direct) { /* no hashes needed: only which keys are NULL */
        for (int r = 0; r < n; r++) j->pnull[r] = vec_null(&j->pk[0], r);
        runs_find(j, n);
    } else {
        jtab_hash(j->pk, j->nk, 0, n, j->phash, j->pnull);
        runs_find(j, n);
    }
    if (j->unmatched_probe || j->semi || j->need_used) memset(j->pmatched, 0, (size_t)n);
    j->prow = 0;
    j->pstarted = false;
    j->ptail = false;
    return 0;
}

/* a[0..n) == b[0..n) for n <= JSK_PREFIX, in a few loads that stay inside both. */
static inline bool short_eq(const char *a, const char *b, int n) {
    if (n >= 8) {
        bool eq = load_u64(a) == load_u64(b) && load_u64(a + n - 8) == load_u64(b + n - 8);
        return n <= 16 ? eq : eq && load_u64(a + 8) == load_u64(b + 8);
    }
    if (n >= 4) return load_u32(a) == load_u32(b) && load_u32(a + n - 4) == load_u32(b + n - 4);
    bool eq = true;
    for (int k = 0; k < n; k++) eq &= a[k] == b[k];
    return eq;
}

/* Does entry i's string key, of hash h, equal x? (str1) */
static inline bool jtab_str_eq(const jtab *t, const vec *keys, uint32_t i, uint64_t h, sv x) {
    const jskey *e = &t->sk[i];
    if (e->h != h || e->len != x.n) return false;
    if (x.n <= JSK_PREFIX) return short_eq(e->b, x.p, x.n);
    sv y = keys[0].s[t->row[i]]; /* the key store is in build order */
    return short_eq(e->b, x.p, JSK_PREFIX) && !memcmp(y.p + JSK_PREFIX, x.p + JSK_PREFIX, (size_t)(x.n - JSK_PREFIX));
}

static inline bool entry_eq(const join_op *j, int r, uint32_t i) {
    if (j->tab.direct) return true; /* the bucket is the key itself */
    if (j->int1) return j->tab.key[i] == (uint64_t)j->pk[0].i[r]; /* NULL probe keys have empty runs */
    if (j->tab.str1) return jtab_str_eq(&j->tab, j->bk, i, j->phash[r], vec_str_at(&j->pk[0], r));
    if (j->tab.key[i] != j->phash[r]) return false;
    return keys_eq(j, r, i);
}

/* The perfect-hash probe (unique direct table): each probe row has at most
   one entry, found by a bounds check and one directory load (none when the
   table is an identity), so a chunk's pairs fit in one batch. The keys are
   read in place (through the chunk's selection) when the probe key is a
   plain column of the chunk. */
static int pairs_perfect(join_op *j) {
    const jtab *t = &j->tab;
    int pn = chunk_active(j->pc), n = 0;
    j->prow = pn;
    if (t->nent == 0) return 0;
    int kc = key_col(j);
    const vec *kv = kc >= 0 ? &j->pc->cols[kc] : &j->pk[0];
    const int *sel = kc >= 0 && j->pc->has_sel ? j->pc->sel : NULL;
    const int64_t *k = kv->i;
    const uint8_t *nul = kv->has_nulls ? kv->nulls : NULL;
    uint64_t kmin = (uint64_t)t->kmin, range = t->range;
    int *restrict pp = j->pp;
    int64_t *restrict pb = j->pb;
    for (int r = 0; r < pn; r++) {
        int x = sel ? sel[r] : r;
        uint64_t b = (uint64_t)k[x] - kmin;
        bool in = b < range && !(nul && nul[x]);
        uint32_t lo = t->identity ? (uint32_t)b : t->dir[in ? b : 0];
        pp[n] = r;
        pb[n] = lo;
        n += in && (t->identity || lo < t->dir[b + 1]);
    }
    if (j->semi && !j->sp.residual) { /* existence is all SEMI/ANTI need */
        for (int i = 0; i < n; i++) j->pmatched[pp[i]] = 1;
        return 0;
    }
    return n;
}

/* One string key, at a row boundary: the candidates of whole rows' runs
   whose hashes match, appended without a branch per entry, then verified
   (length and prefix; nearly always equal). Rows whose runs would overflow
   the batch wait for the next call; -1 when the first one alone would (the
   general loop takes it). */
static int pairs_str_batch(join_op *j) {
    const jskey *sk = j->tab.sk;
    int pn = chunk_active(j->pc), n = 0, r = j->prow;
    int *restrict pp = j->pp;
    int64_t *restrict pb = j->pb;
    for (; r < pn; r++) {
        uint32_t lo = j->plo[r], hi = j->phi[r];
        if (n + (int64_t)(hi - lo) > CHUNK) break;
        uint64_t h = j->phash[r];
        for (uint32_t i = lo; i < hi; i++) {
            pp[n] = r;
            pb[n] = i;
            n += sk[i].h == h;
        }
    }
    if (r == j->prow && r < pn) return -1;
    j->prow = r;
    int m = 0;
    for (int c = 0; c < n; c++) {
        int pr = pp[c];
        uint32_t i = (uint32_t)pb[c];
        if (!jtab_str_eq(&j->tab, j->bk, i, sk[i].h, vec_str_at(&j->pk[0], pr))) continue;
        pp[m] = pr;
        pb[m++] = i;
    }
    if (j->semi && !j->sp.residual) { /* existence is all SEMI/ANTI need */
        for (int c = 0; c < m; c++) j->pmatched[pp[c]] = 1;
        return 0;
    }
    return m;
}

int join_pairs_collect(join_op *j) {
    if (j->perfect) return pairs_perfect(j);
    if (j->tab.str1 && !j->sp.consume && !j->pstarted) {
        int n = pairs_str_batch(j);
        if (n >= 0) return n;
    }
    int n = 0, pn = chunk_active(j->pc);
    bool exists_only = j->semi && !j->sp.residual;
    while (j->prow < pn && n < CHUNK) {
        int r = j->prow;
        if (!j->pstarted) {
            j->pstarted = true;
            j->pcur = j->plo[r];
            j->pend = j->phi[r];
        }
        while (j->pcur < j->pend && n < CHUNK) {
            uint32_t b = j->pcur++;
            if (!entry_eq(j, r, b)) continue;
            if (j->sp.consume) {
                if (j->bused[b]) continue;
                j->bused[b] = 1;
                j->pmatched[r] = 1;
                j->pcur = j->pend;
                break;
            }
            if (exists_only) {
                j->pmatched[r] = 1;
                j->pcur = j->pend;
                break;
            }
            j->pp[n] = r;
            j->pb[n++] = b;
        }
        if (j->pcur >= j->pend) {
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

/* An output column nothing reads: NULL, its values left as they are. */
static void unfilled(vec *d, int n) {
    memset(d->nulls, 1, (size_t)n);
    d->has_nulls = true;
}

/* Fill n output rows: probe row pr[i] (or NULLs when pr is NULL) beside build row br[i] (or NULLs). */
static void pairs_fill(join_op *j, int n, const int *pr, const int64_t *br) {
    pairs_reset(j, n);
    int poff = j->probe_left ? 0 : j->nl, boff = j->probe_left ? j->nl : 0;
    int npc = j->probe_left ? j->nl : j->nr;
    const bool *keep = j->sp.keep;
    for (int c = 0; c < npc; c++) {
        vec *d = &j->pairs.cols[poff + c];
        if (keep && !keep[poff + c]) {
            unfilled(d, n);
            continue;
        }
        if (!pr) {
            for (int i = 0; i < n; i++) null_put(d, i);
            continue;
        }
        fill_col(d, &j->pc->cols[c], n, pr, NULL, j->pc);
    }
    for (int c = 0; c < j->nbc; c++) {
        vec *d = &j->pairs.cols[boff + c];
        if (keep && !keep[boff + c]) unfilled(d, n);
        else if (br) fill_col(d, &j->bcols[c], n, NULL, br, NULL);
        else for (int i = 0; i < n; i++) null_put(d, i);
    }
}

int join_pairs_filter(join_op *j, int n, qv_err *err) {
    pairs_fill(j, n, j->pp, j->pb);
    int ns = n;
    if (j->sp.residual) {
        ns = expr_select(j->sp.residual, &j->pairs, &j->tmp, j->pairs.sel, err);
        if (ns < 0) return -1;
        j->pairs.has_sel = true;
        j->pairs.nsel = ns;
    }
    if (!j->unmatched_probe && !j->semi && !j->need_used) return ns; /* nobody reads the marks */
    for (int k = 0; k < ns; k++) {
        int i = j->pairs.has_sel ? j->pairs.sel[k] : k;
        j->pmatched[j->pp[i]] = 1;
        if (j->need_used) j->bused[j->pb[i]] = 1;
    }
    return ns;
}

int join_tail_emit(join_op *j) {
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

int join_unmatched_emit(join_op *j) {
    int m = 0;
    while (j->ub < j->bn && m < CHUNK) {
        if (!j->bused[j->ub]) j->pb[m++] = j->ub;
        j->ub++;
    }
    if (m) pairs_fill(j, m, NULL, j->pb);
    return m;
}
