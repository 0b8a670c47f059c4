/* ASOF join operator (asof.c): each left row is matched with at most one
   right row of the same equality keys, the one nearest in the inequality's
   direction (ltime >= rtime: the latest right time not after the left one;
   > the latest before it; <= the earliest not before it; < the earliest
   after it). Among right rows with that same time the first in input order
   is taken (the last for RIGHT and FULL joins: DuckDB's choice on small
   inputs; on large ones its choice among ties is arbitrary). NULL keys and NULL times never match. The right side is built
   once into a store partitioned by key, each partition in time order
   (sorted only when its rows did not arrive in order); left rows stream and
   seek their partition from where the previous row of that partition ended
   (a merge when the left is in time order, a galloping search when not).
   Output columns are [left..., right...]. */
#ifndef QUIVER_SQL_ASOF_H
#define QUIVER_SQL_ASOF_H

#include "exec.h"

typedef struct asof_spec {
    join_type jt;           /* JT_INNER, JT_LEFT, JT_RIGHT or JT_FULL */
    int nkeys;
    bexpr **lkeys, **rkeys; /* equality keys over each side's own columns, same types pairwise */
    bexpr *ltime, *rtime;   /* the inequality's operands over each side, one type (numbers or timestamps) */
    int op;                 /* OP_GE, OP_GT, OP_LE or OP_LT: ltime op rtime */
    bexpr *lgate, *rgate;   /* or NULL: rows of that side take part only where true (outer joins' one-sided ON terms) */
    const char *label;      /* for EXPLAIN and errors */
} asof_spec;

/* left and right must produce chunks without SYMBOL codes in their payload
   (a projection under each side). Takes ownership. */
op *op_asof_join_new(qstate *qs, op *left, op *right, const asof_spec *spec);
/* The same join probed by n pipelines (probes[w] over scans[w], the left
   side) row group by row group on the pool, sharing one store built from
   build on the calling thread first. Only INNER and LEFT. */
op *op_asof_parallel_new(qstate *qs, op **probes, op **scans, int n, int nrg, op *build, const asof_spec *spec);
/* Its pieces, as the hash join's (hashjoin.h): the master owns build and
   the store; each clone probes one pipeline; prebuild builds the store on
   the calling thread, then runs child (which holds the clones). */
op *op_asof_master_new(qstate *qs, op *probe_shape, op *build, const asof_spec *spec);
op *op_asof_clone_new(qstate *qs, op *master, op *probe);
op *op_asof_prebuild_new(qstate *qs, op *master, op *child, int n);

#endif
