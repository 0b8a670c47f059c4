/* Exact sums of doubles for sliding frames (win_ds.h): a double is an
   integer mantissa of 53 bits times 2^(p - 1074) with p >= 0, so it adds into
   at most three 32-bit digits at p / 32. Digits are int64 so additions need
   no carries; carries are propagated before the value is read and after 2^30
   terms, over the digits in use only. */
#include "win_ds.h"

#include <math.h>
#include <string.h>

#define DIG 32
#define LOW INT64_C(0xffffffff)

/* Carries up from digit lo: every digit but the top one ends in [0, 2^32),
   the top one in [-2^31, 2^31). */
static void xsum_carry(win_xsum *x) {
    for (int32_t k = x->lo; k < WIN_XSUM_DIGITS - 1; k++) {
        int64_t v = x->d[k];
        if (k >= x->hi && v >= -(INT64_C(1) << 31) && v < (INT64_C(1) << 31)) break;
        int64_t c = (v - (v & LOW)) / (INT64_C(1) << DIG); /* floor(v / 2^32) */
        x->d[k] = v & LOW;
        x->d[k + 1] += c;
        if (k + 1 > x->hi) x->hi = k + 1;
    }
    while (x->hi > x->lo && !x->d[x->hi]) x->hi--;
    x->terms = 0;
}

void win_xsum_add(win_xsum *x, double v, int sign) {
    if (v == 0) return;
    int e;
    double m = frexp(v, &e); /* v = m * 2^e, 0.5 <= |m| < 1 */
    int64_t mant = (int64_t)ldexp(m, 53), p = (int64_t)e - 53 + 1074;
    if (p < 0) { /* subnormal: the low bits of mant are zero */
        mant /= INT64_C(1) << -p;
        p = 0;
    }
    bool neg = (mant < 0) != (sign < 0);
    unsigned __int128 t = (unsigned __int128)(uint64_t)(mant < 0 ? -mant : mant) << (p % DIG);
    int32_t i = (int32_t)(p / DIG);
    int64_t c[3] = {(int64_t)(t & LOW), (int64_t)((t >> DIG) & LOW), (int64_t)(t >> (2 * DIG))};
    for (int j = 0; j < 3; j++) x->d[i + j] += neg ? -c[j] : c[j];
    if (!x->used || i < x->lo) x->lo = i;
    if (!x->used || i + 2 > x->hi) x->hi = i + 2;
    x->used = true;
    if (++x->terms >= 1 << 30) xsum_carry(x);
}

double win_xsum_value(win_xsum *x) {
    if (!x->used) return 0;
    xsum_carry(x);
    int32_t lo = x->lo, t = x->hi;
    if (!x->d[t]) return 0; /* carried: a zero top digit means every digit is zero */
    bool neg = x->d[t] < 0;
    int64_t u[WIN_XSUM_DIGITS];
    memcpy(u + lo, x->d + lo, sizeof u[0] * (size_t)(t - lo + 1));
    if (neg) { /* the magnitude: negate, then borrow so every digit is in [0, 2^32) */
        for (int32_t k = lo; k <= t; k++) u[k] = -u[k];
        for (int32_t k = lo; k < t; k++)
            if (u[k] < 0) {
                u[k] += INT64_C(1) << DIG;
                u[k + 1]--;
            }
        while (t > lo && !u[t]) t--;
    }
    /* the top three digits, the rest only as a sticky bit, rounded once */
    unsigned __int128 w = 0;
    for (int32_t k = t; k >= t - 2; k--) w = (w << DIG) | (unsigned __int128)(k >= lo ? (uint64_t)u[k] : 0);
    bool sticky = false;
    for (int32_t k = lo; k < t - 2 && !sticky; k++) sticky = u[k] != 0;
    uint64_t whi = (uint64_t)(w >> 64), wlo = (uint64_t)w;
    int sh = whi ? __builtin_clzll(whi) : 64 + __builtin_clzll(wlo);
    w <<= sh;
    uint64_t top = (uint64_t)(w >> 64);
    if ((uint64_t)w || sticky) top |= 1; /* below the 64 kept bits: only whether any is set matters */
    double r = ldexp((double)top, 64 - sh + DIG * (t - 2) - 1074);
    return neg ? -r : r;
}
