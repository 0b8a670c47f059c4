/*
** A stand-in engine for the HTTP server tests: queries are "rows N" (one
** INT64 column x = 0..N-1 plus a STRING column, in batches of 1000),
** "fail" (bad SQL), "midfail N" (fails after N rows), "slow" (endless,
** 1 ms per batch, until cancelled). Ingest keeps a row count per table.
** Only what src/http calls is here.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "mock_engine.h"

const double eng_latency_bounds[12] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0};
static eng_metrics metrics;
atomic_int mock_open_queries, mock_cancelled;
atomic_llong mock_ingested;
char mock_last_table[128];
qv_schema mock_last_schema;

struct eng_query {
    qv_schema schema;
    int64_t total, done, fail_at;
    bool slow;
    atomic_bool cancelled;
};

int eng_query_open(eng *e, const char *sql, size_t len, eng_query **out, qv_err *err) {
    (void)e;
    char buf[128];
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, sql, len);
    buf[len] = 0;
    eng_query *q = qv_xcalloc(1, sizeof *q);
    long long n = 0;
    if (sscanf(buf, "rows %lld", &n) == 1) q->total = n, q->fail_at = -1;
    else if (sscanf(buf, "midfail %lld", &n) == 1) q->total = n * 10, q->fail_at = n;
    else if (strncmp(buf, "slow", 4) == 0) q->total = INT64_MAX, q->fail_at = -1, q->slow = true;
    else {
        free(q);
        return qv_err_set(err, QV_EINVAL, "syntax error at position 1: unexpected '%.20s'", buf);
    }
    qv_schema_init(&q->schema);
    qv_schema_add(&q->schema, "x", QV_T_INT64, false);
    qv_schema_add(&q->schema, "s", QV_T_STRING, true);
    atomic_fetch_add(&mock_open_queries, 1);
    *out = q;
    return QV_OK;
}
const qv_schema *eng_query_schema(const eng_query *q) { return &q->schema; }
int64_t eng_query_total_rows(const eng_query *q) { return q->total; }
int64_t eng_query_total_bytes(const eng_query *q) { (void)q; return -1; }
void eng_query_read_stats(const eng_query *q, int64_t *rows, int64_t *bytes) {
    (void)q;
    *rows = 0;
    *bytes = 0;
}

int eng_query_next(eng_query *q, qv_batch *out, bool *eos, qv_err *err) {
    if (atomic_load(&q->cancelled)) return qv_err_set(err, QV_ECANCELLED, "cancelled");
    if (q->fail_at >= 0 && q->done >= q->fail_at) return qv_err_set(err, QV_EINTERNAL, "mock failure");
    if (q->done >= q->total) {
        *eos = true;
        return QV_OK;
    }
    if (q->slow) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    int64_t n = q->total - q->done < 1000 ? q->total - q->done : 1000;
    qv_batch_init(out, &q->schema);
    qv_builder bx, bs;
    qv_builder_init(&bx, QV_T_INT64, n);
    qv_builder_init(&bs, QV_T_STRING, n);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = q->done + i;
        qv_builder_append_i64(&bx, v);
        if (v % 7 == 3) qv_builder_append_null(&bs);
        else {
            char t[32];
            int k = snprintf(t, sizeof t, "s,%lld", (long long)v);
            qv_builder_append_str(&bs, t, k);
        }
    }
    qv_array_free(&out->cols[0]);
    qv_array_free(&out->cols[1]);
    qv_builder_finish(&bx, &out->cols[0]);
    qv_builder_finish(&bs, &out->cols[1]);
    qv_builder_free(&bx);
    qv_builder_free(&bs);
    out->nrows = n;
    q->done += n;
    *eos = false;
    return QV_OK;
}
void eng_query_cancel(eng_query *q) {
    atomic_store(&q->cancelled, true);
}
void eng_query_close(eng_query *q) {
    if (atomic_load(&q->cancelled)) atomic_fetch_add(&mock_cancelled, 1);
    qv_schema_free(&q->schema);
    free(q);
    atomic_fetch_sub(&mock_open_queries, 1);
}

struct eng_put {
    int64_t rows;
    char table[128];
};
int eng_put_begin(eng *e, const char *table, const qv_schema *schema, eng_put **out, qv_err *err) {
    (void)e, (void)err;
    eng_put *p = qv_xcalloc(1, sizeof *p);
    snprintf(p->table, sizeof p->table, "%s", table);
    qv_schema_free(&mock_last_schema);
    qv_schema_copy(&mock_last_schema, schema);
    *out = p;
    return QV_OK;
}
/* The mock's tables are never busy: an async put is ready at once. */
int eng_put_begin_async(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode,
                        void (*wake)(void *arg), void *arg, eng_put **out, qv_err *err) {
    (void)mode, (void)wake, (void)arg;
    return eng_put_begin(e, table, schema, out, err);
}
int eng_put_ready(eng_put *p, bool *ready, qv_err *err) {
    (void)p, (void)err;
    *ready = true;
    return QV_OK;
}
int eng_put_batch(eng_put *p, const qv_batch *b, qv_err *err) {
    if (qv_batch_validate(b, err)) return err->code;
    p->rows += b->nrows;
    return QV_OK;
}
int eng_put_commit(eng_put *p, int64_t *rows, qv_err *err) {
    (void)err;
    *rows = p->rows;
    atomic_fetch_add(&mock_ingested, p->rows);
    snprintf(mock_last_table, sizeof mock_last_table, "%s", p->table);
    free(p);
    return QV_OK;
}
void eng_put_abort(eng_put *p) { free(p); }

int eng_tables(eng *e, st_table_info **out, int *n, qv_err *err) {
    (void)e, (void)err;
    st_table_info *t = qv_xcalloc(1, sizeof *t);
    t->name = qv_xstrdup("typed");
    qv_schema_init(&t->schema);
    qv_schema_add(&t->schema, "i", QV_T_INT32, false);
    qv_schema_add(&t->schema, "ts", QV_T_TIMESTAMP, true);
    qv_schema_add(&t->schema, "sym", QV_T_SYMBOL, true);
    t->rows = 5;
    t->live_rows = 5;
    t->bytes = 100;
    *out = t;
    *n = 1;
    return QV_OK;
}
void st_table_info_free_all(st_table_info *infos, int n) {
    for (int i = 0; i < n; i++) {
        free(infos[i].name);
        qv_schema_free(&infos[i].schema);
    }
    free(infos);
}
int eng_describe_table(eng *e, const char *name, qv_str *json, qv_err *err) {
    (void)e;
    if (strcmp(name, "typed")) return qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", name);
    qv_str_appendf(json, "{\"name\":\"typed\"}");
    return QV_OK;
}
void eng_health_json(eng *e, qv_str *out) {
    (void)e;
    qv_str_appendf(out, "{\"status\":\"ok\"}");
}
eng_metrics *eng_get_metrics(eng *e) { (void)e; return &metrics; }
void eng_storage_stats(eng *e, st_db_stats *out) {
    (void)e;
    memset(out, 0, sizeof *out);
    out->wal_bytes = 42;
}
int64_t eng_uptime_s(const eng *e) { (void)e; return 1; }


/* admission, roles and latency: everything is admitted, everything is a read */
eng_access eng_query_access(const eng_query *q, const char **verb) {
    (void)q;
    if (verb) *verb = "SELECT";
    return ENG_ACCESS_READ;
}
void eng_query_set_timeout(eng_query *q, int64_t ms) { (void)q; (void)ms; }
int eng_sched_admit_wait(eng *e, qv_err *err) { (void)e; (void)err; return QV_OK; }
void eng_sched_release(eng *e) { (void)e; }
void eng_sched_counts(eng *e, int *running, int *queued) { (void)e; *running = 0; *queued = 0; }
void eng_rpc_observe(eng *e, const char *name, int64_t ns) { (void)e; (void)name; (void)ns; }
int eng_rpc_hists(eng *e, eng_rpc_hist *out, int max) { (void)e; (void)out; (void)max; return 0; }
/* Subscriptions are not mocked: the Python tests drive them on a real engine. */
bool eng_is_subscribe(const char *text, size_t len) { (void)text; (void)len; return false; }
int eng_sub_open(eng *e, const char *text, size_t len, const eng_sub_options *o, eng_sub **out, qv_err *err) {
    (void)e; (void)text; (void)len; (void)o; *out = NULL;
    return qv_err_set(err, QV_EUNSUPPORTED, "no subscriptions in the mock engine");
}
const qv_schema *eng_sub_schema(const eng_sub *s) { (void)s; return NULL; }
int eng_sub_next(eng_sub *s, qv_batch *out, bool *got, qv_err *err) {
    (void)s; (void)out; *got = false;
    return qv_err_set(err, QV_EUNSUPPORTED, "no subscriptions in the mock engine");
}
void eng_sub_close(eng_sub *s) { (void)s; }
