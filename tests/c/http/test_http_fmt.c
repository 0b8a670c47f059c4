/* Unit tests of the HTTP API's pure pieces: value text, format names,
   FORMAT splitting, row writers, CSV/NDJSON readers, inference, conversion. */
#include "qtest.h"

#include <math.h>

#include "http_int.h"

static char buf[64];

QTEST(fmt_i64) {
    http_fmt_i64(INT64_MIN, buf);
    QCHECK_STR(buf, "-9223372036854775808");
    http_fmt_i64(INT64_MAX, buf);
    QCHECK_STR(buf, "9223372036854775807");
    http_fmt_i64(0, buf);
    QCHECK_STR(buf, "0");
}

QTEST(fmt_f64_shortest_roundtrip) {
    http_fmt_f64(0.1, buf);
    QCHECK_STR(buf, "0.1");
    http_fmt_f64(1.0 / 3.0, buf);
    QCHECK(strtod(buf, NULL) == 1.0 / 3.0);
    http_fmt_f64(0.1 + 0.2, buf);
    QCHECK_STR(buf, "0.30000000000000004");
    http_fmt_f64(NAN, buf);
    QCHECK_STR(buf, "nan");
    http_fmt_f64(-INFINITY, buf);
    QCHECK_STR(buf, "-inf");
    http_fmt_f64(1e300, buf);
    QCHECK_STR(buf, "1e+300");
    /* many random-ish doubles must round trip */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double d;
        memcpy(&d, &x, 8);
        if (!isfinite(d)) continue;
        http_fmt_f64(d, buf);
        QCHECK(strtod(buf, NULL) == d);
    }
    http_fmt_f32(0.1f, buf);
    QCHECK_STR(buf, "0.1");
}

QTEST(fmt_timestamp) {
    http_fmt_timestamp(0, buf);
    QCHECK_STR(buf, "1970-01-01T00:00:00.000000000Z");
    http_fmt_timestamp(-1, buf);
    QCHECK_STR(buf, "1969-12-31T23:59:59.999999999Z");
    http_fmt_timestamp(1709251199123456789LL, buf); /* 2024-02-29T23:59:59.123456789Z */
    QCHECK_STR(buf, "2024-02-29T23:59:59.123456789Z");
    int64_t ns;
    QCHECK_EQ(http_parse_timestamp(buf, strlen(buf), &ns), 0);
    QCHECK_EQ(ns, 1709251199123456789LL);
    QCHECK_EQ(http_parse_timestamp("2024-02-29 23:59", 16, &ns), 0);
    QCHECK_EQ(ns, 1709251140LL * 1000000000LL);
    QCHECK_EQ(http_parse_timestamp("2024-03-01T01:00:00+01:00", 25, &ns), 0);
    QCHECK_EQ(ns, 1709251200LL * 1000000000LL);
    QCHECK_EQ(http_parse_timestamp("2023-02-29", 10, &ns), -1);
    QCHECK_EQ(http_parse_timestamp("2023-01-01T", 11, &ns), -1);
    QCHECK_EQ(http_parse_timestamp("12", 2, &ns), -1);
    QCHECK_EQ(http_parse_timestamp("1900-01-01", 10, &ns), 0);
    http_fmt_timestamp(ns, buf);
    QCHECK_STR(buf, "1900-01-01T00:00:00.000000000Z");
    QCHECK_EQ(http_parse_timestamp("2300-01-01", 10, &ns), -1); /* out of int64 ns range */
}

QTEST(parse_numbers) {
    int64_t i;
    double d;
    bool b;
    QCHECK_EQ(http_parse_i64("-9223372036854775808", 20, &i), 0);
    QCHECK_EQ(i, INT64_MIN);
    QCHECK_EQ(http_parse_i64("9223372036854775808", 19, &i), -1);
    QCHECK_EQ(http_parse_i64("12a", 3, &i), -1);
    QCHECK_EQ(http_parse_i64("-", 1, &i), -1);
    QCHECK_EQ(http_parse_f64("1.5e3", 5, &d), 0);
    QCHECK(d == 1500);
    QCHECK_EQ(http_parse_f64("nan", 3, &d), 0);
    QCHECK(isnan(d));
    QCHECK_EQ(http_parse_f64("0x10", 4, &d), -1);
    QCHECK_EQ(http_parse_f64(" 1", 2, &d), -1);
    QCHECK_EQ(http_parse_bool("TRUE", 4, true, &b), 0);
    QCHECK(b);
    QCHECK_EQ(http_parse_bool("1", 1, true, &b), -1);
    QCHECK_EQ(http_parse_bool("0", 1, false, &b), 0);
    QCHECK(!b);
}

QTEST(format_names_and_split) {
    http_format f;
    QCHECK_EQ(http_format_parse("jsoneachrow", 11, &f), 0);
    QCHECK_EQ(f, HF_JSONEACHROW);
    QCHECK_EQ(http_format_parse("ArrowStream", 11, &f), 0);
    QCHECK_EQ(f, HF_ARROW);
    QCHECK_EQ(http_format_parse("XML", 3, &f), -1);
    const char *sql = "SELECT 1 FORMAT CSVWithNames ;\n";
    size_t len = strlen(sql), nl;
    const char *name;
    QCHECK_EQ(http_sql_split_format(sql, &len, &name, &nl), 1);
    QCHECK_EQ(nl, 12);
    QCHECK(strncmp(name, "CSVWithNames", nl) == 0);
    QCHECK_EQ(len, 9);
    const char *s2 = "SELECT 'x FORMAT JSON'";
    len = strlen(s2);
    QCHECK_EQ(http_sql_split_format(s2, &len, &name, &nl), 0);
    const char *s3 = "SELECT myformat JSON";
    len = strlen(s3);
    QCHECK_EQ(http_sql_split_format(s3, &len, &name, &nl), 0);
    const char *s4 = "FORMAT";
    len = strlen(s4);
    QCHECK_EQ(http_sql_split_format(s4, &len, &name, &nl), 0);
}

static void make_batch(qv_batch *b) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "i", QV_T_INT64, true);
    qv_schema_add(&s, "f", QV_T_FLOAT64, true);
    qv_schema_add(&s, "s\"q", QV_T_STRING, true);
    qv_schema_add(&s, "ts", QV_T_TIMESTAMP, true);
    qv_schema_add(&s, "b", QV_T_BOOL, true);
    qv_batch_init(b, &s);
    qv_schema_free(&s);
    qv_builder bl[5];
    qv_type ts[5] = {QV_T_INT64, QV_T_FLOAT64, QV_T_STRING, QV_T_TIMESTAMP, QV_T_BOOL};
    for (int i = 0; i < 5; i++) qv_builder_init(&bl[i], ts[i], 2);
    qv_builder_append_i64(&bl[0], 9007199254740993LL);
    qv_builder_append_f64(&bl[1], NAN);
    qv_builder_append_str(&bl[2], "a,\"b\"\n\tc", 8);
    qv_builder_append_i64(&bl[3], 1);
    qv_builder_append_bool(&bl[4], true);
    for (int i = 0; i < 5; i++) qv_builder_append_null(&bl[i]);
    for (int i = 0; i < 5; i++) {
        qv_array_free(&b->cols[i]);
        qv_builder_finish(&bl[i], &b->cols[i]);
        qv_builder_free(&bl[i]);
    }
    b->nrows = 2;
}

static const char *render(http_format f) {
    static qv_str out;
    qv_batch b;
    make_batch(&b);
    http_writer w;
    qv_str_free(&out);
    http_writer_init(&w, f, &b.schema);
    http_writer_begin(&w, &b.schema, &out);
    http_writer_rows(&w, &b, 0, 2, &out);
    http_stats st = {0.5, 2, 100};
    http_writer_end(&w, &st, &out);
    http_writer_free(&w);
    qv_batch_free(&b);
    return out.data;
}

QTEST(writer_formats) {
    QCHECK_STR(render(HF_JSONEACHROW),
               "{\"i\":9007199254740993,\"f\":\"nan\",\"s\\\"q\":\"a,\\\"b\\\"\\n\\tc\",\"ts\":\"1970-01-01T00:00:00.000000001Z\",\"b\":true}\n"
               "{\"i\":null,\"f\":null,\"s\\\"q\":null,\"ts\":null,\"b\":null}\n");
    QCHECK_STR(render(HF_CSVWITHNAMES),
               "i,f,\"s\"\"q\",ts,b\n9007199254740993,nan,\"a,\"\"b\"\"\n\tc\",1970-01-01T00:00:00.000000001Z,true\n,,,,\n");
    QCHECK_STR(render(HF_TSV), "9007199254740993\tnan\ta,\"b\"\\n\\tc\t1970-01-01T00:00:00.000000001Z\ttrue\n\t\t\t\t\n");
    QCHECK_STR(render(HF_JSONCOMPACT),
               "{\"meta\":[{\"name\":\"i\",\"type\":\"INT64\"},{\"name\":\"f\",\"type\":\"FLOAT64\"},{\"name\":\"s\\\"q\",\"type\":\"STRING\"},"
               "{\"name\":\"ts\",\"type\":\"TIMESTAMP\"},{\"name\":\"b\",\"type\":\"BOOL\"}],\"data\":["
               "[9007199254740993,\"nan\",\"a,\\\"b\\\"\\n\\tc\",\"1970-01-01T00:00:00.000000001Z\",true],[null,null,null,null,null]],"
               "\"rows\":2,\"statistics\":{\"elapsed_s\":0.5,\"rows_read\":2,\"bytes_read\":100}}\n");
}

/* DECIMAL prints its exact digits at its scale: a JSON number (unquoted, as
   INT64), the same text in CSV/TSV; the meta names DECIMAL(p,s). */
static const char *render_decimal(http_format f) {
    static qv_str out;
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "p", QV_T_DECIMAL, true);
    qv_schema_add(&s, "z", QV_T_DECIMAL, true);
    s.fields[0].precision = 10, s.fields[0].scale = 2;
    s.fields[1].precision = 18, s.fields[1].scale = 0;
    qv_batch b;
    qv_batch_init(&b, &s);
    qv_schema_free(&s);
    const int64_t pv[] = {125, -50, 5, 0}, zv[] = {-999999999999999999LL, 7, 0, 0};
    for (int c = 0; c < 2; c++) {
        qv_builder bl;
        qv_builder_init(&bl, QV_T_DECIMAL, 4);
        for (int i = 0; i < 4; i++) {
            if (i == 3) qv_builder_append_null(&bl);
            else qv_builder_append_i64(&bl, c ? zv[i] : pv[i]);
        }
        qv_array_free(&b.cols[c]);
        qv_builder_finish(&bl, &b.cols[c]);
        qv_builder_free(&bl);
    }
    b.nrows = 4;
    http_writer w;
    qv_str_free(&out);
    http_writer_init(&w, f, &b.schema);
    http_writer_begin(&w, &b.schema, &out);
    http_writer_rows(&w, &b, 0, 4, &out);
    http_stats st = {0.5, 4, 64};
    http_writer_end(&w, &st, &out);
    http_writer_free(&w);
    qv_batch_free(&b);
    return out.data;
}

QTEST(writer_decimal) {
    QCHECK_STR(render_decimal(HF_JSONCOMPACT),
               "{\"meta\":[{\"name\":\"p\",\"type\":\"DECIMAL(10,2)\"},{\"name\":\"z\",\"type\":\"DECIMAL(18,0)\"}],"
               "\"data\":[[1.25,-999999999999999999],[-0.50,7],[0.05,0],[null,null]],"
               "\"rows\":4,\"statistics\":{\"elapsed_s\":0.5,\"rows_read\":4,\"bytes_read\":64}}\n");
    QCHECK_STR(render_decimal(HF_JSONEACHROW), "{\"p\":1.25,\"z\":-999999999999999999}\n{\"p\":-0.50,\"z\":7}\n"
                                               "{\"p\":0.05,\"z\":0}\n{\"p\":null,\"z\":null}\n");
    QCHECK_STR(render_decimal(HF_CSVWITHNAMES), "p,z\n1.25,-999999999999999999\n-0.50,7\n0.05,0\n,\n");
    QCHECK_STR(render_decimal(HF_TSV), "1.25\t-999999999999999999\n-0.50\t7\n0.05\t0\n\t\n");
}

/* DECIMAL cells are read at the field's precision and scale, exactly. */
QTEST(cell_append_decimal) {
    qv_field f = {.name = "p", .type = QV_T_DECIMAL, .nullable = true, .precision = 5, .scale = 2};
    qv_builder b;
    qv_err err;
    qv_builder_init(&b, QV_T_DECIMAL, 8);
    const char *ok[] = {"1.25", " -0.125 ", "999.99", "1e2", "0.1"};
    const int64_t want[] = {125, -13, 99999, 10000, 10};
    for (int i = 0; i < 5; i++) {
        http_cell c = {.kind = HC_TEXT, .p = ok[i], .n = strlen(ok[i])};
        QCHECK_OK(http_cell_append_field(&b, &f, &c, i + 2, &err), &err);
    }
    http_cell num = {.kind = HC_NUM, .p = "-7.5", .n = 4}, empty = {.kind = HC_TEXT, .p = "", .n = 0},
              nul = {.kind = HC_NULL}, bad = {.kind = HC_TEXT, .p = "1.2.3", .n = 5},
              big = {.kind = HC_STR, .p = "1000", .n = 4}, yes = {.kind = HC_BOOL, .b = true};
    QCHECK_OK(http_cell_append_field(&b, &f, &num, 9, &err), &err);
    QCHECK_OK(http_cell_append_field(&b, &f, &empty, 9, &err), &err);
    QCHECK_OK(http_cell_append_field(&b, &f, &nul, 9, &err), &err);
    QCHECK_EQ(http_cell_append_field(&b, &f, &bad, 11, &err), QV_EINVAL);
    QCHECK_STR(err.msg, "line 11, column 'p': '1.2.3' is not a DECIMAL (DECIMAL(5,2))");
    QCHECK_EQ(http_cell_append_field(&b, &f, &big, 12, &err), QV_EINVAL);
    QCHECK_STR(err.msg, "line 12, column 'p': '1000' does not fit DECIMAL(5,2)");
    QCHECK_EQ(http_cell_append_field(&b, &f, &yes, 13, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "'true' is not a DECIMAL"));
    f.nullable = false;
    QCHECK_EQ(http_cell_append_field(&b, &f, &nul, 14, &err), QV_EINVAL);
    qv_array a;
    qv_builder_finish(&b, &a);
    qv_builder_free(&b);
    QCHECK_EQ(a.length, 8);
    for (int i = 0; i < 5; i++) QCHECK_EQ(qv_array_get_i64(&a, i), want[i]);
    QCHECK_EQ(qv_array_get_i64(&a, 5), -750);
    QCHECK(!qv_array_is_valid(&a, 6) && !qv_array_is_valid(&a, 7));
    qv_array_free(&a);
}

QTEST(csv_reader) {
    const char *body = "\xEF\xBB\xBF" "a,b,c\r\n1,\"x,\"\"y\"\"\nz\",\n\n2,,\"\"\n3,bad\"quote,";
    http_csv c;
    qv_err err;
    http_csv_init(&c, body, strlen(body));
    QCHECK_EQ(http_csv_next(&c, &err), 1);
    QCHECK_EQ(c.ncells, 3);
    QCHECK(c.cells[0].n == 1 && c.cells[0].p[0] == 'a');
    QCHECK_EQ(http_csv_next(&c, &err), 1);
    QCHECK_EQ(c.line, 2);
    QCHECK_EQ(c.ncells, 3);
    QCHECK(c.cells[1].n == 7 && memcmp(c.cells[1].p, "x,\"y\"\nz", 7) == 0);
    QCHECK_EQ(c.cells[2].kind, HC_NULL);
    QCHECK_EQ(http_csv_next(&c, &err), 1);
    QCHECK_EQ(c.line, 5);
    QCHECK_EQ(c.cells[1].kind, HC_NULL);
    QCHECK_EQ(c.cells[2].kind, HC_TEXT);
    QCHECK_EQ(c.cells[2].n, 0);
    QCHECK_EQ(http_csv_next(&c, &err), -1);
    QCHECK(strstr(err.msg, "line 6") != NULL);
    http_csv_free(&c);

    http_csv_init(&c, "a\n\"open", 7);
    QCHECK_EQ(http_csv_next(&c, &err), 1);
    QCHECK_EQ(http_csv_next(&c, &err), -1);
    QCHECK(strstr(err.msg, "unterminated") != NULL);
    http_csv_free(&c);
}

QTEST(ndjson_reader) {
    const char *body = "{\"a\": 1, \"b\": \"x\\u00e9\\ud83d\\ude00\", \"c\": null, \"d\": true}\n\n  {}\n{\"a\": -1.5e3}\n{\"a\": [1]}\n";
    http_ndjson j;
    qv_err err;
    http_ndjson_init(&j, body, strlen(body));
    QCHECK_EQ(http_ndjson_next(&j, &err), 1);
    QCHECK_EQ(j.nkeys, 4);
    QCHECK_STR(j.keys[0], "a");
    QCHECK_EQ(j.cells[0].kind, HC_NUM);
    QCHECK_EQ(j.cells[1].kind, HC_STR);
    QCHECK(j.cells[1].n == 7 && memcmp(j.cells[1].p, "x\303\251\360\237\230\200", 7) == 0);
    QCHECK_EQ(j.cells[2].kind, HC_NULL);
    QCHECK(j.cells[3].kind == HC_BOOL && j.cells[3].b);
    QCHECK_EQ(http_ndjson_next(&j, &err), 1);
    QCHECK_EQ(j.nkeys, 0);
    QCHECK_EQ(http_ndjson_next(&j, &err), 1);
    QCHECK(j.cells[0].n == 6);
    QCHECK_EQ(http_ndjson_next(&j, &err), -1);
    QCHECK(strstr(err.msg, "line 5") != NULL);
    http_ndjson_free(&j);

    const char *bad[] = {"{\"a\":1", "{\"a\" 1}", "[1]", "{\"a\":01}", "{\"a\":\"\\x\"}", "{\"a\":1} x",
                         "{\"a\":tru}", "{\"a\":\"\\ud800\"}", "{\"a\":1,}", "{\"a\":\"unterminated"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_ndjson_init(&j, bad[i], strlen(bad[i]));
        int rc = http_ndjson_next(&j, &err);
        http_ndjson_free(&j);
        if (rc != -1) fprintf(stderr, "  accepted: %s\n", bad[i]);
        QCHECK_EQ(rc, -1);
    }
}

static qv_type infer_csv(const char **vals, int n) {
    http_infer f;
    http_infer_init(&f);
    for (int i = 0; i < n; i++) {
        http_cell c = {.kind = vals[i] ? HC_TEXT : HC_NULL, .p = vals[i], .n = vals[i] ? strlen(vals[i]) : 0};
        http_infer_cell(&f, &c);
    }
    return http_infer_result(&f);
}

QTEST(inference) {
    const char *ints[] = {"1", NULL, "-3"}, *floats[] = {"1", "2.5", "nan"}, *bools[] = {"true", "FALSE"},
               *ts[] = {"2024-01-01", "2024-01-01T00:00:01.5Z"}, *strs[] = {"1", "x"};
    QCHECK_EQ(infer_csv(ints, 3), QV_T_INT64);
    QCHECK_EQ(infer_csv(floats, 3), QV_T_FLOAT64);
    QCHECK_EQ(infer_csv(bools, 2), QV_T_BOOL);
    QCHECK_EQ(infer_csv(ts, 2), QV_T_TIMESTAMP);
    QCHECK_EQ(infer_csv(strs, 2), QV_T_STRING);
    QCHECK_EQ(infer_csv(ints, 0), QV_T_STRING);
    http_infer f;
    http_infer_init(&f);
    http_cell n1 = {.kind = HC_NUM, .p = "1", .n = 1}, n2 = {.kind = HC_NUM, .p = "1.5", .n = 3},
              s = {.kind = HC_STR, .p = "x", .n = 1};
    http_infer_cell(&f, &n1);
    QCHECK_EQ(http_infer_result(&f), QV_T_INT64);
    http_infer_cell(&f, &n2);
    QCHECK_EQ(http_infer_result(&f), QV_T_FLOAT64);
    http_infer_cell(&f, &s);
    QCHECK_EQ(http_infer_result(&f), QV_T_STRING);
}

QTEST(cell_append) {
    qv_builder b;
    qv_err err;
    qv_builder_init(&b, QV_T_INT32, 4);
    http_cell ok = {.kind = HC_TEXT, .p = "42", .n = 2}, big = {.kind = HC_TEXT, .p = "3000000000", .n = 10},
              nul = {.kind = HC_NULL};
    QCHECK_OK(http_cell_append(&b, QV_T_INT32, true, &ok, 2, "x", &err), &err);
    QCHECK_EQ(http_cell_append(&b, QV_T_INT32, true, &big, 7, "x", &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "line 7, column 'x'") != NULL);
    QCHECK_EQ(http_cell_append(&b, QV_T_INT32, false, &nul, 3, "x", &err), QV_EINVAL);
    QCHECK_OK(http_cell_append(&b, QV_T_INT32, true, &nul, 3, "x", &err), &err);
    qv_array a;
    qv_builder_finish(&b, &a);
    qv_builder_free(&b);
    QCHECK_EQ(a.length, 2);
    QCHECK_EQ(qv_array_get_i32(&a, 0), 42);
    QCHECK(!qv_array_is_valid(&a, 1));
    qv_array_free(&a);

    qv_builder_init(&b, QV_T_TIMESTAMP, 4);
    http_cell t1 = {.kind = HC_STR, .p = "1970-01-01T00:00:01Z", .n = 20}, t2 = {.kind = HC_NUM, .p = "5", .n = 1},
              t3 = {.kind = HC_STR, .p = "yesterday", .n = 9};
    QCHECK_OK(http_cell_append(&b, QV_T_TIMESTAMP, true, &t1, 1, "ts", &err), &err);
    QCHECK_OK(http_cell_append(&b, QV_T_TIMESTAMP, true, &t2, 1, "ts", &err), &err);
    QCHECK_EQ(http_cell_append(&b, QV_T_TIMESTAMP, true, &t3, 9, "ts", &err), QV_EINVAL);
    qv_builder_finish(&b, &a);
    qv_builder_free(&b);
    QCHECK_EQ(qv_array_get_i64(&a, 0), 1000000000LL);
    QCHECK_EQ(qv_array_get_i64(&a, 1), 5);
    qv_array_free(&a);
}

/* Mutated inputs: the readers must end with a row count or an error, never
   read outside the body (run under ASan to mean something). */
QTEST(readers_survive_garbage) {
    static const char *seeds[] = {"a,b\n1,\"x\"\"y\"\n2,\n", "{\"a\":1,\"b\":\"\\u00e9\\ud83d\\ude00\",\"c\":[1]}\n{}\n",
                                  "2024-02-29T23:59:59.123456789+01:30", "\"\"\"\n,,\r\n\"a\nb\""};
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    qv_err err;
    for (int it = 0; it < 20000; it++) {
        const char *seed = seeds[it % 4];
        size_t n = strlen(seed);
        char *buf = malloc(n + 1);
        memcpy(buf, seed, n);
        for (int k = 0; k < 3; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % n] = (char)(x >> 24);
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = x % (n + 1); /* also truncated */
        char *exact = malloc(len ? len : 1); /* exact size so ASan sees any overread */
        memcpy(exact, buf, len);
        http_csv c;
        http_csv_init(&c, exact, len);
        int rows = 0, rc;
        while ((rc = http_csv_next(&c, &err)) == 1) rows++;
        QCHECK(rc == 0 || rc == -1);
        http_csv_free(&c);
        http_ndjson j;
        http_ndjson_init(&j, exact, len);
        while ((rc = http_ndjson_next(&j, &err)) == 1) rows++;
        QCHECK(rc == 0 || rc == -1);
        http_ndjson_free(&j);
        int64_t ns;
        http_parse_timestamp(exact, len, &ns);
        double d;
        http_parse_f64(exact, len, &d);
        free(exact);
        free(buf);
    }
}
