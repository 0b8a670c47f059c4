/* The HTTP server over a mock engine, driven through real sockets. */
#include "qtest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http.h"
#include "ipc/ipc.h"
#include "mock_engine.h"
#include "console.h"

static http_server *srv;
static int port;

static void ensure_server(void) {
    if (srv) return;
    qv_err err;
    http_options o = {.host = "127.0.0.1", .port = 0, .max_body_bytes = 100000};
    if (http_server_start((eng *)&port, &o, &srv, &port, &err)) {
        fprintf(stderr, "start: %s\n", err.msg);
        exit(1);
    }
}

static int dial(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) return -1;
    return fd;
}

typedef struct {
    int status;
    bool chunked, complete;
    qv_str head, body;
} resp;

/* Send raw, read until the server closes, de-chunk. */
static void roundtrip(const char *req, size_t n, resp *r) {
    ensure_server();
    memset(r, 0, sizeof *r);
    int fd = dial();
    size_t off = 0;
    while (off < n) {
        ssize_t k = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (k <= 0) break;
        off += (size_t)k;
    }
    qv_str raw;
    qv_str_init(&raw);
    char buf[65536];
    ssize_t k;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0) qv_str_append(&raw, buf, (size_t)k);
    close(fd);
    if (!raw.data) return;
    char *sep = strstr(raw.data, "\r\n\r\n");
    if (!sep) return;
    qv_str_append(&r->head, raw.data, (size_t)(sep - raw.data));
    sscanf(raw.data, "HTTP/1.1 %d", &r->status);
    r->chunked = strcasestr(r->head.data, "transfer-encoding: chunked") != NULL;
    const char *p = sep + 4, *end = raw.data + raw.len;
    if (!r->chunked) {
        qv_str_append(&r->body, p, (size_t)(end - p));
        r->complete = true;
    } else {
        while (p < end) {
            char *e;
            long sz = strtol(p, &e, 16);
            const char *crlf = strstr(p, "\r\n");
            if (!crlf || e == p) break;
            p = crlf + 2;
            if (sz == 0) {
                r->complete = true;
                break;
            }
            if (end - p < sz + 2) break;
            qv_str_append(&r->body, p, (size_t)sz);
            p += sz + 2;
        }
    }
    if (!r->body.data) qv_str_append(&r->body, "", 0);
    qv_str_free(&raw);
}

static void get(const char *target, resp *r) {
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target);
    roundtrip(req, (size_t)n, r);
}

static void post(const char *target, const char *ctype, const char *body, resp *r) {
    qv_str q;
    qv_str_init(&q);
    qv_str_appendf(&q, "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                   target, ctype, strlen(body));
    qv_str_append(&q, body, strlen(body));
    roundtrip(q.data, q.len, r);
    qv_str_free(&q);
}

static void resp_free(resp *r) {
    qv_str_free(&r->head);
    qv_str_free(&r->body);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

QTEST(ping_health_tables) {
    resp r;
    get("/ping", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK_STR(r.body.data, "Ok.\n");
    resp_free(&r);
    get("/health", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(strstr(r.body.data, "\"status\":\"ok\"") != NULL);
    resp_free(&r);
    get("/tables", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(strstr(r.body.data, "{\"tables\":[{\"name\":\"typed\",\"schema\":[{\"name\":\"i\",\"type\":\"INT32\"") != NULL);
    resp_free(&r);
    get("/tables/nope", &r);
    QCHECK_EQ(r.status, 404);
    QCHECK(strstr(r.body.data, "\"code\":404") != NULL);
    resp_free(&r);
}

QTEST(query_csv_streamed) {
    resp r;
    get("/?query=rows%202500&format=CSV", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(r.chunked && r.complete);
    QCHECK(strstr(r.head.data, "text/csv") != NULL);
    QCHECK(strncmp(r.body.data, "0,\"s,0\"\n1,\"s,1\"\n2,\"s,2\"\n3,\n", 27) == 0);
    int lines = 0;
    for (size_t i = 0; i < r.body.len; i++) lines += r.body.data[i] == '\n';
    QCHECK_EQ(lines, 2500);
    QCHECK(strstr(r.body.data, "\n2499,\"s,2499\"\n") != NULL);
    resp_free(&r);
}

QTEST(query_post_json_and_format_clause) {
    resp r;
    post("/", "text/plain", "rows 3", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK_STR(r.body.data + r.body.len - strlen("\"bytes_read\":0}}\n") - 0 - 0, r.body.data + r.body.len - strlen("\"bytes_read\":0}}\n"));
    QCHECK(strncmp(r.body.data, "{\"meta\":[{\"name\":\"x\",\"type\":\"INT64\"},{\"name\":\"s\",\"type\":\"STRING\"}],\"data\":[{\"x\":0,\"s\":\"s,0\"},", 90) == 0);
    QCHECK(strstr(r.body.data, "\"rows\":3,\"statistics\":{\"elapsed_s\":") != NULL);
    resp_free(&r);
    post("/?format=JSON", "text/plain", "rows 2 FORMAT JSONEachRow;", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK_STR(r.body.data, "{\"x\":0,\"s\":\"s,0\"}\n{\"x\":1,\"s\":\"s,1\"}\n");
    resp_free(&r);
    post("/", "text/plain", "rows 2 FORMAT XML", &r);
    QCHECK_EQ(r.status, 400);
    QCHECK(strstr(r.body.data, "unknown format 'XML'") != NULL);
    resp_free(&r);
}

QTEST(errors) {
    resp r;
    post("/", "text/plain", "fail", &r);
    QCHECK_EQ(r.status, 400);
    QCHECK(strstr(r.body.data, "{\"error\":\"syntax error at position 1") != NULL);
    QCHECK(strstr(r.body.data, "\"code\":400") != NULL);
    resp_free(&r);
    get("/", &r);
    QCHECK_EQ(r.status, 400);
    resp_free(&r);
    get("/nope", &r);
    QCHECK_EQ(r.status, 404);
    resp_free(&r);
    get("/ingest?table=t", &r);
    QCHECK_EQ(r.status, 405);
    QCHECK(strstr(r.head.data, "Allow: POST") != NULL);
    resp_free(&r);
    const char *del = "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    roundtrip(del, strlen(del), &r);
    QCHECK_EQ(r.status, 405);
    resp_free(&r);
    const char *garbage = "\x01\x02 nonsense\r\n\r\n";
    roundtrip(garbage, strlen(garbage), &r);
    QCHECK(r.status == 0 || r.status == 400);
    resp_free(&r);
}

QTEST(body_limit) {
    /* SQL bodies (an /ingest upload streams or spills instead: no limit) */
    /* declared too big */
    const char *big = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\nabc";
    resp r;
    roundtrip(big, strlen(big), &r);
    QCHECK_EQ(r.status, 413);
    QCHECK(strstr(r.body.data, "--max-body-bytes") != NULL);
    resp_free(&r);
    /* declared a little over: read, dropped, then refused */
    qv_str q;
    qv_str_init(&q);
    qv_str_appendf(&q, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 150000\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 150000; i++) qv_str_appendc(&q, 'a');
    roundtrip(q.data, q.len, &r);
    QCHECK_EQ(r.status, 413);
    resp_free(&r);
    q.len = 0;
    /* chunked, grows past the limit */
    qv_str_appendf(&q, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    char chunk[10001];
    memset(chunk, 'a', 10000);
    chunk[10000] = 0;
    for (int i = 0; i < 12; i++) qv_str_appendf(&q, "2710\r\n%s\r\n", chunk);
    qv_str_appendf(&q, "0\r\n\r\n");
    roundtrip(q.data, q.len, &r);
    qv_str_free(&q);
    QCHECK_EQ(r.status, 413);
    resp_free(&r);
}

QTEST(ingest_csv_ndjson) {
    resp r;
    post("/ingest?table=t1", "text/csv", "a,b,c,d,e\n1,2.5,true,2024-01-01T00:00:00Z,x\n2,,false,2024-01-02,\"y,z\"\n", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK_STR(r.body.data, "{\"table\":\"t1\",\"rows\":2,\"format\":\"csv\"}\n");
    QCHECK_STR(mock_last_table, "t1");
    QCHECK_EQ(mock_last_schema.nfields, 5);
    QCHECK_EQ(mock_last_schema.fields[0].type, QV_T_INT64);
    QCHECK_EQ(mock_last_schema.fields[1].type, QV_T_FLOAT64);
    QCHECK_EQ(mock_last_schema.fields[2].type, QV_T_BOOL);
    QCHECK_EQ(mock_last_schema.fields[3].type, QV_T_TIMESTAMP);
    QCHECK_EQ(mock_last_schema.fields[4].type, QV_T_STRING);
    resp_free(&r);
    post("/ingest?table=t2&format=ndjson", "text/plain", "{\"a\":1,\"b\":\"q\"}\n{\"b\":\"r\",\"c\":1.5}\n", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(strstr(r.body.data, "\"rows\":2") != NULL);
    QCHECK_EQ(mock_last_schema.nfields, 3);
    QCHECK_EQ(mock_last_schema.fields[2].type, QV_T_FLOAT64);
    resp_free(&r);
    /* existing table: converted to its types, errors name line and column */
    post("/ingest?table=typed", "text/csv", "i,ts,sym\n1,2024-01-01,A\n2,5,B\n", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK_EQ(mock_last_schema.fields[0].type, QV_T_INT32);
    QCHECK_EQ(mock_last_schema.fields[2].type, QV_T_STRING);
    resp_free(&r);
    post("/ingest?table=typed", "text/csv", "i,ts\n1,2024-01-01\nx,2024-01-01\n", &r);
    QCHECK_EQ(r.status, 400);
    QCHECK(strstr(r.body.data, "line 3, column 'i'") != NULL);
    resp_free(&r);
    post("/ingest?table=typed", "application/x-ndjson", "{\"i\":null}\n", &r);
    QCHECK_EQ(r.status, 400);
    QCHECK(strstr(r.body.data, "NOT NULL") != NULL);
    resp_free(&r);
    const char *bad[][2] = {{"text/csv", "a,b\n1\n"}, {"text/csv", "a,a\n1,2\n"}, {"text/csv", "a\n\"x"},
                            {"application/x-ndjson", "{\"a\":1}\n{oops}\n"}, {"application/x-ndjson", "[1,2]"},
                            {"application/x-ndjson", "{\"a\":{\"b\":1}}"}, {"text/plain", "a\n1\n"},
                            {"application/vnd.apache.arrow.stream", "garbage"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        post("/ingest?table=t3", bad[i][0], bad[i][1], &r);
        if (r.status != 400) fprintf(stderr, "  case %zu: %d %s\n", i, r.status, r.body.data);
        QCHECK_EQ(r.status, 400);
        QCHECK(strstr(r.body.data, "\"error\":") != NULL);
        resp_free(&r);
    }
    post("/ingest", "text/csv", "a\n1\n", &r);
    QCHECK_EQ(r.status, 400);
    resp_free(&r);
}

QTEST(midstream_failure_cuts_the_stream) {
    resp r;
    get("/?query=midfail%203000&format=TSV", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(r.chunked);
    QCHECK(!r.complete);
    resp_free(&r);
    for (int i = 0; i < 500 && atomic_load(&mock_open_queries) > 0; i++) sleep_ms(10);
    QCHECK_EQ(atomic_load(&mock_open_queries), 0);
}

QTEST(hangup_cancels_query) {
    ensure_server();
    int before = atomic_load(&mock_cancelled);
    int fd = dial();
    const char *req = "GET /?query=slow&format=JSONEachRow HTTP/1.1\r\nHost: x\r\n\r\n";
    QCHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) == (ssize_t)strlen(req));
    char buf[4096];
    QCHECK(recv(fd, buf, sizeof buf, 0) > 0);
    QCHECK_EQ(atomic_load(&mock_open_queries), 1);
    close(fd);
    for (int i = 0; i < 500 && atomic_load(&mock_open_queries) > 0; i++) sleep_ms(10);
    QCHECK_EQ(atomic_load(&mock_open_queries), 0);
    QCHECK(atomic_load(&mock_cancelled) > before);
}

QTEST(metrics_text) {
    resp r;
    get("/ping", &r);
    resp_free(&r);
    get("/metrics", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(strstr(r.body.data, "quiver_http_requests_total{route=\"ping\",code=\"200\"} ") != NULL);
    QCHECK(strstr(r.body.data, "# TYPE quiver_query_duration_seconds histogram") != NULL);
    QCHECK(strstr(r.body.data, "quiver_wal_bytes 42\n") != NULL);
    QCHECK(strstr(r.body.data, "quiver_table_rows{table=\"typed\"} 5\n") != NULL);
    QCHECK(strstr(r.body.data, "quiver_bytes_sent_total ") != NULL);
    resp_free(&r);
}

QTEST(port_in_use_and_shutdown) {
    ensure_server();
    qv_err err;
    http_server *s2;
    int p2;
    http_options o = {.host = "127.0.0.1", .port = port};
    QCHECK_EQ(http_server_start((eng *)&port, &o, &s2, &p2, &err), QV_EIO);
    QCHECK(strstr(err.msg, "in use") != NULL);
    /* a stream still running at shutdown is cancelled after the grace period */
    int fd = dial();
    const char *req = "GET /?query=slow&format=CSV HTTP/1.1\r\nHost: x\r\n\r\n";
    QCHECK(send(fd, req, strlen(req), MSG_NOSIGNAL) > 0);
    char buf[1024];
    QCHECK(recv(fd, buf, sizeof buf, 0) > 0);
    http_server_shutdown(srv, 100);
    http_server_free(srv);
    srv = NULL;
    close(fd);
    QCHECK_EQ(atomic_load(&mock_open_queries), 0);
}

static int count_rows(void *ctx, const qv_batch *b, qv_err *err) {
    (void)err;
    int64_t *n = ctx;
    for (int64_t i = 0; i < b->nrows; i++)
        if (qv_array_get_i64(&b->cols[0], i) != *n + i) return qv_err_set(err, QV_EINVAL, "row %lld wrong", (long long)(*n + i));
    *n += b->nrows;
    return QV_OK;
}

QTEST(arrow_out_and_in) {
    resp r;
    get("/?query=rows%202500&format=Arrow", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(r.complete);
    QCHECK(strstr(r.head.data, "application/vnd.apache.arrow.stream") != NULL);
    qv_buffer *buf = qv_buffer_new(r.body.len);
    memcpy(buf->data, r.body.data, r.body.len);
    buf->size = r.body.len;
    int64_t n = 0;
    qv_schema s;
    qv_schema_init(&s);
    qv_err err;
    ipc_read_options ro = {0};
    QCHECK_OK(ipc_stream_decode(&ro, buf, count_rows, &n, &s, &err), &err);
    QCHECK_EQ(n, 2500);
    QCHECK_EQ(s.nfields, 2);
    QCHECK_STR(s.fields[1].name, "s");
    qv_schema_free(&s);
    /* the same bytes back in through /ingest */
    qv_str q;
    qv_str_init(&q);
    qv_str_appendf(&q, "POST /ingest?table=arr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Type: application/vnd.apache.arrow.stream\r\nContent-Length: %zu\r\n\r\n", r.body.len);
    qv_str_append(&q, r.body.data, r.body.len);
    resp r2;
    roundtrip(q.data, q.len, &r2);
    qv_str_free(&q);
    QCHECK_EQ(r2.status, 200);
    QCHECK_STR(r2.body.data, "{\"table\":\"arr\",\"rows\":2500,\"format\":\"arrow\"}\n");
    qv_buffer_unref(buf);
    resp_free(&r);
    resp_free(&r2);
}

/* The web console: embedded files with type, ETag and 304; / for a browser. */
static void get_with(const char *target, const char *header, resp *r) {
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n\r\n", target, header);
    roundtrip(req, (size_t)n, r);
}

QTEST(console_files) {
    const http_asset *page = http_asset_find("/play");
    QCHECK(page != NULL && page->len > 100);
    QCHECK(http_asset_find("/play/") == page);
    QCHECK(http_asset_find("/play/nope") == NULL);
    resp r;
    get("/play", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(strcasestr(r.head.data, "content-type: text/html; charset=utf-8") != NULL);
    QCHECK(r.body.len == page->len && memcmp(r.body.data, page->data, page->len) == 0);
    char etag[64];
    snprintf(etag, sizeof etag, "ETag: %s", page->etag);
    QCHECK(strstr(r.head.data, etag) != NULL);
    resp_free(&r);
    /* the browser holds these bytes already: 304, no body */
    char inm[96];
    snprintf(inm, sizeof inm, "If-None-Match: \"other\", W/%s", page->etag);
    get_with("/play", inm, &r);
    QCHECK_EQ(r.status, 304);
    QCHECK_EQ((long)r.body.len, 0L);
    resp_free(&r);
    get_with("/play", "If-None-Match: \"0000000000000000\"", &r);
    QCHECK_EQ(r.status, 200);
    resp_free(&r);
    /* / is the page for a browser, the query API for anything else */
    get_with("/", "Accept: text/html,application/xhtml+xml;q=0.9", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(r.body.len == page->len);
    resp_free(&r);
    get("/", &r);
    QCHECK_EQ(r.status, 400);
    resp_free(&r);
    get("/play/vendor/uplot-1.6.32/uPlot.iife.min.js", &r);
    QCHECK_EQ(r.status, 200);
    QCHECK(strcasestr(r.head.data, "content-type: text/javascript") != NULL);
    QCHECK(strstr(r.head.data, "immutable") != NULL);
    resp_free(&r);
    get("/play/nope.js", &r);
    QCHECK_EQ(r.status, 404);
    resp_free(&r);
    post("/play", "text/plain", "x", &r);
    QCHECK_EQ(r.status, 405);
    resp_free(&r);
    get("/metrics", &r);
    QCHECK(strstr(r.body.data, "quiver_http_requests_total{route=\"console\",code=\"200\"} ") != NULL);
    resp_free(&r);
}
