/* Planner for SELECT: binds the statement against its FROM source and
   stacks operators: scan -> filter -> [aggregate -> having] -> project ->
   [distinct] -> [sort/top-N] -> [limit] -> [drop hidden sort columns]. */
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

static void mark_cols(const bexpr *e, bool *need) {
    if (!e) return;
    if (e->kind == B_COL) need[e->col] = true;
    for (int i = 0; i < e->nargs; i++) mark_cols(e->args[i], need);
}

/* Split WHERE into AND-ed conjuncts and keep `col op const` ones for pruning. */
static void collect_preds(const bexpr *e, scan_pred *out, int *n, int max) {
    if (!e || *n >= max || e->kind != B_BINARY) return;
    if (e->op == OP_AND) {
        collect_preds(e->args[0], out, n, max);
        collect_preds(e->args[1], out, n, max);
        return;
    }
    if (e->op < OP_EQ || e->op > OP_GE || e->op == OP_NE) return;
    const bexpr *c = e->args[0], *k = e->args[1];
    int op = e->op;
    if (c->kind == B_CONST && k->kind == B_COL) {
        const bexpr *t = c;
        c = k;
        k = t;
        op = op == OP_LT ? OP_GT : op == OP_GT ? OP_LT : op == OP_LE ? OP_GE : op == OP_GE ? OP_LE : op;
    }
    if (c->kind != B_COL || k->kind != B_CONST || k->cval.null) return;
    if (type_pc(c->type) == PC_S || type_pc(c->type) != type_pc(k->type)) return;
    scan_pred *p = &out[(*n)++];
    p->col = c->col;
    p->op = op;
    p->v = k->cval;
    p->vtype = k->type;
}

static int count_conj(const bexpr *e) {
    if (e && e->kind == B_BINARY && e->op == OP_AND) return count_conj(e->args[0]) + count_conj(e->args[1]);
    return e ? 1 : 0;
}

int plan_count_conj(const bexpr *e) { return count_conj(e); }
void plan_collect_preds(const bexpr *e, scan_pred *out, int *n, int max) { collect_preds(e, out, n, max); }
void plan_mark_cols(const bexpr *e, bool *need) { mark_cols(e, need); }

/* Rows a top-N must keep (LIMIT + OFFSET), or -1 for a full sort. */
static int64_t top_rows(const select_stmt *s) {
    if (s->limit < 0 || s->offset < 0 || s->limit > ((int64_t)1 << 30) || s->offset > ((int64_t)1 << 30)) return -1;
    return s->limit + s->offset;
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

static qv_type out_type(qv_type t) { return t == T_NULL ? QV_T_INT32 : t; }

/* The query's scope when it names this table (case-insensitively), else NULL. */
static const scan_scope *table_scope(const qstate *qs, st_table *t) {
    if (!qs->scope || !qs->scope->table || !t || strcasecmp(qs->scope->table, st_table_name(t))) return NULL;
    return qs->scope;
}

/* Scoped to this table: the row groups [*lo, *hi) that hold its storage rows. */
#define SCOPE_SERIAL_RGS 2
static bool scope_rowgroups(const qstate *qs, st_table *t, st_snapshot *snap, int *lo, int *hi) {
    const scan_scope *sc = table_scope(qs, t);
    if (!sc) return false;
    int nrg = st_snapshot_rowgroups(snap);
    int64_t start = 0;
    *lo = nrg;
    *hi = 0;
    for (int i = 0; i < nrg; i++) {
        int64_t end = start + st_snapshot_rowgroup_rows(snap, i);
        if (end > sc->row_from && start < sc->row_to) {
            if (*lo == nrg) *lo = i;
            *hi = i + 1;
        }
        start = end;
    }
    if (*lo > *hi) *lo = *hi;
    return true;
}

op *plan_scan_new(qstate *qs, st_table *t, st_snapshot *snap, int nc, const int *cols, const scan_pred *pr, int np) {
    op *o = op_scan_new(qs, t, snap, nc, cols, pr, np);
    const scan_scope *sc = table_scope(qs, t);
    if (sc) op_scan_set_rows(o, sc->row_from, sc->row_to);
    return o;
}

int plan_select(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err) {
    if (s->setop || s->set_l) return plan_setop(ctx, qs, ar, s, p, err);
    if (s->ngsets) return plan_grouping_sets(ctx, qs, ar, s, p, err);
    if (s->ndistinct_on) return plan_distinct_on(ctx, qs, ar, s, p, err);
    s = (select_stmt *)plan_rewrite_exists(ar, s);
    memset(p, 0, sizeof *p);
    qv_schema_init(&p->schema);
    p->total_rows = -1;
    ast *where_ast = s->where;
    scope sc = {0};
    op *src = NULL;
    st_table *tab = NULL;
    st_snapshot *snap = NULL;
    plan sub;
    bool have_sub = false;
    par_src psrc = {0};
    int rc = 0;

    if (!s->has_from) {
        src = op_values_new(qs);
    } else if (s->from) {
        /* an aggregate over a join can aggregate each probe pipeline in parallel */
        bool agg_ast = s->ngroup > 0 || s->having || s->group_all;
        for (int i = 0; i < s->nitems && !agg_ast; i++) agg_ast = ast_has_agg(s->items[i].e);
        if ((rc = plan_joins(ctx, qs, ar, s, p, &src, &sc, &where_ast, agg_ast ? &psrc : NULL, err))) goto fail;
    } else if (s->tfunc) {
        if ((rc = plan_table_func(ctx, qs, ar, s, p, &src, &sc, err))) goto fail;
    } else if (s->table) {
        if (sql_table_open(ctx->db, s->table, &tab, err)) {
            if (err->code == QV_ENOTFOUND)
                qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist (line %d, column %d)", s->table,
                           s->table_line, s->table_col);
            return err->code;
        }
        st_snapshot_open(tab, &snap);
        plan_add_table(p, tab, snap);
        p->logical_src = lg_scan(ar, st_table_name(tab), s->alias, NULL, st_snapshot_rows(snap));
        const qv_schema *ts = st_table_schema(tab);
        sc.n = ts->nfields;
        sc.cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(sc.n ? sc.n : 1));
        const char *qual = s->alias ? s->alias : st_table_name(tab);
        for (int i = 0; i < sc.n; i++) {
            sc.cols[i].name = ts->fields[i].name;
            sc.cols[i].qual = qual;
            sc.cols[i].type = ts->fields[i].type == QV_T_SYMBOL ? QV_T_STRING : ts->fields[i].type;
            memcpy(sc.cols[i].tz, ts->fields[i].tz, sizeof sc.cols[i].tz);
        }
    } else {
        if ((rc = plan_select(ctx, qs, ar, s->sub, false, &sub, err))) return rc;
        have_sub = true;
        p->logical_src = lg_subquery(ar, s->alias, sub.logical);
        sc.n = sub.schema.nfields;
        sc.cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(sc.n ? sc.n : 1));
        for (int i = 0; i < sc.n; i++) {
            sc.cols[i].name = arena_strdup(ar, sub.schema.fields[i].name);
            sc.cols[i].qual = s->alias;
            sc.cols[i].type = sub.root->types[i];
            memcpy(sc.cols[i].tz, sub.schema.fields[i].tz, sizeof sc.cols[i].tz);
        }
        /* the sub-plan's tables move to this plan */
        for (int i = 0; i < sub.ntables; i++) plan_add_table(p, sub.tables[i], sub.snaps[i]);
        sub.ntables = 0;
        src = sub.root;
        sub.root = NULL;
    }

    planner_env env = {.ctx = ctx, .qs = qs, .ar = ar};
    binder b = {.ar = ar, .err = err, .in = &sc, .params = qs->params, .subquery = plan_subquery_expr, .planner = &env};
    win_env wenv;
    bexpr *qualify = NULL;
    /* expand the select list */
    int cap = s->nitems + sc.n + 4, nout = 0;
    out_col *outs = arena_alloc(ar, sizeof(out_col) * (size_t)cap);
    for (int i = 0; i < s->nitems; i++) {
        ast *a = s->items[i].e;
        if (a->kind == A_STAR) {
            int added = 0;
            if (nout + sc.n > cap) {
                cap = nout + sc.n + 8;
                out_col *no = arena_alloc(ar, sizeof(out_col) * (size_t)cap);
                memcpy(no, outs, sizeof(out_col) * (size_t)nout);
                outs = no;
            }
            for (int c = 0; c < sc.n; c++) {
                if (a->qual && (!sc.cols[c].qual || strcasecmp(a->qual, sc.cols[c].qual))) continue;
                if (!a->qual && sc.cols[c].hidden) continue;
                int opt = star_option(a, sc.cols[c].name);
                if (opt == -1) { added++; continue; } /* EXCLUDE */
                ast *ca = arena_alloc(ar, sizeof *ca);
                ca->kind = A_COL;
                ca->name = (char *)sc.cols[c].name;
                ca->qual = (char *)sc.cols[c].qual;
                ca->line = a->line;
                ca->col = a->col;
                outs[nout].src = opt >= 0 ? a->args[opt] : ca; /* REPLACE */
                outs[nout++].name = sc.cols[c].name;
                added++;
            }
            if (!added) {
                if (a->qual) rc = qv_err_set(err, QV_EINVAL, "unknown table or alias '%s' in %s.* (line %d, column %d)", a->qual, a->qual, a->line, a->col);
                else rc = qv_err_set(err, QV_EINVAL, "SELECT * needs a FROM clause with columns (line %d, column %d)", a->line, a->col);
                goto fail;
            }
            continue;
        }
        if (nout + 1 > cap) {
            cap = cap * 2;
            out_col *no = arena_alloc(ar, sizeof(out_col) * (size_t)cap);
            memcpy(no, outs, sizeof(out_col) * (size_t)nout);
            outs = no;
        }
        outs[nout].src = a;
        outs[nout++].name = s->items[i].alias ? s->items[i].alias : a->kind == A_COL ? a->name : ast_to_name(ar, a);
    }

    bexpr *where = NULL;
    if (where_ast) {
        b.clause = "WHERE";
        if (!(where = bind_expr(&b, where_ast))) { rc = err->code; goto fail; }
        if (where->type != QV_T_BOOL && where->type != T_NULL) {
            rc = qv_err_set(err, QV_EINVAL, "WHERE needs a BOOLEAN expression, got %s", type_name(where->type));
            goto fail;
        }
    }

    if (s->group_all || s->order_all) { /* GROUP BY ALL: the items without aggregates; ORDER BY ALL: every item */
        select_stmt *c = arena_alloc(ar, sizeof *c);
        *c = *s;
        s = c;
        if (s->group_all) {
            s->group = arena_alloc(ar, sizeof(ast *) * (size_t)(nout + 1));
            s->ngroup = 0;
            for (int i = 0; i < nout; i++)
                if (!ast_has_agg(outs[i].src)) s->group[s->ngroup++] = pos_ast(ar, i + 1, outs[i].src);
            s->group_all = false;
        }
        if (s->order_all) {
            order_item o = s->order[0];
            s->order = arena_alloc(ar, sizeof(order_item) * (size_t)(nout + 1));
            for (int i = 0; i < nout; i++) {
                s->order[i] = o;
                s->order[i].e = pos_ast(ar, i + 1, outs[i].src);
            }
            s->norder = nout;
            s->order_all = false;
        }
    }
    bool aggq = s->ngroup > 0 || (s->having != NULL) || s->group_all;
    for (int i = 0; i < nout && !aggq; i++) aggq = ast_has_agg(outs[i].src);
    for (int i = 0; i < s->norder && !aggq; i++) aggq = ast_has_agg(s->order[i].e);
    if (!aggq) aggq = ast_has_agg(s->qualify);

    bexpr **gkeys = NULL;
    ast **gasts = NULL;
    if (aggq) {
        gkeys = arena_alloc(ar, sizeof(bexpr *) * (size_t)(s->ngroup + 1));
        gasts = arena_alloc(ar, sizeof(ast *) * (size_t)(s->ngroup + 1));
        b.clause = "GROUP BY";
        for (int i = 0; i < s->ngroup; i++) {
            ast *g = s->group[i];
            if (g->kind == A_INT) {
                if (g->ival < 1 || g->ival > nout) {
                    rc = qv_err_set(err, QV_EINVAL, "GROUP BY position %lld is not in the select list (line %d, column %d)",
                                    (long long)g->ival, g->line, g->col);
                    goto fail;
                }
                g = (ast *)outs[g->ival - 1].src;
            } else if (g->kind == A_COL && !g->qual) {
                bool is_input = false;
                for (int c = 0; c < sc.n; c++)
                    if (!strcasecmp(sc.cols[c].name, g->name)) is_input = true;
                if (!is_input)
                    for (int o = 0; o < nout; o++)
                        if (!strcasecmp(outs[o].name, g->name) && outs[o].src != g) { g = (ast *)outs[o].src; break; }
            }
            if (ast_has_agg(g)) {
                rc = qv_err_set(err, QV_EINVAL, "aggregate functions are not allowed in GROUP BY (line %d, column %d)", g->line, g->col);
                goto fail;
            }
            gasts[i] = g;
            if (!(gkeys[i] = bind_expr(&b, g))) { rc = err->code; goto fail; }
        }
        b.agg_mode = true;
        b.ngroup = s->ngroup;
        b.group = gasts;
        b.gkeys = gkeys;
    }
    b.clause = "the select list";
    plan_window_init(&wenv, s, &b);
    for (int i = 0; i < nout; i++) {
        if (!(outs[i].e = bind_expr(&b, (ast *)outs[i].src))) { rc = err->code; goto fail; }
        if (outs[i].e->kind == B_PARAM && outs[i].e->type == T_NULL) outs[i].e = bind_coerce(&b, outs[i].e, QV_T_STRING);
        if (outs[i].e->type == T_INTERVAL) {
            rc = qv_err_set(err, QV_EUNSUPPORTED, "column '%s' is an INTERVAL, which cannot be returned; use extract(epoch FROM ...) or add it to a TIMESTAMP", outs[i].name);
            goto fail;
        }
    }
    bexpr *having = NULL;
    b.window = NULL;
    if (s->having) {
        b.clause = "HAVING";
        if (!(having = bind_expr(&b, s->having))) { rc = err->code; goto fail; }
        if (having->type != QV_T_BOOL && having->type != T_NULL) {
            rc = qv_err_set(err, QV_EINVAL, "HAVING needs a BOOLEAN expression, got %s", type_name(having->type));
            goto fail;
        }
    }
    /* ORDER BY: output position, output alias, select-list expression, or a hidden column */
    int nvis = nout;
    int *okeys = arena_alloc(ar, sizeof(int) * (size_t)(s->norder + 1));
    bool *odesc = arena_alloc(ar, sizeof(bool) * (size_t)(s->norder + 1));
    bool *onf = arena_alloc(ar, sizeof(bool) * (size_t)(s->norder + 1));
    b.clause = "ORDER BY";
    b.window = plan_window_expr;
    for (int i = 0; i < s->norder; i++) {
        ast *a = s->order[i].e;
        odesc[i] = s->order[i].desc;
        onf[i] = s->order[i].nulls_first == 1;
        int k = -1;
        if (a->kind == A_INT) {
            if (a->ival < 1 || a->ival > nvis) {
                rc = qv_err_set(err, QV_EINVAL, "ORDER BY position %lld is not in the select list (line %d, column %d)",
                                (long long)a->ival, a->line, a->col);
                goto fail;
            }
            k = (int)a->ival - 1;
        }
        if (k < 0 && a->kind == A_COL && !a->qual)
            for (int o = 0; o < nvis && k < 0; o++)
                if (!strcmp(outs[o].name, a->name)) k = o;
        if (k < 0 && a->kind == A_COL && !a->qual)
            for (int o = 0; o < nvis && k < 0; o++)
                if (!strcasecmp(outs[o].name, a->name)) k = o;
        for (int o = 0; o < nvis && k < 0; o++)
            if (ast_equal(outs[o].src, a)) k = o;
        if (k < 0) {
            if (s->distinct) {
                rc = qv_err_set(err, QV_EINVAL, "with SELECT DISTINCT, ORDER BY expressions must appear in the select list (line %d, column %d)", a->line, a->col);
                goto fail;
            }
            if (nout + 1 > cap) {
                cap = cap * 2;
                out_col *no = arena_alloc(ar, sizeof(out_col) * (size_t)cap);
                memcpy(no, outs, sizeof(out_col) * (size_t)nout);
                outs = no;
            }
            outs[nout].src = a;
            outs[nout].name = "__order";
            if (!(outs[nout].e = bind_expr(&b, a))) { rc = err->code; goto fail; }
            if (outs[nout].e->type == T_INTERVAL) {
                rc = qv_err_set(err, QV_EUNSUPPORTED, "cannot ORDER BY an INTERVAL");
                goto fail;
            }
            k = nout++;
        }
        okeys[i] = k;
    }
    if (s->qualify && !(qualify = plan_window_qualify(&b, s, outs, nvis))) { rc = err->code; goto fail; }
    bool winq = wenv.n > 0;
    if (winq || qualify) plan_window_fix(&wenv, aggq ? s->ngroup + b.naggs : sc.n, outs, nout, qualify);

    p->is_scan = top && tab && !aggq && !winq && !qualify && !s->distinct && s->norder == 0 && s->limit < 0 && s->offset == 0;
    if (p->is_scan) p->scan_table = st_table_name(tab);
    /* zero-copy pass-through: plain columns of a table, nothing else */
    bool pt = top && s->table && !where && !aggq && !winq && !qualify && !s->distinct && s->norder == 0;
    for (int i = 0; i < nout && pt; i++) pt = outs[i].e->kind == B_COL;
    if (pt) {
        p->passthrough = true;
        p->pt_snap = snap;
        p->pt_cols = qv_xmalloc(sizeof(int) * (size_t)(nout ? nout : 1));
        const qv_schema *ts = st_table_schema(tab);
        for (int i = 0; i < nout; i++) {
            int c = outs[i].e->col;
            p->pt_cols[i] = c;
            qv_schema_add(&p->schema, outs[i].name, ts->fields[c].type, ts->fields[c].nullable);
            memcpy(p->schema.fields[i].tz, ts->fields[c].tz, sizeof p->schema.fields[i].tz);
        }
        const scan_scope *scp = table_scope(qs, tab);
        int64_t all = st_snapshot_rows(snap);
        p->pt_row_from = 0;
        p->pt_row_to = all;
        if (scp) {
            p->pt_row_from = scp->row_from < 0 ? 0 : scp->row_from > all ? all : scp->row_from;
            p->pt_row_to = scp->row_to > all ? all : scp->row_to < p->pt_row_from ? p->pt_row_from : scp->row_to;
        }
        int64_t rows = st_snapshot_live_in(snap, p->pt_row_from, p->pt_row_to) - s->offset; /* deleted rows skipped */
        if (rows < 0) rows = 0;
        if (s->limit >= 0 && rows > s->limit) rows = s->limit;
        p->total_rows = rows;
        p->pt_limit = s->limit;
        p->pt_offset = s->offset;
        const char **names = arena_alloc(ar, sizeof(char *) * (size_t)(nout + 1));
        for (int i = 0; i < nout; i++) names[i] = outs[i].name;
        plan_logical_select(p, ar, s, NULL, false, NULL, 0, NULL, 0, names, nout);
        if (have_sub) plan_free(&sub);
        return 0;
    }

    scan_pred sv_preds[16];
    int sv_npreds = 0, sv_nc = 0;
    int *sv_cols = NULL;
    if (tab) {
        bool *need = arena_alloc(ar, sizeof(bool) * (size_t)(sc.n + wenv.n + 1));
        if (!aggq) plan_window_mark(&wenv, need, qualify);
        mark_cols(where, need);
        for (int i = 0; i < s->ngroup && aggq; i++) mark_cols(gkeys[i], need);
        for (int i = 0; i < b.naggs; i++)
            for (int j = 0; j < b.aggs[i].nin; j++) mark_cols(b.aggs[i].in[j], need);
        if (!aggq)
            for (int i = 0; i < nout; i++) mark_cols(outs[i].e, need);
        int *cols = arena_alloc(ar, sizeof(int) * (size_t)(sc.n + 1)), nc = 0;
        for (int c = 0; c < sc.n; c++)
            if (need[c]) cols[nc++] = c;
        collect_preds(where, sv_preds, &sv_npreds, 16);
        sv_cols = cols;
        sv_nc = nc;
    }
    bool covered = tab && where && sv_npreds > 0 && sv_npreds < 16 && count_conj(where) == sv_npreds;
    /* parallel plans: each worker scans a contiguous share of the row groups */
    int nrg = tab ? st_snapshot_rowgroups(snap) : 0;
    int T = ctx->pool ? ctx->threads : 1;
    if (T > nrg) T = nrg;
    int scope_lo = 0, scope_hi = nrg;
    if (tab && scope_rowgroups(qs, tab, snap, &scope_lo, &scope_hi)) {
        if (scope_hi - scope_lo <= SCOPE_SERIAL_RGS)
            T = 1; /* a few row groups (a subscription's commit): serially, no pool round per group outside */
        else if (T > scope_hi - scope_lo)
            T = scope_hi - scope_lo; /* workers share only the scope's groups */
    }
    if (T > 64) T = 64;
    bool has_distinct = false;
    for (int i = 0; i < b.naggs; i++) has_distinct |= b.aggs[i].distinct;
    bool par_agg = tab && aggq && !has_distinct && T > 1;
    bool par_topn = tab && !aggq && !winq && !qualify && !s->distinct && s->norder && top_rows(s) >= 0 && T > 1;
    /* other scans with a filter or computed columns stream in parallel, in order */
    bool par_stream = tab && !aggq && !winq && !qualify && !par_topn && T > 1;
    op *root = NULL;
    op *parts[64], *scans[64], *serial_scan = NULL;
    bool agg_done = false;
    if (psrc.n) { /* the top join's probe pipelines */
        int n = psrc.n;
        if (aggq && !has_distinct) {
            op *pa[64];
            for (int w = 0; w < n; w++) {
                op_scan_set_range(psrc.scans[w], (int)((int64_t)psrc.nrg * w / n), (int)((int64_t)psrc.nrg * (w + 1) / n));
                op *o = psrc.parts[w];
                if (where) o = op_filter_new(qs, o, where);
                pa[w] = op_agg_new(qs, o, s->ngroup, gkeys, b.naggs, b.aggs);
            }
            root = (psrc.prebuild ? psrc.prebuild : op_join_prebuild_new)(
                qs, psrc.master, op_agg_parallel_new(qs, pa, n, s->ngroup, gkeys, b.naggs, b.aggs), n);
            agg_done = true;
        } else {
            src = (psrc.prebuild ? psrc.prebuild : op_join_prebuild_new)(
                qs, psrc.master, op_gather_rounds_new(qs, psrc.parts, psrc.scans, n, 0, psrc.nrg), n);
        }
        psrc.n = 0;
    }
    if (agg_done) {
    } else if (par_agg || par_topn || par_stream) {
        for (int w = 0; w < T; w++) {
            op *o = plan_scan_new(qs, tab, snap, sv_nc, sv_cols, sv_preds, sv_npreds);
            scans[w] = o;
            int span = scope_hi - scope_lo;
            op_scan_set_range(o, scope_lo + (int)((int64_t)span * w / T), scope_lo + (int)((int64_t)span * (w + 1) / T));
            if (where) {
                o = op_filter_new(qs, o, where);
                if (covered) op_filter_set_covered(o);
            }
            parts[w] = o;
        }
    } else {
        root = tab ? plan_scan_new(qs, tab, snap, sv_nc, sv_cols, sv_preds, sv_npreds) : src;
        if (tab) serial_scan = p->scan_op = root;
        if (tab && (scope_lo > 0 || scope_hi < nrg)) op_scan_set_range(root, scope_lo, scope_hi);
        src = NULL;
        if (where) {
            root = op_filter_new(qs, root, where);
            if (covered && serial_scan) op_filter_set_covered(root);
        }
    }
    if (aggq) {
        if (agg_done) {
        } else if (par_agg) {
            for (int w = 0; w < T; w++) parts[w] = op_agg_new(qs, parts[w], s->ngroup, gkeys, b.naggs, b.aggs);
            root = op_agg_parallel_new(qs, parts, T, s->ngroup, gkeys, b.naggs, b.aggs);
        } else {
            root = op_agg_new(qs, root, s->ngroup, gkeys, b.naggs, b.aggs);
        }
        if (having) root = op_filter_new(qs, root, having);
        if (s->ngroup == 0 && !having && !qualify && s->offset == 0 && s->limit != 0) p->total_rows = 1;
    }
    if (winq || qualify) root = plan_window_op(qs, &wenv, root, qualify, outs, nout);
    bexpr **pe = arena_alloc(ar, sizeof(bexpr *) * (size_t)(nout ? nout : 1));
    for (int i = 0; i < nout; i++) pe[i] = outs[i].e;
    /* top-N over a table whose first key is a plain column: drop rows that cannot
       make the cut before the projection computes anything for them */
    int guard_col = -1;
    if (tab && !aggq && !winq && !qualify && !s->distinct && s->norder && top_rows(s) > 0 && pe[okeys[0]]->kind == B_COL &&
        type_pc(pe[okeys[0]]->type) != PC_S)
        guard_col = pe[okeys[0]]->col;
    if (par_topn) {
        int64_t need_rows = top_rows(s);
        for (int w = 0; w < T; w++) {
            op *g = guard_col >= 0 ? op_topn_guard_new(qs, parts[w], guard_col, scans[w]) : parts[w];
            parts[w] = op_sort_new(qs, op_project_new(qs, g, nout, pe), s->norder, okeys, odesc, onf, need_rows);
            if (guard_col >= 0) op_sort_set_guard(parts[w], g);
        }
        root = op_gather_new(qs, parts, T);
    } else if (par_stream) {
        for (int w = 0; w < T; w++) parts[w] = op_project_new(qs, parts[w], nout, pe);
        root = op_gather_rounds_new(qs, parts, scans, T, scope_lo, scope_hi);
    } else {
        op *g = NULL;
        if (guard_col >= 0) root = g = op_topn_guard_new(qs, root, guard_col, serial_scan);
        root = op_project_new(qs, root, nout, pe);
        if (g) {
            root = op_sort_new(qs, root, s->norder, okeys, odesc, onf, top_rows(s));
            op_sort_set_guard(root, g);
        }
    }
    if (s->distinct) {
        bexpr **dk = arena_alloc(ar, sizeof(bexpr *) * (size_t)(nout ? nout : 1));
        for (int i = 0; i < nout; i++) dk[i] = mk_col(ar, i, pe[i]->type, pe[i]->tz);
        root = op_agg_new(qs, root, nout, dk, 0, NULL);
    }
    if (s->norder && !(guard_col >= 0 && !par_topn && !par_stream)) {
        int64_t need_rows = top_rows(s);
        root = op_sort_new(qs, root, s->norder, okeys, odesc, onf, need_rows);
    }
    if (s->limit >= 0 || s->offset > 0) root = op_limit_new(qs, root, s->limit, s->offset);
    if (nout > nvis) {
        bexpr **vis = arena_alloc(ar, sizeof(bexpr *) * (size_t)(nvis ? nvis : 1));
        for (int i = 0; i < nvis; i++) vis[i] = mk_col(ar, i, pe[i]->type, pe[i]->tz);
        root = op_project_new(qs, root, nvis, vis);
    }
    p->root = root;
    {
        const char **names = arena_alloc(ar, sizeof(char *) * (size_t)(nvis + 1));
        for (int i = 0; i < nvis; i++) names[i] = outs[i].name;
        plan_logical_select(p, ar, s, where_ast, aggq, gasts, aggq ? s->ngroup : 0, b.agg_asts, b.naggs, names, nvis);
    }
    for (int i = 0; i < nvis; i++) {
        qv_schema_add(&p->schema, outs[i].name, out_type(outs[i].e->type), true);
        if (outs[i].e->type == QV_T_TIMESTAMP) memcpy(p->schema.fields[i].tz, outs[i].e->tz, sizeof p->schema.fields[i].tz);
    }
    if (have_sub) plan_free(&sub);
    return 0;
fail:
    if (src) op_free(src);
    if (psrc.n) {
        for (int w = 0; w < psrc.n; w++) op_free(psrc.parts[w]);
        op_free(psrc.master);
    }
    if (have_sub) plan_free(&sub);
    plan_free(p);
    return rc ? rc : (int)err->code;
}
