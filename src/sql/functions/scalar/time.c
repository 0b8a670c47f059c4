/* Timestamps (int64 ns since the epoch, UTC) and intervals (int64 ns). */
#include "sql_base.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_SEC 1000000000LL
#define NS_DAY (86400LL * NS_SEC)

static int num(const char *s, size_t n, size_t *i, int maxd, int64_t *out) {
    int64_t v = 0;
    int d = 0;
    while (*i < n && isdigit((unsigned char)s[*i]) && d < maxd) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        d++;
    }
    *out = v;
    return d;
}

int ts_parse(const char *s, size_t n, int64_t *out) {
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    while (n > i && s[n - 1] == ' ') n--;
    int64_t y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    if (num(s, n, &i, 4, &y) != 4 || i >= n || s[i++] != '-') return -1;
    if (num(s, n, &i, 2, &mo) < 1 || i >= n || s[i++] != '-') return -1;
    if (num(s, n, &i, 2, &d) < 1) return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > qv_days_in_month(y, (int)mo)) return -1;
    if (i < n && (s[i] == ' ' || s[i] == 'T')) {
        i++;
        if (num(s, n, &i, 2, &h) < 1 || i >= n || s[i++] != ':') return -1;
        if (num(s, n, &i, 2, &mi) != 2) return -1;
        if (i < n && s[i] == ':') {
            i++;
            if (num(s, n, &i, 2, &se) != 2) return -1;
            if (i < n && s[i] == '.') {
                i++;
                int64_t f;
                int dg = num(s, n, &i, 9, &f);
                if (dg < 1) return -1;
                while (dg++ < 9) f *= 10;
                frac = f;
                while (i < n && isdigit((unsigned char)s[i])) i++; /* beyond ns: truncated */
            }
        }
        if (h > 23 || mi > 59 || se > 59) return -1;
    }
    if (i < n && s[i] == 'Z') i++;
    else if (i + 6 == n && (s[i] == '+') && !strncmp(s + i, "+00:00", 6)) i += 6;
    if (i != n) return -1;
    int64_t days = qv_days_from_civil(y, (int)mo, (int)d);
    /* int64 ns holds 1677-09-21 00:12:43.145224192 .. 2262-04-11 23:47:16.854775807: checked
       arithmetic so the first and last days are usable up to those instants; the first day's
       midnight itself is below the range, so it starts from the day after and adds the day back */
    if (days < -106752 || days > 106751) return -2;
    int64_t t, in_day = ((h * 60 + mi) * 60 + se) * NS_SEC + frac;
    if (days < 0) {
        days++;
        in_day -= NS_DAY;
    }
    if (__builtin_add_overflow(days * NS_DAY, in_day, &t)) return -2;
    *out = t;
    return 0;
}

static int64_t floordiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

void ts_format(int64_t ns, char *buf, size_t cap) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    int64_t frac = t.nanos;
    int n = snprintf(buf, cap, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)t.year, t.month, t.day, t.hour, t.minute,
                     t.second);
    if (frac && n > 0 && (size_t)n < cap) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)frac);
        int l = 9;
        /* DuckDB's form: the fraction without its trailing zeros ("10:00:00.5");
           whole seconds have none */
        while (f[l - 1] == '0') l--;
        snprintf(buf + n, cap - (size_t)n, ".%.*s", l, f);
    }
}

/* The parts extract/date_part/date_trunc/date_diff know, with DuckDB's
   spellings. trunc: date_trunc accepts it; dbl: date_part gives DOUBLE. */
static const struct ts_field_def {
    const char *names; /* '|'-separated */
    bool trunc, dbl;
} fields[TF__COUNT] = {
    [TF_YEAR] = {"year|years|y|yr|yrs", true, false},
    [TF_QUARTER] = {"quarter|quarters", true, false},
    [TF_MONTH] = {"month|months|mon|mons", true, false},
    [TF_WEEK] = {"week|weeks|w|weekofyear", true, false},
    [TF_DAY] = {"day|days|d|dayofmonth", true, false},
    [TF_HOUR] = {"hour|hours|h|hr|hrs", true, false},
    [TF_MINUTE] = {"minute|minutes|m|min|mins", true, false},
    [TF_SECOND] = {"second|seconds|s|sec|secs", true, false},
    [TF_MILLISECOND] = {"millisecond|milliseconds|ms|msec|msecs|msecond|mseconds", true, false},
    [TF_MICROSECOND] = {"microsecond|microseconds|us|usec|usecs|usecond|useconds", true, false},
    [TF_NANOSECOND] = {"nanosecond|nanoseconds|ns|nsec|nsecs", false, false},
    [TF_DOW] = {"dow|dayofweek|weekday", true, false},
    [TF_DOY] = {"doy|dayofyear", true, false},
    [TF_EPOCH] = {"epoch", false, true},
    [TF_ISODOW] = {"isodow", true, false},
    [TF_ISOYEAR] = {"isoyear", true, false},
    [TF_YEARWEEK] = {"yearweek", true, false},
    [TF_DECADE] = {"decade|decades|dec", true, false},
    [TF_CENTURY] = {"century|centuries|c|cent", true, false},
    [TF_MILLENNIUM] = {"millennium|millennia|millenniums|mil|mils", true, false},
    [TF_ERA] = {"era", false, false},
    [TF_JULIAN] = {"julian|jd", false, true},
    [TF_TIMEZONE] = {"timezone", false, false},
    [TF_TIMEZONE_HOUR] = {"timezone_hour", false, false},
    [TF_TIMEZONE_MINUTE] = {"timezone_minute", false, false},
};
_Static_assert(sizeof fields / sizeof fields[0] == TF__COUNT, "one entry per ts field");

int ts_field_parse(const char *s) {
    size_t n = strlen(s);
    for (int f = 0; f < TF__COUNT; f++)
        for (const char *p = fields[f].names; *p;) {
            const char *bar = strchr(p, '|');
            size_t l = bar ? (size_t)(bar - p) : strlen(p);
            if (l == n && !strncasecmp(p, s, n)) return f;
            p += l + (bar ? 1 : 0);
        }
    return -1;
}

bool ts_field_truncates(int f) { return f >= 0 && f < TF__COUNT && fields[f].trunc; }
bool ts_field_is_double(int f) { return f >= 0 && f < TF__COUNT && fields[f].dbl; }
const char *ts_field_name(int f) {
    static char buf[TF__COUNT][24];
    const char *bar = strchr(fields[f].names, '|');
    size_t l = bar ? (size_t)(bar - fields[f].names) : strlen(fields[f].names);
    snprintf(buf[f], sizeof buf[f], "%.*s", (int)l, fields[f].names);
    return buf[f];
}

static int64_t floordiv64(int64_t a, int64_t b) { return floordiv(a, b); }

/* ISO week-numbering year and week of a day number. */
static void iso_week(int64_t days, int64_t *iy, int64_t *iw) {
    int64_t wd = ((days % 7) + 7 + 3) % 7; /* Monday = 0 */
    int64_t thu = days - wd + 3;           /* the week's Thursday decides its year */
    int tm, td;
    qv_civil_from_days(thu, iy, &tm, &td);
    *iw = (thu - qv_days_from_civil(*iy, 1, 1)) / 7 + 1;
}

int64_t ts_extract(int64_t ns, int field) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    int64_t days = t.days, rem = t.ns_of_day, y = t.year, iy, iw;
    int m = t.month, d = t.day;
    switch ((ts_field)field) {
    case TF_YEAR: return y;
    case TF_QUARTER: return (m - 1) / 3 + 1;
    case TF_MONTH: return m;
    case TF_DAY: return d;
    case TF_HOUR: return rem / (3600 * NS_SEC);
    case TF_MINUTE: return rem / (60 * NS_SEC) % 60;
    case TF_SECOND: return rem / NS_SEC % 60;
    /* DuckDB: milliseconds/microseconds include the seconds */
    case TF_MILLISECOND: return rem % (60 * NS_SEC) / 1000000;
    case TF_MICROSECOND: return rem % (60 * NS_SEC) / 1000;
    case TF_NANOSECOND: return rem % (60 * NS_SEC);
    case TF_DOW: return t.weekday; /* Sunday = 0 */
    case TF_ISODOW: return ((days % 7) + 7 + 3) % 7 + 1; /* Monday = 1 .. Sunday = 7 */
    case TF_DOY: return days - qv_days_from_civil(y, 1, 1) + 1;
    case TF_WEEK: iso_week(days, &iy, &iw); return iw;
    case TF_ISOYEAR: iso_week(days, &iy, &iw); return iy;
    case TF_YEARWEEK: iso_week(days, &iy, &iw); return iy * 100 + iw;
    case TF_DECADE: return floordiv64(y, 10);
    case TF_CENTURY: return y > 0 ? (y - 1) / 100 + 1 : -((-y) / 100 + 1);
    case TF_MILLENNIUM: return y > 0 ? (y - 1) / 1000 + 1 : -((-y) / 1000 + 1);
    case TF_ERA: return y > 0 ? 1 : 0;
    case TF_EPOCH: return floordiv(ns, NS_SEC);
    case TF_JULIAN: return days + 2440588;
    case TF_TIMEZONE: case TF_TIMEZONE_HOUR: case TF_TIMEZONE_MINUTE: return 0; /* values are UTC */
    case TF__COUNT: break;
    }
    return 0;
}

double ts_extract_f(int64_t ns, int field) {
    if (field == TF_JULIAN) {
        int64_t days = floordiv(ns, NS_DAY);
        return (double)(days + 2440588) + (double)(ns - days * NS_DAY) / (double)NS_DAY;
    }
    /* epoch: seconds; whole microseconds are divided as such, as DuckDB's microsecond timestamps */
    if (ns % 1000 == 0) return (double)(ns / 1000) / 1e6;
    return (double)ns / 1e9;
}

/* Truncation can step below the smallest timestamp (1677-09-21 00:12:43.145224192):
   such a result is refused, not clamped (DuckDB's microsecond timestamps reach
   further back, so it has an answer Quiver cannot represent). */
static bool mul_ok(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* The day the truncation to a day-or-coarser field starts; false for finer fields. */
static bool trunc_day(int64_t ns, int field, int64_t *day) {
    int64_t days = floordiv(ns, NS_DAY), y, iy, iw;
    int m, d;
    qv_civil_from_days(days, &y, &m, &d);
    switch ((ts_field)field) {
    case TF_YEAR: *day = qv_days_from_civil(y, 1, 1); return true;
    case TF_DECADE: *day = qv_days_from_civil(floordiv(y, 10) * 10, 1, 1); return true;
    case TF_CENTURY: *day = qv_days_from_civil(floordiv(y, 100) * 100, 1, 1); return true;
    case TF_MILLENNIUM: *day = qv_days_from_civil(floordiv(y, 1000) * 1000, 1, 1); return true;
    case TF_QUARTER: *day = qv_days_from_civil(y, (m - 1) / 3 * 3 + 1, 1); return true;
    case TF_MONTH: *day = qv_days_from_civil(y, m, 1); return true;
    case TF_WEEK: case TF_YEARWEEK: *day = days - ((days % 7) + 7 + 3) % 7; return true;
    case TF_ISOYEAR:
        iso_week(days, &iy, &iw);
        *day = days - ((days % 7) + 7 + 3) % 7 - (iw - 1) * 7;
        return true;
    case TF_DAY: case TF_DOW: case TF_ISODOW: case TF_DOY: *day = days; return true;
    case TF_HOUR: case TF_MINUTE: case TF_SECOND: case TF_MILLISECOND: case TF_MICROSECOND:
    case TF_NANOSECOND: case TF_EPOCH: case TF_ERA: case TF_JULIAN:
    case TF_TIMEZONE: case TF_TIMEZONE_HOUR: case TF_TIMEZONE_MINUTE: case TF__COUNT: break;
    }
    return false;
}

static int64_t trunc_unit(int field) {
    switch ((ts_field)field) {
    case TF_HOUR: return 3600 * NS_SEC;
    case TF_MINUTE: return 60 * NS_SEC;
    case TF_SECOND: return NS_SEC;
    case TF_MILLISECOND: return 1000000;
    case TF_MICROSECOND: return 1000;
    case TF_YEAR: case TF_DECADE: case TF_CENTURY: case TF_MILLENNIUM: case TF_QUARTER: case TF_MONTH:
    case TF_WEEK: case TF_YEARWEEK: case TF_ISOYEAR: case TF_DAY: case TF_DOW: case TF_ISODOW: case TF_DOY:
    case TF_NANOSECOND: case TF_EPOCH: case TF_ERA: case TF_JULIAN:
    case TF_TIMEZONE: case TF_TIMEZONE_HOUR: case TF_TIMEZONE_MINUTE: case TF__COUNT: break;
    }
    return 1;
}

bool ts_trunc(int64_t ns, int field, int64_t *out) {
    int64_t day;
    if (trunc_day(ns, field, &day)) return mul_ok(day, NS_DAY, out);
    int64_t u = trunc_unit(field);
    return mul_ok(floordiv(ns, u), u, out);
}

int ts_trunc_fail(int64_t ns, int field, qv_err *err) {
    int64_t day = 0, y = 0;
    int m = 1, d = 1;
    if (trunc_day(ns, field, &day)) qv_civil_from_days(day, &y, &m, &d);
    else qv_civil_from_days(floordiv(ns, NS_DAY), &y, &m, &d); /* a finer field stays on the day */
    return qv_err_set(err, QV_EINVAL,
                      "date_trunc to %s: the result %04lld-%02d-%02d is before the smallest TIMESTAMP "
                      "(1677-09-21 00:12:43.145224192)", ts_field_name(field), (long long)y, m, d);
}
