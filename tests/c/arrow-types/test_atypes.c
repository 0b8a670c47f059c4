#include "arrow-types/atypes.h"
#include "qtest.h"

#include <math.h>

QTEST(type_parse_synonyms) {
    QCHECK_EQ(qv_type_parse("bigint", 6), QV_T_INT64);
    QCHECK_EQ(qv_type_parse("VarChar", 7), QV_T_STRING);
    QCHECK_EQ(qv_type_parse("REAL", 4), QV_T_FLOAT32);
    QCHECK_EQ(qv_type_parse("nope", 4), QV_T_INVALID);
}

QTEST(builder_strings_with_nulls_validate) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "name", QV_T_STRING, true);
    qv_batch b;
    qv_batch_init(&b, &s);
    qv_builder bl;
    qv_builder_init(&bl, QV_T_STRING, 1);
    for (int i = 0; i < 100; i++) {
        if (i % 7 == 0) qv_builder_append_null(&bl);
        else qv_builder_append_str(&bl, "hello world", i % 11);
    }
    qv_array_free(&b.cols[0]);
    qv_builder_finish(&bl, &b.cols[0]);
    qv_builder_free(&bl);
    b.nrows = 100;
    qv_err e;
    QCHECK_OK(qv_batch_validate(&b, &e), &e);
    QCHECK_EQ(qv_array_null_count(&b.cols[0]), 15);
    QCHECK(!qv_array_is_valid(&b.cols[0], 14));
    int32_t n;
    const char *p = qv_array_get_str(&b.cols[0], 13, &n);
    QCHECK_EQ(n, 2);
    QCHECK(memcmp(p, "he", 2) == 0);
    qv_array sl;
    qv_array_slice(&sl, &b.cols[0], 50, 10);
    p = qv_array_get_str(&sl, 3, &n); /* row 53 */
    QCHECK_EQ(n, 53 % 11);
    qv_array_free(&sl);
    qv_batch_free(&b);
    qv_schema_free(&s);
}

QTEST(validate_catches_bad_offsets) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "v", QV_T_STRING, true);
    qv_batch b;
    qv_batch_init(&b, &s);
    qv_builder bl;
    qv_builder_init(&bl, QV_T_STRING, 4);
    qv_builder_append_str(&bl, "ab", 2);
    qv_builder_append_str(&bl, "cd", 2);
    qv_array_free(&b.cols[0]);
    qv_builder_finish(&bl, &b.cols[0]);
    qv_builder_free(&bl);
    b.nrows = 2;
    ((int32_t *)b.cols[0].values->data)[2] = 1000;
    qv_err e;
    QCHECK(qv_batch_validate(&b, &e) == QV_EINVAL);
    QCHECK(strstr(e.msg, "bad string offset") != NULL);
    qv_batch_free(&b);
    qv_schema_free(&s);
}

QTEST(calendar_known_dates_and_round_trip) {
    QCHECK_EQ(qv_days_from_civil(1970, 1, 1), 0);
    QCHECK_EQ(qv_days_from_civil(2024, 3, 24), 19806);
    QCHECK_EQ(qv_days_from_civil(2000, 2, 29), 11016);
    QCHECK_EQ(qv_days_from_civil(1969, 12, 31), -1);
    QCHECK_EQ(qv_days_from_civil(1677, 9, 21), -106752); /* near the int64-ns lower bound */
    int64_t y;
    int m, d;
    for (int64_t z = -800000; z <= 800000; z += 37) {
        qv_civil_from_days(z, &y, &m, &d);
        QCHECK(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        QCHECK_EQ(qv_days_from_civil(y, m, d), z);
    }
}

static void check_split(int64_t ns, int64_t y, int mo, int d, int h, int mi, int s, int64_t nanos, int wd) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    QCHECK_EQ(t.year, y);
    QCHECK_EQ(t.month, mo);
    QCHECK_EQ(t.day, d);
    QCHECK_EQ(t.hour, h);
    QCHECK_EQ(t.minute, mi);
    QCHECK_EQ(t.second, s);
    QCHECK_EQ(t.nanos, nanos);
    QCHECK_EQ(t.weekday, wd);
    QCHECK_EQ(t.days, qv_days_from_civil(y, mo, d));
    QCHECK_EQ(t.ns_of_day, ((h * 60 + mi) * 60 + s) * (int64_t)1000000000 + nanos);
}

/* Every int64 stamp splits, the extremes without overflow (UBSan checks). */
QTEST(timestamp_split_rounds_toward_the_past_at_every_stamp) {
    check_split(0, 1970, 1, 1, 0, 0, 0, 0, 4);                                       /* a Thursday */
    check_split(-1, 1969, 12, 31, 23, 59, 59, 999999999, 3);
    check_split(1711272896123456789LL, 2024, 3, 24, 9, 34, 56, 123456789, 0);     /* a Sunday */
    check_split(INT64_MIN, 1677, 9, 21, 0, 12, 43, 145224192, 2);                   /* a Tuesday */
    check_split(INT64_MAX, 2262, 4, 11, 23, 47, 16, 854775807, 5);                  /* a Friday */
}

static void check_date(const char *text, int64_t want_days, const char *want_text) {
    int64_t d = -12345;
    QCHECK_EQ(qv_date_parse(text, strlen(text), &d), 0);
    QCHECK_EQ(d, want_days);
    char buf[QV_DATE_TEXT_MAX];
    size_t n = qv_date_format(d, buf, sizeof buf);
    QCHECK_EQ(n, strlen(want_text));
    QCHECK_STR(buf, want_text);
}

/* The forms DuckDB reads and prints (checked against DuckDB 2.0.1). */
QTEST(date_text_round_trip_and_range) {
    check_date("1970-01-01", 0, "1970-01-01");
    check_date(" 2024-1-2 ", 19724, "2024-01-02");
    check_date("2024/01/02", 19724, "2024-01-02");
    check_date("2024 01 02", 19724, "2024-01-02");
    check_date("2024-01-02 10:00:00.123456789", 19724, "2024-01-02");
    check_date("2024-01-02T23:59", 19724, "2024-01-02");
    check_date("2024-01-02 10:00:00+02", 19724, "2024-01-02");
    check_date("2024-01-02T05:06:07Z", 19724, "2024-01-02");
    check_date("1969-12-31", -1, "1969-12-31");
    check_date("0000-01-01", -719528, "0001-01-01 (BC)");
    check_date("0044-03-15 (BC)", qv_days_from_civil(-43, 3, 15), "0044-03-15 (BC)");
    check_date("-0044-03-15", qv_days_from_civil(-44, 3, 15), "0045-03-15 (BC)");
    check_date("24-01-02", qv_days_from_civil(24, 1, 2), "0024-01-02");
    check_date("5881580-07-10", QV_DATE_MAX, "5881580-07-10");
    check_date("5877642-06-25 (BC)", QV_DATE_MIN, "5877642-06-25 (BC)");
    static const char *bad[] = {"", "2024", "2024-01", "2024.01.02", "2024-01/02", "2024-01-02x", "2024-01-02 10",
                                "2024-01-02T", "2024-01-02Z", "+2024-01-02", "2024-01-02 25:00", "2024-01-02 10:00:61",
                                "0000-01-01 (BC)", "12345678-01-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t d;
        QCHECK(qv_date_parse(bad[i], strlen(bad[i]), &d) == -1);
    }
    static const char *range[] = {"2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10", "5881580-07-11",
                                  "5877642-06-24 (BC)"};
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
        int64_t d;
        QCHECK(qv_date_parse(range[i], strlen(range[i]), &d) == -2);
    }
    int64_t ns;
    QCHECK(qv_date_to_ts(106751, &ns) && ns == 106751LL * 86400 * 1000000000);
    QCHECK(!qv_date_to_ts(106752, &ns) && !qv_date_to_ts(-106752, &ns));
    QCHECK_EQ(qv_date_from_ts(-1), -1);
    QCHECK_EQ(qv_date_from_ts(INT64_MIN), -106752);
    QCHECK_EQ(qv_date_from_ts(86400LL * 1000000000), 1);
}

static int64_t dec(const char *s, int p, int sc, int *rc) {
    int64_t v = 12345;
    *rc = qv_dec_parse(s, strlen(s), p, sc, &v);
    return v;
}

QTEST(decimal_parse_like_duckdb) {
    int rc;
    QCHECK_EQ(dec(" 1.255 ", 4, 2, &rc), 126); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("-1.255", 4, 2, &rc), -126); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec(".5", 3, 1, &rc), 5); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("1.", 3, 0, &rc), 1); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("1e2", 5, 1, &rc), 1000); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("1.2345e2", 5, 1, &rc), 1235); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("5e-3", 4, 2, &rc), 1); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("1e-3", 4, 2, &rc), 0); QCHECK_EQ(rc, 0);
    /* a 5 that is not the first digit dropped does not round up (0.0005 is 0.00, not 0.01) */
    QCHECK_EQ(dec("0.0005", 4, 2, &rc), 0); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("-0.00051", 4, 2, &rc), 0); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("5e-4", 4, 2, &rc), 0); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("0.0051", 4, 2, &rc), 1); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("1_000", 8, 2, &rc), 100000); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("+3.14159", 18, 3, &rc), 3142); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("999999999999999999", 18, 0, &rc), 999999999999999999LL); QCHECK_EQ(rc, 0);
    QCHECK_EQ(dec("0.000000000000000000000000000000000000000000000001", 18, 2, &rc), 0); QCHECK_EQ(rc, 0);
    dec("1000000000000000000", 18, 0, &rc); QCHECK_EQ(rc, -2);
    dec("99.995", 4, 2, &rc); QCHECK_EQ(rc, -2);
    dec("123456789012345678901234567890123456789012345", 18, 0, &rc); QCHECK_EQ(rc, -2);
    dec("1e100000000", 18, 0, &rc); QCHECK_EQ(rc, -2);
    const char *bad[] = {"", ".", "1.2.3", " - 1", "inf", "1e", "0x10", "_1", "1_", "1__0", "1 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dec(bad[i], 8, 2, &rc);
        QCHECK_EQ(rc, -1);
    }
}

QTEST(decimal_format_rescale_double) {
    char b[QV_DEC_TEXT_MAX];
    qv_dec_format(125, 2, b, sizeof b); QCHECK_STR(b, "1.25");
    qv_dec_format(-5, 2, b, sizeof b); QCHECK_STR(b, "-0.05");
    qv_dec_format(5, 0, b, sizeof b); QCHECK_STR(b, "5");
    qv_dec_format(0, 3, b, sizeof b); QCHECK_STR(b, "0.000");
    qv_dec_format(-999999999999999999LL, 18, b, sizeof b); QCHECK_STR(b, "-0.999999999999999999");
    qv_dec_format(INT64_MIN, 0, b, sizeof b); QCHECK_STR(b, "-9223372036854775808");
    int64_t v;
    QCHECK(qv_dec_rescale(125, 2, 1, 18, &v)); QCHECK_EQ(v, 13);
    QCHECK(qv_dec_rescale(-125, 2, 1, 18, &v)); QCHECK_EQ(v, -13);
    QCHECK(qv_dec_rescale(-124, 2, 1, 18, &v)); QCHECK_EQ(v, -12);
    QCHECK(qv_dec_rescale(125, 2, 4, 18, &v)); QCHECK_EQ(v, 12500);
    QCHECK(!qv_dec_rescale(125, 2, 4, 4, &v));
    QCHECK(!qv_dec_rescale(1, 0, 19, 18, &v));
    QCHECK(qv_dec_rescale(5, 1, 0, 1, &v)); QCHECK_EQ(v, 1);
    QCHECK(qv_dec_from_double(0.125, 3, 2, &v)); QCHECK_EQ(v, 13);
    QCHECK(qv_dec_from_double(-0.125, 3, 2, &v)); QCHECK_EQ(v, -13);
    QCHECK(qv_dec_from_double(1.005, 5, 2, &v)); QCHECK_EQ(v, 100);
    QCHECK(!qv_dec_from_double(1e18, 18, 0, &v));
    QCHECK(!qv_dec_from_double(NAN, 18, 0, &v));
    QCHECK(qv_dec_fits(999, 3) && !qv_dec_fits(1000, 3) && !qv_dec_fits(-1000, 3));
    QCHECK(qv_dec_to_double(125, 2) == 1.25);
    qv_dec_type_name(10, 2, b, sizeof b); QCHECK_STR(b, "DECIMAL(10,2)");
}

static int64_t iv(const char *s, int *rc) {
    int64_t v = 777;
    *rc = qv_interval_parse(s, strlen(s), &v);
    return v;
}

QTEST(interval_text_round_trips) {
    const int64_t S = 1000000000LL, DAY = 86400 * S;
    int rc;
    QCHECK_EQ(iv("1 day 2 hours", &rc), DAY + 7200 * S); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("1.5 s", &rc), 1500000000LL); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("-3 ms", &rc), -3000000LL); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("2 days 01:02:03.5", &rc), 2 * DAY + 3723 * S + S / 2); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("-00:00:01", &rc), -S); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("-1 day -01:00:00", &rc), -DAY - 3600 * S); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("36:00", &rc), 36 * 3600 * S); QCHECK_EQ(rc, 0);
    QCHECK_EQ(iv("00:00:00.000000001", &rc), 1); QCHECK_EQ(rc, 0);
    const char *bad[] = {"", "soon", "1", "1 fortnight", "1:2", "01:60:00", "01:00:61", "9999999999999 days",
                         "01:00:00.", "1 month", "- 1 day"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iv(bad[i], &rc);
        QCHECK_EQ(rc, -1);
    }
    const struct { int64_t ns; const char *txt; } out[] = {
        {0, "00:00:00"}, {300 * S, "00:05:00"}, {-S, "-00:00:01"}, {36 * 3600 * S, "1 day 12:00:00"},
        {2 * DAY + 3723 * S + S / 2, "2 days 01:02:03.5"}, {-DAY - 3600 * S, "-1 day -01:00:00"}, {DAY, "1 day"},
        {-2 * DAY, "-2 days"}, {1, "00:00:00.000000001"}, {INT64_MIN, "-106751 days -23:47:16.854775808"},
        {INT64_MAX, "106751 days 23:47:16.854775807"}};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        char b[QV_INTERVAL_TEXT_MAX];
        size_t n = qv_interval_format(out[i].ns, b, sizeof b);
        QCHECK_STR(b, out[i].txt);
        int64_t back;
        QCHECK_EQ(qv_interval_parse(b, n, &back), 0);
        QCHECK_EQ(back, out[i].ns);
    }
}

/* Calendar intervals: the months apart, fractions as DuckDB reads them. */
QTEST(interval_calendar_parts) {
    const int64_t S = 1000000000LL, DAY = 86400 * S;
    const struct { const char *txt; int32_t months; int64_t ns; } ok[] = {
        {"1 month", 1, 0}, {"2 years 3 months 4 days", 27, 4 * DAY}, {"1 quarter", 3, 0}, {"1 decade", 120, 0},
        {"2 centuries", 2400, 0}, {"1 millennium", 12000, 0}, {"1.5 months", 1, 15 * DAY}, {"1.25 months", 1, 7 * DAY + DAY / 2},
        {"0.45 quarter", 1, 11 * DAY}, {"1.3 years", 16, 0}, {"1.04 years", 12, 0}, {"-1.5 months", -1, -15 * DAY},
        {"1 year -2 months", 10, 0}, {"1 mon 2 days 03:00:00", 1, 2 * DAY + 3 * 3600 * S}, {"5 minutes", 0, 300 * S}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int32_t m = 99;
        int64_t ns = 99;
        QCHECK_EQ(qv_interval_parse_cal(ok[i].txt, strlen(ok[i].txt), &m, &ns), 0);
        QCHECK_EQ(m, ok[i].months);
        QCHECK_EQ(ns, ok[i].ns);
    }
    int32_t m;
    int64_t ns;
    const char *bad[] = {"1 fortnight", "3000000000 months", "200000000 years", "month", "1 month 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) QCHECK_EQ(qv_interval_parse_cal(bad[i], strlen(bad[i]), &m, &ns), -1);
    QCHECK_EQ(qv_interval_parse("1 year", 6, &ns), -1); /* a fixed-length reader refuses months */
    QCHECK(qv_interval_unit_months("Quarter") == 3 && qv_interval_unit_months("week") == 0);
}

QTEST(ts_add_months_clamps_the_day) {
    const int64_t S = 1000000000LL, DAY = 86400 * S;
    int64_t jan31 = qv_days_from_civil(2024, 1, 31) * DAY + 10 * 3600 * S, out;
    QCHECK(qv_ts_add_months(jan31, 1, &out));
    QCHECK_EQ(out, qv_days_from_civil(2024, 2, 29) * DAY + 10 * 3600 * S);
    QCHECK(qv_ts_add_months(jan31, 13, &out));
    QCHECK_EQ(out, qv_days_from_civil(2025, 2, 28) * DAY + 10 * 3600 * S);
    QCHECK(qv_ts_add_months(jan31, -2, &out));
    QCHECK_EQ(out, qv_days_from_civil(2023, 11, 30) * DAY + 10 * 3600 * S);
    QCHECK(qv_ts_add_months(-1, 1, &out)); /* 1969-12-31 23:59:59.999999999 */
    QCHECK_EQ(out, 31 * DAY - 1);
    QCHECK(!qv_ts_add_months(INT64_MAX - DAY, 1, &out));
    QCHECK(!qv_ts_add_months(INT64_MIN + DAY, -1, &out));
    QCHECK(!qv_ts_add_months(0, (int64_t)INT32_MAX * 100, &out));
}

QTEST(time_text_round_trips) {
    const int64_t S = 1000000000LL;
    const struct { const char *txt; int64_t ns; const char *out; } ok[] = {
        {"09:30", 34200 * S, "09:30:00"}, {"9:30:00.5", 34200 * S + S / 2, "09:30:00.5"},
        {" 23:59:59.999999999 ", 86400 * S - 1, "23:59:59.999999999"}, {"00:00", 0, "00:00:00"},
        {"24:00:00", 86400 * S, "24:00:00"}, {"2024-01-02 10:11:12.25", 36672 * S + S / 4, "10:11:12.25"},
        {"2024-01-02T01:02:03", 3723 * S, "01:02:03"}, {"10:00:00.1234567891", 36000 * S + 123456789, "10:00:00.123456789"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ns = -1;
        QCHECK_EQ(qv_time_parse(ok[i].txt, strlen(ok[i].txt), &ns), 0);
        QCHECK_EQ(ns, ok[i].ns);
        char b[QV_TIME_TEXT_MAX];
        size_t n = qv_time_format(ns, b, sizeof b);
        QCHECK_STR(b, ok[i].out);
        int64_t back;
        QCHECK_EQ(qv_time_parse(b, n, &back), 0);
        QCHECK_EQ(back, ns);
    }
    const char *bad[] = {"", "9", "25:00", "24:00:01", "10:60", "10:00:61", "10:00:00.", "123:00", "10:0", "2024-13-01 10:00",
                         "10:00 PM", "-01:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        QCHECK_EQ(qv_time_parse(bad[i], strlen(bad[i]), &ns), -1);
    }
    char b[4];
    QCHECK_EQ(qv_time_format(3600 * S, b, sizeof b), 3u); /* truncated to the buffer, NUL-terminated */
    QCHECK_STR(b, "01:");
}
