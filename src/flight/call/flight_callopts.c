/*
** Per-call options a client sends as request headers (gRPC metadata):
** `quiver-compression: lz4|zstd|none` asks DoGet to compress record batch
** bodies per buffer (Arrow IPC BodyCompression).
*/
#include <string.h>

#include "flight_internal.h"

#define COMPRESSION_HEADER "quiver-compression"

static const grpc_metadata *header_find(const fl_call *c, const char *key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i < c->req_md.count; i++) {
        const grpc_metadata *m = &c->req_md.metadata[i];
        if (GRPC_SLICE_LENGTH(m->key) == kl && memcmp(GRPC_SLICE_START_PTR(m->key), key, kl) == 0) return m;
    }
    return NULL;
}

int fl_call_compression(const fl_call *c, ipc_compression *out, qv_err *err) {
    *out = IPC_COMPRESS_NONE;
    const grpc_metadata *m = header_find(c, COMPRESSION_HEADER);
    if (!m) return QV_OK;
    const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
    size_t n = GRPC_SLICE_LENGTH(m->value);
    if (ipc_compression_parse(v, n, out) == 0) return QV_OK;
    return qv_err_set(err, QV_EINVAL, "%s: unknown compression '%.*s' (valid: lz4, zstd, none)", COMPRESSION_HEADER,
                      (int)(n > 40 ? 40 : n), v);
}
