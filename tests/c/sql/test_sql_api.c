/* The public APIs front ends code against: placeholders (sql_query_param_*,
   sql_query_bind) and scoped scans (sql_query_prepare_scoped,
   sql_query_is_scan), over a real in-memory database. */
#include "qtest.h"
#include "sql/sql.h"

/* t(ts TIMESTAMP, k INT64, v DOUBLE, s STRING): rows 0..n-1, k = i, v = i % 10, s = 's<i%3>' */
static st_db *make_db(int64_t nrows, int64_t rg_rows) {
    st_options o = {.in_memory = true, .rowgroup_rows = rg_rows};
    st_db *db;
    qv_err err = {0};
    if (st_db_open(&o, &db, &err)) return NULL;
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "ts", QV_T_TIMESTAMP, false);
    qv_schema_add(&s, "k", QV_T_INT64, true);
    qv_schema_add(&s, "v", QV_T_FLOAT64, true);
    qv_schema_add(&s, "s", QV_T_STRING, true);
    snprintf(s.fields[0].tz, sizeof s.fields[0].tz, "UTC");
    if (st_table_create(db, "t", &s, &err)) return NULL;
    st_table *t;
    st_table_open(db, "t", &t, &err);
    st_append *ap;
    st_append_begin(t, &ap, &err);
    qv_batch b;
    qv_batch_init(&b, &s);
    qv_builder bb[4];
    for (int c = 0; c < 4; c++) qv_builder_init(&bb[c], s.fields[c].type, nrows);
    for (int64_t i = 0; i < nrows; i++) {
        char str[8];
        snprintf(str, sizeof str, "s%d", (int)(i % 3));
        qv_builder_append_i64(&bb[0], i * 1000000000LL);
        qv_builder_append_i64(&bb[1], i);
        qv_builder_append_f64(&bb[2], (double)(i % 10));
        qv_builder_append_str(&bb[3], str, 2);
    }
    for (int c = 0; c < 4; c++) {
        qv_array_free(&b.cols[c]);
        qv_builder_finish(&bb[c], &b.cols[c]);
        qv_builder_free(&bb[c]);
    }
    b.nrows = nrows;
    if (st_append_batch(ap, &b, &err)) return NULL;
    qv_batch_free(&b);
    int64_t rows;
    if (st_append_commit(ap, &rows, &err)) return NULL;
    st_table_release(t);
    qv_schema_free(&s);
    return db;
}

/* Runs q to the end: rows, and the sum of column 0 when it is INT64 (else 0). */
static int drain(sql_query *q, int64_t *rows, int64_t *sum0, qv_err *err) {
    *rows = 0;
    *sum0 = 0;
    for (;;) {
        qv_batch b;
        bool eos;
        int rc = sql_query_next(q, &b, &eos, err);
        if (rc) return rc;
        if (eos) return 0;
        *rows += b.nrows;
        if (b.schema.nfields && b.cols[0].type == QV_T_INT64)
            for (int64_t i = 0; i < b.nrows; i++) *sum0 += qv_array_get_i64(&b.cols[0], i);
        qv_batch_free(&b);
    }
}

/* A one-row parameter batch from (type, text) pairs; text NULL = null. */
static void param_batch(qv_batch *b, int n, const qv_type *types, const char **vals) {
    qv_schema s;
    qv_schema_init(&s);
    for (int i = 0; i < n; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "p%d", i);
        qv_schema_add(&s, nm, types[i], true);
    }
    qv_batch_init(b, &s);
    for (int i = 0; i < n; i++) {
        qv_builder bl;
        qv_builder_init(&bl, types[i], 1);
        if (!vals[i]) qv_builder_append_null(&bl);
        else if (types[i] == QV_T_INT64 || types[i] == QV_T_TIMESTAMP) qv_builder_append_i64(&bl, atoll(vals[i]));
        else if (types[i] == QV_T_INT32) qv_builder_append_i32(&bl, atoi(vals[i]));
        else if (types[i] == QV_T_FLOAT64) qv_builder_append_f64(&bl, atof(vals[i]));
        else qv_builder_append_str(&bl, vals[i], (int32_t)strlen(vals[i]));
        qv_array_free(&b->cols[i]);
        qv_builder_finish(&bl, &b->cols[i]);
        qv_builder_free(&bl);
    }
    b->nrows = 1;
    qv_schema_free(&s);
}

static int prep(sql_ctx *c, const char *sql, sql_query **q, qv_err *err) {
    return sql_query_prepare(c, sql, strlen(sql), q, err);
}

QTEST(params_types_inferred) {
    st_db *db = make_db(100, 16);
    sql_ctx *c;
    qv_err err = {0};
    QCHECK_OK(sql_ctx_new(db, 2, 0, &c, &err), &err);
    sql_query *q;
    /* mixing ? and $N is an error */
    QCHECK(prep(c, "SELECT k FROM t WHERE k >= ? AND v < $2", &q, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "mixed"));
    QCHECK_OK(prep(c, "SELECT k FROM t WHERE k >= ? AND v < ? AND s = ? AND ts > ? AND ? IS NULL", &q, &err), &err);
    QCHECK_EQ(sql_query_param_count(q), 5);
    const qv_schema *ps = sql_query_param_schema(q);
    QCHECK_EQ(ps->nfields, 5);
    QCHECK_STR(ps->fields[0].name, "$1");
    QCHECK_STR(ps->fields[4].name, "$5");
    QCHECK_EQ(ps->fields[0].type, QV_T_INT64);
    QCHECK_EQ(ps->fields[1].type, QV_T_FLOAT64);
    QCHECK_EQ(ps->fields[2].type, QV_T_STRING);
    QCHECK_EQ(ps->fields[3].type, QV_T_TIMESTAMP);
    QCHECK_EQ(ps->fields[4].type, QV_T_STRING);
    QCHECK(ps->fields[0].nullable);
    sql_query_free(q);
    QCHECK_OK(prep(c, "SELECT CAST($1 AS INT) + 1, $2 * 2.5, $3", &q, &err), &err);
    ps = sql_query_param_schema(q);
    QCHECK_EQ(ps->fields[0].type, QV_T_INT32);
    QCHECK_EQ(ps->fields[1].type, QV_T_FLOAT64);
    QCHECK_EQ(ps->fields[2].type, QV_T_STRING);
    QCHECK_EQ(sql_query_schema(q)->fields[2].type, QV_T_STRING);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(params_bind_select) {
    st_db *db = make_db(100, 16);
    sql_ctx *c;
    qv_err err = {0};
    QCHECK_OK(sql_ctx_new(db, 2, 0, &c, &err), &err);
    sql_query *q;
    int64_t rows, sum;
    QCHECK_OK(prep(c, "SELECT k FROM t WHERE k >= $1 AND k < $2 AND s <> $3", &q, &err), &err);
    /* unbound: next fails naming the parameter */
    qv_batch out;
    bool eos;
    QCHECK(sql_query_next(q, &out, &eos, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "$1"));
    sql_query_free(q);
    QCHECK_OK(prep(c, "SELECT k FROM t WHERE k >= $1 AND k < $2 AND s <> $3", &q, &err), &err);
    /* strings cast to the inferred types like implicit casts */
    qv_batch pb;
    param_batch(&pb, 3, (qv_type[]){QV_T_STRING, QV_T_INT32, QV_T_STRING}, (const char *[]){"10", "20", "s0"});
    QCHECK_OK(sql_query_bind(q, &pb, 0, &err), &err);
    qv_batch_free(&pb);
    QCHECK_OK(drain(q, &rows, &sum, &err), &err);
    /* 10..19 without multiples of 3 (12, 15, 18) */
    QCHECK_EQ(rows, 7);
    QCHECK_EQ(sum, 10 + 11 + 13 + 14 + 16 + 17 + 19);
    /* binding after next() is refused */
    param_batch(&pb, 3, (qv_type[]){QV_T_INT64, QV_T_INT64, QV_T_STRING}, (const char *[]){"1", "2", "x"});
    QCHECK(sql_query_bind(q, &pb, 0, &err) == QV_EINVAL);
    qv_batch_free(&pb);
    sql_query_free(q);
    /* wrong column count and uncastable values name the parameter */
    QCHECK_OK(prep(c, "SELECT k FROM t WHERE k = ? AND ts > ?", &q, &err), &err);
    param_batch(&pb, 1, (qv_type[]){QV_T_INT64}, (const char *[]){"1"});
    QCHECK(sql_query_bind(q, &pb, 0, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "$2"));
    qv_batch_free(&pb);
    param_batch(&pb, 2, (qv_type[]){QV_T_STRING, QV_T_INT64}, (const char *[]){"abc", "1"});
    QCHECK(sql_query_bind(q, &pb, 0, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "$1"));
    qv_batch_free(&pb);
    param_batch(&pb, 2, (qv_type[]){QV_T_INT64, QV_T_FLOAT64}, (const char *[]){"1", "2"});
    QCHECK(sql_query_bind(q, &pb, 0, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "$2"));
    qv_batch_free(&pb);
    /* a NULL parameter: comparisons are NULL, no rows */
    param_batch(&pb, 2, (qv_type[]){QV_T_INT64, QV_T_TIMESTAMP}, (const char *[]){NULL, "0"});
    QCHECK_OK(sql_query_bind(q, &pb, 0, &err), &err);
    qv_batch_free(&pb);
    QCHECK_OK(drain(q, &rows, &sum, &err), &err);
    QCHECK_EQ(rows, 0);
    sql_query_free(q);
    /* the same parameter twice, and in an aggregate query */
    QCHECK_OK(prep(c, "SELECT count(*) FROM t WHERE k > $1 AND k < $1 + 5", &q, &err), &err);
    param_batch(&pb, 1, (qv_type[]){QV_T_INT64}, (const char *[]){"50"});
    QCHECK_OK(sql_query_bind(q, &pb, 0, &err), &err);
    qv_batch_free(&pb);
    QCHECK_OK(drain(q, &rows, &sum, &err), &err);
    QCHECK_EQ(sum, 4);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(params_insert_values) {
    st_db *db = make_db(10, 4);
    sql_ctx *c;
    qv_err err = {0};
    QCHECK_OK(sql_ctx_new(db, 1, 0, &c, &err), &err);
    sql_query *q;
    int64_t rows, sum;
    QCHECK_OK(prep(c, "INSERT INTO t (ts, k, s) VALUES (?, ?, ?)", &q, &err), &err);
    const qv_schema *ps = sql_query_param_schema(q);
    QCHECK_EQ(ps->nfields, 3);
    QCHECK_EQ(ps->fields[0].type, QV_T_TIMESTAMP);
    QCHECK_EQ(ps->fields[1].type, QV_T_INT64);
    QCHECK_EQ(ps->fields[2].type, QV_T_STRING);
    qv_batch pb;
    param_batch(&pb, 3, (qv_type[]){QV_T_TIMESTAMP, QV_T_INT32, QV_T_STRING}, (const char *[]){"5", "1000", "new"});
    QCHECK_OK(sql_query_bind(q, &pb, 0, &err), &err);
    qv_batch_free(&pb);
    QCHECK_OK(drain(q, &rows, &sum, &err), &err);
    QCHECK_EQ(sum, 1);
    sql_query_free(q);
    QCHECK_OK(prep(c, "SELECT k FROM t WHERE s = 'new'", &q, &err), &err);
    QCHECK_OK(drain(q, &rows, &sum, &err), &err);
    QCHECK_EQ(rows, 1);
    QCHECK_EQ(sum, 1000);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

static int64_t scoped_sum(sql_ctx *c, const char *sql, const char *table, int64_t from, int64_t to, int64_t *rows,
                          qv_err *err) {
    sql_query *q;
    sql_scope sc = {table, from, to};
    int64_t sum = -1;
    if (sql_query_prepare_scoped(c, sql, strlen(sql), &sc, &q, err)) return -1;
    if (drain(q, rows, &sum, err)) sum = -1;
    sql_query_free(q);
    return sum;
}

QTEST(scoped_scans) {
    st_db *db = make_db(100, 16); /* row groups of 16: [0,16) [16,32) ... [96,100) */
    qv_err err = {0};
    for (int threads = 1; threads <= 2; threads++) {
        sql_ctx *c;
        QCHECK_OK(sql_ctx_new(db, threads, 0, &c, &err), &err);
        int64_t rows;
        /* zero-copy projection: partial first and last row groups sliced */
        QCHECK_EQ(scoped_sum(c, "SELECT k FROM t", "t", 10, 40, &rows, &err), (10 + 39) * 30 / 2);
        QCHECK_EQ(rows, 30);
        /* filtered (parallel streaming) scan */
        QCHECK_EQ(scoped_sum(c, "SELECT k FROM t WHERE v < 5", "T", 10, 40, &rows, &err), 10 + 11 + 12 + 13 + 14 + 20 + 21 + 22 + 23 + 24 + 30 + 31 + 32 + 33 + 34);
        QCHECK_EQ(rows, 15);
        /* aggregates over the scope */
        QCHECK_EQ(scoped_sum(c, "SELECT sum(k) FROM t", "t", 16, 32, &rows, &err), (16 + 31) * 16 / 2);
        QCHECK_EQ(scoped_sum(c, "SELECT count(*) FROM t", "t", 90, 1000, &rows, &err), 10);
        QCHECK_EQ(scoped_sum(c, "SELECT count(*) FROM t", "t", 200, 300, &rows, &err), 0);
        /* another table's scope leaves t whole */
        QCHECK_EQ(scoped_sum(c, "SELECT count(*) FROM t", "other", 0, 1, &rows, &err), 100);
        /* ORDER BY / LIMIT within the scope */
        QCHECK_EQ(scoped_sum(c, "SELECT k FROM t ORDER BY k DESC LIMIT 2", "t", 0, 50, &rows, &err), 49 + 48);
        sql_ctx_free(c);
    }
    st_db_close(db);
}

QTEST(is_scan) {
    st_db *db = make_db(10, 4);
    sql_ctx *c;
    qv_err err = {0};
    QCHECK_OK(sql_ctx_new(db, 1, 0, &c, &err), &err);
    struct { const char *sql; bool scan; } cases[] = {
        {"SELECT * FROM t", true},
        {"SELECT k, v * 2 FROM t WHERE s = 'a'", true},
        {"SELECT k FROM t WHERE k > ?", true},
        {"SELECT count(*) FROM t", false},
        {"SELECT k FROM t ORDER BY k", false},
        {"SELECT k FROM t LIMIT 3", false},
        {"SELECT DISTINCT k FROM t", false},
        {"SELECT s, sum(k) FROM t GROUP BY s", false},
        {"SELECT k FROM (SELECT k FROM t)", false},
        {"SELECT 1", false},
        {"SHOW TABLES", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sql_query *q;
        QCHECK_OK(prep(c, cases[i].sql, &q, &err), &err);
        const char *tab = NULL;
        bool ordered = true;
        bool r = sql_query_is_scan(q, &tab, &ordered);
        if (r != cases[i].scan) fprintf(stderr, "  is_scan(%s) = %d\n", cases[i].sql, r);
        QCHECK(r == cases[i].scan);
        if (r) {
            QCHECK_STR(tab, "t");
            QCHECK(!ordered);
        }
        sql_query_free(q);
    }
    sql_ctx_free(c);
    st_db_close(db);
}

/* Row groups wholly inside a range skip the filter: counts and sums stay exact at every boundary. */
QTEST(range_filter_covered) {
    st_db *db = make_db(100, 16);
    qv_err err = {0};
    sql_ctx *c;
    QCHECK_OK(sql_ctx_new(db, 2, 0, &c, &err), &err);
    for (int lo = 0; lo <= 100; lo += 7)
        for (int hi = lo; hi <= 104; hi += 13) {
            char sql[200];
            snprintf(sql, sizeof sql,
                     "SELECT sum(k), count(*) FROM t WHERE ts >= TIMESTAMP '1970-01-01 00:%02d:%02d' AND k < %d", lo / 60,
                     lo % 60, hi);
            sql_query *q;
            int64_t rows, sum;
            QCHECK_OK(prep(c, sql, &q, &err), &err);
            QCHECK_OK(drain(q, &rows, &sum, &err), &err);
            int top = hi > 100 ? 100 : hi;
            int64_t want = 0;
            for (int i = lo; i < top; i++) want += i;
            if (sum != want) fprintf(stderr, "  %s: %lld != %lld\n", sql, (long long)sum, (long long)want);
            QCHECK_EQ(sum, want);
            sql_query_free(q);
        }
    sql_ctx_free(c);
    st_db_close(db);
}
