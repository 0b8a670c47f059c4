/* The hash aggregate's operator state, shared by agg.c (the operator: input,
   per-aggregate updates, parallel merge, output) and agg_group.c (group ids:
   the key hash table, key encoding, and the single-string-key and SYMBOL-code
   paths). Internal to src/sql/functions. */
#ifndef QUIVER_SQL_AGG_INT_H
#define QUIVER_SQL_AGG_INT_H

#include "functions.h"

typedef struct htab {
    uint64_t *hash;
    int32_t *gid;   /* -1 empty */
    int64_t cap, n;
} htab;

typedef struct agg_op {
    op base;
    op *child;
    int nkeys, naggs;
    bexpr **keys;
    agg_spec *aggs;
    bool str1;              /* one string key: groups found by str_hash of the string itself */
    int32_t null_gid;       /* str1: group of the NULL key, -1 until seen */
    void *gs;               /* str1: per group, the words a row's string is compared with (agg_group.c) */
    int64_t ngs;
    htab ht;
    qv_str keybuf;          /* all group keys (encoded), back to back */
    int64_t *keyoff;        /* per group: offset in keybuf; keyoff[ngroups] = end */
    int64_t ngroups, gcap, kcap;
    int64_t tab_charged;    /* hash table and key offsets already charged */
    char **st;              /* per aggregate: states by group (agg_defs[fn]->state_size bytes each) */
    htab *dht;              /* per DISTINCT aggregate: seen (group, value) */
    qv_str *dkeys;
    int64_t **dkeyoff;
    int64_t *dn, *dcap;
    bool consumed;
    int64_t emitted;
    int64_t charged;
    chunk out;
    char *strings;          /* min/max/first/last strings live in here */
    int32_t *code_gid;      /* one SYMBOL key: group of each dictionary code, -1 unseen */
    int64_t ncode_gid;
    qv_buffer *code_dict;   /* the dictionary buffer code_gid belongs to (a ref: a freed one's address may come back) */
    struct agg_op **parts;  /* parallel: partial aggregations, in table order */
    int nparts;
} agg_op;

void agg_ht_init(htab *h);
void agg_ht_free(htab *h);
/* Find or insert the encoded key (hash hv); *isnew set when inserted. keys/offs hold the stored keys. */
int32_t agg_ht_find(htab *h, uint64_t hv, const char *key, size_t klen, qv_str *keys, int64_t **offs, int64_t *n,
                    int64_t *cap, bool *isnew);

/* Key bytes of row `row` of v appended to k: null flag, then 8 bytes or length + bytes. */
void agg_key_encode(qv_str *k, const vec *v, int row);
/* Reads one encoded key value into row `row` of v; returns the byte after it. */
const char *agg_key_decode(const char *p, vec *v, int row);

/* Group of one encoded key (all key columns), inserted when new. */
int32_t agg_group_of_key(agg_op *a, const char *key, size_t klen);
/* Group ids of the m active rows of c: the generic path over encoded keys
   (kp: the key vectors, compacted), the str1 path, and one SYMBOL key read as
   dictionary codes (each code looked up once per dictionary). */
void agg_group_rows(agg_op *a, const vec *const *kp, int m, int32_t *gids, qv_str *key);
void agg_group_strs(agg_op *a, const vec *v, int m, int32_t *gids);
void agg_group_codes(agg_op *a, const chunk *c, int32_t *gids);

#endif
