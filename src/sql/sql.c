/* Public API: context, prepare/next/free, DDL and DML execution, EXPLAIN.
   A sql_query owns its arena (AST, bound expressions), its plan (operators,
   opened tables and snapshots) and its result schema. DDL/DML run on the
   first next() and produce one row; SELECT streams chunks converted to
   batches, or for a plain column projection hands out storage arrays. */
#include "query_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


int sql_ctx_new(st_db *db, int threads, int64_t query_memory, sql_ctx **out, qv_err *err) {
    (void)err;
    sql_ctx *c = qv_xcalloc(1, sizeof *c);
    c->db = db;
    c->threads = threads > 0 ? threads : qv_cpu_count();
    c->query_memory = query_memory > 0 ? query_memory : ((int64_t)1 << 30);
    if (c->threads > 1) c->pool = sql_pool_new(c->threads);
    *out = c;
    return 0;
}

void sql_ctx_free(sql_ctx *c) {
    if (!c) return;
    sql_pool_free(c->pool);
    free(c);
}

static void set_result_schema(sql_query *q) {
    qv_schema_init(&q->schema);
    switch (q->st->kind) {
    case S_CREATE:
        if (q->st->sel) qv_schema_add(&q->schema, "rows", QV_T_INT64, false); /* CREATE TABLE ... AS SELECT */
        else qv_schema_add(&q->schema, "ok", QV_T_BOOL, false);
        break;
    case S_DROP: qv_schema_add(&q->schema, "ok", QV_T_BOOL, false); break;
    case S_INSERT: qv_schema_add(&q->schema, "rows", QV_T_INT64, false); break;
    case S_SHOW: qv_schema_add(&q->schema, "name", QV_T_STRING, false); break;
    case S_DESCRIBE:
        qv_schema_add(&q->schema, "column_name", QV_T_STRING, false);
        qv_schema_add(&q->schema, "column_type", QV_T_STRING, false);
        qv_schema_add(&q->schema, "null", QV_T_STRING, false);
        break;
    case S_EXPLAIN: qv_schema_add(&q->schema, "plan", QV_T_STRING, false); break;
    case S_TRUNCATE: qv_schema_add(&q->schema, "rows", QV_T_INT64, false); break;
    case S_RETENTION: qv_schema_add(&q->schema, "ok", QV_T_BOOL, false); break;
    case S_DELETE: qv_schema_add(&q->schema, "rows", QV_T_INT64, false); break;
    case S_SELECT: break;
    }
}

static char *explain_text(sql_query *q) {
    qv_str s;
    qv_str_init(&s);
    if (q->pl.logical) {
        qv_str_appendf(&s, "LOGICAL PLAN\n");
        plan_logical_print(q->pl.logical, &q->ar, &s, 1);
        qv_str_appendf(&s, "PHYSICAL PLAN\n");
    }
    if (q->pl.passthrough) {
        qv_str_appendf(&s, "%sSCAN (zero-copy) columns=[", q->pl.logical ? "  " : "");
        for (int i = 0; i < q->pl.schema.nfields; i++)
            qv_str_appendf(&s, "%s%s", i ? ", " : "", q->pl.schema.fields[i].name);
        qv_str_appendf(&s, "]");
        if (q->pl.pt_limit >= 0 || q->pl.pt_offset)
            qv_str_appendf(&s, " limit=%lld offset=%lld", (long long)q->pl.pt_limit, (long long)q->pl.pt_offset);
        qv_str_appendc(&s, '\n');
    } else {
        op_explain(q->pl.root, &s, q->pl.logical ? 1 : 0);
    }
    qstate_explain_inits(&q->qs, &s);
    return qv_str_steal(&s);
}

/* EXPLAIN DELETE: the statement, then the plan of the rows it would mark
   (the scan with its row-group pruning and the filter), or none. */
static char *explain_delete_text(sql_query *q) {
    const stmt *d = q->st->kind == S_EXPLAIN ? q->st->inner : q->st;
    qv_str s;
    qv_str_init(&s);
    if (!q->has_plan) {
        qv_str_appendf(&s, "DELETE FROM %s: every row, no scan (each row group marked whole)\n", d->table);
        return qv_str_steal(&s);
    }
    qv_str_appendf(&s, "DELETE FROM %s: marks the rows the plan below lets through, commits them at once\n", d->table);
    char *p = explain_text(q);
    for (const char *t = p; *t;) {
        const char *e = strchr(t, '\n');
        size_t n = e ? (size_t)(e - t) : strlen(t);
        qv_str_appendf(&s, "  %.*s\n", (int)n, t);
        t += n + (e ? 1 : 0);
    }
    free(p);
    return qv_str_steal(&s);
}

static int prepare(sql_ctx *c, const char *text, size_t len, const sql_scope *scope, sql_query **out, qv_err *err) {
    qv_err_clear(err);
    *out = NULL;
    sql_query *q = qv_xcalloc(1, sizeof *q);
    q->ctx = c;
    arena_init(&q->ar);
    atomic_init(&q->qs.cancelled, 0);
    atomic_init(&q->qs.mem, 0);
    atomic_init(&q->qs.rows_read, 0);
    atomic_init(&q->qs.bytes_read, 0);
    q->qs.mem_limit = c->query_memory;
    q->qs.ctx = c;
    q->total_rows = -1;
    arena_init(&q->parr);
    qv_schema_init(&q->pschema);
    if (scope && scope->table) {
        q->scope.table = arena_strdup(&q->ar, scope->table);
        q->scope.row_from = scope->row_from;
        q->scope.row_to = scope->row_to;
        q->has_scope = true;
        q->qs.scope = &q->scope;
    }
    if (!text) text = "";
    if (parse_stmt(&q->ar, text, len, &q->st, err)) goto fail;
    stmt *st = q->st;
    sql_params_init(q);
    if (st->kind == S_EXPLAIN && st->inner->kind == S_DELETE) {
        if (sql_delete_explain_prepare(q, err)) goto fail;
        q->explain = explain_delete_text(q);
        set_result_schema(q);
    } else if (st->kind == S_SELECT || st->kind == S_EXPLAIN) {
        select_stmt *sel = st->kind == S_SELECT ? st->sel : st->inner->sel;
        if (!sel) {
            qv_err_set(err, QV_EUNSUPPORTED, "EXPLAIN supports SELECT statements only");
            goto fail;
        }
        if (plan_select(c, &q->qs, &q->ar, sel, true, &q->pl, err)) goto fail;
        q->has_plan = true;
        if (st->kind == S_SELECT) {
            qv_schema_copy(&q->schema, &q->pl.schema);
            q->total_rows = q->pl.total_rows;
            q->pt_skip = q->pl.pt_offset;
            q->pt_left = q->pl.pt_limit;
        } else {
            q->explain = explain_text(q);
            set_result_schema(q);
        }
    } else if (st->kind == S_INSERT || st->kind == S_DELETE || (st->kind == S_CREATE && st->sel)) {
        int rc = st->kind == S_INSERT ? sql_insert_prepare(q, err) : st->kind == S_DELETE ? sql_delete_prepare(q, err)
                                                                                         : sql_ctas_prepare(q, err);
        if (rc) goto fail;
        set_result_schema(q);
        q->total_rows = 1;
    } else {
        if (st->kind == S_DESCRIBE && st->sel) { /* planned, never run: its schema is the answer */
            if (plan_select(c, &q->qs, &q->ar, st->sel, false, &q->pl, err)) goto fail;
            q->has_plan = true;
        } else if (st->kind == S_DESCRIBE) {
            st_table *t;
            if (sql_table_open(c->db, st->table, &t, err)) {
                if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", st->table);
                goto fail;
            }
            st_table_release(t);
        }
        set_result_schema(q);
        q->total_rows = st->kind == S_SHOW || st->kind == S_DESCRIBE ? -1 : 1;
    }
    sql_params_done(q);
    *out = q;
    return 0;
fail:
    sql_query_free(q);
    return err->code ? err->code : QV_EINTERNAL;
}

int sql_query_prepare(sql_ctx *c, const char *text, size_t len, sql_query **out, qv_err *err) {
    return prepare(c, text, len, NULL, out, err);
}

int sql_query_prepare_scoped(sql_ctx *c, const char *text, size_t len, const sql_scope *scope, sql_query **out,
                             qv_err *err) {
    return prepare(c, text, len, scope, out, err);
}

const qv_schema *sql_query_schema(const sql_query *q) { return &q->schema; }
int64_t sql_query_total_rows(const sql_query *q) { return q->total_rows; }
void sql_query_cancel(sql_query *q) { atomic_store(&q->qs.cancelled, 1); }

void sql_query_read_stats(const sql_query *q, int64_t *rows, int64_t *bytes) {
    *rows = atomic_load(&((sql_query *)q)->qs.rows_read);
    *bytes = atomic_load(&((sql_query *)q)->qs.bytes_read);
}

void sql_query_free(sql_query *q) {
    if (!q) return;
    if (q->has_plan) plan_free(&q->pl);
    sql_insert_free(q);
    qstate_free_inits(&q->qs);
    sql_params_free(q);
    qv_schema_free(&q->schema);
    stmt_free(q->st);
    free(q->explain);
    arena_free(&q->ar);
    free(q);
}

/* The one-row, one-column result of INSERT and TRUNCATE (rows affected). */
static void one_row_i64(sql_query *q, qv_batch *out, int64_t v) {
    qv_batch_init(out, &q->schema);
    qv_builder b;
    qv_builder_init(&b, QV_T_INT64, 1);
    qv_builder_append_i64(&b, v);
    qv_array_free(&out->cols[0]);
    qv_builder_finish(&b, &out->cols[0]);
    qv_builder_free(&b);
    out->nrows = 1;
}

static void one_row_bool(sql_query *q, qv_batch *out, bool v) {
    qv_batch_init(out, &q->schema);
    qv_builder b;
    qv_builder_init(&b, QV_T_BOOL, 1);
    qv_builder_append_bool(&b, v);
    qv_array_free(&out->cols[0]);
    qv_builder_finish(&b, &out->cols[0]);
    qv_builder_free(&b);
    out->nrows = 1;
}

/* The statements that answer one small batch (DDL, DML counts, SHOW,
   DESCRIBE, EXPLAIN): one runner each, in a table indexed by stmt_kind. */
static int run_create(sql_query *q, qv_batch *out, qv_err *err) {
    stmt *st = q->st;
    if (st->sel) {
        int64_t rows = 0;
        if (sql_ctas_run(q, &rows, err)) return err->code;
        one_row_i64(q, out, rows);
        return 0;
    }
    if (st->if_flag) {
        st_table *t;
        qv_err tmp = {0};
        if (st_table_open(q->ctx->db, st->table, &t, &tmp) == 0) {
            st_table_release(t);
            one_row_bool(q, out, false);
            return 0;
        }
    }
    if (st_table_create(q->ctx->db, st->table, &st->schema, err)) return err->code;
    one_row_bool(q, out, true);
    return 0;
}

static int run_drop(sql_query *q, qv_batch *out, qv_err *err) {
    stmt *st = q->st;
    const char *name = st->table;
    st_table *t;
    qv_err tmp = {0};
    if (sql_table_open(q->ctx->db, st->table, &t, &tmp) == 0) { /* the stored spelling of the name */
        name = arena_strdup(&q->ar, st_table_name(t));
        st_table_release(t);
    }
    if (st_table_drop(q->ctx->db, name, err)) {
        if (err->code == QV_ENOTFOUND && st->if_flag) {
            qv_err_clear(err);
            one_row_bool(q, out, false);
            return 0;
        }
        if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", st->table);
        return err->code;
    }
    one_row_bool(q, out, true);
    return 0;
}

static int run_insert(sql_query *q, qv_batch *out, qv_err *err) {
    int64_t rows = 0;
    if (sql_insert_run(q, &rows, err)) return err->code;
    one_row_i64(q, out, rows);
    return 0;
}

static int run_delete(sql_query *q, qv_batch *out, qv_err *err) {
    int64_t rows = 0;
    if (sql_delete_run(q, &rows, err)) return err->code;
    one_row_i64(q, out, rows);
    return 0;
}

/* The table's stored spelling (arena), or a clear "does not exist". */
static const char *stored_name(sql_query *q, qv_err *err) {
    st_table *t;
    if (sql_table_open(q->ctx->db, q->st->table, &t, err)) {
        if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", q->st->table);
        return NULL;
    }
    const char *name = arena_strdup(&q->ar, st_table_name(t));
    st_table_release(t);
    return name;
}

static int run_truncate(sql_query *q, qv_batch *out, qv_err *err) {
    const char *name = stored_name(q, err);
    int64_t rows = 0;
    if (!name || st_table_truncate(q->ctx->db, name, &rows, err)) return err->code;
    one_row_i64(q, out, rows);
    return 0;
}

static int run_retention(sql_query *q, qv_batch *out, qv_err *err) {
    const char *name = stored_name(q, err);
    if (!name || st_table_set_retention(q->ctx->db, name, q->st->column, q->st->interval_ns, err)) return err->code;
    one_row_bool(q, out, true);
    return 0;
}

/* Column col of out from b (a STRING builder of n values). */
static void string_column(qv_batch *out, int col, qv_builder *b, int64_t n) {
    qv_array_free(&out->cols[col]);
    qv_builder_finish(b, &out->cols[col]);
    qv_builder_free(b);
    out->nrows = n;
}

static int run_show(sql_query *q, qv_batch *out, qv_err *err) {
    st_table_info *infos;
    int n;
    if (st_db_list(q->ctx->db, &infos, &n, err)) return err->code;
    qv_batch_init(out, &q->schema);
    qv_builder b;
    qv_builder_init(&b, QV_T_STRING, n);
    for (int i = 0; i < n; i++) qv_builder_append_str(&b, infos[i].name, (int32_t)strlen(infos[i].name));
    string_column(out, 0, &b, n);
    st_table_info_free_all(infos, n);
    return 0;
}

static int run_describe(sql_query *q, qv_batch *out, qv_err *err) {
    st_table *t = NULL;
    if (!q->st->sel && sql_table_open(q->ctx->db, q->st->table, &t, err)) {
        if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", q->st->table);
        return err->code;
    }
    const qv_schema *s = t ? st_table_schema(t) : &q->pl.schema;
    qv_batch_init(out, &q->schema);
    qv_builder b[3];
    for (int i = 0; i < 3; i++) qv_builder_init(&b[i], QV_T_STRING, s->nfields);
    for (int i = 0; i < s->nfields; i++) {
        const qv_field *f = &s->fields[i];
        const char *ty = type_name(sql_field_type(f));
        qv_builder_append_str(&b[0], f->name, (int32_t)strlen(f->name));
        qv_builder_append_str(&b[1], ty, (int32_t)strlen(ty));
        qv_builder_append_str(&b[2], f->nullable ? "YES" : "NO", f->nullable ? 3 : 2);
    }
    for (int i = 0; i < 3; i++) string_column(out, i, &b[i], s->nfields);
    if (t) st_table_release(t);
    return 0;
}

static int run_explain(sql_query *q, qv_batch *out, qv_err *err) {
    (void)err;
    qv_batch_init(out, &q->schema);
    qv_builder b;
    qv_builder_init(&b, QV_T_STRING, 8);
    int n = 0;
    const char *p = q->explain;
    while (p && *p) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        qv_builder_append_str(&b, p, (int32_t)l);
        n++;
        p += l + (e ? 1 : 0);
    }
    string_column(out, 0, &b, n);
    return 0;
}

/* S_SELECT streams through the plan instead (NULL here). */
static int (*const run_of_kind[])(sql_query *, qv_batch *, qv_err *) = {
    [S_SELECT] = NULL,        [S_CREATE] = run_create,     [S_DROP] = run_drop,
    [S_INSERT] = run_insert,  [S_SHOW] = run_show,         [S_DESCRIBE] = run_describe,
    [S_EXPLAIN] = run_explain, [S_TRUNCATE] = run_truncate, [S_RETENTION] = run_retention,
    [S_DELETE] = run_delete,
};
_Static_assert(sizeof run_of_kind / sizeof run_of_kind[0] == S_DELETE + 1, "a runner per stmt_kind");

static int run_other(sql_query *q, qv_batch *out, qv_err *err) {
    int (*run)(sql_query *, qv_batch *, qv_err *) = run_of_kind[q->st->kind];
    if (!run) return qv_err_set(err, QV_EINTERNAL, "unexpected statement");
    return run(q, out, err);
}

int sql_query_next(sql_query *q, qv_batch *out, bool *eos, qv_err *err) {
    qv_err_clear(err);
    *eos = false;
    if (q->done) { *eos = true; return 0; }
    if (qstate_check(&q->qs, err)) return err->code;
    if (sql_params_check(q, err)) return err->code;
    q->started = true;
    if (qstate_run_inits(&q->qs, err)) {
        q->done = true;
        return err->code;
    }
    if (q->st->kind != S_SELECT) {
        q->done = true;
        return run_other(q, out, err);
    }
    if (q->pl.passthrough) {
        int rc = sql_next_passthrough(q, out, eos, err);
        if (rc || *eos) q->done = true;
        return rc;
    }
    /* executor chunks are small; result batches gather up to OUT_ROWS rows */
    enum { OUT_ROWS = 65536 };
    const qv_schema *sch = &q->schema;
    qv_builder *b = qv_xcalloc((size_t)(sch->nfields ? sch->nfields : 1), sizeof(qv_builder));
    for (int i = 0; i < sch->nfields; i++) qv_builder_init(&b[i], sch->fields[i].type, CHUNK);
    int64_t rows = 0;
    int rc = 0;
    while (rows < OUT_ROWS) {
        chunk *c;
        if ((rc = q->pl.root->next(q->pl.root, &c, err))) break;
        if (!c) {
            q->done = true;
            break;
        }
        int m = chunk_active(c);
        for (int i = 0; i < sch->nfields; i++)
            for (int k = 0; k < m; k++) sql_append_vec(&b[i], sch->fields[i].type, &c->cols[i], chunk_row(c, k));
        rows += m;
    }
    if (!rc && rows > 0) {
        qv_batch_init(out, sch);
        for (int i = 0; i < sch->nfields; i++) {
            qv_array_free(&out->cols[i]);
            qv_builder_finish(&b[i], &out->cols[i]);
        }
        out->nrows = rows;
    }
    for (int i = 0; i < sch->nfields; i++) qv_builder_free(&b[i]);
    free(b);
    if (rc) {
        q->done = true;
        return rc;
    }
    if (!rows) *eos = true;
    return 0;
}

char *sql_explain(sql_ctx *c, const char *text, size_t len, qv_err *err) {
    sql_query *q;
    if (sql_query_prepare(c, text, len, &q, err)) return NULL;
    char *r;
    if (q->st->kind == S_EXPLAIN) r = qv_xstrdup(q->explain);
    else if (q->st->kind == S_DELETE) r = explain_delete_text(q);
    else if (q->has_plan) r = explain_text(q);
    else {
        static const char *nm[] = {"SELECT", "CREATE TABLE", "DROP TABLE", "INSERT", "SHOW TABLES", "DESCRIBE", "EXPLAIN",
                                   "TRUNCATE", "ALTER TABLE SET RETENTION", "DELETE FROM"};
        qv_str s;
        qv_str_init(&s);
        qv_str_appendf(&s, "%s %s\n", nm[q->st->kind], q->st->table ? q->st->table : "");
        r = qv_str_steal(&s);
    }
    sql_query_free(q);
    return r;
}

sql_access sql_query_access(const sql_query *q, const char **verb) {
    static const char *const verbs[] = {"SELECT",   "CREATE TABLE", "DROP TABLE", "INSERT",
                                        "SHOW TABLES", "DESCRIBE", "EXPLAIN", "TRUNCATE",
                                        "ALTER TABLE SET RETENTION", "DELETE"};
    if (verb) *verb = (size_t)q->st->kind < sizeof verbs / sizeof verbs[0] ? verbs[q->st->kind] : "?";
    switch (q->st->kind) {
    case S_SELECT: case S_SHOW: case S_DESCRIBE: case S_EXPLAIN: return SQL_ACCESS_READ;
    case S_CREATE: case S_INSERT: case S_DELETE: return SQL_ACCESS_WRITE;
    /* Dropping rows wholesale or changing how long they live is the admin's. */
    case S_DROP: case S_TRUNCATE: case S_RETENTION: return SQL_ACCESS_ADMIN;
    }
    return SQL_ACCESS_ADMIN; /* a statement kind nobody classified: the strictest */
}

/* ---- text form of values (tools, tests) ---- */
void sql_format_value(const qv_field *f, const qv_array *a, int64_t i, qv_str *out) {
    if (!qv_array_is_valid(a, i)) {
        qv_str_append(out, "NULL", 4);
        return;
    }
    char buf[64];
    switch (a->type) {
    case QV_T_INT32: qv_str_appendf(out, "%d", qv_array_get_i32(a, i)); break;
    case QV_T_INT64: qv_str_appendf(out, "%lld", (long long)qv_array_get_i64(a, i)); break;
    case QV_T_DATE: qv_str_append(out, buf, qv_date_format(qv_array_get_i32(a, i), buf, sizeof buf)); break;
    case QV_T_DECIMAL: qv_str_append(out, buf, qv_dec_format(qv_array_get_i64(a, i), f->scale, buf, sizeof buf)); break;
    case QV_T_INTERVAL: qv_str_append(out, buf, qv_interval_format(qv_array_get_i64(a, i), buf, sizeof buf)); break;
    case QV_T_TIME: qv_str_append(out, buf, qv_time_format(qv_array_get_i64(a, i), buf, sizeof buf)); break;
    case QV_T_BOOL: qv_str_appendf(out, "%s", qv_array_get_bool(a, i) ? "true" : "false"); break;
    case QV_T_TIMESTAMP: {
        ts_format(qv_array_get_i64(a, i), buf, sizeof buf);
        qv_str_appendf(out, "%s", buf);
        /* the one text form, with a fraction padded to microseconds for the
           tools: the Python tests compare it with str(datetime) */
        const char *dot = strchr(buf, '.');
        for (size_t l = dot ? strlen(dot + 1) : 6; l < 6; l++) qv_str_appendc(out, '0');
        break;
    }
    case QV_T_FLOAT32:
    case QV_T_FLOAT64: {
        double v = a->type == QV_T_FLOAT32 ? (double)qv_array_get_f32(a, i) : qv_array_get_f64(a, i);
        size_t n = qv_float_format(v, a->type == QV_T_FLOAT32, buf);
        /* the one text form, except that the tools and sqllogic files show an
           integral value as an integer ("3", not "3.0"), as sqllogictest does */
        if (n > 2 && !strcmp(buf + n - 2, ".0")) n -= 2;
        qv_str_append(out, buf, n);
        break;
    }
    case QV_T_STRING:
    case QV_T_SYMBOL: {
        int32_t n;
        const char *p = qv_array_get_str(a, i, &n);
        if (n == 0) qv_str_appendf(out, "(empty)");
        else qv_str_append(out, p, (size_t)n);
        break;
    }
    default: qv_str_appendf(out, "?"); break;
    }
}
