/*
** libFuzzer target for the Arrow IPC decoder: arbitrary bytes as an IPC
** stream. Every decoded batch must pass qv_batch_validate and re-encode;
** anything else must come back as an error status, never a crash; fed in
** pieces (ipc_feed) the same bytes give the same verdict.
*/
#include "ipc/ipc.h"

#include <stdlib.h>
#include <string.h>

typedef struct fuzz_ctx {
    ipc_encoder *enc;
    ipc_write_options wo;
} fuzz_ctx;

static int on_batch(void *ctx, const qv_batch *b, qv_err *err) {
    fuzz_ctx *f = ctx;
    if (qv_batch_validate(b, err)) abort(); /* the decoder let an inconsistent batch through */
    if (!f->enc && ipc_encoder_new(&b->schema, &f->wo, &f->enc, err)) abort();
    ipc_message *m = calloc((size_t)b->schema.nfields + 1, sizeof *m);
    int n = 0;
    if (ipc_encoder_batch(f->enc, b, m, &n, err)) abort();
    qv_str out;
    qv_str_init(&out);
    for (int i = 0; i < n; i++) {
        ipc_message_write_stream(&m[i], &out);
        ipc_message_free(&m[i]);
    }
    qv_str_free(&out);
    free(m);
    return QV_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    qv_buffer *bytes = qv_buffer_new(size ? size : 1);
    if (size) memcpy(bytes->data, data, size);
    bytes->size = size;
    ipc_read_options ro = {.dictionary_as_symbol = size & 1, .max_body_bytes = 1 << 24};
    fuzz_ctx f = {.enc = NULL, .wo = {.compression = IPC_COMPRESS_NONE, .symbol_as_dictionary = (size & 2) != 0}};
    qv_err err = {0};
    qv_schema schema;
    int rc = ipc_stream_decode(&ro, bytes, on_batch, &f, &schema, &err);
    if (rc && err.msg[0] == 0) abort(); /* every failure says why */
    qv_schema_free(&schema);
    ipc_encoder_free(f.enc);
    /* The same bytes fed in pieces (HTTP ingest) decode to the same outcome. */
    fuzz_ctx f2 = {.enc = NULL, .wo = f.wo};
    ipc_feed *feed;
    ipc_feed_new(&ro, on_batch, &f2, &feed);
    size_t step = 1 + (size ? data[0] % 97 : 0);
    int rc2 = QV_OK;
    for (size_t at = 0; at < size && rc2 == QV_OK; at += step)
        rc2 = ipc_feed_push(feed, data + at, size - at < step ? size - at : step, &err);
    if (rc2 == QV_OK) rc2 = ipc_feed_finish(feed, &schema, &err);
    else qv_schema_init(&schema);
    if (rc2 && err.msg[0] == 0) abort();
    if ((rc == QV_OK) != (rc2 == QV_OK)) abort(); /* pieces must not change the verdict */
    qv_schema_free(&schema);
    ipc_feed_free(feed);
    ipc_encoder_free(f2.enc);
    qv_schema s2;
    if (ipc_schema_from_bytes(data, size, &s2, &err) == QV_OK) {
        qv_str out;
        qv_str_init(&out);
        if (ipc_schema_to_bytes(&s2, NULL, &out, &err)) abort();
        qv_str_free(&out);
    }
    qv_schema_free(&s2);
    qv_buffer_unref(bytes);
    return 0;
}
