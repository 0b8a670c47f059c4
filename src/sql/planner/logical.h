/*
** The logical plan (planner/logical.c): the statement as a tree of
** relational operators after the planner's rewrites — predicates where the
** planner put them (pushed into scans, kept on joins, left above), joins
** with their kind, conditions and hash keys, subqueries nested. The planner
** builds it beside the operator tree, one node where it makes a decision;
** EXPLAIN prints it from one table of node kinds. Nodes live in the
** statement's arena (as the AST they point into does), so a plan owns its
** tree without freeing it. Included by planner.h; the builders are in
** plan_int.h.
*/
#ifndef QUIVER_SQL_LOGICAL_H
#define QUIVER_SQL_LOGICAL_H

#include "parser.h"

typedef enum lg_kind {
    LG_SCAN,       /* name: table, alias, pred: the conjuncts pushed into it (or NULL) */
    LG_TABLE_FUNC, /* name: function, exprs: its arguments, alias */
    LG_VALUES,     /* one row of no columns (SELECT without FROM) */
    LG_SUBQUERY,   /* alias; kids[0]: the subquery's plan */
    LG_FILTER,     /* pred; qualify: the QUALIFY filter over window results */
    LG_PROJECT,    /* names: the output columns */
    LG_AGGREGATE,  /* exprs: the GROUP BY keys, aggs: the aggregate calls */
    LG_JOIN,       /* jt, exprs: the ON conjuncts left on it, names: USING columns, nkeys, build_left */
    LG_ASOF_JOIN,  /* jt, exprs: the ON conjuncts, names: USING columns, nkeys: equality keys */
    LG_WINDOW,     /* window functions computed over kids[0] */
    LG_UNION,      /* all; kids: both sides */
    LG_INTERSECT,
    LG_EXCEPT,
    LG_DISTINCT,
    LG_SORT,       /* order */
    LG_TOP_N,      /* order (the LIMIT above it bounds it) */
    LG_LIMIT,      /* limit (-1: none), offset */
    LG__COUNT
} lg_kind;

typedef struct lnode lnode;
struct lnode {
    lg_kind kind;
    lnode *kids[2];
    int nkids;
    int64_t est;               /* rows the planner expects (scans, table functions), -1 unknown */
    const char *name, *alias;
    const ast *pred;
    ast *const *exprs;
    int nexprs;
    ast *const *aggs;
    int naggs;
    const char *const *names;
    int nnames;
    const order_item *order;
    int norder;
    join_type jt;
    int nkeys;
    bool build_left, all, qualify;
    int64_t limit, offset;
};

/* The tree as text, one node per line indented two spaces per level from
   depth; ar holds the expressions' text. */
void plan_logical_print(const lnode *n, arena *ar, qv_str *s, int depth);
/* A kind's name ("SCAN", "TOP_N"; a join's line names its join type instead). */
const char *lg_kind_name(lg_kind k);

#endif
