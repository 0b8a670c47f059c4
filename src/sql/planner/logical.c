/* The logical plan (logical.h): its node builders, which the planner calls
   where it decides (plan.c: scans, subqueries and the operators above a
   SELECT's source; join_plan.c and asof_plan.c: joins and where their
   predicates went; setop.c; table_func.c), and its printer: one table of
   node kinds, a name and a printer for each, one line per node, children
   indented below it. */
#include "plan_int.h"

#include <string.h>

lnode *lg_node(arena *ar, lg_kind k, lnode *l, lnode *r) {
    lnode *n = arena_alloc(ar, sizeof *n);
    n->kind = k;
    n->est = -1;
    n->limit = -1;
    if (l) n->kids[n->nkids++] = l;
    if (r) n->kids[n->nkids++] = r;
    return n;
}

lnode *lg_scan(arena *ar, const char *table, const char *alias, const ast *pred, int64_t est) {
    lnode *n = lg_node(ar, LG_SCAN, NULL, NULL);
    n->est = est;
    n->name = table;
    n->alias = alias;
    n->pred = pred;
    return n;
}

lnode *lg_filter(arena *ar, const ast *pred, lnode *child) {
    if (!pred) return child;
    lnode *n = lg_node(ar, LG_FILTER, child, NULL);
    n->pred = pred;
    return n;
}

lnode *lg_subquery(arena *ar, const char *alias, lnode *child) {
    lnode *n = lg_node(ar, LG_SUBQUERY, child, NULL);
    n->alias = alias;
    return n;
}

lnode *lg_join(arena *ar, lg_kind k, const from_item *f, ast *const *conds, int nconds, int nkeys, bool build_left,
               lnode *l, lnode *r) {
    lnode *n = lg_node(ar, k, l, r);
    n->jt = f->jt;
    n->exprs = conds;
    n->nexprs = nconds;
    n->names = (const char *const *)f->using_cols;
    n->nnames = f->nusing;
    n->nkeys = nkeys;
    n->build_left = build_left;
    return n;
}

void plan_logical_select(plan *p, arena *ar, const select_stmt *s, const ast *where_rest, bool aggq, ast *const *gasts,
                         int ngroup, ast *const *aggs, int naggs, const char *const *names, int nvis) {
    lnode *n = p->logical_src ? p->logical_src : lg_node(ar, LG_VALUES, NULL, NULL);
    n = lg_filter(ar, where_rest, n);
    if (aggq) {
        n = lg_node(ar, LG_AGGREGATE, n, NULL);
        n->exprs = gasts;
        n->nexprs = ngroup;
        n->aggs = aggs;
        n->naggs = naggs;
    }
    n = lg_filter(ar, s->having, n);
    bool win = s->qualify && ast_has_window(s->qualify);
    for (int i = 0; i < s->nitems && !win; i++) win = ast_has_window(s->items[i].e);
    for (int i = 0; i < s->norder && !win; i++) win = ast_has_window(s->order[i].e);
    if (win) n = lg_node(ar, LG_WINDOW, n, NULL);
    if (s->qualify) {
        n = lg_filter(ar, s->qualify, n);
        n->qualify = true;
    }
    n = lg_node(ar, LG_PROJECT, n, NULL);
    n->names = names;
    n->nnames = nvis;
    if (s->distinct) n = lg_node(ar, LG_DISTINCT, n, NULL);
    if (s->norder) {
        n = lg_node(ar, s->limit >= 0 ? LG_TOP_N : LG_SORT, n, NULL);
        n->order = s->order;
        n->norder = s->norder;
    }
    if (s->limit >= 0 || s->offset) {
        n = lg_node(ar, LG_LIMIT, n, NULL);
        n->limit = s->limit;
        n->offset = s->offset;
    }
    p->logical = n;
}

/* ---------------- printing ---------------- */

static void put_asts(qv_str *s, arena *ar, ast *const *v, int n) {
    for (int i = 0; i < n; i++) qv_str_appendf(s, "%s%s", i ? ", " : "", ast_to_name(ar, v[i]));
}

static void put_alias(qv_str *s, const char *alias) {
    if (alias) qv_str_appendf(s, " AS %s", alias);
}

static void pr_scan(const lnode *n, arena *ar, qv_str *s) {
    qv_str_appendf(s, "SCAN %s", n->name);
    put_alias(s, n->alias);
    if (n->pred) qv_str_appendf(s, " filter=[%s]", ast_to_name(ar, n->pred));
}

static void pr_table_func(const lnode *n, arena *ar, qv_str *s) {
    qv_str_appendf(s, "TABLE FUNCTION %s(", n->name);
    put_asts(s, ar, n->exprs, n->nexprs);
    qv_str_appendc(s, ')');
    put_alias(s, n->alias);
}

static void pr_subquery(const lnode *n, arena *ar, qv_str *s) {
    (void)ar;
    qv_str_appendf(s, "SUBQUERY");
    put_alias(s, n->alias);
}

static void pr_filter(const lnode *n, arena *ar, qv_str *s) {
    qv_str_appendf(s, "FILTER %s%s", n->qualify ? "(QUALIFY) " : "", ast_to_name(ar, n->pred));
}

static void pr_project(const lnode *n, arena *ar, qv_str *s) {
    (void)ar;
    qv_str_appendf(s, "PROJECT [");
    for (int i = 0; i < n->nnames; i++) qv_str_appendf(s, "%s%s", i ? ", " : "", n->names[i]);
    qv_str_appendc(s, ']');
}

static void pr_aggregate(const lnode *n, arena *ar, qv_str *s) {
    qv_str_appendf(s, "AGGREGATE keys=[");
    put_asts(s, ar, n->exprs, n->nexprs);
    qv_str_appendf(s, "] aggregates=[");
    put_asts(s, ar, n->aggs, n->naggs);
    qv_str_appendc(s, ']');
}

/* ON conjuncts and USING columns of a join. */
static void put_join_cond(const lnode *n, arena *ar, qv_str *s) {
    if (n->nexprs) qv_str_appendf(s, " ON ");
    put_asts(s, ar, n->exprs, n->nexprs);
    for (int u = 0; u < n->nnames; u++) qv_str_appendf(s, "%s%s", u ? ", " : " USING (", n->names[u]);
    if (n->nnames) qv_str_appendc(s, ')');
}

static const char *const join_names[] = {
    [JT_INNER] = "INNER JOIN", [JT_LEFT] = "LEFT JOIN", [JT_RIGHT] = "RIGHT JOIN", [JT_FULL] = "FULL JOIN",
    [JT_CROSS] = "CROSS JOIN", [JT_SEMI] = "SEMI JOIN", [JT_ANTI] = "ANTI JOIN"};
_Static_assert(sizeof join_names / sizeof join_names[0] == JT_ANTI + 1, "a name per join type");

static void pr_join(const lnode *n, arena *ar, qv_str *s) {
    qv_str_appendf(s, "%s", join_names[n->jt]);
    put_join_cond(n, ar, s);
    if (n->build_left) qv_str_appendf(s, " (build left)");
}

static void pr_asof_join(const lnode *n, arena *ar, qv_str *s) {
    static const char *const nm[] = {[JT_INNER] = "ASOF JOIN", [JT_LEFT] = "ASOF LEFT JOIN",
                                     [JT_RIGHT] = "ASOF RIGHT JOIN", [JT_FULL] = "ASOF FULL JOIN"};
    QV_ASSERT(n->jt <= JT_FULL);
    qv_str_appendf(s, "%s", nm[n->jt]);
    put_join_cond(n, ar, s);
    qv_str_appendf(s, " (keys=%d)", n->nkeys);
}

static void pr_setop(const lnode *n, arena *ar, qv_str *s) {
    (void)ar;
    qv_str_appendf(s, "%s%s", lg_kind_name(n->kind), n->all ? " ALL" : "");
}

static void pr_sort(const lnode *n, arena *ar, qv_str *s) {
    qv_str_appendf(s, "%s [", lg_kind_name(n->kind));
    for (int i = 0; i < n->norder; i++) {
        const order_item *o = &n->order[i];
        qv_str_appendf(s, "%s%s%s%s", i ? ", " : "", ast_to_name(ar, o->e), o->desc ? " DESC" : "",
                       o->nulls_first == 1 ? " NULLS FIRST" : o->nulls_first == 0 ? " NULLS LAST" : "");
    }
    qv_str_appendc(s, ']');
}

static void pr_limit(const lnode *n, arena *ar, qv_str *s) {
    (void)ar;
    qv_str_appendf(s, "LIMIT %lld OFFSET %lld", (long long)n->limit, (long long)n->offset);
}

/* Kinds whose line is their name alone. */
static void pr_name(const lnode *n, arena *ar, qv_str *s) {
    (void)ar;
    qv_str_appendf(s, "%s", lg_kind_name(n->kind));
}

typedef struct lg_kind_def {
    const char *name;
    void (*print)(const lnode *n, arena *ar, qv_str *s); /* the node's line, without indentation or newline */
} lg_kind_def;

static const lg_kind_def lg_kinds[] = {
    [LG_SCAN] = {"SCAN", pr_scan},
    [LG_TABLE_FUNC] = {"TABLE FUNCTION", pr_table_func},
    [LG_VALUES] = {"VALUES (one row)", pr_name},
    [LG_SUBQUERY] = {"SUBQUERY", pr_subquery},
    [LG_FILTER] = {"FILTER", pr_filter},
    [LG_PROJECT] = {"PROJECT", pr_project},
    [LG_AGGREGATE] = {"AGGREGATE", pr_aggregate},
    [LG_JOIN] = {"JOIN", pr_join},
    [LG_ASOF_JOIN] = {"ASOF JOIN", pr_asof_join},
    [LG_WINDOW] = {"WINDOW", pr_name},
    [LG_UNION] = {"UNION", pr_setop},
    [LG_INTERSECT] = {"INTERSECT", pr_setop},
    [LG_EXCEPT] = {"EXCEPT", pr_setop},
    [LG_DISTINCT] = {"DISTINCT", pr_name},
    [LG_SORT] = {"SORT", pr_sort},
    [LG_TOP_N] = {"TOP_N", pr_sort},
    [LG_LIMIT] = {"LIMIT", pr_limit},
};
_Static_assert(sizeof lg_kinds / sizeof lg_kinds[0] == LG__COUNT, "one entry per logical node kind");

const char *lg_kind_name(lg_kind k) { return k < LG__COUNT && lg_kinds[k].name ? lg_kinds[k].name : "?"; }

void plan_logical_print(const lnode *n, arena *ar, qv_str *s, int depth) {
    if (!n) return;
    QV_ASSERT(n->kind < LG__COUNT && lg_kinds[n->kind].print);
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    lg_kinds[n->kind].print(n, ar, s);
    qv_str_appendc(s, '\n');
    for (int i = 0; i < n->nkids; i++) plan_logical_print(n->kids[i], ar, s, depth + 1);
}
