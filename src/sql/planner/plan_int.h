/* Planner internals shared by plan.c (one SELECT over one source: its
   binding; plan_ops.c builds its operators), join_plan.c (FROM clauses with joins, predicate placement, EXISTS as
   semi/anti joins), subquery.c (subquery expressions run once before the
   main plan) and setop.c (UNION / INTERSECT / EXCEPT). */
#ifndef QUIVER_SQL_PLAN_INT_H
#define QUIVER_SQL_PLAN_INT_H

#include "planner.h"
#include "functions.h"
#include "hashjoin.h"

void plan_add_table(plan *p, st_table *t, st_snapshot *s);
/* Moves sub's tables and snapshots to p (sub keeps its root and schema). */
void plan_adopt(plan *p, plan *sub);

/* The FROM tree s->from planned into one operator and its scope. WHERE
   conjuncts are pushed into scans or attached to joins where legal; the
   ones left (*where_rest, NULL when none) are applied by the caller. */
/* A FROM tree whose top join is probed in parallel, left as its pieces so an
   aggregate above can run one partial aggregation per probe pipeline. */
typedef struct par_src {
    op *master;       /* builds the hash table (op_join_prebuild_new puts it above) */
    op **parts, **scans; /* per worker: the probe clone and its scan (arena arrays) */
    int n, nrg;
    op *(*prebuild)(qstate *, op *, op *, int); /* NULL: op_join_prebuild_new (an ASOF join sets its own) */
} par_src;
/* ps (may be NULL) accepts the top join as pieces; then *root is NULL. */
int plan_joins(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **root, scope *sc,
               ast **where_rest, par_src *ps, qv_err *err);
/* An ASOF join node of a FROM tree (asof_plan.c), its sides planned by
   join_plan.c: the left as lroot, or (T > 0) as T probe pipelines parts over
   scans of nrg row groups; conds are its ON conjuncts not pushed into a
   side, post the WHERE conjuncts above it (for the logical plan). ps (may be
   NULL) takes the join as pieces; then *root is NULL. cs is both sides'
   scope (nl left columns): USING hides the right copies. */
typedef struct asof_in {
    const from_item *f;
    ast **conds, **post;
    int nconds, npost;
    op *lroot, *rroot;
    op **parts, **scans;
    int T, nrg;
    par_src *ps;
    lnode *llogical, *rlogical;
} asof_in;
int plan_asof_join(sql_ctx *ctx, qstate *qs, arena *ar, const asof_in *in, scope *cs, int nl, op **root, lnode **logical,
                   qv_err *err);

/* s with WHERE-level [NOT] EXISTS (SELECT ... FROM ... WHERE ...) conjuncts
   turned into SEMI/ANTI joins of its FROM (a copy; s itself is not changed). */
const select_stmt *plan_rewrite_exists(arena *ar, const select_stmt *s);
/* s with its correlated scalar subqueries that aggregate over equality
   correlations turned into LEFT JOINs of grouped derived tables (rewrite/scalar_corr.c;
   a copy, or s itself when there are none). */
const select_stmt *plan_rewrite_scalar(arena *ar, const select_stmt *s);
/* The names a FROM gives its tables (alias, else table name), outermost
   first (rewrite/exists.c): what qualifies a column as the subquery's own. */
#define PLAN_MAX_NAMES 128
typedef struct plan_names {
    const char *v[PLAN_MAX_NAMES];
    int n;
} plan_names;
void plan_from_names(const from_item *f, plan_names *ns);
void plan_sel_names(const select_stmt *q, plan_names *ns);
bool plan_names_has(const plan_names *ns, const char *nm);
/* A recursive CTE, computed now into rows the plan streams, and its name
   read inside its own step: the last round's rows (rewrite/recursive.c). */
int plan_recursive(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, plan *p, qv_err *err);
int plan_rec_ref(qstate *qs, arena *ar, select_stmt *s, plan *p, qv_err *err);
/* all UNION ALL one (one alone when all is NULL), and the ORDER BY / LIMIT /
   OFFSET of s onto dst: how UNPIVOT and SUMMARIZE build their unions (rewrite/pivot.c). */
select_stmt *plan_union_all(arena *ar, select_stmt *all, select_stmt *one);
void plan_take_order(select_stmt *dst, const select_stmt *s);
/* SUMMARIZE ... as the UNION ALL of per-column aggregates (rewrite/summarize.c). */
int plan_summarize(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err);
/* PIVOT ... as the grouped SELECT it stands for (rewrite/pivot.c), planned into p. */
int plan_pivot(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err);
/* s's FROM as a from_item tree (its joins, or a leaf for its one table / subquery). */
from_item *plan_leaf_item(arena *ar, const select_stmt *s);
/* Why a [NOT] EXISTS subquery cannot be a semi / anti join ("GROUP BY", ...), NULL when it can. */
const char *plan_exists_obstacle(const select_stmt *q);
/* After q failed to plan with message msg: whether it uses a column of the
   outer query (scope outer); ref gets its name ("ta.k"), *nested whether
   that is a table of an enclosing [NOT] EXISTS subquery. */
bool plan_subquery_outer_ref(const select_stmt *q, const scope *outer, const char *msg, char *ref, size_t cap,
                             bool *nested);

/* Binder callback: plans a subquery expression as an init plan (qs->inits)
   and returns the node that reads its result. */
bexpr *plan_subquery_expr(binder *b, ast *a);
typedef struct planner_env {
    sql_ctx *ctx;
    qstate *qs;
    arena *ar;
} planner_env;

/* UNION / INTERSECT / EXCEPT (and a parenthesized query with its own ORDER BY). */
int plan_setop(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err);
/* UNION BY NAME (setop_name.c): *l and *r projected to the result's columns, out->f[i]
   the field (of either side's schema) naming result column i. */
typedef struct setop_names {
    const qv_field **f;
    int n;
} setop_names;
int plan_setop_by_name(qstate *qs, arena *ar, op **l, const qv_schema *ls, op **r, const qv_schema *rs,
                       setop_names *out, qv_err *err);

/* The table function of s->tfunc (table_func.c): its operator and the scope of its columns. */
/* FROM (VALUES ...): its rows' operator and scope (values.c). */
int plan_values(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **src, scope *sc, qv_err *err);
int plan_table_func(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **src, scope *sc,
                    qv_err *err);

/* AST rewrites (rewrite.c). */
int plan_grouping_sets(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err);
int plan_distinct_on(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err);

/* Logical plan nodes (logical.c, types in logical.h). */
/* A node of kind k over up to two children (NULL: none), est -1. */
lnode *lg_node(arena *ar, lg_kind k, lnode *l, lnode *r);
/* est: the rows the planner expects from it (the table's, or what the
   pushed predicates leave of it when it knows), -1 unknown. */
lnode *lg_scan(arena *ar, const char *table, const char *alias, const ast *pred, int64_t est);
/* pred over child; child itself when pred is NULL. */
lnode *lg_filter(arena *ar, const ast *pred, lnode *child);
lnode *lg_subquery(arena *ar, const char *alias, lnode *child);
/* A join (LG_JOIN or LG_ASOF_JOIN) of from item f (its kind and USING
   columns) with the conjuncts left on it, its hash (or ASOF equality) key
   count and build side. */
lnode *lg_join(arena *ar, lg_kind k, const from_item *f, ast *const *conds, int nconds, int nkeys, bool build_left,
               lnode *l, lnode *r);
/* The nodes above a SELECT's source (p->logical_src) into p->logical: FILTER
   (WHERE left after pushdown), AGGREGATE, FILTER (HAVING), WINDOW, FILTER
   (QUALIFY), PROJECT, DISTINCT, SORT / TOP_N, LIMIT. */
void plan_logical_select(plan *p, arena *ar, const select_stmt *s, const ast *where_rest, bool aggq, ast *const *gasts,
                         int ngroup, ast *const *aggs, int naggs, const char *const *names, int nvis);

/* Pieces of plan.c the join planner reuses. */
int plan_count_conj(const bexpr *e);
void plan_collect_preds(const bexpr *e, scan_pred *out, int *n, int max);
void plan_mark_cols(const bexpr *e, bool *need);
/* op_scan_new restricted to the query's scope when it names t. */
op *plan_scan_new(qstate *qs, st_table *t, st_snapshot *snap, int nc, const int *cols, const scan_pred *pr, int np);
/* A table leaf as *nw pipelines (at most one per row group, at least one)
   scan -> [filter where] -> project (the columns need() accepts), for probing
   in parallel; its snapshot goes to p. where_clause names where's clause in
   messages (NULL: WHERE). */
int plan_table_parts(sql_ctx *ctx, qstate *qs, arena *ar, plan *p, const from_item *f, const char *alias,
                     bool (*need)(const void *, const char *), const void *nctx, ast *where, const char *where_clause, int *nw, op **parts,
                     op **scans, int *nrg, scope *sc, int64_t *est, qv_err *err);

/* One output column of a SELECT while it is planned (plan.c). */
typedef struct out_col {
    bexpr *e;
    const char *name;
    const ast *src;
} out_col;

/* Window functions of one SELECT (window_plan.c). */
typedef struct win_env {
    const select_stmt *s;
    win_call *calls;
    ast **asts;
    win_spec *specs;  /* each call's window with named windows resolved */
    int n, cap;
    int ninput;       /* the window operator's input columns */
} win_env;
/* Lets b bind window calls of s (b->window). */
void plan_window_init(win_env *w, const select_stmt *s, binder *b);
bexpr *plan_window_expr(binder *b, ast *a);
/* QUALIFY bound over the window's output; it may name the n select-list aliases. */
bexpr *plan_window_qualify(binder *b, const select_stmt *s, const out_col *outs, int n);
/* Window result columns become ninput + i in the outputs' expressions and qualify. */
void plan_window_fix(win_env *w, int ninput, const out_col *outs, int n, bexpr *qualify);
/* The input columns the calls and qualify read. */
void plan_window_mark(const win_env *w, bool *need, const bexpr *qualify);
/* The window operator over root, then the QUALIFY filter (may be NULL);
   outs: what reads the result (the input columns they use are kept). */
op *plan_window_op(qstate *qs, const win_env *w, op *root, bexpr *qualify, const out_col *outs, int n);

/* One SELECT while plan_select plans it: plan.c binds it stage by stage
   (source, select list, WHERE, GROUP BY, HAVING, ORDER BY, QUALIFY) and
   plan_ops.c builds its operators; the stages hand each other these. */
typedef struct select_ctx {
    sql_ctx *ctx;
    qstate *qs;
    arena *ar;
    select_stmt *s; /* after the EXISTS rewrite, then a copy with GROUP / ORDER BY ALL expanded */
    bool top;
    plan *p;
    qv_err *err;
    int rc;         /* a failed stage's status (0: err's) */
    /* the source: tab (a table), src (an operator), psrc (a join as probe pipelines), or sub's root in src */
    ast *where_ast; /* WHERE, less what the joins took */
    scope sc;
    op *src;
    st_table *tab;
    st_snapshot *snap;
    plan sub;
    bool have_sub;
    par_src psrc;
    /* what binding produced */
    planner_env env;
    binder b;       /* b.in is &sc, b.planner &env */
    win_env wenv;
    out_col *outs;  /* nvis visible columns, then hidden ORDER BY keys up to nout */
    int cap, nout, nvis;
    bexpr *where, *having, *qualify;
    bool aggq, winq;
    bexpr **gkeys;
    ast **gasts;
    int *okeys;
    bool *odesc, *onf;
} select_ctx;
/* The operators of a bound SELECT into c->p (plan_ops.c): the zero-copy
   pass-through, or scan -> ... -> limit, serial or parallel; c->src and
   c->psrc move into the tree. Cannot fail. */
void plan_select_ops(select_ctx *c);

/* A copy of e whose column references are moved down by `by` (join_plan.c). */
bexpr *plan_shift_cols(arena *ar, const bexpr *e, int by);

/* AND-ed conjuncts of a (appended to *out, an arena array grown as needed). */
void ast_conjuncts(arena *ar, ast *a, ast ***out, int *n, int *cap);
ast *ast_and(arena *ar, ast **v, int n);

#endif
