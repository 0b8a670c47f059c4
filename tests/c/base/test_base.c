#include "base/base.h"
#include "qtest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

QTEST(err_set_and_prefix) {
    qv_err e;
    QCHECK_EQ(qv_err_set(&e, QV_EINVAL, "column %s", "x"), QV_EINVAL);
    qv_err_prefix(&e, "table %d", 3);
    QCHECK_STR(e.msg, "table 3: column x");
    QCHECK_STR(qv_status_name(QV_ENOTFOUND), "NOT_FOUND");
}

QTEST(crc32c_known_vector) {
    /* The standard check value of CRC-32C over "123456789". */
    QCHECK_EQ(qv_crc32c(0, "123456789", 9), 0xE3069283u);
    /* Incremental equals one shot, across the 8-byte fast path. */
    const char *s = "the quick brown fox jumps over the lazy dog";
    uint32_t a = qv_crc32c(0, s, strlen(s));
    uint32_t b = qv_crc32c(qv_crc32c(0, s, 13), s + 13, strlen(s) - 13);
    QCHECK_EQ(a, b);
}

QTEST(crc32c_hardware_equals_software) {
    /* Every length 0..300 at every alignment 0..15, chained and one-shot. */
    uint8_t buf[320];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    QCHECK_EQ(qv_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    uint32_t hw;
    bool have = qv_crc32c_hw(0, "123456789", 9, &hw);
    if (have) QCHECK_EQ(hw, 0xE3069283u);
    for (size_t al = 0; al < 16; al++)
        for (size_t n = 0; n + al <= 300; n++) {
            uint32_t sw = qv_crc32c_sw(7, buf + al, n), d = qv_crc32c(7, buf + al, n);
            QCHECK_EQ(d, sw);
            if (have) {
                QCHECK(qv_crc32c_hw(7, buf + al, n, &hw));
                QCHECK_EQ(hw, sw);
            }
        }
    /* Long buffers (the hardware path's three interleaved lanes and their
       joins), at odd lengths and offsets, one-shot and chained. */
    size_t big = 3 * 2048 * 5 + 77;
    uint8_t *lb = malloc(big + 16);
    QCHECK(lb);
    for (size_t i = 0; i < big + 16; i++) lb[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    const size_t lens[] = {6143, 6144, 6145, 6151, 12288, 12300, 20000, big};
    for (size_t al = 0; al < 16; al += 5)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            uint32_t sw = qv_crc32c_sw(7, lb + al, lens[i]);
            QCHECK_EQ(qv_crc32c(7, lb + al, lens[i]), sw);
            QCHECK_EQ(qv_crc32c(qv_crc32c(7, lb + al, 1000), lb + al + 1000, lens[i] - 1000), sw);
            if (have) {
                QCHECK(qv_crc32c_hw(7, lb + al, lens[i], &hw));
                QCHECK_EQ(hw, sw);
            }
        }
    free(lb);
    /* The run-time choice names what it picked. */
    QCHECK(strcmp(qv_crc32c_impl(), have ? "software" : "x") != 0);
    printf("crc32c implementation: %s\n", qv_crc32c_impl());
}

QTEST(buffer_alignment_and_refs) {
    qv_buffer *b = qv_buffer_new(100);
    QCHECK(((uintptr_t)b->data % 64) == 0);
    QCHECK_EQ(b->data[99], 0);
    qv_buffer *s = qv_buffer_slice(b, 10, 20);
    qv_buffer_unref(b); /* slice keeps parent alive */
    s->data[0] = 7;
    QCHECK_EQ(s->size, 20);
    qv_buffer_unref(s);
}

static int freed;
static void on_free(void *ctx) { freed = *(int *)ctx; }

QTEST(buffer_wrap_calls_release_once) {
    static int token = 42;
    freed = 0;
    qv_buffer *b = qv_buffer_wrap("abc", 3, on_free, &token);
    qv_buffer_ref(b);
    qv_buffer_unref(b);
    QCHECK_EQ(freed, 0);
    qv_buffer_unref(b);
    QCHECK_EQ(freed, 42);
}

QTEST(str_json_escape) {
    qv_str s;
    qv_str_init(&s);
    qv_str_append_json_string(&s, "a\"b\\c\n\x01", 7);
    QCHECK_STR(s.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    qv_str_appendf(&s, "%d", 12);
    char *d = qv_str_steal(&s);
    QCHECK(strstr(d, "12") != NULL);
    free(d);
}

QTEST(log_level_parse) {
    qv_log_level l;
    QCHECK_EQ(qv_log_level_parse("WARN", &l), 0);
    QCHECK_EQ(l, QV_LOG_WARN);
    QCHECK_EQ(qv_log_level_parse("loud", &l), -1);
}

QTEST(duration_parse) {
    int64_t ns = 0;
    QCHECK_EQ(qv_duration_parse("500ms", 0, &ns), 0);
    QCHECK_EQ(ns, 500000000LL);
    QCHECK_EQ(qv_duration_parse("2s", 0, &ns), 0);
    QCHECK_EQ(ns, 2000000000LL);
    QCHECK_EQ(qv_duration_parse("5m", 0, &ns), 0);
    QCHECK_EQ(ns, 300000000000LL);
    QCHECK_EQ(qv_duration_parse("12h", 0, &ns), 0);
    QCHECK_EQ(ns, 43200000000000LL);
    QCHECK_EQ(qv_duration_parse("1.5s", 0, &ns), 0);
    QCHECK_EQ(ns, 1500000000LL);
    QCHECK_EQ(qv_duration_parse("0", 1000000, &ns), 0);
    QCHECK_EQ(ns, 0);
    QCHECK_EQ(qv_duration_parse("20", 1000000, &ns), 0); /* bare: the flag's unit */
    QCHECK_EQ(ns, 20000000LL);
    QCHECK_EQ(qv_duration_parse("20", 0, &ns), -1);      /* unit required */
    QCHECK_EQ(qv_duration_parse("", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("-1s", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("5x", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("5 s", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("s", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("inf", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("nan", 1, &ns), -1);
    QCHECK_EQ(qv_duration_parse("99999999999h", 1, &ns), -1);
}

/* A float's text form: DuckDB's CAST(x AS VARCHAR) for each (checked with duckdb 1.x/2.x). */
QTEST(float_format_duckdb_form) {
    static const struct { double v; bool f32; const char *want; } cases[] = {
        {1.0 / 3, false, "0.3333333333333333"}, {0.1, false, "0.1"}, {0.1 + 0.2, false, "0.30000000000000004"},
        {100.0, false, "100.0"}, {0.0, false, "0.0"}, {-0.0, false, "-0.0"}, {1e15, false, "1000000000000000.0"},
        {1e16, false, "1e+16"}, {1.5e16, false, "1.5e+16"}, {123456789012345678.0, false, "1.2345678901234568e+17"},
        {1e20, false, "1e+20"}, {1e-4, false, "0.0001"}, {1.5e-4, false, "0.00015"}, {1e-5, false, "1e-05"},
        {1e-7, false, "1e-07"}, {1.5e300, false, "1.5e+300"}, {5e-324, false, "5e-324"},
        {1.7976931348623157e308, false, "1.7976931348623157e+308"}, {9007199254740992.0, false, "9007199254740992.0"},
        {(double)0.1f, true, "0.1"}, {(double)(1.0f / 3), true, "0.33333334"}, {(double)123456789.0f, true, "123456790.0"},
        {(double)3.3333333333e-5f, true, "3.3333334e-05"}, {(double)1e16f, true, "1e+16"},
    };
    char buf[QV_FLOAT_TEXT_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = qv_float_format(cases[i].v, cases[i].f32, buf);
        QCHECK_STR(buf, cases[i].want);
        QCHECK_EQ(n, strlen(cases[i].want));
    }
    qv_float_format(NAN, false, buf);
    QCHECK_STR(buf, "nan");
    qv_float_format(-INFINITY, true, buf);
    QCHECK_STR(buf, "-inf");
    uint64_t x = 88172645463325252ULL; /* every finite double reads back */
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        memcpy(&d, &x, 8);
        if (!isfinite(d)) continue;
        qv_float_format(d, false, buf);
        QCHECK(strtod(buf, NULL) == d);
    }
}
