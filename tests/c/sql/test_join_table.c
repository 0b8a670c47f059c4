/* The hash join's table (src/sql/exec/join_table.c): built in parallel on a
   pool of 4 it is the same, array for array, as built serially; and it is a
   correct table: every build row whose keys hold no NULL is in exactly one
   entry, in its hash's bucket, rows ascending inside a bucket; NULL-key rows
   come after the entries (or are entries with null_eq). Keys are random with
   many duplicates and NULLs: one int64 key, one string key, two keys. */
#include "qtest.h"

#include "hashjoin.h"

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void keys_fill(vec *k, qv_type t, int64_t n, int64_t distinct, int null_pct, int64_t spread) {
    vec_init(k, t);
    vec_reset(k, t, (int)n);
    for (int64_t r = 0; r < n; r++) {
        if ((int)(next_rand() % 100) < null_pct) {
            vec_set_null(k, (int)r);
            if (type_pc(t) == PC_S) k->s[r] = (sv){"", 0};
            continue;
        }
        uint64_t v = next_rand() % (uint64_t)distinct;
        if (type_pc(t) == PC_I) {
            k->i[r] = ((int64_t)v - (int64_t)distinct / 2) * spread;
        } else {
            char buf[40];
            int len = snprintf(buf, sizeof buf, "key-%llu%s", (unsigned long long)v, v % 3 ? "-a-longer-tail" : "");
            vec_set_str(k, (int)r, buf, len);
        }
    }
}

static int same(const jtab *a, const jtab *b) {
    if (a->mask != b->mask || a->nent != b->nent || a->n != b->n || a->inorder != b->inorder) return 0;
    if (a->inorder) return !memcmp(a->row, b->row, sizeof(uint32_t) * (size_t)a->n);
    if (memcmp(a->dir, b->dir, sizeof(uint32_t) * (a->mask + 2))) return 0;
    if (a->nent && a->key && memcmp(a->key, b->key, sizeof(uint64_t) * (size_t)a->nent)) return 0;
    if (a->n && memcmp(a->row, b->row, sizeof(uint32_t) * (size_t)a->n)) return 0;
    if (a->sk && memcmp(a->sk, b->sk, sizeof(jskey) * (size_t)a->nent)) return 0;
    return 1;
}

/* Every entry is in its row's bucket, rows ascending per bucket; row[] is a permutation. */
static int valid(const jtab *t, const vec *keys, int nk, int64_t n, bool null_eq) {
    if (t->inorder) { /* no table: build row i holds key kmin + i */
        int ok = t->direct && t->identity && t->unique && t->nent == n && !keys[0].has_nulls;
        for (int64_t i = 0; i < n && ok; i++) ok = t->row[i] == (uint32_t)i && keys[0].i[i] == t->kmin + i;
        return ok;
    }
    uint64_t *h = qv_xmalloc(sizeof(uint64_t) * (size_t)(n + 1));
    uint8_t *isnull = qv_xmalloc((size_t)(n + 1)), *seen = qv_xcalloc((size_t)(n + 1), 1);
    jtab_hash(keys, nk, 0, n, h, isnull);
    int ok = 1;
    int64_t want = 0;
    for (int64_t r = 0; r < n; r++) want += !isnull[r] || null_eq;
    if (want != t->nent || t->dir[0] != 0 || t->dir[t->mask + 1] != (uint32_t)t->nent) ok = 0;
    for (uint64_t b = 0; b <= t->mask && ok; b++)
        for (uint32_t i = t->dir[b]; i < t->dir[b + 1] && ok; i++) {
            uint32_t r = t->row[i];
            uint64_t want_b = t->direct ? (uint64_t)keys[0].i[r] - (uint64_t)t->kmin : h[r] & t->mask;
            if (want_b != b || (i > t->dir[b] && t->row[i - 1] >= r)) ok = 0;
            if ((t->sk ? t->sk[i].h : t->key[i]) != (t->int1 ? (uint64_t)keys[0].i[r] : h[r])) ok = 0;
            if (t->sk) { /* the entry's length and zero-padded prefix */
                sv x = keys[0].s[r];
                char want_b[JSK_PREFIX] = {0};
                memcpy(want_b, x.p, (size_t)(x.n < JSK_PREFIX ? x.n : JSK_PREFIX));
                if (t->sk[i].len != x.n || memcmp(t->sk[i].b, want_b, JSK_PREFIX)) ok = 0;
            }
        }
    for (int64_t i = 0; i < n && ok; i++) {
        uint32_t r = t->row[i];
        if (r >= n || seen[r]) ok = 0;
        else seen[r] = 1;
        if (ok && i >= t->nent && !isnull[r]) ok = 0;
    }
    free(h);
    free(isnull);
    free(seen);
    return ok;
}

static int check_case(const vec *keys, int nk, int64_t n, bool int1, bool null_eq, sql_pool *pool) {
    jtab a, b;
    jtab_build(&a, keys, nk, n, int1, null_eq, NULL, 1);
    jtab_build(&b, keys, nk, n, int1, null_eq, pool, 4);
    int ok = same(&a, &b) && valid(&a, keys, nk, n, null_eq);
    jtab_free(&a);
    jtab_free(&b);
    return ok;
}

QTEST(join_table_parallel_int_key) {
    sql_pool *pool = sql_pool_new(4);
    int64_t sizes[] = {0, 1, 100, 70000, 300000};
    for (int s = 0; s < 5; s++) {
        vec k;
        keys_fill(&k, QV_T_INT64, sizes[s], sizes[s] / 3 + 1, 10, s % 2 ? 1 : 1000003); /* direct buckets, hashed buckets */
        int ok = check_case(&k, 1, sizes[s], true, false, pool) && check_case(&k, 1, sizes[s], false, false, pool) &&
                 check_case(&k, 1, sizes[s], false, true, pool);
        vec_free(&k);
        QCHECK(ok);
    }
    sql_pool_free(pool);
}

QTEST(join_table_parallel_string_and_two_keys) {
    sql_pool *pool = sql_pool_new(4);
    int64_t n = 200000;
    vec k[2];
    keys_fill(&k[0], QV_T_STRING, n, 5000, 5, 1);
    keys_fill(&k[1], QV_T_INT64, n, 7, 5, 1);
    int ok = check_case(k, 1, n, false, false, pool) && check_case(k, 2, n, false, false, pool) &&
             check_case(k, 2, n, false, true, pool);
    vec_free(&k[0]);
    vec_free(&k[1]);
    QCHECK(ok);
    sql_pool_free(pool);
}

QTEST(join_table_skewed_one_key) {
    sql_pool *pool = sql_pool_new(4);
    int64_t n = 100000;
    vec k;
    keys_fill(&k, QV_T_INT64, n, 1, 0, 1); /* every row the same key: one bucket holds them all */
    int ok = check_case(&k, 1, n, true, false, pool);
    vec_free(&k);
    QCHECK(ok);
    sql_pool_free(pool);
}


QTEST(join_table_dense_unique_keys_are_identity) {
    sql_pool *pool = sql_pool_new(4);
    int64_t n = 150000;
    vec k;
    vec_init(&k, QV_T_INT64);
    vec_reset(&k, QV_T_INT64, (int)n);
    for (int64_t r = 0; r < n; r++) k.i[r] = 1000 + (r * 7919) % n; /* a permutation of 1000 .. 1000 + n - 1 */
    jtab t;
    jtab_build(&t, &k, 1, n, true, false, pool, 4);
    int ok = t.direct && t.identity && t.kmin == 1000 && t.nent == n;
    for (int64_t i = 0; i < n && ok; i++) ok = k.i[t.row[i]] == 1000 + i;
    jtab_free(&t);
    k.i[5] = 1000 + n + 10; /* still within the buckets, but a gap: direct, not identity */
    jtab_build(&t, &k, 1, n, true, false, pool, 4);
    ok = ok && t.direct && !t.identity;
    jtab_free(&t);
    ok = ok && check_case(&k, 1, n, true, false, pool);
    vec_free(&k);
    QCHECK(ok);
    sql_pool_free(pool);
}

/* The perfect-hash cases: a dense key stored in order needs no table
   (inorder: row[i] = i); unique keys with gaps or NULLs are unique but not
   identity; one repeated key makes the table direct but not unique. */
QTEST(join_table_perfect_cases) {
    sql_pool *pool = sql_pool_new(4);
    int64_t n = 100000;
    vec k;
    vec_init(&k, QV_T_INT64);
    vec_reset(&k, QV_T_INT64, (int)n);
    for (int64_t r = 0; r < n; r++) k.i[r] = -50000 + r;
    jtab t;
    jtab_build(&t, &k, 1, n, true, false, pool, 4);
    int ok = t.inorder && t.identity && t.unique && t.kmin == -50000 && t.nent == n && !t.dir;
    for (int64_t i = 0; i < n && ok; i++) ok = t.row[i] == (uint32_t)i;
    jtab_free(&t);
    ok = ok && check_case(&k, 1, n, true, false, pool);
    k.i[7] = -50000 + n + 3; /* a gap, one key moved past the end */
    jtab_build(&t, &k, 1, n, true, false, pool, 4);
    ok = ok && !t.inorder && t.direct && t.unique && !t.identity;
    jtab_free(&t);
    ok = ok && check_case(&k, 1, n, true, false, pool);
    k.i[7] = -50000 + 7;
    vec_set_null(&k, 9); /* a NULL key: left out, the rest unique */
    jtab_build(&t, &k, 1, n, true, false, pool, 4);
    ok = ok && !t.inorder && t.direct && t.unique && !t.identity && t.nent == n - 1 && t.row[n - 1] == 9;
    jtab_free(&t);
    ok = ok && check_case(&k, 1, n, true, false, pool);
    k.has_nulls = false;
    k.nulls[9] = 0;
    k.i[9] = k.i[10]; /* one key twice: direct, not unique */
    jtab_build(&t, &k, 1, n, true, false, pool, 4);
    ok = ok && t.direct && !t.unique && !t.identity;
    jtab_free(&t);
    ok = ok && check_case(&k, 1, n, true, false, pool);
    vec_free(&k);
    QCHECK(ok);
    sql_pool_free(pool);
}
