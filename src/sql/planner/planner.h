/*
** The planner stage's interface (planner/): a SELECT planned into an
** operator tree with its result schema and EXPLAIN text, and the init plans
** of subqueries. Includes exec.h; the public API's files (query_int.h)
** include this. Planner internals: plan_int.h.
*/
#ifndef QUIVER_SQL_PLANNER_H
#define QUIVER_SQL_PLANNER_H

#include "exec.h"

/* Binder/planner: builds the operator tree and the result schema. */
typedef struct plan {
    op *root;
    qv_schema schema;
    int64_t total_rows;   /* -1 unknown */
    st_table **tables;    /* opened tables, released by plan_free */
    st_snapshot **snaps;
    int ntables;
    bool passthrough;     /* zero-copy SELECT of plain columns */
    int *pt_cols;
    st_snapshot *pt_snap;
    int64_t pt_limit, pt_offset;
    int64_t pt_row_from, pt_row_to; /* scoped pass-through: storage rows [from, to) */
    char *logical;        /* EXPLAIN's logical plan (heap) */
    char *logical_src;    /* the FROM part of it while planning (heap) */
    op *scan_op;          /* the serial scan of the FROM table (NULL: none, or parallel) */
    bool is_scan;         /* only scan + filter + projection of one base table */
    const char *scan_table;
} plan;

/* st_table_open, falling back to the one table whose name matches case-insensitively. */
int sql_table_open(st_db *db, const char *name, st_table **out, qv_err *err);
/* top: the statement's own SELECT (may become a zero-copy pass-through). */
int plan_select(sql_ctx *c, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err);
void plan_free(plan *p);

/* The init plans of qs (planner/subquery.c). */
/* Runs the init plans not yet run; frees them all. */
int qstate_run_inits(qstate *qs, qv_err *err);
void qstate_free_inits(qstate *qs);
void qstate_explain_inits(qstate *qs, qv_str *s);

#endif
