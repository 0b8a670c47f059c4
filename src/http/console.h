/*
** Private to src/http: the web console's files (src/http/console), embedded
** in the binary at build time by embed.cmake as the table below, and served
** by console.c at /play (and at / for a browser).
*/
#ifndef QUIVER_HTTP_CONSOLE_H
#define QUIVER_HTTP_CONSOLE_H

#include <stddef.h>

typedef struct http_asset {
    const char *url;           /* "/play", "/play/console.js", ... */
    const char *content_type;
    const char *cache_control;
    const char *etag;          /* quoted: "\"0123abcd...\"" */
    const unsigned char *data; /* NUL-terminated copy of the file */
    size_t len;
} http_asset;

extern const http_asset http_assets[];
extern const int http_nassets;

/* The asset served at url ("/play/" is "/play"), or NULL. */
const http_asset *http_asset_find(const char *url);

#endif
