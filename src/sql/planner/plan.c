/* Planner for SELECT: binds the statement against its FROM source, one
   stage per clause (source, select list, WHERE, GROUP BY, outputs and
   HAVING, ORDER BY, QUALIFY) over a select_ctx (plan_int.h); plan_ops.c
   stacks the operators: scan -> filter -> [aggregate -> having] -> project
   -> [distinct] -> [sort/top-N] -> [limit] -> [drop hidden sort columns]. */
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void plan_free(plan *p) {
    op_free(p->root);
    p->root = NULL;
    for (int i = 0; i < p->ntables; i++) {
        if (p->snaps[i]) st_snapshot_close(p->snaps[i]);
        st_table_release(p->tables[i]);
    }
    free(p->tables);
    free(p->snaps);
    free(p->pt_cols);
    p->tables = NULL;
    p->snaps = NULL;
    p->pt_cols = NULL;
    p->ntables = 0;
    p->logical = p->logical_src = NULL; /* arena */
    qv_schema_free(&p->schema);
}

int sql_table_open(st_db *db, const char *name, st_table **out, qv_err *err) {
    int rc = st_table_open(db, name, out, err);
    if (rc != QV_ENOTFOUND) return rc;
    /* identifiers are case-insensitive: accept the one table whose name matches that way */
    st_table_info *infos;
    int n, found = -1, nfound = 0;
    qv_err tmp = {0};
    if (st_db_list(db, &infos, &n, &tmp)) return rc;
    for (int i = 0; i < n; i++)
        if (!strcasecmp(infos[i].name, name)) {
            found = i;
            nfound++;
        }
    if (nfound == 1) {
        qv_err_clear(err);
        rc = st_table_open(db, infos[found].name, out, err);
    }
    st_table_info_free_all(infos, n);
    return rc;
}

void plan_adopt(plan *p, plan *sub) {
    for (int i = 0; i < sub->ntables; i++) plan_add_table(p, sub->tables[i], sub->snaps[i]);
    sub->ntables = 0;
}

void plan_add_table(plan *p, st_table *t, st_snapshot *s) {
    p->tables = qv_xrealloc(p->tables, sizeof(st_table *) * (size_t)(p->ntables + 1));
    p->snaps = qv_xrealloc(p->snaps, sizeof(st_snapshot *) * (size_t)(p->ntables + 1));
    p->tables[p->ntables] = t;
    p->snaps[p->ntables] = s;
    p->ntables++;
}

/* EXCLUDE / REPLACE of a star for column name: -1 excluded, i >= 0 replaced by args[i], -2 neither. */
static int star_option(const ast *star, const char *name) {
    for (int i = 0; i < star->nexcl; i++)
        if (!strcasecmp(star->names[i], name)) return -1;
    for (int i = 0; i < star->nargs; i++)
        if (!strcasecmp(star->names[star->nexcl + i], name)) return i;
    return -2;
}

static ast *pos_ast(arena *ar, int pos, const ast *at) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = A_INT;
    a->ival = pos;
    a->fval = pos;
    a->line = at->line;
    a->col = at->col;
    return a;
}


/* A failed stage: its status for plan_select to return (0: err's). */
static bool sel_fail(select_ctx *c, int rc) {
    c->rc = rc;
    return false;
}

/* FROM one table: its snapshot (p's from here on), logical scan and scope.
   Nonzero when the table cannot be opened (err says why). */
static int sel_from_table(select_ctx *c) {
    const select_stmt *s = c->s;
    int rc = sql_table_open(c->ctx->db, s->table, &c->tab, c->err);
    if (rc) {
        if (c->err->code == QV_ENOTFOUND)
            qv_err_set(c->err, QV_ENOTFOUND, "table '%s' does not exist (line %d, column %d)", s->table, s->table_line,
                       s->table_col);
        return rc;
    }
    st_snapshot_open(c->tab, &c->snap);
    plan_add_table(c->p, c->tab, c->snap);
    c->p->logical_src = lg_scan(c->ar, st_table_name(c->tab), s->alias, NULL, st_snapshot_rows(c->snap));
    const qv_schema *ts = st_table_schema(c->tab);
    scope *sc = &c->sc;
    sc->n = ts->nfields;
    sc->cols = arena_alloc(c->ar, sizeof(scope_col) * (size_t)(sc->n ? sc->n : 1));
    const char *qual = s->alias ? s->alias : st_table_name(c->tab);
    for (int i = 0; i < sc->n; i++) {
        sc->cols[i].name = ts->fields[i].name;
        sc->cols[i].qual = qual;
        sc->cols[i].type = ts->fields[i].type == QV_T_SYMBOL ? QV_T_STRING : sql_field_type(&ts->fields[i]);
        memcpy(sc->cols[i].tz, ts->fields[i].tz, sizeof sc->cols[i].tz);
    }
    return 0;
}

/* FROM (subquery): planned into c->sub, whose root becomes the source and
   whose tables move to this plan. */
static int sel_from_sub(select_ctx *c) {
    const select_stmt *s = c->s;
    plan *sub = &c->sub;
    int rc = plan_select(c->ctx, c->qs, c->ar, s->sub, false, sub, c->err);
    if (rc) return rc;
    c->have_sub = true;
    c->p->logical_src = lg_subquery(c->ar, s->alias, sub->logical);
    scope *sc = &c->sc;
    sc->n = sub->schema.nfields;
    sc->cols = arena_alloc(c->ar, sizeof(scope_col) * (size_t)(sc->n ? sc->n : 1));
    for (int i = 0; i < sc->n; i++) {
        sc->cols[i].name = arena_strdup(c->ar, sub->schema.fields[i].name);
        sc->cols[i].qual = s->alias;
        sc->cols[i].type = sub->root->types[i];
        memcpy(sc->cols[i].tz, sub->schema.fields[i].tz, sizeof sc->cols[i].tz);
    }
    /* the sub-plan's tables move to this plan */
    for (int i = 0; i < sub->ntables; i++) plan_add_table(c->p, sub->tables[i], sub->snaps[i]);
    sub->ntables = 0;
    c->src = sub->root;
    sub->root = NULL;
    return 0;
}

/* Whether the statement as written aggregates: then an aggregate over a
   join can aggregate each probe pipeline in parallel. */
static bool sel_agg_written(const select_stmt *s) {
    bool agg = s->ngroup > 0 || s->having || s->group_all;
    for (int i = 0; i < s->nitems && !agg; i++) agg = ast_has_agg(s->items[i].e);
    return agg;
}

/* outs moved to a new arena array of cap entries. */
static void sel_outs_grow(select_ctx *c, int cap) {
    out_col *no = arena_alloc(c->ar, sizeof(out_col) * (size_t)cap);
    memcpy(no, c->outs, sizeof(out_col) * (size_t)c->nout);
    c->outs = no;
    c->cap = cap;
}

/* A `*` or `t.*` of the select list: the scope's columns it names, with
   EXCLUDE and REPLACE applied. */
static bool sel_star_expand(select_ctx *c, ast *a) {
    int added = 0;
    if (c->nout + c->sc.n > c->cap) sel_outs_grow(c, c->nout + c->sc.n + 8);
    for (int i = 0; i < c->sc.n; i++) {
        const scope_col *col = &c->sc.cols[i];
        if (a->qual && (!col->qual || strcasecmp(a->qual, col->qual))) continue;
        if (!a->qual && col->hidden) continue;
        int opt = star_option(a, col->name);
        if (opt == -1) { added++; continue; } /* EXCLUDE */
        ast *ca = arena_alloc(c->ar, sizeof *ca);
        ca->kind = A_COL;
        ca->name = (char *)col->name;
        ca->qual = (char *)col->qual;
        ca->line = a->line;
        ca->col = a->col;
        c->outs[c->nout].src = opt >= 0 ? a->args[opt] : ca; /* REPLACE */
        c->outs[c->nout++].name = col->name;
        added++;
    }
    if (added) return true;
    if (a->qual)
        return sel_fail(c, qv_err_set(c->err, QV_EINVAL, "unknown table or alias '%s' in %s.* (line %d, column %d)", a->qual,
                                      a->qual, a->line, a->col));
    return sel_fail(c, qv_err_set(c->err, QV_EINVAL, "SELECT * needs a FROM clause with columns (line %d, column %d)",
                                  a->line, a->col));
}

/* The select list as output columns (names and ASTs), stars expanded. */
static bool sel_items_expand(select_ctx *c) {
    const select_stmt *s = c->s;
    c->cap = s->nitems + c->sc.n + 4;
    c->nout = 0;
    c->outs = arena_alloc(c->ar, sizeof(out_col) * (size_t)c->cap);
    for (int i = 0; i < s->nitems; i++) {
        ast *a = s->items[i].e;
        if (a->kind == A_STAR) {
            if (!sel_star_expand(c, a)) return false;
            continue;
        }
        if (c->nout + 1 > c->cap) sel_outs_grow(c, c->cap * 2);
        c->outs[c->nout].src = a;
        c->outs[c->nout++].name = s->items[i].alias ? s->items[i].alias : a->kind == A_COL ? a->name : ast_to_name(c->ar, a);
    }
    return true;
}

static bool sel_where_bind(select_ctx *c) {
    if (!c->where_ast) return true;
    c->b.clause = c->s->where_clause ? c->s->where_clause : "WHERE";
    if (!(c->where = bind_expr(&c->b, c->where_ast))) return sel_fail(c, c->err->code);
    if (bind_need_bool(&c->b, c->where, c->where_ast)) return sel_fail(c, c->err->code);
    return true;
}

/* GROUP BY ALL: the items without aggregates; ORDER BY ALL: every item
   (written into a copy of the statement, as positions). */
static void sel_all_expand(select_ctx *c) {
    if (!c->s->group_all && !c->s->order_all) return;
    select_stmt *s = arena_alloc(c->ar, sizeof *s);
    *s = *c->s;
    c->s = s;
    if (s->group_all) {
        s->group = arena_alloc(c->ar, sizeof(ast *) * (size_t)(c->nout + 1));
        s->ngroup = 0;
        for (int i = 0; i < c->nout; i++)
            if (!ast_has_agg(c->outs[i].src)) s->group[s->ngroup++] = pos_ast(c->ar, i + 1, c->outs[i].src);
        s->group_all = false;
    }
    if (s->order_all) {
        order_item o = s->order[0];
        s->order = arena_alloc(c->ar, sizeof(order_item) * (size_t)(c->nout + 1));
        for (int i = 0; i < c->nout; i++) {
            s->order[i] = o;
            s->order[i].e = pos_ast(c->ar, i + 1, c->outs[i].src);
        }
        s->norder = c->nout;
        s->order_all = false;
    }
}

/* Whether the query aggregates: GROUP BY, HAVING, or an aggregate in the
   outputs, ORDER BY or QUALIFY. */
static bool sel_aggregates(const select_ctx *c) {
    const select_stmt *s = c->s;
    bool aggq = s->ngroup > 0 || (s->having != NULL) || s->group_all;
    for (int i = 0; i < c->nout && !aggq; i++) aggq = ast_has_agg(c->outs[i].src);
    for (int i = 0; i < s->norder && !aggq; i++) aggq = ast_has_agg(s->order[i].e);
    if (!aggq) aggq = ast_has_agg(s->qualify);
    return aggq;
}

/* GROUP BY keys (a select-list position, an output alias that is no input
   column, or an expression); then the binder sees keys and aggregates. */
static bool sel_group_bind(select_ctx *c) {
    const select_stmt *s = c->s;
    binder *b = &c->b;
    c->aggq = sel_aggregates(c);
    if (!c->aggq) return true;
    c->gkeys = arena_alloc(c->ar, sizeof(bexpr *) * (size_t)(s->ngroup + 1));
    c->gasts = arena_alloc(c->ar, sizeof(ast *) * (size_t)(s->ngroup + 1));
    b->clause = "GROUP BY";
    for (int i = 0; i < s->ngroup; i++) {
        ast *g = s->group[i];
        if (g->kind == A_INT) {
            if (g->ival < 1 || g->ival > c->nout)
                return sel_fail(c, qv_err_set(c->err, QV_EINVAL, "GROUP BY position %lld is not in the select list (line %d, column %d)",
                                              (long long)g->ival, g->line, g->col));
            g = (ast *)c->outs[g->ival - 1].src;
        } else if (g->kind == A_COL && !g->qual) {
            bool is_input = false;
            for (int k = 0; k < c->sc.n; k++)
                if (!strcasecmp(c->sc.cols[k].name, g->name)) is_input = true;
            if (!is_input)
                for (int o = 0; o < c->nout; o++)
                    if (!strcasecmp(c->outs[o].name, g->name) && c->outs[o].src != g) { g = (ast *)c->outs[o].src; break; }
        }
        if (ast_has_agg(g))
            return sel_fail(c, qv_err_set(c->err, QV_EINVAL, "aggregate functions are not allowed in GROUP BY (line %d, column %d)",
                                          g->line, g->col));
        c->gasts[i] = g;
        if (!(c->gkeys[i] = bind_expr(b, g))) return sel_fail(c, c->err->code);
    }
    b->agg_mode = true;
    b->ngroup = s->ngroup;
    b->group = c->gasts;
    b->gkeys = c->gkeys;
    return true;
}

/* The output expressions (window calls allowed), then HAVING (none). */
static bool sel_items_bind(select_ctx *c) {
    binder *b = &c->b;
    b->clause = "the select list";
    plan_window_init(&c->wenv, c->s, b);
    for (int i = 0; i < c->nout; i++) {
        out_col *o = &c->outs[i];
        if (!(o->e = bind_expr(b, (ast *)o->src))) return sel_fail(c, c->err->code);
        if (o->e->kind == B_PARAM && o->e->type == T_NULL) o->e = bind_coerce(b, o->e, QV_T_STRING);
    }
    b->window = NULL;
    if (!c->s->having) return true;
    b->clause = "HAVING";
    if (!(c->having = bind_expr(b, c->s->having))) return sel_fail(c, c->err->code);
    if (bind_need_bool(b, c->having, c->s->having)) return sel_fail(c, c->err->code);
    return true;
}

/* The visible output an ORDER BY key names: its position (in range, the
   caller checked), its alias (exact case first), or the same expression;
   -1 none. */
static int sel_order_find(const select_ctx *c, const ast *a) {
    if (a->kind == A_INT) return (int)a->ival - 1;
    int k = -1;
    if (a->kind == A_COL && !a->qual)
        for (int o = 0; o < c->nvis && k < 0; o++)
            if (!strcmp(c->outs[o].name, a->name)) k = o;
    if (k < 0 && a->kind == A_COL && !a->qual)
        for (int o = 0; o < c->nvis && k < 0; o++)
            if (!strcasecmp(c->outs[o].name, a->name)) k = o;
    for (int o = 0; o < c->nvis && k < 0; o++)
        if (ast_equal(c->outs[o].src, a)) k = o;
    return k;
}

/* An ORDER BY key outside the select list: a hidden output column after
   the visible ones; its index, or -1 (c->rc set). */
static int sel_order_hidden(select_ctx *c, ast *a) {
    if (c->s->distinct) {
        sel_fail(c, qv_err_set(c->err, QV_EINVAL, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list (line %d, column %d)", a->line, a->col));
        return -1;
    }
    if (c->nout + 1 > c->cap) sel_outs_grow(c, c->cap * 2);
    out_col *o = &c->outs[c->nout];
    o->src = a;
    o->name = "__order";
    if (!(o->e = bind_expr(&c->b, a))) {
        sel_fail(c, c->err->code);
        return -1;
    }
    return c->nout++;
}

/* ORDER BY: output position, output alias, select-list expression, or a hidden column. */
static bool sel_order_bind(select_ctx *c) {
    const select_stmt *s = c->s;
    c->nvis = c->nout;
    c->okeys = arena_alloc(c->ar, sizeof(int) * (size_t)(s->norder + 1));
    c->odesc = arena_alloc(c->ar, sizeof(bool) * (size_t)(s->norder + 1));
    c->onf = arena_alloc(c->ar, sizeof(bool) * (size_t)(s->norder + 1));
    c->b.clause = "ORDER BY";
    c->b.window = plan_window_expr;
    for (int i = 0; i < s->norder; i++) {
        ast *a = s->order[i].e;
        c->odesc[i] = s->order[i].desc;
        c->onf[i] = s->order[i].nulls_first == 1;
        if (a->kind == A_INT && (a->ival < 1 || a->ival > c->nvis))
            return sel_fail(c, qv_err_set(c->err, QV_EINVAL, "ORDER BY position %lld is not in the select list (line %d, column %d)",
                                          (long long)a->ival, a->line, a->col));
        int k = sel_order_find(c, a);
        if (k < 0 && (k = sel_order_hidden(c, a)) < 0) return false;
        c->okeys[i] = k;
    }
    return true;
}

/* QUALIFY, then the window calls' results numbered after their input columns. */
static bool sel_qualify_bind(select_ctx *c) {
    const select_stmt *s = c->s;
    if (s->qualify && !(c->qualify = plan_window_qualify(&c->b, s, c->outs, c->nvis))) return sel_fail(c, c->err->code);
    c->winq = c->wenv.n > 0;
    if (c->winq || c->qualify)
        plan_window_fix(&c->wenv, c->aggq ? s->ngroup + c->b.naggs : c->sc.n, c->outs, c->nout, c->qualify);
    return true;
}

static int plan_select_body(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err);

/* Column aliases (select_stmt.out_names): the first outputs take their names. */
static int rename_outputs(const select_stmt *s, plan *p, qv_err *err) {
    if (s->nout_names > p->schema.nfields) {
        qv_err_set(err, QV_EINVAL, "%s has %d column%s but %d column aliases were given", s->alias ? s->alias : "the subquery",
                   p->schema.nfields, p->schema.nfields == 1 ? "" : "s", s->nout_names);
        plan_free(p);
        return err->code;
    }
    for (int i = 0; i < s->nout_names; i++) {
        free(p->schema.fields[i].name);
        p->schema.fields[i].name = qv_xstrdup(s->out_names[i]);
    }
    return 0;
}

int plan_select(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err) {
    int rc = plan_select_body(ctx, qs, ar, s, top, p, err);
    return rc || !s->nout_names ? rc : rename_outputs(s, p, err);
}

static int plan_select_body(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err) {
    if (s->setop || s->set_l) return plan_setop(ctx, qs, ar, s, p, err);
    if (s->pivot) return plan_pivot(ctx, qs, ar, s, top, p, err);
    if (s->rec) return plan_recursive(ctx, qs, ar, s, p, err);
    if (s->rec_ref) return plan_rec_ref(qs, ar, s, p, err);
    if (s->ngsets) return plan_grouping_sets(ctx, qs, ar, s, p, err);
    if (s->ndistinct_on) return plan_distinct_on(ctx, qs, ar, s, p, err);
    s = (select_stmt *)plan_rewrite_exists(ar, s);
    s = (select_stmt *)plan_rewrite_scalar(ar, s);
    memset(p, 0, sizeof *p);
    qv_schema_init(&p->schema);
    p->total_rows = -1;
    select_ctx c = {.ctx = ctx, .qs = qs, .ar = ar, .s = s, .top = top, .p = p, .err = err, .where_ast = s->where};

    if (!s->has_from) {
        c.src = op_values_new(qs);
    } else if (s->from) {
        par_src *ps = sel_agg_written(s) ? &c.psrc : NULL;
        if ((c.rc = plan_joins(ctx, qs, ar, s, p, &c.src, &c.sc, &c.where_ast, ps, err))) goto fail;
    } else if (s->tfunc && s->tfunc->nrows) {
        if ((c.rc = plan_values(ctx, qs, ar, s, p, &c.src, &c.sc, err))) goto fail;
    } else if (s->tfunc) {
        if ((c.rc = plan_table_func(ctx, qs, ar, s, p, &c.src, &c.sc, err))) goto fail;
    } else if (s->table) {
        if (sel_from_table(&c)) return err->code; /* nothing to free yet */
    } else if ((c.rc = sel_from_sub(&c))) {
        return c.rc;
    }

    c.env = (planner_env){.ctx = ctx, .qs = qs, .ar = ar};
    c.b = (binder){.ar = ar, .err = err, .in = &c.sc, .params = qs->params, .subquery = plan_subquery_expr, .planner = &c.env};
    if (!sel_items_expand(&c) || !sel_where_bind(&c)) goto fail;
    sel_all_expand(&c);
    if (!sel_group_bind(&c) || !sel_items_bind(&c) || !sel_order_bind(&c) || !sel_qualify_bind(&c)) goto fail;
    plan_select_ops(&c);
    if (c.have_sub) plan_free(&c.sub);
    return 0;
fail:
    if (c.src) op_free(c.src);
    if (c.psrc.n) {
        for (int w = 0; w < c.psrc.n; w++) op_free(c.psrc.parts[w]);
        op_free(c.psrc.master);
    }
    if (c.have_sub) plan_free(&c.sub);
    plan_free(p);
    return c.rc ? c.rc : (int)err->code;
}
