/* FROM clauses with joins. The tree's leaves (tables, subqueries, CTE
   references) are numbered; each WHERE conjunct is resolved to the set of
   leaves it reads and placed as low as is legal: into a table leaf's scan
   (its own WHERE, so row-group pruning applies), onto an inner join (where
   equalities between the two sides become hash keys), or above an outer
   join; what cannot move stays in the caller's WHERE. ON conjuncts over the
   null-supplying side alone move into that side. Table leaves read only
   columns the statement names. Per-planning state lives in jctx (the AST
   may be shared by several plans: CTEs). */
#include "join_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- leaves and masks ---- */
static int collect_nodes(jctx *j, const from_item *f) {
    if (j->nnodes >= MAX_NODES) return qv_err_set(j->err, QV_EUNSUPPORTED, "too many joins in one FROM clause");
    int id = j->nnodes++;
    jnode *n = &j->nodes[id];
    memset(n, 0, sizeof *n);
    n->f = f;
    n->leaf = -1;
    if (f->kind == FR_JOIN) {
        int l = collect_nodes(j, f->l);
        if (l < 0) return -1;
        int r = collect_nodes(j, f->r);
        if (r < 0) return -1;
        j->nodes[id].mask = j->nodes[l].mask | j->nodes[r].mask;
        return id;
    }
    if (j->nleaves >= MAX_LEAVES) return qv_err_set(j->err, QV_EUNSUPPORTED, "more than %d tables in one FROM clause", MAX_LEAVES), -1;
    n->leaf = j->nleaves;
    j->leaf_node[j->nleaves++] = id;
    n->mask = (uint64_t)1 << n->leaf;
    n->alias = f->alias ? f->alias : f->table;
    return id;
}

static int node_of(const jctx *j, const from_item *f) {
    for (int i = 0; i < j->nnodes; i++)
        if (j->nodes[i].f == f) return i;
    return -1;
}

static bool leaf_has(const jnode *n, const char *name) {
    for (int i = 0; i < n->nnames; i++)
        if (!strcasecmp(n->names[i], name)) return true;
    return false;
}

/* Leaves a reads; *bad when a name does not resolve to exactly one leaf or a holds a subquery. */
static uint64_t ast_mask(const jctx *j, const ast *a, bool *bad) {
    if (!a) return 0;
    uint64_t m = 0;
    if (a->kind == A_SUBQ || a->kind == A_EXISTS || a->sub) *bad = true;
    if (a->kind == A_COL) {
        int found = -1, nf = 0;
        for (int l = 0; l < j->nleaves; l++) {
            const jnode *n = &j->nodes[j->leaf_node[l]];
            if (a->qual && (!n->alias || strcasecmp(n->alias, a->qual))) continue;
            if (!leaf_has(n, a->name)) continue;
            found = l;
            nf++;
        }
        if (nf != 1) *bad = true;
        else m |= (uint64_t)1 << found;
    }
    for (int i = 0; i < a->nargs; i++) m |= ast_mask(j, a->args[i], bad);
    return m;
}

/* ---- placement ---- */
static void place(jctx *j, int id, ast *c, uint64_t m) {
    jnode *n = &j->nodes[id];
    if (n->leaf >= 0) {
        join_ast_push(j->ar, &n->pushed, &n->npushed, &n->cappushed, c);
        return;
    }
    const from_item *f = n->f;
    int l = node_of(j, f->l), r = node_of(j, f->r);
    join_type jt = f->jt;
    if (f->asof) { /* only into the left side: a filter on the right would change the nearest row */
        if ((m & ~j->nodes[l].mask) == 0 && (jt == JT_INNER || jt == JT_LEFT)) place(j, l, c, m);
        else join_ast_push(j->ar, &n->post, &n->npost, &n->cappost, c);
        return;
    }
    bool inner = jt == JT_INNER || jt == JT_CROSS;
    if ((m & ~j->nodes[l].mask) == 0 && (inner || jt == JT_LEFT || jt == JT_SEMI || jt == JT_ANTI)) {
        place(j, l, c, m);
    } else if ((m & ~j->nodes[r].mask) == 0 && (inner || jt == JT_RIGHT)) {
        place(j, r, c, m);
    } else if (inner) {
        join_ast_push(j->ar, &n->conds, &n->nconds, &n->capconds, c);
    } else {
        join_ast_push(j->ar, &n->post, &n->npost, &n->cappost, c);
    }
}

static void place_on(jctx *j, int id) {
    jnode *n = &j->nodes[id];
    const from_item *f = n->f;
    if (f->kind != FR_JOIN) return;
    int l = node_of(j, f->l), r = node_of(j, f->r);
    ast **cs = NULL;
    int nc = 0, cap = 0;
    ast_conjuncts(j->ar, f->on, &cs, &nc, &cap);
    join_type jt = f->jt;
    for (int i = 0; i < nc; i++) {
        bool bad = false;
        uint64_t m = ast_mask(j, cs[i], &bad);
        if (!bad && m && (m & ~j->nodes[r].mask) == 0 && (jt == JT_INNER || jt == JT_LEFT || jt == JT_SEMI || jt == JT_ANTI))
            place(j, r, cs[i], m);
        else if (!bad && m && (m & ~j->nodes[l].mask) == 0 && (jt == JT_INNER || jt == JT_RIGHT))
            place(j, l, cs[i], m);
        else
            join_ast_push(j->ar, &n->conds, &n->nconds, &n->capconds, cs[i]);
    }
    place_on(j, l);
    place_on(j, r);
}

/* ---- planning ---- */
static bool join_needed_cb(const void *j, const char *name) { return join_col_needed(j, name); }

static op *dense(qstate *qs, arena *ar, op *o) {
    if (o->name && !strcmp(o->name, "project")) return o; /* already dense */
    bexpr **pe = arena_alloc(ar, sizeof(bexpr *) * (size_t)(o->ncols + 1));
    for (int i = 0; i < o->ncols; i++) pe[i] = mk_col(ar, i, o->types[i], NULL);
    return op_project_new(qs, o, o->ncols, pe);
}

static void scope_of(arena *ar, const plan *sub, const char *qual, scope *sc) {
    sc->n = sub->schema.nfields;
    sc->cols = arena_alloc(ar, sizeof(scope_col) * (size_t)(sc->n + 1));
    for (int i = 0; i < sc->n; i++) {
        sc->cols[i].name = arena_strdup(ar, sub->schema.fields[i].name);
        sc->cols[i].qual = qual;
        sc->cols[i].type = sub->root->types[i];
        memcpy(sc->cols[i].tz, sub->schema.fields[i].tz, sizeof sc->cols[i].tz);
    }
}

binder join_binder_make(jctx *j, const scope *sc, planner_env *env) {
    env->ctx = j->ctx;
    env->qs = j->qs;
    env->ar = j->ar;
    binder b = {.ar = j->ar, .err = j->err, .in = sc, .params = j->qs->params, .subquery = plan_subquery_expr,
                .planner = env, .clause = "WHERE"};
    return b;
}

static bool ast_within(const ast *tree, const ast *a) {
    if (!tree) return false;
    if (tree == a) return true;
    for (int i = 0; i < tree->nargs; i++)
        if (ast_within(tree->args[i], a)) return true;
    return false;
}

/* Did conjunct c come from a join's ON (not from WHERE)? Conditions of both
   clauses are pushed down together; messages name the one the user wrote. */
static bool from_on(const jctx *j, const ast *c) {
    for (int k = 0; k < j->nnodes; k++)
        if (j->nodes[k].f && j->nodes[k].f->kind == FR_JOIN && ast_within(j->nodes[k].f->on, c)) return true;
    return false;
}

/* The clause conjuncts pushed into leaf n came from, for messages: ON when
   all did, else WHERE (NULL). */
static const char *pushed_clause(const jctx *j, const jnode *n) {
    bool on = n->npushed > 0;
    for (int i = 0; i < n->npushed; i++) on = on && from_on(j, n->pushed[i]);
    return on ? "ON" : NULL;
}

/* The error for a filter `all` (the AND of cs) that is not BOOLEAN: the
   first conjunct that is not, in its own clause and position. */
static int not_boolean(jctx *j, binder *b, ast **cs, int n, const bexpr *all) {
    for (int i = 0; i < n; i++) {
        const bexpr *e = n == 1 ? all : bind_expr(b, cs[i]);
        if (!e) return j->err->code;
        b->clause = from_on(j, cs[i]) ? "ON" : "WHERE";
        if (bind_need_bool(b, e, cs[i])) return j->err->code;
    }
    b->clause = "WHERE";
    return bind_need_bool(b, all, cs[0]);
}

/* *root under a filter of the conjuncts cs. On error *root is freed (and
   NULL): the callers hand back nothing on error, as plan_node does. */
static int filter_over(jctx *j, op **root, const scope *sc, ast **cs, int n) {
    if (!n) return 0;
    planner_env env;
    binder b = join_binder_make(j, sc, &env);
    bexpr *e = bind_expr(&b, ast_and(j->ar, cs, n));
    if (e && e->type != QV_T_BOOL && e->type != T_NULL) {
        not_boolean(j, &b, cs, n, e);
        e = NULL;
    }
    if (!e) {
        op_free(*root);
        *root = NULL;
        return j->err->code;
    }
    *root = op_filter_new(j->qs, *root, e);
    return 0;
}

/* A table leaf as one pipeline scan -> [filter] -> columns (by reference
   when no SYMBOL column needs its strings): the join drains or probes it
   directly, where a parallel SELECT would gather copies of every row first.
   1 when planned; 0 to plan it as a SELECT instead (no column needed, or
   anything the SELECT path reports better, such as a name it resolves). */
static int leaf_pipeline(jctx *j, jnode *n, rel *out) {
    const from_item *f = n->f;
    int need = 0;
    for (int i = 0; i < n->nnames; i++) need += join_col_needed(j, n->names[i]);
    if (!need) return 0;
    qv_err e = {0};
    int nw = 1, nrg = 0;
    op *parts[1], *scans[1];
    if (plan_table_parts(j->ctx, j->qs, j->ar, j->p, f, f->alias, join_needed_cb, j, ast_and(j->ar, n->pushed, n->npushed),
                         pushed_clause(j, n), &nw, parts, scans, &nrg, &out->sc, &out->est, &e))
        return 0;
    for (int i = 0; i < out->sc.n; i++) out->sc.cols[i].qual = n->alias;
    out->root = parts[0];
    out->logical = lg_scan(j->ar, f->table, f->alias, ast_and(j->ar, n->pushed, n->npushed), out->est);
    return 1;
}

/* A table leaf: SELECT <needed columns> FROM t AS alias WHERE <pushed>, planned like any SELECT. */
static int plan_leaf(jctx *j, jnode *n, rel *out) {
    const from_item *f = n->f;
    select_stmt *ss = NULL;
    if (f->kind == FR_TABLE && leaf_pipeline(j, n, out)) return 0;
    if (f->kind == FR_TABLE) {
        ss = arena_alloc(j->ar, sizeof *ss);
        ss->limit = -1;
        ss->has_from = true;
        ss->table = f->table;
        ss->alias = f->alias;
        ss->table_line = f->line;
        ss->table_col = f->col;
        ss->items = arena_alloc(j->ar, sizeof(sel_item) * (size_t)(n->nnames + 1));
        for (int i = 0; i < n->nnames; i++) {
            if (!join_col_needed(j, n->names[i])) continue;
            ast *a = arena_alloc(j->ar, sizeof *a);
            a->kind = A_COL;
            a->name = n->names[i];
            a->line = f->line;
            a->col = f->col;
            ss->items[ss->nitems++].e = a;
        }
        ss->where = ast_and(j->ar, n->pushed, n->npushed);
        ss->where_clause = pushed_clause(j, n);
    }
    plan sub;
    if (plan_select(j->ctx, j->qs, j->ar, ss, false, &sub, j->err)) return j->err->code;
    out->est = sub.total_rows;
    if (out->est < 0) {
        out->est = 0;
        for (int i = 0; i < sub.ntables; i++) out->est += st_snapshot_rows(sub.snaps[i]);
    }
    scope_of(j->ar, &sub, n->alias, &out->sc);
    plan_adopt(j->p, &sub);
    out->root = sub.root;
    sub.root = NULL;
    out->logical = lg_scan(j->ar, f->table, f->alias, ss->where, out->est);
    plan_free(&sub);
    out->root = dense(j->qs, j->ar, out->root);
    return 0;
}

static int plan_node(jctx *j, int id, rel *out);

/* Workers that may probe this join in parallel: its left side is a table and
   it never emits unmatched right rows; 0 when not. */
static int par_workers(const jctx *j, const jnode *n) {
    const from_item *f = n->f;
    join_type jt = f->jt;
    if (!j->ctx->pool || j->ctx->threads < 2 || f->l->kind != FR_TABLE) return 0;
    if (jt != JT_INNER && jt != JT_CROSS && jt != JT_LEFT && jt != JT_SEMI && jt != JT_ANTI) return 0;
    return j->ctx->threads > 64 ? 64 : j->ctx->threads;
}

/* RIGHT / FULL JOIN USING: unqualified USING columns read the coalesced value; a.k / b.k stay the sides' own. */
static void using_project(jctx *j, const from_item *f, scope *cs, int nc, bexpr **ucoal, const int *uli, rel *out) {
    int m = 0;
    bexpr **pe = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)(nc + f->nusing + 1));
    scope ns = {.cols = arena_alloc(j->ar, sizeof(scope_col) * (size_t)(nc + f->nusing + 1))};
    for (int c = 0; c < nc; c++) {
        for (int u = 0; u < f->nusing; u++)
            if (uli[u] == c) {
                ns.cols[m] = cs->cols[c];
                ns.cols[m].qual = NULL;
                ns.cols[m].type = ucoal[u]->type;
                pe[m++] = ucoal[u];
                cs->cols[c].hidden = true;
            }
        ns.cols[m] = cs->cols[c];
        pe[m++] = mk_col(j->ar, c, out->root->types[c], cs->cols[c].tz);
    }
    ns.n = m;
    out->root = op_project_new(j->qs, out->root, m, pe);
    out->sc = ns;
}

static const char *const join_names[] = {"INNER JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN", "SEMI JOIN", "ANTI JOIN"};

/* The join node's logical plan, under the WHERE conjuncts placed above it (arena). */
static lnode *join_logical(jctx *j, const jnode *n, const join_spec *sp, lnode *ll, lnode *rl) {
    lnode *r = lg_join(j->ar, LG_JOIN, n->f, n->conds, n->nconds, sp->nkeys, sp->build_left, ll, rl);
    return lg_filter(j->ar, n->npost ? ast_and(j->ar, n->post, n->npost) : NULL, r);
}

static int plan_join_node(jctx *j, jnode *n, rel *out) {
    const from_item *f = n->f;
    rel L = {0}, R = {0};
    int T = par_workers(j, n), nrg = 0;
    op *parts[64], *scans[64];
    if (T) {
        jnode *ln = &j->nodes[node_of(j, f->l)];
        if (plan_table_parts(j->ctx, j->qs, j->ar, j->p, ln->f, ln->f->alias, join_needed_cb, j,
                             ast_and(j->ar, ln->pushed, ln->npushed), pushed_clause(j, ln), &T, parts, scans, &nrg, &L.sc, &L.est, j->err))
            return j->err->code;
        for (int i = 0; i < L.sc.n; i++) L.sc.cols[i].qual = ln->alias;
        L.logical = lg_scan(j->ar, ln->f->table, ln->f->alias, ast_and(j->ar, ln->pushed, ln->npushed), L.est);
        if (T < 2) { /* one row group: a plain stream */
            L.root = parts[0];
            T = 0;
        }
    } else if (plan_node(j, node_of(j, f->l), &L)) {
        return j->err->code;
    }
    if (plan_node(j, node_of(j, f->r), &R)) {
        op_free(L.root);
        for (int w = 0; w < T; w++) op_free(parts[w]);
        return j->err->code;
    }
    int nl = L.sc.n, nr = R.sc.n;
    scope cs = {.n = nl + nr, .cols = arena_alloc(j->ar, sizeof(scope_col) * (size_t)(nl + nr + 1))};
    memcpy(cs.cols, L.sc.cols, sizeof(scope_col) * (size_t)nl);
    memcpy(cs.cols + nl, R.sc.cols, sizeof(scope_col) * (size_t)nr);
    if (f->inner_scope) { /* [NOT] EXISTS: in ON, the subquery's columns shadow the outer ones */
        int d = 0;
        for (int i = 0; i < nl; i++) d = cs.cols[i].depth > d ? cs.cols[i].depth : d;
        for (int i = nl; i < nl + nr; i++) cs.cols[i].depth = (uint8_t)(d < 250 ? d + 1 : d);
    }
    if (f->asof) {
        asof_in ai = {.f = f, .conds = n->conds, .nconds = n->nconds, .post = n->post, .npost = n->npost,
                      .lroot = L.root, .rroot = R.root, .parts = parts, .scans = scans, .T = T, .nrg = nrg,
                      .ps = j->ps && n == &j->nodes[0] && !n->npost ? j->ps : NULL, .llogical = L.logical, .rlogical = R.logical};
        if (T) ai.lroot = NULL;
        if (plan_asof_join(j->ctx, j->qs, j->ar, &ai, &cs, nl, &out->root, &out->logical, j->err)) {
            op_free(L.root);
            op_free(R.root);
            for (int w = 0; w < T; w++) op_free(parts[w]);
            return j->err->code;
        }
        out->sc = cs;
        out->est = L.est;
        return filter_over(j, &out->root, &out->sc, n->post, n->npost);
    }
    join_spec sp = {.jt = f->jt == JT_CROSS ? JT_INNER : f->jt};
    bexpr **ucoal = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)(f->nusing + 1));
    int *uli = arena_alloc(j->ar, sizeof(int) * (size_t)(f->nusing + 1));
    if (join_keys_split(j, n, &cs, nl, &sp, ucoal, uli)) {
        op_free(L.root);
        op_free(R.root);
        for (int w = 0; w < T; w++) op_free(parts[w]);
        return j->err->code;
    }
    sp.keep = join_keep_cols(j, n, &cs);
    if (sp.keep) plan_mark_cols(sp.residual, (bool *)sp.keep);
    char label[160];
    snprintf(label, sizeof label, "%s at line %d, column %d", join_names[f->jt], f->line, f->col);
    sp.label = arena_strdup(j->ar, label);
    bool semi = sp.jt == JT_SEMI || sp.jt == JT_ANTI;
    /* build the smaller side */
    sp.build_left = !semi && L.est >= 0 && R.est >= 0 && L.est < R.est;
    if (T && !sp.build_left && j->ps && n == &j->nodes[0] && !n->npost) {
        j->ps->master = op_hash_join_master_new(j->qs, parts[0], R.root, &sp);
        j->ps->parts = arena_alloc(j->ar, sizeof(op *) * (size_t)T);
        j->ps->scans = arena_alloc(j->ar, sizeof(op *) * (size_t)T);
        for (int w = 0; w < T; w++) {
            j->ps->parts[w] = op_hash_join_clone_new(j->qs, j->ps->master, parts[w]);
            j->ps->scans[w] = scans[w];
        }
        j->ps->n = T;
        j->ps->nrg = nrg;
        out->root = NULL;
    } else if (T && !sp.build_left) {
        out->root = op_hash_join_parallel_new(j->qs, parts, scans, T, nrg, R.root, &sp);
    } else {
        if (T) L.root = op_gather_rounds_new(j->qs, parts, scans, T, 0, nrg); /* the left side as a plain stream */
        out->root = op_hash_join_new(j->qs, L.root, R.root, &sp);
    }
    out->sc = semi ? L.sc : cs;
    if (f->nusing && (sp.jt == JT_RIGHT || sp.jt == JT_FULL)) using_project(j, f, &cs, nl + nr, ucoal, uli, out);
    out->logical = join_logical(j, n, &sp, L.logical, R.logical);
    int64_t big = L.est > R.est ? L.est : R.est;
    out->est = semi ? L.est : sp.nkeys ? big : (L.est > 0 && R.est > INT64_MAX / L.est) ? INT64_MAX : L.est * R.est;
    return filter_over(j, &out->root, &out->sc, n->post, n->npost);
}

static int plan_node(jctx *j, int id, rel *out) {
    jnode *n = &j->nodes[id];
    if (n->leaf < 0) return plan_join_node(j, n, out);
    if (!n->planned) return plan_leaf(j, n, out);
    *out = n->pre;
    n->planned = false; /* the operator moves to the join */
    if (n->npushed) out->logical = lg_filter(j->ar, ast_and(j->ar, n->pushed, n->npushed), out->logical);
    if (filter_over(j, &out->root, &out->sc, n->pushed, n->npushed)) return j->err->code;
    out->root = dense(j->qs, j->ar, out->root);
    return 0;
}

/* Column names of every leaf: a table's schema; a subquery is planned now. */
static int leaf_names(jctx *j, jnode *n) {
    const from_item *f = n->f;
    for (int l = 0; l < j->nleaves; l++) {
        const jnode *o = &j->nodes[j->leaf_node[l]];
        if (o != n && o->names && o->alias && n->alias && !strcasecmp(o->alias, n->alias))
            return qv_err_set(j->err, QV_EINVAL, "table name '%s' is used twice in FROM (line %d, column %d); give one an alias",
                              n->alias, f->line, f->col);
    }
    if (f->kind == FR_TABLE) {
        st_table *t;
        if (sql_table_open(j->ctx->db, f->table, &t, j->err)) {
            if (j->err->code == QV_ENOTFOUND)
                qv_err_set(j->err, QV_ENOTFOUND, "table '%s' does not exist (line %d, column %d)", f->table, f->line, f->col);
            return j->err->code;
        }
        const qv_schema *ts = st_table_schema(t);
        n->nnames = ts->nfields;
        n->names = arena_alloc(j->ar, sizeof(char *) * (size_t)(ts->nfields + 1));
        for (int i = 0; i < ts->nfields; i++) n->names[i] = arena_strdup(j->ar, ts->fields[i].name);
        st_table_release(t);
        return 0;
    }
    plan sub;
    if (plan_select(j->ctx, j->qs, j->ar, f->sub, false, &sub, j->err)) return j->err->code;
    n->pre.est = sub.total_rows;
    if (n->pre.est < 0) {
        n->pre.est = 0;
        for (int i = 0; i < sub.ntables; i++) n->pre.est += st_snapshot_rows(sub.snaps[i]);
    }
    scope_of(j->ar, &sub, n->alias, &n->pre.sc);
    for (int i = 0; i < n->pre.sc.n && f->hide_cols; i++) n->pre.sc.cols[i].hidden = true;
    plan_adopt(j->p, &sub);
    n->pre.logical = lg_subquery(j->ar, n->alias ? n->alias : "", sub.logical);
    n->pre.root = sub.root;
    sub.root = NULL;
    plan_free(&sub);
    n->planned = true;
    n->nnames = n->pre.sc.n;
    n->names = arena_alloc(j->ar, sizeof(char *) * (size_t)(n->nnames + 1));
    for (int i = 0; i < n->nnames; i++) n->names[i] = (char *)n->pre.sc.cols[i].name;
    return 0;
}

int plan_joins(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **root, scope *sc,
               ast **where_rest, par_src *ps, qv_err *err) {
    jctx *j = qv_xcalloc(1, sizeof *j);
    j->ps = ps;
    j->ctx = ctx;
    j->qs = qs;
    j->ar = ar;
    j->p = p;
    j->err = err;
    int rc = 0;
    if (collect_nodes(j, s->from) < 0) { rc = err->code; goto out; }
    for (int l = 0; l < j->nleaves && !rc; l++) rc = leaf_names(j, &j->nodes[j->leaf_node[l]]);
    if (rc || (rc = join_natural_resolve(j, (from_item *)s->from))) goto out; /* the parser's arena: NATURAL gets its USING */
    join_need_collect(j, s, true);
    ast **cs = NULL, **rest = NULL;
    int nc = 0, cap = 0, nrest = 0, caprest = 0;
    ast_conjuncts(ar, s->where, &cs, &nc, &cap);
    for (int i = 0; i < nc; i++) {
        bool bad = false;
        uint64_t m = ast_mask(j, cs[i], &bad);
        if (bad || !m) join_ast_push(ar, &rest, &nrest, &caprest, cs[i]);
        else place(j, 0, cs[i], m);
    }
    place_on(j, 0);
    j->stmt = s;
    j->rest = rest;
    j->nrest = nrest;
    rel r = {0};
    if ((rc = plan_node(j, 0, &r))) goto out;
    *root = r.root;
    *sc = r.sc;
    p->logical_src = r.logical;
    *where_rest = ast_and(ar, rest, nrest);
out:
    for (int i = 0; i < j->nnodes; i++)
        if (j->nodes[i].planned) op_free(j->nodes[i].pre.root);
    free(j);
    return rc;
}

