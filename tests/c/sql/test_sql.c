/* Unit tests for the SQL module's lexer, parser, binder and evaluator. */
#include "qtest.h"
#include "sql_int.h"

#include <pthread.h>

QTEST(lexer_basic) {
    arena ar;
    arena_init(&ar);
    token *t;
    int n;
    qv_err err = {0};
    const char *s = "SELECT a, \"Q\"\"x\" FROM t -- c\n WHERE x >= 1.5e3 /* c */ AND s = 'it''s';";
    QCHECK_OK(lex_all(&ar, s, strlen(s), &t, &n, &err), &err);
    QCHECK(tok_is_kw(&t[0], "select"));
    QCHECK_EQ(t[3].kind, TK_QIDENT);
    QCHECK_STR(t[3].text, "Q\"x");
    QCHECK_EQ(t[6].line, 2);
    QCHECK(tok_is_op(&t[8], ">="));
    QCHECK_EQ(t[9].kind, TK_FLOAT);
    QCHECK_STR(t[13].text, "it's");
    QCHECK_EQ(t[n - 1].kind, TK_EOF);
    free(t);
    QCHECK(lex_all(&ar, "SELECT 'abc", 11, &t, &n, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "line 1, column 8") != NULL);
    arena_free(&ar);
}

static int parse(const char *s, stmt **st, qv_err *err, arena *ar) { return parse_stmt(ar, s, strlen(s), st, err); }

QTEST(parser_select) {
    arena ar;
    arena_init(&ar);
    stmt *st;
    qv_err err = {0};
    QCHECK_OK(parse("select distinct a + 1 as x, count(*) from t as z where a between 1 and 3 group by 1 "
                    "having count(*) > 1 order by x desc nulls first limit 5 offset 2;", &st, &err, &ar), &err);
    QCHECK_EQ(st->kind, S_SELECT);
    select_stmt *s = st->sel;
    QCHECK(s->distinct);
    QCHECK_EQ(s->nitems, 2);
    QCHECK_STR(s->items[0].alias, "x");
    QCHECK_EQ(s->items[0].e->kind, A_BINARY);
    QCHECK(s->items[1].e->star);
    QCHECK_STR(s->table, "t");
    QCHECK_STR(s->alias, "z");
    QCHECK_EQ(s->where->kind, A_BETWEEN);
    QCHECK_EQ(s->ngroup, 1);
    QCHECK(s->having != NULL);
    QCHECK(s->order[0].desc);
    QCHECK_EQ(s->order[0].nulls_first, 1);
    QCHECK_EQ(s->limit, 5);
    QCHECK_EQ(s->offset, 2);
    stmt_free(st);
    arena_free(&ar);
}

QTEST(parser_precedence) {
    arena ar;
    arena_init(&ar);
    stmt *st;
    qv_err err = {0};
    QCHECK_OK(parse("SELECT 1 + 2 * 3 = 7 OR NOT false AND x IS NOT NULL", &st, &err, &ar), &err);
    ast *e = st->sel->items[0].e;
    QCHECK_EQ(e->op, OP_OR);
    QCHECK_EQ(e->args[0]->op, OP_EQ);
    QCHECK_EQ(e->args[0]->args[0]->op, OP_ADD);
    QCHECK_EQ(e->args[0]->args[0]->args[1]->op, OP_MUL);
    QCHECK_EQ(e->args[1]->op, OP_AND);
    QCHECK_EQ(e->args[1]->args[0]->op, OP_NOT);
    QCHECK_EQ(e->args[1]->args[1]->kind, A_ISNULL);
    arena_free(&ar);
}

QTEST(parser_errors) {
    arena ar;
    arena_init(&ar);
    stmt *st;
    qv_err err = {0};
    QCHECK(parse("SELECT FROM t", &st, &err, &ar) == QV_EINVAL);
    QCHECK(strstr(err.msg, "line 1, column 8") && strstr(err.msg, "'FROM'"));
    QCHECK(parse("SELECT a\nFROM t WHERE", &st, &err, &ar) == QV_EINVAL);
    QCHECK(strstr(err.msg, "line 2") && strstr(err.msg, "end of input"));
    QCHECK(parse("SELECT 1 2", &st, &err, &ar) == QV_EINVAL);
    QCHECK(strstr(err.msg, "'2'"));
    QCHECK(parse("SELECT TIMESTAMP '2024-13-01'", &st, &err, &ar) == QV_EINVAL);
    QCHECK(strstr(err.msg, "TIMESTAMP"));
    QCHECK(parse("SELECT 1; SELECT 2", &st, &err, &ar) == QV_EINVAL);
    QCHECK(parse("CREATE TABLE t (a FOO)", &st, &err, &ar) == QV_EINVAL);
    QCHECK(strstr(err.msg, "FOO"));
    /* deep nesting is refused, not a stack overflow */
    char deep[5000];
    int k = 0;
    k += sprintf(deep, "SELECT ");
    for (int i = 0; i < 2000; i++) deep[k++] = '(';
    deep[k] = 0;
    QCHECK(parse(deep, &st, &err, &ar) == QV_EINVAL);
    /* so are long left-deep chains, which the parser builds in a loop */
    k = sprintf(deep, "SELECT 1");
    for (int i = 0; i < 1000; i++) k += sprintf(deep + k, "+1");
    QCHECK(parse(deep, &st, &err, &ar) == QV_EINVAL);
    QCHECK(strstr(err.msg, "nested too deeply") != NULL);
    k = sprintf(deep, "SELECT 1");
    for (int i = 0; i < 500; i++) k += sprintf(deep + k, "::INT");
    QCHECK(parse(deep, &st, &err, &ar) == QV_EINVAL);
    arena_free(&ar);
}

QTEST(parser_ddl_dml) {
    arena ar;
    arena_init(&ar);
    stmt *st;
    qv_err err = {0};
    QCHECK_OK(parse("create table if not exists t (ts timestamp not null, sym symbol, px double, n int)", &st, &err, &ar), &err);
    QCHECK_EQ(st->kind, S_CREATE);
    QCHECK(st->if_flag);
    QCHECK_EQ(st->schema.nfields, 4);
    QCHECK_EQ(st->schema.fields[0].type, QV_T_TIMESTAMP);
    QCHECK(!st->schema.fields[0].nullable);
    QCHECK_EQ(st->schema.fields[3].type, QV_T_INT32);
    stmt_free(st);
    QCHECK_OK(parse("insert into t (a, b) values (1, 'x'), (2, NULL)", &st, &err, &ar), &err);
    QCHECK_EQ(st->nrows, 2);
    QCHECK_EQ(st->ncols, 2);
    QCHECK(parse("insert into t values (1), (1, 2)", &st, &err, &ar) == QV_EINVAL);
    QCHECK_OK(parse("drop table if exists t", &st, &err, &ar), &err);
    QCHECK(st->if_flag);
    QCHECK_OK(parse("EXPLAIN SELECT 1", &st, &err, &ar), &err);
    QCHECK_EQ(st->kind, S_EXPLAIN);
    arena_free(&ar);
}

QTEST(time_parse_format) {
    int64_t ns;
    QCHECK_EQ(ts_parse("1970-01-01 00:00:00", 19, &ns), 0);
    QCHECK_EQ(ns, 0);
    QCHECK_EQ(ts_parse("2024-03-24 09:30:00.123456789", 29, &ns), 0);
    char buf[64];
    ts_format(ns, buf, sizeof buf);
    QCHECK_STR(buf, "2024-03-24 09:30:00.123456789");
    QCHECK_EQ(ts_parse("1969-12-31T23:59:59.5", 21, &ns), 0);
    QCHECK_EQ(ns, -500000000LL);
    ts_format(ns, buf, sizeof buf);
    QCHECK_STR(buf, "1969-12-31 23:59:59.5"); /* DuckDB drops trailing zeros */
    QCHECK(ts_parse("2023-02-29", 10, &ns) != 0);
    QCHECK_EQ(ts_parse("2024-02-29", 10, &ns), 0);
    QCHECK_EQ(qv_interval_parse("5 minutes", 9, &ns), 0);
    QCHECK_EQ(ns, 300000000000LL);
    QCHECK_EQ(qv_interval_parse("1 day 2 hours", 13, &ns), 0);
    QCHECK_EQ(ns, 93600000000000LL);
    QCHECK(qv_interval_parse("5 parsecs", 9, &ns) != 0);
    QCHECK_EQ(ts_parse("2024-03-24 09:30:00", 19, &ns), 0);
    QCHECK_EQ(ts_extract(ns, TF_YEAR), 2024);
    QCHECK_EQ(ts_extract(ns, TF_MONTH), 3);
    QCHECK_EQ(ts_extract(ns, TF_DOW), 0); /* a Sunday */
    QCHECK_EQ(ts_extract(ns, TF_DOY), 84);
    int64_t t;
    QCHECK(ts_trunc(ns, TF_MONTH, &t));
    ts_format(t, buf, sizeof buf);
    QCHECK_STR(buf, "2024-03-01 00:00:00");
    QCHECK(ts_trunc(ns, TF_WEEK, &t));
    ts_format(t, buf, sizeof buf);
    QCHECK_STR(buf, "2024-03-18 00:00:00");
    QCHECK(!ts_trunc(INT64_MIN, TF_HOUR, &t)); /* before the smallest timestamp */
    QCHECK(ts_trunc(INT64_MIN, TF_NANOSECOND, &t) && t == INT64_MIN);
}

/* Evaluate a constant SELECT expression through the whole pipeline. */
static int eval1(const char *sql, char *out, size_t cap, qv_err *err) {
    sql_ctx *c;
    sql_ctx_new(NULL, 1, 0, &c, err);
    sql_query *q;
    int rc = sql_query_prepare(c, sql, strlen(sql), &q, err);
    if (rc) { sql_ctx_free(c); return rc; }
    qv_batch b;
    bool eos;
    rc = sql_query_next(q, &b, &eos, err);
    if (!rc) {
        qv_str s;
        qv_str_init(&s);
        for (int i = 0; i < b.schema.nfields; i++) {
            if (i) qv_str_appendc(&s, '|');
            sql_format_value(&b.schema.fields[i], &b.cols[i], 0, &s);
        }
        snprintf(out, cap, "%.*s", (int)s.len, s.data ? s.data : "");
        qv_str_free(&s);
        qv_batch_free(&b);
    }
    sql_query_free(q);
    sql_ctx_free(c);
    return rc;
}

#define EVAL(sql, want)                                        \
    do {                                                       \
        char got_[256];                                        \
        qv_err e_ = {0};                                       \
        QCHECK_OK(eval1(sql, got_, sizeof got_, &e_), &e_);    \
        QCHECK_STR(got_, want);                                \
    } while (0)

#define EVAL_ERR(sql, code, sub)                                              \
    do {                                                                      \
        char got_[256];                                                       \
        qv_err e_ = {0};                                                      \
        QCHECK_EQ(eval1(sql, got_, sizeof got_, &e_), code);                  \
        if (!strstr(e_.msg, sub)) fprintf(stderr, "  message: %s\n", e_.msg); \
        QCHECK(strstr(e_.msg, sub) != NULL);                                  \
    } while (0)

QTEST(eval_arith) {
    EVAL("SELECT 1 + 2 * 3, 7 / 2, 7 // 2, -7 // 2, 7 % 3, -7 % 3", "7|3.5|3|-3|1|-1");
    EVAL("SELECT 1.5 + 1, 2 * 0.25, -(3)", "2.5|0.5|-3");
    EVAL_ERR("SELECT 2147483647 + 1", QV_EINVAL, "overflow");
    EVAL("SELECT 2147483647 + 1::BIGINT", "2147483648");
    EVAL_ERR("SELECT 9223372036854775807 + 1", QV_EINVAL, "overflow");
    EVAL("SELECT 1 / 0, -1 / 0", "inf|-inf");
    EVAL_ERR("SELECT 1 // 0", QV_EINVAL, "division by zero");
    EVAL_ERR("SELECT 1 % 0", QV_EINVAL, "division by zero");
    EVAL("SELECT -9223372036854775808", "-9223372036854775808");
}

QTEST(eval_logic_null) {
    EVAL("SELECT NULL AND false, NULL AND true, NULL OR true, NULL OR false, NOT NULL", "false|NULL|true|NULL|NULL");
    EVAL("SELECT 1 = NULL, NULL IS NULL, 1 IS NOT NULL, 1 + NULL", "NULL|true|true|NULL");
    EVAL("SELECT 2 IN (1, 2), 3 IN (1, 2), 3 IN (1, NULL), 3 NOT IN (1, 2)", "true|false|NULL|true");
    EVAL("SELECT 2 BETWEEN 1 AND 3, 5 NOT BETWEEN 1 AND 3", "true|true");
    EVAL("SELECT 'abc' LIKE 'a%', 'abc' LIKE '_b_', 'abc' NOT LIKE '%d', 'ABC' ILIKE 'a%'", "true|true|true|true");
}

QTEST(eval_case_cast) {
    EVAL("SELECT CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END", "b");
    EVAL("SELECT CASE 3 WHEN 1 THEN 10 WHEN 3 THEN 30 END, CASE WHEN false THEN 1 END", "30|NULL");
    /* the branch not taken is not evaluated */
    EVAL("SELECT CASE WHEN 0 = 0 THEN 0 ELSE 1 / 0 END", "0");
    EVAL("SELECT CAST('42' AS INT), CAST(2.5 AS BIGINT), CAST(1 AS DOUBLE), CAST(7 AS VARCHAR), '3'::INT + 1",
         "42|3|1|7|4");
    EVAL_ERR("SELECT CAST('x1' AS INT)", QV_EINVAL, "'x1'");
    EVAL("SELECT COALESCE(NULL, NULL, 3), COALESCE(NULL, 'a')", "3|a");
}

QTEST(eval_functions) {
    EVAL("SELECT abs(-3), round(2.567, 2), floor(-1.5), ceil(1.2), sqrt(16.0), power(2, 10)", "3|2.57|-2|2|4|1024");
    EVAL("SELECT ln(exp(1.0)), lower('AbC'), upper('abc'), length('héllo'), substr('hello', 2, 3), substr('hello', 3)",
         "1|abc|ABC|5|ell|llo");
    EVAL("SELECT sqrt(-1.0), ln(0.0)", "nan|-inf"); /* as DuckDB */
    EVAL_ERR("SELECT nosuch(1)", QV_EINVAL, "nosuch");
    EVAL_ERR("SELECT abs('x')", QV_EINVAL, "abs");
    EVAL_ERR("SELECT lower(1)", QV_EINVAL, "lower");
}

QTEST(eval_time) {
    EVAL("SELECT TIMESTAMP '2024-03-24 09:30:00' + INTERVAL '5 minutes'", "2024-03-24 09:35:00");
    EVAL("SELECT TIMESTAMP '2024-03-24 09:30:00.123456789'", "2024-03-24 09:30:00.123456789");
    EVAL("SELECT extract(year FROM TIMESTAMP '2024-03-24 09:30:00'), extract(minute FROM TIMESTAMP '2024-03-24 09:30:00')", "2024|30");
    EVAL("SELECT date_trunc('hour', TIMESTAMP '2024-03-24 09:30:00')", "2024-03-24 09:00:00");
    EVAL("SELECT TIMESTAMP '2024-03-24 09:30:00' - INTERVAL 1 DAY", "2024-03-23 09:30:00");
    EVAL("SELECT TIMESTAMP '2024-03-24' > '2024-03-23'", "true");
    EVAL_ERR("SELECT INTERVAL '5 lightyears'", QV_EINVAL, "INTERVAL");
    EVAL("SELECT TIMESTAMP '2024-03-24' - TIMESTAMP '2024-03-23 01:00:00.5'", "22:59:59.5");
    EVAL("SELECT CAST(INTERVAL '36 hours' AS VARCHAR), INTERVAL '-1 second', INTERVAL '1 day' - INTERVAL '1 hour'",
         "1 day 12:00:00|-00:00:01|23:00:00");
}

QTEST(binder_errors) {
    EVAL_ERR("SELECT x", QV_EINVAL, "unknown column 'x'");
    EVAL_ERR("SELECT 1 + 'a'", QV_EINVAL, "could not convert");
    EVAL_ERR("SELECT 1 AND true", QV_EINVAL, "AND");
    EVAL_ERR("SELECT sum(sum(1))", QV_EINVAL, "nested");
    EVAL_ERR("SELECT sum('a')", QV_EINVAL, "sum");
}

/* ---- execution over storage: memory limit, cancel, zero-copy, pruning ---- */
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
    snprintf(s.fields[0].tz, sizeof s.fields[0].tz, "UTC");
    if (st_table_create(db, "t", &s, &err)) return NULL;
    st_table *t;
    st_table_open(db, "t", &t, &err);
    st_append *ap;
    st_append_begin(t, &ap, &err);
    for (int64_t done = 0; done < nrows;) {
        int64_t n = nrows - done < 50000 ? nrows - done : 50000;
        qv_batch b;
        qv_batch_init(&b, &s);
        qv_builder bt, bk, bv;
        qv_builder_init(&bt, QV_T_TIMESTAMP, n);
        qv_builder_init(&bk, QV_T_INT64, n);
        qv_builder_init(&bv, QV_T_FLOAT64, n);
        for (int64_t i = done; i < done + n; i++) {
            qv_builder_append_i64(&bt, i * 1000000000LL);
            qv_builder_append_i64(&bk, i);
            qv_builder_append_f64(&bv, (double)(i % 100));
        }
        qv_builder_finish(&bt, &b.cols[0]);
        qv_builder_finish(&bk, &b.cols[1]);
        qv_builder_finish(&bv, &b.cols[2]);
        qv_builder_free(&bt);
        qv_builder_free(&bk);
        qv_builder_free(&bv);
        b.nrows = n;
        if (st_append_batch(ap, &b, &err)) return NULL;
        qv_batch_free(&b);
        done += n;
    }
    int64_t rows;
    if (st_append_commit(ap, &rows, &err)) return NULL;
    st_table_release(t);
    qv_schema_free(&s);
    return db;
}

/* Runs sql to the end; returns the status and the row count. */
static int run_all(sql_ctx *c, const char *sql, int64_t *rows, qv_err *err) {
    sql_query *q;
    *rows = 0;
    int rc = sql_query_prepare(c, sql, strlen(sql), &q, err);
    if (rc) return rc;
    for (;;) {
        qv_batch b;
        bool eos;
        if ((rc = sql_query_next(q, &b, &eos, err))) break;
        if (eos) break;
        *rows += b.nrows;
        qv_batch_free(&b);
    }
    sql_query_free(q);
    return rc;
}

QTEST(memory_limit) {
    st_db *db = make_db(200000, 16384);
    QCHECK(db != NULL);
    sql_ctx *c;
    qv_err err = {0};
    sql_ctx_new(db, 2, 1 << 20, &c, &err);
    int64_t rows;
    QCHECK_EQ(run_all(c, "SELECT k, count(*) FROM t GROUP BY k", &rows, &err), QV_ERESOURCE);
    QCHECK(strstr(err.msg, "memory limit") != NULL);
    QCHECK_EQ(run_all(c, "SELECT k, v FROM t ORDER BY v, k", &rows, &err), QV_ERESOURCE);
    /* small results still work under the same limit; top-N keeps memory bounded */
    QCHECK_OK(run_all(c, "SELECT v, count(*) FROM t GROUP BY v", &rows, &err), &err);
    QCHECK_EQ(rows, 100);
    QCHECK_OK(run_all(c, "SELECT k FROM t ORDER BY v DESC, k LIMIT 10", &rows, &err), &err);
    QCHECK_EQ(rows, 10);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(cancel) {
    st_db *db = make_db(100000, 8192);
    QCHECK(db != NULL);
    sql_ctx *c;
    qv_err err = {0};
    sql_ctx_new(db, 2, 0, &c, &err);
    const char *qs[] = {"SELECT k * 2 FROM t WHERE v > 10", "SELECT * FROM t", "SELECT v, sum(k) FROM t GROUP BY v",
                        "SELECT k FROM t ORDER BY v LIMIT 5"};
    for (int i = 0; i < 4; i++) {
        sql_query *q;
        QCHECK_OK(sql_query_prepare(c, qs[i], strlen(qs[i]), &q, &err), &err);
        sql_query_cancel(q);
        qv_batch b;
        bool eos;
        QCHECK_EQ(sql_query_next(q, &b, &eos, &err), QV_ECANCELLED);
        sql_query_free(q);
    }
    /* cancel after the first batch of a streaming query */
    sql_query *q;
    QCHECK_OK(sql_query_prepare(c, qs[0], strlen(qs[0]), &q, &err), &err);
    qv_batch b;
    bool eos;
    QCHECK_OK(sql_query_next(q, &b, &eos, &err), &err);
    QCHECK(!eos);
    qv_batch_free(&b);
    sql_query_cancel(q);
    QCHECK_EQ(sql_query_next(q, &b, &eos, &err), QV_ECANCELLED);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

typedef struct cancel_arg { sql_query *q; } cancel_arg;
static void *cancel_thread(void *p) {
    sql_query_cancel(((cancel_arg *)p)->q);
    return NULL;
}

QTEST(cancel_from_other_thread) {
    st_db *db = make_db(100000, 8192);
    QCHECK(db != NULL);
    sql_ctx *c;
    qv_err err = {0};
    sql_ctx_new(db, 2, 0, &c, &err);
    const char *sql = "SELECT k % 1000, avg(v) FROM t GROUP BY 1";
    sql_query *q;
    QCHECK_OK(sql_query_prepare(c, sql, strlen(sql), &q, &err), &err);
    cancel_arg a = {q};
    pthread_t th;
    pthread_create(&th, NULL, cancel_thread, &a);
    int rc = 0;
    for (;;) { /* either finishes first or stops cancelled; never anything else */
        qv_batch b;
        bool eos;
        if ((rc = sql_query_next(q, &b, &eos, &err)) || eos) break;
        qv_batch_free(&b);
    }
    pthread_join(th, NULL);
    QCHECK(rc == 0 || rc == QV_ECANCELLED);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(zero_copy_and_total_rows) {
    st_db *db = make_db(10000, 4096);
    QCHECK(db != NULL);
    sql_ctx *c;
    qv_err err = {0};
    sql_ctx_new(db, 2, 0, &c, &err);
    const char *sql = "SELECT v, ts FROM t LIMIT 5000 OFFSET 3000";
    sql_query *q;
    QCHECK_OK(sql_query_prepare(c, sql, strlen(sql), &q, &err), &err);
    QCHECK_EQ(sql_query_total_rows(q), 5000);
    QCHECK_EQ(sql_query_schema(q)->fields[1].type, QV_T_TIMESTAMP);
    qv_batch b;
    bool eos;
    QCHECK_OK(sql_query_next(q, &b, &eos, &err), &err);
    QCHECK_EQ(b.nrows, 1096);
    QCHECK_EQ(b.cols[0].offset, 3000); /* a slice of the storage segment, not a copy */
    QCHECK_EQ(qv_array_get_f64(&b.cols[0], 0), 0.0);
    qv_batch_free(&b);
    int64_t total = 1096;
    for (;;) {
        QCHECK_OK(sql_query_next(q, &b, &eos, &err), &err);
        if (eos) break;
        total += b.nrows;
        qv_batch_free(&b);
    }
    QCHECK_EQ(total, 5000);
    sql_query_free(q);
    QCHECK_OK(sql_query_prepare(c, "SELECT count(*) FROM t", 22, &q, &err), &err);
    QCHECK_EQ(sql_query_total_rows(q), 1);
    sql_query_free(q);
    QCHECK_OK(sql_query_prepare(c, "SELECT * FROM t", 15, &q, &err), &err);
    QCHECK_EQ(sql_query_total_rows(q), 10000);
    sql_query_free(q);
    /* pruning: a ts range touching one row group scans only that one */
    const char *pq = "SELECT count(*) FROM t WHERE ts >= TIMESTAMP '1970-01-01 02:30:00'";
    char *plan = sql_explain(c, pq, strlen(pq), &err);
    QCHECK(plan != NULL);
    QCHECK(strstr(plan, "prune=[ts >= const]") != NULL);
    free(plan);
    QCHECK_OK(sql_query_prepare(c, pq, strlen(pq), &q, &err), &err);
    QCHECK_OK(sql_query_next(q, &b, &eos, &err), &err);
    QCHECK_EQ(qv_array_get_i64(&b.cols[0], 0), 1000);
    qv_batch_free(&b);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(timestamp_tz_carried) {
    st_db *db = make_db(100, 64);
    QCHECK(db != NULL);
    sql_ctx *c;
    qv_err err = {0};
    sql_ctx_new(db, 2, 0, &c, &err);
    const char *sql = "SELECT date_trunc('minute', ts) AS m, max(ts), ts + INTERVAL '1 hour' AS h, "
                      "TIMESTAMP '2024-01-01' AS lit FROM (SELECT ts FROM t) AS s GROUP BY m, h ORDER BY m";
    sql_query *q;
    QCHECK_OK(sql_query_prepare(c, sql, strlen(sql), &q, &err), &err);
    const qv_schema *s = sql_query_schema(q);
    QCHECK_EQ(s->nfields, 4);
    QCHECK_STR(s->fields[0].tz, "UTC");
    QCHECK_STR(s->fields[1].tz, "UTC");
    QCHECK_STR(s->fields[2].tz, "UTC");
    QCHECK_STR(s->fields[3].tz, "");
    int64_t rows = 0;
    for (;;) {
        qv_batch b;
        bool eos;
        QCHECK_OK(sql_query_next(q, &b, &eos, &err), &err);
        if (eos) break;
        QCHECK_STR(b.schema.fields[0].tz, "UTC");
        rows += b.nrows;
        qv_batch_free(&b);
    }
    QCHECK_EQ(rows, 100);
    sql_query_free(q);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(extreme_timestamps) {
    /* values no literal can produce but a client can store: no UB, only results or errors */
    st_options o = {.in_memory = true};
    st_db *db;
    qv_err err = {0};
    QCHECK_OK(st_db_open(&o, &db, &err), &err);
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "ts", QV_T_TIMESTAMP, true);
    qv_schema_add(&s, "n", QV_T_INT64, true);
    QCHECK_OK(st_table_create(db, "x", &s, &err), &err);
    st_table *t;
    QCHECK_OK(st_table_open(db, "x", &t, &err), &err);
    st_append *ap;
    QCHECK_OK(st_append_begin(t, &ap, &err), &err);
    qv_batch b;
    qv_batch_init(&b, &s);
    qv_builder bt, bn;
    qv_builder_init(&bt, QV_T_TIMESTAMP, 4);
    qv_builder_init(&bn, QV_T_INT64, 4);
    int64_t vals[] = {INT64_MIN, INT64_MAX, -1, 0};
    for (int i = 0; i < 4; i++) {
        qv_builder_append_i64(&bt, vals[i]);
        qv_builder_append_i64(&bn, vals[i]);
    }
    qv_builder_finish(&bt, &b.cols[0]);
    qv_builder_finish(&bn, &b.cols[1]);
    qv_builder_free(&bt);
    qv_builder_free(&bn);
    b.nrows = 4;
    QCHECK_OK(st_append_batch(ap, &b, &err), &err);
    qv_batch_free(&b);
    int64_t rows;
    QCHECK_OK(st_append_commit(ap, &rows, &err), &err);
    st_table_release(t);
    qv_schema_free(&s);
    sql_ctx *c;
    sql_ctx_new(db, 2, 0, &c, &err);
    const char *qs[] = {
        "SELECT date_trunc('year', ts), date_trunc('week', ts), date_trunc('minute', ts), date_trunc('day', ts) FROM x",
        "SELECT extract(year FROM ts), extract(dow FROM ts), extract(week FROM ts), extract(epoch FROM ts) FROM x",
        "SELECT CAST(ts AS VARCHAR), min(ts), max(ts) FROM x GROUP BY ts",
        "SELECT time_bucket(INTERVAL '5 minutes', ts) FROM x",
        "SELECT ts + INTERVAL '1 day' FROM x",
        "SELECT ts - ts < INTERVAL '1 day' FROM x",
        "SELECT n * 2 FROM x", "SELECT -n FROM x", "SELECT abs(n) FROM x", "SELECT n // -1 FROM x",
        "SELECT sum(n) FROM x", "SELECT avg(n), stddev(n) FROM x", "SELECT CAST(n AS INT) FROM x",
        "SELECT round(n, -2) FROM x", "SELECT n % -1, CAST(n AS DOUBLE) FROM x ORDER BY n DESC LIMIT 2",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        int rc = run_all(c, qs[i], &rows, &err);
        if (rc && rc != QV_EINVAL) fprintf(stderr, "  %s: %s\n", qs[i], err.msg);
        QCHECK(rc == 0 || rc == QV_EINVAL);
    }
    sql_ctx_free(c);
    st_db_close(db);
}

/* Several threads share one context (and its worker pool) at once. */
typedef struct conc_arg {
    sql_ctx *c;
    int64_t sums[3];
    int rc;
} conc_arg;

static int64_t first_i64(sql_ctx *c, const char *sql, int *rc) {
    qv_err err = {0};
    sql_query *q;
    int64_t v = -1, n = 0;
    if ((*rc = sql_query_prepare(c, sql, strlen(sql), &q, &err))) return -1;
    for (;;) {
        qv_batch b;
        bool eos;
        if ((*rc = sql_query_next(q, &b, &eos, &err)) || eos) break;
        for (int64_t r = 0; r < b.nrows; r++, n++) v = (v < 0 ? 0 : v) + qv_array_get_i64(&b.cols[0], r);
        qv_batch_free(&b);
    }
    sql_query_free(q);
    return v;
}

static void *conc_run(void *p) {
    conc_arg *a = p;
    const char *qs[3] = {"SELECT count(*) FROM t WHERE v > 50", "SELECT sum(k) FROM t GROUP BY v",
                         "SELECT k FROM t ORDER BY v DESC, k LIMIT 7"};
    for (int round = 0; round < 5 && !a->rc; round++)
        for (int i = 0; i < 3 && !a->rc; i++) {
            int64_t v = first_i64(a->c, qs[i], &a->rc);
            if (round == 0) a->sums[i] = v;
            else if (v != a->sums[i]) a->rc = -1;
        }
    return NULL;
}

QTEST(concurrent_queries) {
    st_db *db = make_db(60000, 4096);
    QCHECK(db != NULL);
    sql_ctx *c;
    qv_err err = {0};
    sql_ctx_new(db, 3, 0, &c, &err);
    conc_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].c = c;
        pthread_create(&th[i], NULL, conc_run, &args[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        QCHECK_EQ(args[i].rc, 0);
        for (int j = 0; j < 3; j++) QCHECK_EQ(args[i].sums[j], args[0].sums[j]);
    }
    QCHECK_EQ(args[0].sums[0], 60000 / 100 * 49);
    int64_t total = 0; /* sum(k) over all groups = sum of 0..59999 */
    QCHECK_EQ(args[0].sums[1], (total = (int64_t)59999 * 60000 / 2));
    QCHECK_EQ(args[0].sums[2], 99 + 199 + 299 + 399 + 499 + 599 + 699); /* v = 99, k ascending */
    sql_ctx_free(c);
    st_db_close(db);
}

static int64_t count_of(sql_query *q, qv_err *err) {
    qv_batch b;
    bool eos;
    if (sql_query_next(q, &b, &eos, err) || eos || b.nrows != 1) return -1;
    int64_t n = qv_array_get_i64(&b.cols[0], 0);
    qv_batch_free(&b);
    return n;
}

/* SYMBOL filters compare dictionary codes: a query prepared before the
   dictionary grew must neither see the new rows nor mistake new codes, and a
   newer snapshot finds constants the dictionary learnt since. */
QTEST(symbol_codes_across_snapshots) {
    st_options o = {.in_memory = true, .rowgroup_rows = 4};
    st_db *db;
    qv_err err = {0};
    QCHECK_OK(st_db_open(&o, &db, &err), &err);
    sql_ctx *c;
    QCHECK_OK(sql_ctx_new(db, 2, 0, &c, &err), &err);
    int64_t rows;
    QCHECK_OK(run_all(c, "CREATE TABLE s (id INT, sym SYMBOL)", &rows, &err), &err);
    QCHECK_OK(run_all(c, "INSERT INTO s VALUES (1, 'A'), (2, 'B'), (3, NULL), (4, 'A'), (5, 'B')", &rows, &err), &err);
    const char *in = "SELECT count(*) FROM s WHERE sym IN ('C', 'A')";
    const char *ne = "SELECT count(*) FROM s WHERE sym <> 'C'";
    const char *eq = "SELECT count(*) FROM s WHERE sym = 'C'";
    sql_query *old_in, *old_ne, *old_eq, *q;
    QCHECK_OK(sql_query_prepare(c, in, strlen(in), &old_in, &err), &err);
    QCHECK_OK(sql_query_prepare(c, ne, strlen(ne), &old_ne, &err), &err);
    QCHECK_OK(sql_query_prepare(c, eq, strlen(eq), &old_eq, &err), &err);
    QCHECK_OK(run_all(c, "INSERT INTO s VALUES (6, 'C'), (7, 'C'), (8, 'A'), (9, NULL), (10, 'D')", &rows, &err), &err);
    QCHECK_OK(sql_query_prepare(c, in, strlen(in), &q, &err), &err);
    QCHECK_EQ(count_of(q, &err), 5);
    sql_query_free(q);
    QCHECK_OK(sql_query_prepare(c, ne, strlen(ne), &q, &err), &err);
    QCHECK_EQ(count_of(q, &err), 6);
    sql_query_free(q);
    QCHECK_OK(sql_query_prepare(c, eq, strlen(eq), &q, &err), &err);
    QCHECK_EQ(count_of(q, &err), 2);
    sql_query_free(q);
    QCHECK_EQ(count_of(old_in, &err), 2);
    QCHECK_EQ(count_of(old_ne, &err), 4);
    QCHECK_EQ(count_of(old_eq, &err), 0);
    sql_query_free(old_in);
    sql_query_free(old_ne);
    sql_query_free(old_eq);
    sql_ctx_free(c);
    st_db_close(db);
}
