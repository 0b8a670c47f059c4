/* Runs every tests/sql/NAME.test file (a sqllogictest-like format) against a fresh
   in-memory database per file:
     statement ok | statement error <substring>   then SQL lines
     query <column type letters> [rowsort]         then SQL lines, "----", rows
   Records end at a blank line; '#' starts a comment line. Expected rows are
   the values joined by tabs (runs of spaces also separate values). */
#include "qtest.h"
#include "sql/sql.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#ifndef QUIVER_SOURCE_DIR
#define QUIVER_SOURCE_DIR "."
#endif

static int nfail, nrun;

static char *norm(const char *s) {
    /* collapse runs of spaces/tabs into one space, trim */
    size_t n = strlen(s);
    char *o = malloc(n + 1);
    size_t j = 0;
    bool sp = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\t') { sp = j > 0; continue; }
        if (sp) o[j++] = ' ';
        sp = false;
        o[j++] = s[i];
    }
    o[j] = 0;
    return o;
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs sql; on success returns rows (normalized strings), else NULL with err. */
static char **run_sql(sql_ctx *c, const char *sql, int *nrows, int *ncols, qv_err *err) {
    sql_query *q;
    *nrows = 0;
    if (sql_query_prepare(c, sql, strlen(sql), &q, err)) return NULL;
    *ncols = sql_query_schema(q)->nfields;
    char **rows = malloc(sizeof(char *));
    int cap = 1;
    for (;;) {
        qv_batch b;
        bool eos;
        if (sql_query_next(q, &b, &eos, err)) {
            for (int i = 0; i < *nrows; i++) free(rows[i]);
            free(rows);
            sql_query_free(q);
            return NULL;
        }
        if (eos) break;
        if (qv_batch_validate(&b, err)) {
            qv_batch_free(&b);
            sql_query_free(q);
            return NULL;
        }
        for (int64_t r = 0; r < b.nrows; r++) {
            qv_str s;
            qv_str_init(&s);
            for (int i = 0; i < b.schema.nfields; i++) {
                if (i) qv_str_appendc(&s, '\t');
                sql_format_value(&b.schema.fields[i], &b.cols[i], r, &s);
            }
            qv_str_appendc(&s, 0);
            if (*nrows == cap) rows = realloc(rows, sizeof(char *) * (size_t)(cap *= 2));
            rows[(*nrows)++] = norm(s.data);
            qv_str_free(&s);
        }
        qv_batch_free(&b);
    }
    sql_query_free(q);
    return rows;
}

static void run_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); nfail++; return; }
    st_options o = {.in_memory = true, .rowgroup_rows = 4};
    st_db *db;
    qv_err err = {0};
    if (st_db_open(&o, &db, &err)) { fprintf(stderr, "%s: %s\n", path, err.msg); nfail++; fclose(f); return; }
    sql_ctx *c;
    sql_ctx_new(db, 2, 0, &c, &err);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0 || line[0] == '#') continue;
        int start = lineno;
        char head[512];
        snprintf(head, sizeof head, "%s", line);
        qv_str sql;
        qv_str_init(&sql);
        char **exp = NULL;
        int nexp = 0;
        bool in_rows = false;
        while ((n = getline(&line, &cap, f)) >= 0) {
            lineno++;
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
            if (n == 0) break;
            if (!in_rows && !strcmp(line, "----")) { in_rows = true; continue; }
            if (in_rows) {
                exp = realloc(exp, sizeof(char *) * (size_t)(nexp + 1));
                exp[nexp++] = norm(line);
            } else {
                if (sql.len) qv_str_appendc(&sql, '\n');
                qv_str_append(&sql, line, (size_t)n);
            }
        }
        qv_str_appendc(&sql, 0);
        nrun++;
        int nrows = 0, ncols = 0;
        qv_err e = {0};
        char **rows = run_sql(c, sql.data, &nrows, &ncols, &e);
        if (!strncmp(head, "statement ok", 12)) {
            if (!rows) { fprintf(stderr, "%s:%d: statement failed: %s\n  %s\n", path, start, e.msg, sql.data); nfail++; }
        } else if (!strncmp(head, "statement error", 15)) {
            const char *want = head + 15;
            while (*want == ' ') want++;
            if (rows) { fprintf(stderr, "%s:%d: statement succeeded, expected error '%s'\n  %s\n", path, start, want, sql.data); nfail++; }
            else if (*want && !strstr(e.msg, want)) {
                fprintf(stderr, "%s:%d: error '%s' does not contain '%s'\n  %s\n", path, start, e.msg, want, sql.data);
                nfail++;
            }
        } else if (!strncmp(head, "query", 5)) {
            /* "query <letters>": one type letter per result column */
            int want_cols = 0;
            for (const char *h = head + 5; *h == ' '; h++) want_cols = -1;
            if (want_cols < 0) {
                const char *h = head + 5;
                while (*h == ' ') h++;
                want_cols = 0;
                while (*h && *h != ' ') { want_cols++; h++; }
            }
            if (!rows) { fprintf(stderr, "%s:%d: query failed: %s\n  %s\n", path, start, e.msg, sql.data); nfail++; }
            else if (want_cols != ncols) {
                fprintf(stderr, "%s:%d: query returns %d columns, the header says %d\n  %s\n", path, start, ncols, want_cols, sql.data);
                nfail++;
            } else {
                if (strstr(head, "rowsort")) {
                    if (nrows > 1) qsort(rows, (size_t)nrows, sizeof(char *), cmpstr);
                    if (nexp > 1) qsort(exp, (size_t)nexp, sizeof(char *), cmpstr);
                }
                bool ok = nrows == nexp;
                for (int i = 0; ok && i < nrows; i++) ok = !strcmp(rows[i], exp[i]);
                if (!ok) {
                    fprintf(stderr, "%s:%d: wrong result for\n  %s\n  expected:\n", path, start, sql.data);
                    for (int i = 0; i < nexp; i++) fprintf(stderr, "    %s\n", exp[i]);
                    fprintf(stderr, "  got:\n");
                    for (int i = 0; i < nrows; i++) fprintf(stderr, "    %s\n", rows[i]);
                    nfail++;
                }
            }
        } else {
            fprintf(stderr, "%s:%d: unknown record '%s'\n", path, start, head);
            nfail++;
        }
        for (int i = 0; rows && i < nrows; i++) free(rows[i]);
        free(rows);
        for (int i = 0; i < nexp; i++) free(exp[i]);
        free(exp);
        qv_str_free(&sql);
    }
    free(line);
    fclose(f);
    sql_ctx_free(c);
    st_db_close(db);
}

static int cmpname(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

QTEST(sqllogic_files) {
    const char *dir = getenv("QUIVER_SQL_TESTS") ? getenv("QUIVER_SQL_TESTS") : QUIVER_SOURCE_DIR "/tests/sql";
    DIR *d = opendir(dir);
    QCHECK(d != NULL);
    char *names[256];
    int nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nn < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && !strcmp(de->d_name + l - 5, ".test")) names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nn, sizeof(char *), cmpname);
    for (int i = 0; i < nn; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int before = nfail;
        run_file(path);
        if (getenv("QTEST_VERBOSE")) fprintf(stderr, "%s: %s\n", names[i], nfail == before ? "ok" : "FAILED");
        free(names[i]);
    }
    fprintf(stderr, "sqllogic: %d records, %d failed\n", nrun, nfail);
    QCHECK(nn > 0);
    QCHECK_EQ(nfail, 0);
}
