/*
** Private to the decoder files: what each Arrow column is on the wire, and
** the cursor over one RecordBatch's nodes and buffers.
*/
#ifndef QUIVER_IPC_DEC_H
#define QUIVER_IPC_DEC_H

#include "ipc_int.h"

/* The wire type of one column (value type plus optional dictionary). */
typedef struct ipc_src {
    int tt;            /* AT_* of the (value) type */
    int bits;          /* AT_INT; AT_DECIMAL: Decimal.bitWidth */
    int dec_prec;      /* AT_DECIMAL: the declared precision (the field's may be narrower) */
    bool is_signed;    /* AT_INT */
    int unit;          /* AT_TIMESTAMP: UNIT_*, AT_DATE: DATE_* */
    bool dict;         /* dictionary-encoded */
    int64_t dict_id;
    int idx_bits;
    bool idx_signed;
} ipc_src;

typedef struct ipc_dict {
    int64_t id;
    int tt;            /* value type: AT_UTF8, AT_LARGE_UTF8 or AT_UTF8_VIEW */
    bool have;
    qv_array arr;      /* STRING entries, owned */
} ipc_dict;

/*
** Decoder state: no schema yet -> schema known (fields, wire types,
** dictionary slots) -> dictionaries filled as DictionaryBatch messages
** arrive. The decoder owns everything here; batches it hands out hold
** their own refs on the body and on dictionaries.
*/
struct ipc_decoder {
    ipc_read_options opts;
    bool have_schema;
    qv_schema schema;
    ipc_src *src;
    ipc_dict *dicts;
    int ndicts;
};

/* Cursor over the nodes and buffers of one RecordBatch. */
typedef struct ipc_rb {
    fb_reader *r;
    fb_vec nodes, bufs, variadic;
    uint32_t node_i, buf_i, var_i;
    int64_t length;
    int codec;             /* -1: uncompressed */
    qv_buffer *body;       /* may be NULL when body_len is 0 */
    int64_t body_len;
    int64_t budget;        /* bytes decompression may still produce */
} ipc_rb;

int ipc_rb_open(ipc_rb *rb, fb_table *t, qv_buffer *body, int64_t body_len, int64_t budget,
                qv_err *err);
/* Decode one column at the cursor into a Quiver array of field f's type. */
int ipc_decode_column(ipc_decoder *d, ipc_rb *rb, const ipc_src *src, const qv_field *f,
                      int64_t length, qv_array *out, qv_err *err);

/* Decimal (ipc_decimal.c): the type table into s and qf's precision and
   scale, refusing what DECIMAL cannot hold (decimal256, scale outside 0..18). */
int ipc_decimal_parse_type(fb_table *ty, ipc_src *s, qv_field *qf, const char *col, qv_err *err);
/* The values buffer v of n decimals narrowed to int64s in a new buffer *out;
   a valid row that does not fit f's precision is refused naming column and row. */
int ipc_decimal_decode(qv_buffer *v, const ipc_src *s, const qv_field *f, int64_t n, const uint8_t *valid,
                       qv_buffer **out, qv_err *err);

#endif
