/* ASOF join operator. States: not built -> built (the right child drained
   into an asof_store and finished: asof_int.h) -> probing (one left chunk at
   a time: keys, time and gate evaluated, each row's partition found and
   its match sought from where that partition's previous seek ended; the
   output chunk borrows the left chunk's vectors and fills the right
   columns, a selection dropping unmatched rows of an inner join) ->
   unmatched right rows (RIGHT / FULL) -> done. The serial operator owns
   both children and the store; a parallel join's master owns the right
   child and the store, and each clone (one per probe pipeline, on a pool
   thread) only its left child, its seek positions and its output chunk.
   Output strings point into the current left chunk or the store, valid
   until the next call. */
#include "asof_int.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct asof_op {
    op base;
    op *left, *right;
    asof_spec sp;
    int nl, nr;
    asof_store *st;         /* the master's (or the serial op's) store */
    bool built;
    struct asof_op *master; /* clones: whose store they probe */
    vec *lk, lt, lg, *rk;   /* evaluated keys / time / gate (rk: right keys while building) */
    int64_t *hint;          /* per partition: where its last seek ended */
    uint8_t *used;          /* RIGHT / FULL: store rows matched */
    chunk out;
    int32_t match[CHUNK];
    int phase;              /* 0 probing, 1 unmatched right rows, 2 done */
    int64_t ub;
} asof_op;

/* First index in [0, n) whose a[i] > x (gt) or a[i] >= x (!gt), galloping
   from the hint h (the previous answer) in whichever direction it lies. */
static int64_t seek(const int64_t *a, int64_t n, int64_t h, int64_t x, bool gt) {
#define BEFORE(i) (gt ? a[i] <= x : a[i] < x)
    int64_t lo, hi, step = 1;
    if (h > n) h = n;
    if (h < n && BEFORE(h)) {
        lo = h;
        for (;;) {
            hi = lo + step;
            if (hi >= n) {
                hi = n;
                break;
            }
            if (!BEFORE(hi)) break;
            lo = hi;
            step <<= 1;
        }
    } else {
        hi = h;
        for (;;) {
            lo = hi - step;
            if (lo < 0) {
                lo = -1;
                break;
            }
            if (BEFORE(lo)) break;
            hi = lo;
            step <<= 1;
        }
    }
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (BEFORE(mid)) lo = mid;
        else hi = mid;
    }
    return hi;
#undef BEFORE
}

static int build(asof_op *a, qv_err *err) {
    asof_store *st = a->st;
    vec rt, rg;
    vec_init(&rt, a->sp.rtime->type);
    vec_init(&rg, QV_T_BOOL);
    int rc = 0;
    for (;;) {
        chunk *c;
        if ((rc = a->right->next(a->right, &c, err))) break;
        if (!c) break;
        for (int k = 0; k < a->sp.nkeys && !rc; k++) rc = expr_eval(a->sp.rkeys[k], c, &a->rk[k], err);
        if (!rc) rc = expr_eval(a->sp.rtime, c, &rt, err);
        if (!rc && a->sp.rgate) rc = expr_eval(a->sp.rgate, c, &rg, err);
        if (!rc) rc = asof_store_add(st, c, a->rk, &rt, a->sp.rgate ? &rg : NULL, err);
        if (!rc) rc = qstate_check(a->base.qs, err);
        if (rc) break;
    }
    vec_free(&rt);
    vec_free(&rg);
    if (rc) return rc;
    st->tie_last = a->sp.jt == JT_RIGHT || a->sp.jt == JT_FULL;
    sql_ctx *ctx = a->base.qs->ctx;
    bool par = ctx && ctx->pool && ctx->threads > 1 && !sql_pool_in_task();
    if ((rc = asof_store_finish(st, par ? ctx->pool : NULL, par ? ctx->threads : 1, err))) return rc;
    if (a->sp.jt == JT_RIGHT || a->sp.jt == JT_FULL) a->used = qv_xcalloc((size_t)st->n + 1, 1);
    a->built = true;
    return 0;
}

static void attach(asof_op *a) {
    a->st = a->master->st;
    a->built = true;
}

static inline void put_out(vec *d, int i, const vec *src, int64_t r) {
    if (src->type == T_NULL || vec_null(src, (int)r)) {
        vec_set_null(d, i);
        if (type_pc(d->type) == PC_S) d->s[i] = (sv){"", 0};
        return;
    }
    switch (type_pc(d->type)) {
    case PC_I: d->i[i] = src->i[r]; break;
    case PC_F: d->f[i] = src->f[r]; break;
    case PC_S: d->s[i] = src->s[r]; break;
    }
}

/* Matches of the active rows of in (a->match, -1 none). */
static int find_matches(asof_op *a, const chunk *in, qv_err *err) {
    int n = chunk_active(in);
    for (int k = 0; k < a->sp.nkeys; k++)
        if (expr_eval(a->sp.lkeys[k], in, &a->lk[k], err)) return err->code;
    if (expr_eval(a->sp.ltime, in, &a->lt, err)) return err->code;
    if (a->sp.lgate && expr_eval(a->sp.lgate, in, &a->lg, err)) return err->code;
    const asof_store *st = a->st;
    if (!a->hint) a->hint = qv_xcalloc((size_t)st->npart + 1, sizeof(int64_t));
    bool gt = a->sp.op == OP_GE || a->sp.op == OP_LT, before = a->sp.op == OP_GE || a->sp.op == OP_GT;
    const vec *lt = &a->lt, *lg = a->sp.lgate ? &a->lg : NULL;
    bool tnull = lt->type == T_NULL;
    for (int k = 0; k < n; k++) {
        a->match[k] = -1;
        if (tnull || vec_null(lt, k) || !st->npart) continue;
        if (lg && (lg->type == T_NULL || vec_null(lg, k) || !lg->i[k])) continue;
        int32_t p = 0;
        if (a->sp.nkeys) {
            bool null;
            uint64_t h = asof_keys_hash(a->lk, a->sp.nkeys, k, &null);
            if (null || (p = asof_store_find(st, a->lk, k, h)) < 0) continue;
        }
        const int64_t *ut = st->ut + st->pstart[p];
        int64_t len = st->plen[p], i = seek(ut, len, a->hint[p], asof_time_key(lt, k), gt);
        a->hint[p] = i;
        if (before) i--;
        if (i >= 0 && i < len) a->match[k] = (int32_t)st->ur[st->pstart[p] + i];
    }
    return 0;
}

/* The output chunk for in: left vectors borrowed, right columns filled. */
static int emit_probe(asof_op *a, chunk *in) {
    int n = chunk_active(in), m = 0;
    bool keep_all = a->sp.jt == JT_LEFT || a->sp.jt == JT_FULL;
    chunk *o = &a->out;
    for (int c = 0; c < a->nl; c++) vec_borrow(&o->cols[c], &in->cols[c]);
    for (int c = 0; c < a->nr; c++) {
        vec *d = &o->cols[a->nl + c];
        const vec *src = &a->st->cols[c];
        vec_reset(d, d->type, in->n);
        for (int k = 0; k < n; k++) {
            int row = chunk_row(in, k);
            if (a->match[k] >= 0) put_out(d, row, src, a->match[k]);
            else if (keep_all) put_out(d, row, &(vec){.type = T_NULL}, 0);
        }
    }
    for (int k = 0; k < n; k++) {
        if (a->match[k] >= 0 && a->used) a->used[a->match[k]] = 1;
        if (keep_all || a->match[k] >= 0) o->sel[m++] = chunk_row(in, k);
    }
    o->n = in->n;
    o->has_sel = in->has_sel || m < n;
    o->nsel = m;
    return m;
}

static int emit_unmatched(asof_op *a) {
    int m = 0;
    int64_t rows[CHUNK];
    while (a->ub < a->st->n && m < CHUNK) {
        if (!a->used[a->ub]) rows[m++] = a->ub;
        a->ub++;
    }
    chunk *o = &a->out;
    for (int c = 0; c < a->nl + a->nr; c++) {
        vec *d = &o->cols[c];
        vec_reset(d, d->type, m);
        for (int i = 0; i < m; i++)
            if (c < a->nl) put_out(d, i, &(vec){.type = T_NULL}, 0);
            else put_out(d, i, &a->st->cols[c - a->nl], rows[i]);
    }
    o->n = m;
    o->has_sel = false;
    return m;
}

static int asof_next(op *o, chunk **out, qv_err *err) {
    asof_op *a = (asof_op *)o;
    if (!a->built) {
        if (a->master) attach(a);
        else if (build(a, err)) return err->code;
    }
    while (a->phase == 0) {
        chunk *in;
        if (qstate_check(o->qs, err)) return err->code;
        if (a->left->next(a->left, &in, err)) return err->code;
        if (!in) {
            if (a->master) { /* a clone: its scan may be pointed at another row group */
                *out = NULL;
                return 0;
            }
            a->phase = a->used ? 1 : 2;
            break;
        }
        if (find_matches(a, in, err)) return err->code;
        if (emit_probe(a, in) > 0) {
            *out = &a->out;
            return 0;
        }
    }
    if (a->phase == 1 && emit_unmatched(a) > 0) {
        *out = &a->out;
        return 0;
    }
    a->phase = 2;
    *out = NULL;
    return 0;
}

static void asof_free(op *o) {
    asof_op *a = (asof_op *)o;
    op_free(a->left);
    op_free(a->right);
    if (!a->master && a->st) {
        asof_store_free(a->st);
        free(a->st);
    }
    for (int k = 0; k < a->sp.nkeys; k++) {
        vec_free(&a->lk[k]);
        vec_free(&a->rk[k]);
    }
    free(a->lk);
    free(a->rk);
    vec_free(&a->lt);
    vec_free(&a->lg);
    free(a->hint);
    free(a->used);
    chunk_free(&a->out);
    free(o->types);
    free(a);
}

static const char *jt_name(join_type jt) {
    static const char *nm[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS", "SEMI", "ANTI"};
    return nm[jt];
}

static const char *op_sym(int op) { return op == OP_GE ? ">=" : op == OP_GT ? ">" : op == OP_LE ? "<=" : "<"; }

static void asof_explain(op *o, qv_str *s, int depth) {
    asof_op *a = (asof_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    if (a->master) {
        qv_str_appendf(s, "ASOF JOIN PROBE %s keys=%d time %s\n", jt_name(a->sp.jt), a->sp.nkeys, op_sym(a->sp.op));
        op_explain(a->left, s, depth + 1);
        return;
    }
    qv_str_appendf(s, "ASOF JOIN %s keys=%d time %s%s%s (merge per key partition)\n", jt_name(a->sp.jt), a->sp.nkeys,
                   op_sym(a->sp.op), a->sp.lgate ? " +left-gate" : "", a->sp.rgate ? " +right-gate" : "");
    if (a->left) op_explain(a->left, s, depth + 1);
    if (a->right) op_explain(a->right, s, depth + 1);
}

static asof_op *asof_alloc(qstate *qs, const asof_spec *spec, int nl, int nr, const qv_type *types) {
    asof_op *a = qv_xcalloc(1, sizeof *a);
    a->sp = *spec;
    a->nl = nl;
    a->nr = nr;
    a->lk = qv_xcalloc((size_t)spec->nkeys + 1, sizeof(vec));
    a->rk = qv_xcalloc((size_t)spec->nkeys + 1, sizeof(vec));
    for (int k = 0; k < spec->nkeys; k++) {
        vec_init(&a->lk[k], spec->lkeys[k]->type);
        vec_init(&a->rk[k], spec->rkeys[k]->type);
    }
    vec_init(&a->lt, spec->ltime->type);
    vec_init(&a->lg, QV_T_BOOL);
    a->base.name = "asof_join";
    a->base.ncols = nl + nr;
    a->base.types = qv_xcalloc((size_t)(nl + nr + 1), sizeof(qv_type));
    memcpy(a->base.types, types, sizeof(qv_type) * (size_t)(nl + nr));
    a->base.next = asof_next;
    a->base.free = asof_free;
    a->base.explain = asof_explain;
    a->base.qs = qs;
    chunk_init(&a->out, nl + nr, a->base.types);
    a->out.sel = qv_xmalloc(sizeof(int) * CHUNK);
    return a;
}

op *op_asof_join_new(qstate *qs, op *left, op *right, const asof_spec *spec) {
    int nl = left->ncols, nr = right->ncols;
    qv_type *types = qv_xcalloc((size_t)(nl + nr + 1), sizeof(qv_type));
    memcpy(types, left->types, sizeof(qv_type) * (size_t)nl);
    memcpy(types + nl, right->types, sizeof(qv_type) * (size_t)nr);
    asof_op *a = asof_alloc(qs, spec, nl, nr, types);
    free(types);
    a->left = left;
    a->right = right;
    a->st = qv_xcalloc(1, sizeof *a->st);
    asof_store_init(a->st, qs, nr, right->types, spec->nkeys, spec->rkeys, spec->label);
    return &a->base;
}

op *op_asof_master_new(qstate *qs, op *probe_shape, op *build_op, const asof_spec *spec) {
    asof_op *m = (asof_op *)op_asof_join_new(qs, probe_shape, build_op, spec);
    m->left = NULL; /* the master only builds; probe_shape belongs to a clone */
    return &m->base;
}

op *op_asof_clone_new(qstate *qs, op *master, op *probe) {
    asof_op *m = (asof_op *)master;
    asof_op *a = asof_alloc(qs, &m->sp, m->nl, m->nr, m->base.types);
    a->master = m;
    a->left = probe;
    return &a->base;
}

typedef struct pasof_op {
    op base;
    asof_op *m; /* owns the right child and the store */
    op *child;  /* the clones' pipelines */
    int n;
} pasof_op;

static int pasof_next(op *o, chunk **out, qv_err *err) {
    pasof_op *p = (pasof_op *)o;
    if (!p->m->built && build(p->m, err)) return err->code; /* on the calling thread, before any clone probes */
    return p->child->next(p->child, out, err);
}

static void pasof_free(op *o) {
    pasof_op *p = (pasof_op *)o;
    op_free(p->child);
    op_free(&p->m->base);
    free(o->types);
    free(p);
}

static void pasof_explain(op *o, qv_str *s, int depth) {
    pasof_op *p = (pasof_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "ASOF JOIN %s keys=%d time %s (merge per key partition), probed by %d workers\n",
                   jt_name(p->m->sp.jt), p->m->sp.nkeys, op_sym(p->m->sp.op), p->n);
    op_explain(p->m->right, s, depth + 1);
    op_explain(p->child, s, depth + 1);
}

op *op_asof_prebuild_new(qstate *qs, op *master, op *child, int n) {
    pasof_op *p = qv_xcalloc(1, sizeof *p);
    p->m = (asof_op *)master;
    p->n = n;
    p->child = child;
    p->base.name = "asof_join";
    p->base.next = pasof_next;
    p->base.free = pasof_free;
    p->base.explain = pasof_explain;
    p->base.qs = qs;
    p->base.ncols = child->ncols;
    p->base.types = qv_xcalloc((size_t)(child->ncols + 1), sizeof(qv_type));
    memcpy(p->base.types, child->types, sizeof(qv_type) * (size_t)child->ncols);
    return &p->base;
}

op *op_asof_parallel_new(qstate *qs, op **probes, op **scans, int n, int nrg, op *build_op, const asof_spec *spec) {
    op *m = op_asof_master_new(qs, probes[0], build_op, spec);
    op *kids[64];
    for (int w = 0; w < n; w++) kids[w] = op_asof_clone_new(qs, m, probes[w]);
    return op_asof_prebuild_new(qs, m, op_gather_rounds_new(qs, kids, scans, n, 0, nrg), n);
}
