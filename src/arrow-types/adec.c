/* DECIMAL values: an int64 v standing for v / 10^scale. The text form, the
   parse of text, rescaling and the conversions from and to doubles live here
   and nowhere else; SQL casts, HTTP output and ingest, and IPC all call them.
   The rules are DuckDB's for DECIMAL widths up to 18 digits: rounding half
   away from zero, a value that does not fit its precision an error (never a
   silent wrap). */
#include "arrow-types/atypes.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const int64_t pow10s[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

int64_t qv_dec_pow10(int n) { return pow10s[n < 0 ? 0 : n > 18 ? 18 : n]; }

bool qv_dec_fits(int64_t v, int prec) {
    int64_t lim = pow10s[prec < 1 ? 1 : prec > 18 ? 18 : prec];
    return v > -lim && v < lim;
}

size_t qv_dec_format(int64_t v, int scale, char *buf, size_t cap) {
    char d[24];
    /* the magnitude's digits, at least scale + 1 of them (0.05 needs "005") */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int nd = 0;
    do d[nd++] = (char)('0' + m % 10), m /= 10;
    while (m || nd <= scale);
    char t[QV_DEC_TEXT_MAX + 8];
    size_t n = 0;
    if (v < 0) t[n++] = '-';
    for (int i = nd - 1; i >= 0; i--) {
        t[n++] = d[i];
        if (i == scale && scale > 0) t[n++] = '.';
    }
    if (cap == 0) return 0;
    if (n >= cap) n = cap - 1;
    memcpy(buf, t, n);
    buf[n] = 0;
    return n;
}

/* The digits are gathered as an unsigned 128-bit magnitude with the count of
   fraction digits, then moved to the scale in one step, so an exponent and
   the rounding digit are handled the same way for every input. Fraction
   digits beyond 36 significant ones cannot change a value of 18 digits and
   are dropped; integer digits beyond them make the value too large. */
int qv_dec_parse(const char *s, size_t n, int prec, int scale, int64_t *out) {
    const unsigned __int128 cap = (unsigned __int128)1 << 120;
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    while (n > i && isspace((unsigned char)s[n - 1])) n--;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    unsigned __int128 mag = 0;
    int64_t frac = 0;
    bool dot = false, any = false, big = false;
    for (; i < n && (isdigit((unsigned char)s[i]) || (s[i] == '.' && !dot) || s[i] == '_'); i++) {
        if (s[i] == '_') { /* a digit separator, as DuckDB reads 1_000: only between digits */
            if (!i || !isdigit((unsigned char)s[i - 1]) || i + 1 >= n || !isdigit((unsigned char)s[i + 1])) return -1;
            continue;
        }
        if (s[i] == '.') {
            dot = true;
            continue;
        }
        any = true;
        if (mag >= cap) {
            if (!dot) big = true;
            continue;
        }
        mag = mag * 10 + (unsigned)(s[i] - '0');
        if (dot) frac++;
    }
    if (!any) return -1;
    int64_t exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= n || !isdigit((unsigned char)s[i])) return -1;
        for (; i < n && isdigit((unsigned char)s[i]); i++)
            if (exp < 100000) exp = exp * 10 + (s[i] - '0');
        if (eneg) exp = -exp;
    }
    if (i != n) return -1;
    int64_t shift = exp - frac + scale; /* value * 10^scale = mag * 10^shift */
    bool round_up = false;
    for (; shift > 0 && mag; shift--) {
        if (mag >= cap) return -2;
        mag *= 10;
    }
    for (; shift < 0 && mag; shift++) {
        round_up = mag % 10 >= 5; /* the last digit dropped is the most significant one */
        mag /= 10;
    }
    if (shift < 0) round_up = false; /* the digits were used up: the most significant dropped digit is a 0 */
    if (big) return -2;
    mag += round_up;
    if (mag >= (unsigned __int128)pow10s[prec < 1 ? 1 : prec > 18 ? 18 : prec]) return -2;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

bool qv_dec_rescale(int64_t v, int from, int to, int prec, int64_t *out) {
    __int128 r = v;
    if (to > from) {
        r *= pow10s[to - from > 18 ? 18 : to - from];
        if (to - from > 18 && v) return false;
    } else if (to < from) {
        int64_t d = from - to > 18 ? 0 : pow10s[from - to];
        if (!d) {
            r = 0;
        } else {
            __int128 q = r / d, rem = r % d;
            if (rem * 2 >= d) q++;
            else if (rem * 2 <= -d) q--;
            r = q;
        }
    }
    int64_t lim = pow10s[prec < 1 ? 1 : prec > 18 ? 18 : prec];
    if (r <= -lim || r >= lim) return false;
    *out = (int64_t)r;
    return true;
}

bool qv_dec_from_double(double d, int prec, int scale, int64_t *out) {
    if (!isfinite(d)) return false;
    double x = round(d * (double)pow10s[scale < 0 ? 0 : scale > 18 ? 18 : scale]);
    double lim = (double)pow10s[prec < 1 ? 1 : prec > 18 ? 18 : prec];
    if (!(x > -lim && x < lim)) return false;
    int64_t v = (int64_t)x;
    if (!qv_dec_fits(v, prec)) return false; /* 10^18 is not exact as a double */
    *out = v;
    return true;
}

double qv_dec_to_double(int64_t v, int scale) {
    return (double)v / (double)pow10s[scale < 0 ? 0 : scale > 18 ? 18 : scale];
}

void qv_dec_type_name(int prec, int scale, char *buf, size_t cap) {
    snprintf(buf, cap, "DECIMAL(%d,%d)", prec, scale);
}
