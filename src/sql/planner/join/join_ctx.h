/* What the join planner's files share (join_plan.c places conditions and
   plans the tree; join_need.c: the column names a statement mentions;
   join_keys.c: a join node's conditions into hash keys and a residual). */
#ifndef QUIVER_SQL_JOIN_CTX_H
#define QUIVER_SQL_JOIN_CTX_H

#include "plan_int.h"

#define MAX_LEAVES 64
#define MAX_NODES 128

typedef struct rel {
    op *root;
    scope sc;
    int64_t est;
    lnode *logical; /* arena */
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
    const select_stmt *stmt;
    ast **rest; /* WHERE conjuncts left to the caller */
    int nrest;
} jctx;

/* join_need.c */
void join_ast_push(arena *ar, ast ***v, int *n, int *cap, ast *a);
void join_need_collect(jctx *j, const select_stmt *s, bool outer); /* fills j->need, j->star */
/* NATURAL joins under f take USING (the names both sides have), once the
   leaves' names are known (join_keys.c). */
int join_natural_resolve(jctx *j, from_item *f);
bool join_col_needed(const jctx *j, const char *name);
/* Which output columns (cs) of join node n anything above it may read, by
   name (arena; NULL: all of them). */
bool *join_keep_cols(jctx *j, const jnode *n, const scope *cs);
/* join_plan.c */
binder join_binder_make(jctx *j, const scope *sc, planner_env *env);
/* join_keys.c: equalities across the sides become sp's keys, the rest its
   residual; USING columns give ucoal (their COALESCE) and uli (left index). */
int join_keys_split(jctx *j, jnode *n, scope *cs, int nl, join_spec *sp, bexpr **ucoal, int *uli);

#endif
