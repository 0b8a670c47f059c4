/*
** The header deadline: a connection must have sent its first request line
** and headers within header_timeout_s of connecting, however it trickles
** them (libmicrohttpd's own timeout only bounds silence, so a slowloris
** client sending a byte every few seconds would keep its thread forever).
**
** State (r->mu): `pending`, the connections that have not yet made a
** request, each a http_conn (the connection's socket context): added when
** the connection starts, marked when its first request arrives, removed
** when it closes. The reaper thread looks once a second and shuts down
** (shutdown(2), never close: libmicrohttpd still owns the socket) the
** sockets of those past the deadline; their thread then sees the error and
** closes the connection. Removal happens under the same lock as the
** shutdown, and libmicrohttpd reports a close before it closes the socket,
** so the reaper never touches a socket number that was reused.
*/
#include "http_srv.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct http_conn {
    int fd;
    int64_t start_ns;
    bool requested, reaped;
    http_conn *prev, *next;
};

static void *reaper_main(void *arg) {
    http_server *s = arg;
    pthread_mutex_lock(&s->reap_mu);
    while (!s->reap_stop) {
        int64_t now = qv_monotonic_ns();
        for (http_conn *k = s->pending; k; k = k->next)
            if (!k->requested && !k->reaped && now - k->start_ns > (int64_t)s->header_timeout_s * 1000000000) {
                k->reaped = true;
                shutdown(k->fd, SHUT_RDWR);
                atomic_fetch_add(&eng_get_metrics(s->e)->refusals[ENG_REFUSE_CONNECTIONS], 1);
                QV_DEBUG("http: closing a connection that sent no complete request in %d s", s->header_timeout_s);
            }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&s->reap_cv, &s->reap_mu, &ts);
    }
    pthread_mutex_unlock(&s->reap_mu);
    return NULL;
}

void http_reaper_start(http_server *s) {
    pthread_mutex_init(&s->reap_mu, NULL);
    pthread_cond_init(&s->reap_cv, NULL);
    s->reaper_started = pthread_create(&s->reaper, NULL, reaper_main, s) == 0;
}

void http_reaper_stop(http_server *s) {
    if (!s->reaper_started) return;
    pthread_mutex_lock(&s->reap_mu);
    s->reap_stop = true;
    pthread_cond_signal(&s->reap_cv);
    pthread_mutex_unlock(&s->reap_mu);
    pthread_join(s->reaper, NULL);
    s->reaper_started = false;
}

void http_reaper_destroy(http_server *s) {
    pthread_mutex_destroy(&s->reap_mu);
    pthread_cond_destroy(&s->reap_cv);
}

void http_conn_started(http_server *s, struct MHD_Connection *c, void **socket_context) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    http_conn *k = qv_xcalloc(1, sizeof *k);
    k->fd = ci ? ci->connect_fd : -1;
    k->start_ns = qv_monotonic_ns();
    k->requested = k->fd < 0;
    *socket_context = k;
    pthread_mutex_lock(&s->reap_mu);
    k->next = s->pending;
    if (s->pending) s->pending->prev = k;
    s->pending = k;
    pthread_mutex_unlock(&s->reap_mu);
}

void http_conn_requested(http_server *s, struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_conn *k = ci ? ci->socket_context : NULL;
    if (!k || k->requested) return;
    pthread_mutex_lock(&s->reap_mu);
    k->requested = true;
    pthread_mutex_unlock(&s->reap_mu);
}

void http_conn_closed(http_server *s, void **socket_context) {
    http_conn *k = *socket_context;
    if (!k) return;
    pthread_mutex_lock(&s->reap_mu);
    if (k->prev) k->prev->next = k->next;
    else if (s->pending == k) s->pending = k->next;
    if (k->next) k->next->prev = k->prev;
    pthread_mutex_unlock(&s->reap_mu);
    free(k);
    *socket_context = NULL;
}
