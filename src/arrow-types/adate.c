/* The text form of a DATE (int32 days since 1970-01-01), in one place: SQL
   casts and literals, the HTTP output formats and HTTP ingest all use it.
   The grammar follows what DuckDB reads and prints, so a date survives a
   round trip between the two: YYYY-MM-DD, a year of 1 to 7 digits, '-', '/'
   or ' ' between the fields, an optional " (BC)" (year 1 BC is year 0), and
   an optional time of day after ' ' or 'T' that is checked and dropped. */
#include "arrow-types/atypes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int qv_days_in_month(int64_t y, int m) {
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return md[m - 1];
}

/* Up to maxd digits at s[*i]; the count read. */
static int digits(const char *s, size_t n, size_t *i, int maxd, int64_t *out) {
    int64_t v = 0;
    int d = 0;
    while (*i < n && isdigit((unsigned char)s[*i]) && d < maxd) v = v * 10 + (s[(*i)++] - '0'), d++;
    *out = v;
    return d;
}

/* HH:MM[:SS[.fraction]] with an optional Z or UTC offset (+HH[:MM] or -HH[:MM]),
   from s[i] to the end; true when it is a valid time of day. */
static bool time_of_day(const char *s, size_t n, size_t i) {
    int64_t h, m, sec = 0, x;
    if (digits(s, n, &i, 2, &h) < 1 || i >= n || s[i++] != ':' || digits(s, n, &i, 2, &m) != 2) return false;
    if (i < n && s[i] == ':') {
        i++;
        if (digits(s, n, &i, 2, &sec) != 2) return false;
        if (i < n && s[i] == '.') {
            i++;
            if (digits(s, n, &i, 64, &x) < 1) return false;
        }
    }
    if (h > 23 || m > 59 || sec > 59) return false;
    if (i + 1 == n && s[i] == 'Z') return true;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        i++;
        if (digits(s, n, &i, 2, &x) < 1 || x > 23) return false;
        if (i < n && s[i] == ':') {
            i++;
            if (digits(s, n, &i, 2, &x) != 2 || x > 59) return false;
        }
    }
    return i == n;
}

int qv_date_parse(const char *s, size_t n, int64_t *days) {
    size_t i = 0;
    while (i < n && isspace((unsigned char)s[i])) i++;
    while (n > i && isspace((unsigned char)s[n - 1])) n--;
    bool neg = i < n && s[i] == '-';
    if (neg) i++;
    int64_t y, mo, d;
    if (digits(s, n, &i, 7, &y) < 1 || i >= n) return -1;
    char sep = s[i++];
    if (sep != '-' && sep != '/' && sep != ' ') return -1;
    if (digits(s, n, &i, 2, &mo) < 1 || i >= n || s[i++] != sep || digits(s, n, &i, 2, &d) < 1) return -1;
    if (neg) y = -y;
    if (i + 5 == n && !memcmp(s + i, " (BC)", 5)) {
        if (neg || y < 1) return -1;
        y = 1 - y;
        i = n;
    } else if (i < n) {
        if ((s[i] != ' ' && s[i] != 'T') || !time_of_day(s, n, i + 1)) return -1;
        i = n;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > qv_days_in_month(y, (int)mo)) return -2;
    int64_t z = qv_days_from_civil(y, (int)mo, (int)d);
    if (z < QV_DATE_MIN || z > QV_DATE_MAX) return -2;
    *days = z;
    return 0;
}

size_t qv_date_format(int64_t days, char *buf, size_t cap) {
    int64_t y;
    int m, d;
    qv_civil_from_days(days, &y, &m, &d);
    int l = y > 0 ? snprintf(buf, cap, "%04lld-%02d-%02d", (long long)y, m, d)
                  : snprintf(buf, cap, "%04lld-%02d-%02d (BC)", (long long)(1 - y), m, d);
    return l < 0 ? 0 : (size_t)l < cap ? (size_t)l : cap - 1;
}

bool qv_date_to_ts(int64_t days, int64_t *ns) {
    /* the first day of the TIMESTAMP range, -106752, starts before the range: its midnight is not a TIMESTAMP */
    if (days < -106751 || days > 106751) return false;
    *ns = days * 86400 * (int64_t)1000000000;
    return true;
}

int64_t qv_date_from_ts(int64_t ns) {
    const int64_t day = 86400 * (int64_t)1000000000;
    int64_t q = ns / day;
    return ns % day < 0 ? q - 1 : q;
}
