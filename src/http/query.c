/*
** Query results streamed with chunked transfer encoding.
**
** An http_stream belongs to its MHD response: created when the first batch
** is in hand (so errors before any row get a proper status), read by
** libmicrohttpd through stream_read() whenever the socket can take more,
** freed by stream_free() when the response is done or the client went away.
** At most one engine batch and ~256 KiB of encoded output are held at a
** time. States: streaming (have_cur / fetching) -> eos seen -> done (trailer
** written) ; any failure aborts the connection. stream_free() cancels and
** closes a query that did not reach done.
*/
#include "http_srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"

#define OUT_TARGET (256 * 1024)
#define ROWS_PER_STEP 2048

struct http_stream {
    http_server *s;
    eng_query *q;
    http_format fmt;
    http_writer w;
    ipc_encoder *enc;
    qv_batch cur;
    bool have_cur, eos, done, admitted;
    int64_t cur_row, rows, start_ns;
    qv_str out;
    size_t pos;
    http_stream *prev, *next;
};

static void link_stream(http_server *s, http_stream *st) {
    pthread_mutex_lock(&s->mu);
    st->next = s->streams;
    if (s->streams) s->streams->prev = st;
    s->streams = st;
    pthread_mutex_unlock(&s->mu);
}

static void unlink_stream(http_server *s, http_stream *st) {
    pthread_mutex_lock(&s->mu);
    if (st->prev) st->prev->next = st->next;
    else if (s->streams == st) s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    st->prev = st->next = NULL;
    pthread_mutex_unlock(&s->mu);
}

void http_streams_cancel_all(http_server *s) {
    pthread_mutex_lock(&s->mu);
    for (http_stream *st = s->streams; st; st = st->next)
        if (st->q) eng_query_cancel(st->q);
    pthread_mutex_unlock(&s->mu);
}

static void stream_destroy(http_stream *st) {
    if (st->q) {
        if (!st->done) eng_query_cancel(st->q);
        eng_query_close(st->q);
    }
    if (st->admitted) eng_sched_release(st->s->e);
    if (st->have_cur) qv_batch_free(&st->cur);
    if (st->enc) ipc_encoder_free(st->enc);
    else http_writer_free(&st->w);
    qv_str_free(&st->out);
    free(st);
}

static void stream_free(void *cls) {
    http_stream *st = cls;
    unlink_stream(st->s, st);
    stream_destroy(st);
}

/* Next batch into st->cur, or st->eos. */
static int fetch(http_stream *st, qv_err *err) {
    bool eos = false;
    qv_batch b;
    memset(&b, 0, sizeof b);
    if (eng_query_next(st->q, &b, &eos, err)) return err->code;
    if (eos) {
        st->eos = true;
        return QV_OK;
    }
    st->cur = b;
    st->have_cur = true;
    st->cur_row = 0;
    return QV_OK;
}

static int encode_arrow(http_stream *st, qv_err *err) {
    int nmax = 1 + st->cur.schema.nfields, n = 0;
    ipc_message *msgs = qv_xcalloc((size_t)nmax, sizeof *msgs);
    int rc = ipc_encoder_batch(st->enc, &st->cur, msgs, &n, err);
    for (int i = 0; i < n; i++) {
        if (!rc) ipc_message_write_stream(&msgs[i], &st->out);
        ipc_message_free(&msgs[i]);
    }
    free(msgs);
    return rc;
}

/* Refill st->out from the query (out is empty on entry). */
static int fill(http_stream *st, qv_err *err) {
    eng_metrics *m = eng_get_metrics(st->s->e);
    st->out.len = 0;
    st->pos = 0;
    while (st->out.len < OUT_TARGET && !st->done) {
        if (st->have_cur) {
            int64_t n = st->cur.nrows;
            if (st->enc) {
                if (n && encode_arrow(st, err)) return err->code;
                st->cur_row = n;
            } else {
                int64_t to = st->cur_row + ROWS_PER_STEP < n ? st->cur_row + ROWS_PER_STEP : n;
                http_writer_rows(&st->w, &st->cur, st->cur_row, to, &st->out);
                st->cur_row = to;
            }
            if (st->cur_row >= n) {
                atomic_fetch_add(&m->rows_sent, n);
                st->rows += n;
                qv_batch_free(&st->cur);
                st->have_cur = false;
            }
            continue;
        }
        if (st->eos) {
            if (st->enc) {
                ipc_write_eos(&st->out);
            } else {
                int64_t rows_read, bytes_read;
                eng_query_read_stats(st->q, &rows_read, &bytes_read);
                http_stats hs = {(double)(qv_monotonic_ns() - st->start_ns) / 1e9, rows_read, bytes_read};
                http_writer_end(&st->w, &hs, &st->out);
            }
            st->done = true;
            break;
        }
        if (atomic_load(&st->s->stopping)) return qv_err_set(err, QV_ECANCELLED, "server shutting down");
        if (fetch(st, err)) return err->code;
    }
    return QV_OK;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_stream *st = cls;
    if (st->pos == st->out.len) {
        if (st->done) return MHD_CONTENT_READER_END_OF_STREAM;
        qv_err err;
        if (fill(st, &err)) {
            /* Headers are gone already: all we can do is cut the stream so the
               client sees an incomplete chunked body rather than a short result. */
            QV_WARN("http: query failed while streaming after %lld rows: %s", (long long)st->rows, err.msg);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (st->out.len == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = st->out.len - st->pos;
    if (n > max) n = max;
    memcpy(buf, st->out.data + st->pos, n);
    st->pos += n;
    atomic_fetch_add(&eng_get_metrics(st->s->e)->bytes_sent, (long long)n);
    return (ssize_t)n;
}

/* Arrow output's body compression (Arrow IPC BodyCompression, inside the
   stream, so no Content-Encoding): the quiver-compression header, as on
   Flight (lz4, zstd, none; anything else is refused), else the first of
   zstd / lz4 that Accept-Encoding lists with q > 0. 0 ok, -1 unknown name. */
static int arrow_compression(struct MHD_Connection *c, ipc_compression *out) {
    *out = IPC_COMPRESS_NONE;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "quiver-compression");
    if (h) return ipc_compression_parse(h, strlen(h), out);
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
    while (ae && *ae) {
        size_t tok = strcspn(ae, ",;"), all = strcspn(ae, ",");
        while (tok && (ae[tok - 1] == ' ' || ae[tok - 1] == '\t')) tok--;
        char params[64] = "";
        if (all > tok && all - tok < sizeof params) memcpy(params, ae + tok, all - tok);
        const char *q = strstr(params, "q=");
        bool refused = q && strtod(q + 2, NULL) <= 0;
        ipc_compression k;
        if (!refused && ipc_compression_parse(ae, tok, &k) == 0 && k != IPC_COMPRESS_NONE) {
            *out = k;
            return 0;
        }
        ae += all;
        while (*ae == ',' || *ae == ' ' || *ae == '\t') ae++;
    }
    return 0;
}

enum MHD_Result http_handle_query(http_server *s, struct MHD_Connection *c, http_req *r, const char *sql,
                                  size_t len) {
    if (eng_is_subscribe(sql, len)) return http_handle_subscribe(s, c, r, sql, len);
    http_format fmt = HF_JSON;
    const char *fa = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    const char *fname = NULL;
    size_t fn = 0;
    /* A FORMAT clause in the SQL wins over ?format=, as in ClickHouse. */
    if (!http_sql_split_format(sql, &len, &fname, &fn) && fa && *fa) fname = fa, fn = strlen(fa);
    if (fname && http_format_parse(fname, fn, &fmt)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "unknown format '%.*s' (use JSON, JSONEachRow, JSONCompact, CSV, CSVWithNames, TSV, "
                 "TSVWithNames or Arrow)",
                 (int)(fn > 40 ? 40 : fn), fname);
        return http_send_error(c, r, 400, msg);
    }
    qv_err err;
    eng_query *q;
    if (eng_query_open(s->e, sql, len, &q, &err)) return http_send_error(c, r, http_status_of(err.code, false), err.msg);
    enum MHD_Result refused;
    if (http_guard_query(s, c, r, q, &refused)) { /* role, time limit, a query slot */
        eng_query_close(q);
        return refused;
    }

    http_stream *st = qv_xcalloc(1, sizeof *st);
    st->s = s;
    st->q = q;
    st->admitted = true;
    st->fmt = fmt;
    st->start_ns = r->start_ns;
    qv_str_init(&st->out);
    const qv_schema *schema = eng_query_schema(q);
    ipc_write_options wo = {0};
    if (fmt == HF_ARROW) {
        ipc_message m;
        if (arrow_compression(c, &wo.compression)) {
            stream_destroy(st);
            return http_send_error(c, r, 400, "quiver-compression: unknown compression (valid: lz4, zstd, none)");
        }
        if (ipc_encoder_new(schema, &wo, &st->enc, &err) || ipc_encoder_schema(st->enc, &m, &err)) {
            stream_destroy(st);
            return http_send_error(c, r, http_status_of(err.code, false), err.msg);
        }
        ipc_message_write_stream(&m, &st->out);
        ipc_message_free(&m);
    } else {
        http_writer_init(&st->w, fmt, schema);
        http_writer_begin(&st->w, schema, &st->out);
    }
    /* Run up to the first batch now: most failures (limits, DDL errors)
       happen here and still get a real status code. */
    if (fetch(st, &err)) {
        stream_destroy(st);
        return http_send_error(c, r, http_status_of(err.code, false), err.msg);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, st, stream_free);
    if (!resp) {
        stream_destroy(st);
        return MHD_NO;
    }
    link_stream(s, st);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, http_format_content_type(fmt));
    MHD_add_response_header(resp, "X-Quiver-Format", http_format_name(fmt));
    if (wo.compression != IPC_COMPRESS_NONE)
        MHD_add_response_header(resp, "X-Quiver-Compression", ipc_compression_name(wo.compression));
    r->status = 200;
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp); /* the connection holds it; stream_free runs when it lets go */
    return rc;
}
