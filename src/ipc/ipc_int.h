/*
** Private to src/ipc: Arrow flatbuffer field numbers and enum values (from
** Arrow's Schema.fbs / Message.fbs), and helpers shared by the encoder and
** the decoder files.
*/
#ifndef QUIVER_IPC_INT_H
#define QUIVER_IPC_INT_H

#include "fb.h"
#include "ipc/ipc.h"

/* Message table */
enum { MSG_VERSION = 0, MSG_HEADER_TYPE = 1, MSG_HEADER = 2, MSG_BODY_LENGTH = 3, MSG_CUSTOM_METADATA = 4 };
enum { HDR_NONE = 0, HDR_SCHEMA = 1, HDR_DICTIONARY_BATCH = 2, HDR_RECORD_BATCH = 3, HDR_TENSOR = 4,
       HDR_SPARSE_TENSOR = 5 };
enum { METADATA_V4 = 3, METADATA_V5 = 4 };

/* Schema / Field / DictionaryEncoding / KeyValue */
enum { SCHEMA_ENDIANNESS = 0, SCHEMA_FIELDS = 1, SCHEMA_CUSTOM_METADATA = 2, SCHEMA_FEATURES = 3 };
enum { FIELD_NAME = 0, FIELD_NULLABLE = 1, FIELD_TYPE_TYPE = 2, FIELD_TYPE = 3, FIELD_DICTIONARY = 4,
       FIELD_CHILDREN = 5, FIELD_CUSTOM_METADATA = 6 };
enum { DICTENC_ID = 0, DICTENC_INDEX_TYPE = 1, DICTENC_ORDERED = 2, DICTENC_KIND = 3 };

/* Type union members */
enum {
    AT_NONE = 0, AT_NULL, AT_INT, AT_FLOAT, AT_BINARY, AT_UTF8, AT_BOOL, AT_DECIMAL, AT_DATE, AT_TIME,
    AT_TIMESTAMP, AT_INTERVAL, AT_LIST, AT_STRUCT, AT_UNION, AT_FIXED_SIZE_BINARY, AT_FIXED_SIZE_LIST,
    AT_MAP, AT_DURATION, AT_LARGE_BINARY, AT_LARGE_UTF8, AT_LARGE_LIST, AT_RUN_END_ENCODED,
    AT_BINARY_VIEW, AT_UTF8_VIEW, AT_LIST_VIEW, AT_LARGE_LIST_VIEW, AT__COUNT
};
enum { INT_BITWIDTH = 0, INT_SIGNED = 1 };
enum { FLOAT_PRECISION = 0 };
enum { PREC_HALF = 0, PREC_SINGLE = 1, PREC_DOUBLE = 2 };
enum { DATE_UNIT = 0 };
enum { DATE_DAY = 0, DATE_MILLI = 1 };
enum { TS_UNIT = 0, TS_TIMEZONE = 1 };
enum { TIME_UNIT = 0, TIME_BITWIDTH = 1 };
enum { UNIT_SECOND = 0, UNIT_MILLI = 1, UNIT_MICRO = 2, UNIT_NANO = 3 };

/* RecordBatch / DictionaryBatch / BodyCompression */
enum { RB_LENGTH = 0, RB_NODES = 1, RB_BUFFERS = 2, RB_COMPRESSION = 3, RB_VARIADIC = 4 };
enum { DB_ID = 0, DB_DATA = 1, DB_IS_DELTA = 2 };
enum { BC_CODEC = 0, BC_METHOD = 1 };
enum { CODEC_LZ4_FRAME = 0, CODEC_ZSTD = 1 };

#define IPC_CONTINUATION 0xFFFFFFFFu

const char *ipc_arrow_type_name(int type_type);

/* Compression of one body buffer (ipc_compress.c). compress: *out is a new
   buffer holding the compressed bytes, or NULL if compression did not pay. */
int ipc_compress(ipc_compression c, const uint8_t *p, size_t n, qv_buffer **out, qv_err *err);
/* Decompress exactly `expect` bytes into a new buffer. */
int ipc_decompress(int codec, const uint8_t *p, size_t n, int64_t expect, qv_buffer **out,
                   qv_err *err);

/* Run fn(ctx, 0..n-1) on the calling thread and the ipc helper pool (ipc_pool.c);
   returns when all are done. fn must be safe to run concurrently for distinct i. */
void ipc_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx);

/* Append a body piece (takes its own ref on owner); len 0 is a no-op. */
void ipc_message_add_piece(ipc_message *m, const uint8_t *data, size_t len, qv_buffer *owner);
/* Materialise a SYMBOL array (int32 codes + dict) as a new STRING array;
   rows whose code is null or names a null entry become null. */
int ipc_symbol_to_string(const qv_array *sym, qv_array *out, const char *col, qv_err *err);

/* Offset of the first byte that is not valid UTF-8, or -1. */
int64_t ipc_utf8_invalid_at(const uint8_t *p, int64_t n);
/* A STRING array's rows are valid UTF-8 (QV_EINVAL naming column and row if not). */
int ipc_check_utf8(const qv_array *a, const char *col, qv_err *err);

/* DECIMAL to the wire (ipc_decimal.c): the a->length rows of a as decimal128
   values in a new buffer, and the Decimal type table of field f. */
qv_buffer *ipc_decimal_widen(const qv_array *a);
fb_ref ipc_decimal_build_type(fb_builder *fb, const qv_field *f);

/* Overflow-checked multiply for unit conversion. */
static inline bool ipc_mul_i64(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

#endif
