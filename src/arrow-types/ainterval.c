/* INTERVAL values: a fixed length of time, int64 nanoseconds (Arrow
   duration[ns]). Their text form lives here and nowhere else: SQL literals
   and casts, the HTTP output formats and HTTP ingest all use it.
   Read: a sum of "<number> <unit>" parts (1 day 2 hours, 1.5 seconds, -3 ms),
   units from ns to week, and
   a clock part [-]H:MM[:SS[.fraction]] as DuckDB prints one, so a printed
   interval reads back. Printed: DuckDB's layout for the days and the clock,
   "2 days 01:02:03.5", "00:05:00", "-00:00:01", "-1 day -01:00:00"; the
   days are whole 24-hour days (every interval here is a fixed length).
   Months and years have no fixed length, so they are no INTERVAL value: the
   calendar reader (qv_interval_parse_cal) returns them apart, for the SQL
   places that take them (a TIMESTAMP plus months, series steps, buckets),
   and qv_ts_add_months is the one calendar step they all use. */
#include "arrow-types/atypes.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_SEC 1000000000LL
#define NS_DAY (86400LL * NS_SEC)

int qv_interval_unit_ns(const char *u, int64_t *out) {
    static const struct { const char *n; int64_t ns; } units[] = {
        {"nanosecond", 1}, {"nanoseconds", 1}, {"ns", 1},
        {"microsecond", 1000}, {"microseconds", 1000}, {"us", 1000},
        {"millisecond", 1000000}, {"milliseconds", 1000000}, {"ms", 1000000},
        {"second", NS_SEC}, {"seconds", NS_SEC}, {"sec", NS_SEC}, {"secs", NS_SEC}, {"s", NS_SEC},
        {"minute", 60 * NS_SEC}, {"minutes", 60 * NS_SEC}, {"min", 60 * NS_SEC}, {"mins", 60 * NS_SEC}, {"m", 60 * NS_SEC},
        {"hour", 3600 * NS_SEC}, {"hours", 3600 * NS_SEC}, {"h", 3600 * NS_SEC},
        {"day", NS_DAY}, {"days", NS_DAY}, {"d", NS_DAY},
        {"week", 7 * NS_DAY}, {"weeks", 7 * NS_DAY}, {NULL, 0}};
    for (int k = 0; units[k].n; k++)
        if (!strcasecmp(u, units[k].n)) { *out = units[k].ns; return 0; }
    return -1;
}

/* Calendar units in months (month 1, quarter 3, year 12, ...); 0 if u is not one. */
int qv_interval_unit_months(const char *u) {
    static const struct { const char *n; int m; } cal[] = {
        {"month", 1}, {"months", 1}, {"mon", 1}, {"mons", 1}, {"quarter", 3}, {"quarters", 3},
        {"year", 12}, {"years", 12}, {"y", 12}, {"yr", 12}, {"yrs", 12}, {"decade", 120}, {"decades", 120},
        {"century", 1200}, {"centuries", 1200}, {"millennium", 12000}, {"millennia", 12000}, {NULL, 0}};
    for (int k = 0; cal[k].n; k++)
        if (!strcasecmp(u, cal[k].n)) return cal[k].m;
    return 0;
}

bool qv_interval_unit_calendar(const char *u) { return qv_interval_unit_months(u) != 0; }

/* Digits at s[*i] into *v (overflow: false); the count in *nd. */
static bool digits(const char *s, size_t n, size_t *i, int64_t *v, int *nd) {
    *v = 0;
    *nd = 0;
    while (*i < n && isdigit((unsigned char)s[*i])) {
        if (__builtin_mul_overflow(*v, 10, v) || __builtin_add_overflow(*v, s[*i] - '0', v)) return false;
        (*i)++;
        (*nd)++;
    }
    return true;
}

/* ".fraction" at s[*i] as nanoseconds (digits past the ninth dropped). */
static int64_t fraction_ns(const char *s, size_t n, size_t *i, int *nd) {
    int64_t f = 0, scale = NS_SEC;
    *nd = 0;
    while (*i < n && isdigit((unsigned char)s[*i])) {
        if (scale > 1) scale /= 10, f += (s[*i] - '0') * scale;
        (*i)++;
        (*nd)++;
    }
    return f;
}

/* The clock part H:MM[:SS[.f]] after its hours h (already read, ':' next). */
static int clock_part(const char *s, size_t n, size_t *i, int64_t h, int64_t *out) {
    int64_t m, sec = 0, f = 0;
    int nd;
    (*i)++;
    if (!digits(s, n, i, &m, &nd) || nd != 2 || m > 59) return -1;
    if (*i < n && s[*i] == ':') {
        (*i)++;
        if (!digits(s, n, i, &sec, &nd) || nd != 2 || sec > 59) return -1;
        if (*i < n && s[*i] == '.') {
            (*i)++;
            f = fraction_ns(s, n, i, &nd);
            if (!nd) return -1;
        }
    }
    __int128 t = ((__int128)h * 3600 + m * 60 + sec) * NS_SEC + f;
    if (t > INT64_MAX) return -1;
    *out = (int64_t)t;
    return 0;
}

/* A fractional calendar part (frac: ns of a unit of 1 s, i.e. billionths of
   the number) into whole months and the rest as ns, as DuckDB reads them: a
   fraction of a month is 30 days of it, a fraction of a quarter is rounded to
   whole days, a fraction of a year-based unit is rounded to whole months. */
static void cal_fraction(int64_t frac, int unit_months, int64_t *months, int64_t *ns) {
    int64_t fm = frac * unit_months; /* billionths of a month; < 12000e9 */
    if (unit_months >= 12) {
        *months = (fm + NS_SEC / 2) / NS_SEC;
        *ns = 0;
        return;
    }
    *months = fm / NS_SEC;
    __int128 rest = (__int128)(fm % NS_SEC) * 30 * NS_DAY / NS_SEC;
    if (unit_months == 3) rest = (rest + NS_DAY / 2) / NS_DAY * NS_DAY;
    *ns = (int64_t)rest;
}

/* One "<number> <unit>" part (sign and digits read: v, frac) into *months / *part. */
static int unit_part(const char *unit, int64_t v, int64_t frac, int64_t *months, int64_t *part) {
    int64_t uns;
    int um = qv_interval_unit_months(unit);
    if (um) {
        int64_t fm, fns;
        cal_fraction(frac, um, &fm, &fns);
        if (__builtin_mul_overflow(v, um, months) || __builtin_add_overflow(*months, fm, months)) return -1;
        *part = fns;
        return 0;
    }
    if (qv_interval_unit_ns(unit, &uns)) return -1;
    if (__builtin_mul_overflow(v, uns, part)) return -1;
    *part += (int64_t)((__int128)frac * uns / NS_SEC);
    *months = 0;
    return 0;
}

int qv_interval_parse_cal(const char *s, size_t n, int32_t *months_out, int64_t *out) {
    size_t i = 0;
    int64_t total = 0, months = 0;
    int parts = 0;
    for (;;) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (i >= n) break;
        bool neg = false;
        if (s[i] == '-' || s[i] == '+') neg = s[i++] == '-';
        int64_t v, frac = 0, part, pm = 0;
        int dg, fd = 0;
        if (!digits(s, n, &i, &v, &dg)) return -1;
        if (dg && i < n && s[i] == ':') {
            if (clock_part(s, n, &i, v, &part)) return -1;
        } else {
            if (i < n && s[i] == '.') {
                i++;
                frac = fraction_ns(s, n, &i, &fd); /* in ns of a unit of 1 s; rescaled below */
            }
            if (!dg && !fd) return -1;
            while (i < n && s[i] == ' ') i++;
            char unit[24];
            size_t u = 0;
            while (i < n && isalpha((unsigned char)s[i])) {
                if (u + 1 >= sizeof unit) return -1;
                unit[u++] = s[i++];
            }
            unit[u] = 0;
            if (!u || unit_part(unit, v, frac, &pm, &part)) return -1;
        }
        if (neg) part = -part, pm = -pm;
        if (__builtin_add_overflow(total, part, &total) || __builtin_add_overflow(months, pm, &months)) return -1;
        parts++;
    }
    if (!parts || months < INT32_MIN || months > INT32_MAX) return -1;
    *months_out = (int32_t)months;
    *out = total;
    return 0;
}

int qv_interval_parse(const char *s, size_t n, int64_t *out) {
    int32_t months;
    int64_t ns;
    if (qv_interval_parse_cal(s, n, &months, &ns) || months) return -1;
    *out = ns;
    return 0;
}

/* ts + months (the day clamped to the month's last, as DuckDB), keeping the
   time of day; false when the result is outside the int64 ns range. */
bool qv_ts_add_months(int64_t ts, int64_t months, int64_t *out) {
    qv_ts_parts p;
    qv_ts_split(ts, &p);
    int64_t m0 = (int64_t)p.month - 1 + months;
    if (m0 > (int64_t)INT32_MAX * 12 || m0 < (int64_t)INT32_MIN * 12) return false;
    int64_t y = p.year + (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12);
    int m = (int)(m0 - (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12) * 12) + 1;
    if (y > 300000 || y < -300000) return false;
    int d = p.day, dim = qv_days_in_month(y, m);
    if (d > dim) d = dim;
    __int128 r = (__int128)qv_days_from_civil(y, m, d) * NS_DAY + p.ns_of_day;
    if (r < INT64_MIN || r > INT64_MAX) return false;
    *out = (int64_t)r;
    return true;
}

size_t qv_interval_format(int64_t ns, char *buf, size_t cap) {
    char t[QV_INTERVAL_TEXT_MAX];
    int64_t days = ns / NS_DAY, rest = ns % NS_DAY; /* both toward zero: "-1 day -01:00:00" */
    size_t l = 0;
    if (days) l += (size_t)snprintf(t, sizeof t, "%lld day%s", (long long)days, days == 1 || days == -1 ? "" : "s");
    if (rest || !days) {
        uint64_t r = rest < 0 ? (uint64_t)-rest : (uint64_t)rest;
        uint64_t sec = r / NS_SEC, f = r % NS_SEC;
        l += (size_t)snprintf(t + l, sizeof t - l, "%s%s%02llu:%02llu:%02llu", l ? " " : "", rest < 0 ? "-" : "",
                              (unsigned long long)(sec / 3600), (unsigned long long)(sec / 60 % 60),
                              (unsigned long long)(sec % 60));
        if (f) {
            char fr[16];
            snprintf(fr, sizeof fr, "%09llu", (unsigned long long)f);
            int k = 9;
            while (k > 0 && fr[k - 1] == '0') k--;
            fr[k] = 0;
            l += (size_t)snprintf(t + l, sizeof t - l, ".%s", fr);
        }
    }
    if (cap == 0) return 0;
    if (l >= cap) l = cap - 1;
    memcpy(buf, t, l);
    buf[l] = 0;
    return l;
}
