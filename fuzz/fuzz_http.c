/* libFuzzer: the HTTP API's text readers (CSV, NDJSON), type inference,
   value parsers and the trailing-FORMAT splitter on arbitrary bytes. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "http_int.h"

static void cells(const http_cell *c, int n, http_infer *inf) {
    for (int i = 0; i < n; i++) {
        http_infer_cell(inf, &c[i]);
        qv_builder b;
        qv_type t = http_infer_result(inf);
        if (t == QV_T_INVALID) t = QV_T_STRING;
        qv_builder_init(&b, t, 1);
        qv_err err;
        http_cell_append(&b, t, true, &c[i], 1, "c", &err);
        qv_builder_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data;
    qv_err err;
    http_infer inf;
    http_infer_init(&inf);
    http_csv c;
    http_csv_init(&c, p, size);
    for (int k = 0; k < 10000 && http_csv_next(&c, &err) == 1; k++) cells(c.cells, c.ncells, &inf);
    http_csv_free(&c);
    http_infer_init(&inf);
    http_ndjson j;
    http_ndjson_init(&j, p, size);
    for (int k = 0; k < 10000 && http_ndjson_next(&j, &err) == 1; k++) cells(j.cells, j.nkeys, &inf);
    http_ndjson_free(&j);
    int64_t i;
    double d;
    bool b;
    http_parse_i64(p, size, &i);
    http_parse_f64(p, size, &d);
    http_parse_bool(p, size, false, &b);
    http_parse_timestamp(p, size, &i);
    /* The splitter wants NUL-terminated SQL. */
    char *sql = qv_xstrndup(p, size);
    size_t len = size;
    const char *name;
    size_t nlen;
    http_sql_split_format(sql, &len, &name, &nlen);
    free(sql);
    return 0;
}
