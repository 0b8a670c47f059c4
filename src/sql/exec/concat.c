/* Concatenation (UNION ALL): streams each child to its end, in order. Owns
   its children; hands their chunks on unchanged. */
#include "exec.h"

#include <stdlib.h>

typedef struct concat_op {
    op base;
    op **kids;
    int n, cur;
} concat_op;

static int concat_next(op *o, chunk **out, qv_err *err) {
    concat_op *c = (concat_op *)o;
    while (c->cur < c->n) {
        if (qstate_check(o->qs, err)) return err->code;
        op *k = c->kids[c->cur];
        if (k->next(k, out, err)) return err->code;
        if (*out) return 0;
        c->cur++;
    }
    *out = NULL;
    return 0;
}

static void concat_free(op *o) {
    concat_op *c = (concat_op *)o;
    for (int i = 0; i < c->n; i++) op_free(c->kids[i]);
    free(c->kids);
    free(o->types);
    free(c);
}

static void concat_explain(op *o, qv_str *s, int depth) {
    concat_op *c = (concat_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "UNION ALL %d inputs\n", c->n);
    for (int i = 0; i < c->n; i++) op_explain(c->kids[i], s, depth + 1);
}

op *op_concat_new(qstate *qs, op **kids, int n) {
    concat_op *c = qv_xcalloc(1, sizeof *c);
    c->kids = qv_xmalloc(sizeof(op *) * (size_t)n);
    for (int i = 0; i < n; i++) c->kids[i] = kids[i];
    c->n = n;
    c->base.ncols = kids[0]->ncols;
    c->base.types = qv_xcalloc((size_t)(c->base.ncols + 1), sizeof(qv_type));
    for (int i = 0; i < c->base.ncols; i++) c->base.types[i] = kids[0]->types[i];
    c->base.name = "concat";
    c->base.next = concat_next;
    c->base.free = concat_free;
    c->base.explain = concat_explain;
    c->base.qs = qs;
    return &c->base;
}
