/* Hash join operator (join.c): the build child is drained into a column
   store with a chained hash table on its keys; the probe child streams.
   Output columns are always [left..., right...] (SEMI/ANTI: left only),
   whichever side is built. Equality keys never match on NULL unless null_eq
   (set operations). residual is bound over [left..., right...]. */
#ifndef QUIVER_SQL_HASHJOIN_H
#define QUIVER_SQL_HASHJOIN_H

#include "sql_int.h"

typedef struct join_spec {
    join_type jt;          /* INNER/LEFT/RIGHT/FULL/CROSS/SEMI/ANTI (SEMI/ANTI: probe = left) */
    bool build_left;       /* build the left child (probe the right) */
    int nkeys;
    bexpr **lkeys, **rkeys; /* over each side's own columns, same types pairwise */
    bexpr *residual;       /* or NULL */
    bool null_eq;          /* NULL keys match each other (INTERSECT/EXCEPT) */
    bool consume;          /* each build row matches at most once (INTERSECT ALL/EXCEPT ALL) */
    const char *label;     /* for EXPLAIN and errors, e.g. "LEFT JOIN t ON ..." */
} join_spec;

/* left and right must produce dense chunks (no selection, no SYMBOL codes):
   put a projection of their columns under each side. Takes ownership. */
op *op_hash_join_new(qstate *qs, op *left, op *right, const join_spec *spec);

#endif
