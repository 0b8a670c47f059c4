/* Time scalar functions over TIMESTAMP (int64 ns since the epoch, UTC; a
   DATE argument arrives as its midnight, functions.h):
   date_part/date_trunc/time_bucket, strftime/strptime, epoch_*, make_timestamp,
   to_timestamp, date_diff/date_sub/date_add. */
#include "functions.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NS_SEC 1000000000LL
#define NS_DAY (86400LL * NS_SEC)
#define EACH_ROW for (int k = 0; k < n; k++) if (!vec_null(out, k))

static int64_t fdiv_i64(int64_t a, int64_t b) {
    int64_t q = a / b;
    if (a % b && (a < 0) != (b < 0)) q--;
    return q;
}

/* a / b rounded half away from zero (DuckDB's epoch_ms of a timestamp) */
static int64_t div_round(int64_t a, int64_t b) {
    int64_t q = a / b, r = a % b;
    if (2 * (r < 0 ? -r : r) >= b) q += a < 0 ? -1 : 1;
    return q;
}

/* A constant part name as its first argument ('year', 'day', ...). */
static int const_field(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    bexpr *p = e->args[0];
    if (p->kind != B_CONST || p->cval.null || type_pc(p->type) != PC_S) {
        bd_fail(b, a, QV_EINVAL, "%s needs a constant part name as its first argument", fd->name, NULL);
        return -1;
    }
    char nm[64];
    snprintf(nm, sizeof nm, "%.*s", p->cval.s.n, p->cval.s.p);
    int f = ts_field_parse(nm);
    if (f < 0) bd_fail(b, a, QV_EINVAL, "%s: unknown date part '%s'", fd->name, nm);
    return f;
}

/* A TIME has only the fields of a day (DuckDB: "time" units "YEAR" not recognized). */
static bexpr *time_field_check(binder *b, ast *a, const bexpr *x, int f, const char *fn) {
    if (x->type != QV_T_TIME || ts_field_of_day(f)) return (bexpr *)x;
    char m[160];
    snprintf(m, sizeof m, "%s: a TIME has no %s (hour, minute, second, millisecond, microsecond, nanosecond, epoch)", fn,
             ts_field_name(f));
    return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
}

static bexpr *bind_part(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    int f = const_field(b, a, e, fd);
    if (f < 0 || !time_field_check(b, a, e->args[1], f, fd->name)) return NULL;
    bool trunc = !strcmp(fd->name, "date_trunc") || !strcmp(fd->name, "datetrunc");
    if (trunc && !ts_field_truncates(f)) return bd_fail(b, a, QV_EINVAL, "date_trunc: cannot truncate to '%s'", ts_field_name(f), NULL);
    bexpr *x = bd_mk(b, trunc ? B_TRUNC : B_EXTRACT, trunc ? QV_T_TIMESTAMP : ts_field_is_double(f) ? QV_T_FLOAT64 : QV_T_INT64, 1);
    x->op = f;
    x->args[0] = e->args[1];
    if (trunc) memcpy(x->tz, e->args[1]->tz, sizeof x->tz);
    if (x->args[0]->kind == B_CONST) { /* fold */
        vec v;
        vec_init(&v, x->type);
        if (expr_eval_const(x, &v, b->err)) { vec_free(&v); return NULL; }
        bexpr *k = bd_mk(b, B_CONST, x->type, 0);
        memcpy(k->tz, x->tz, sizeof k->tz);
        k->cval.null = vec_null(&v, 0);
        if (x->type == QV_T_FLOAT64) k->cval.f = v.f[0];
        else k->cval.i = v.i[0];
        vec_free(&v);
        return k;
    }
    return x;
}

/* year(ts), month(ts), ...: date_part with the part named by the function */
static bexpr *bind_named_part(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    int f = ts_field_parse(fd->name);
    if (!time_field_check(b, a, e->args[0], f, fd->name)) return NULL;
    bexpr *x = bd_mk(b, B_EXTRACT, ts_field_is_double(f) ? QV_T_FLOAT64 : QV_T_INT64, 1);
    x->op = f;
    x->args[0] = e->args[0];
    return x;
}

/* time_bucket(INTERVAL, ts): buckets of a fixed width aligned to 2000-01-03 (as DuckDB) */
static bexpr *bind_bucket(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)fd;
    bexpr *w = e->args[0];
    if (w->kind != B_CONST || w->cval.null || w->cval.i <= 0)
        return bd_fail(b, a, QV_EINVAL, "time_bucket needs a constant positive INTERVAL as its first argument", NULL, NULL);
    memcpy(e->tz, e->args[1]->tz, sizeof e->tz);
    return e;
}

static int ev_bucket(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    const int64_t origin = 946857600LL * NS_SEC; /* 2000-01-03 00:00:00, a Monday */
    EACH_ROW {
        /* 128 bits: a TIMESTAMP three centuries from the origin is more ns than int64 holds */
        __int128 w = a[0].i[k], d = (__int128)a[1].i[k] - origin, q = d / w, r;
        if (d % w && d < 0) q--;
        r = q * w + origin;
        if (r < INT64_MIN || r > INT64_MAX) return fn_err(err, e, "timestamp out of range");
        out->i[k] = (int64_t)r;
    }
    return 0;
}

/* strftime(ts, format) or strftime(format, ts) */
static bexpr *bind_strftime(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    if (type_pc(e->args[0]->type) == PC_S && bd_is_time(e->args[1]->type)) {
        bexpr *t = e->args[0];
        e->args[0] = e->args[1];
        e->args[1] = t;
    }
    if (type_pc(e->args[0]->type) == PC_S && e->args[0]->kind == B_CONST &&
        !(e->args[0] = bind_coerce(b, e->args[0], QV_T_TIMESTAMP)))
        return NULL;
    if (e->args[0]->type == T_NULL || e->args[0]->type == QV_T_DATE) e->args[0] = bind_coerce(b, e->args[0], QV_T_TIMESTAMP);
    if (!e->args[0]) return NULL;
    if (e->args[1]->type == T_NULL) e->args[1] = bind_coerce(b, e->args[1], QV_T_STRING);
    if (e->args[0]->type != QV_T_TIMESTAMP || type_pc(e->args[1]->type) != PC_S) {
        char m[200];
        snprintf(m, sizeof m, "%s needs a TIMESTAMP and a format string, got %s and %s", fd->name,
                 type_name(e->args[0]->type), type_name(e->args[1]->type));
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    bexpr *f = e->args[1];
    char why[120];
    if (f->kind == B_CONST && !f->cval.null && strf_check(f->cval.s.p, f->cval.s.n, why, sizeof why)) {
        char m[300];
        snprintf(m, sizeof m, "%s: bad format '%.*s': %s", fd->name, f->cval.s.n > 80 ? 80 : f->cval.s.n, f->cval.s.p, why);
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    e->type = QV_T_STRING;
    e->tz[0] = 0;
    return e;
}

static int ev_strftime(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e;
    char buf[1024];
    EACH_ROW {
        sv f = a[1].s[k];
        int l = strf_format(a[0].i[k], f.p, f.n, buf, sizeof buf, err);
        if (l < 0) return err->code;
        vec_set_str(out, k, buf, l);
    }
    return 0;
}

static int strp_rows(const bexpr *e, vec *a, int n, vec *out, qv_err *err, bool try_only) {
    EACH_ROW {
        sv s = a[0].s[k], f = a[1].s[k];
        if (strp_parse(s.p, s.n, f.p, f.n, &out->i[k])) {
            if (try_only) { vec_set_null(out, k); continue; }
            return fn_err(err, e, "could not parse '%.*s' with format '%.*s'", s.n > 60 ? 60 : s.n, s.p, f.n > 60 ? 60 : f.n, f.p);
        }
    }
    return 0;
}
static int ev_strptime(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return strp_rows(e, a, n, out, err, false); }
static int ev_try_strptime(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return strp_rows(e, a, n, out, err, true); }

static int ev_epoch(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->f[k] = ts_extract_f(a[0].i[k], TF_EPOCH);
    return 0;
}

/* epoch_ms(ts) -> BIGINT milliseconds; epoch_ms(BIGINT) -> TIMESTAMP */
static bexpr *bind_epoch_ms(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    qv_type t = e->args[0]->type;
    if (type_pc(t) == PC_S && e->args[0]->kind == B_CONST && !(e->args[0] = bind_coerce(b, e->args[0], QV_T_TIMESTAMP)))
        return NULL;
    t = e->args[0]->type;
    if (t == T_NULL || t == QV_T_DATE) e->args[0] = bind_coerce(b, e->args[0], t = QV_T_TIMESTAMP);
    if (!e->args[0]) return NULL;
    if (type_is_int(t)) {
        e->args[0] = bind_coerce(b, e->args[0], QV_T_INT64);
        e->type = QV_T_TIMESTAMP;
        e->op = 1;
        return e;
    }
    if (t != QV_T_TIMESTAMP) {
        char m[200];
        snprintf(m, sizeof m, "%s: argument 1 must be a TIMESTAMP or an integer, got %s", fd->name, type_name(t));
        return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
    }
    e->type = QV_T_INT64;
    e->tz[0] = 0;
    return e;
}

static int ev_epoch_ms(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    if (e->op) {
        EACH_ROW if (__builtin_mul_overflow(a[0].i[k], 1000000, &out->i[k])) return fn_err(err, e, "timestamp out of range");
    } else {
        EACH_ROW out->i[k] = div_round(a[0].i[k], 1000000);
    }
    return 0;
}

static int ev_epoch_us(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->i[k] = div_round(a[0].i[k], 1000);
    return 0;
}

static int ev_epoch_ns(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->i[k] = a[0].i[k];
    return 0;
}

static int ev_make_ts(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        if (e->nargs == 1) { /* microseconds since the epoch */
            if (__builtin_mul_overflow(a[0].i[k], 1000, &out->i[k])) return fn_err(err, e, "timestamp out of range");
            continue;
        }
        int64_t y = a[0].i[k], mo = a[1].i[k], d = a[2].i[k], h = a[3].i[k], mi = a[4].i[k];
        double s = a[5].f[k];
        static const int md[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (y < 1678 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > md[mo - 1] || (mo == 2 && !leap && d > 28))
            return fn_err(err, e, "date out of range: %lld-%lld-%lld", (long long)y, (long long)mo, (long long)d);
        if (h < 0 || h > 23 || mi < 0 || mi > 59 || !(s >= 0 && s < 60))
            return fn_err(err, e, "time out of range: %lld:%lld:%g", (long long)h, (long long)mi, s);
        int64_t days = qv_days_from_civil(y, (int)mo, (int)d);
        out->i[k] = days * NS_DAY + (h * 3600 + mi * 60) * NS_SEC + (int64_t)llround(s * 1e6) * 1000;
    }
    return 0;
}

static bexpr *bind_make_ts(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    if (e->nargs != 1 && e->nargs != 6)
        return bd_fail(b, a, QV_EINVAL, "%s takes 1 argument (microseconds) or 6 (year, month, day, hour, minute, seconds)", fd->name, NULL);
    if (e->nargs == 6 && !(e->args[5] = bind_coerce(b, e->args[5], QV_T_FLOAT64))) return NULL;
    return e;
}

static bexpr *bind_to_ts(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)b, (void)a, (void)fd;
    snprintf(e->tz, sizeof e->tz, "UTC"); /* DuckDB: TIMESTAMP WITH TIME ZONE */
    return e;
}

static int ev_to_ts(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        double us = round(a[0].f[k] * 1e6);
        if (!(us > -9.2e15 && us < 9.2e15)) return fn_err(err, e, "timestamp out of range: %g seconds", a[0].f[k]);
        out->i[k] = (int64_t)us * 1000;
    }
    return 0;
}

/* ---- date_diff / date_sub / date_add ---- */
static bexpr *bind_diff(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    int f = const_field(b, a, e, fd);
    if (f < 0) return NULL;
    if (f == TF_NANOSECOND || f == TF_ERA || f == TF_JULIAN || f == TF_TIMEZONE || f == TF_TIMEZONE_HOUR ||
        f == TF_TIMEZONE_MINUTE)
        return bd_fail(b, a, QV_EINVAL, "%s: unsupported date part '%s'", fd->name, ts_field_name(f));
    e->op = f;
    e->tz[0] = 0;
    return e;
}

static int64_t months_of(int64_t ns, int64_t *day_rem) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    if (day_rem) *day_rem = (int64_t)t.day * NS_DAY + t.ns_of_day;
    return t.year * 12 + t.month - 1;
}

static bool last_day(int64_t ns) {
    int64_t y;
    int m, d;
    qv_civil_from_days(fdiv_i64(ns, NS_DAY) + 1, &y, &m, &d);
    return d == 1;
}

/* Whole months from s to t (t >= s); the end of a month counts as any later day. */
static int64_t full_months(int64_t s, int64_t t) {
    int64_t rs, rt;
    int64_t m = months_of(t, &rt) - months_of(s, &rs);
    if (last_day(t) && rs > rt) rs = rt - (t - fdiv_i64(t, NS_DAY) * NS_DAY) + (s - fdiv_i64(s, NS_DAY) * NS_DAY);
    if (rt < rs) m--;
    return m;
}

/* Length of a part in ns (sub-month parts), or in months (0: not month-based). */
static const struct { int64_t ns, months; } units[TF__COUNT] = {
    [TF_YEAR] = {NS_DAY, 12}, [TF_ISOYEAR] = {NS_DAY, 12}, [TF_QUARTER] = {NS_DAY, 3}, [TF_MONTH] = {NS_DAY, 1},
    [TF_DECADE] = {NS_DAY, 120}, [TF_CENTURY] = {NS_DAY, 1200}, [TF_MILLENNIUM] = {NS_DAY, 12000},
    [TF_WEEK] = {7 * NS_DAY, 0}, [TF_YEARWEEK] = {7 * NS_DAY, 0}, [TF_DAY] = {NS_DAY, 0}, [TF_DOW] = {NS_DAY, 0},
    [TF_ISODOW] = {NS_DAY, 0}, [TF_DOY] = {NS_DAY, 0}, [TF_HOUR] = {3600 * NS_SEC, 0}, [TF_MINUTE] = {60 * NS_SEC, 0},
    [TF_SECOND] = {NS_SEC, 0}, [TF_EPOCH] = {NS_SEC, 0}, [TF_MILLISECOND] = {1000000, 0}, [TF_MICROSECOND] = {1000, 0},
    [TF_NANOSECOND] = {1, 0}, [TF_ERA] = {NS_DAY, 0}, [TF_JULIAN] = {NS_DAY, 0}, [TF_TIMEZONE] = {NS_DAY, 0},
    [TF_TIMEZONE_HOUR] = {NS_DAY, 0}, [TF_TIMEZONE_MINUTE] = {NS_DAY, 0},
};
_Static_assert(sizeof units / sizeof units[0] == TF__COUNT, "one unit per ts field");
static int64_t unit_ns(int f) { return units[f].ns; }
static int64_t month_unit(int f) { return units[f].months; }

/* date_diff: the number of part boundaries crossed from s to t. */
static int64_t diff_bound(int f, int64_t s, int64_t t) {
    switch ((ts_field)f) {
    case TF_YEAR: return ts_extract(t, TF_YEAR) - ts_extract(s, TF_YEAR);
    case TF_ISOYEAR: return ts_extract(t, TF_ISOYEAR) - ts_extract(s, TF_ISOYEAR);
    case TF_QUARTER: return fdiv_i64(months_of(t, NULL), 3) - fdiv_i64(months_of(s, NULL), 3);
    case TF_MONTH: return months_of(t, NULL) - months_of(s, NULL);
    case TF_DECADE: return fdiv_i64(ts_extract(t, TF_YEAR), 10) - fdiv_i64(ts_extract(s, TF_YEAR), 10);
    case TF_CENTURY: return fdiv_i64(ts_extract(t, TF_YEAR), 100) - fdiv_i64(ts_extract(s, TF_YEAR), 100);
    case TF_MILLENNIUM: return fdiv_i64(ts_extract(t, TF_YEAR), 1000) - fdiv_i64(ts_extract(s, TF_YEAR), 1000);
    case TF_WEEK: case TF_YEARWEEK: return (fdiv_i64(t, NS_DAY) - fdiv_i64(s, NS_DAY)) / 7;
    case TF_DAY: case TF_DOW: case TF_ISODOW: case TF_DOY: return fdiv_i64(t, NS_DAY) - fdiv_i64(s, NS_DAY);
    case TF_HOUR: case TF_MINUTE: case TF_SECOND: case TF_EPOCH: case TF_MILLISECOND: case TF_MICROSECOND:
    case TF_NANOSECOND: case TF_ERA: case TF_JULIAN: case TF_TIMEZONE: case TF_TIMEZONE_HOUR:
    case TF_TIMEZONE_MINUTE: case TF__COUNT: break;
    }
    return fdiv_i64(t, unit_ns(f)) - fdiv_i64(s, unit_ns(f));
}

static int ev_date_diff(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    EACH_ROW out->i[k] = diff_bound(e->op, a[1].i[k], a[2].i[k]);
    return 0;
}

/* date_sub: whole parts elapsed from s to t (toward zero). */
static int ev_date_sub(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    int64_t mu = month_unit(e->op), u = unit_ns(e->op);
    EACH_ROW {
        int64_t s = a[1].i[k], t = a[2].i[k];
        if (mu) {
            int64_t m = t >= s ? full_months(s, t) : -full_months(t, s);
            out->i[k] = m / mu;
        } else {
            __int128 d = (__int128)t - s;
            out->i[k] = (int64_t)(d / u);
        }
    }
    return 0;
}

static int ev_date_add(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW if (__builtin_add_overflow(a[0].i[k], a[1].i[k], &out->i[k])) return fn_err(err, e, "timestamp out of range");
    return 0;
}

/* English day and month names, as DuckDB's dayname / monthname */
static const char *const day_names[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
static const char *const month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                            "July",    "August",   "September", "October", "November", "December"};

static int ev_dayname(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        int64_t w = (fdiv_i64(a[0].i[k], NS_DAY) + 4) % 7; /* 1970-01-01 was a Thursday */
        const char *nm = day_names[w < 0 ? w + 7 : w];
        out->s[k] = (sv){nm, (int32_t)strlen(nm)};
    }
    return 0;
}

static int ev_monthname(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        int64_t y;
        int m, d;
        qv_civil_from_days(fdiv_i64(a[0].i[k], NS_DAY), &y, &m, &d);
        out->s[k] = (sv){month_names[m - 1], (int32_t)strlen(month_names[m - 1])};
    }
    return 0;
}

/* last_day(ts): the DATE of the month's last day. */
static int ev_last_day(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        int64_t y;
        int m, d;
        qv_civil_from_days(fdiv_i64(a[0].i[k], NS_DAY), &y, &m, &d);
        out->i[k] = m == 12 ? qv_days_from_civil(y + 1, 1, 1) - 1 : qv_days_from_civil(y, m + 1, 1) - 1;
    }
    return 0;
}

/* make_date(year, month, day): that DATE; DuckDB's range and its errors. */
static int ev_make_date(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        int64_t y = a[0].i[k], mo = a[1].i[k], d = a[2].i[k], z;
        int64_t yy;
        int mm, dd;
        bool ok = mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && y > -5877643 && y < 5881581;
        if (ok) { /* a day past the month's end comes back as another month */
            z = qv_days_from_civil(y, (int)mo, (int)d);
            qv_civil_from_days(z, &yy, &mm, &dd);
            ok = mm == mo && dd == d && z >= QV_DATE_MIN && z <= QV_DATE_MAX;
        }
        if (!ok) return fn_err(err, e, "date out of range: %lld-%lld-%lld", (long long)y, (long long)mo, (long long)d);
        out->i[k] = z;
    }
    return 0;
}

/* TIME ± INTERVAL wraps around midnight (DuckDB: TIME '23:00' + INTERVAL 2
   HOUR is 01:00); DATE + TIME is that day's TIMESTAMP. Internal: bound from
   the operators (bind_time_arith), not by name. */
static int ev_time_add(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    int neg = e->op == OP_SUB;
    EACH_ROW {
        int64_t r = (a[0].i[k] % NS_DAY + (neg ? -1 : 1) * (a[1].i[k] % NS_DAY)) % NS_DAY;
        out->i[k] = r < 0 ? r + NS_DAY : r;
    }
    return 0;
}

static int ev_date_time(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        int64_t ts;
        if (!qv_date_to_ts(a[0].i[k], &ts) || __builtin_add_overflow(ts, a[1].i[k], &out->i[k]))
            return fn_err(err, e, "the DATE is outside the TIMESTAMP range (1677-09-22 .. 2262-04-11)");
    }
    return 0;
}

static const sfunc_def sfunc_time_add = {"+", 2, 2, "AV", 'A', NULL, ev_time_add, SF_STRICT, "TIME plus an INTERVAL"};
static const sfunc_def sfunc_date_time = {"+", 2, 2, "DA", 'T', NULL, ev_date_time, SF_STRICT, "DATE plus a TIME"};

bexpr *bind_time_arith(binder *b, ast *a, int op, bexpr *x, bexpr *y) {
    bool dt = x->type == QV_T_DATE || y->type == QV_T_DATE;
    if (dt ? x->type != QV_T_DATE : x->type != QV_T_TIME) { /* INTERVAL + TIME, TIME + DATE: the TIME or DATE first */
        bexpr *t = x;
        x = y, y = t;
    }
    bexpr *e = bd_mk(b, B_FUNC, dt ? QV_T_TIMESTAMP : QV_T_TIME, 2);
    e->fn = dt ? &sfunc_date_time : &sfunc_time_add;
    e->op = op;
    e->args[0] = x;
    e->args[1] = y;
    return sfunc_fold(b, a, e);
}

/* current_date / today(): the day of the statement's start (UTC). */
static bexpr *bind_today_fn(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)a, (void)e, (void)fd;
    return bind_today(b);
}

const sfunc_def sfunc_time[] = {
    {"date_part", 2, 2, "ST", 'I', bind_part, NULL, SF_STRICT | SF_TOD, "date_part(part, ts): a field of ts"},
    {"datepart", 2, 2, "ST", 'I', bind_part, NULL, SF_STRICT | SF_TOD, "alias of date_part"},
    {"date_trunc", 2, 2, "ST", 'T', bind_part, NULL, SF_STRICT, "date_trunc(part, ts): ts rounded down to the part"},
    {"datetrunc", 2, 2, "ST", 'T', bind_part, NULL, SF_STRICT, "alias of date_trunc"},
    {"year", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('year', ts)"},
    {"quarter", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('quarter', ts)"},
    {"month", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('month', ts)"},
    {"day", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('day', ts)"},
    {"hour", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT | SF_TOD, "date_part('hour', ts)"},
    {"minute", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT | SF_TOD, "date_part('minute', ts)"},
    {"second", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT | SF_TOD, "date_part('second', ts)"},
    {"millisecond", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT | SF_TOD, "date_part('millisecond', ts)"},
    {"microsecond", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT | SF_TOD, "date_part('microsecond', ts)"},
    {"dayofweek", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('dayofweek', ts)"},
    {"dayofyear", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('dayofyear', ts)"},
    {"week", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('week', ts)"},
    {"weekofyear", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('weekofyear', ts)"},
    {"isodow", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('isodow', ts)"},
    {"isoyear", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('isoyear', ts)"},
    {"yearweek", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('yearweek', ts)"},
    {"decade", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('decade', ts)"},
    {"century", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('century', ts)"},
    {"millennium", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('millennium', ts)"},
    {"era", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('era', ts)"},
    {"dayofmonth", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('dayofmonth', ts)"},
    {"weekday", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('weekday', ts)"},
    {"julian", 1, 1, "T", 'I', bind_named_part, NULL, SF_STRICT, "date_part('julian', ts)"},
    {"time_bucket", 2, 2, "VT", 'T', bind_bucket, ev_bucket, SF_STRICT | SF_DATE_IN_OUT, "time_bucket(width, ts): start of ts's bucket (a DATE for a DATE)"},
    {"strftime", 2, 2, "AA", 'S', bind_strftime, ev_strftime, SF_STRICT, "strftime(ts, format): ts as text"},
    {"strptime", 2, 2, "SS", 'T', NULL, ev_strptime, SF_STRICT, "strptime(text, format): text as a TIMESTAMP"},
    {"try_strptime", 2, 2, "SS", 'T', NULL, ev_try_strptime, SF_STRICT, "strptime, NULL when it does not parse"},
    {"epoch", 1, 1, "T", 'F', NULL, ev_epoch, SF_STRICT | SF_TOD, "seconds since 1970-01-01 (DOUBLE)"},
    {"epoch_ms", 1, 1, "A", 'I', bind_epoch_ms, ev_epoch_ms, SF_STRICT, "milliseconds since the epoch; of an integer: that TIMESTAMP"},
    {"epoch_us", 1, 1, "T", 'I', NULL, ev_epoch_us, SF_STRICT, "microseconds since the epoch"},
    {"epoch_ns", 1, 1, "T", 'I', NULL, ev_epoch_ns, SF_STRICT, "nanoseconds since the epoch"},
    {"make_timestamp", 1, 6, "IIIIIF", 'T', bind_make_ts, ev_make_ts, SF_STRICT, "make_timestamp(y, m, d, h, mi, s) or (microseconds)"},
    {"to_timestamp", 1, 1, "F", 'T', bind_to_ts, ev_to_ts, SF_STRICT, "to_timestamp(seconds): TIMESTAMP (UTC)"},
    {"date_diff", 3, 3, "STT", 'I', bind_diff, ev_date_diff, SF_STRICT, "date_diff(part, a, b): part boundaries between a and b"},
    {"datediff", 3, 3, "STT", 'I', bind_diff, ev_date_diff, SF_STRICT, "alias of date_diff"},
    {"date_sub", 3, 3, "STT", 'I', bind_diff, ev_date_sub, SF_STRICT, "date_sub(part, a, b): whole parts from a to b"},
    {"datesub", 3, 3, "STT", 'I', bind_diff, ev_date_sub, SF_STRICT, "alias of date_sub"},
    {"dayname", 1, 1, "T", 'S', NULL, ev_dayname, SF_STRICT, "English name of the weekday"},
    {"monthname", 1, 1, "T", 'S', NULL, ev_monthname, SF_STRICT, "English name of the month"},
    {"last_day", 1, 1, "T", 'D', NULL, ev_last_day, SF_STRICT, "the last day of the month (DATE)"},
    {"make_date", 3, 3, "III", 'D', NULL, ev_make_date, SF_STRICT, "make_date(year, month, day): that DATE"},
    {"current_date", 0, 0, "", 'D', bind_today_fn, NULL, 0, "the day of the statement's start (DATE, UTC)"},
    {"today", 0, 0, "", 'D', bind_today_fn, NULL, 0, "alias of current_date"},
    {"date_add", 2, 2, "TV", 'T', NULL, ev_date_add, SF_STRICT, "date_add(ts, interval)"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
