/*
** The HTTP server: a libmicrohttpd daemon, one thread per connection (a
** streamed query blocks its thread on the engine, and must not stall others).
**
** Life of a request: first access-handler call allocates an http_req and
** checks route and method (errors are answered at once); following calls
** collect the body up to max_body_bytes; the last call (no more upload data)
** dispatches. The completion notice counts the request by route and status
** and frees the http_req. A streamed query lives on in an http_stream owned
** by its MHD response (query.c).
**
** Server states: running -> (shutdown) quiesced, no new connections -> grace
** wait for active requests -> stopping (streams cancelled) -> daemon stopped.
*/
#include "http_srv.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const int http_codes[HTTP_NCODES] = {200, 400, 404, 405, 409, 413, 500, 501, 503, 507, 414, 401, 403, 429, 504, 304, 0};
static const char *route_names[R__COUNT] = {"query", "ingest", "health", "tables", "metrics", "ping", "subscribe",
                                              "console", "other"};

int http_status_of(qv_status code, bool client_data) {
    switch (code) {
    case QV_OK: return 200;
    case QV_EINVAL: return 400;
    case QV_ENOTFOUND: return 404;
    case QV_EEXISTS: return 409;
    case QV_ERESOURCE: return 507;
    case QV_ECANCELLED: return 503;
    case QV_EUNSUPPORTED: return 501;
    case QV_EPRECONDITION: return 409;
    case QV_ECORRUPT: return client_data ? 400 : 500;
    case QV_EUNAUTH: return 401;
    case QV_EPERM: return 403;
    case QV_EBUSY: return 503;
    case QV_ETIMEOUT: return 504;
    default: return 500;
    }
}

static enum MHD_Result queue(struct MHD_Connection *c, http_req *r, int status, const char *ctype, const char *body,
                             size_t n, const char *hname, const char *hval) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (hname) MHD_add_response_header(resp, hname, hval);
    r->status = status;
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result http_send_text(struct MHD_Connection *c, http_req *r, int status, const char *ctype,
                               const char *body, size_t n) {
    return queue(c, r, status, ctype, body, n, NULL, NULL);
}

enum MHD_Result http_send_error_hdr(struct MHD_Connection *c, http_req *r, int status, const char *msg,
                                    const char *hname, const char *hval) {
    qv_str j;
    qv_str_init(&j);
    qv_str_append(&j, "{\"error\":", 9);
    qv_str_append_json_string(&j, msg, strlen(msg));
    qv_str_appendf(&j, ",\"code\":%d}\n", status);
    enum MHD_Result rc = queue(c, r, status, "application/json; charset=utf-8", j.data, j.len, hname, hval);
    qv_str_free(&j);
    return rc;
}

enum MHD_Result http_send_error(struct MHD_Connection *c, http_req *r, int status, const char *msg) {
    return http_send_error_hdr(c, r, status, msg, NULL, NULL);
}

static int route_of(const char *url) {
    if (strcmp(url, "/") == 0) return R_QUERY;
    if (strcmp(url, "/ingest") == 0) return R_INGEST;
    if (strcmp(url, "/health") == 0) return R_HEALTH;
    if (strcmp(url, "/tables") == 0 || strncmp(url, "/tables/", 8) == 0) return R_TABLES;
    if (strcmp(url, "/metrics") == 0) return R_METRICS;
    if (strcmp(url, "/ping") == 0) return R_PING;
    if (strcmp(url, "/subscribe") == 0) return R_SUBSCRIBE;
    if (strcmp(url, "/play") == 0 || strncmp(url, "/play/", 6) == 0) return R_CONSOLE;
    return R_OTHER;
}

/* NULL if the method is allowed on the route, else the Allow header value. */
static const char *method_refused(int route, const char *method) {
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
    switch (route) {
    case R_QUERY:
    case R_SUBSCRIBE: return get || post ? NULL : "GET, POST";
    case R_INGEST: return post ? NULL : "POST";
    case R_OTHER: return NULL;
    default: return get ? NULL : "GET, HEAD";
    }
}

static enum MHD_Result handle_tables(http_server *s, struct MHD_Connection *c, http_req *r, const char *url) {
    qv_err err;
    qv_str j;
    qv_str_init(&j);
    enum MHD_Result rc;
    if (url[7] == '/') {
        if (eng_describe_table(s->e, url + 8, &j, &err)) {
            qv_str_free(&j);
            return http_send_error(c, r, http_status_of(err.code, false), err.msg);
        }
    } else {
        st_table_info *t;
        int n;
        if (eng_tables(s->e, &t, &n, &err)) return http_send_error(c, r, http_status_of(err.code, false), err.msg);
        qv_str_append(&j, "{\"tables\":[", 11);
        for (int i = 0; i < n; i++) {
            qv_str_append(&j, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
            qv_str_append_json_string(&j, t[i].name, strlen(t[i].name));
            qv_str_append(&j, ",\"schema\":[", 11);
            for (int k = 0; k < t[i].schema.nfields; k++) {
                const qv_field *f = &t[i].schema.fields[k];
                qv_str_append(&j, k ? ",{\"name\":" : "{\"name\":", k ? 9 : 8);
                qv_str_append_json_string(&j, f->name, strlen(f->name));
                char dn[32]; /* a DECIMAL is named with its precision and scale */
                qv_str_appendf(&j, ",\"type\":\"%s\",\"nullable\":%s}", qv_field_type_name(f, dn, sizeof dn),
                               f->nullable ? "true" : "false");
            }
            qv_str_appendf(&j, "],\"rows\":%lld,\"bytes\":%lld}", (long long)t[i].live_rows, (long long)t[i].bytes);
        }
        qv_str_append(&j, "]}", 2);
        st_table_info_free_all(t, n);
    }
    qv_str_appendc(&j, '\n');
    rc = http_send_text(c, r, 200, "application/json; charset=utf-8", j.data, j.len);
    qv_str_free(&j);
    return rc;
}

static enum MHD_Result dispatch(http_server *s, struct MHD_Connection *c, http_req *r, const char *url,
                                const char *method) {
    switch (r->route) {
    case R_QUERY: {
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
        bool post = strcmp(method, "POST") == 0;
        if (post && r->body.len) {
            /* As ClickHouse: ?query= and the body are joined by a blank. */
            if (q && *q) {
                qv_str sql;
                qv_str_init(&sql);
                qv_str_appendf(&sql, "%s ", q);
                qv_str_append(&sql, r->body.data, r->body.len);
                enum MHD_Result rc = http_handle_query(s, c, r, sql.data, sql.len);
                qv_str_free(&sql);
                return rc;
            }
            return http_handle_query(s, c, r, r->body.data, r->body.len);
        }
        if ((!q || !*q) && !post && http_console_wanted(c)) return http_handle_console(s, c, r, "/");
        if (!q || !*q)
            return http_send_error(c, r, 400, "no query: send SQL as the POST body or as ?query=");
        return http_handle_query(s, c, r, q, strlen(q));
    }
    case R_INGEST: return http_handle_ingest(s, c, r);
    case R_SUBSCRIBE: {
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
        if (strcmp(method, "POST") == 0 && r->body.len) return http_handle_subscribe(s, c, r, r->body.data, r->body.len);
        if (!q || !*q) return http_send_error(c, r, 400, "no query: send SUBSCRIBE SELECT ... as ?query= or the POST body");
        return http_handle_subscribe(s, c, r, q, strlen(q));
    }
    case R_HEALTH: {
        qv_str j;
        qv_str_init(&j);
        eng_health_json(s->e, &j);
        qv_str_appendc(&j, '\n');
        enum MHD_Result rc = http_send_text(c, r, 200, "application/json; charset=utf-8", j.data, j.len);
        qv_str_free(&j);
        return rc;
    }
    case R_TABLES: return handle_tables(s, c, r, url);
    case R_METRICS: {
        qv_str m;
        qv_str_init(&m);
        http_metrics_text(s, &m);
        enum MHD_Result rc = http_send_text(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", m.data, m.len);
        qv_str_free(&m);
        return rc;
    }
    case R_PING: return http_send_text(c, r, 200, "text/plain; charset=utf-8", "Ok.\n", 4);
    case R_CONSOLE: return http_handle_console(s, c, r, url);
    default: return http_send_error(c, r, 404, "no such route");
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = qv_xcalloc(1, sizeof *r);
        r->start_ns = qv_monotonic_ns();
        r->route = route_of(url);
        qv_str_init(&r->body);
        *con_cls = r;
        atomic_fetch_add(&s->active, 1);
        http_conn_requested(s, c); /* its headers are in: the header deadline is met */
        if (r->route == R_OTHER) {
            char msg[192];
            snprintf(msg, sizeof msg, "no route %.90s (try /, /ingest, /subscribe, /health, /tables, /metrics, /play)", url);
            return http_send_error(c, r, 404, msg);
        }
        const char *allow = method_refused(r->route, method);
        if (allow) {
            char msg[160];
            snprintf(msg, sizeof msg, "method %.20s not allowed on %.60s (allowed: %s)", method, url, allow);
            return http_send_error_hdr(c, r, 405, msg, MHD_HTTP_HEADER_ALLOW, allow);
        }
        /* The request line and headers are in: from now on the idle timeout
           applies instead of the (shorter) header timeout. */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)s->idle_timeout_s);
        bool answered = false;
        enum MHD_Result g = http_guard_request(s, c, r, &answered);
        if (answered) return g;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        /* A declared length over the limit: small excesses are read and
           dropped (see below) so the client, still sending, is not reset
           before it reads the 413; huge ones are refused at once. */
        if (cl && strtoll(cl, NULL, 10) > s->max_body + (64LL << 20) && !http_ingest_streams(c, r)) {
            r->too_large = true;
            char msg[160];
            snprintf(msg, sizeof msg, "request body of %.20s bytes is over the limit of %lld bytes (--max-body-bytes)",
                     cl, (long long)s->max_body);
            return http_send_error(c, r, 413, msg);
        }
        return MHD_YES;
    }
    if (r->status) { /* already answered: drop what is still coming */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size && (r->ing || http_ingest_streams(c, r))) {
        http_ingest_chunk(s, c, r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Over the limit without a declared length: keep reading and drop
           the rest, and answer at the end, so the client is not reset while
           it still sends and does see the 413. */
        if (r->too_large || (int64_t)(r->body.len + *upload_size) > s->max_body) {
            r->too_large = true;
            qv_str_free(&r->body);
        } else {
            qv_str_append(&r->body, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        char msg[120];
        snprintf(msg, sizeof msg, "request body is over the limit of %lld bytes (--max-body-bytes)",
                 (long long)s->max_body);
        return http_send_error(c, r, 413, msg);
    }
    return dispatch(s, c, r, url, method);
}

static int code_index(int status) {
    for (int i = 0; i < HTTP_NCODES - 1; i++)
        if (http_codes[i] == status) return i;
    return HTTP_NCODES - 1;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c, (void)toe;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) return;
    atomic_fetch_add(&s->requests[r->route][code_index(r->status)], 1); /* 0: never answered */
    char rpc[32];
    snprintf(rpc, sizeof rpc, "http_%s", route_names[r->route]);
    eng_rpc_observe(s->e, rpc, qv_monotonic_ns() - r->start_ns);
    qv_str_free(&r->body);
    http_ingest_free(r);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->active, 1);
}

/* Connections are counted here so the ones over --max-connections are
   refused (and counted) before libmicrohttpd's own limit would drop them. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&s->conns, 1);
        http_conn_started(s, c, socket_context);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&s->conns, 1);
        http_conn_closed(s, socket_context);
    }
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
    (void)addr, (void)addrlen;
    http_server *s = cls;
    if (atomic_load(&s->conns) < s->max_conns) return MHD_YES;
    atomic_fetch_add(&eng_get_metrics(s->e)->refusals[ENG_REFUSE_CONNECTIONS], 1);
    QV_DEBUG("http: refusing a connection: %d open (--max-connections)", s->max_conns);
    return MHD_NO;
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    QV_DEBUG("http: %s", line);
}

static int listen_on(const char *host, int port, int *fd_out, int *bound, qv_err *err) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int gai = getaddrinfo(host && *host ? host : NULL, ps, &hints, &res);
    if (gai) return qv_err_set(err, QV_EIO, "cannot resolve host '%s': %s", host ? host : "", gai_strerror(gai));
    int fd = -1, saved = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 512) == 0) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return qv_err_set(err, QV_EIO, "cannot listen on %s:%d: %s", host ? host : "*", port, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return QV_OK;
}

int http_server_start(eng *e, const http_options *opts, http_server **out, int *bound_port, qv_err *err) {
    int fd = -1, port = 0;
    if (listen_on(opts->host, opts->port, &fd, &port, err)) return err->code;
    http_server *s = qv_xcalloc(1, sizeof *s);
    s->e = e;
    s->max_body = opts->max_body_bytes > 0 ? opts->max_body_bytes : (1LL << 30);
    s->auth = opts->auth;
    s->idle_timeout_s = opts->idle_timeout_s > 0 ? opts->idle_timeout_s : 60;
    s->max_conns = opts->max_connections > 0 ? opts->max_connections : 1000;
    pthread_mutex_init(&s->mu, NULL);
    struct MHD_OptionItem tls[4];
    qv_str *pem = s->pem; /* kept until the daemon is gone */
    for (int i = 0; i < 3; i++) qv_str_init(&pem[i]);
    if (http_tls_options(s, opts, tls, 4, pem, err)) {
        for (int i = 0; i < 3; i++) qv_str_free(&pem[i]);
        close(fd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return err->code;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (s->tls ? MHD_USE_TLS : 0);
    /* Until its request line and headers are in, a connection gets the short
       header timeout (a slowloris client cannot hold a thread for long). */
    unsigned header_s = (unsigned)(opts->header_timeout_s > 0 ? opts->header_timeout_s : 10);
    s->header_timeout_s = (int)header_s;
    http_reaper_start(s);
    s->d = MHD_start_daemon(flags, 0, on_accept, s, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            /* room for long ?query= URLs and bigger upload chunks */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
                            MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)s->max_conns + 16, /* on_accept refuses first, counting */
                            MHD_OPTION_CONNECTION_TIMEOUT, header_s, MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
                            MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!s->d) {
        http_reaper_stop(s);
        http_reaper_destroy(s);
        for (int i = 0; i < 3; i++) qv_str_free(&pem[i]);
        close(fd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return qv_err_set(err, QV_EIO, "libmicrohttpd could not start on port %d", port);
    }
    *out = s;
    if (bound_port) *bound_port = port;
    return QV_OK;
}

void http_server_shutdown(http_server *s, int grace_ms) {
    if (!s || !s->d) return;
    MHD_socket lfd = MHD_quiesce_daemon(s->d);
    int64_t deadline = qv_monotonic_ns() + (int64_t)grace_ms * 1000000;
    while (atomic_load(&s->active) > 0 && qv_monotonic_ns() < deadline) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&s->active);
    if (left) QV_INFO("http: %d request(s) still running after %d ms; cancelling them", left, grace_ms);
    atomic_store(&s->stopping, true);
    http_streams_cancel_all(s);
    http_reaper_stop(s);
    MHD_stop_daemon(s->d);
    s->d = NULL;
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
}

void http_server_free(http_server *s) {
    if (!s) return;
    http_server_shutdown(s, 0);
    for (int i = 0; i < 3; i++) {
        if (s->pem[i].data) memset(s->pem[i].data, 0, s->pem[i].len);
        qv_str_free(&s->pem[i]);
    }
    if (s->header_timeout_s) http_reaper_destroy(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- /metrics ---- */

void http_prom_header(qv_str *out, const char *name, const char *type, const char *help) {
    qv_str_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void http_prom_label_value(qv_str *out, const char *v) {
    qv_str_appendc(out, '"');
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') qv_str_appendc(out, '\\'), qv_str_appendc(out, *v);
        else if (*v == '\n') qv_str_append(out, "\\n", 2);
        else qv_str_appendc(out, *v);
    }
    qv_str_appendc(out, '"');
}

void http_metrics_text(http_server *s, qv_str *out) {
    eng_metrics *m = eng_get_metrics(s->e);
    http_prom_header(out, "quiver_http_requests_total", "counter", "HTTP requests by route and status code.");
    for (int r = 0; r < R__COUNT; r++)
        for (int k = 0; k < HTTP_NCODES; k++) {
            long long v = atomic_load(&s->requests[r][k]);
            if (!v) continue;
            if (http_codes[k])
                qv_str_appendf(out, "quiver_http_requests_total{route=\"%s\",code=\"%d\"} %lld\n", route_names[r],
                               http_codes[k], v);
            else
                qv_str_appendf(out, "quiver_http_requests_total{route=\"%s\",code=\"other\"} %lld\n", route_names[r],
                               v);
        }
    http_prom_header(out, "quiver_queries_total", "counter", "SQL queries started (HTTP and Flight).");
    qv_str_appendf(out, "quiver_queries_total %lld\n", (long long)atomic_load(&m->queries));
    http_prom_header(out, "quiver_query_errors_total", "counter", "SQL queries that failed.");
    qv_str_appendf(out, "quiver_query_errors_total %lld\n", (long long)atomic_load(&m->query_errors));
    http_prom_header(out, "quiver_query_duration_seconds", "histogram", "Query latency, open to close.");
    long long cum = 0;
    for (int i = 0; i < 12; i++) {
        cum += atomic_load(&m->latency_buckets[i]);
        char b[48];
        http_fmt_f64(eng_latency_bounds[i], b);
        qv_str_appendf(out, "quiver_query_duration_seconds_bucket{le=\"%s\"} %lld\n", b, cum);
    }
    long long cnt = atomic_load(&m->latency_count);
    qv_str_appendf(out, "quiver_query_duration_seconds_bucket{le=\"+Inf\"} %lld\n", cnt);
    qv_str_appendf(out, "quiver_query_duration_seconds_sum %.6f\n", (double)atomic_load(&m->latency_sum_us) / 1e6);
    qv_str_appendf(out, "quiver_query_duration_seconds_count %lld\n", cnt);
    http_prom_header(out, "quiver_rows_sent_total", "counter", "Result rows sent to clients.");
    qv_str_appendf(out, "quiver_rows_sent_total %lld\n", (long long)atomic_load(&m->rows_sent));
    http_prom_header(out, "quiver_bytes_sent_total", "counter", "Result bytes sent to clients.");
    qv_str_appendf(out, "quiver_bytes_sent_total %lld\n", (long long)atomic_load(&m->bytes_sent));
    http_prom_header(out, "quiver_rows_ingested_total", "counter", "Rows committed by ingest.");
    qv_str_appendf(out, "quiver_rows_ingested_total %lld\n", (long long)atomic_load(&m->rows_ingested));
    http_prom_header(out, "quiver_flight_streams_active", "gauge", "Arrow Flight streams in progress.");
    qv_str_appendf(out, "quiver_flight_streams_active %lld\n", (long long)atomic_load(&m->flight_streams_active));
    http_prom_header(out, "quiver_subscriptions_active", "gauge", "SUBSCRIBE streams open (Flight and HTTP).");
    qv_str_appendf(out, "quiver_subscriptions_active %lld\n", (long long)atomic_load(&m->subscriptions_active));
    http_prom_header(out, "quiver_subscriptions_ended_slow_total", "counter",
                     "Subscriptions ended because their client did not keep up (--subscriber-buffer).");
    qv_str_appendf(out, "quiver_subscriptions_ended_slow_total %lld\n",
                   (long long)atomic_load(&m->subscriptions_ended_slow));
    http_prom_header(out, "quiver_subscription_evaluations_total", "counter",
                     "Commit ranges filtered and projected for subscriptions (once per distinct statement when shared).");
    qv_str_appendf(out, "quiver_subscription_evaluations_total %lld\n",
                   (long long)atomic_load(&m->subscription_evaluations));
    http_prom_header(out, "quiver_subscription_shared_total", "counter",
                     "Subscription deliveries that took a result another evaluation left in the shared cache.");
    qv_str_appendf(out, "quiver_subscription_shared_total %lld\n", (long long)atomic_load(&m->subscription_shared));
    st_db_stats st;
    eng_storage_stats(s->e, &st);
    http_prom_header(out, "quiver_wal_bytes", "gauge", "Bytes in the write-ahead log.");
    qv_str_appendf(out, "quiver_wal_bytes %lld\n", (long long)st.wal_bytes);
    http_prom_header(out, "quiver_wal_syncs_total", "counter", "fsync calls on the write-ahead log.");
    qv_str_appendf(out, "quiver_wal_syncs_total %lld\n", (long long)st.wal_syncs);
    http_prom_header(out, "quiver_commits_total", "counter", "Committed appends.");
    qv_str_appendf(out, "quiver_commits_total %lld\n", (long long)st.commits);
    http_prom_header(out, "quiver_checkpoints_total", "counter", "Checkpoints written.");
    qv_str_appendf(out, "quiver_checkpoints_total %lld\n", (long long)st.checkpoints);
    http_metrics_guard(s, out);
    http_prom_header(out, "quiver_uptime_seconds", "gauge", "Seconds since the server started.");
    qv_str_appendf(out, "quiver_uptime_seconds %lld\n", (long long)eng_uptime_s(s->e));
    long long synced = atomic_load(&m->replica_synced_ns);
    if (synced) {
        http_prom_header(out, "quiver_replica_lag_seconds", "gauge",
                         "A read replica: seconds since it last had all its primary committed.");
        qv_str_appendf(out, "quiver_replica_lag_seconds %.3f\n", (double)(qv_now_ns() - synced) / 1e9);
    }
    st_table_info *t;
    int n;
    qv_err err;
    if (eng_tables(s->e, &t, &n, &err) == QV_OK) {
        http_prom_header(out, "quiver_table_rows", "gauge", "Rows per table.");
        for (int i = 0; i < n; i++) {
            qv_str_append(out, "quiver_table_rows{table=", 24);
            http_prom_label_value(out, t[i].name);
            qv_str_appendf(out, "} %lld\n", (long long)t[i].live_rows);
        }
        http_prom_header(out, "quiver_table_bytes", "gauge", "Column memory per table.");
        for (int i = 0; i < n; i++) {
            qv_str_append(out, "quiver_table_bytes{table=", 25);
            http_prom_label_value(out, t[i].name);
            qv_str_appendf(out, "} %lld\n", (long long)t[i].bytes);
        }
        st_table_info_free_all(t, n);
    }
}
