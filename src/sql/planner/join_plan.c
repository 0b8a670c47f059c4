/* FROM clauses with joins. The tree's leaves (tables, subqueries, CTE
   references) are numbered; each WHERE conjunct is resolved to the set of
   leaves it reads and placed as low as is legal: into a table leaf's scan
   (its own WHERE, so row-group pruning applies), onto an inner join (where
   equalities between the two sides become hash keys), or above an outer
   join; what cannot move stays in the caller's WHERE. ON conjuncts over the
   null-supplying side alone move into that side. Table leaves read only
   columns the statement names. Per-planning state lives in jctx (the AST
   may be shared by several plans: CTEs). */
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LEAVES 64
#define MAX_NODES 128

typedef struct rel {
    op *root;
    scope sc;
    int64_t est;
    char *logical; /* arena */
} rel;

typedef struct jnode {
    const from_item *f;
    rel pre; /* subquery leaves: planned before placement (their names are needed) */
    bool planned;
    uint64_t mask;
    ast **conds, **post, **pushed;
    int nconds, capconds, npost, cappost, npushed, cappushed;
    /* leaves */
    int leaf;
    const char *alias;
    char **names;
    int nnames;
} jnode;

typedef struct jctx {
    sql_ctx *ctx;
    qstate *qs;
    arena *ar;
    plan *p;
    qv_err *err;
    jnode nodes[MAX_NODES];
    int nnodes, nleaves;
    int leaf_node[MAX_LEAVES];
    char **need; /* column names the statement mentions */
    int nneed, capneed;
    bool star;
    par_src *ps; /* the caller takes the top join as pieces */
} jctx;

void ast_conjuncts(arena *ar, ast *a, ast ***out, int *n, int *cap) {
    if (!a) return;
    if (a->kind == A_BINARY && a->op == OP_AND) {
        ast_conjuncts(ar, a->args[0], out, n, cap);
        ast_conjuncts(ar, a->args[1], out, n, cap);
        return;
    }
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        ast **na = arena_alloc(ar, sizeof(ast *) * (size_t)nc);
        if (*n) memcpy(na, *out, sizeof(ast *) * (size_t)*n);
        *out = na;
        *cap = nc;
    }
    (*out)[(*n)++] = a;
}

ast *ast_and(arena *ar, ast **v, int n) {
    if (n == 0) return NULL;
    ast *r = v[0];
    for (int i = 1; i < n; i++) {
        ast *a = arena_alloc(ar, sizeof *a);
        a->kind = A_BINARY;
        a->op = OP_AND;
        a->args = arena_alloc(ar, sizeof(ast *) * 2);
        a->args[0] = r;
        a->args[1] = v[i];
        a->nargs = 2;
        a->line = v[i]->line;
        a->col = v[i]->col;
        a->height = (r->height > v[i]->height ? r->height : v[i]->height) + 1;
        r = a;
    }
    return r;
}

static void push_ast(arena *ar, ast ***v, int *n, int *cap, ast *a) {
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        ast **na = arena_alloc(ar, sizeof(ast *) * (size_t)nc);
        if (*n) memcpy(na, *v, sizeof(ast *) * (size_t)*n);
        *v = na;
        *cap = nc;
    }
    (*v)[(*n)++] = a;
}

/* ---- the column names a statement mentions (conservative projection pruning) ---- */
static void need_sel(jctx *j, const select_stmt *s, bool outer);

static void need_ast(jctx *j, const ast *a) {
    if (!a) return;
    if (a->kind == A_COL) {
        for (int i = 0; i < j->nneed; i++)
            if (!strcasecmp(j->need[i], a->name)) return;
        if (j->nneed == j->capneed) {
            int nc = j->capneed ? j->capneed * 2 : 32;
            char **nn = arena_alloc(j->ar, sizeof(char *) * (size_t)nc);
            if (j->nneed) memcpy(nn, j->need, sizeof(char *) * (size_t)j->nneed);
            j->need = nn;
            j->capneed = nc;
        }
        j->need[j->nneed++] = a->name;
    }
    for (int i = 0; i < a->nargs; i++) need_ast(j, a->args[i]);
    if (a->sub) need_sel(j, a->sub, false);
}

static void need_from(jctx *j, const from_item *f) {
    if (!f) return;
    need_ast(j, f->on);
    for (int i = 0; i < f->nusing; i++) {
        ast tmp = {.kind = A_COL, .name = f->using_cols[i]};
        need_ast(j, &tmp);
    }
    need_from(j, f->l);
    need_from(j, f->r);
}

static void need_sel(jctx *j, const select_stmt *s, bool outer) {
    if (!s) return;
    for (int i = 0; i < s->nitems; i++) {
        if (s->items[i].e->kind == A_STAR && outer) j->star = true;
        need_ast(j, s->items[i].e);
    }
    need_ast(j, s->where);
    for (int i = 0; i < s->ngroup; i++) need_ast(j, s->group[i]);
    need_ast(j, s->having);
    for (int i = 0; i < s->norder; i++) need_ast(j, s->order[i].e);
    if (outer) need_from(j, s->from);
    need_sel(j, s->set_l, false);
    need_sel(j, s->set_r, false);
}

static bool needed(const jctx *j, const char *name);
static bool needed_cb(const void *j, const char *name) { return needed(j, name); }

static bool needed(const jctx *j, const char *name) {
    if (j->star) return true;
    for (int i = 0; i < j->nneed; i++)
        if (!strcasecmp(j->need[i], name)) return true;
    return false;
}

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
        push_ast(j->ar, &n->pushed, &n->npushed, &n->cappushed, c);
        return;
    }
    const from_item *f = n->f;
    int l = node_of(j, f->l), r = node_of(j, f->r);
    join_type jt = f->jt;
    if (f->asof) { /* only into the left side: a filter on the right would change the nearest row */
        if ((m & ~j->nodes[l].mask) == 0 && (jt == JT_INNER || jt == JT_LEFT)) place(j, l, c, m);
        else push_ast(j->ar, &n->post, &n->npost, &n->cappost, c);
        return;
    }
    bool inner = jt == JT_INNER || jt == JT_CROSS;
    if ((m & ~j->nodes[l].mask) == 0 && (inner || jt == JT_LEFT || jt == JT_SEMI || jt == JT_ANTI)) {
        place(j, l, c, m);
    } else if ((m & ~j->nodes[r].mask) == 0 && (inner || jt == JT_RIGHT)) {
        place(j, r, c, m);
    } else if (inner) {
        push_ast(j->ar, &n->conds, &n->nconds, &n->capconds, c);
    } else {
        push_ast(j->ar, &n->post, &n->npost, &n->cappost, c);
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
            push_ast(j->ar, &n->conds, &n->nconds, &n->capconds, cs[i]);
    }
    place_on(j, l);
    place_on(j, r);
}

/* ---- planning ---- */
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

static binder mk_binder(jctx *j, const scope *sc, planner_env *env) {
    env->ctx = j->ctx;
    env->qs = j->qs;
    env->ar = j->ar;
    binder b = {.ar = j->ar, .err = j->err, .in = sc, .params = j->qs->params, .subquery = plan_subquery_expr,
                .planner = env, .clause = "WHERE"};
    return b;
}

static int filter_over(jctx *j, op **root, const scope *sc, ast **cs, int n) {
    if (!n) return 0;
    planner_env env;
    binder b = mk_binder(j, sc, &env);
    bexpr *e = bind_expr(&b, ast_and(j->ar, cs, n));
    if (!e) return j->err->code;
    if (e->type != QV_T_BOOL && e->type != T_NULL)
        return qv_err_set(j->err, QV_EINVAL, "WHERE needs a BOOLEAN expression, got %s", type_name(e->type));
    *root = op_filter_new(j->qs, *root, e);
    return 0;
}

/* A table leaf: SELECT <needed columns> FROM t AS alias WHERE <pushed>, planned like any SELECT. */
static int plan_leaf(jctx *j, jnode *n, rel *out) {
    const from_item *f = n->f;
    select_stmt *ss = NULL;
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
            if (!needed(j, n->names[i])) continue;
            ast *a = arena_alloc(j->ar, sizeof *a);
            a->kind = A_COL;
            a->name = n->names[i];
            a->line = f->line;
            a->col = f->col;
            ss->items[ss->nitems++].e = a;
        }
        ss->where = ast_and(j->ar, n->pushed, n->npushed);
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
    char *lg = plan_logical_scan(j->ar, f->table, f->alias, ss->where);
    out->logical = arena_strdup(j->ar, lg);
    free(lg);
    plan_free(&sub);
    out->root = dense(j->qs, j->ar, out->root);
    return 0;
}

static bool cols_in(const bexpr *e, int lo, int hi, bool *any) {
    if (e->kind == B_COL) {
        *any = true;
        return e->col >= lo && e->col < hi;
    }
    for (int i = 0; i < e->nargs; i++)
        if (!cols_in(e->args[i], lo, hi, any)) return false;
    return true;
}

bexpr *plan_shift_cols(arena *ar, const bexpr *e, int by) {
    bexpr *c = arena_alloc(ar, sizeof *c);
    *c = *e;
    if (e->kind == B_COL) c->col = e->col - by;
    if (e->nargs) {
        c->args = arena_alloc(ar, sizeof(bexpr *) * (size_t)e->nargs);
        for (int i = 0; i < e->nargs; i++) c->args[i] = plan_shift_cols(ar, e->args[i], by);
    }
    return c;
}

static int find_using(jctx *j, const scope *sc, int lo, int hi, const char *name, const from_item *f) {
    int found = -1;
    for (int i = lo; i < hi; i++)
        if (!sc->cols[i].hidden && !strcasecmp(sc->cols[i].name, name)) {
            if (found >= 0)
                return qv_err_set(j->err, QV_EINVAL, "column '%s' in USING is ambiguous (line %d, column %d)", name, f->line, f->col), -2;
            found = i;
        }
    if (found < 0)
        return qv_err_set(j->err, QV_EINVAL, "column '%s' in USING is not on both sides of the join (line %d, column %d)", name,
                          f->line, f->col), -2;
    return found;
}

static bexpr *and_b(binder *b, bexpr *x, bexpr *y) {
    if (!x) return y;
    bexpr *e = bd_mk(b, B_BINARY, QV_T_BOOL, 2);
    e->op = OP_AND;
    e->args[0] = x;
    e->args[1] = y;
    return e;
}

static int plan_node(jctx *j, int id, rel *out);

/* Conditions of a join node into hash keys (equalities across the sides) and a residual. */
static int join_conds(jctx *j, jnode *n, scope *cs, int nl, join_spec *sp, bexpr **ucoal, int *uli) {
    const from_item *f = n->f;
    int nr = cs->n - nl, cap = f->nusing + n->nconds + 1;
    planner_env env;
    binder b = mk_binder(j, cs, &env);
    b.clause = "ON";
    sp->lkeys = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap);
    sp->rkeys = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap);
    for (int u = 0; u < f->nusing; u++) {
        int li = find_using(j, cs, 0, nl, f->using_cols[u], f);
        int ri = li < 0 ? -2 : find_using(j, cs, nl, nl + nr, f->using_cols[u], f);
        if (li < 0 || ri < 0) return j->err->code;
        bexpr *x = mk_col(j->ar, li, cs->cols[li].type, cs->cols[li].tz);
        bexpr *y = mk_col(j->ar, ri, cs->cols[ri].type, cs->cols[ri].tz);
        ast at = {.line = f->line, .col = f->col};
        if (bd_unify(&b, &at, &x, &y, "join on")) return j->err->code;
        sp->lkeys[sp->nkeys] = x;
        sp->rkeys[sp->nkeys++] = plan_shift_cols(j->ar, y, nl);
        cs->cols[ri].hidden = true;
        /* RIGHT / FULL JOIN USING: the visible column is the first non-NULL of the two */
        bexpr *co = bd_mk(&b, B_COALESCE, x->type, 2);
        co->args[0] = x;
        co->args[1] = y;
        memcpy(co->tz, x->tz, sizeof co->tz);
        ucoal[u] = co;
        uli[u] = li;
    }
    for (int i = 0; i < n->nconds; i++) {
        bexpr *e = bind_expr(&b, n->conds[i]);
        if (!e) return j->err->code;
        if (e->type != QV_T_BOOL && e->type != T_NULL)
            return qv_err_set(j->err, QV_EINVAL, "JOIN condition needs a BOOLEAN expression, got %s (line %d, column %d)",
                              type_name(e->type), n->conds[i]->line, n->conds[i]->col);
        if (e->kind == B_BINARY && e->op == OP_EQ) {
            bool a0 = false, a1 = false, s0 = false, s1 = false;
            if (cols_in(e->args[0], 0, nl, &a0) && a0 && cols_in(e->args[1], nl, nl + nr, &a1) && a1) {
                sp->lkeys[sp->nkeys] = e->args[0];
                sp->rkeys[sp->nkeys++] = plan_shift_cols(j->ar, e->args[1], nl);
                continue;
            }
            if (cols_in(e->args[1], 0, nl, &s0) && s0 && cols_in(e->args[0], nl, nl + nr, &s1) && s1) {
                sp->lkeys[sp->nkeys] = e->args[1];
                sp->rkeys[sp->nkeys++] = plan_shift_cols(j->ar, e->args[0], nl);
                continue;
            }
        }
        sp->residual = and_b(&b, sp->residual, e);
    }
    return 0;
}

/* Workers that may probe this join in parallel: its left side is a table and
   it never emits unmatched right rows; 0 when not. */
static int par_workers(const jctx *j, const jnode *n) {
    const from_item *f = n->f;
    join_type jt = f->jt;
    if (!j->ctx->pool || j->ctx->threads < 2 || f->l->kind != FR_TABLE) return 0;
    if (jt != JT_INNER && jt != JT_CROSS && jt != JT_LEFT && jt != JT_SEMI && jt != JT_ANTI) return 0;
    return j->ctx->threads > 64 ? 64 : j->ctx->threads;
}

static int plan_join_node(jctx *j, jnode *n, rel *out) {
    const from_item *f = n->f;
    rel L = {0}, R = {0};
    int T = par_workers(j, n), nrg = 0;
    op *parts[64], *scans[64];
    if (T) {
        jnode *ln = &j->nodes[node_of(j, f->l)];
        if (plan_table_parts(j->ctx, j->qs, j->ar, j->p, ln->f, ln->f->alias, needed_cb, j,
                             ast_and(j->ar, ln->pushed, ln->npushed), &T, parts, scans, &nrg, &L.sc, &L.est, j->err))
            return j->err->code;
        for (int i = 0; i < L.sc.n; i++) L.sc.cols[i].qual = ln->alias;
        char *lg = plan_logical_scan(j->ar, ln->f->table, ln->f->alias, ast_and(j->ar, ln->pushed, ln->npushed));
        L.logical = arena_strdup(j->ar, lg);
        free(lg);
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
    if (join_conds(j, n, &cs, nl, &sp, ucoal, uli)) {
        op_free(L.root);
        op_free(R.root);
        for (int w = 0; w < T; w++) op_free(parts[w]);
        return j->err->code;
    }
    static const char *nm[] = {"INNER JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN", "SEMI JOIN", "ANTI JOIN"};
    char label[160];
    snprintf(label, sizeof label, "%s at line %d, column %d", nm[f->jt], f->line, f->col);
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
        if (T) L.root = op_gather_rounds_new(j->qs, parts, scans, T, nrg); /* the left side as a plain stream */
        out->root = op_hash_join_new(j->qs, L.root, R.root, &sp);
    }
    out->sc = semi ? L.sc : cs;
    if (f->nusing && (sp.jt == JT_RIGHT || sp.jt == JT_FULL)) {
        /* unqualified USING columns read the coalesced value; a.k / b.k stay the sides' own */
        int nc = nl + nr, m = 0;
        bexpr **pe = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)(nc + f->nusing + 1));
        scope ns = {.cols = arena_alloc(j->ar, sizeof(scope_col) * (size_t)(nc + f->nusing + 1))};
        for (int c = 0; c < nc; c++) {
            for (int u = 0; u < f->nusing; u++)
                if (uli[u] == c) {
                    ns.cols[m] = cs.cols[c];
                    ns.cols[m].qual = NULL;
                    ns.cols[m].type = ucoal[u]->type;
                    pe[m++] = ucoal[u];
                    cs.cols[c].hidden = true;
                }
            ns.cols[m] = cs.cols[c];
            pe[m++] = mk_col(j->ar, c, out->root->types[c], cs.cols[c].tz);
        }
        ns.n = m;
        out->root = op_project_new(j->qs, out->root, m, pe);
        out->sc = ns;
    }
    {
        qv_str T;
        qv_str_init(&T);
        int d = 0;
        if (n->npost) lg_line(&T, d++, "FILTER %s", ast_to_name(j->ar, ast_and(j->ar, n->post, n->npost)));
        char cond[600];
        lg_list(j->ar, cond, sizeof cond, n->conds, n->nconds);
        char using[300] = "";
        size_t ul = 0;
        for (int u = 0; u < f->nusing && ul + 4 < sizeof using; u++)
            ul += (size_t)snprintf(using + ul, sizeof using - ul, "%s%s", u ? ", " : " USING (", f->using_cols[u]);
        if (f->nusing && ul + 2 < sizeof using) strcat(using, ")");
        lg_line(&T, d, "%s%s%s%s%s", nm[f->jt], n->nconds ? " ON " : "", cond, using,
                sp.build_left ? " (build left)" : "");
        lg_nest(&T, d + 1, L.logical);
        lg_nest(&T, d + 1, R.logical);
        out->logical = arena_strdup(j->ar, T.data);
        qv_str_free(&T);
    }
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
    if (n->npushed) {
        qv_str L;
        qv_str_init(&L);
        lg_line(&L, 0, "FILTER %s", ast_to_name(j->ar, ast_and(j->ar, n->pushed, n->npushed)));
        lg_nest(&L, 1, out->logical);
        out->logical = arena_strdup(j->ar, L.data);
        qv_str_free(&L);
    }
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
    plan_adopt(j->p, &sub);
    {
        qv_str L;
        qv_str_init(&L);
        lg_line(&L, 0, "SUBQUERY AS %s", n->alias ? n->alias : "");
        lg_nest(&L, 1, sub.logical);
        n->pre.logical = arena_strdup(j->ar, L.data ? L.data : "");
        qv_str_free(&L);
    }
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
    need_sel(j, s, true);
    if (collect_nodes(j, s->from) < 0) { rc = err->code; goto out; }
    for (int l = 0; l < j->nleaves && !rc; l++) rc = leaf_names(j, &j->nodes[j->leaf_node[l]]);
    if (rc) goto out;
    ast **cs = NULL, **rest = NULL;
    int nc = 0, cap = 0, nrest = 0, caprest = 0;
    ast_conjuncts(ar, s->where, &cs, &nc, &cap);
    for (int i = 0; i < nc; i++) {
        bool bad = false;
        uint64_t m = ast_mask(j, cs[i], &bad);
        if (bad || !m) push_ast(ar, &rest, &nrest, &caprest, cs[i]);
        else place(j, 0, cs[i], m);
    }
    place_on(j, 0);
    rel r = {0};
    if ((rc = plan_node(j, 0, &r))) goto out;
    *root = r.root;
    *sc = r.sc;
    free(p->logical_src);
    p->logical_src = qv_xstrdup(r.logical ? r.logical : "");
    *where_rest = ast_and(ar, rest, nrest);
out:
    for (int i = 0; i < j->nnodes; i++)
        if (j->nodes[i].planned) op_free(j->nodes[i].pre.root);
    free(j);
    return rc;
}

