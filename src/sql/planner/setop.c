/* UNION [ALL] / INTERSECT [ALL] / EXCEPT [ALL]. Both sides are planned on
   their own and cast to common column types (numbers widen; anything else
   mixed with text becomes text); names come from the left side. UNION ALL
   concatenates; UNION adds a DISTINCT; INTERSECT / EXCEPT are semi / anti
   hash joins on all columns with NULLs equal (ALL variants consume one
   right row per match). ORDER BY / LIMIT over the whole are planned as
   SELECT * FROM (<set operation>) ORDER BY ... LIMIT ... UNION BY NAME
   first aligns the sides' columns by name (setop_name.c). */
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static qv_type unify(qv_type a, qv_type b) {
    bool ok;
    qv_type t = bd_common_type(a, b, &ok);
    if (!ok) return QV_T_STRING;
    return t == T_NULL ? QV_T_INT32 : t;
}

/* A projection casting o's columns to types (always added: join inputs must be dense). */
static op *cast_to(qstate *qs, arena *ar, op *o, const qv_type *types, qv_err *err) {
    binder b = {.ar = ar, .err = err};
    bexpr **pe = arena_alloc(ar, sizeof(bexpr *) * (size_t)(o->ncols + 1));
    for (int i = 0; i < o->ncols; i++) {
        bexpr *c = mk_col(ar, i, o->types[i], NULL);
        if (o->types[i] == T_NULL) {
            c = bd_mk(&b, B_CONST, types[i], 0);
            c->cval.null = true;
        }
        if (!(pe[i] = bind_coerce(&b, c, types[i]))) return NULL;
    }
    return op_project_new(qs, o, o->ncols, pe);
}

static op *distinct_of(qstate *qs, arena *ar, op *o) {
    bexpr **k = arena_alloc(ar, sizeof(bexpr *) * (size_t)(o->ncols + 1));
    for (int i = 0; i < o->ncols; i++) k[i] = mk_col(ar, i, o->types[i], NULL);
    return op_agg_new(qs, o, o->ncols, k, 0, NULL);
}

static int wrap_order(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err) {
    select_stmt *inner = s->set_l;
    if (s->setop) {
        inner = arena_alloc(ar, sizeof *inner);
        *inner = *s;
        inner->norder = 0;
        inner->order = NULL;
        inner->order_all = false;
        inner->limit = -1;
        inner->offset = 0;
    }
    select_stmt *outer = arena_alloc(ar, sizeof *outer);
    outer->limit = s->limit;
    outer->offset = s->offset;
    outer->order = s->order;
    outer->norder = s->norder;
    outer->order_all = s->order_all; /* ORDER BY ALL: order[0] has no expression */
    outer->has_from = true;
    outer->sub = inner;
    outer->items = arena_alloc(ar, sizeof(sel_item));
    outer->items[0].e = arena_alloc(ar, sizeof(ast));
    outer->items[0].e->kind = A_STAR;
    outer->nitems = 1;
    return plan_select(ctx, qs, ar, outer, false, p, err);
}

int plan_setop(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err) {
    if (!s->setop || s->norder || s->limit >= 0 || s->offset) return wrap_order(ctx, qs, ar, s, p, err);
    static const char *nm[] = {"", "UNION", "INTERSECT", "EXCEPT"};
    memset(p, 0, sizeof *p);
    qv_schema_init(&p->schema);
    p->total_rows = -1;
    plan L, R;
    if (plan_select(ctx, qs, ar, s->set_l, false, &L, err)) return err->code;
    if (plan_select(ctx, qs, ar, s->set_r, false, &R, err)) {
        plan_free(&L);
        return err->code;
    }
    plan_adopt(p, &L);
    plan_adopt(p, &R);
    int n = L.schema.nfields, rc = 0;
    op *l = L.root, *r = R.root;
    L.root = R.root = NULL;
    setop_names names = {NULL, 0};
    if (s->set_by_name) {
        if ((rc = plan_setop_by_name(qs, ar, &l, &L.schema, &r, &R.schema, &names, err))) goto out;
        n = names.n;
    } else if (R.schema.nfields != n) {
        rc = qv_err_set(err, QV_EINVAL, "%s%s: the left side has %d columns and the right side %d", nm[s->setop],
                        s->set_all ? " ALL" : "", n, R.schema.nfields);
        goto out;
    }
    qv_type *types = arena_alloc(ar, sizeof(qv_type) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) types[i] = unify(l->types[i], r->types[i]);
    op *cl = cast_to(qs, ar, l, types, err);
    if (!cl) { rc = err->code; goto out; }
    l = NULL;
    op *cr = cast_to(qs, ar, r, types, err);
    if (!cr) { op_free(cl); rc = err->code; goto out; }
    r = NULL;
    if (s->setop == SET_UNION) {
        op *kids[2] = {cl, cr};
        p->root = op_concat_new(qs, kids, 2);
        if (!s->set_all) p->root = distinct_of(qs, ar, p->root);
    } else {
        if (!s->set_all) cl = distinct_of(qs, ar, cl);
        join_spec sp = {.jt = s->setop == SET_INTERSECT ? JT_SEMI : JT_ANTI, .nkeys = n, .null_eq = true,
                        .consume = s->set_all, .label = nm[s->setop]};
        sp.lkeys = arena_alloc(ar, sizeof(bexpr *) * (size_t)(n + 1));
        sp.rkeys = arena_alloc(ar, sizeof(bexpr *) * (size_t)(n + 1));
        for (int i = 0; i < n; i++) sp.lkeys[i] = sp.rkeys[i] = mk_col(ar, i, types[i], NULL);
        if (s->set_all || true) cl = op_project_new(qs, cl, n, sp.lkeys);
        p->root = op_hash_join_new(qs, cl, cr, &sp);
    }
    static const lg_kind lk[] = {[SET_UNION] = LG_UNION, [SET_INTERSECT] = LG_INTERSECT, [SET_EXCEPT] = LG_EXCEPT};
    p->logical = lg_node(ar, lk[s->setop], L.logical, R.logical);
    p->logical->all = s->set_all;
    for (int i = 0; i < n; i++) {
        const qv_field *f = names.f ? names.f[i] : &L.schema.fields[i];
        sql_schema_add(&p->schema, f->name, types[i], true);
        memcpy(p->schema.fields[i].tz, f->tz, sizeof p->schema.fields[i].tz);
    }
out:
    op_free(l);
    op_free(r);
    plan_free(&L);
    plan_free(&R);
    if (rc) plan_free(p);
    return rc;
}
