/*
** What stands before a request runs: the client certificate (mTLS), the
** credentials (Basic or Bearer, the same tokens as Flight), the role of the
** route and of the SQL statement, the query slot (admission control) and
** the query's time limit. Also HTTPS options and the security and load
** counters of /metrics. /health is always open, for probes.
** Nothing here keeps state beyond the request (r->id).
*/
#include "http_srv.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_MAX (1 << 20)

/* The role a route needs (the query route's statements are checked later). */
static const auth_role route_roles[R__COUNT] = {
    [R_QUERY] = AUTH_ROLE_READ,  [R_INGEST] = AUTH_ROLE_WRITE, [R_HEALTH] = AUTH_ROLE_NONE,
    [R_TABLES] = AUTH_ROLE_READ, [R_METRICS] = AUTH_ROLE_READ, [R_PING] = AUTH_ROLE_READ,
    [R_SUBSCRIBE] = AUTH_ROLE_READ, [R_OTHER] = AUTH_ROLE_NONE,
};
static const char *const route_what[R__COUNT] = {
    [R_QUERY] = "run queries", [R_INGEST] = "ingest", [R_HEALTH] = "read /health", [R_TABLES] = "list tables",
    [R_METRICS] = "read /metrics", [R_PING] = "ping", [R_SUBSCRIBE] = "subscribe", [R_OTHER] = "use this route",
};

static void peer_of(struct MHD_Connection *c, char *out, size_t n) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    out[0] = 0;
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

/* mTLS: MHD asks for a certificate; we require one that verifies against the CA. */
static bool client_cert_ok(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) return false;
    gnutls_session_t ses = (gnutls_session_t)ci->tls_session;
    unsigned status = 1;
    unsigned nlist = 0;
    if (!gnutls_certificate_get_peers(ses, &nlist) || nlist == 0) return false;
    if (gnutls_certificate_verify_peers2(ses, &status) != GNUTLS_E_SUCCESS) return false;
    return status == 0;
}

static enum MHD_Result unauthorized(http_server *s, struct MHD_Connection *c, http_req *r, const qv_err *err,
                                    int64_t retry_ms) {
    atomic_fetch_add(&eng_get_metrics(s->e)->refusals[ENG_REFUSE_UNAUTHENTICATED], 1);
    if (retry_ms > 0) {
        char ra[32];
        snprintf(ra, sizeof ra, "%lld", (long long)((retry_ms + 999) / 1000));
        return http_send_error_hdr(c, r, 429, err->msg, "Retry-After", ra);
    }
    return http_send_error_hdr(c, r, 401, err->msg, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                               "Basic realm=\"quiver\", charset=\"UTF-8\", Bearer realm=\"quiver\"");
}

enum MHD_Result http_guard_request(http_server *s, struct MHD_Connection *c, http_req *r, bool *answered) {
    *answered = false;
    if (s->mtls && !client_cert_ok(c)) {
        QV_INFO("http: closing a connection without a valid client certificate");
        *answered = true;
        return MHD_NO;
    }
    if (!s->auth) {
        snprintf(r->id.user, sizeof r->id.user, "anonymous");
        r->id.role = AUTH_ROLE_ADMIN;
        return MHD_YES;
    }
    if (route_roles[r->route] == AUTH_ROLE_NONE) return MHD_YES;
    *answered = true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    char peer[64];
    peer_of(c, peer, sizeof peer);
    qv_err err;
    int64_t retry = 0;
    if (auth_check(s->auth, peer, h, h ? strlen(h) : 0, &r->id, &retry, &err)) {
        QV_INFO("http from %s: refused: %s", peer, err.msg);
        return unauthorized(s, c, r, &err, retry);
    }
    if (auth_require(s->auth, &r->id, route_roles[r->route], route_what[r->route], &err)) {
        atomic_fetch_add(&eng_get_metrics(s->e)->refusals[ENG_REFUSE_PERMISSION], 1);
        return http_send_error(c, r, 403, err.msg);
    }
    *answered = false;
    return MHD_YES;
}

static auth_role access_role(eng_access a) {
    switch (a) {
    case ENG_ACCESS_READ: return AUTH_ROLE_READ;
    case ENG_ACCESS_WRITE: return AUTH_ROLE_WRITE;
    case ENG_ACCESS_ADMIN: return AUTH_ROLE_ADMIN;
    }
    return AUTH_ROLE_ADMIN;
}

int http_guard_query(http_server *s, struct MHD_Connection *c, http_req *r, eng_query *q, enum MHD_Result *mr) {
    qv_err err;
    const char *verb = "?";
    auth_role need = access_role(eng_query_access(q, &verb));
    char what[64];
    snprintf(what, sizeof what, "run %s", verb);
    if (auth_require(s->auth, &r->id, need, what, &err)) {
        atomic_fetch_add(&eng_get_metrics(s->e)->refusals[ENG_REFUSE_PERMISSION], 1);
        *mr = http_send_error(c, r, 403, err.msg);
        return QV_EPERM;
    }
    /* ClickHouse's name: seconds, fractions allowed; 0 = no limit. */
    const char *met = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "max_execution_time");
    if (met && *met) {
        char *end;
        double secs = strtod(met, &end);
        if (*end || secs < 0 || secs != secs || secs > 1e9) {
            *mr = http_send_error(c, r, 400, "max_execution_time must be a number of seconds");
            return QV_EINVAL;
        }
        if (secs > 0) eng_query_set_timeout(q, (int64_t)(secs * 1000 + 0.5));
    }
    if (eng_sched_admit_wait(s->e, &err)) {
        int status = http_status_of(err.code, false);
        *mr = status == 503 ? http_send_error_hdr(c, r, 503, err.msg, "Retry-After", "1")
                            : http_send_error(c, r, status, err.msg);
        return err.code;
    }
    return QV_OK;
}

/* ---- HTTPS: the PEM files go to MHD (GnuTLS) as option items ---- */

int http_tls_options(http_server *s, const http_options *o, struct MHD_OptionItem *items, int max, qv_str *pem,
                     qv_err *err) {
    bool cert = o->tls_cert && *o->tls_cert, key = o->tls_key && *o->tls_key;
    bool ca = o->tls_client_ca && *o->tls_client_ca;
    int n = 0;
    if (!cert && !key) {
        if (ca) return qv_err_set(err, QV_EINVAL, "--tls-client-ca needs --tls-cert and --tls-key");
        items[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        return QV_OK;
    }
    if (!cert || !key) return qv_err_set(err, QV_EINVAL, "TLS needs both --tls-cert and --tls-key");
    if (max < 4) return qv_err_set(err, QV_EINTERNAL, "too few option slots");
    const char *paths[3] = {o->tls_cert, o->tls_key, ca ? o->tls_client_ca : NULL};
    const enum MHD_OPTION opt[3] = {MHD_OPTION_HTTPS_MEM_CERT, MHD_OPTION_HTTPS_MEM_KEY, MHD_OPTION_HTTPS_MEM_TRUST};
    for (int i = 0; i < 3; i++) {
        if (!paths[i]) continue;
        if (qv_file_read(paths[i], PEM_MAX, &pem[i], err)) return err->code;
        if (!strstr(pem[i].data, "-----BEGIN "))
            return qv_err_set(err, QV_EINVAL, "%s is not a PEM file", paths[i]);
        items[n++] = (struct MHD_OptionItem){opt[i], 0, pem[i].data};
    }
    items[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->tls = true;
    s->mtls = ca;
    return QV_OK;
}

/* ---- /metrics: load, refusals, auth, per-RPC latency ---- */

static const char *const refusal_names[ENG_REFUSE__COUNT] = {
    [ENG_REFUSE_BUSY] = "busy",          [ENG_REFUSE_TIMEOUT] = "timeout",
    [ENG_REFUSE_UNAUTHENTICATED] = "unauthenticated", [ENG_REFUSE_PERMISSION] = "permission",
    [ENG_REFUSE_PUT_BYTES] = "put_bytes", [ENG_REFUSE_CONNECTIONS] = "connections",
};

void http_metrics_guard(http_server *s, qv_str *out) {
    eng_metrics *m = eng_get_metrics(s->e);
    int running = 0, queued = 0;
    eng_sched_counts(s->e, &running, &queued);
    http_prom_header(out, "quiver_queries_running", "gauge", "Queries holding a slot (--max-running-queries).");
    qv_str_appendf(out, "quiver_queries_running %d\n", running);
    http_prom_header(out, "quiver_queries_queued", "gauge", "Queries waiting for a slot (--max-queued-queries).");
    qv_str_appendf(out, "quiver_queries_queued %d\n", queued);
    http_prom_header(out, "quiver_refusals_total", "counter", "Requests refused, by reason.");
    for (int i = 0; i < ENG_REFUSE__COUNT; i++)
        qv_str_appendf(out, "quiver_refusals_total{reason=\"%s\"} %lld\n", refusal_names[i],
                       (long long)atomic_load(&m->refusals[i]));
    auth_stats as;
    auth_store_stats(s->auth, &as);
    http_prom_header(out, "quiver_auth_failures_total", "counter", "Failed authentications (Flight and HTTP).");
    qv_str_appendf(out, "quiver_auth_failures_total %lld\n", as.failures);
    http_prom_header(out, "quiver_auth_throttled_total", "counter", "Logins refused by the failed-login delay.");
    qv_str_appendf(out, "quiver_auth_throttled_total %lld\n", as.throttled);
    http_prom_header(out, "quiver_auth_tokens", "gauge", "Login tokens held.");
    qv_str_appendf(out, "quiver_auth_tokens %lld\n", as.tokens_live);
    eng_rpc_hist h[ENG_RPC_MAX];
    int n = eng_rpc_hists(s->e, h, ENG_RPC_MAX);
    http_prom_header(out, "quiver_rpc_duration_seconds", "histogram",
                     "Latency per Flight RPC and HTTP route, arrival to end.");
    for (int i = 0; i < n; i++) {
        long long cum = 0;
        for (int b = 0; b < 12; b++) {
            cum += h[i].buckets[b];
            char bound[48];
            http_fmt_f64(eng_latency_bounds[b], bound);
            qv_str_appendf(out, "quiver_rpc_duration_seconds_bucket{rpc=\"%s\",le=\"%s\"} %lld\n", h[i].name, bound,
                           cum);
        }
        qv_str_appendf(out, "quiver_rpc_duration_seconds_bucket{rpc=\"%s\",le=\"+Inf\"} %lld\n", h[i].name,
                       h[i].count);
        qv_str_appendf(out, "quiver_rpc_duration_seconds_sum{rpc=\"%s\"} %.6f\n", h[i].name,
                       (double)h[i].sum_us / 1e6);
        qv_str_appendf(out, "quiver_rpc_duration_seconds_count{rpc=\"%s\"} %lld\n", h[i].name, h[i].count);
    }
}
