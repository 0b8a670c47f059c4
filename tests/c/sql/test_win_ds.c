/* The window operator's sliding-frame structures (win_ds.c) against naive
   versions on random input: rank compression, the Fenwick tree's k-th
   element, the max tree's top; and the total order of doubles they and
   the rest of the executor share (sql_base.h). */
#include "qtest.h"
#include "sql_base.h"
#include "win_ds.h"

#include <math.h>
#include <stdbool.h>

static uint64_t rnd_state = 12;
static uint64_t rnd(void) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static int cmp_i64(const void *ctx, int32_t a, int32_t b) {
    const int64_t *v = ctx;
    return v[a] < v[b] ? -1 : v[a] > v[b];
}

static bool ranks_ok(const win_ranks *rk, const int64_t *v, const bool *skip, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        if (skip[i]) { if (rk->rank[i] != -1) return false; continue; }
        int32_t less = 0; /* distinct smaller values */
        for (int32_t j = 0; j < n; j++) {
            if (skip[j] || v[j] >= v[i]) continue;
            bool seen = false;
            for (int32_t k = 0; k < j && !seen; k++) seen = !skip[k] && v[k] == v[j];
            less += !seen;
        }
        if (rk->rank[i] != less) return false;
        int32_t nx = n, fi = -1;
        for (int32_t j = n - 1; j > i; j--) if (!skip[j] && v[j] == v[i]) nx = j;
        for (int32_t j = n - 1; j >= 0; j--) if (!skip[j] && v[j] == v[i]) fi = j;
        if (rk->nxt[i] != nx || rk->rep[rk->rank[i]] != fi) return false;
    }
    return true;
}

QTEST(ranks_random) {
    for (int round = 0; round < 200; round++) {
        int32_t n = (int32_t)(rnd() % 60);
        int64_t v[64];
        uint64_t key[64];
        bool skip[64];
        int spread = 1 + (int)(rnd() % 20);
        for (int32_t i = 0; i < n; i++) {
            v[i] = (int64_t)(rnd() % (uint64_t)spread) - spread / 2;
            if (round % 3 == 0) v[i] *= (int64_t)1 << 40; /* high bytes differ */
            skip[i] = rnd() % 7 == 0;
            key[i] = win_key_i64(v[i]);
        }
        win_ranks a, b;
        win_ranks_build_u64(&a, n, key, skip);
        win_ranks_build_cmp(&b, n, cmp_i64, v, skip);
        QCHECK(ranks_ok(&a, v, skip, n));
        QCHECK(ranks_ok(&b, v, skip, n));
        QCHECK_EQ(a.nd, b.nd);
        win_ranks_free(&a);
        win_ranks_free(&b);
    }
}

QTEST(key_order) {
    double d[] = {-INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, INFINITY, NAN};
    for (int i = 0; i + 1 < 9; i++) QCHECK(win_key_f64(d[i]) <= win_key_f64(d[i + 1]));
    QCHECK(win_key_f64(-0.0) == win_key_f64(0.0));
    QCHECK(win_key_f64(NAN) == win_key_f64(-NAN));
    QCHECK(win_key_i64(INT64_MIN) < win_key_i64(-1) && win_key_i64(-1) < win_key_i64(0));
}

/* sql_base.h's total order of doubles, its hashing bits and its one-comparison
   forms against a number agree with the order of this list (rank: equal
   values share one). */
QTEST(dbl_total_order) {
    double d[] = {-INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, INFINITY, NAN, -NAN};
    int rank[] = {0, 1, 2, 3, 3, 4, 5, 6, 7, 7};
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) {
            double a = d[i], b = d[j];
            int want = (rank[i] > rank[j]) - (rank[i] < rank[j]);
            QCHECK_EQ(dbl_cmp(a, b), want);
            QCHECK_EQ(dbl_lt(a, b), want < 0);
            QCHECK_EQ(dbl_eq(a, b), want == 0);
            QCHECK_EQ(dbl_key_bits(a) == dbl_key_bits(b), want == 0);
            QCHECK_EQ((win_key_f64(a) > win_key_f64(b)) - (win_key_f64(a) < win_key_f64(b)), want);
            if (b != b) continue;
            QCHECK_EQ(a < b, want < 0);
            QCHECK_EQ(a <= b, want <= 0);
            QCHECK_EQ(!(a <= b), want > 0);
            QCHECK_EQ(!(a < b), want >= 0);
            QCHECK_EQ(a == b, want == 0);
        }
}

QTEST(fenwick_kth_random) {
    for (int round = 0; round < 100; round++) {
        int32_t n = 1 + (int32_t)(rnd() % 40);
        int32_t cnt[40] = {0};
        win_fenwick f;
        win_fenwick_init(&f, n);
        for (int op = 0; op < 300; op++) {
            int32_t r = (int32_t)(rnd() % (uint64_t)n);
            if (rnd() % 3 && cnt[r]) { cnt[r]--; win_fenwick_add(&f, r, -1); }
            else { cnt[r]++; win_fenwick_add(&f, r, 1); }
            int64_t tot = 0;
            for (int32_t i = 0; i < n; i++) tot += cnt[i];
            QCHECK_EQ(f.total, tot);
            for (int64_t k = 0; k < tot; k++) {
                int64_t acc = 0;
                int32_t want = 0;
                while (acc + cnt[want] <= k) acc += cnt[want++];
                QCHECK_EQ(win_fenwick_kth(&f, k), want);
            }
        }
        win_fenwick_free(&f);
    }
}

QTEST(maxtree_random) {
    for (int round = 0; round < 100; round++) {
        int32_t n = (int32_t)(rnd() % 33);
        int64_t key[33];
        win_maxtree m;
        win_maxtree_init(&m, n, 0);
        for (int32_t i = 0; i < n; i++) key[i] = 0;
        QCHECK_EQ(win_maxtree_top(&m), n ? 0 : -1);
        for (int op = 0; op < 200 && n; op++) {
            int32_t i = (int32_t)(rnd() % (uint64_t)n);
            key[i] = (int64_t)(rnd() % 6);
            win_maxtree_set(&m, i, key[i]);
            int32_t want = 0;
            for (int32_t j = 1; j < n; j++) if (key[j] > key[want]) want = j;
            QCHECK_EQ(win_maxtree_top(&m), want);
        }
        win_maxtree_free(&m);
    }
}

static double xsum_of(const double *v, int n) {
    win_xsum x = {0};
    for (int i = 0; i < n; i++) win_xsum_add(&x, v[i], 1);
    return win_xsum_value(&x);
}

/* The exact sum rounded once (values checked with Python's math.fsum). */
QTEST(xsum_exact) {
    double tenth[10];
    for (int i = 0; i < 10; i++) tenth[i] = 0.1;
    QCHECK(xsum_of(tenth, 10) == 1.0);
    double tie[] = {1.0, ldexp(1, -53), ldexp(1, -60)}; /* above the halfway point: rounds up */
    QCHECK(xsum_of(tie, 3) == 1.0 + ldexp(1, -52));
    double cancel[] = {1e300, 2.5, -1e300, 5e-324, -5e-324};
    QCHECK(xsum_of(cancel, 5) == 2.5);
    double neg[] = {-1e300, -2.5, 1e300, -0.25};
    QCHECK(xsum_of(neg, 4) == -2.75);
    double big[] = {1.7e308, 1.7e308, -1.7e308};
    QCHECK(xsum_of(big, 3) == 1.7e308);
    double over[] = {1.7e308, 1.7e308};
    QCHECK(isinf(xsum_of(over, 2)) && xsum_of(over, 2) > 0);
    double sub[] = {5e-324, 5e-324, 5e-324};
    QCHECK(xsum_of(sub, 3) == 3 * 5e-324);
    QCHECK(xsum_of(sub, 0) == 0);
}

/* Values leaving: what is left is summed exactly, whatever passed through. */
QTEST(xsum_sliding_random) {
    static double v[4000];
    for (int i = 0; i < 4000; i++) {
        int k = (int)(rnd() % 8);
        double m = (double)(int64_t)(rnd() % 2001) - 1000; /* small integers: their sums are exact doubles */
        v[i] = k == 0 ? ldexp(m, 900) : k == 1 ? ldexp(m, -1000) : m;
    }
    win_xsum x = {0};
    int w = 5;
    for (int i = 0; i < 4000; i++) {
        win_xsum_add(&x, v[i], 1);
        if (i >= w) win_xsum_add(&x, v[i - w], -1);
        bool plain = true; /* no huge or tiny value in the frame: the plain sum is exact */
        double want = 0;
        for (int j = i >= w ? i - w + 1 : 0; j <= i; j++) {
            plain = plain && fabs(v[j]) <= 1000 && (v[j] == 0 || fabs(v[j]) >= 1);
            want += v[j];
        }
        if (plain) QCHECK(win_xsum_value(&x) == want);
    }
}
