/* Hash join operator (join.c): the build child is drained into a column
   store with a chained hash table on its keys; the probe child streams.
   Output columns are always [left..., right...] (SEMI/ANTI: left only),
   whichever side is built. Equality keys never match on NULL unless null_eq
   (set operations). residual is bound over [left..., right...]. */
#ifndef QUIVER_SQL_HASHJOIN_H
#define QUIVER_SQL_HASHJOIN_H

#include "exec.h"

typedef struct join_spec {
    join_type jt;          /* INNER/LEFT/RIGHT/FULL/CROSS/SEMI/ANTI (SEMI/ANTI: probe = left) */
    bool build_left;       /* build the left child (probe the right) */
    int nkeys;
    bexpr **lkeys, **rkeys; /* over each side's own columns, same types pairwise */
    bexpr *residual;       /* or NULL */
    bool null_eq;          /* NULL keys match each other (INTERSECT/EXCEPT) */
    bool consume;          /* each build row matches at most once (INTERSECT ALL/EXCEPT ALL) */
    const char *label;     /* for EXPLAIN and errors, e.g. "LEFT JOIN t ON ..." */
    const bool *keep;      /* output columns anything reads (NULL: all); the others come out NULL, unfilled */
} join_spec;

/* left and right may carry a selection (the probe is read through it, the
   build drained through it); SYMBOL codes are resolved. Takes ownership. */
op *op_hash_join_new(qstate *qs, op *left, op *right, const join_spec *spec);
/* The same join probed by n pipelines (probes[w] over scans[w], left side)
   row group by row group on the pool, sharing one hash table built from
   build (right) on the calling thread first. Only for joins that emit no
   unmatched build rows (INNER, LEFT, SEMI, ANTI with the right side built). */
op *op_hash_join_parallel_new(qstate *qs, op **probes, op **scans, int n, int nrg, op *build, const join_spec *spec);
/* Its pieces: the master owns build and the hash table (probe_shape only
   gives the left columns; it is not kept); each clone probes one pipeline;
   the prebuild op builds the table on the calling thread, then runs child
   (which holds the clones: a gather, or a parallel aggregate over them). */
op *op_hash_join_master_new(qstate *qs, op *probe_shape, op *build, const join_spec *spec);
op *op_hash_join_clone_new(qstate *qs, op *master, op *probe);
op *op_join_prebuild_new(qstate *qs, op *master, op *child, int n);

/* A probe side's input: columns cols[0..n) of child, borrowed as they are
   (no copy), with child's selection kept; the columns must not be SYMBOL
   codes. In place of a projection that would copy them dense. */
op *op_join_input_new(qstate *qs, op *child, int n, const int *cols);

/* The table (join_table.c): build rows grouped by bucket. Bucket b's
   entries are dir[b] .. dir[b+1]; entry i holds key[i] (the row's key when
   int1: one integer key; else its key hash) and is build row row[i].
   row[nent..n) are the rows left out: those whose keys hold a NULL, unless
   null_eq. */
/* One string key: each entry is one aligned 32-byte slot holding the key's
   hash, its length and first JSK_PREFIX bytes (zero padded), so a probe
   reads one cache line per candidate and a key of up to JSK_PREFIX bytes
   never touches the string heap. */
#define JSK_PREFIX 20
typedef struct jskey {
    uint64_t h;
    int32_t len;
    char b[JSK_PREFIX];
} jskey;

typedef struct jtab {
    uint64_t mask;   /* buckets - 1 */
    uint32_t *dir;   /* buckets + 1 offsets */
    uint64_t *key;   /* nent (not kept when str1: the hash is in sk) */
    uint32_t *row;   /* n: a permutation of the build rows */
    jskey *sk;       /* nent, when the key is one string (str1) */
    int64_t n, nent; /* build rows; entries */
    bool int1, str1;
    /* int1 keys within [kmin, kmin + range), range <= buckets: bucket = key - kmin
       (no hashing); unique: every key at most once (a perfect-hash join: probe =
       bounds check + directory load); identity: every key of the range exactly once,
       entry i = key - kmin; inorder: and build row i already holds key kmin + i
       (row[i] = i, dir and key unused: the store needs no permutation) */
    bool direct, unique, identity, inorder;
    int64_t kmin;
    uint64_t range;
} jtab;

/* bytes for a table or store array that probes read at random: on 2 MiB
   pages where the system allows (one TLB entry covers far more of it), else
   plain; never NULL; released with free(). */
void *jtab_alloc(size_t bytes);
/* Hashes of rows [from, to) of the key vectors into h[0..), isnull[0..). */
void jtab_hash(const vec *kv, int nk, int64_t from, int64_t to, uint64_t *h, uint8_t *isnull);
/* Bytes jtab_build allocates for n build rows (charge before building). */
int64_t jtab_bytes(int64_t n);
/* Table over rows [0, n) of keys, split into ntasks tasks on pool (NULL or
   ntasks 1: on the calling thread, which must not be a pool worker). The
   result does not depend on ntasks. */
void jtab_build(jtab *t, const vec *keys, int nk, int64_t n, bool int1, bool null_eq, sql_pool *pool, int ntasks);
void jtab_free(jtab *t);

#endif
