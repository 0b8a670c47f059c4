/* Helpers for the storage tests: a wide schema, deterministic rows, checks. */
#ifndef ST_TEST_UTIL_H
#define ST_TEST_UTIL_H

#include "storage/storage.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ts TIMESTAMP NOT NULL, i32, i64, f32, f64, b BOOL, s STRING, sym SYMBOL */
static void tu_schema(qv_schema *s) {
    qv_schema_init(s);
    qv_schema_add(s, "ts", QV_T_TIMESTAMP, false);
    qv_schema_add(s, "i32", QV_T_INT32, true);
    qv_schema_add(s, "i64", QV_T_INT64, true);
    qv_schema_add(s, "f32", QV_T_FLOAT32, true);
    qv_schema_add(s, "f64", QV_T_FLOAT64, true);
    qv_schema_add(s, "b", QV_T_BOOL, true);
    qv_schema_add(s, "s", QV_T_STRING, true);
    qv_schema_add(s, "sym", QV_T_SYMBOL, true);
}

static bool tu_isnull(int64_t g) { return g % 7 == 3; }

/* Rows g = start .. start+n-1 of the wide schema; sym goes in as STRING
   (as_symbol false) or as a SYMBOL array with its own dictionary. */
static void tu_batch(qv_batch *b, int64_t start, int64_t n, bool as_symbol) {
    qv_schema s;
    tu_schema(&s);
    if (!as_symbol) s.fields[7].type = QV_T_STRING;
    qv_batch_init(b, &s);
    qv_schema_free(&s);
    qv_builder bl[8];
    for (int c = 0; c < 7; c++) qv_builder_init(&bl[c], b->schema.fields[c].type, n);
    qv_builder_init(&bl[7], as_symbol ? QV_T_INT32 : QV_T_STRING, n);
    char buf[64];
    for (int64_t i = 0; i < n; i++) {
        int64_t g = start + i;
        qv_builder_append_i64(&bl[0], g * 1000);
        if (tu_isnull(g)) {
            for (int c = 1; c < 8; c++) qv_builder_append_null(&bl[c]);
            continue;
        }
        qv_builder_append_i32(&bl[1], (int32_t)g);
        qv_builder_append_i64(&bl[2], g * 3);
        qv_builder_append_f32(&bl[3], (float)g * 0.5f);
        qv_builder_append_f64(&bl[4], (double)g * 0.25);
        qv_builder_append_bool(&bl[5], g % 2 == 0);
        int len = snprintf(buf, sizeof buf, "s%lld", (long long)g);
        qv_builder_append_str(&bl[6], buf, len);
        if (as_symbol) {
            qv_builder_append_i32(&bl[7], (int32_t)(4 - g % 5)); /* dict below is reversed */
        } else {
            len = snprintf(buf, sizeof buf, "SYM%lld", (long long)(g % 5));
            qv_builder_append_str(&bl[7], buf, len);
        }
    }
    for (int c = 0; c < 8; c++) {
        qv_array_free(&b->cols[c]);
        qv_builder_finish(&bl[c], &b->cols[c]);
        qv_builder_free(&bl[c]);
    }
    if (as_symbol) {
        b->cols[7].type = QV_T_SYMBOL;
        qv_builder d;
        qv_builder_init(&d, QV_T_STRING, 5);
        for (int k = 4; k >= 0; k--) {
            int len = snprintf(buf, sizeof buf, "SYM%d", k);
            qv_builder_append_str(&d, buf, len);
        }
        b->cols[7].dict = qv_xmalloc(sizeof(qv_array));
        qv_builder_finish(&d, b->cols[7].dict);
        qv_builder_free(&d);
    }
    b->nrows = n;
}

/* Checks row r of array set cols against the formula for global row g; returns 0 if ok. */
static int tu_check_row(qv_array *cols, int64_t r, int64_t g) {
    if (qv_array_get_i64(&cols[0], r) != g * 1000) return 1;
    if (tu_isnull(g)) {
        for (int c = 1; c < 8; c++)
            if (qv_array_is_valid(&cols[c], r)) return 2;
        return 0;
    }
    for (int c = 1; c < 8; c++)
        if (!qv_array_is_valid(&cols[c], r)) return 3;
    if (qv_array_get_i32(&cols[1], r) != (int32_t)g) return 4;
    if (qv_array_get_i64(&cols[2], r) != g * 3) return 5;
    if (qv_array_get_f32(&cols[3], r) != (float)g * 0.5f) return 6;
    if (qv_array_get_f64(&cols[4], r) != (double)g * 0.25) return 7;
    if (qv_array_get_bool(&cols[5], r) != (g % 2 == 0)) return 8;
    char buf[64];
    int32_t len;
    int n = snprintf(buf, sizeof buf, "s%lld", (long long)g);
    const char *p = qv_array_get_str(&cols[6], r, &len);
    if (len != n || memcmp(p, buf, (size_t)n)) return 9;
    n = snprintf(buf, sizeof buf, "SYM%lld", (long long)(g % 5));
    p = qv_array_get_str(&cols[7], r, &len);
    if (len != n || memcmp(p, buf, (size_t)n)) return 10;
    return 0;
}

/* The error of the last failed column read in tu_check_snapshot. */
static qv_err tu_read_err;

/* Checks every row of a snapshot of the wide schema: rows 0..n-1 in order.
   Returns -1 if ok, else the first bad global row. */
static int64_t tu_check_snapshot(st_snapshot *s) {
    int64_t g = 0;
    for (int rg = 0; rg < st_snapshot_rowgroups(s); rg++) {
        qv_array cols[8];
        for (int c = 0; c < 8; c++)
            if (st_snapshot_read(s, rg, c, &cols[c], &tu_read_err)) cols[c].length = -1;
        int64_t n = st_snapshot_rowgroup_rows(s, rg);
        int64_t bad = -1;
        for (int c = 0; c < 8; c++)
            if (cols[c].length != n) bad = g;
        for (int64_t r = 0; r < n && bad < 0; r++, g++)
            if (cols[0].length != n || tu_check_row(cols, r, g)) bad = g;
        for (int c = 0; c < 8; c++) qv_array_free(&cols[c]);
        if (bad >= 0) return bad;
    }
    return g == st_snapshot_rows(s) ? -1 : g;
}

static int tu_append(st_table *t, int64_t start, int64_t n, qv_err *err) {
    st_append *a;
    int rc = st_append_begin(t, &a, err);
    if (rc) return rc;
    qv_batch b;
    tu_batch(&b, start, n, false);
    rc = st_append_batch(a, &b, err);
    qv_batch_free(&b);
    if (rc) {
        st_append_abort(a);
        return rc;
    }
    return st_append_commit(a, NULL, err);
}

__attribute__((unused)) static void tu_rmrf(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

__attribute__((unused)) static char *tu_tmpdir(void) {
    char tmpl[] = "/tmp/qv-st-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? qv_xstrdup(d) : NULL;
}

__attribute__((unused)) static int tu_count_files(const char *dir, const char *prefix, const char *suffix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        if (!strncmp(e->d_name, prefix, strlen(prefix)) && l >= sl && !strcmp(e->d_name + l - sl, suffix)) n++;
    }
    closedir(d);
    return n;
}

#endif
