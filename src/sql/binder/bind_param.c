/* Placeholders: `?` / `$N` become B_PARAM nodes. A node starts untyped
   (T_NULL) unless an earlier use of the same number inferred its type; the
   first context that coerces it (the other side of a comparison or of
   arithmetic, a CAST target, an INSERT target column) gives it that type
   and, if still open, the slot's. Nodes are listed in the query's
   sql_params so sql_query_bind can set their values. */
#include "bind.h"

#include <stdlib.h>

static void params_note(sql_params *ps, bexpr *e) {
    if (ps->nnodes == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 8;
        ps->nodes = qv_xrealloc(ps->nodes, sizeof(bexpr *) * (size_t)ps->cap);
    }
    ps->nodes[ps->nnodes++] = e;
}

bexpr *bind_param(binder *b, ast *a) {
    sql_params *ps = b->params;
    if (!ps || a->ival < 1 || a->ival > ps->n)
        return bd_fail(b, a, QV_EINVAL, "placeholder $%s is not allowed in %s", ast_to_name(b->ar, a) + 1,
                       b->clause ? b->clause : "this statement");
    bexpr *e = bd_mk(b, B_PARAM, ps->types[a->ival - 1], 0);
    e->op = (int)a->ival;
    e->cval.null = true;
    params_note(ps, e);
    return e;
}

bexpr *bind_param_type(binder *b, bexpr *e, qv_type t) {
    if (t == T_NULL) return e;
    e->type = t;
    sql_params *ps = b->params;
    if (ps && ps->types[e->op - 1] == T_NULL) ps->types[e->op - 1] = t; /* an INTERVAL slot is duration[ns] */
    return e;
}

void bind_params_finish(sql_params *ps) {
    if (!ps) return;
    for (int i = 0; i < ps->n; i++)
        if (ps->types[i] == T_NULL) ps->types[i] = QV_T_STRING;
    for (int i = 0; i < ps->nnodes; i++)
        if (ps->nodes[i]->type == T_NULL) ps->nodes[i]->type = ps->types[ps->nodes[i]->op - 1];
}
