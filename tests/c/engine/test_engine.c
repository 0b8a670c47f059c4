/* Engine tests over an in-memory database: ingest semantics and the demo table. */
#include "engine/engine.h"
#include "qtest.h"

#include <time.h>

static eng *open_mem(int64_t demo) {
    eng_options o = {0};
    o.storage.in_memory = true;
    o.storage.rowgroup_rows = 1000;
    o.threads = 2;
    o.demo_rows = demo;
    eng *e = NULL;
    qv_err err;
    if (eng_open(&o, &e, &err)) fprintf(stderr, "eng_open: %s\n", err.msg);
    return e;
}

static void make_batch(qv_batch *b, qv_schema *s, int64_t n, int64_t base) {
    qv_batch_init(b, s);
    b->nrows = n;
    for (int c = 0; c < s->nfields; c++) {
        qv_builder bl;
        qv_builder_init(&bl, s->fields[c].type, n);
        for (int64_t i = 0; i < n; i++) {
            switch (s->fields[c].type) {
            case QV_T_INT64: qv_builder_append_i64(&bl, base + i); break;
            case QV_T_FLOAT64: qv_builder_append_f64(&bl, (double)(base + i) / 2); break;
            case QV_T_STRING: qv_builder_append_str(&bl, "abc", (int32_t)(i % 4)); break;
            default: qv_builder_append_null(&bl);
            }
        }
        qv_array_free(&b->cols[c]);
        qv_builder_finish(&bl, &b->cols[c]);
        qv_builder_free(&bl);
    }
}

static int64_t table_rows(eng *e, const char *name) {
    st_table_info *inf;
    int n;
    qv_err err;
    int64_t r = -1;
    if (eng_tables(e, &inf, &n, &err)) return -2;
    for (int i = 0; i < n; i++)
        if (!strcmp(inf[i].name, name)) r = inf[i].rows;
    st_table_info_free_all(inf, n);
    return r;
}

QTEST(put_creates_then_appends_atomically) {
    eng *e = open_mem(0);
    QCHECK(e);
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "id", QV_T_INT64, true);
    qv_schema_add(&s, "name", QV_T_STRING, true);
    qv_err err;
    eng_put *p;
    QCHECK_OK(eng_put_begin(e, "t1", &s, &p, &err), &err);
    qv_batch b;
    make_batch(&b, &s, 2500, 0);
    QCHECK_OK(eng_put_batch(p, &b, &err), &err);
    QCHECK_OK(eng_put_batch(p, &b, &err), &err);
    QCHECK_EQ(table_rows(e, "t1"), -1); /* nothing visible, not even the table, before commit */
    int64_t rows = 0;
    QCHECK_OK(eng_put_commit(p, &rows, &err), &err);
    QCHECK_EQ(rows, 5000);
    QCHECK_EQ(table_rows(e, "t1"), 5000);

    /* Abort leaves nothing. */
    QCHECK_OK(eng_put_begin(e, "t1", &s, &p, &err), &err);
    QCHECK_OK(eng_put_batch(p, &b, &err), &err);
    eng_put_abort(p);
    QCHECK_EQ(table_rows(e, "t1"), 5000);

    /* A stream with only some columns: the rest become NULL. */
    qv_schema s2;
    qv_schema_init(&s2);
    qv_schema_add(&s2, "name", QV_T_STRING, true);
    qv_batch b2;
    make_batch(&b2, &s2, 10, 0);
    QCHECK_OK(eng_put_begin(e, "t1", &s2, &p, &err), &err);
    QCHECK_OK(eng_put_batch(p, &b2, &err), &err);
    QCHECK_OK(eng_put_commit(p, &rows, &err), &err);
    QCHECK_EQ(table_rows(e, "t1"), 5010);
    qv_batch_free(&b);
    qv_batch_free(&b2);
    qv_schema_free(&s);
    qv_schema_free(&s2);
    eng_close(e);
}

QTEST(put_mismatch_names_the_column) {
    eng *e = open_mem(0);
    QCHECK(e);
    qv_schema s, bad;
    qv_schema_init(&s);
    qv_schema_add(&s, "id", QV_T_INT64, false);
    qv_err err;
    eng_put *p;
    QCHECK_OK(eng_put_begin(e, "t2", &s, &p, &err), &err);
    QCHECK_OK(eng_put_commit(p, NULL, &err), &err);
    QCHECK_EQ(table_rows(e, "t2"), 0); /* an empty stream still creates the table */
    qv_schema_init(&bad);
    qv_schema_add(&bad, "id", QV_T_FLOAT64, true);
    QCHECK(eng_put_begin(e, "t2", &bad, &p, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "'id'") && strstr(err.msg, "FLOAT64"));
    qv_schema_free(&bad);
    qv_schema_init(&bad);
    qv_schema_add(&bad, "other", QV_T_INT64, true);
    QCHECK(eng_put_begin(e, "t2", &bad, &p, &err) == QV_EINVAL); /* id NOT NULL missing or other unknown */
    qv_schema_free(&bad);
    qv_schema_free(&s);
    eng_close(e);
}

QTEST(demo_table_and_health) {
    eng *e = open_mem(5000);
    QCHECK(e);
    QCHECK_EQ(table_rows(e, "trades"), 5000);
    qv_str h;
    qv_str_init(&h);
    eng_health_json(e, &h);
    QCHECK(strstr(h.data, "\"status\":\"ok\"") && strstr(h.data, "\"rows\":5000"));
    qv_str_free(&h);
    qv_str d;
    qv_str_init(&d);
    qv_err err;
    QCHECK_OK(eng_describe_table(e, "trades", &d, &err), &err);
    QCHECK(strstr(d.data, "\"symbol\"") && strstr(d.data, "SYMBOL"));
    qv_str_free(&d);
    QCHECK(eng_describe_table(e, "nope", &d, &err) == QV_ENOTFOUND);
    eng_close(e);
}

QTEST(prepared_statements_are_per_session_and_expire) {
    eng *e = open_mem(0);
    QCHECK(e != NULL);
    qv_err err;
    char h[ENG_HANDLE_LEN + 1];
    QCHECK_OK(eng_stmt_create(e, "s1", "SELECT 1", 8, h, &err), &err);
    QCHECK_EQ((int64_t)strlen(h), ENG_HANDLE_LEN);
    eng_stmt_view v;
    QCHECK_OK(eng_stmt_get(e, "s1", (const uint8_t *)h, ENG_HANDLE_LEN, &v, &err), &err);
    QCHECK_STR(v.sql, "SELECT 1");
    QCHECK(!v.has_params);
    eng_stmt_view_free(&v);
    /* another session, a wrong length, a closed handle: NOT_FOUND alike */
    QCHECK_EQ(eng_stmt_get(e, "s2", (const uint8_t *)h, ENG_HANDLE_LEN, &v, &err), QV_ENOTFOUND);
    QCHECK_EQ(eng_stmt_get(e, "s1", (const uint8_t *)h, 5, &v, &err), QV_ENOTFOUND);
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "p", QV_T_INT64, true);
    qv_batch b;
    make_batch(&b, &s, 3, 7);
    QCHECK_OK(eng_stmt_bind(e, "s1", (const uint8_t *)h, ENG_HANDLE_LEN, &b, &err), &err);
    qv_batch_free(&b);
    QCHECK_OK(eng_stmt_get(e, "s1", (const uint8_t *)h, ENG_HANDLE_LEN, &v, &err), &err);
    QCHECK(v.has_params);
    QCHECK_EQ(v.params.nrows, 3);
    QCHECK_EQ(qv_array_get_i64(&v.params.cols[0], 2), 9);
    eng_stmt_view_free(&v);
    QCHECK_OK(eng_stmt_close(e, "s1", (const uint8_t *)h, ENG_HANDLE_LEN, &err), &err);
    QCHECK_EQ(eng_stmt_close(e, "s1", (const uint8_t *)h, ENG_HANDLE_LEN, &err), QV_ENOTFOUND);
    /* the session's end takes its statements and options along */
    QCHECK_OK(eng_stmt_create(e, "s3", "SELECT 2", 8, h, &err), &err);
    QCHECK_OK(eng_session_set(e, "s3", "catalog", "quiver", &err), &err);
    char **names, **values;
    int n = eng_session_options(e, "s3", &names, &values);
    QCHECK_EQ(n, 1);
    QCHECK_STR(values[0], "quiver");
    free(names[0]);
    free(values[0]);
    free(names);
    free(values);
    eng_session_close(e, "s3");
    QCHECK_EQ(eng_stmt_get(e, "s3", (const uint8_t *)h, ENG_HANDLE_LEN, &v, &err), QV_ENOTFOUND);
    n = eng_session_options(e, "s3", &names, &values);
    QCHECK_EQ(n, 0);
    free(names);
    free(values);
    /* idle expiry */
    eng_stmt_set_idle_ms(e, 1);
    QCHECK_OK(eng_stmt_create(e, "", "SELECT 3", 8, h, &err), &err);
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    QCHECK_EQ(eng_stmt_get(e, "", (const uint8_t *)h, ENG_HANDLE_LEN, &v, &err), QV_ENOTFOUND);
    qv_schema_free(&s);
    eng_close(e);
}
