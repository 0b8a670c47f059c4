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
#define HTTP_NCODES 12
extern const int http_codes[HTTP_NCODES]; /* last entry 0 = any other code */

typedef struct http_stream http_stream;

struct http_server {
    eng *e;
    struct MHD_Daemon *d;
    int64_t max_body;
    atomic_bool stopping;        /* shutdown grace over: streams end early */
    atomic_llong requests[R__COUNT][HTTP_NCODES];
    atomic_int active;           /* requests between first callback and completion */
    pthread_mutex_t mu;          /* guards streams */
    http_stream *streams;        /* live query streams, so shutdown can cancel them */
};

/* One request, from the first access-handler call to the completion notice. */
typedef struct http_req {
    int route;
    int status;                  /* what was queued, for the counters */
    bool too_large;
    qv_str body;
    int64_t start_ns;
} http_req;

/* Queue a JSON error {"error","code"}; returns what MHD_queue_response returned. */
enum MHD_Result http_send_error(struct MHD_Connection *c, http_req *r, int status, const char *msg);
enum MHD_Result http_send_text(struct MHD_Connection *c, http_req *r, int status, const char *ctype,
                               const char *body, size_t n);
int http_status_of(qv_status code, bool client_data);

enum MHD_Result http_handle_query(http_server *s, struct MHD_Connection *c, http_req *r, const char *sql,
                                  size_t len);
/* subscribe.c: a SUBSCRIBE streamed as NDJSON or Server-Sent Events. */
enum MHD_Result http_handle_subscribe(http_server *s, struct MHD_Connection *c, http_req *r, const char *sql,
                                      size_t len);
enum MHD_Result http_handle_ingest(http_server *s, struct MHD_Connection *c, http_req *r);
void http_metrics_text(http_server *s, qv_str *out);
/* The web console (console.c): the embedded page and its files under /play. */
enum MHD_Result http_handle_console(http_server *s, struct MHD_Connection *c, http_req *r, const char *url);
/* GET / from a browser (Accept has text/html) gets the console. */
bool http_console_wanted(struct MHD_Connection *c);
/* Ask every live stream's query to stop (shutdown after the grace period). */
void http_streams_cancel_all(http_server *s);

#endif
