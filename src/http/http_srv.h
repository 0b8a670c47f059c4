/*
** Private to src/http: the server object shared by server.c (daemon,
** routing, small endpoints), query.c (streamed query results) and ingest.c.
*/
#ifndef QUIVER_HTTP_SRV_H
#define QUIVER_HTTP_SRV_H

#include <microhttpd.h>
#include <pthread.h>

#include "http/http.h"
#include "http_int.h"

enum { R_QUERY, R_INGEST, R_HEALTH, R_TABLES, R_METRICS, R_PING, R_SUBSCRIBE, R_CONSOLE, R_OTHER, R__COUNT };
#define HTTP_NCODES 17
extern const int http_codes[HTTP_NCODES]; /* last entry 0 = any other code */

typedef struct http_stream http_stream;
typedef struct http_conn http_conn;

struct http_server {
    eng *e;
    struct MHD_Daemon *d;
    int64_t max_body;
    atomic_bool stopping;        /* shutdown grace over: streams end early */
    atomic_llong requests[R__COUNT][HTTP_NCODES];
    atomic_int active;           /* requests between first callback and completion */
    pthread_mutex_t mu;          /* guards streams */
    http_stream *streams;        /* live query streams, so shutdown can cancel them */
    auth_store *auth;            /* NULL: no authentication */
    bool tls, mtls;
    int idle_timeout_s;
    int max_conns;
    atomic_int conns;            /* open connections (on_connection) */
    int header_timeout_s;        /* reaper.c */
    pthread_mutex_t reap_mu;
    pthread_cond_t reap_cv;
    pthread_t reaper;
    bool reaper_started, reap_stop;
    http_conn *pending;          /* connections without a request yet */
    qv_str pem[3];               /* TLS cert, key, client CA: held while the daemon runs */
};

/* One request, from the first access-handler call to the completion notice. */
typedef struct http_req {
    int route;
    int status;                  /* what was queued, for the counters */
    bool too_large;
    qv_str body;
    int64_t start_ns;
    auth_identity id;            /* who is asking (guard.c) */
    struct http_ingest *ing;     /* a streamed Arrow /ingest (ingest.c), or NULL */
} http_req;

/* Queue a JSON error {"error","code"}; returns what MHD_queue_response returned. */
enum MHD_Result http_send_error(struct MHD_Connection *c, http_req *r, int status, const char *msg);
/* The same with one extra header (WWW-Authenticate, Retry-After, Allow). */
enum MHD_Result http_send_error_hdr(struct MHD_Connection *c, http_req *r, int status, const char *msg,
                                    const char *hname, const char *hval);
enum MHD_Result http_send_text(struct MHD_Connection *c, http_req *r, int status, const char *ctype,
                               const char *body, size_t n);
int http_status_of(qv_status code, bool client_data);

enum MHD_Result http_handle_query(http_server *s, struct MHD_Connection *c, http_req *r, const char *sql,
                                  size_t len);
/* subscribe.c: a SUBSCRIBE streamed as NDJSON or Server-Sent Events. */
enum MHD_Result http_handle_subscribe(http_server *s, struct MHD_Connection *c, http_req *r, const char *sql,
                                      size_t len);
enum MHD_Result http_handle_ingest(http_server *s, struct MHD_Connection *c, http_req *r);
/* A streamed /ingest (an Arrow body): not held whole, no --max-body-bytes. */
typedef struct http_ingest http_ingest;
bool http_ingest_streams(struct MHD_Connection *c, const http_req *r);
void http_ingest_chunk(http_server *s, struct MHD_Connection *c, http_req *r, const char *p, size_t n);
void http_ingest_free(http_req *r); /* aborts an unfinished put */
void http_metrics_text(http_server *s, qv_str *out);
/* guard.c: on a request's first call, before anything else runs: client
   certificate (mTLS), credentials, the route's role. MHD_YES with *answered
   false: go on; otherwise the refusal was queued (or the connection is to
   be closed: MHD_NO). */
enum MHD_Result http_guard_request(http_server *s, struct MHD_Connection *c, http_req *r, bool *answered);
/* After eng_query_open: the statement kind's role (403), then a query slot
   (503 + Retry-After when busy) and ?max_execution_time=. QV_OK: the caller
   holds a slot (http_stream releases it). Otherwise the error was queued. */
int http_guard_query(http_server *s, struct MHD_Connection *c, http_req *r, eng_query *q, enum MHD_Result *mr);
/* Security and load counters for /metrics. */
void http_metrics_guard(http_server *s, qv_str *out);
int http_tls_options(http_server *s, const http_options *o, struct MHD_OptionItem *items, int max, qv_str *pem,
                     qv_err *err);

/* reaper.c: the header deadline (see there). */
void http_reaper_start(http_server *s);
void http_reaper_stop(http_server *s);
void http_reaper_destroy(http_server *s);
void http_conn_started(http_server *s, struct MHD_Connection *c, void **socket_context);
void http_conn_requested(http_server *s, struct MHD_Connection *c);
void http_conn_closed(http_server *s, void **socket_context);

/* The web console (console.c): the embedded page and its files under /play. */
enum MHD_Result http_handle_console(http_server *s, struct MHD_Connection *c, http_req *r, const char *url);
/* GET / from a browser (Accept has text/html) gets the console. */
bool http_console_wanted(struct MHD_Connection *c);
/* Ask every live stream's query to stop (shutdown after the grace period). */
void http_streams_cancel_all(http_server *s);

#endif
