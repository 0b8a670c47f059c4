/* The text form of a floating-point value: one codec for SQL's CAST to VARCHAR,
   the HTTP JSON/CSV writers and the test tools, so every front end shows a
   number the same way.

   The rule is DuckDB's (which is also Python's repr):
   - the digits are the fewest that read back as the same value (strtod for a
     DOUBLE, strtof for a REAL), so 1/3 is 0.3333333333333333, not 17 digits;
   - the decimal exponent e of the first digit picks the notation: -5 < e < 16
     is positional and always shows a fraction ("100.0", "0.0001",
     "1000000000000000.0"); otherwise scientific with a sign and at least two
     exponent digits and no ".0" ("1e+16", "1e-05", "1.5e+300");
   - zero keeps its sign ("-0.0"); non-finite values are "nan", "inf", "-inf". */
#include "base.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fewest significant digits of v that read back exactly, as "%.*e" gives
   them: correctly rounded p digits read back whenever any p digits do, so the
   first p that works is the shortest. A double needs 15 to 17 digits unless
   fewer do (15-digit rounding then just adds zeros %e keeps, so start there
   and strip); a float 6 to 9. A subnormal has fewer digits of precision, so
   there the search starts at one digit (5e-324, not 4.94065645841247e-324). */
static int shortest_digits(double v, bool f32, char *digits, int *exp10) {
    char sci[40];
    int lo = f32 ? 6 : 15, hi = f32 ? 9 : 17;
    if (fabs(v) < (f32 ? (double)FLT_MIN : DBL_MIN)) lo = 1;
    for (int p = lo; p <= hi; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        bool back = f32 ? strtof(sci, NULL) == (float)v : strtod(sci, NULL) == v;
        if (back || p == hi) break;
    }
    /* sci is "[-]d.ddde[+-]xx" */
    const char *s = sci[0] == '-' ? sci + 1 : sci;
    int n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s != '.') digits[n++] = *s;
    *exp10 = atoi(s + 1);
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    return n;
}

static size_t fmt_positional(const char *d, int n, int e, char *o) {
    size_t k = 0;
    if (e < 0) {
        o[k++] = '0', o[k++] = '.';
        for (int i = -1; i > e; i--) o[k++] = '0';
        memcpy(o + k, d, (size_t)n), k += (size_t)n;
    } else {
        for (int i = 0; i <= e; i++) o[k++] = i < n ? d[i] : '0';
        o[k++] = '.';
        if (n > e + 1) memcpy(o + k, d + e + 1, (size_t)(n - e - 1)), k += (size_t)(n - e - 1);
        else o[k++] = '0';
    }
    o[k] = 0;
    return k;
}

size_t qv_float_format(double v, bool f32, char *buf) {
    if (isnan(v)) return (size_t)snprintf(buf, QV_FLOAT_TEXT_MAX, "nan");
    if (isinf(v)) return (size_t)snprintf(buf, QV_FLOAT_TEXT_MAX, "%s", v > 0 ? "inf" : "-inf");
    size_t k = 0;
    if (signbit(v)) buf[k++] = '-', v = -v;
    if (v == 0) return k + (size_t)snprintf(buf + k, QV_FLOAT_TEXT_MAX - k, "0.0");
    char d[24];
    int e, n = shortest_digits(v, f32, d, &e);
    if (e > -5 && e < 16) return k + fmt_positional(d, n, e, buf + k);
    buf[k++] = d[0];
    if (n > 1) buf[k++] = '.', memcpy(buf + k, d + 1, (size_t)(n - 1)), k += (size_t)(n - 1);
    return k + (size_t)snprintf(buf + k, QV_FLOAT_TEXT_MAX - k, "e%c%02d", e < 0 ? '-' : '+', abs(e));
}
