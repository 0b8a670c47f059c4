/*
** The web console: serves the embedded files of http_assets (console.h) with
** their content type, an ETag and a cache policy, and answers 304 when the
** browser already holds the same bytes. Stateless: the table is static data
** and responses point into it (no copies).
*/
#include "http_srv.h"

#include <stdio.h>
#include <string.h>

#include "console.h"

/* The console talks only to this server: no CDN, no inline script. uPlot
   sets element styles from script, which CSP allows. */
#define CONSOLE_CSP                                                                                                \
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "          \
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const http_asset *http_asset_find(const char *url) {
    size_t n = strlen(url);
    if (n == 6 && strcmp(url, "/play/") == 0) n = 5; /* /play/ is /play */
    for (int i = 0; i < http_nassets; i++)
        if (strlen(http_assets[i].url) == n && strncmp(http_assets[i].url, url, n) == 0) return &http_assets[i];
    return NULL;
}

bool http_console_wanted(struct MHD_Connection *c) {
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    return accept && strstr(accept, "text/html") != NULL;
}

/* Does If-None-Match list etag (or "*")? Weak tags (W/"...") match too, as
   RFC 9110 asks for GET. */
static bool etag_listed(const char *inm, const char *etag) {
    size_t n = strlen(etag);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (*p == '*') return true;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == 0 || p[n] == ',' || p[n] == ' ' || p[n] == '\t')) return true;
        while (*p && *p != ',') p++;
    }
    return false;
}

enum MHD_Result http_handle_console(http_server *s, struct MHD_Connection *c, http_req *r, const char *url) {
    (void)s;
    r->route = R_CONSOLE;
    const http_asset *a = http_asset_find(strcmp(url, "/") == 0 ? "/play" : url);
    if (!a) {
        char msg[160];
        snprintf(msg, sizeof msg, "no console file %.100s", url);
        return http_send_error(c, r, 404, msg);
    }
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && etag_listed(inm, a->etag);
    struct MHD_Response *resp = fresh ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
                                      : MHD_create_response_from_buffer(a->len, (void *)a->data,
                                                                        MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    if (!fresh) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, a->cache_control);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (strcmp(a->url, "/play") == 0) {
        MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        /* / serves JSON or the page depending on Accept: caches must know. */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept");
    }
    r->status = fresh ? 304 : 200;
    enum MHD_Result rc = MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}
