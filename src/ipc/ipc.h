/*
** ipc: Arrow IPC encoding and decoding, pure bytes in / bytes out.
** No sockets, no tables: Quiver batches (arrow-types) <-> Arrow messages.
**
** An encoded message is its flatbuffer metadata (the Message table, what
** Flight puts in FlightData.data_header) plus a body given as a list of
** pieces pointing at existing buffers (refs held), so column memory can be
** handed to a transport without a copy. ipc_message_write_stream() frames a
** message for the IPC stream format (continuation marker, length, padding).
*/
#ifndef QUIVER_IPC_H
#define QUIVER_IPC_H

#include "arrow-types/atypes.h"

typedef enum { IPC_COMPRESS_NONE = 0, IPC_COMPRESS_LZ4, IPC_COMPRESS_ZSTD } ipc_compression;

/* "none", "lz4" (LZ4_FRAME) or "zstd", case-insensitive: 0, else -1. The
   names every front end accepts (Flight call header, HTTP Accept-Encoding). */
int ipc_compression_parse(const char *s, size_t n, ipc_compression *out);
const char *ipc_compression_name(ipc_compression c);

typedef struct ipc_write_options {
    ipc_compression compression;  /* per stream; off by default */
    bool symbol_as_dictionary;    /* SYMBOL as dictionary<int32, utf8>; default plain utf8 */
} ipc_write_options;

typedef struct ipc_piece {
    const uint8_t *data;  /* NULL means `len` zero bytes of padding */
    size_t len;
    qv_buffer *owner;     /* ref held by the message; may be NULL for padding */
} ipc_piece;

typedef struct ipc_message {
    qv_str metadata;      /* flatbuffer Message bytes, padded to a multiple of 8 */
    ipc_piece *pieces;
    int npieces, cap;
    int64_t body_len;     /* sum of piece lengths, multiple of 8 */
} ipc_message;

void ipc_message_init(ipc_message *m);
void ipc_message_free(ipc_message *m);
/* Append the framed message (0xFFFFFFFF, int32 metadata length, metadata, body). */
void ipc_message_write_stream(const ipc_message *m, qv_str *out);
/* The end-of-stream marker (0xFFFFFFFF 0x00000000). */
void ipc_write_eos(qv_str *out);

/*
** Encoder for one stream. Schema first; then each batch yields zero or more
** dictionary messages followed by its record batch message.
*/
typedef struct ipc_encoder ipc_encoder;
int ipc_encoder_new(const qv_schema *schema, const ipc_write_options *opts,
                    ipc_encoder **out, qv_err *err);
void ipc_encoder_free(ipc_encoder *e);
int ipc_encoder_schema(ipc_encoder *e, ipc_message *out, qv_err *err);
/* out: caller-provided array; *nout set to messages written (<= 1 + columns). */
int ipc_encoder_batch(ipc_encoder *e, const qv_batch *b, ipc_message *out, int *nout, qv_err *err);
/* Encode a schema alone (Flight's FlightInfo.schema is an IPC-framed Schema message). */
int ipc_schema_to_bytes(const qv_schema *schema, const ipc_write_options *opts, qv_str *out, qv_err *err);

/*
** Decoder for one stream: feed it messages; it keeps the schema and
** dictionaries and produces batches converted to Quiver types (widened or
** refused, never lossy). Everything is verified before it is read.
*/
typedef struct ipc_decoder ipc_decoder;
typedef enum { IPC_EV_NONE = 0, IPC_EV_SCHEMA, IPC_EV_BATCH, IPC_EV_DICTIONARY, IPC_EV_EOS } ipc_event;

typedef struct ipc_read_options {
    bool dictionary_as_symbol;  /* dictionary<*, utf8> lands as SYMBOL instead of STRING */
    int64_t max_body_bytes;     /* 0 = no limit */
} ipc_read_options;

void ipc_decoder_new(const ipc_read_options *opts, ipc_decoder **out);
void ipc_decoder_free(ipc_decoder *d);
/* One message: metadata = flatbuffer Message bytes (unframed); body may be
   NULL when the message has none. The decoder takes its own ref on body
   (batches may point into it). On IPC_EV_BATCH, *batch is filled (caller frees);
   batch may be NULL only where no RecordBatch can come (that is then QV_EINVAL).
   Failures: QV_ECORRUPT malformed, QV_EINVAL refused values (overflow, nulls in
   a NOT NULL column, bad UTF-8), QV_EUNSUPPORTED types, QV_ERESOURCE limits. */
int ipc_decoder_message(ipc_decoder *d, const uint8_t *metadata, size_t metadata_len,
                        qv_buffer *body, ipc_event *ev, qv_batch *batch, qv_err *err);
/* NULL until a schema message was decoded. */
const qv_schema *ipc_decoder_schema(const ipc_decoder *d);
/* Decode a whole IPC stream held in memory (used by HTTP ingest, tests):
   calls on_batch for every record batch (a non-zero return stops and is
   returned); returns the schema in *schema, which is always initialised
   (empty on failure) and must be freed with qv_schema_free. */
int ipc_stream_decode(const ipc_read_options *opts, qv_buffer *bytes,
                      int (*on_batch)(void *ctx, const qv_batch *b, qv_err *err), void *ctx,
                      qv_schema *schema, qv_err *err);
/* The same stream fed in pieces as they arrive (memory: the largest message,
   not the stream; max_body_bytes bounds one message). on_batch runs for each
   batch as soon as it is complete; a failure stops the feed (free it). */
typedef struct ipc_feed ipc_feed;
void ipc_feed_new(const ipc_read_options *opts, int (*on_batch)(void *ctx, const qv_batch *b, qv_err *err),
                  void *ctx, ipc_feed **out);
int ipc_feed_push(ipc_feed *f, const uint8_t *p, size_t n, qv_err *err);
/* The end: QV_ECORRUPT if a message is cut short; the schema as ipc_stream_decode. */
int ipc_feed_finish(ipc_feed *f, qv_schema *schema, qv_err *err);
void ipc_feed_free(ipc_feed *f);
/* Parse a framed Schema message (e.g. FlightInfo.schema, DoPut's first message).
   *out is always initialised; free it with qv_schema_free. */
int ipc_schema_from_bytes(const uint8_t *p, size_t n, qv_schema *out, qv_err *err);

#endif
