/* libFuzzer target for joins. The input picks two small tables (keys from a
   tiny domain with NULLs and duplicates, so matches are dense), a join type,
   an extra condition and the row-group size. The join runs twice: once with
   the equality as a hash key, once with the same condition written so it
   cannot be a key (NOT (a.k <> b.k): a nested loop through the residual
   filter). Both must agree on count and on sums of both sides' columns; any
   crash, sanitizer report or disagreement is a finding. The remaining bytes
   also run as SQL text against the same tables. */
#include "sql/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run(sql_ctx *c, const char *text, int64_t out[3]) {
    sql_query *q;
    qv_err err = {0};
    if (sql_query_prepare(c, text, strlen(text), &q, &err)) return -1;
    int rc = 0;
    out[0] = out[1] = out[2] = 0;
    for (int i = 0; i < 256; i++) {
        qv_batch b;
        bool eos;
        if ((rc = sql_query_next(q, &b, &eos, &err)) || eos) break;
        for (int64_t r = 0; r < b.nrows && b.schema.nfields == 3; r++)
            for (int col = 0; col < 3; col++)
                if (qv_array_is_valid(&b.cols[col], r)) out[col] += qv_array_get_i64(&b.cols[col], r);
        qv_batch_free(&b);
    }
    sql_query_free(q);
    return rc;
}

static void fill(sql_ctx *c, const char *name, const uint8_t **d, size_t *n, int rows) {
    char sql[8192];
    int len = snprintf(sql, sizeof sql, "CREATE TABLE %s (k BIGINT, v BIGINT, s VARCHAR)", name);
    int64_t o[3];
    run(c, sql, o);
    if (!rows) return;
    len = snprintf(sql, sizeof sql, "INSERT INTO %s VALUES ", name);
    for (int i = 0; i < rows; i++) {
        uint8_t x = *n ? **d : (uint8_t)i;
        if (*n) { (*d)++; (*n)--; }
        int k = x % 7;
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s(%s, %d, '%c')", i ? ", " : "",
                        k == 6 ? "NULL" : (char[2]){(char)('0' + k), 0}, i, 'a' + (x >> 5));
    }
    run(c, sql, o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    st_options o = {.in_memory = true, .rowgroup_rows = 1 + data[0] % 5};
    int jt = data[1] % 5, extra = data[2] % 4, na = data[3] % 24, nb = (data[3] >> 3) % 24;
    data += 4;
    size -= 4;
    st_db *db;
    qv_err err = {0};
    if (st_db_open(&o, &db, &err)) return 0;
    sql_ctx *c;
    sql_ctx_new(db, 1 + (int)(size & 1), 1 << 24, &c, &err);
    fill(c, "a", &data, &size, na);
    fill(c, "b", &data, &size, nb);
    static const char *jts[] = {"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "JOIN"};
    static const char *ex[] = {"", " AND a.v < b.v", " AND a.s = b.s", " AND b.v > 3"};
    char q1[512], q2[512];
    snprintf(q1, sizeof q1, "SELECT count(*), sum(a.v), sum(b.v) FROM a %s b ON a.k = b.k%s", jts[jt], ex[extra]);
    snprintf(q2, sizeof q2, "SELECT count(*), sum(a.v), sum(b.v) FROM a %s b ON NOT (a.k <> b.k)%s", jts[jt], ex[extra]);
    int64_t r1[3], r2[3];
    int rc1 = run(c, q1, r1), rc2 = run(c, q2, r2);
    if (rc1 || rc2 || memcmp(r1, r2, sizeof r1)) {
        fprintf(stderr, "join disagreement: %s -> %d %lld %lld %lld / %s -> %d %lld %lld %lld\n", q1, rc1,
                (long long)r1[0], (long long)r1[1], (long long)r1[2], q2, rc2, (long long)r2[0], (long long)r2[1],
                (long long)r2[2]);
        abort();
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    int64_t r3[3];
    run(c, text, r3);
    free(text);
    sql_ctx_free(c);
    st_db_close(db);
    return 0;
}
