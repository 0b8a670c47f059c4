/*
** strftime / strptime format codes as DuckDB documents them:
** %a %A weekday name, %w weekday (Sunday 0), %u ISO weekday (Monday 1),
** %d day, %b %h %B month name, %m month, %y %Y %G years, %H %I hours,
** %p AM/PM, %M minutes, %S seconds, %g milliseconds, %f microseconds,
** %n nanoseconds, %z UTC offset, %Z zone name, %j day of year, %U %W week
** of year (Sunday / Monday first), %V ISO week, %c %x %X locale forms (ISO
** here), %% a percent sign. A '-' after % drops the zero padding.
*/
#include "functions.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_SEC 1000000000LL
#define NS_DAY (86400LL * NS_SEC)

static const char *const wday_full[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const mon_full[] = {"January", "February", "March", "April", "May", "June", "July",
                                       "August", "September", "October", "November", "December"};

static const char *const known = "aAwudbhBmyYGHIpMSgfnzZjUWVcxX%";

/* 0 if fmt is a valid format; else -1 with the reason in why. */
int strf_check(const char *fmt, int32_t n, char *why, size_t cap) {
    for (int32_t i = 0; i < n; i++) {
        if (fmt[i] != '%') continue;
        if (++i < n && fmt[i] == '-') i++;
        if (i >= n) {
            snprintf(why, cap, "trailing format character %%");
            return -1;
        }
        if (!strchr(known, fmt[i]) || !fmt[i]) {
            snprintf(why, cap, "unrecognized format code %%%c", fmt[i]);
            return -1;
        }
    }
    return 0;
}

/* Writes v (>= 0) with at least w digits; returns the digits written. */
static size_t put_num(char *d, int64_t v, int w) {
    char t[24];
    int n = 0;
    do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n < w) t[n++] = '0';
    for (int i = 0; i < n; i++) d[i] = t[n - 1 - i];
    return (size_t)n;
}

int strf_format(int64_t ns, const char *fmt, int32_t n, char *buf, size_t cap, qv_err *err) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    int64_t frac = t.nanos;
    int hh = t.hour, mi = t.minute, ss = t.second;
    int doy = (int)(t.days - qv_days_from_civil(t.year, 1, 1) + 1);
    size_t o = 0;
#define PUT(...) do { int w_ = snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__); if (w_ > 0) o += (size_t)w_; } while (0)
    for (int32_t i = 0; i < n; i++) {
        if (o + 64 >= cap) return qv_err_set(err, QV_EINVAL, "strftime: result too long");
        if (fmt[i] != '%') { buf[o++] = fmt[i]; continue; }
        bool nopad = false;
        if (++i < n && fmt[i] == '-') { nopad = true; i++; }
        if (i >= n) return qv_err_set(err, QV_EINVAL, "strftime: trailing format character %% in '%.*s'", n, fmt);
        int w2 = nopad ? 1 : 2;
#define NUM(V, W) o += put_num(buf + o, (V), (W))
        switch (fmt[i]) {
        case 'a': PUT("%.3s", wday_full[t.weekday]); break;
        case 'A': PUT("%s", wday_full[t.weekday]); break;
        case 'w': PUT("%d", t.weekday); break;
        case 'u': PUT("%d", t.weekday == 0 ? 7 : t.weekday); break;
        case 'd': NUM(t.day, w2); break;
        case 'b': case 'h': PUT("%.3s", mon_full[t.month - 1]); break;
        case 'B': PUT("%s", mon_full[t.month - 1]); break;
        case 'm': NUM(t.month, w2); break;
        case 'y': NUM((int)(((t.year % 100) + 100) % 100), w2); break;
        case 'Y':
            if (t.year < 0) PUT("%s", "-");
            NUM(t.year < 0 ? -t.year : t.year, nopad ? 1 : 4);
            break;
        case 'G': PUT(nopad ? "%lld" : "%04lld", (long long)ts_extract(ns, TF_ISOYEAR)); break;
        case 'V': NUM((int)ts_extract(ns, TF_WEEK), w2); break;
        case 'H': NUM(hh, w2); break;
        case 'I': NUM(hh % 12 == 0 ? 12 : hh % 12, w2); break;
        case 'p': PUT("%s", hh < 12 ? "AM" : "PM"); break;
        case 'M': NUM(mi, w2); break;
        case 'S': NUM(ss, w2); break;
        case 'g': NUM(frac / 1000000, 3); break;
        case 'f': NUM(frac / 1000, 6); break;
        case 'n': NUM(frac, 9); break;
        case 'z': PUT("+00"); break;
        case 'Z': break;
        case 'j': PUT(nopad ? "%d" : "%03d", doy); break;
        case 'U': NUM((doy + 6 - t.weekday) / 7, w2); break;
        case 'W': NUM((doy + 6 - (t.weekday + 6) % 7) / 7, w2); break;
        case 'c': PUT("%04lld-%02d-%02d %02d:%02d:%02d", (long long)t.year, t.month, t.day, hh, mi, ss); break;
        case 'x': PUT("%04lld-%02d-%02d", (long long)t.year, t.month, t.day); break;
        case 'X': PUT("%02d:%02d:%02d", hh, mi, ss); break;
        case '%': PUT("%%"); break;
        default:
            return qv_err_set(err, QV_EINVAL, "strftime: unrecognized format code %%%c in '%.*s'", fmt[i], n, fmt);
        }
    }
#undef PUT
#undef NUM
    return (int)o;
}

static int digits(const char *s, int32_t n, int32_t *i, int maxd, int64_t *out) {
    int64_t v = 0;
    int d = 0;
    while (*i < n && s[*i] == ' ') (*i)++; /* numbers may be space-padded */
    while (*i < n && d < maxd && isdigit((unsigned char)s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        d++;
    }
    *out = v;
    return d;
}

static int name_match(const char *s, int32_t n, int32_t *i, const char *const *names, int cnt, int *out) {
    for (int pass = 0; pass < 2; pass++) /* full names first, then 3-letter abbreviations */
        for (int k = 0; k < cnt; k++) {
            size_t l = pass ? 3 : strlen(names[k]);
            if ((int32_t)l <= n - *i && !strncasecmp(s + *i, names[k], l)) {
                *i += (int32_t)l;
                *out = k;
                return 0;
            }
        }
    return -1;
}

/* What strp_parse has read so far. */
typedef struct strp_fields {
    int64_t y, mo, d, h, mi, se, frac, doy, off;
    int pm; /* -1 none, 0 AM, 1 PM */
    bool h12;
} strp_fields;

/* One format code c at s[*i]; -1 when the text does not fit it. */
static int strp_code(char c, const char *s, int32_t sn, int32_t *i, strp_fields *t) {
    int64_t v;
    int k, nd;
    switch (c) {
    case 'Y': case 'G': {
        bool neg = *i < sn && s[*i] == '-';
        if (neg) (*i)++;
        if (!digits(s, sn, i, 6, &t->y)) return -1;
        if (neg) t->y = -t->y;
        return 0;
    }
    case 'y':
        if (!digits(s, sn, i, 2, &t->y)) return -1;
        t->y += t->y < 69 ? 2000 : 1900;
        return 0;
    case 'm': return digits(s, sn, i, 2, &t->mo) ? 0 : -1;
    case 'd': return digits(s, sn, i, 2, &t->d) ? 0 : -1;
    case 'H': return digits(s, sn, i, 2, &t->h) ? 0 : -1;
    case 'I': t->h12 = true; return digits(s, sn, i, 2, &t->h) ? 0 : -1;
    case 'M': return digits(s, sn, i, 2, &t->mi) ? 0 : -1;
    case 'S': return digits(s, sn, i, 2, &t->se) ? 0 : -1;
    case 'j': return digits(s, sn, i, 3, &t->doy) ? 0 : -1;
    case 'g': case 'f': case 'n':
        if (!(nd = digits(s, sn, i, c == 'g' ? 3 : c == 'f' ? 6 : 9, &v))) return -1;
        while (nd++ < 9) v *= 10;
        t->frac = v;
        return 0;
    case 'p':
        if (*i + 2 > sn) return -1;
        if (!strncasecmp(s + *i, "AM", 2)) t->pm = 0;
        else if (!strncasecmp(s + *i, "PM", 2)) t->pm = 1;
        else return -1;
        *i += 2;
        return 0;
    case 'b': case 'h': case 'B':
        if (name_match(s, sn, i, mon_full, 12, &k)) return -1;
        t->mo = k + 1;
        return 0;
    case 'a': case 'A': return name_match(s, sn, i, wday_full, 7, &k);
    case 'w': case 'u': case 'U': case 'W': case 'V':
        return digits(s, sn, i, 2, &v) ? 0 : -1; /* read, not used to place the date */
    case 'z': {
        if (*i < sn && (s[*i] == 'Z' || s[*i] == 'z')) return (*i)++, 0;
        if (*i >= sn || (s[*i] != '+' && s[*i] != '-')) return -1;
        int sign = s[(*i)++] == '-' ? -1 : 1;
        int64_t oh, om = 0;
        if (digits(s, sn, i, 2, &oh) != 2) return -1;
        if (*i < sn && s[*i] == ':') (*i)++;
        digits(s, sn, i, 2, &om);
        t->off = sign * (oh * 3600 + om * 60);
        return 0;
    }
    case 'Z':
        while (*i < sn && (isalpha((unsigned char)s[*i]) || s[*i] == '/' || s[*i] == '_')) (*i)++;
        return 0;
    case '%':
        if (*i >= sn || s[*i] != '%') return -1;
        (*i)++;
        return 0;
    case 'c': case 'x': case 'X': return -1; /* locale forms: formatting only */
    default: return -1;                      /* a format character, not our enum */
    }
}

/* The fields read -> ns since the epoch; -1 when they name no valid time. */
static int strp_to_ns(strp_fields *t, int64_t *out) {
    if (t->h12) {
        if (t->h < 1 || t->h > 12) return -1;
        t->h = t->h % 12 + (t->pm == 1 ? 12 : 0);
    } else if (t->pm == 1 && t->h < 12) {
        t->h += 12;
    }
    if (t->h > 23 || t->mi > 59 || t->se > 59) return -1;
    int64_t y = t->y, days;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (t->doy >= 0) {
        if (t->doy < 1 || t->doy > (leap ? 366 : 365)) return -1;
        days = qv_days_from_civil(y, 1, 1) + t->doy - 1;
    } else {
        static const int md[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t mo = t->mo, d = t->d;
        if (mo < 1 || mo > 12 || d < 1 || d > md[mo - 1] || (mo == 2 && !leap && d > 28)) return -1;
        days = qv_days_from_civil(y, (int)mo, (int)d);
    }
    if (days < -106751 || days > 106750) return -1;
    *out = days * NS_DAY + ((t->h * 60 + t->mi) * 60 + t->se - t->off) * NS_SEC + t->frac;
    return 0;
}

/* Parses s by fmt into ns since the epoch; -1 when it does not fit. */
int strp_parse(const char *s, int32_t sn, const char *fmt, int32_t fn, int64_t *out) {
    strp_fields t = {.y = 1900, .mo = 1, .d = 1, .doy = -1, .pm = -1};
    int32_t i = 0;
    for (int32_t f = 0; f < fn; f++) {
        if (fmt[f] != '%') {
            if (isspace((unsigned char)fmt[f])) { /* a space matches any run of white space */
                while (i < sn && isspace((unsigned char)s[i])) i++;
                continue;
            }
            if (i >= sn || s[i] != fmt[f]) return -1;
            i++;
            continue;
        }
        if (++f < fn && fmt[f] == '-') f++;
        if (f >= fn || strp_code(fmt[f], s, sn, &i, &t)) return -1;
    }
    if (i != sn) return -1;
    return strp_to_ns(&t, out);
}
