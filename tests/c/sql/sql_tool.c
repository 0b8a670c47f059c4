/* sql_tool: runs SQL statements against an in-memory (or on-disk) database
   and prints results in an exact text form, for debugging and for the
   differential test. One statement per input line. For each statement it
   prints either
     OK <ncols> <nrows>\n<names, tab-separated>\n<types>\n<rows, tab-separated values>
   or
     ERROR <status> <message>
   and then a line "END". Flags: --threads N, --memory BYTES, --data-dir DIR,
   --rowgroup-rows N. */
#include "sql/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run(sql_ctx *c, const char *sql) {
    qv_err err = {0};
    sql_query *q;
    if (sql_query_prepare(c, sql, strlen(sql), &q, &err)) {
        printf("ERROR %s %s\nEND\n", qv_status_name(err.code), err.msg);
        return;
    }
    const qv_schema *s = sql_query_schema(q);
    qv_str out;
    qv_str_init(&out);
    int64_t rows = 0;
    for (;;) {
        qv_batch b;
        bool eos;
        memset(&b, 0, sizeof b);
        if (sql_query_next(q, &b, &eos, &err)) {
            printf("ERROR %s %s\nEND\n", qv_status_name(err.code), err.msg);
            qv_str_free(&out);
            sql_query_free(q);
            return;
        }
        if (eos) break;
        if (qv_batch_validate(&b, &err)) {
            printf("ERROR %s invalid batch: %s\nEND\n", qv_status_name(err.code), err.msg);
            qv_batch_free(&b);
            qv_str_free(&out);
            sql_query_free(q);
            return;
        }
        for (int64_t r = 0; r < b.nrows; r++) {
            for (int i = 0; i < b.schema.nfields; i++) {
                if (i) qv_str_appendc(&out, '\t');
                sql_format_value(&b.schema.fields[i], &b.cols[i], r, &out);
            }
            qv_str_appendc(&out, '\n');
        }
        rows += b.nrows;
        qv_batch_free(&b);
    }
    printf("OK %d %lld\n", s->nfields, (long long)rows);
    for (int i = 0; i < s->nfields; i++) printf("%s%s", i ? "\t" : "", s->fields[i].name);
    printf("\n");
    for (int i = 0; i < s->nfields; i++) {
        char dn[32];
        printf("%s%s", i ? "\t" : "", qv_field_type_name(&s->fields[i], dn, sizeof dn));
    }
    printf("\n");
    if (out.len) fwrite(out.data, 1, out.len, stdout);
    printf("END\n");
    fflush(stdout);
    qv_str_free(&out);
    sql_query_free(q);
}

int main(int argc, char **argv) {
    int threads = 2;
    int64_t mem = 0;
    const char *dir = NULL;
    int64_t rg_rows = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--memory") && i + 1 < argc) mem = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--data-dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--rowgroup-rows") && i + 1 < argc) rg_rows = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: sql_tool [--threads N] [--memory BYTES] [--data-dir DIR] [--rowgroup-rows N] < statements\n");
            return 2;
        }
    }
    st_options o = {.data_dir = dir, .in_memory = dir == NULL, .rowgroup_rows = rg_rows};
    st_db *db;
    qv_err err = {0};
    if (st_db_open(&o, &db, &err)) {
        fprintf(stderr, "sql_tool: %s\n", err.msg);
        return 1;
    }
    sql_ctx *c;
    if (sql_ctx_new(db, threads, mem, &c, &err)) {
        fprintf(stderr, "sql_tool: %s\n", err.msg);
        return 1;
    }
    size_t cap = 0;
    char *line = NULL;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (n == 0) continue;
        run(c, line);
        fflush(stdout);
    }
    free(line);
    sql_ctx_free(c);
    st_db_close(db);
    return 0;
}
