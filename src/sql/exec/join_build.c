/* The hash join's build side: the build child drained into a column store
   (payload columns and evaluated keys, strings copied into the store's
   heaps), then the table over the keys, in parallel across the pool when
   the query runs on more than one thread (join_table.c). Everything is
   charged to the query before it is allocated. */
#include "join_int.h"

#include <stdlib.h>
#include <string.h>

static int charge(join_op *j, int64_t bytes, qv_err *err) {
    j->charged += bytes;
    if (qstate_charge(j->base.qs, bytes, err))
        return qv_err_set(err, QV_ERESOURCE, "%s: the hash table exceeded the query memory limit of %lld bytes (--query-memory)",
                          j->sp.label ? j->sp.label : "hash join", (long long)j->base.qs->mem_limit);
    return 0;
}

/* Rows of src (through c's selection) to dst rows [at, at + n); returns string bytes copied. */
static int64_t store_append(vec *dst, int64_t at, const vec *src, const chunk *c, int n) {
    if (src->type == T_NULL || src->has_nulls || src->codes || type_pc(dst->type) == PC_S) {
        int64_t bytes = 0;
        bool str = type_pc(dst->type) == PC_S;
        for (int r = 0; r < n; r++) {
            vec_store_row(dst, at + r, src, c ? chunk_row(c, r) : r);
            if (str) bytes += dst->s[at + r].n;
        }
        return bytes;
    }
    if (type_pc(dst->type) == PC_I) {
        if (c && c->has_sel) for (int r = 0; r < n; r++) dst->i[at + r] = src->i[c->sel[r]];
        else memcpy(dst->i + at, src->i, sizeof(int64_t) * (size_t)n);
    } else {
        if (c && c->has_sel) for (int r = 0; r < n; r++) dst->f[at + r] = src->f[c->sel[r]];
        else memcpy(dst->f + at, src->f, sizeof(double) * (size_t)n);
    }
    return 0;
}

static int drain(join_op *j, qv_err *err) {
    for (;;) {
        chunk *c;
        if (j->build->next(j->build, &c, err)) return err->code;
        if (!c) return 0;
        int n = chunk_active(c);
        for (int k = 0; k < j->nk; k++)
            if (expr_eval(j->bkeys[k], c, &j->tk[k], err)) return err->code;
        if (j->bn + n > INT32_MAX - CHUNK)
            return qv_err_set(err, QV_ERESOURCE, "%s: the build side has more than 2^31 rows", j->sp.label);
        int cap = (int)(j->bn + n);
        int64_t bytes = (int64_t)n * (9 * (j->nbc + j->nk) + 1);
        for (int c2 = 0; c2 < j->nbc; c2++) {
            vec_grow(&j->bcols[c2], cap);
            bytes += store_append(&j->bcols[c2], j->bn, &c->cols[c2], c, n);
        }
        for (int k = 0; k < j->nk; k++) {
            vec_grow(&j->bk[k], cap);
            bytes += store_append(&j->bk[k], j->bn, &j->tk[k], NULL, n);
        }
        j->bn += n;
        if (charge(j, bytes, err)) return err->code;
        if (qstate_check(j->base.qs, err)) return err->code;
    }
}

typedef struct perm_task {
    vec *v;
    void *d;     /* the new value array (NULL: the vector has none) */
    uint8_t *dn; /* the new null flags, or NULL */
    const uint32_t *perm;
    int64_t lo, hi;
} perm_task;

/* Rows [lo, hi) of a store vector in table order: new row i is old row perm[i] (strings stay in the heap). */
static void permute_run(void *arg) {
    perm_task *p = arg;
    const vec *v = p->v;
    const uint32_t *perm = p->perm;
    if (p->d) switch (type_pc(v->type)) {
        case PC_I: {
            int64_t *restrict d = p->d;
            for (int64_t i = p->lo; i < p->hi; i++) d[i] = v->i[perm[i]];
            break;
        }
        case PC_F: {
            double *restrict d = p->d;
            for (int64_t i = p->lo; i < p->hi; i++) d[i] = v->f[perm[i]];
            break;
        }
        case PC_S: {
            sv *restrict d = p->d;
            for (int64_t i = p->lo; i < p->hi; i++) d[i] = v->s[perm[i]];
            break;
        }
        }
    if (p->dn)
        for (int64_t i = p->lo; i < p->hi; i++) p->dn[i] = v->nulls[perm[i]];
}

static void **value_array(vec *v) {
    return type_pc(v->type) == PC_I ? (void **)&v->i : type_pc(v->type) == PC_F ? (void **)&v->f : (void **)&v->s;
}

/* Every store vector into table order, each split in ranges across the pool. */
static void store_permute(join_op *j, sql_pool *pool, int ntasks) {
    /* the key vectors too, unless the table holds the keys (one integer key)
       or each one's hash, length and prefix (one string key: a longer key's
       tail is read through row[]) */
    int nv = j->nbc + (j->int1 || j->tab.str1 ? 0 : j->nk);
    int per = pool && j->bn >= 65536 ? (ntasks < 1 ? 1 : ntasks > 16 ? 16 : ntasks) : 1, nt = nv * per;
    perm_task *ts = qv_xcalloc((size_t)nt + 1, sizeof *ts);
    void **args = qv_xcalloc((size_t)nt + 1, sizeof *args);
    for (int c = 0; c < nv; c++) {
        vec *v = c < j->nbc ? &j->bcols[c] : &j->bk[c - j->nbc];
        size_t w = type_pc(v->type) == PC_S ? sizeof(sv) : 8;
        void *d = *value_array(v) ? jtab_alloc(w * (size_t)v->cap) : NULL;
        uint8_t *dn = v->has_nulls ? qv_xcalloc((size_t)v->cap, 1) : NULL;
        for (int k = 0; k < per; k++) {
            ts[c * per + k] = (perm_task){v, d, dn, j->tab.row, j->bn * k / per, j->bn * (k + 1) / per};
            args[c * per + k] = &ts[c * per + k];
        }
    }
    if (pool && nt > 1) sql_pool_run(pool, nt, permute_run, args, 0);
    else
        for (int t = 0; t < nt; t++) permute_run(args[t]);
    for (int c = 0; c < nv; c++) {
        perm_task *p = &ts[c * per];
        if (p->d) {
            free(*value_array(p->v));
            *value_array(p->v) = p->d;
        }
        if (p->dn) {
            free(p->v->nulls);
            p->v->nulls = p->dn;
        }
    }
    free(ts);
    free(args);
}

/* The store's payload arrays onto jtab_alloc's pages (the permutation does
   that as it goes): the probe reads them at random. */
static void store_rehome(join_op *j) {
    for (int c = 0; c < j->nbc; c++) {
        vec *v = &j->bcols[c];
        void **a = value_array(v);
        size_t w = type_pc(v->type) == PC_S ? sizeof(sv) : 8, bytes = w * (size_t)v->cap;
        if (!*a || bytes < ((size_t)4 << 20)) continue;
        void *d = jtab_alloc(bytes);
        memcpy(d, *a, w * (size_t)j->bn);
        free(*a);
        *a = d;
    }
}

int join_side_build(join_op *j, qv_err *err) {
    if (drain(j, err)) return err->code;
    int64_t n = j->bn, tbytes = jtab_bytes(n), transient = n * (8 + 1 + 12 + (int64_t)sizeof(jskey));
    if (charge(j, tbytes, err)) return err->code;
    sql_ctx *ctx = j->base.qs->ctx;
    sql_pool *pool = ctx && !sql_pool_in_task() ? ctx->pool : NULL;
    jtab_build(&j->tab, j->bk, j->nk, n, j->int1, j->sp.null_eq, pool, pool ? ctx->threads : 1);
    if (!j->tab.inorder) store_permute(j, pool, pool ? ctx->threads : 1);
    else store_rehome(j);
    j->perfect = j->int1 && j->tab.unique && !j->sp.consume;
    j->charged -= transient;
    qstate_release(j->base.qs, transient);
    j->bused = qv_xcalloc((size_t)(n + 1), 1);
    return 0;
}
