/* TIME values: a time of day, int64 nanoseconds since midnight, 0 ..
   86400e9 (24:00:00 is a TIME, as DuckDB has it); Arrow time64[ns] on the
   wire (time32[s/ms] and time64[us] are widened). Their text form lives here
   and nowhere else: SQL literals and casts, the HTTP output formats and
   HTTP ingest all use it. Read: [YYYY-MM-DD ]HH:MM[:SS[.fraction]] (a date
   in front is checked and dropped, digits past the ninth of the fraction
   are dropped); printed: HH:MM:SS, with the fraction's significant digits
   (09:30:00.5), as DuckDB prints one. */
#include "arrow-types/atypes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define NS_SEC 1000000000LL

static int two(const char *s, size_t n, size_t *i, int64_t *v) {
    if (*i + 2 > n || !isdigit((unsigned char)s[*i]) || !isdigit((unsigned char)s[*i + 1])) return -1;
    *v = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
    *i += 2;
    return 0;
}

int qv_time_parse(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    while (n > i && isspace((unsigned char)s[n - 1])) n--;
    for (size_t k = i; k < n; k++) /* a date in front: "2024-01-02 10:00:00" */
        if ((s[k] == ' ' || s[k] == 'T') && k > i && memchr(s + i, '-', k - i)) {
            int64_t days;
            if (qv_date_parse(s + i, k - i, &days)) return -1;
            i = k + 1;
            break;
        }
    int64_t h, m, sec = 0, frac = 0, scale = NS_SEC;
    size_t h0 = i;
    h = 0;
    while (i < n && isdigit((unsigned char)s[i]) && i - h0 < 2) h = h * 10 + (s[i++] - '0');
    if (i == h0 || i >= n || s[i++] != ':' || two(s, n, &i, &m)) return -1;
    if (i < n && s[i] == ':') {
        i++;
        if (two(s, n, &i, &sec)) return -1;
        if (i < n && s[i] == '.') {
            size_t f0 = ++i;
            while (i < n && isdigit((unsigned char)s[i])) {
                if (scale > 1) scale /= 10, frac += (s[i] - '0') * scale;
                i++;
            }
            if (i == f0) return -1;
        }
    }
    if (i != n || m > 59 || sec > 59 || h > 24) return -1;
    int64_t v = (h * 3600 + m * 60 + sec) * NS_SEC + frac;
    if (v > QV_TIME_MAX) return -1; /* past 24:00:00 */
    *out = v;
    return 0;
}

size_t qv_time_format(int64_t ns, char *buf, size_t cap) {
    if (ns < 0) ns = 0; /* an ingested time64 may hold anything: clamp rather than print garbage */
    if (ns > QV_TIME_MAX) ns = QV_TIME_MAX;
    int64_t sec = ns / NS_SEC, f = ns % NS_SEC;
    char t[40];
    int l = snprintf(t, sizeof t, "%02lld:%02lld:%02lld", (long long)(sec / 3600), (long long)(sec / 60 % 60),
                     (long long)(sec % 60));
    if (f) {
        char fr[16];
        snprintf(fr, sizeof fr, "%09lld", (long long)f);
        int k = 9;
        while (k > 0 && fr[k - 1] == '0') k--;
        fr[k] = 0;
        l += snprintf(t + l, sizeof t - (size_t)l, ".%s", fr);
    }
    if (cap == 0) return 0;
    size_t w = (size_t)l < cap ? (size_t)l : cap - 1;
    memcpy(buf, t, w);
    buf[w] = 0;
    return w;
}
