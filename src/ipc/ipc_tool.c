/*
** ipc_tool: reads an Arrow IPC stream on stdin, decodes it into Quiver
** batches and writes it back out as an IPC stream on stdout. Used by the
** pyarrow round-trip tests. Options: --compress lz4|zstd, --symbol-dict
** (SYMBOL as dictionary), --dict-as-symbol (dictionaries land as SYMBOL),
** --schema: the input is one framed Schema message (as in FlightInfo.schema)
** and the output is the schema re-encoded by ipc_schema_to_bytes.
** Exit 0 on success; on failure prints "ipc_tool: <STATUS>: <message>" to
** stderr and exits 2.
*/
#include "ipc/ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tool {
    ipc_write_options wopts;
    ipc_encoder *enc;
    qv_str out;
} tool;

static int start(tool *t, const qv_schema *s, qv_err *err) {
    if (ipc_encoder_new(s, &t->wopts, &t->enc, err)) return err->code;
    ipc_message m;
    if (ipc_encoder_schema(t->enc, &m, err)) return err->code;
    ipc_message_write_stream(&m, &t->out);
    ipc_message_free(&m);
    return QV_OK;
}

static int on_batch(void *ctx, const qv_batch *b, qv_err *err) {
    tool *t = ctx;
    if (qv_batch_validate(b, err)) return qv_err_prefix(err, "decoded batch invalid");
    if (!t->enc && start(t, &b->schema, err)) return err->code;
    ipc_message *ms = calloc((size_t)b->schema.nfields + 1, sizeof *ms);
    int n;
    int rc = ipc_encoder_batch(t->enc, b, ms, &n, err);
    for (int i = 0; !rc && i < n; i++) ipc_message_write_stream(&ms[i], &t->out);
    if (!rc)
        for (int i = 0; i < n; i++) ipc_message_free(&ms[i]);
    free(ms);
    return rc;
}

int main(int argc, char **argv) {
    tool t = {0};
    ipc_read_options ropts = {0};
    bool schema_only = false;
    qv_str_init(&t.out);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--compress") && i + 1 < argc) {
            const char *c = argv[++i];
            if (!strcmp(c, "lz4")) t.wopts.compression = IPC_COMPRESS_LZ4;
            else if (!strcmp(c, "zstd")) t.wopts.compression = IPC_COMPRESS_ZSTD;
            else if (strcmp(c, "none")) { fprintf(stderr, "ipc_tool: unknown codec %s\n", c); return 64; }
        } else if (!strcmp(argv[i], "--symbol-dict")) t.wopts.symbol_as_dictionary = true;
        else if (!strcmp(argv[i], "--dict-as-symbol")) ropts.dictionary_as_symbol = true;
        else if (!strcmp(argv[i], "--schema")) schema_only = true;
        else if (!strcmp(argv[i], "--max-body") && i + 1 < argc) ropts.max_body_bytes = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: ipc_tool [--compress lz4|zstd] [--symbol-dict] [--dict-as-symbol] "
                            "[--max-body N] [--schema] < in > out\n");
            return 64;
        }
    }
    qv_str in;
    qv_str_init(&in);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, stdin)) > 0) qv_str_append(&in, buf, k);
    /* an aligned copy, so decoded columns can point into it */
    qv_buffer *bytes = qv_buffer_new(in.len ? in.len : 1);
    if (in.len) memcpy(bytes->data, in.data, in.len);
    bytes->size = in.len;
    qv_str_free(&in);
    qv_err err = {0};
    qv_schema schema;
    int rc;
    if (schema_only) {
        rc = ipc_schema_from_bytes(bytes->data, bytes->size, &schema, &err);
        if (!rc) rc = ipc_schema_to_bytes(&schema, &t.wopts, &t.out, &err);
    } else {
        rc = ipc_stream_decode(&ropts, bytes, on_batch, &t, &schema, &err);
        if (!rc && !t.enc) rc = start(&t, &schema, &err);
        if (!rc) ipc_write_eos(&t.out);
    }
    if (!rc) {
        fwrite(t.out.data, 1, t.out.len, stdout);
    } else {
        fprintf(stderr, "ipc_tool: %s: %s\n", qv_status_name(err.code), err.msg);
    }
    qv_schema_free(&schema);
    ipc_encoder_free(t.enc);
    qv_str_free(&t.out);
    qv_buffer_unref(bytes);
    return rc ? 2 : 0;
}
