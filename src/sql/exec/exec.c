/* Streaming operators: one-row values, filter (sets the selection vector),
   project, limit; query memory and cancellation (the scan is in scan.c).
   Each operator owns its output chunk; a chunk handed up stays valid until
   the next call. */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qstate_charge(qstate *qs, int64_t bytes, qv_err *err) {
    int64_t now = atomic_fetch_add(&qs->mem, bytes) + bytes;
    if (qs->mem_limit > 0 && now > qs->mem_limit)
        return qv_err_set(err, QV_ERESOURCE, "query exceeded its memory limit of %lld bytes (--query-memory)",
                          (long long)qs->mem_limit);
    return 0;
}

void qstate_release(qstate *qs, int64_t bytes) { atomic_fetch_sub(&qs->mem, bytes); }

int qstate_check(qstate *qs, qv_err *err) {
    if (atomic_load(&qs->cancelled)) return qv_err_set(err, QV_ECANCELLED, "query cancelled");
    return 0;
}

void op_free(op *o) {
    if (!o) return;
    o->free(o);
}

void op_explain(op *o, qv_str *s, int depth) { o->explain(o, s, depth); }

static void indent(qv_str *s, int depth) {
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
}

/* ---------------- values: one row, no columns ---------------- */
typedef struct values_op {
    op base;
    bool done;
    chunk out;
} values_op;

static int values_next(op *o, chunk **out, qv_err *err) {
    values_op *v = (values_op *)o;
    (void)err;
    if (v->done) { *out = NULL; return 0; }
    v->done = true;
    v->out.n = 1;
    *out = &v->out;
    return 0;
}
static void values_free(op *o) {
    chunk_free(&((values_op *)o)->out);
    free(o);
}
static void values_explain(op *o, qv_str *s, int depth) {
    (void)o;
    indent(s, depth);
    qv_str_appendf(s, "VALUES (one row)\n");
}
op *op_values_new(qstate *qs) {
    values_op *v = qv_xcalloc(1, sizeof *v);
    chunk_init(&v->out, 0, NULL);
    v->base.name = "values";
    v->base.next = values_next;
    v->base.free = values_free;
    v->base.explain = values_explain;
    v->base.qs = qs;
    return &v->base;
}

/* ---------------- filter ---------------- */
typedef struct filter_op {
    op base;
    op *child;
    bool covered;
    bexpr *pred;
    bexpr *conj[32]; /* AND-ed parts, applied one after another on fewer rows */
    int nconj;
    vec res;
    int *sel;
} filter_op;

static int filter_next(op *o, chunk **out, qv_err *err) {
    filter_op *f = (filter_op *)o;
    for (;;) {
        chunk *c;
        if (f->child->next(f->child, &c, err)) return err->code;
        if (!c) { *out = NULL; return 0; }
        if (f->covered && c->all_pass) {
            *out = c;
            return 0;
        }
        int ns = 0;
        for (int j = 0; j < f->nconj; j++) {
            ns = expr_select(f->conj[j], c, &f->res, f->sel, err);
            if (ns < 0) return err->code;
            /* the new selection replaces the one it was computed from */
            int *t = c->sel;
            c->sel = f->sel;
            f->sel = t ? t : qv_xmalloc(sizeof(int) * CHUNK);
            c->nsel = ns;
            c->has_sel = true;
            if (!ns) break;
        }
        if (!ns) continue;
        *out = c;
        return 0;
    }
}
static void filter_free(op *o) {
    filter_op *f = (filter_op *)o;
    op_free(f->child);
    vec_free(&f->res);
    free(f->sel);
    free(f);
}
static void filter_explain(op *o, qv_str *s, int depth) {
    filter_op *f = (filter_op *)o;
    indent(s, depth);
    qv_str_appendf(s, f->covered ? "FILTER (skipped on row groups whose min/max satisfy it)\n" : "FILTER\n");
    op_explain(f->child, s, depth + 1);
}
void op_filter_set_covered(op *o) { ((filter_op *)o)->covered = true; }

op *op_filter_new(qstate *qs, op *child, bexpr *pred) {
    filter_op *f = qv_xcalloc(1, sizeof *f);
    f->child = child;
    f->pred = pred;
    /* flatten the AND tree (left to right) while it fits */
    bexpr *stack[64];
    int sp = 0;
    stack[sp++] = pred;
    while (sp) {
        bexpr *e = stack[--sp];
        if (e->kind == B_BINARY && e->op == OP_AND && sp + 2 <= 64 && f->nconj + sp + 2 <= 32) {
            stack[sp++] = e->args[1];
            stack[sp++] = e->args[0];
        } else if (f->nconj < 32) {
            f->conj[f->nconj++] = e;
        } else { /* cannot happen given the bounds above; keep the whole predicate */
            f->conj[0] = pred;
            f->nconj = 1;
            break;
        }
    }
    vec_init(&f->res, QV_T_BOOL);
    f->sel = qv_xmalloc(sizeof(int) * CHUNK);
    f->base.name = "filter";
    f->base.ncols = child->ncols;
    f->base.types = child->types;
    f->base.next = filter_next;
    f->base.free = filter_free;
    f->base.explain = filter_explain;
    f->base.qs = qs;
    return &f->base;
}

/* ---------------- project ---------------- */
typedef struct project_op {
    op base;
    op *child;
    int n;
    bexpr **exprs;
    chunk out;
} project_op;

static int project_next(op *o, chunk **out, qv_err *err) {
    project_op *p = (project_op *)o;
    chunk *c;
    if (p->child->next(p->child, &c, err)) return err->code;
    if (!c) { *out = NULL; return 0; }
    for (int i = 0; i < p->n; i++)
        if (expr_eval(p->exprs[i], c, &p->out.cols[i], err)) return err->code;
    p->out.n = chunk_active(c);
    p->out.has_sel = false;
    *out = &p->out;
    return 0;
}
static void project_free(op *o) {
    project_op *p = (project_op *)o;
    op_free(p->child);
    chunk_free(&p->out);
    free(o->types);
    free(p);
}
static void project_explain(op *o, qv_str *s, int depth) {
    project_op *p = (project_op *)o;
    indent(s, depth);
    qv_str_appendf(s, "PROJECT %d expression%s\n", p->n, p->n == 1 ? "" : "s");
    op_explain(p->child, s, depth + 1);
}
op *op_project_new(qstate *qs, op *child, int n, bexpr **exprs) {
    project_op *p = qv_xcalloc(1, sizeof *p);
    p->child = child;
    p->n = n;
    p->exprs = exprs;
    p->base.types = qv_xcalloc((size_t)(n ? n : 1), sizeof(qv_type));
    for (int i = 0; i < n; i++) p->base.types[i] = exprs[i]->type;
    chunk_init(&p->out, n, p->base.types);
    p->base.name = "project";
    p->base.ncols = n;
    p->base.next = project_next;
    p->base.free = project_free;
    p->base.explain = project_explain;
    p->base.qs = qs;
    return &p->base;
}

/* ---------------- limit ---------------- */
typedef struct limit_op {
    op base;
    op *child;
    int64_t limit, offset, skip_left, take_left;
    int *sel;
} limit_op;

static int limit_next(op *o, chunk **out, qv_err *err) {
    limit_op *l = (limit_op *)o;
    for (;;) {
        if (l->limit >= 0 && l->take_left <= 0) { *out = NULL; return 0; }
        chunk *c;
        if (l->child->next(l->child, &c, err)) return err->code;
        if (!c) { *out = NULL; return 0; }
        int m = chunk_active(c);
        int skip = (int)(l->skip_left < m ? l->skip_left : m);
        l->skip_left -= skip;
        int take = m - skip;
        if (l->limit >= 0 && take > l->take_left) take = (int)l->take_left;
        l->take_left -= take;
        if (!take) continue;
        if (skip || take < m) {
            for (int k = 0; k < take; k++) l->sel[k] = chunk_row(c, skip + k);
            if (!c->sel) c->sel = qv_xmalloc(sizeof(int) * CHUNK);
            memcpy(c->sel, l->sel, sizeof(int) * (size_t)take);
            c->nsel = take;
            c->has_sel = true;
        }
        *out = c;
        return 0;
    }
}
static void limit_free(op *o) {
    limit_op *l = (limit_op *)o;
    op_free(l->child);
    free(l->sel);
    free(l);
}
static void limit_explain(op *o, qv_str *s, int depth) {
    limit_op *l = (limit_op *)o;
    indent(s, depth);
    qv_str_appendf(s, "LIMIT %lld OFFSET %lld\n", (long long)l->limit, (long long)l->offset);
    op_explain(l->child, s, depth + 1);
}
op *op_limit_new(qstate *qs, op *child, int64_t limit, int64_t offset) {
    limit_op *l = qv_xcalloc(1, sizeof *l);
    l->child = child;
    l->limit = limit;
    l->offset = offset;
    l->skip_left = offset;
    l->take_left = limit;
    l->sel = qv_xmalloc(sizeof(int) * CHUNK);
    l->base.name = "limit";
    l->base.ncols = child->ncols;
    l->base.types = child->types;
    l->base.next = limit_next;
    l->base.free = limit_free;
    l->base.explain = limit_explain;
    l->base.qs = qs;
    return &l->base;
}
