/*
** GET /subscribe?query=SUBSCRIBE ... (also a SUBSCRIBE sent to / or POST):
** the rows of every commit as they come, as NDJSON (one object per row) or,
** when the client accepts text/event-stream (or ?format=sse), as
** Server-Sent Events; docs/http.md has the exact format.
**
** An http_sub belongs to its MHD response, like a query stream: libmicrohttpd
** calls sub_read() on the connection's own thread whenever the socket can
** take more; with nothing pending that thread waits on the sub's condition
** variable until the engine's wake (notifier thread) or the keepalive
** interval, then writes a keepalive, which is also how a vanished client is
** noticed. sub_free() closes the eng_sub first, so no wake comes after.
** A client that stops reading is not called back at all; the engine ends
** its subscription once too much is pending, and the next read tells it so.
** States: streaming -> ending (the final line/event queued) -> done.
*/
#include "http_srv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEEPALIVE_S 10
#define OUT_TARGET (256 * 1024)

typedef struct http_sub {
    http_server *s;
    eng_sub *sub;
    bool sse, ending, done;
    http_writer w;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
    qv_str out;
    size_t pos;
    int64_t rows;
} http_sub;

static bool sub_wake(void *arg, const qv_err *end) {
    (void)end; /* next() reports it */
    http_sub *h = arg;
    pthread_mutex_lock(&h->mu);
    h->woken = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return false; /* the connection's own thread reads the rows */
}

static void sub_destroy(http_sub *h) {
    eng_sub_close(h->sub); /* no wake after this */
    http_writer_free(&h->w);
    qv_str_free(&h->out);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

static void sub_free(void *cls) { sub_destroy(cls); }

static void append_rows(http_sub *h, const qv_batch *b) {
    if (h->sse) {
        qv_str_append(&h->out, "event: rows\ndata: [", 19);
        h->w.rows = 0; /* JSONCompact puts commas between rows of one event only */
        http_writer_rows(&h->w, b, 0, b->nrows, &h->out);
        qv_str_append(&h->out, "]\n\n", 3);
    } else {
        http_writer_rows(&h->w, b, 0, b->nrows, &h->out);
    }
    h->rows += b->nrows;
    eng_metrics *m = eng_get_metrics(h->s->e);
    atomic_fetch_add(&m->rows_sent, b->nrows);
}

static void append_end(http_sub *h, const qv_err *err) {
    qv_str j;
    qv_str_init(&j);
    qv_str_append(&j, "{\"error\":", 9);
    qv_str_append_json_string(&j, err->msg, strlen(err->msg));
    qv_str_appendf(&j, ",\"code\":%d}", http_status_of(err->code, false));
    if (h->sse) qv_str_append(&h->out, "event: end\ndata: ", 17);
    qv_str_append(&h->out, j.data, j.len);
    qv_str_append(&h->out, h->sse ? "\n\n" : "\n", h->sse ? 2 : 1);
    qv_str_free(&j);
    h->ending = true;
    QV_DEBUG("http subscribe ended after %lld rows: %s", (long long)h->rows, err->msg);
}

/* Wait for a wake or the keepalive time; true if woken. */
static bool wait_wake(http_sub *h) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += KEEPALIVE_S;
    pthread_mutex_lock(&h->mu);
    int rc = 0;
    while (!h->woken && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    bool woken = h->woken;
    pthread_mutex_unlock(&h->mu);
    return woken;
}

/* Refill out (empty on entry): pending rows, else wait, else a keepalive. */
static void fill(http_sub *h) {
    h->out.len = 0;
    h->pos = 0;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        h->woken = false;
        pthread_mutex_unlock(&h->mu);
        bool got = false;
        do {
            qv_batch b;
            qv_err err;
            int rc = eng_sub_next(h->sub, &b, &got, &err);
            if (rc) {
                append_end(h, &err);
                return;
            }
            if (got) {
                append_rows(h, &b);
                qv_batch_free(&b);
            }
        } while (got && h->out.len < OUT_TARGET);
        if (h->out.len) return;
        if (!wait_wake(h)) {
            if (h->sse) qv_str_append(&h->out, ": keepalive\n\n", 13);
            else qv_str_appendc(&h->out, '\n');
            return;
        }
    }
}

static ssize_t sub_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_sub *h = cls;
    if (h->pos == h->out.len) {
        if (h->ending) return MHD_CONTENT_READER_END_OF_STREAM;
        fill(h);
    }
    size_t n = h->out.len - h->pos;
    if (n > max) n = max;
    memcpy(buf, h->out.data + h->pos, n);
    h->pos += n;
    atomic_fetch_add(&eng_get_metrics(h->s->e)->bytes_sent, (long long)n);
    return (ssize_t)n;
}

static bool wants_sse(struct MHD_Connection *c) {
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    if (f && *f) return !strcasecmp(f, "sse") || !strcasecmp(f, "eventstream");
    const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return acc && strstr(acc, "text/event-stream") != NULL;
}

enum MHD_Result http_handle_subscribe(http_server *s, struct MHD_Connection *c, http_req *r, const char *sql,
                                      size_t len) {
    const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    http_format fmt;
    if (f && *f && strcasecmp(f, "sse") && strcasecmp(f, "eventstream") &&
        (http_format_parse(f, strlen(f), &fmt) || fmt != HF_JSONEACHROW))
        return http_send_error(c, r, 400, "a subscription streams JSONEachRow (NDJSON) or Server-Sent Events "
                                          "(Accept: text/event-stream or ?format=sse)");
    http_sub *h = qv_xcalloc(1, sizeof *h);
    h->s = s;
    h->sse = wants_sse(c);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    qv_str_init(&h->out);
    eng_sub_options so = {.wake = sub_wake, .arg = h};
    qv_err err;
    if (eng_sub_open(s->e, sql, len, &so, &h->sub, &err)) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        qv_str_free(&h->out);
        free(h);
        return http_send_error(c, r, http_status_of(err.code, false), err.msg);
    }
    const qv_schema *schema = eng_sub_schema(h->sub);
    http_writer_init(&h->w, h->sse ? HF_JSONCOMPACT : HF_JSONEACHROW, schema);
    if (h->sse) {
        /* the schema event: JSON's meta, closed */
        qv_str_append(&h->out, "event: schema\ndata: ", 20);
        http_writer_begin(&h->w, schema, &h->out);
        h->out.len -= 9; /* drop ,"data":[ */
        qv_str_append(&h->out, "}\n\n", 3);
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, sub_read, h, sub_free);
    if (!resp) {
        sub_destroy(h);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            h->sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    r->status = 200;
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}
