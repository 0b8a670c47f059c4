/* Statement rewrites done on the AST before planning (the AST is shared, so
   each makes copies):
   - GROUPING SETS / ROLLUP / CUBE: one GROUP BY per set, keys outside the set
     replaced by NULL and grouping(...) by its bits, combined with UNION ALL;
     ORDER BY / LIMIT apply to the whole.
   - DISTINCT ON (keys): the statement sorted by its ORDER BY in a subquery,
     then first() of every column per key, then ORDER BY / LIMIT again.
   ([NOT] EXISTS in WHERE as semi / anti joins: exists.c) */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static ast *mk_ast(arena *ar, ast_kind k, const ast *at) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = k;
    a->line = at ? at->line : 0;
    a->col = at ? at->col : 0;
    a->height = 1;
    return a;
}

static bool in_set(const ast *a, ast **set, int n) {
    for (int i = 0; i < n; i++)
        if (ast_equal(set[i], a)) return true;
    return false;
}

static ast *replace_keys(arena *ar, ast *a, const select_stmt *s, ast **set, int n) {
    if (!a) return NULL;
    if (a->kind == A_FUNC && (!strcasecmp(a->name, "grouping") || !strcasecmp(a->name, "grouping_id"))) {
        ast *r = mk_ast(ar, A_INT, a);
        for (int i = 0; i < a->nargs; i++) r->ival = r->ival * 2 + !in_set(a->args[i], set, n);
        r->fval = (double)r->ival;
        return r;
    }
    if (in_set(a, s->group, s->ngroup)) return in_set(a, set, n) ? a : mk_ast(ar, A_NULL, a);
    if (a->kind == A_FUNC && is_agg_name(a->name)) return a;
    if (!a->nargs) return a;
    ast *c = arena_alloc(ar, sizeof *c);
    *c = *a;
    c->args = arena_alloc(ar, sizeof(ast *) * (size_t)a->nargs);
    for (int i = 0; i < a->nargs; i++) c->args[i] = replace_keys(ar, a->args[i], s, set, n);
    return c;
}

static char *item_name(arena *ar, const sel_item *it) {
    if (it->alias) return it->alias;
    if (it->e->kind == A_COL) return it->e->name;
    return ast_to_name(ar, it->e);
}

static select_stmt *copy_sel(arena *ar, const select_stmt *s) {
    select_stmt *c = arena_alloc(ar, sizeof *c);
    *c = *s;
    return c;
}

static select_stmt *union_all(arena *ar, select_stmt *l, select_stmt *r) {
    select_stmt *u = arena_alloc(ar, sizeof *u);
    u->limit = -1;
    u->setop = SET_UNION;
    u->set_all = true;
    u->set_l = l;
    u->set_r = r;
    return u;
}

int plan_grouping_sets(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err) {
    select_stmt *tree = NULL;
    for (int g = 0; g < s->ngsets; g++) {
        select_stmt *q = copy_sel(ar, s);
        q->gsets = NULL;
        q->ngsets = 0;
        q->group = s->gsets[g];
        q->ngroup = s->gset_n[g];
        q->order = NULL;
        q->norder = 0;
        q->limit = -1;
        q->offset = 0;
        q->items = arena_alloc(ar, sizeof(sel_item) * (size_t)(s->nitems + 1));
        for (int i = 0; i < s->nitems; i++) {
            if (s->items[i].e->kind == A_STAR)
                return qv_err_set(err, QV_EUNSUPPORTED, "SELECT * with GROUPING SETS / ROLLUP / CUBE is not supported");
            q->items[i].e = replace_keys(ar, s->items[i].e, s, q->group, q->ngroup);
            q->items[i].alias = item_name(ar, &s->items[i]);
        }
        q->having = replace_keys(ar, s->having, s, q->group, q->ngroup);
        if (!q->ngroup && !q->having) { /* the empty set: one row even without aggregates */
            q->having = mk_ast(ar, A_BOOL, NULL);
            q->having->ival = 1;
        }
        tree = tree ? union_all(ar, tree, q) : q;
    }
    if (s->norder || s->limit >= 0 || s->offset) {
        select_stmt *w = arena_alloc(ar, sizeof *w);
        w->limit = s->limit;
        w->offset = s->offset;
        w->order = s->order;
        w->norder = s->norder;
        w->set_l = tree;
        tree = w;
    }
    return plan_select(ctx, qs, ar, tree, false, p, err);
}

static ast *col_ref(arena *ar, const char *name, const ast *at) {
    ast *a = mk_ast(ar, A_COL, at);
    a->name = (char *)name;
    return a;
}

static ast *first_of(arena *ar, ast *arg) {
    ast *f = mk_ast(ar, A_FUNC, arg);
    f->name = "first";
    f->args = arena_alloc(ar, sizeof(ast *));
    f->args[0] = arg;
    f->nargs = 1;
    f->height = 2;
    return f;
}

int plan_distinct_on(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err) {
    int ni = s->nitems, nk = s->ndistinct_on, no = s->norder;
    select_stmt *in = copy_sel(ar, s);
    in->distinct_on = NULL;
    in->ndistinct_on = 0;
    in->limit = -1;
    in->offset = 0;
    in->items = arena_alloc(ar, sizeof(sel_item) * (size_t)(ni + nk + no + 1));
    in->nitems = 0;
    char **names = arena_alloc(ar, sizeof(char *) * (size_t)(ni + 1));
    for (int i = 0; i < ni; i++) {
        if (s->items[i].e->kind == A_STAR)
            return qv_err_set(err, QV_EUNSUPPORTED, "SELECT DISTINCT ON with * is not supported; list the columns");
        in->items[in->nitems] = s->items[i];
        in->items[in->nitems++].alias = names[i] = item_name(ar, &s->items[i]);
    }
    for (int k = 0; k < nk; k++) {
        char nm[40];
        snprintf(nm, sizeof nm, "__distinct_on_%d", k);
        in->items[in->nitems].e = s->distinct_on[k];
        in->items[in->nitems++].alias = arena_strdup(ar, nm);
    }
    for (int o = 0; o < no; o++) {
        char nm[40];
        snprintf(nm, sizeof nm, "__order_%d", o);
        in->items[in->nitems].e = s->order[o].e;
        in->items[in->nitems++].alias = arena_strdup(ar, nm);
    }
    select_stmt *out = arena_alloc(ar, sizeof *out);
    out->has_from = true;
    out->sub = in;
    out->alias = "__distinct_on";
    out->limit = s->limit;
    out->offset = s->offset;
    out->items = arena_alloc(ar, sizeof(sel_item) * (size_t)(ni + 1));
    out->nitems = ni;
    for (int i = 0; i < ni; i++) {
        out->items[i].e = first_of(ar, col_ref(ar, names[i], s->items[i].e));
        out->items[i].alias = names[i];
    }
    out->group = arena_alloc(ar, sizeof(ast *) * (size_t)(nk + 1));
    out->ngroup = nk;
    for (int k = 0; k < nk; k++) out->group[k] = col_ref(ar, in->items[ni + k].alias, s->distinct_on[k]);
    out->order = arena_alloc(ar, sizeof(order_item) * (size_t)(no + 1));
    out->norder = no;
    for (int o = 0; o < no; o++) {
        out->order[o] = s->order[o];
        out->order[o].e = first_of(ar, col_ref(ar, in->items[ni + nk + o].alias, s->order[o].e));
    }
    return plan_select(ctx, qs, ar, out, false, p, err);
}
