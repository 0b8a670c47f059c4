/* Storage unit tests: catalog, types, row groups, stats, snapshots, appends.
   Durability tests are in test_storage_durable.inc, concurrency and crash
   tests in test_storage_stress.inc (one binary, one qtest main). */
#include "qtest.h"
#include "st_test_util.h"
#include "st_int.h" /* internal: the background writer and min/max, tested alone */

/* Recovery warnings are expected by the hundreds here; QTEST_VERBOSE shows them. */
__attribute__((constructor)) static void quiet_logs(void) {
    if (!getenv("QTEST_VERBOSE")) qv_log_set_level(QV_LOG_ERROR);
}

static st_db *mem_db(int64_t rg) {
    st_options o = {.in_memory = true, .rowgroup_rows = rg};
    st_db *db = NULL;
    qv_err err;
    if (st_db_open(&o, &db, &err)) return NULL;
    return db;
}

QTEST(catalog_create_list_drop) {
    st_db *db = mem_db(100);
    QCHECK(db);
    qv_err err;
    qv_schema s;
    tu_schema(&s);
    QCHECK_OK(st_table_create(db, "trades", &s, &err), &err);
    QCHECK_OK(st_table_create(db, "alpha", &s, &err), &err);
    QCHECK_EQ(st_table_create(db, "trades", &s, &err), QV_EEXISTS);
    QCHECK(strstr(err.msg, "trades"));
    st_table_info *inf;
    int n;
    QCHECK_OK(st_db_list(db, &inf, &n, &err), &err);
    QCHECK_EQ(n, 2);
    QCHECK_STR(inf[0].name, "alpha");
    QCHECK_STR(inf[1].name, "trades");
    QCHECK(qv_schema_equal(&inf[1].schema, &s));
    QCHECK_EQ(inf[1].rows, 0);
    st_table_info_free_all(inf, n);
    st_table *t;
    QCHECK_OK(st_table_open(db, "trades", &t, &err), &err);
    QCHECK_STR(st_table_name(t), "trades");
    QCHECK(qv_schema_equal(st_table_schema(t), &s));
    QCHECK_OK(tu_append(t, 0, 10, &err), &err);
    QCHECK_OK(st_db_list(db, &inf, &n, &err), &err);
    QCHECK_EQ(inf[1].rows, 10);
    QCHECK(inf[1].bytes > 10 * 8);
    st_table_info_free_all(inf, n);
    st_table_release(t);
    QCHECK_OK(st_table_drop(db, "trades", &err), &err);
    QCHECK_EQ(st_table_drop(db, "trades", &err), QV_ENOTFOUND);
    QCHECK(strstr(err.msg, "trades"));
    QCHECK_EQ(st_table_open(db, "trades", &t, &err), QV_ENOTFOUND);
    QCHECK(strstr(err.msg, "trades"));
    /* The name is free again, with a different schema. */
    qv_schema s2;
    qv_schema_init(&s2);
    qv_schema_add(&s2, "x", QV_T_INT32, true);
    QCHECK_OK(st_table_create(db, "trades", &s2, &err), &err);
    QCHECK_OK(st_table_open(db, "trades", &t, &err), &err);
    QCHECK_EQ(st_table_schema(t)->nfields, 1);
    st_table_release(t);
    qv_schema_free(&s2);
    qv_schema_free(&s);
    st_db_close(db);
}

QTEST(catalog_invalid_input) {
    st_db *db = mem_db(0);
    QCHECK(db);
    qv_err err;
    qv_schema s;
    tu_schema(&s);
    const char *bad[] = {"", "1abc", "a-b", "a b", "t\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        QCHECK_EQ(st_table_create(db, bad[i], &s, &err), QV_EINVAL);
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    QCHECK_EQ(st_table_create(db, longname, &s, &err), QV_EINVAL);
    longname[QV_NAME_MAX] = 0;
    QCHECK_OK(st_table_create(db, longname, &s, &err), &err);
    qv_schema e;
    qv_schema_init(&e);
    QCHECK_EQ(st_table_create(db, "empty", &e, &err), QV_EINVAL);
    qv_schema_add(&e, "a", QV_T_INT32, true);
    qv_schema_add(&e, "a", QV_T_INT64, true);
    QCHECK_EQ(st_table_create(db, "dup", &e, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "'a'"));
    QCHECK(strstr(err.msg, "dup"));
    qv_schema_free(&e);
    qv_schema_init(&e);
    qv_schema_add(&e, "a", QV_T_INVALID, true);
    QCHECK_EQ(st_table_create(db, "badtype", &e, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "a"));
    qv_schema_free(&e);
    qv_schema_init(&e);
    qv_schema_add(&e, "9col", QV_T_INT32, true);
    QCHECK_EQ(st_table_create(db, "badcol", &e, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "9col"));
    qv_schema_free(&e);
    st_table_info *inf;
    int n;
    QCHECK_OK(st_db_list(db, &inf, &n, &err), &err);
    QCHECK_EQ(n, 1);
    st_table_info_free_all(inf, n);
    qv_schema_free(&s);
    st_db_close(db);
    st_db *x = NULL;
    st_options o = {.in_memory = true, .rowgroup_rows = -5};
    QCHECK_EQ(st_db_open(&o, &x, &err), QV_EINVAL);
    QCHECK(x == NULL);
}

QTEST(types_rowgroups_and_stats) {
    st_db *db = mem_db(100);
    QCHECK(db);
    qv_err err;
    qv_schema s;
    tu_schema(&s);
    QCHECK_OK(st_table_create(db, "t", &s, &err), &err);
    qv_schema_free(&s);
    st_table *t;
    QCHECK_OK(st_table_open(db, "t", &t, &err), &err);
    /* Uneven batches so copies straddle row group boundaries. */
    int64_t at = 0;
    int sizes[] = {1, 37, 99, 13, 100};
    for (int i = 0; i < 5; i++) {
        QCHECK_OK(tu_append(t, at, sizes[i], &err), &err);
        at += sizes[i];
    }
    st_snapshot *sn;
    st_snapshot_open(t, &sn);
    QCHECK_EQ(st_snapshot_rows(sn), 250);
    QCHECK_EQ(st_snapshot_rowgroups(sn), 3);
    QCHECK_EQ(st_snapshot_rowgroup_rows(sn, 0), 100);
    QCHECK_EQ(st_snapshot_rowgroup_rows(sn, 2), 50);
    QCHECK_EQ(tu_check_snapshot(sn), -1);
    /* Arrow layout: aligned buffers, exact sizes, validity only with nulls. */
    qv_array a;
    st_snapshot_column(sn, 1, 1, &a);
    QCHECK_EQ(a.length, 100);
    QCHECK(((uintptr_t)a.values->data % 64) == 0);
    QCHECK_EQ(a.values->size, 400);
    QCHECK(a.validity != NULL);
    QCHECK_EQ(qv_array_null_count(&a), 15); /* g = 101, 108, ..., 199 */
    qv_array_free(&a);
    st_snapshot_column(sn, 0, 0, &a);
    QCHECK(a.validity == NULL);
    QCHECK_EQ(a.null_count, 0);
    qv_array_free(&a);
    st_snapshot_column(sn, 0, 7, &a);
    QCHECK_EQ(a.type, QV_T_SYMBOL);
    QCHECK(a.dict && a.dict->type == QV_T_STRING);
    QCHECK_EQ(a.dict->length, 5);
    qv_batch vb;
    qv_schema vs;
    tu_schema(&vs);
    qv_batch_init(&vb, &vs);
    qv_schema_free(&vs);
    vb.nrows = 100;
    for (int c = 0; c < 8; c++) {
        qv_array_free(&vb.cols[c]);
        st_snapshot_column(sn, 0, c, &vb.cols[c]);
    }
    QCHECK_OK(qv_batch_validate(&vb, &err), &err);
    qv_batch_free(&vb);
    qv_array_free(&a);
    st_stats st;
    st_snapshot_stats(sn, 1, 1, &st);
    QCHECK(st.has_minmax);
    QCHECK_EQ(st.min.i, 100);
    QCHECK_EQ(st.max.i, 198);
    QCHECK_EQ(st.null_count, 15);
    st_snapshot_stats(sn, 2, 0, &st);
    QCHECK_EQ(st.min.i, 200000);
    QCHECK_EQ(st.max.i, 249000);
    st_snapshot_stats(sn, 0, 4, &st);
    QCHECK(st.min.f == 0.0 && st.max.f == 99 * 0.25);
    st_snapshot_stats(sn, 0, 5, &st);
    QCHECK(st.has_minmax && st.min.i == 0 && st.max.i == 1);
    st_snapshot_stats(sn, 0, 6, &st);
    QCHECK(!st.has_minmax);
    QCHECK_EQ(st.null_count, 14); /* g = 3, 10, ..., 94 */
    st_snapshot_stats(sn, 9, 0, &st); /* out of range: empty, no crash */
    QCHECK(!st.has_minmax);
    st_snapshot_close(sn);
    st_table_release(t);
    st_db_close(db);
}

QTEST(symbol_input_as_symbol_and_all_null_stats) {
    st_db *db = mem_db(64);
    QCHECK(db);
    qv_err err;
    qv_schema s;
    tu_schema(&s);
    QCHECK_OK(st_table_create(db, "t", &s, &err), &err);
    qv_schema_free(&s);
    st_table *t;
    QCHECK_OK(st_table_open(db, "t", &t, &err), &err);
    st_append *a;
    QCHECK_OK(st_append_begin(t, &a, &err), &err);
    qv_batch b;
    tu_batch(&b, 0, 50, true); /* SYMBOL with its own (reversed) dictionary */
    QCHECK_OK(st_append_batch(a, &b, &err), &err);
    qv_batch_free(&b);
    tu_batch(&b, 50, 50, false);
    QCHECK_OK(st_append_batch(a, &b, &err), &err);
    qv_batch_free(&b);
    int64_t n = 0;
    QCHECK_OK(st_append_commit(a, &n, &err), &err);
    QCHECK_EQ(n, 100);
    st_snapshot *sn;
    st_snapshot_open(t, &sn);
    QCHECK_EQ(tu_check_snapshot(sn), -1);
    qv_array col;
    st_snapshot_column(sn, 1, 7, &col);
    QCHECK_EQ(col.dict->length, 5); /* both inputs share the table's dictionary */
    qv_array_free(&col);
    st_snapshot_close(sn);
    st_table_release(t);
    /* A column of nulls only has no min/max. */
    qv_schema_init(&s);
    qv_schema_add(&s, "x", QV_T_INT64, true);
    QCHECK_OK(st_table_create(db, "n", &s, &err), &err);
    QCHECK_OK(st_table_open(db, "n", &t, &err), &err);
    qv_batch_init(&b, &s);
    qv_builder bl;
    qv_builder_init(&bl, QV_T_INT64, 4);
    for (int i = 0; i < 3; i++) qv_builder_append_null(&bl);
    qv_array_free(&b.cols[0]);
    qv_builder_finish(&bl, &b.cols[0]);
    qv_builder_free(&bl);
    b.nrows = 3;
    QCHECK_OK(st_append_begin(t, &a, &err), &err);
    QCHECK_OK(st_append_batch(a, &b, &err), &err);
    QCHECK_OK(st_append_commit(a, NULL, &err), &err);
    qv_batch_free(&b);
    st_snapshot_open(t, &sn);
    st_stats st;
    st_snapshot_stats(sn, 0, 0, &st);
    QCHECK(!st.has_minmax);
    QCHECK_EQ(st.null_count, 3);
    st_snapshot_close(sn);
    st_table_release(t);
    qv_schema_free(&s);
    st_db_close(db);
}

QTEST(snapshot_isolation_and_stable_memory) {
    st_db *db = mem_db(100);
    QCHECK(db);
    qv_err err;
    qv_schema s;
    tu_schema(&s);
    QCHECK_OK(st_table_create(db, "t", &s, &err), &err);
    qv_schema_free(&s);
    st_table *t;
    QCHECK_OK(st_table_open(db, "t", &t, &err), &err);
    st_snapshot *s0, *s1, *s2;
    st_snapshot_open(t, &s0);
    QCHECK_OK(tu_append(t, 0, 30, &err), &err);
    st_snapshot_open(t, &s1);
    qv_array held[8];
    for (int c = 0; c < 8; c++) st_snapshot_column(s1, 0, c, &held[c]);
    /* Lots more rows: string data and the dictionary get replaced while held. */
    for (int i = 0; i < 20; i++) QCHECK_OK(tu_append(t, 30 + i * 50, 50, &err), &err);
    st_snapshot_open(t, &s2);
    QCHECK_EQ(st_snapshot_rows(s0), 0);
    QCHECK_EQ(st_snapshot_rowgroups(s0), 0);
    QCHECK_EQ(st_snapshot_rows(s1), 30);
    QCHECK_EQ(st_snapshot_rowgroup_rows(s1, 0), 30);
    QCHECK_EQ(st_snapshot_rows(s2), 1030);
    for (int64_t r = 0; r < 30; r++) QCHECK_EQ(tu_check_row(held, r, r), 0);
    QCHECK_EQ(held[0].length, 30);
    QCHECK_EQ(tu_check_snapshot(s1), -1);
    QCHECK_EQ(tu_check_snapshot(s2), -1);
    for (int c = 0; c < 8; c++) qv_array_free(&held[c]);
    /* Drop with snapshots open: they stay readable. */
    st_table_release(t);
    QCHECK_OK(st_table_drop(db, "t", &err), &err);
    QCHECK_EQ(tu_check_snapshot(s2), -1);
    st_snapshot_close(s0);
    st_snapshot_close(s1);
    st_db_close(db);
    QCHECK_EQ(tu_check_snapshot(s2), -1); /* even after the db is closed */
    st_snapshot_close(s2);
}

QTEST(append_atomic_abort_and_errors) {
    st_db *db = mem_db(100);
    QCHECK(db);
    qv_err err;
    qv_schema s;
    tu_schema(&s);
    QCHECK_OK(st_table_create(db, "t", &s, &err), &err);
    st_table *t;
    QCHECK_OK(st_table_open(db, "t", &t, &err), &err);
    st_append *a;
    QCHECK_OK(st_append_begin(t, &a, &err), &err);
    qv_batch b;
    for (int i = 0; i < 3; i++) {
        tu_batch(&b, i * 70, 70, false);
        QCHECK_OK(st_append_batch(a, &b, &err), &err);
        qv_batch_free(&b);
        st_snapshot *sn;
        st_snapshot_open(t, &sn);
        QCHECK_EQ(st_snapshot_rows(sn), 0); /* staged only */
        st_snapshot_close(sn);
    }
    int64_t n;
    QCHECK_OK(st_append_commit(a, &n, &err), &err);
    QCHECK_EQ(n, 210);
    /* Abort leaves nothing. */
    QCHECK_OK(st_append_begin(t, &a, &err), &err);
    tu_batch(&b, 210, 40, false);
    QCHECK_OK(st_append_batch(a, &b, &err), &err);
    qv_batch_free(&b);
    st_append_abort(a);
    /* Bad batches are refused and the append stays usable. */
    QCHECK_OK(st_append_begin(t, &a, &err), &err);
    qv_schema one;
    qv_schema_init(&one);
    qv_schema_add(&one, "x", QV_T_INT32, true);
    qv_batch_init(&b, &one);
    QCHECK_EQ(st_append_batch(a, &b, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "t"));
    qv_batch_free(&b);
    qv_schema_free(&one);
    tu_batch(&b, 210, 10, false);
    qv_array_free(&b.cols[1]);
    qv_builder bl;
    qv_builder_init(&bl, QV_T_INT64, 10);
    for (int i = 0; i < 10; i++) qv_builder_append_i64(&bl, i);
    qv_builder_finish(&bl, &b.cols[1]);
    qv_builder_free(&bl);
    b.schema.fields[1].type = QV_T_INT64;
    QCHECK_EQ(st_append_batch(a, &b, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "i32"));
    qv_batch_free(&b);
    tu_batch(&b, 210, 10, false); /* ts NOT NULL gets a null */
    qv_array_free(&b.cols[0]);
    qv_builder_init(&bl, QV_T_TIMESTAMP, 10);
    for (int i = 0; i < 10; i++) {
        if (i == 4) qv_builder_append_null(&bl);
        else qv_builder_append_i64(&bl, (210 + i) * 1000);
    }
    qv_builder_finish(&bl, &b.cols[0]);
    qv_builder_free(&bl);
    QCHECK_EQ(st_append_batch(a, &b, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "ts"));
    qv_batch_free(&b);
    tu_batch(&b, 210, 10, false); /* a column shorter than the batch */
    b.cols[2].length = 5;
    QCHECK_EQ(st_append_batch(a, &b, &err), QV_EINVAL);
    b.cols[2].length = 10;
    QCHECK_OK(st_append_batch(a, &b, &err), &err);
    qv_batch_free(&b);
    QCHECK_OK(st_append_commit(a, &n, &err), &err);
    QCHECK_EQ(n, 10);
    st_snapshot *sn;
    st_snapshot_open(t, &sn);
    QCHECK_EQ(st_snapshot_rows(sn), 220);
    QCHECK_EQ(tu_check_snapshot(sn), -1);
    st_snapshot_close(sn);
    /* Sliced input (non-zero offsets, unaligned bits). */
    tu_batch(&b, 217, 30, false);
    qv_batch sl;
    qv_batch_init(&sl, &b.schema);
    sl.nrows = 20;
    for (int c = 0; c < 8; c++) {
        qv_array_free(&sl.cols[c]);
        qv_array_slice(&sl.cols[c], &b.cols[c], 3, 20);
    }
    QCHECK_OK(st_append_begin(t, &a, &err), &err);
    QCHECK_OK(st_append_batch(a, &sl, &err), &err);
    QCHECK_OK(st_append_commit(a, &n, &err), &err);
    qv_batch_free(&sl);
    qv_batch_free(&b);
    st_snapshot_open(t, &sn);
    QCHECK_EQ(st_snapshot_rows(sn), 240);
    QCHECK_EQ(tu_check_snapshot(sn), -1);
    st_snapshot_close(sn);
    /* Appending to a dropped table fails cleanly. */
    QCHECK_OK(st_table_drop(db, "t", &err), &err);
    QCHECK_EQ(st_append_begin(t, &a, &err), QV_ENOTFOUND);
    st_table_release(t);
    qv_schema_free(&s);
    st_db_close(db);
}

#include "test_storage_durable.inc"
#include "test_storage_stress.inc"
#include "test_storage_stream.inc"
#include "test_storage_delete.inc"
#include "test_storage_waiter.inc"
#include "test_storage_adopt.inc"
#include "test_storage_direct.inc"
#include "test_storage_decimal.inc"
