/*
** Min/max of fixed-width values with no nulls, for row-group stats. Two
** implementations giving the same answers (tests/c compare them): a
** portable loop of four independent lanes, and on x86-64 an AVX2 loop of
** eight lanes, chosen once at run time. NaNs never take part in min/max
** (a float chunk of only NaNs adds none); they set has_nan instead. Stateless apart from that choice.
*/
#include "st_int.h"

#include <math.h>
#include <pthread.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct mm_pair {
    union { int64_t i; double f; } lo, hi;
    bool any;
    bool nan; /* floats: some value is NaN */
} mm_pair;

/* ---------------- portable ---------------- */

#define MM_STEP(v, l, h)       \
    do {                       \
        l = (v) < l ? (v) : l; \
        h = (v) > h ? (v) : h; \
    } while (0)
/* lanes joined lows with lows and highs with highs: an untouched lane
   still holds its starting value, which must not win */
#define MM_JOIN(vl, vh, l, h)    \
    do {                         \
        l = (vl) < l ? (vl) : l; \
        h = (vh) > h ? (vh) : h; \
    } while (0)

#define MM_LANES4(T, p, n, init_lo, init_hi, out_lo, out_hi)                                                   \
    do {                                                                                                       \
        T l0 = init_lo, l1 = init_lo, l2 = init_lo, l3 = init_lo, h0 = init_hi, h1 = init_hi, h2 = init_hi,    \
          h3 = init_hi;                                                                                        \
        int64_t i_ = 0;                                                                                        \
        for (; i_ + 4 <= (n); i_ += 4) {                                                                       \
            MM_STEP((p)[i_], l0, h0);                                                                          \
            MM_STEP((p)[i_ + 1], l1, h1);                                                                      \
            MM_STEP((p)[i_ + 2], l2, h2);                                                                      \
            MM_STEP((p)[i_ + 3], l3, h3);                                                                      \
        }                                                                                                      \
        for (; i_ < (n); i_++) MM_STEP((p)[i_], l0, h0);                                                       \
        MM_JOIN(l1, h1, l0, h0);                                                                               \
        MM_JOIN(l2, h2, l0, h0);                                                                               \
        MM_JOIN(l3, h3, l0, h0);                                                                               \
        out_lo = l0;                                                                                           \
        out_hi = h0;                                                                                           \
    } while (0)

#define MM_ANY_NAN(p, n, out)                 \
    do {                                      \
        out = false;                          \
        for (int64_t k_ = 0; k_ < (n); k_++)  \
            if ((p)[k_] != (p)[k_]) {         \
                out = true;                   \
                break;                        \
            }                                 \
    } while (0)

static void mm_portable(qv_type ty, const void *vals, int64_t n, mm_pair *r) {
    r->any = true;
    r->nan = false;
    switch (ty) {
    case QV_T_DATE:
    case QV_T_INT32: MM_LANES4(int32_t, (const int32_t *)vals, n, INT32_MAX, INT32_MIN, r->lo.i, r->hi.i); break;
    case QV_T_INT64:
    case QV_T_DECIMAL:
    case QV_T_INTERVAL:
    case QV_T_TIME:
    case QV_T_TIMESTAMP: MM_LANES4(int64_t, (const int64_t *)vals, n, INT64_MAX, INT64_MIN, r->lo.i, r->hi.i); break;
    case QV_T_FLOAT32:
        MM_LANES4(float, (const float *)vals, n, INFINITY, -INFINITY, r->lo.f, r->hi.f);
        MM_ANY_NAN((const float *)vals, n, r->nan);
        break;
    case QV_T_FLOAT64:
        MM_LANES4(double, (const double *)vals, n, INFINITY, -INFINITY, r->lo.f, r->hi.f);
        MM_ANY_NAN((const double *)vals, n, r->nan);
        break;
    default: r->any = false; return;
    }
    if (ty == QV_T_FLOAT32 || ty == QV_T_FLOAT64) r->any = r->lo.f <= r->hi.f; /* only NaNs: lo > hi */
}

/* ---------------- AVX2 ---------------- */

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))

AVX2 static void mm_i64_avx2(const int64_t *p, int64_t n, mm_pair *r) {
    __m256i l0 = _mm256_set1_epi64x(INT64_MAX), l1 = l0, h0 = _mm256_set1_epi64x(INT64_MIN), h1 = h0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i)), b = _mm256_loadu_si256((const __m256i *)(p + i + 4));
        l0 = _mm256_blendv_epi8(l0, a, _mm256_cmpgt_epi64(l0, a));
        h0 = _mm256_blendv_epi8(h0, a, _mm256_cmpgt_epi64(a, h0));
        l1 = _mm256_blendv_epi8(l1, b, _mm256_cmpgt_epi64(l1, b));
        h1 = _mm256_blendv_epi8(h1, b, _mm256_cmpgt_epi64(b, h1));
    }
    int64_t ls[8], hs[8];
    _mm256_storeu_si256((__m256i *)ls, l0);
    _mm256_storeu_si256((__m256i *)(ls + 4), l1);
    _mm256_storeu_si256((__m256i *)hs, h0);
    _mm256_storeu_si256((__m256i *)(hs + 4), h1);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int k = 0; k < 8; k++) MM_JOIN(ls[k], hs[k], lo, hi);
    for (; i < n; i++) MM_STEP(p[i], lo, hi);
    r->lo.i = lo;
    r->hi.i = hi;
}

AVX2 static void mm_i32_avx2(const int32_t *p, int64_t n, mm_pair *r) {
    __m256i l0 = _mm256_set1_epi32(INT32_MAX), l1 = l0, h0 = _mm256_set1_epi32(INT32_MIN), h1 = h0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i)), b = _mm256_loadu_si256((const __m256i *)(p + i + 8));
        l0 = _mm256_min_epi32(l0, a);
        h0 = _mm256_max_epi32(h0, a);
        l1 = _mm256_min_epi32(l1, b);
        h1 = _mm256_max_epi32(h1, b);
    }
    int32_t ls[16], hs[16];
    _mm256_storeu_si256((__m256i *)ls, l0);
    _mm256_storeu_si256((__m256i *)(ls + 8), l1);
    _mm256_storeu_si256((__m256i *)hs, h0);
    _mm256_storeu_si256((__m256i *)(hs + 8), h1);
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (int k = 0; k < 16; k++) MM_JOIN(ls[k], hs[k], lo, hi);
    for (; i < n; i++) MM_STEP(p[i], lo, hi);
    r->lo.i = lo;
    r->hi.i = hi;
}

/* min_pd(v, acc) returns acc when v is NaN: a NaN never wins. */
AVX2 static void mm_f64_avx2(const double *p, int64_t n, mm_pair *r) {
    __m256d l0 = _mm256_set1_pd(INFINITY), l1 = l0, h0 = _mm256_set1_pd(-INFINITY), h1 = h0, u = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d a = _mm256_loadu_pd(p + i), b = _mm256_loadu_pd(p + i + 4);
        u = _mm256_or_pd(u, _mm256_cmp_pd(a, b, _CMP_UNORD_Q)); /* a or b NaN */
        l0 = _mm256_min_pd(a, l0);
        h0 = _mm256_max_pd(a, h0);
        l1 = _mm256_min_pd(b, l1);
        h1 = _mm256_max_pd(b, h1);
    }
    double ls[8], hs[8];
    _mm256_storeu_pd(ls, l0);
    _mm256_storeu_pd(ls + 4, l1);
    _mm256_storeu_pd(hs, h0);
    _mm256_storeu_pd(hs + 4, h1);
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 8; k++) MM_JOIN(ls[k], hs[k], lo, hi);
    r->nan = _mm256_movemask_pd(u) != 0;
    for (; i < n; i++) {
        MM_STEP(p[i], lo, hi);
        r->nan |= p[i] != p[i];
    }
    r->lo.f = lo;
    r->hi.f = hi;
}

AVX2 static void mm_f32_avx2(const float *p, int64_t n, mm_pair *r) {
    __m256 l0 = _mm256_set1_ps(INFINITY), l1 = l0, h0 = _mm256_set1_ps(-INFINITY), h1 = h0, u = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_loadu_ps(p + i), b = _mm256_loadu_ps(p + i + 8);
        u = _mm256_or_ps(u, _mm256_cmp_ps(a, b, _CMP_UNORD_Q)); /* a or b NaN */
        l0 = _mm256_min_ps(a, l0);
        h0 = _mm256_max_ps(a, h0);
        l1 = _mm256_min_ps(b, l1);
        h1 = _mm256_max_ps(b, h1);
    }
    float ls[16], hs[16];
    _mm256_storeu_ps(ls, l0);
    _mm256_storeu_ps(ls + 8, l1);
    _mm256_storeu_ps(hs, h0);
    _mm256_storeu_ps(hs + 8, h1);
    float lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 16; k++) MM_JOIN(ls[k], hs[k], lo, hi);
    r->nan = _mm256_movemask_ps(u) != 0;
    for (; i < n; i++) {
        MM_STEP(p[i], lo, hi);
        r->nan |= p[i] != p[i];
    }
    r->lo.f = lo;
    r->hi.f = hi;
}

static bool mm_fast_init(void) { return __builtin_cpu_supports("avx2"); }

static bool mm_fast(qv_type ty, const void *vals, int64_t n, mm_pair *r) {
    r->any = true;
    r->nan = false;
    switch (ty) {
    case QV_T_DATE:
    case QV_T_INT32: mm_i32_avx2(vals, n, r); return true;
    case QV_T_INT64:
    case QV_T_DECIMAL:
    case QV_T_INTERVAL:
    case QV_T_TIME:
    case QV_T_TIMESTAMP: mm_i64_avx2(vals, n, r); return true;
    case QV_T_FLOAT32: mm_f32_avx2(vals, n, r); break;
    case QV_T_FLOAT64: mm_f64_avx2(vals, n, r); break;
    default: return false;
    }
    r->any = r->lo.f <= r->hi.f;
    return true;
}
#else
static bool mm_fast_init(void) { return false; }
static bool mm_fast(qv_type ty, const void *vals, int64_t n, mm_pair *r) {
    (void)ty, (void)vals, (void)n, (void)r;
    return false;
}
#endif

/* ---------------- merging ---------------- */

static pthread_once_t mm_once = PTHREAD_ONCE_INIT;
static bool mm_have_fast;

static void mm_init(void) { mm_have_fast = mm_fast_init(); }

static void mm_merge(st_stats *st, qv_type ty, const mm_pair *r) {
    st->has_nan |= r->nan;
    if (!r->any) return;
    bool fl = ty == QV_T_FLOAT32 || ty == QV_T_FLOAT64;
    if (!st->has_minmax) {
        st->has_minmax = true;
        if (fl) st->min.f = r->lo.f, st->max.f = r->hi.f;
        else st->min.i = r->lo.i, st->max.i = r->hi.i;
    } else if (fl) {
        if (r->lo.f < st->min.f) st->min.f = r->lo.f;
        if (r->hi.f > st->max.f) st->max.f = r->hi.f;
    } else {
        if (r->lo.i < st->min.i) st->min.i = r->lo.i;
        if (r->hi.i > st->max.i) st->max.i = r->hi.i;
    }
}

void st_minmax_merge(st_stats *st, qv_type ty, const void *vals, int64_t n) {
    if (n <= 0) return;
    pthread_once(&mm_once, mm_init);
    mm_pair r;
    if (!mm_have_fast || !mm_fast(ty, vals, n, &r)) mm_portable(ty, vals, n, &r);
    mm_merge(st, ty, &r);
}

void st_minmax_merge_portable(st_stats *st, qv_type ty, const void *vals, int64_t n) {
    if (n <= 0) return;
    mm_pair r;
    mm_portable(ty, vals, n, &r);
    mm_merge(st, ty, &r);
}

bool st_minmax_merge_fast(st_stats *st, qv_type ty, const void *vals, int64_t n) {
    pthread_once(&mm_once, mm_init);
    if (!mm_have_fast) return false;
    if (n <= 0) return true;
    mm_pair r;
    if (!mm_fast(ty, vals, n, &r)) return false;
    mm_merge(st, ty, &r);
    return true;
}
