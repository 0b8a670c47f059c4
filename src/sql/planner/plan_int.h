/* Planner internals shared by plan.c (one SELECT over one source),
   join_plan.c (FROM clauses with joins, predicate placement, EXISTS as
   semi/anti joins), subquery.c (subquery expressions run once before the
   main plan) and setop.c (UNION / INTERSECT / EXCEPT). */
#ifndef QUIVER_SQL_PLAN_INT_H
#define QUIVER_SQL_PLAN_INT_H

#include "bind.h"
#include "hashjoin.h"

void plan_add_table(plan *p, st_table *t, st_snapshot *s);
/* Moves sub's tables and snapshots to p (sub keeps its root and schema). */
void plan_adopt(plan *p, plan *sub);

/* The FROM tree s->from planned into one operator and its scope. WHERE
   conjuncts are pushed into scans or attached to joins where legal; the
   ones left (*where_rest, NULL when none) are applied by the caller. */
int plan_joins(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, op **root, scope *sc,
               ast **where_rest, qv_err *err);
/* s with WHERE-level [NOT] EXISTS (SELECT ... FROM ... WHERE ...) conjuncts
   turned into SEMI/ANTI joins of its FROM (a copy; s itself is not changed). */
const select_stmt *plan_rewrite_exists(arena *ar, const select_stmt *s);

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

/* AST rewrites (rewrite.c). */
int plan_grouping_sets(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err);
int plan_distinct_on(sql_ctx *ctx, qstate *qs, arena *ar, const select_stmt *s, plan *p, qv_err *err);

/* AND-ed conjuncts of a (appended to *out, an arena array grown as needed). */
void ast_conjuncts(arena *ar, ast *a, ast ***out, int *n, int *cap);
ast *ast_and(arena *ar, ast **v, int n);

#endif
