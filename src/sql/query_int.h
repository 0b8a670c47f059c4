/* The sql_query object, shared by the files of the public API: sql.c
   (prepare/next/free, DDL, EXPLAIN), result.c (chunks to batches, the
   pass-through cursor), insert.c (INSERT), delete.c (DELETE) and params.c
   (placeholders, scopes, scan shape). A query owns its arena (AST, bound
   expressions), its plans (operators, opened tables and snapshots), its
   result and parameter schemas, and the bound parameter values (parr). */
#ifndef QUIVER_SQL_QUERY_INT_H
#define QUIVER_SQL_QUERY_INT_H

#include "planner.h"

struct sql_query {
    sql_ctx *ctx;
    arena ar;
    stmt *st;
    qstate qs;
    plan pl;
    bool has_plan;
    qv_schema schema;
    bool done;
    bool started;        /* next() was called: binding is closed */
    int64_t total_rows;
    /* pass-through cursor */
    int pt_rg;
    int64_t pt_skip, pt_left;
    int64_t pt_row;      /* storage row at the start of row group pt_rg */
    int64_t pt_in;       /* next row within row group pt_rg */
    /* EXPLAIN / SHOW / DESCRIBE rows are produced at prepare */
    char *explain;
    /* placeholders */
    sql_params params;
    qv_schema pschema;
    arena parr;          /* strings of the bound values */
    scan_scope scope;
    bool has_scope;
    /* INSERT, bound at prepare */
    int *ins_map;        /* table column -> source position, -1 for NULL */
    int ins_ncols;       /* table columns at prepare */
    bexpr **ins_vals;    /* VALUES: nrows x ins_ncols coerced cells (NULL: no source) */
    plan ins_pl;         /* INSERT ... SELECT: plan with the coercing projection on top */
    bool ins_has_plan;
    /* DELETE: the WHERE's plan is pl (has_plan), made in this serial context */
    sql_ctx del_ctx;
};

/* Executor value of row r of v appended to a builder of type t. */
void sql_append_vec(qv_builder *bld, qv_type t, const vec *v, int r);
void sql_chunk_to_batch(const chunk *c, const qv_schema *sch, qv_batch *out);
/* The next slice of a pass-through SELECT (plan.passthrough), result.c. */
int sql_next_passthrough(sql_query *q, qv_batch *out, bool *eos, qv_err *err);

int sql_insert_prepare(sql_query *q, qv_err *err);
int sql_insert_run(sql_query *q, int64_t *rows, qv_err *err);
/* CREATE TABLE t AS SELECT ... (insert.c): planned like INSERT ... SELECT; run
   creates t with the rows in one commit (rows: how many). */
int sql_ctas_prepare(sql_query *q, qv_err *err);
int sql_ctas_run(sql_query *q, int64_t *rows, qv_err *err);
void sql_insert_free(sql_query *q);

int sql_delete_prepare(sql_query *q, qv_err *err);
/* EXPLAIN DELETE: plans the wrapped DELETE's WHERE (q->pl when it has one), runs nothing. */
int sql_delete_explain_prepare(sql_query *q, qv_err *err);
int sql_delete_run(sql_query *q, int64_t *rows, qv_err *err);

/* Params: set up before planning, finished after (types, schema). */
void sql_params_init(sql_query *q);
void sql_params_done(sql_query *q);
void sql_params_free(sql_query *q);
int sql_params_check(sql_query *q, qv_err *err); /* QV_EINVAL naming $N when unbound */

#endif
