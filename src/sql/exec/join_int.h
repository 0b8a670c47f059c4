/* The hash join operator's state, shared by its files: join.c (the
   operator, its states and parallel clones), join_build.c (the build side
   drained into a store, then the table), join_probe.c (probing and the
   output rows). States: not built -> built -> probing (one probe chunk at a
   time: pairs collected up to CHUNK, residual applied, then the chunk's tail
   of unmatched or semi/anti rows) -> unmatched build rows (RIGHT/FULL side)
   -> done. The operator owns both children, the store (strings copied into
   the store vectors' heaps), the table and its output chunks; output strings
   point into the current probe chunk or the store, valid until the next
   call. A clone (master set) probes its master's store and table, which are
   read-only once built. Build memory is charged to the query. */
#ifndef QUIVER_SQL_JOIN_INT_H
#define QUIVER_SQL_JOIN_INT_H

#include "hashjoin.h"

typedef struct join_op {
    op base;
    op *left, *right, *probe, *build;
    join_spec sp;
    bool probe_left, need_used, unmatched_probe, unmatched_build, semi;
    int nl, nr, nk;
    bexpr **pkeys, **bkeys;
    /* build store */
    vec *bcols, *bk, *tk; /* payload columns, key columns, scratch keys */
    int nbc;
    int64_t bn;
    jtab tab;
    bool int1; /* one integer key: entries hold the key itself */
    bool perfect; /* built: the table is unique and direct, probed by join_pairs_perfect */
    uint8_t *bused;
    bool built;
    int64_t charged;
    /* probe state */
    chunk *pc;
    vec *pk;
    uint64_t phash[CHUNK];
    uint32_t plo[CHUNK], phi[CHUNK]; /* each probe row's run of entries */
    uint8_t pnull[CHUNK], pmatched[CHUNK];
    int prow;
    uint32_t pcur, pend;
    bool pstarted, ptail;
    int phase; /* 0 probing, 1 unmatched build rows, 2 done */
    int64_t ub;
    int pp[CHUNK];
    int64_t pb[CHUNK];
    chunk pairs, out;
    vec tmp;
    struct join_op *master;
} join_op;

/* join_build.c: drain the build child and build the table. */
int join_side_build(join_op *j, qv_err *err);
/* join_probe.c */
int join_probe_load(join_op *j, qv_err *err);   /* next probe chunk (j->pc NULL at the end) */
int join_pairs_collect(join_op *j);              /* candidate pairs of the chunk, up to CHUNK */
int join_pairs_filter(join_op *j, int n, qv_err *err); /* survivors of the residual, or -1 */
int join_tail_emit(join_op *j);                  /* SEMI/ANTI or unmatched probe rows of the chunk */
int join_unmatched_emit(join_op *j);             /* unmatched build rows, up to CHUNK */

#endif
