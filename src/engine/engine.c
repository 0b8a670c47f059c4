/*
** engine: opens storage and the SQL context, and wraps queries so every
** front end gets the same metrics and the same life cycle:
**   eng_query_open (prepared, nothing run) -> next ... next (eos) -> close.
** A query is driven by one thread; eng_query_cancel may come from any other.
*/
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

const double eng_latency_bounds[12] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

typedef struct sql_start {
    st_db *db;
    int threads;
    int64_t mem;
    sql_ctx **out;
    qv_err *err;
    int rc;
} sql_start;

static void start_sql(void *arg) {
    sql_start *s = arg;
    s->rc = sql_ctx_new(s->db, s->threads, s->mem, s->out, s->err);
}

int eng_open(const eng_options *opts, eng **out, qv_err *err) {
    eng *e = qv_xcalloc(1, sizeof *e);
    e->started_ns = qv_monotonic_ns();
    if (st_db_open(&opts->storage, &e->db, err)) {
        free(e);
        return err->code;
    }
    if (eng_key_load(e, opts, err)) {
        st_db_close(e->db);
        free(e);
        return err->code;
    }
    int threads = opts->threads > 0 ? opts->threads : qv_cpu_count();
    int64_t mem = opts->query_memory > 0 ? opts->query_memory : (1LL << 30);
    sql_start sst = {e->db, threads, mem, &e->sql, err, 0};
    eng_sched_start_niced(start_sql, &sst); /* its pool workers run at the query priority */
    if (sst.rc) {
        st_db_close(e->db);
        free(e);
        return err->code;
    }
    e->sessions = eng_sessions_new();
    e->sched = eng_sched_new(threads, opts);
    e->query_timeout_ms = opts->query_timeout_ms;
    e->subscriber_buffer = opts->subscriber_buffer;
    e->subscriber_interval_ns = opts->subscriber_interval_ns;
    e->hub = eng_hub_new(e); /* before any commit, demo rows included */
    if (opts->demo_rows > 0 && eng_demo_create(e, opts->demo_rows, err)) {
        eng_close(e);
        return err->code;
    }
    *out = e;
    return QV_OK;
}

void eng_close(eng *e) {
    if (!e) return;
    eng_sched_free(e->sched);
    eng_hub_free(e->hub);
    sql_ctx_free(e->sql);
    st_db_close(e->db);
    eng_sessions_free(e->sessions);
    free(e);
}

/* scope NULL: the whole query; else scans of scope->table see only those rows. */
static int query_open(eng *e, const char *sql, size_t len, const sql_scope *scope, eng_query **out, qv_err *err) {
    atomic_fetch_add(&e->metrics.queries, 1);
    sql_query *q;
    if (scope ? sql_query_prepare_scoped(e->sql, sql, len, scope, &q, err) : sql_query_prepare(e->sql, sql, len, &q, err)) {
        atomic_fetch_add(&e->metrics.query_errors, 1);
        return err->code;
    }
    eng_query *eq = qv_xcalloc(1, sizeof *eq);
    eq->e = e;
    eq->q = q;
    pthread_mutex_init(&eq->mu, NULL);
    eq->started_ns = qv_monotonic_ns();
    if (e->query_timeout_ms > 0) eng_sched_watch(e, eq, eq->started_ns + e->query_timeout_ms * 1000000);
    *out = eq;
    return QV_OK;
}

int eng_query_open(eng *e, const char *sql, size_t len, eng_query **out, qv_err *err) {
    return query_open(e, sql, len, NULL, out, err);
}

bool eng_sql_scan_of(const eng_query *q, const char **table, bool *ordered) {
    *table = NULL;
    *ordered = false;
    bool scan = sql_query_is_scan(q->q, table, ordered);
    *ordered = *ordered || sql_query_orders(q->q);
    return scan;
}

int eng_sql_open_range(eng *e, const char *sql, size_t len, const eng_range *r, eng_query **out, qv_err *err) {
    sql_scope scope = {.table = r->table, .row_from = r->row_from, .row_to = r->row_to};
    return query_open(e, sql, len, &scope, out, err);
}

const qv_schema *eng_query_schema(const eng_query *q) { return sql_query_schema(q->q); }
int64_t eng_query_total_rows(const eng_query *q) { return sql_query_total_rows(q->q); }

int64_t eng_query_total_bytes(const eng_query *q) {
    (void)q;
    return -1; /* not known before running; Flight reports -1 */
}

/* Prepare the statement again for the next parameter row (same schema). */
static int next_row(eng_query *q, qv_err *err) {
    sql_query *nq;
    if (sql_query_prepare(q->e->sql, q->sql, q->len, &nq, err)) return err->code;
    if (sql_query_bind(nq, &q->params, q->row, err)) {
        sql_query_free(nq);
        return err->code;
    }
    pthread_mutex_lock(&q->mu);
    sql_query *old = q->q;
    q->q = nq;
    if (q->cancelled) sql_query_cancel(nq);
    pthread_mutex_unlock(&q->mu);
    sql_query_free(old);
    return QV_OK;
}

int eng_query_next(eng_query *q, qv_batch *out, bool *eos, qv_err *err) {
    int rc = sql_query_next(q->q, out, eos, err);
    while (rc == QV_OK && *eos && q->bound && q->row + 1 < q->params.nrows) {
        q->row++;
        rc = next_row(q, err);
        if (rc == QV_OK) rc = sql_query_next(q->q, out, eos, err);
    }
    if (rc) q->failed = true;
    if (rc == QV_ECANCELLED && q->timed_out) {
        atomic_fetch_add(&q->e->metrics.refusals[ENG_REFUSE_TIMEOUT], 1);
        rc = qv_err_set(err, QV_ETIMEOUT, "query stopped after %lld ms: over its time limit "
                        "(--query-timeout, max_execution_time or the client's deadline)",
                        (long long)((qv_monotonic_ns() - q->started_ns) / 1000000));
    }
    return rc;
}

int eng_query_open_bound(eng *e, const char *sql, size_t len, const qv_batch *params, eng_query **out,
                         qv_err *err) {
    if (eng_query_open(e, sql, len, out, err)) return err->code;
    eng_query *q = *out;
    if (params->nrows == 0) return QV_OK; /* runs unbound: a statement with parameters says which is missing */
    if (sql_query_bind(q->q, params, 0, err)) {
        q->failed = true;
        eng_query_close(q);
        *out = NULL;
        return err->code;
    }
    if (params->nrows > 1) {
        q->bound = true;
        qv_batch_copy_ref(&q->params, params);
        q->sql = qv_xstrndup(sql, len);
        q->len = len;
    }
    return QV_OK;
}

int eng_query_param_count(const eng_query *q) { return sql_query_param_count(q->q); }
const qv_schema *eng_query_param_schema(const eng_query *q) { return sql_query_param_schema(q->q); }
int eng_query_bind(eng_query *q, const qv_batch *params, int64_t row, qv_err *err) {
    return sql_query_bind(q->q, params, row, err);
}

void eng_query_cancel(eng_query *q) {
    pthread_mutex_lock(&q->mu);
    q->cancelled = true;
    sql_query_cancel(q->q);
    pthread_mutex_unlock(&q->mu);
}

void eng_query_set_timeout(eng_query *q, int64_t ms) {
    if (ms <= 0) return;
    eng_sched_watch(q->e, q, qv_monotonic_ns() + ms * 1000000);
}


void eng_query_read_stats(const eng_query *q, int64_t *rows, int64_t *bytes) {
    sql_query_read_stats(q->q, rows, bytes);
}

void eng_query_close(eng_query *q) {
    if (!q) return;
    if (q->watched) eng_sched_unwatch(q->e, q);
    eng_metrics *m = &q->e->metrics;
    double secs = (double)(qv_monotonic_ns() - q->started_ns) / 1e9;
    for (int i = 0; i < 12; i++)
        if (secs <= eng_latency_bounds[i]) {
            atomic_fetch_add(&m->latency_buckets[i], 1);
            break;
        }
    atomic_fetch_add(&m->latency_count, 1);
    atomic_fetch_add(&m->latency_sum_us, (long long)(secs * 1e6));
    if (q->failed) atomic_fetch_add(&m->query_errors, 1);
    sql_query_free(q->q);
    pthread_mutex_destroy(&q->mu);
    if (q->bound) qv_batch_free(&q->params);
    free(q->sql);
    free(q);
}

eng_access eng_query_access(const eng_query *q, const char **verb) {
    switch (sql_query_access(q->q, verb)) {
    case SQL_ACCESS_READ: return ENG_ACCESS_READ;
    case SQL_ACCESS_WRITE: return ENG_ACCESS_WRITE;
    case SQL_ACCESS_ADMIN: return ENG_ACCESS_ADMIN;
    }
    return ENG_ACCESS_ADMIN;
}

char *eng_explain(eng *e, const char *sql, size_t len, qv_err *err) {
    return sql_explain(e->sql, sql, len, err);
}

int eng_tables(eng *e, st_table_info **out, int *n, qv_err *err) { return st_db_list(e->db, out, n, err); }

int eng_drop_table(eng *e, const char *name, qv_err *err) { return st_table_drop(e->db, name, err); }

int eng_describe_table(eng *e, const char *name, qv_str *json, qv_err *err) {
    st_table_info *infos;
    int n;
    if (st_db_list(e->db, &infos, &n, err)) return err->code;
    int found = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(infos[i].name, name) == 0) found = i;
    if (found < 0) {
        st_table_info_free_all(infos, n);
        return qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", name);
    }
    st_table_info *t = &infos[found];
    qv_str_append(json, "{\"name\":", 8);
    qv_str_append_json_string(json, t->name, strlen(t->name));
    qv_str_append(json, ",\"columns\":[", 12);
    for (int i = 0; i < t->schema.nfields; i++) {
        const qv_field *f = &t->schema.fields[i];
        qv_str_append(json, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
        qv_str_append_json_string(json, f->name, strlen(f->name));
        char dn[32]; /* a DECIMAL is named with its precision and scale */
        qv_str_appendf(json, ",\"type\":\"%s\",\"nullable\":%s}", qv_field_type_name(f, dn, sizeof dn),
                       f->nullable ? "true" : "false");
    }
    qv_str_appendf(json, "],\"rows\":%lld,\"bytes\":%lld", (long long)t->live_rows, (long long)t->bytes);
    if (t->retention_column) {
        qv_str_appendf(json, ",\"retention\":{\"column\":");
        qv_str_append_json_string(json, t->retention_column, strlen(t->retention_column));
        qv_str_appendf(json, ",\"interval_s\":%lld}}", (long long)(t->retention_ns / 1000000000));
    } else {
        qv_str_appendf(json, ",\"retention\":null}");
    }
    st_table_info_free_all(infos, n);
    return QV_OK;
}

void eng_health_json(eng *e, qv_str *out) {
    st_table_info *infos = NULL;
    int n = 0;
    long long rows = 0;
    qv_err err;
    bool ok = st_db_list(e->db, &infos, &n, &err) == QV_OK;
    for (int i = 0; ok && i < n; i++) rows += infos[i].live_rows;
    if (ok) st_table_info_free_all(infos, n);
    qv_str_appendf(out, "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%lld,\"tables\":%d,\"rows\":%lld",
                   ok ? "ok" : "error", QV_VERSION, (long long)eng_uptime_s(e), ok ? n : 0, rows);
    long long synced = atomic_load(&e->metrics.replica_synced_ns);
    if (synced) qv_str_appendf(out, ",\"replica_lag_ms\":%lld", (long long)((qv_now_ns() - synced) / 1000000));
    eng_replica_health_json(e, out);
    qv_str_appendc(out, '}');
}

eng_metrics *eng_get_metrics(eng *e) { return &e->metrics; }
void eng_storage_stats(eng *e, st_db_stats *out) { st_db_get_stats(e->db, out); }
int64_t eng_uptime_s(const eng *e) { return (qv_monotonic_ns() - e->started_ns) / 1000000000; }
