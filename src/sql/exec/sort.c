/* ORDER BY: materializes its input (strings copied), sorts a permutation,
   emits chunks. With a limit it is a top-N: whenever the buffer holds more
   than twice the limit it is sorted and cut back to the limit, so memory
   stays proportional to N. A top-N guard (below) under the projection that
   feeds it drops rows that cannot beat the current N-th row, and hands the
   scan a bound to skip whole row groups with. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

typedef struct sort_op {
    op base;
    op *child;
    int nkeys;
    int *cols;
    bool *desc, *nulls_first;
    int64_t limit;   /* rows needed (limit + offset), -1 all */
    vec *buf;        /* one growing vec per column */
    int64_t nrows;
    int32_t *perm;
    bool consumed;
    bool have_bound;    /* top-N: buffer row nrows-1 is the current N-th row */
    int *keep;
    int64_t emitted;
    int64_t charged;
    chunk out;
} sort_op;

static int cmp_rows(const void *pa, const void *pb, void *ctx) {
    sort_op *s = ctx;
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    for (int i = 0; i < s->nkeys; i++) {
        const vec *v = &s->buf[s->cols[i]];
        bool na = vec_null(v, a), nb = vec_null(v, b);
        if (na || nb) {
            if (na && nb) continue;
            int c = na ? 1 : -1; /* nulls last */
            return s->nulls_first[i] ? -c : c;
        }
        int c = 0;
        switch (type_pc(v->type)) {
        case PC_I: c = (v->i[a] > v->i[b]) - (v->i[a] < v->i[b]); break;
        case PC_F: c = dbl_cmp(v->f[a], v->f[b]); break;
        case PC_S: {
            value x = {.s = v->s[a]}, y = {.s = v->s[b]};
            c = value_cmp(PC_S, &x, &y);
            break;
        }
        }
        if (c) return s->desc[i] ? -c : c;
    }
    return (a > b) - (a < b); /* stable */
}

static void sort_perm(sort_op *s) {
    free(s->perm);
    s->perm = qv_xmalloc(sizeof(int32_t) * (size_t)(s->nrows ? s->nrows : 1));
    for (int64_t i = 0; i < s->nrows; i++) s->perm[i] = (int32_t)i;
    qsort_r(s->perm, (size_t)s->nrows, sizeof(int32_t), cmp_rows, s);
}

/* Compare row r of chunk c with buffer row b on the sort keys (nulls, direction). */
static int cmp_chunk_row(sort_op *s, const chunk *c, int r, int32_t b) {
    for (int i = 0; i < s->nkeys; i++) {
        const vec *cv = &c->cols[s->cols[i]], *bv = &s->buf[s->cols[i]];
        bool na = vec_null(cv, r), nb = vec_null(bv, b);
        if (na || nb) {
            if (na && nb) continue;
            int x = na ? 1 : -1;
            return s->nulls_first[i] ? -x : x;
        }
        int x = 0;
        switch (type_pc(bv->type)) {
        case PC_I: x = (cv->i[r] > bv->i[b]) - (cv->i[r] < bv->i[b]); break;
        case PC_F: x = dbl_cmp(cv->f[r], bv->f[b]); break;
        case PC_S: {
            value p = {.s = cv->s[r]}, q = {.s = bv->s[b]};
            x = value_cmp(PC_S, &p, &q);
            break;
        }
        }
        if (x) return s->desc[i] ? -x : x;
    }
    return 0;
}

/* Keep only the first `limit` rows in sorted order. */
static void compact(sort_op *s) {
    sort_perm(s);
    int64_t keep = s->limit < s->nrows ? s->limit : s->nrows;
    int nc = s->base.ncols;
    vec *nb = qv_xcalloc((size_t)(nc ? nc : 1), sizeof(vec));
    for (int c = 0; c < nc; c++) {
        vec_init(&nb[c], s->buf[c].type);
        vec_reset(&nb[c], s->buf[c].type, (int)(keep < 16 ? 16 : keep));
        for (int64_t r = 0; r < keep; r++) vec_copy_row(&nb[c], (int)r, &s->buf[c], s->perm[r]);
        vec_free(&s->buf[c]);
    }
    free(s->buf);
    s->buf = nb;
    s->nrows = keep;
    /* a later row that does not sort before the N-th row can never make the cut */
    s->have_bound = keep > 0 && keep == s->limit;
}

static int consume(sort_op *s, qv_err *err) {
    int nc = s->base.ncols;
    for (;;) {
        chunk *c;
        if (s->child->next(s->child, &c, err)) return err->code;
        if (!c) break;
        if (qstate_check(s->base.qs, err)) return err->code;
        int m = chunk_active(c);
        const int *rows = c->has_sel ? c->sel : NULL;
        if (s->have_bound) {
            int mk = 0;
            int32_t b = (int32_t)(s->limit - 1);
            const vec *kv = &c->cols[s->cols[0]], *bv = &s->buf[s->cols[0]];
            phys_class pc = type_pc(bv->type);
            if (!kv->has_nulls && !vec_null(bv, b) && pc != PC_S) {
                /* first key numeric without NULLs: decide on it alone unless it ties */
                bool desc = s->desc[0];
                for (int k = 0; k < m; k++) {
                    int r = chunk_row(c, k);
                    int x = pc == PC_I ? (kv->i[r] > bv->i[b]) - (kv->i[r] < bv->i[b])
                                       : dbl_cmp(kv->f[r], bv->f[b]);
                    if (desc) x = -x;
                    if (x < 0 || (x == 0 && s->nkeys > 1 && cmp_chunk_row(s, c, r, b) < 0)) s->keep[mk++] = r;
                }
            } else {
                for (int k = 0; k < m; k++) {
                    int r = chunk_row(c, k);
                    if (cmp_chunk_row(s, c, r, b) < 0) s->keep[mk++] = r;
                }
            }
            m = mk;
            rows = s->keep;
            if (!m) continue;
        }
        if (s->nrows + m > INT32_MAX) return qv_err_set(err, QV_ERESOURCE, "ORDER BY input is too large");
        int64_t bytes = (int64_t)m * (9 * nc + 4);
        for (int i = 0; i < nc; i++) {
            vec *b = &s->buf[i];
            vec_grow(b, (int)(s->nrows + m));
            b->n = (int)(s->nrows + m);
            phys_class pc = type_pc(b->type);
            for (int k = 0; k < m; k++) {
                int r = rows ? rows[k] : k;
                int j = (int)s->nrows + k;
                b->nulls[j] = 0;
                if (vec_null(&c->cols[i], r)) {
                    vec_set_null(b, j);
                    if (pc == PC_S) b->s[j] = (sv){"", 0};
                    continue;
                }
                if (pc == PC_I) b->i[j] = c->cols[i].i[r];
                else if (pc == PC_F) b->f[j] = c->cols[i].f[r];
                else {
                    vec_set_str(b, j, c->cols[i].s[r].p, c->cols[i].s[r].n);
                    bytes += c->cols[i].s[r].n;
                }
            }
        }
        s->nrows += m;
        s->charged += bytes;
        if (qstate_charge(s->base.qs, bytes, err)) return err->code;
        /* a small slack so the bound (and a guard's pre-filter) tightens early */
        if (s->limit >= 0 && s->nrows > 2 * s->limit + 64) {
            compact(s);
            qstate_release(s->base.qs, s->charged);
            s->charged = s->nrows * (9 * nc + 4);
            if (qstate_charge(s->base.qs, s->charged, err)) return err->code;
        }
    }
    if (s->limit >= 0) compact(s);
    sort_perm(s);
    return 0;
}

static int sort_next(op *o, chunk **out, qv_err *err) {
    sort_op *s = (sort_op *)o;
    if (!s->consumed) {
        if (consume(s, err)) return err->code;
        s->consumed = true;
    }
    if (s->emitted >= s->nrows) { *out = NULL; return 0; }
    int n = (int)(s->nrows - s->emitted < CHUNK ? s->nrows - s->emitted : CHUNK);
    for (int i = 0; i < o->ncols; i++) {
        vec *v = &s->out.cols[i];
        vec *b = &s->buf[i];
        vec_reset(v, b->type, n);
        phys_class pc = type_pc(b->type);
        for (int k = 0; k < n; k++) {
            int r = s->perm[s->emitted + k];
            if (vec_null(b, r)) {
                vec_set_null(v, k);
                if (pc == PC_S) v->s[k] = (sv){"", 0};
            } else if (pc == PC_I) v->i[k] = b->i[r];
            else if (pc == PC_F) v->f[k] = b->f[r];
            else v->s[k] = b->s[r];
        }
    }
    s->emitted += n;
    s->out.n = n;
    s->out.has_sel = false;
    *out = &s->out;
    return 0;
}

static void sort_free(op *o) {
    sort_op *s = (sort_op *)o;
    op_free(s->child);
    for (int i = 0; i < o->ncols; i++) vec_free(&s->buf[i]);
    free(s->buf);
    free(s->perm);
    free(s->cols);
    free(s->desc);
    free(s->nulls_first);
    free(s->keep);
    qstate_release(o->qs, s->charged);
    chunk_free(&s->out);
    free(s);
}

static void sort_explain(op *o, qv_str *str, int depth) {
    sort_op *s = (sort_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(str, "  ", 2);
    if (s->limit >= 0) qv_str_appendf(str, "TOP_N %lld keys=%d\n", (long long)s->limit, s->nkeys);
    else qv_str_appendf(str, "SORT keys=%d\n", s->nkeys);
    op_explain(s->child, str, depth + 1);
}

op *op_sort_new(qstate *qs, op *child, int nkeys, const int *cols, const bool *desc, const bool *nulls_first,
                int64_t limit) {
    sort_op *s = qv_xcalloc(1, sizeof *s);
    s->child = child;
    s->nkeys = nkeys;
    s->cols = qv_xmalloc(sizeof(int) * (size_t)(nkeys ? nkeys : 1));
    s->desc = qv_xmalloc(sizeof(bool) * (size_t)(nkeys ? nkeys : 1));
    s->nulls_first = qv_xmalloc(sizeof(bool) * (size_t)(nkeys ? nkeys : 1));
    memcpy(s->cols, cols, sizeof(int) * (size_t)nkeys);
    memcpy(s->desc, desc, sizeof(bool) * (size_t)nkeys);
    memcpy(s->nulls_first, nulls_first, sizeof(bool) * (size_t)nkeys);
    s->limit = limit;
    s->keep = qv_xmalloc(sizeof(int) * CHUNK);
    int nc = child->ncols;
    s->buf = qv_xcalloc((size_t)(nc ? nc : 1), sizeof(vec));
    for (int i = 0; i < nc; i++) {
        vec_init(&s->buf[i], child->types[i]);
        vec_reset(&s->buf[i], child->types[i], 16);
        s->buf[i].n = 0;
    }
    s->base.types = child->types;
    chunk_init(&s->out, nc, child->types);
    s->base.name = "sort";
    s->base.ncols = nc;
    s->base.next = sort_next;
    s->base.free = sort_free;
    s->base.explain = sort_explain;
    s->base.qs = qs;
    return &s->base;
}

/* ---------------- top-N guard ----------------
   Sits under the projection that feeds a top-N and drops the rows whose first
   sort key (a plain column of its input) cannot beat the top-N's current
   N-th row, so the projection only computes the survivors. Reads the sort's
   state, which is safe: the sort is its only caller, on the same thread. */
typedef struct guard_op {
    op base;
    op *child;
    sort_op *sort;   /* set by op_sort_set_guard */
    int col;         /* first sort key in the child's chunks */
    int *sel;
    scan_bound bound; /* handed to the scan below, if any */
} guard_op;

#define GUARD_LOOP(COND)                                                            \
    do {                                                                            \
        if (rows) for (int k = 0; k < m; k++) { int r = rows[k]; sel[ns] = r; ns += (COND); } \
        else for (int k = 0; k < m; k++) { int r = k; sel[ns] = r; ns += (COND); }  \
    } while (0)

/* Rows of c that may enter the top-N, into sel; -1 when the guard cannot tell. */
static int guard_rows(guard_op *g, const chunk *c, int *sel) {
    sort_op *s = g->sort;
    if (!s || !s->have_bound) return -1;
    int32_t b = (int32_t)(s->limit - 1);
    const vec *bv = &s->buf[s->cols[0]], *kv = &c->cols[g->col];
    phys_class pc = type_pc(bv->type);
    if (vec_null(bv, b) || pc == PC_S || type_pc(kv->type) != pc || kv->codes) return -1;
    int m = chunk_active(c), ns = 0;
    const int *rows = c->has_sel ? c->sel : NULL;
    /* ties with the N-th row only matter when later keys can break them */
    bool ties = s->nkeys > 1, desc = s->desc[0];
    /* later row groups are skipped on min/max the same way (the scan knows
       that a row group's NaNs lie outside its DOUBLE min/max) */
    g->bound.active = true;
    g->bound.keep_nulls = s->nulls_first[0];
    g->bound.op = desc ? (ties ? OP_GE : OP_GT) : (ties ? OP_LE : OP_LT);
    g->bound.vtype = bv->type;
    g->bound.v.i = pc == PC_I ? bv->i[b] : 0;
    g->bound.v.f = pc == PC_F ? bv->f[b] : 0;
    if (kv->has_nulls) {
        /* rare: decide row by row like cmp_chunk_row */
        const uint8_t *nu = kv->nulls;
        bool nf = s->nulls_first[0];
        for (int k = 0; k < m; k++) {
            int r = rows ? rows[k] : k;
            int x;
            if (nu[r]) x = nf ? -1 : 1;
            else {
                x = pc == PC_I ? (kv->i[r] > bv->i[b]) - (kv->i[r] < bv->i[b])
                               : dbl_cmp(kv->f[r], bv->f[b]);
                if (desc) x = -x;
            }
            sel[ns] = r;
            ns += x < 0 || (x == 0 && ties);
        }
        return ns;
    }
    if (pc == PC_I) {
        const int64_t *v = kv->i, t = bv->i[b];
        if (desc) { if (ties) GUARD_LOOP(v[r] >= t); else GUARD_LOOP(v[r] > t); }
        else { if (ties) GUARD_LOOP(v[r] <= t); else GUARD_LOOP(v[r] < t); }
    } else {
        /* the sort's total order on doubles (NaN greatest) */
        const double *v = kv->f, t = bv->f[b];
        if (desc) { if (ties) GUARD_LOOP(!dbl_lt(v[r], t)); else GUARD_LOOP(dbl_lt(t, v[r])); }
        else { if (ties) GUARD_LOOP(!dbl_lt(t, v[r])); else GUARD_LOOP(dbl_lt(v[r], t)); }
    }
    return ns;
}

static int guard_next(op *o, chunk **out, qv_err *err) {
    guard_op *g = (guard_op *)o;
    for (;;) {
        chunk *c;
        if (g->child->next(g->child, &c, err)) return err->code;
        if (!c) { *out = NULL; return 0; }
        int ns = guard_rows(g, c, g->sel);
        if (ns < 0) { *out = c; return 0; }
        if (!ns) continue;
        int *t = c->sel;
        c->sel = g->sel;
        g->sel = t ? t : qv_xmalloc(sizeof(int) * CHUNK);
        c->nsel = ns;
        c->has_sel = true;
        *out = c;
        return 0;
    }
}

static void guard_free(op *o) {
    guard_op *g = (guard_op *)o;
    op_free(g->child);
    free(g->sel);
    free(g);
}

static void guard_explain(op *o, qv_str *str, int depth) {
    guard_op *g = (guard_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(str, "  ", 2);
    qv_str_appendf(str, "TOP_N_GUARD\n");
    op_explain(g->child, str, depth + 1);
}

op *op_topn_guard_new(qstate *qs, op *child, int col, op *scan) {
    guard_op *g = qv_xcalloc(1, sizeof *g);
    g->child = child;
    g->col = col;
    g->bound.col = col;
    if (scan) op_scan_set_bound(scan, &g->bound);
    g->sel = qv_xmalloc(sizeof(int) * CHUNK);
    g->base.name = "topn_guard";
    g->base.ncols = child->ncols;
    g->base.types = child->types;
    g->base.next = guard_next;
    g->base.free = guard_free;
    g->base.explain = guard_explain;
    g->base.qs = qs;
    return &g->base;
}

void op_sort_set_guard(op *sort, op *guard) {
    sort_op *s = (sort_op *)sort;
    guard_op *g = (guard_op *)guard;
    if (s->limit >= 0 && s->nkeys > 0) g->sort = s;
}
