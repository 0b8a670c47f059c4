/* Rows held in memory (a recursive CTE's, planner/rewrite/recursive.c) and the
   operator that streams them. A rowset owns deep copies of the chunks put
   into it (strings in each chunk's vector heaps). The operator hands out
   read-only views of those chunks (borrowed vectors in its own output
   chunk), so operators above may set selections without touching the
   rowset. States: filling (rowset_add) -> read by any number of operators,
   one after the other or at once -> freed by its owner: the operator made
   with own = true, else the planner. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

rowset *rowset_new(int ncols, const qv_type *types) {
    rowset *r = qv_xcalloc(1, sizeof *r);
    r->ncols = ncols;
    r->types = qv_xmalloc(sizeof(qv_type) * (size_t)(ncols ? ncols : 1));
    memcpy(r->types, types, sizeof(qv_type) * (size_t)ncols);
    return r;
}

void rowset_free(rowset *r) {
    if (!r) return;
    for (int i = 0; i < r->n; i++) chunk_free(&r->chunks[i]);
    free(r->chunks);
    free(r->types);
    free(r);
}

int64_t rowset_bytes(const rowset *r) { return r->rows * (int64_t)(r->ncols ? r->ncols : 1) * 16; }

void rowset_add(rowset *r, const chunk *c, const int *rows, int m) {
    if (m <= 0) return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->chunks = qv_xrealloc(r->chunks, sizeof(chunk) * (size_t)r->cap);
    }
    chunk *d = &r->chunks[r->n++];
    chunk_init(d, r->ncols, r->types);
    for (int j = 0; j < r->ncols; j++) {
        vec_reset(&d->cols[j], r->types[j], m);
        for (int k = 0; k < m; k++) vec_store_row(&d->cols[j], k, &c->cols[j], rows ? rows[k] : chunk_row(c, k));
    }
    d->n = m;
    r->rows += m;
}

typedef struct rowset_op {
    op base;
    rowset *rs;
    bool own;
    int next;
    chunk out;
} rowset_op;

static int rs_next(op *o, chunk **out, qv_err *err) {
    rowset_op *s = (rowset_op *)o;
    *out = NULL;
    if (qstate_check(o->qs, err)) return err->code;
    if (s->next >= s->rs->n) return 0;
    const chunk *c = &s->rs->chunks[s->next++];
    for (int j = 0; j < c->ncols; j++) vec_borrow(&s->out.cols[j], &c->cols[j]);
    s->out.n = c->n;
    s->out.has_sel = false;
    s->out.all_pass = false;
    *out = &s->out;
    return 0;
}

static void rs_free(op *o) {
    rowset_op *s = (rowset_op *)o;
    chunk_free(&s->out);
    if (s->own) rowset_free(s->rs);
    free(o->types);
    free(s);
}

static void rs_explain(op *o, qv_str *s, int depth) {
    rowset_op *r = (rowset_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "ROWS IN MEMORY %lld (recursive CTE)\n", (long long)r->rs->rows);
}

op *op_rowset_new(qstate *qs, rowset *rs, bool own) {
    rowset_op *s = qv_xcalloc(1, sizeof *s);
    s->rs = rs;
    s->own = own;
    s->base.name = "rowset";
    s->base.ncols = rs->ncols;
    s->base.types = qv_xmalloc(sizeof(qv_type) * (size_t)(rs->ncols ? rs->ncols : 1));
    memcpy(s->base.types, rs->types, sizeof(qv_type) * (size_t)rs->ncols);
    s->base.next = rs_next;
    s->base.free = rs_free;
    s->base.explain = rs_explain;
    s->base.qs = qs;
    chunk_init(&s->out, rs->ncols, rs->types);
    return &s->base;
}
