/*
** POST /ingest?table=t: an Arrow IPC stream, CSV with a header, or NDJSON,
** loaded through one eng_put (create or append, schema checked, atomic).
** Arrow bodies stream (decoded and appended as they arrive, see below);
** text bodies are spilled to a temporary file as they arrive and read
** through a mapping (page cache, not heap).
**
** Text bodies are read twice: a first pass finds the columns (CSV header,
** union of NDJSON keys) and infers types for columns the table lacks; the
** second converts cells into builders and hands the engine a batch every
** CHUNK rows. Either pass failing aborts the put, so nothing is visible.
*/
#include "http_srv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"

#define CHUNK 65536

typedef enum { IN_ARROW, IN_CSV, IN_NDJSON } in_format;

static int pick_format(struct MHD_Connection *c, in_format *out, qv_err *err) {
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    if (f && *f) {
        if (!strcasecmp(f, "arrow") || !strcasecmp(f, "arrowstream")) *out = IN_ARROW;
        else if (!strcasecmp(f, "csv") || !strcasecmp(f, "csvwithnames")) *out = IN_CSV;
        else if (!strcasecmp(f, "ndjson") || !strcasecmp(f, "jsoneachrow") || !strcasecmp(f, "jsonlines"))
            *out = IN_NDJSON;
        else
            return qv_err_set(err, QV_EINVAL, "unknown ingest format '%.40s' (use arrow, csv or ndjson)", f);
        return QV_OK;
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct) {
        size_t n = strcspn(ct, "; ");
        static const struct {
            const char *t;
            in_format f;
        } types[] = {{"application/vnd.apache.arrow.stream", IN_ARROW}, {"application/octet-stream", IN_ARROW},
                     {"text/csv", IN_CSV},
                     {"application/x-ndjson", IN_NDJSON}, {"application/ndjson", IN_NDJSON},
                     {"application/jsonl", IN_NDJSON}, {"application/x-jsonlines", IN_NDJSON},
                     {"application/json", IN_NDJSON}};
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strlen(types[i].t) == n && !strncasecmp(ct, types[i].t, n)) {
                *out = types[i].f;
                return QV_OK;
            }
    }
    return qv_err_set(err, QV_EINVAL,
                      "cannot tell the body's format from Content-Type '%.60s': use "
                      "application/vnd.apache.arrow.stream, text/csv or application/x-ndjson, or ?format=",
                      ct ? ct : "");
}

/* ---- waiting for a table another stream is writing ----
** libmicrohttpd cannot suspend a connection in thread-per-connection mode
** (its header: MHD_suspend_connection is "not applicable"), and quiverd
** runs one thread per connection because queries block. So an ingest into
** a table whose writer slot another stream holds parks its own connection
** thread on a condition variable, woken by the storage waiter the engine
** queues (eng_put_begin_async, as Flight DoPut): it holds no batches (the
** body is not read meanwhile; TCP pushes back on the client), no shared
** thread and no query slot. After ?lock_acquire_timeout= seconds (default
** 10; ClickHouse's name) it gives up with QV_EBUSY (503, Retry-After) and
** nothing applied; at shutdown it gives up at once. */
#define INGEST_WAIT_DEFAULT_MS 10000

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
} put_wait;

/* Called by storage (holding its lock): only signals. */
static void put_wait_wake(void *arg) {
    put_wait *w = arg;
    pthread_mutex_lock(&w->mu);
    w->woken = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int wait_ms_of(struct MHD_Connection *c, int64_t *out, qv_err *err) {
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lock_acquire_timeout");
    *out = INGEST_WAIT_DEFAULT_MS;
    if (!v || !*v) return QV_OK;
    char *end;
    double secs = strtod(v, &end);
    if (*end || !(secs >= 0 && secs <= 3600))
        return qv_err_set(err, QV_EINVAL, "lock_acquire_timeout must be a number of seconds from 0 to 3600");
    *out = (int64_t)(secs * 1000 + 0.5);
    return QV_OK;
}

/* eng_put_begin for a front end that must not hold data while it waits:
   returns with the table's writer slot taken (or the table to create), or
   QV_EBUSY after wait_ms with nothing begun. */
static int put_begin_waiting(http_server *s, const char *table, const qv_schema *schema, int64_t wait_ms,
                             eng_put **out, qv_err *err) {
    static const eng_put_mode create_or_append = {false, ENG_IF_EXISTS_APPEND};
    put_wait w = {.woken = false};
    pthread_mutex_init(&w.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = NULL;
    eng_put *p = NULL;
    int rc = eng_put_begin_async(s->e, table, schema, &create_or_append, put_wait_wake, &w, &p, err);
    int64_t deadline = qv_monotonic_ns() + wait_ms * 1000000;
    bool ready = false;
    while (rc == QV_OK && !(rc = eng_put_ready(p, &ready, err)) && !ready) {
        pthread_mutex_lock(&w.mu);
        while (!w.woken && qv_monotonic_ns() < deadline && !atomic_load(&s->stopping)) {
            int64_t until = qv_monotonic_ns() + 100000000; /* a look at `stopping` every 100 ms */
            if (until > deadline) until = deadline;
            struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
            pthread_cond_timedwait(&w.cv, &w.mu, &ts);
        }
        bool woken = w.woken;
        w.woken = false;
        pthread_mutex_unlock(&w.mu);
        if (!woken && atomic_load(&s->stopping))
            rc = qv_err_set(err, QV_ECANCELLED, "the server is shutting down; nothing was ingested into '%s'", table);
        else if (!woken)
            rc = qv_err_set(err, QV_EBUSY,
                            "table '%s' is being written by another stream; waited %.1f s for it "
                            "(lock_acquire_timeout), nothing was ingested: retry later",
                            table, (double)wait_ms / 1000);
    }
    if (rc) {
        eng_put_abort(p); /* withdraws the waiter: no wake comes after this */
        p = NULL;
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    *out = p;
    return rc;
}

/* ---- Arrow ---- */

typedef struct {
    http_server *s;
    const char *table;
    eng_put *p;
    int64_t wait_ms;
} arrow_ctx;

static int on_arrow_batch(void *ctx, const qv_batch *b, qv_err *err) {
    arrow_ctx *a = ctx;
    if (!a->p && put_begin_waiting(a->s, a->table, &b->schema, a->wait_ms, &a->p, err)) return err->code;
    return eng_put_batch(a->p, b, err);
}

static void free_body(void *p) { free(p); }

static int ingest_arrow(http_server *s, http_req *r, const char *table, int64_t wait_ms, int64_t *rows,
                        qv_err *err) {
    size_t n = r->body.len;
    char *data = qv_str_steal(&r->body);
    qv_buffer *buf = qv_buffer_wrap(data, n, free_body, data);
    ipc_read_options ro = {.dictionary_as_symbol = true, .max_body_bytes = s->max_body};
    arrow_ctx a = {s, table, NULL, wait_ms};
    qv_schema schema;
    qv_schema_init(&schema);
    int rc = ipc_stream_decode(&ro, buf, on_arrow_batch, &a, &schema, err);
    qv_buffer_unref(buf);
    if (rc == QV_OK && !a.p) rc = put_begin_waiting(s, table, &schema, wait_ms, &a.p, err); /* no batches: still create */
    qv_schema_free(&schema);
    if (rc) {
        if (a.p) eng_put_abort(a.p);
        qv_err_prefix(err, "Arrow body");
        return rc;
    }
    return eng_put_commit(a.p, rows, err);
}

/* ---- Arrow, streamed: the body is decoded and appended as it arrives ----
** The upload callback feeds each piece to an ipc_feed whose batches go
** straight into the eng_put (storage's streaming append), so memory stays
** at about one message whatever the upload's size; the last call commits.
** A failure keeps reading (and dropping) the rest and answers at the end;
** an upload cut short aborts the put: nothing is visible. */
struct http_ingest {
    in_format fmt;
    ipc_feed *feed;  /* Arrow */
    int fd;          /* CSV / NDJSON: the body spilled to an unlinked temporary file, or -1 */
    arrow_ctx a;
    char *table;
    int rc;      /* first failure */
    qv_err err;
    int64_t bytes;
};

/* An unlinked temporary file in $TMPDIR (default /var/tmp: on disk, not tmpfs). */
static int spill_open(qv_err *err) {
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/quiver-ingest-XXXXXX", dir && *dir ? dir : "/var/tmp");
    int fd = mkstemp(path);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot create a spill file for the request body in %s: %s",
                                  dir && *dir ? dir : "/var/tmp", strerror(errno)), -1;
    unlink(path);
    return fd;
}

static int spill_write(int fd, const char *p, size_t n, qv_err *err) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return qv_err_set(err, QV_EIO, "cannot spill the request body: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return QV_OK;
}

bool http_ingest_streams(struct MHD_Connection *c, const http_req *r) {
    if (r->route != R_INGEST) return false;
    const char *table = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "table");
    in_format fmt = IN_ARROW;
    qv_err err;
    return table && *table && pick_format(c, &fmt, &err) == QV_OK;
}

void http_ingest_chunk(http_server *s, struct MHD_Connection *c, http_req *r, const char *p, size_t n) {
    http_ingest *g = r->ing;
    if (!g) {
        g = r->ing = qv_xcalloc(1, sizeof *g);
        g->fd = -1;
        g->table = qv_xstrdup(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "table"));
        g->a = (arrow_ctx){s, g->table, NULL, INGEST_WAIT_DEFAULT_MS};
        if (pick_format(c, &g->fmt, &g->err) || wait_ms_of(c, &g->a.wait_ms, &g->err)) g->rc = g->err.code;
        else if (g->fmt != IN_ARROW) {
            if ((g->fd = spill_open(&g->err)) < 0) g->rc = g->err.code;
        } else {
            ipc_read_options ro = {.dictionary_as_symbol = true, .max_body_bytes = s->max_body};
            ipc_feed_new(&ro, on_arrow_batch, &g->a, &g->feed);
        }
    }
    g->bytes += (int64_t)n;
    if (g->rc) return; /* failed: the rest is dropped */
    if (g->fmt != IN_ARROW) {
        g->rc = spill_write(g->fd, p, n, &g->err);
        return;
    }
    if ((g->rc = ipc_feed_push(g->feed, (const uint8_t *)p, n, &g->err)) != QV_OK) {
        qv_err_prefix(&g->err, "Arrow body");
        if (g->a.p) eng_put_abort(g->a.p);
        g->a.p = NULL;
    }
}

void http_ingest_free(http_req *r) {
    http_ingest *g = r->ing;
    if (!g) return;
    if (g->a.p) eng_put_abort(g->a.p); /* the upload never finished: nothing stays */
    ipc_feed_free(g->feed);
    if (g->fd >= 0) close(g->fd);
    free(g->table);
    free(g);
    r->ing = NULL;
}

static int ingest_text(http_server *s, const char *body, size_t len, in_format fmt, const char *table,
                       int64_t wait_ms, int64_t *rows, qv_err *err);

static int ingest_streamed(http_server *s, http_req *r, const char *table, int64_t *rows, qv_err *err) {
    http_ingest *g = r->ing;
    if (g->rc) {
        *err = g->err;
        return g->rc;
    }
    if (g->fmt != IN_ARROW) { /* read the spilled body through a mapping: page cache, not heap */
        void *m = g->bytes ? mmap(NULL, (size_t)g->bytes, PROT_READ, MAP_PRIVATE, g->fd, 0) : NULL;
        if (m == MAP_FAILED) return qv_err_set(err, QV_EIO, "cannot map the spilled request body: %s", strerror(errno));
        int rc = ingest_text(s, m, (size_t)g->bytes, g->fmt, table, g->a.wait_ms, rows, err);
        if (m) munmap(m, (size_t)g->bytes);
        return rc;
    }
    qv_schema schema;
    int rc = ipc_feed_finish(g->feed, &schema, err);
    if (rc == QV_OK && !g->a.p) rc = put_begin_waiting(s, table, &schema, g->a.wait_ms, &g->a.p, err); /* no batches: still create */
    qv_schema_free(&schema);
    if (rc) {
        qv_err_prefix(err, "Arrow body");
        return rc;
    }
    eng_put *p = g->a.p;
    g->a.p = NULL;
    return eng_put_commit(p, rows, err);
}

/* ---- CSV and NDJSON ---- */

typedef struct {
    char *name;
    http_infer inf;
    qv_type type;     /* what the column is loaded as */
    bool nullable;
    int table_col;    /* in the existing table, or -1 */
    qv_builder b;
} tcol;

typedef struct {
    in_format fmt;
    const char *body;
    size_t len;
    tcol *cols;
    int ncols, cap;
    qv_schema table;  /* existing table's schema, or empty */
    bool have_table;
    eng_put *p;
    qv_schema put_schema;
} text_load;

static int add_col(text_load *t, const char *name, size_t n) {
    if (t->ncols == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cols = qv_xrealloc(t->cols, (size_t)t->cap * sizeof *t->cols);
    }
    tcol *c = &t->cols[t->ncols];
    memset(c, 0, sizeof *c);
    c->name = qv_xstrndup(name, n);
    http_infer_init(&c->inf);
    return t->ncols++;
}

static int find_col(text_load *t, const char *name, int hint) {
    if (hint >= 0 && hint < t->ncols && strcmp(t->cols[hint].name, name) == 0) return hint;
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) return i;
    return -1;
}

static void text_load_free(text_load *t) {
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        qv_builder_free(&t->cols[i].b);
    }
    free(t->cols);
    qv_schema_free(&t->table);
    qv_schema_free(&t->put_schema);
    if (t->p) eng_put_abort(t->p);
}

/* Pass 1: columns and inferred types. */
static int scan(text_load *t, qv_err *err) {
    if (t->fmt == IN_CSV) {
        http_csv c;
        http_csv_init(&c, t->body, t->len);
        int rc = http_csv_next(&c, err);
        if (rc <= 0) {
            http_csv_free(&c);
            return rc < 0 ? (int)err->code : qv_err_set(err, QV_EINVAL, "CSV body has no header line");
        }
        for (int i = 0; i < c.ncells; i++) {
            if (c.cells[i].n == 0 || c.cells[i].n > QV_NAME_MAX || memchr(c.cells[i].p, 0, c.cells[i].n)) {
                http_csv_free(&c);
                return qv_err_set(err, QV_EINVAL, "CSV header: column %d has an empty, too long or bad name", i + 1);
            }
            char name[QV_NAME_MAX + 1];
            memcpy(name, c.cells[i].p, c.cells[i].n);
            name[c.cells[i].n] = 0;
            if (find_col(t, name, -1) >= 0) {
                http_csv_free(&c);
                return qv_err_set(err, QV_EINVAL, "CSV header: column '%s' appears twice", name);
            }
            add_col(t, name, c.cells[i].n);
        }
        while ((rc = http_csv_next(&c, err)) == 1) {
            if (c.ncells != t->ncols) {
                qv_err_set(err, QV_EINVAL, "CSV line %lld: %d fields, the header has %d", (long long)c.line,
                           c.ncells, t->ncols);
                http_csv_free(&c);
                return QV_EINVAL;
            }
            for (int i = 0; i < c.ncells; i++) http_infer_cell(&t->cols[i].inf, &c.cells[i]);
        }
        http_csv_free(&c);
        return rc < 0 ? (int)err->code : QV_OK;
    }
    http_ndjson j;
    http_ndjson_init(&j, t->body, t->len);
    int rc;
    while ((rc = http_ndjson_next(&j, err)) == 1) {
        for (int i = 0; i < j.nkeys; i++) {
            int k = find_col(t, j.keys[i], i);
            if (k < 0) {
                size_t kl = strlen(j.keys[i]);
                if (kl == 0 || kl > QV_NAME_MAX || kl != j.key_len[i]) {
                    qv_err_set(err, QV_EINVAL, "NDJSON line %lld: key %d is an empty, too long or bad name",
                               (long long)j.line, i + 1);
                    rc = -1;
                    break;
                }
                k = add_col(t, j.keys[i], kl);
            }
            http_infer_cell(&t->cols[k].inf, &j.cells[i]);
        }
        if (rc < 0) break;
    }
    http_ndjson_free(&j);
    if (rc < 0) return err->code;
    if (t->ncols == 0) return qv_err_set(err, QV_EINVAL, "NDJSON body has no objects with keys");
    return QV_OK;
}

static int flush(text_load *t, int64_t nrows, qv_err *err) {
    if (nrows == 0) return QV_OK;
    qv_batch b;
    qv_batch_init(&b, &t->put_schema);
    for (int i = 0; i < t->ncols; i++) {
        qv_array_free(&b.cols[i]);
        qv_builder_finish(&t->cols[i].b, &b.cols[i]);
        qv_builder_free(&t->cols[i].b); /* finish leaves a small fresh builder; size it for a chunk */
        qv_builder_init(&t->cols[i].b, t->cols[i].type == QV_T_SYMBOL ? QV_T_STRING : t->cols[i].type, CHUNK);
    }
    b.nrows = nrows;
    int rc = eng_put_batch(t->p, &b, err);
    qv_batch_free(&b);
    return rc;
}

/* Pass 2: convert and put. */
static int load(text_load *t, qv_err *err) {
    int64_t pending = 0;
    int rc = 0;
    if (t->fmt == IN_CSV) {
        http_csv c;
        http_csv_init(&c, t->body, t->len);
        http_csv_next(&c, err); /* header, checked by scan() */
        while (rc == 0 && (rc = http_csv_next(&c, err)) == 1) {
            rc = 0;
            for (int i = 0; i < t->ncols && !rc; i++) {
                tcol *col = &t->cols[i];
                rc = http_cell_append_field(&col->b, &t->put_schema.fields[i], &c.cells[i], c.line, err);
            }
            if (!rc && ++pending == CHUNK) rc = flush(t, pending, err), pending = 0;
        }
        http_csv_free(&c);
    } else {
        http_ndjson j;
        http_ndjson_init(&j, t->body, t->len);
        bool *seen = qv_xcalloc((size_t)t->ncols, 1);
        while (rc == 0 && (rc = http_ndjson_next(&j, err)) == 1) {
            rc = 0;
            memset(seen, 0, (size_t)t->ncols);
            for (int i = 0; i < j.nkeys && !rc; i++) {
                int k = find_col(t, j.keys[i], i);
                tcol *col = &t->cols[k];
                if (seen[k]) {
                    rc = qv_err_set(err, QV_EINVAL, "NDJSON line %lld: key '%s' appears twice", (long long)j.line,
                                    col->name);
                    break;
                }
                seen[k] = true;
                rc = http_cell_append_field(&col->b, &t->put_schema.fields[k], &j.cells[i], j.line, err);
            }
            http_cell nul = {.kind = HC_NULL};
            for (int k = 0; k < t->ncols && !rc; k++)
                if (!seen[k])
                    rc = http_cell_append_field(&t->cols[k].b, &t->put_schema.fields[k], &nul, j.line, err);
            if (!rc && ++pending == CHUNK) rc = flush(t, pending, err), pending = 0;
        }
        free(seen);
        http_ndjson_free(&j);
    }
    if (rc < 0) rc = err->code;
    if (rc) return rc;
    return flush(t, pending, err);
}

static int find_table(eng *e, const char *name, qv_schema *out, bool *found, qv_err *err) {
    st_table_info *ti;
    int n;
    *found = false;
    if (eng_tables(e, &ti, &n, err)) return err->code;
    for (int i = 0; i < n; i++)
        if (strcmp(ti[i].name, name) == 0) {
            qv_schema_free(out);
            qv_schema_copy(out, &ti[i].schema);
            *found = true;
        }
    st_table_info_free_all(ti, n);
    return QV_OK;
}

static int ingest_text(http_server *s, const char *body, size_t len, in_format fmt, const char *table,
                       int64_t wait_ms, int64_t *rows, qv_err *err) {
    text_load t;
    memset(&t, 0, sizeof t);
    t.fmt = fmt;
    t.body = body ? body : "";
    t.len = len;
    qv_schema_init(&t.table);
    qv_schema_init(&t.put_schema);
    int rc = find_table(s->e, table, &t.table, &t.have_table, err);
    if (!rc) rc = scan(&t, err);
    if (!rc) {
        for (int i = 0; i < t.ncols; i++) {
            tcol *c = &t.cols[i];
            int k = t.have_table ? qv_schema_find(&t.table, c->name) : -1;
            c->table_col = k;
            if (k >= 0) {
                c->type = t.table.fields[k].type;
                c->nullable = t.table.fields[k].nullable;
            } else {
                c->type = http_infer_result(&c->inf);
                c->nullable = true;
            }
            qv_type bt = c->type == QV_T_SYMBOL ? QV_T_STRING : c->type;
            qv_schema_add(&t.put_schema, c->name, bt, c->nullable);
            if (k >= 0) { /* the table column's tz, precision and scale (DECIMAL cells are read at them) */
                qv_field *pf = &t.put_schema.fields[i];
                memcpy(pf->tz, t.table.fields[k].tz, sizeof t.table.fields[k].tz);
                pf->precision = t.table.fields[k].precision;
                pf->scale = t.table.fields[k].scale;
            }
            qv_builder_init(&c->b, bt, CHUNK);
        }
        rc = put_begin_waiting(s, table, &t.put_schema, wait_ms, &t.p, err);
    }
    if (!rc) rc = load(&t, err);
    if (!rc) {
        rc = eng_put_commit(t.p, rows, err);
        t.p = NULL;
    }
    text_load_free(&t);
    return rc;
}

enum MHD_Result http_handle_ingest(http_server *s, struct MHD_Connection *c, http_req *r) {
    const char *table = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "table");
    if (!table || !*table) return http_send_error(c, r, 400, "missing ?table=<name>");
    qv_err err;
    in_format fmt = IN_ARROW;
    int64_t wait_ms;
    if (pick_format(c, &fmt, &err) || wait_ms_of(c, &wait_ms, &err)) return http_send_error(c, r, 400, err.msg);
    if (r->body.len == 0 && !(r->ing && r->ing->bytes)) return http_send_error(c, r, 400, "empty request body: nothing to ingest");
    int64_t rows = 0;
    int rc = r->ing ? ingest_streamed(s, r, table, &rows, &err)
             : fmt == IN_ARROW ? ingest_arrow(s, r, table, wait_ms, &rows, &err)
                               : ingest_text(s, r->body.data, r->body.len, fmt, table, wait_ms, &rows, &err);
    if (rc == QV_EBUSY) return http_send_error_hdr(c, r, 503, err.msg, "Retry-After", "1");
    if (rc) return http_send_error(c, r, http_status_of(err.code, true), err.msg);
    qv_str j;
    qv_str_init(&j);
    qv_str_append(&j, "{\"table\":", 9);
    qv_str_append_json_string(&j, table, strlen(table));
    static const char *names[] = {"arrow", "csv", "ndjson"};
    qv_str_appendf(&j, ",\"rows\":%lld,\"format\":\"%s\"}\n", (long long)rows, names[fmt]);
    enum MHD_Result mrc = http_send_text(c, r, 200, "application/json; charset=utf-8", j.data, j.len);
    qv_str_free(&j);
    return mrc;
}
