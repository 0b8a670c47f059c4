/* The operators of a bound SELECT (plan.c binds it): the zero-copy
   pass-through, or scan -> filter -> [aggregate -> having] -> [window ->
   qualify] -> project -> [distinct] -> [sort/top-N] -> [limit] -> [drop
   hidden sort columns], with the scan and what sits on it split over the
   pool's workers when the table has the row groups for it. */
#include "plan_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* What the operator stages below hand each other. */
typedef struct ops_build {
    scan_pred preds[16]; /* the scan's pruning predicates */
    int npreds, nc;
    int *cols;           /* the nc table columns the scan reads */
    bool covered;        /* the predicates are the whole WHERE */
    int nrg, T;          /* row groups, workers */
    int scope_lo, scope_hi;
    bool has_distinct, par_agg, par_topn, par_stream, agg_done;
    op *root, *serial_scan;
    op *parts[64], *scans[64]; /* per worker: its pipeline and its scan */
    bexpr **pe;          /* the projection's expressions */
    int guard_col;
} ops_build;

/* The pass-through's rows of the table: the scope's, less OFFSET, up to LIMIT. */
static void ops_passthrough_rows(select_ctx *c) {
    const select_stmt *s = c->s;
    plan *p = c->p;
    const scan_scope *scp = table_scope(c->qs, c->tab);
    int64_t all = st_snapshot_rows(c->snap);
    p->pt_row_from = 0;
    p->pt_row_to = all;
    if (scp) {
        p->pt_row_from = scp->row_from < 0 ? 0 : scp->row_from > all ? all : scp->row_from;
        p->pt_row_to = scp->row_to > all ? all : scp->row_to < p->pt_row_from ? p->pt_row_from : scp->row_to;
    }
    int64_t rows = st_snapshot_live_in(c->snap, p->pt_row_from, p->pt_row_to) - s->offset; /* deleted rows skipped */
    if (rows < 0) rows = 0;
    if (s->limit >= 0 && rows > s->limit) rows = s->limit;
    p->total_rows = rows;
    p->pt_limit = s->limit;
    p->pt_offset = s->offset;
}

/* Zero-copy pass-through: plain columns of a table, nothing else. */
static bool ops_passthrough(select_ctx *c) {
    const select_stmt *s = c->s;
    plan *p = c->p;
    bool pt = c->top && s->table && !c->where && !c->aggq && !c->winq && !c->qualify && !s->distinct && s->norder == 0;
    for (int i = 0; i < c->nout && pt; i++) pt = c->outs[i].e->kind == B_COL;
    if (!pt) return false;
    p->passthrough = true;
    p->pt_snap = c->snap;
    p->pt_cols = qv_xmalloc(sizeof(int) * (size_t)(c->nout ? c->nout : 1));
    const qv_schema *ts = st_table_schema(c->tab);
    for (int i = 0; i < c->nout; i++) {
        int col = c->outs[i].e->col;
        p->pt_cols[i] = col;
        qv_schema_add(&p->schema, c->outs[i].name, ts->fields[col].type, ts->fields[col].nullable);
        p->schema.fields[i].precision = ts->fields[col].precision;
        p->schema.fields[i].scale = ts->fields[col].scale;
        memcpy(p->schema.fields[i].tz, ts->fields[col].tz, sizeof p->schema.fields[i].tz);
    }
    ops_passthrough_rows(c);
    const char **names = arena_alloc(c->ar, sizeof(char *) * (size_t)(c->nout + 1));
    for (int i = 0; i < c->nout; i++) names[i] = c->outs[i].name;
    plan_logical_select(p, c->ar, s, NULL, false, NULL, 0, NULL, 0, names, c->nout);
    return true;
}

/* The columns a table scan reads and the WHERE conjuncts it can prune with. */
static void ops_scan_prepare(select_ctx *c, ops_build *ob) {
    const select_stmt *s = c->s;
    if (c->tab) {
        bool *need = arena_alloc(c->ar, sizeof(bool) * (size_t)(c->sc.n + c->wenv.n + 1));
        if (!c->aggq) plan_window_mark(&c->wenv, need, c->qualify);
        mark_cols(c->where, need);
        for (int i = 0; i < s->ngroup && c->aggq; i++) mark_cols(c->gkeys[i], need);
        for (int i = 0; i < c->b.naggs; i++)
            for (int j = 0; j < c->b.aggs[i].nin; j++) mark_cols(c->b.aggs[i].in[j], need);
        if (!c->aggq)
            for (int i = 0; i < c->nout; i++) mark_cols(c->outs[i].e, need);
        int *cols = arena_alloc(c->ar, sizeof(int) * (size_t)(c->sc.n + 1)), nc = 0;
        for (int col = 0; col < c->sc.n; col++)
            if (need[col]) cols[nc++] = col;
        collect_preds(c->where, ob->preds, &ob->npreds, 16);
        ob->cols = cols;
        ob->nc = nc;
    }
    ob->covered = c->tab && c->where && ob->npreds > 0 && ob->npreds < 16 && count_conj(c->where) == ob->npreds;
}

/* Parallel plans: each worker scans a contiguous share of the row groups. */
static void ops_parallel_decide(const select_ctx *c, ops_build *ob) {
    const select_stmt *s = c->s;
    ob->nrg = c->tab ? st_snapshot_rowgroups(c->snap) : 0;
    ob->T = c->ctx->pool ? c->ctx->threads : 1;
    if (ob->T > ob->nrg) ob->T = ob->nrg;
    ob->scope_lo = 0;
    ob->scope_hi = ob->nrg;
    if (c->tab && scope_rowgroups(c->qs, c->tab, c->snap, &ob->scope_lo, &ob->scope_hi)) {
        if (ob->scope_hi - ob->scope_lo <= SCOPE_SERIAL_RGS)
            ob->T = 1; /* a few row groups (a subscription's commit): serially, no pool round per group outside */
        else if (ob->T > ob->scope_hi - ob->scope_lo)
            ob->T = ob->scope_hi - ob->scope_lo; /* workers share only the scope's groups */
    }
    if (ob->T > 64) ob->T = 64;
    ob->has_distinct = false;
    for (int i = 0; i < c->b.naggs; i++) ob->has_distinct |= c->b.aggs[i].distinct;
    ob->par_agg = c->tab && c->aggq && !ob->has_distinct && ob->T > 1;
    ob->par_topn = c->tab && !c->aggq && !c->winq && !c->qualify && !s->distinct && s->norder && top_rows(s) >= 0 &&
                   ob->T > 1;
    /* other scans with a filter or computed columns stream in parallel, in order */
    ob->par_stream = c->tab && !c->aggq && !c->winq && !c->qualify && !ob->par_topn && ob->T > 1;
}

/* The top join's probe pipelines: one partial aggregation each (the
   aggregate is then done), or gathered in rounds as the source. */
static void ops_join_parts(select_ctx *c, ops_build *ob) {
    par_src *ps = &c->psrc;
    const select_stmt *s = c->s;
    if (!ps->n) return;
    int n = ps->n;
    if (c->aggq && !ob->has_distinct) {
        op *pa[64];
        for (int w = 0; w < n; w++) {
            op_scan_set_range(ps->scans[w], (int)((int64_t)ps->nrg * w / n), (int)((int64_t)ps->nrg * (w + 1) / n));
            op *o = ps->parts[w];
            if (c->where) o = op_filter_new(c->qs, o, c->where);
            pa[w] = op_agg_new(c->qs, o, s->ngroup, c->gkeys, c->b.naggs, c->b.aggs);
        }
        ob->root = (ps->prebuild ? ps->prebuild : op_join_prebuild_new)(
            c->qs, ps->master, op_agg_parallel_new(c->qs, pa, n, s->ngroup, c->gkeys, c->b.naggs, c->b.aggs), n);
        ob->agg_done = true;
    } else {
        c->src = (ps->prebuild ? ps->prebuild : op_join_prebuild_new)(
            c->qs, ps->master, op_gather_rounds_new(c->qs, ps->parts, ps->scans, n, 0, ps->nrg), n);
    }
    ps->n = 0;
}

/* The input with WHERE on it: T workers' scans of their shares of the row
   groups, or one scan (or the source operator). */
static void ops_scan_build(select_ctx *c, ops_build *ob) {
    if (ob->agg_done) return;
    qstate *qs = c->qs;
    if (ob->par_agg || ob->par_topn || ob->par_stream) {
        for (int w = 0; w < ob->T; w++) {
            op *o = plan_scan_new(qs, c->tab, c->snap, ob->nc, ob->cols, ob->preds, ob->npreds);
            ob->scans[w] = o;
            int span = ob->scope_hi - ob->scope_lo;
            op_scan_set_range(o, ob->scope_lo + (int)((int64_t)span * w / ob->T),
                              ob->scope_lo + (int)((int64_t)span * (w + 1) / ob->T));
            if (c->where) {
                o = op_filter_new(qs, o, c->where);
                if (ob->covered) op_filter_set_covered(o);
            }
            ob->parts[w] = o;
        }
        return;
    }
    ob->root = c->tab ? plan_scan_new(qs, c->tab, c->snap, ob->nc, ob->cols, ob->preds, ob->npreds) : c->src;
    if (c->tab) ob->serial_scan = c->p->scan_op = ob->root;
    if (c->tab && (ob->scope_lo > 0 || ob->scope_hi < ob->nrg)) op_scan_set_range(ob->root, ob->scope_lo, ob->scope_hi);
    c->src = NULL;
    if (c->where) {
        ob->root = op_filter_new(qs, ob->root, c->where);
        if (ob->covered && ob->serial_scan) op_filter_set_covered(ob->root);
    }
}

/* The aggregation (per worker then merged, or one) and HAVING. */
static void ops_agg_build(select_ctx *c, ops_build *ob) {
    const select_stmt *s = c->s;
    qstate *qs = c->qs;
    if (!c->aggq) return;
    if (ob->agg_done) {
    } else if (ob->par_agg) {
        for (int w = 0; w < ob->T; w++)
            ob->parts[w] = op_agg_new(qs, ob->parts[w], s->ngroup, c->gkeys, c->b.naggs, c->b.aggs);
        ob->root = op_agg_parallel_new(qs, ob->parts, ob->T, s->ngroup, c->gkeys, c->b.naggs, c->b.aggs);
    } else {
        ob->root = op_agg_new(qs, ob->root, s->ngroup, c->gkeys, c->b.naggs, c->b.aggs);
    }
    if (c->having) ob->root = op_filter_new(qs, ob->root, c->having);
    if (s->ngroup == 0 && !c->having && !c->qualify && s->offset == 0 && s->limit != 0) c->p->total_rows = 1;
}

/* Window and QUALIFY, then the projection: per worker under a top-N or a
   stream gathered in order, else one. */
static void ops_project_build(select_ctx *c, ops_build *ob) {
    const select_stmt *s = c->s;
    qstate *qs = c->qs;
    int nout = c->nout;
    if (c->winq || c->qualify) ob->root = plan_window_op(qs, &c->wenv, ob->root, c->qualify, c->outs, nout);
    bexpr **pe = ob->pe = arena_alloc(c->ar, sizeof(bexpr *) * (size_t)(nout ? nout : 1));
    for (int i = 0; i < nout; i++) pe[i] = c->outs[i].e;
    /* top-N over a table whose first key is a plain column: drop rows that cannot
       make the cut before the projection computes anything for them */
    ob->guard_col = -1;
    if (c->tab && !c->aggq && !c->winq && !c->qualify && !s->distinct && s->norder && top_rows(s) > 0 &&
        pe[c->okeys[0]]->kind == B_COL && type_pc(pe[c->okeys[0]]->type) != PC_S)
        ob->guard_col = pe[c->okeys[0]]->col;
    if (ob->par_topn) {
        int64_t need_rows = top_rows(s);
        for (int w = 0; w < ob->T; w++) {
            op *g = ob->guard_col >= 0 ? op_topn_guard_new(qs, ob->parts[w], ob->guard_col, ob->scans[w]) : ob->parts[w];
            ob->parts[w] = op_sort_new(qs, op_project_new(qs, g, nout, pe), s->norder, c->okeys, c->odesc, c->onf, need_rows);
            if (ob->guard_col >= 0) op_sort_set_guard(ob->parts[w], g);
        }
        ob->root = op_gather_new(qs, ob->parts, ob->T);
    } else if (ob->par_stream) {
        for (int w = 0; w < ob->T; w++) ob->parts[w] = op_project_new(qs, ob->parts[w], nout, pe);
        ob->root = op_gather_rounds_new(qs, ob->parts, ob->scans, ob->T, ob->scope_lo, ob->scope_hi);
    } else {
        op *g = NULL;
        if (ob->guard_col >= 0) ob->root = g = op_topn_guard_new(qs, ob->root, ob->guard_col, ob->serial_scan);
        ob->root = op_project_new(qs, ob->root, nout, pe);
        if (g) {
            ob->root = op_sort_new(qs, ob->root, s->norder, c->okeys, c->odesc, c->onf, top_rows(s));
            op_sort_set_guard(ob->root, g);
        }
    }
}

/* DISTINCT, ORDER BY, LIMIT, the hidden sort columns dropped; the plan's
   root, logical plan and schema. */
static void ops_tail_build(select_ctx *c, ops_build *ob) {
    const select_stmt *s = c->s;
    qstate *qs = c->qs;
    arena *ar = c->ar;
    plan *p = c->p;
    int nout = c->nout, nvis = c->nvis;
    bexpr **pe = ob->pe;
    if (s->distinct) {
        bexpr **dk = arena_alloc(ar, sizeof(bexpr *) * (size_t)(nout ? nout : 1));
        for (int i = 0; i < nout; i++) dk[i] = mk_col(ar, i, pe[i]->type, pe[i]->tz);
        ob->root = op_agg_new(qs, ob->root, nout, dk, 0, NULL);
    }
    if (s->norder && !(ob->guard_col >= 0 && !ob->par_topn && !ob->par_stream)) {
        int64_t need_rows = top_rows(s);
        ob->root = op_sort_new(qs, ob->root, s->norder, c->okeys, c->odesc, c->onf, need_rows);
    }
    if (s->limit >= 0 || s->offset > 0) ob->root = op_limit_new(qs, ob->root, s->limit, s->offset);
    if (nout > nvis) {
        bexpr **vis = arena_alloc(ar, sizeof(bexpr *) * (size_t)(nvis ? nvis : 1));
        for (int i = 0; i < nvis; i++) vis[i] = mk_col(ar, i, pe[i]->type, pe[i]->tz);
        ob->root = op_project_new(qs, ob->root, nvis, vis);
    }
    p->root = ob->root;
    const char **names = arena_alloc(ar, sizeof(char *) * (size_t)(nvis + 1));
    for (int i = 0; i < nvis; i++) names[i] = c->outs[i].name;
    plan_logical_select(p, ar, s, c->where_ast, c->aggq, c->gasts, c->aggq ? s->ngroup : 0, c->b.agg_asts, c->b.naggs,
                        names, nvis);
    for (int i = 0; i < nvis; i++) {
        const bexpr *e = c->outs[i].e;
        sql_schema_add(&p->schema, c->outs[i].name, out_type(e->type), true);
        if (e->type == QV_T_TIMESTAMP) memcpy(p->schema.fields[i].tz, e->tz, sizeof p->schema.fields[i].tz);
    }
}

void plan_select_ops(select_ctx *c) {
    const select_stmt *s = c->s;
    plan *p = c->p;
    p->is_scan = c->top && c->tab && !c->aggq && !c->winq && !c->qualify && !s->distinct && s->norder == 0 &&
                 s->limit < 0 && s->offset == 0;
    if (p->is_scan) p->scan_table = st_table_name(c->tab);
    if (ops_passthrough(c)) return;
    ops_build ob = {0};
    ops_scan_prepare(c, &ob);
    ops_parallel_decide(c, &ob);
    ops_join_parts(c, &ob);
    ops_scan_build(c, &ob);
    ops_agg_build(c, &ob);
    ops_project_build(c, &ob);
    ops_tail_build(c, &ob);
}
