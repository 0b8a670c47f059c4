/*
** http: the HTTP JSON/CSV/Arrow API on libmicrohttpd. Nothing outside
** src/http includes microhttpd.h.
*/
#ifndef QUIVER_HTTP_H
#define QUIVER_HTTP_H

#include "auth/auth.h"
#include "engine/engine.h"

typedef struct http_server http_server;

typedef struct http_options {
    const char *host;        /* "127.0.0.1" or "0.0.0.0" */
    int port;                /* 0 = pick a free port */
    int threads;             /* unused: one thread per connection (see docs/http.md) */
    int64_t max_body_bytes;  /* 0 = 1 GiB */
    auth_store *auth;        /* NULL = no authentication; /health is always open */
    const char *tls_cert, *tls_key; /* PEM files: HTTPS when both set */
    const char *tls_client_ca;      /* PEM file: require client certificates (mTLS) */
    int max_connections;     /* 0 = 1000 */
    int idle_timeout_s;      /* 0 = 60 */
    int header_timeout_s;    /* until the request line and headers are in; 0 = 10 */
} http_options;

int http_server_start(eng *e, const http_options *opts, http_server **out,
                      int *bound_port, qv_err *err);
/* Stop accepting, let running requests finish up to grace_ms. */
void http_server_shutdown(http_server *s, int grace_ms);
void http_server_free(http_server *s);

#endif
