/*
** Encoder: Quiver schema/batches -> Arrow IPC messages.
**
** State: the encoder owns a copy of the schema and, per SYMBOL column sent
** as a dictionary, a private copy of the dictionary entries the reader has
** already received (so the next batch can send only a delta, or a
** replacement when the entries changed). Bodies never copy column memory
** except where Arrow's layout forces it (unaligned bitmaps, rebased string
** offsets, compression, symbols materialised as strings).
*/
#include "ipc_int.h"

#include <stdlib.h>
#include <string.h>

struct ipc_encoder {
    qv_schema schema;
    ipc_write_options opts;
    qv_array *sent;   /* per column: dictionary entries already sent (STRING) */
    bool *has_sent;
    fb_builder fb;
};

typedef struct { int64_t a, b; } pair64; /* FieldNode {length, null_count} / Buffer {offset, length} */

/* One buffer to compress (a ref held on owner); out NULL: raw with -1. */
typedef struct cjob {
    const uint8_t *p;
    size_t n;
    qv_buffer *owner, *out;
    ipc_compression comp;
    int rc;
    qv_err err;
} cjob;

/* Body under construction for one message. Compressed bodies collect their
   buffers as jobs first; body_finish compresses them on the ipc pool and
   lays out the pieces. */
typedef struct body {
    ipc_message *m;
    ipc_compression comp;
    pair64 *nodes, *bufs;
    int nnodes, nbufs, capn, capb;
    cjob *jobs;
    int njobs;
} body;

static const uint8_t zeros8[8];
static void pad_body(body *bd);
/* Below this many bytes a message's buffers are compressed on the caller alone. */
#define PARALLEL_MIN_BYTES (256 << 10)

static void body_free(body *bd) {
    for (int i = 0; i < bd->njobs; i++) {
        qv_buffer_unref(bd->jobs[i].owner);
        qv_buffer_unref(bd->jobs[i].out);
    }
    free(bd->jobs);
    free(bd->nodes);
    free(bd->bufs);
}

static void compress_one(void *ctx, int i) {
    cjob *j = &((body *)ctx)->jobs[i];
    j->rc = j->n ? ipc_compress(j->comp, j->p, j->n, &j->out, &j->err) : QV_OK;
}

/* Compress the collected buffers (in parallel when worth it) and append them. */
static int body_finish(body *bd, qv_err *err) {
    if (bd->comp == IPC_COMPRESS_NONE) return QV_OK;
    size_t total = 0;
    for (int i = 0; i < bd->njobs; i++) total += bd->jobs[i].n;
    if (total >= PARALLEL_MIN_BYTES)
        ipc_parallel_for(bd->njobs, compress_one, bd);
    else
        for (int i = 0; i < bd->njobs; i++) compress_one(bd, i);
    for (int i = 0; i < bd->njobs; i++) {
        cjob *j = &bd->jobs[i];
        if (j->rc) {
            *err = j->err;
            return j->rc;
        }
        int64_t start = bd->m->body_len;
        if (j->out) {
            ipc_message_add_piece(bd->m, j->out->data, j->out->size, j->out);
        } else if (j->n) {
            /* Not worth it: -1 marks the raw bytes that follow. */
            qv_buffer *hdr = qv_buffer_new(8);
            int64_t minus1 = -1;
            memcpy(hdr->data, &minus1, 8);
            hdr->size = 8;
            ipc_message_add_piece(bd->m, hdr->data, 8, hdr);
            qv_buffer_unref(hdr);
            ipc_message_add_piece(bd->m, j->p, j->n, j->owner);
        }
        bd->bufs[i] = (pair64){start, bd->m->body_len - start};
        pad_body(bd);
    }
    return QV_OK;
}

static void add_node(body *bd, int64_t len, int64_t nulls) {
    if (bd->nnodes == bd->capn) {
        bd->capn = bd->capn ? 2 * bd->capn : 8;
        bd->nodes = qv_xrealloc(bd->nodes, sizeof(pair64) * (size_t)bd->capn);
    }
    bd->nodes[bd->nnodes++] = (pair64){len, nulls};
}

static void pad_body(body *bd) {
    size_t pad = qv_pad8((size_t)bd->m->body_len) - (size_t)bd->m->body_len;
    if (pad) ipc_message_add_piece(bd->m, NULL, pad, NULL);
}

/* One Arrow buffer of the body: zero-copy unless compressed. */
static int add_buffer(body *bd, const uint8_t *p, size_t n, qv_buffer *owner, qv_err *err) {
    if (bd->nbufs == bd->capb) {
        bd->capb = bd->capb ? 2 * bd->capb : 16;
        bd->bufs = qv_xrealloc(bd->bufs, sizeof(pair64) * (size_t)bd->capb);
        if (bd->comp != IPC_COMPRESS_NONE) bd->jobs = qv_xrealloc(bd->jobs, sizeof(cjob) * (size_t)bd->capb);
    }
    (void)err;
    if (bd->comp != IPC_COMPRESS_NONE) { /* laid out by body_finish */
        bd->jobs[bd->njobs++] = (cjob){.p = p, .n = n, .owner = qv_buffer_ref(owner), .comp = bd->comp};
        bd->bufs[bd->nbufs++] = (pair64){0, 0};
        return QV_OK;
    }
    int64_t start = bd->m->body_len;
    if (n > 0) ipc_message_add_piece(bd->m, p, n, owner);
    bd->bufs[bd->nbufs++] = (pair64){start, bd->m->body_len - start};
    pad_body(bd);
    return QV_OK;
}

static int64_t count_nulls(const qv_buffer *bits, int64_t off, int64_t n) {
    if (!bits) return 0;
    int64_t valid = 0, i = 0;
    const uint8_t *p = bits->data;
    for (; i < n && ((off + i) & 7); i++) valid += qv_bit_get(p, off + i);
    for (; i + 8 <= n; i += 8) valid += __builtin_popcount(p[(off + i) >> 3]);
    for (; i < n; i++) valid += qv_bit_get(p, off + i);
    return n - valid;
}

/* A bitmap of n bits starting at bit `off`: zero-copy when byte aligned. */
static int add_bitmap(body *bd, qv_buffer *bits, int64_t off, int64_t n, qv_err *err) {
    size_t bytes = (size_t)(n + 7) / 8;
    if (n == 0 || !bits) return add_buffer(bd, NULL, 0, NULL, err);
    if ((off & 7) == 0) return add_buffer(bd, bits->data + off / 8, bytes, bits, err);
    qv_buffer *nb = qv_buffer_new(qv_pad8(bytes));
    for (int64_t i = 0; i < n; i++)
        if (qv_bit_get(bits->data, off + i)) nb->data[i >> 3] |= (uint8_t)(1u << (i & 7));
    nb->size = bytes;
    int rc = add_buffer(bd, nb->data, bytes, nb, err);
    qv_buffer_unref(nb);
    return rc;
}

static int add_string_column(body *bd, const qv_array *a, qv_err *err) {
    int64_t n = a->length, nulls = count_nulls(a->validity, a->offset, n);
    add_node(bd, n, nulls);
    if (add_bitmap(bd, nulls ? a->validity : NULL, a->offset, n, err)) return err->code;
    if (n == 0 || !a->values) {
        if (add_buffer(bd, zeros8, 4, NULL, err)) return err->code; /* a single 0 offset */
        return add_buffer(bd, NULL, 0, NULL, err);
    }
    const int32_t *off = (const int32_t *)a->values->data + a->offset;
    int32_t first = off[0], last = off[n];
    uint8_t *dp = a->data ? a->data->data : NULL;
    if (first == 0) {
        if (add_buffer(bd, (const uint8_t *)off, (size_t)(n + 1) * 4, a->values, err)) return err->code;
    } else {
        qv_buffer *nb = qv_buffer_new(qv_pad8((size_t)(n + 1) * 4));
        int32_t *o = (int32_t *)nb->data;
        for (int64_t i = 0; i <= n; i++) o[i] = off[i] - first;
        nb->size = (size_t)(n + 1) * 4;
        int rc = add_buffer(bd, nb->data, nb->size, nb, err);
        qv_buffer_unref(nb);
        if (rc) return rc;
    }
    return add_buffer(bd, dp ? dp + first : NULL, (size_t)(last - first), a->data, err);
}

static int check_array(const qv_array *a, const char *col, qv_err *err) {
    int64_t end = a->offset + a->length;
    if (a->offset < 0 || a->length < 0)
        return qv_err_set(err, QV_EINVAL, "column %s: negative offset or length", col);
    if (a->length == 0) return QV_OK;
    if (a->validity && a->validity->size < (size_t)(end + 7) / 8)
        return qv_err_set(err, QV_EINVAL, "column %s: validity bitmap too short", col);
    if (!a->values) return qv_err_set(err, QV_EINVAL, "column %s: missing values buffer", col);
    size_t need = a->type == QV_T_BOOL     ? (size_t)(end + 7) / 8
                  : a->type == QV_T_STRING ? (size_t)(end + 1) * 4
                                           : (size_t)end * (size_t)qv_type_width(a->type);
    if (a->values->size < need)
        return qv_err_set(err, QV_EINVAL, "column %s: values buffer holds %zu bytes, needs %zu", col,
                          a->values->size, need);
    if (a->type == QV_T_STRING) {
        const int32_t *o = (const int32_t *)a->values->data + a->offset;
        size_t dl = a->data ? a->data->size : 0;
        if (o[0] < 0 || o[a->length] < o[0] || (size_t)o[a->length] > dl)
            return qv_err_set(err, QV_EINVAL, "column %s: string offsets outside the data", col);
    }
    return QV_OK;
}

/* Column i of a batch. SYMBOL: codes when sent as dictionary, else strings. */
static int add_column(ipc_encoder *e, body *bd, const qv_array *a, const char *col, qv_err *err) {
    if (check_array(a, col, err)) return err->code;
    if (a->type == QV_T_STRING) return add_string_column(bd, a, err);
    if (a->type == QV_T_SYMBOL && !e->opts.symbol_as_dictionary) {
        qv_array s;
        if (ipc_symbol_to_string(a, &s, col, err)) return err->code;
        int rc = add_string_column(bd, &s, err);
        qv_array_free(&s);
        return rc;
    }
    int64_t n = a->length, nulls = count_nulls(a->validity, a->offset, n);
    add_node(bd, n, nulls);
    if (add_bitmap(bd, nulls ? a->validity : NULL, a->offset, n, err)) return err->code;
    if (a->type == QV_T_BOOL) return add_bitmap(bd, a->values, a->offset, n, err);
    if (a->type == QV_T_DECIMAL) { /* int64 in memory, decimal128 on the wire: widened copy */
        qv_buffer *wide = ipc_decimal_widen(a);
        int rc = add_buffer(bd, n ? wide->data : NULL, wide->size, wide, err);
        qv_buffer_unref(wide);
        return rc;
    }
    size_t w = (size_t)qv_type_width(a->type);
    if (n == 0) return add_buffer(bd, NULL, 0, NULL, err);
    return add_buffer(bd, a->values->data + (size_t)a->offset * w, (size_t)n * w, a->values, err);
}

/* ---------------- flatbuffer metadata ---------------- */

static fb_ref build_int_type(fb_builder *fb, int bits, bool is_signed) {
    fb_table_start(fb);
    fb_add_i32(fb, INT_BITWIDTH, bits);
    fb_add_u8(fb, INT_SIGNED, is_signed);
    return fb_table_end(fb);
}

static fb_ref build_field(ipc_encoder *e, int i) {
    fb_builder *fb = &e->fb;
    const qv_field *f = &e->schema.fields[i];
    fb_ref name = fb_create_string(fb, f->name, strlen(f->name));
    fb_ref children = fb_create_vector_refs(fb, NULL, 0);
    fb_ref type = 0, dict = 0;
    uint8_t tt = AT_UTF8;
    switch (f->type) {
    case QV_T_INT32: tt = AT_INT; type = build_int_type(fb, 32, true); break;
    case QV_T_INT64: tt = AT_INT; type = build_int_type(fb, 64, true); break;
    case QV_T_FLOAT32:
    case QV_T_FLOAT64:
        tt = AT_FLOAT;
        fb_table_start(fb);
        fb_add_i16(fb, FLOAT_PRECISION, f->type == QV_T_FLOAT32 ? PREC_SINGLE : PREC_DOUBLE);
        type = fb_table_end(fb);
        break;
    case QV_T_BOOL: tt = AT_BOOL; fb_table_start(fb); type = fb_table_end(fb); break;
    case QV_T_TIMESTAMP: {
        tt = AT_TIMESTAMP;
        size_t tzlen = strnlen(f->tz, sizeof f->tz);
        fb_ref tz = tzlen ? fb_create_string(fb, f->tz, tzlen) : 0;
        fb_table_start(fb);
        fb_add_i16(fb, TS_UNIT, UNIT_NANO);
        if (tz) fb_add_ref(fb, TS_TIMEZONE, tz);
        type = fb_table_end(fb);
        break;
    }
    case QV_T_DATE:
        tt = AT_DATE;
        fb_table_start(fb);
        fb_add_i16(fb, DATE_UNIT, DATE_DAY);
        type = fb_table_end(fb);
        break;
    case QV_T_DECIMAL: tt = AT_DECIMAL; type = ipc_decimal_build_type(fb, f); break;
    case QV_T_INTERVAL:
        tt = AT_DURATION;
        fb_table_start(fb);
        fb_add_i16(fb, TS_UNIT, UNIT_NANO);
        type = fb_table_end(fb);
        break;
    case QV_T_TIME:
        tt = AT_TIME;
        fb_table_start(fb);
        fb_add_i16(fb, TIME_UNIT, UNIT_NANO);
        fb_add_i32(fb, TIME_BITWIDTH, 64);
        type = fb_table_end(fb);
        break;
    case QV_T_INVALID:
    case QV_T__COUNT:
    case QV_T_STRING:
    case QV_T_SYMBOL:
        tt = AT_UTF8;
        fb_table_start(fb);
        type = fb_table_end(fb);
        if (f->type == QV_T_SYMBOL && e->opts.symbol_as_dictionary) {
            fb_ref it = build_int_type(fb, 32, true);
            fb_table_start(fb);
            fb_add_i64(fb, DICTENC_ID, i);
            fb_add_ref(fb, DICTENC_INDEX_TYPE, it);
            fb_add_u8(fb, DICTENC_ORDERED, 0);
            dict = fb_table_end(fb);
        }
        break;
    }
    fb_table_start(fb);
    fb_add_ref(fb, FIELD_NAME, name);
    fb_add_u8(fb, FIELD_NULLABLE, f->nullable);
    fb_add_u8(fb, FIELD_TYPE_TYPE, tt);
    fb_add_ref(fb, FIELD_TYPE, type);
    if (dict) fb_add_ref(fb, FIELD_DICTIONARY, dict);
    fb_add_ref(fb, FIELD_CHILDREN, children);
    return fb_table_end(fb);
}

static void finish_message(ipc_encoder *e, uint8_t header_type, fb_ref header, int64_t body_len,
                           ipc_message *out) {
    fb_builder *fb = &e->fb;
    fb_table_start(fb);
    fb_add_i16(fb, MSG_VERSION, METADATA_V5);
    fb_add_u8(fb, MSG_HEADER_TYPE, header_type);
    fb_add_ref(fb, MSG_HEADER, header);
    fb_add_i64(fb, MSG_BODY_LENGTH, body_len);
    fb_ref msg = fb_table_end(fb);
    size_t len;
    const uint8_t *p = fb_builder_finish(fb, msg, &len);
    qv_str_append(&out->metadata, p, len);
    while (out->metadata.len & 7) qv_str_appendc(&out->metadata, 0);
    fb_builder_reset(fb);
}

/* RecordBatch table for the body's nodes and buffers. */
static fb_ref build_record_batch(ipc_encoder *e, const body *bd, int64_t length) {
    fb_builder *fb = &e->fb;
    fb_ref nodes = fb_create_vector(fb, bd->nodes, (uint32_t)bd->nnodes, 16, 8);
    fb_ref bufs = fb_create_vector(fb, bd->bufs, (uint32_t)bd->nbufs, 16, 8);
    fb_ref comp = 0;
    if (bd->comp != IPC_COMPRESS_NONE) {
        fb_table_start(fb);
        fb_add_u8(fb, BC_CODEC, bd->comp == IPC_COMPRESS_LZ4 ? CODEC_LZ4_FRAME : CODEC_ZSTD);
        fb_add_u8(fb, BC_METHOD, 0);
        comp = fb_table_end(fb);
    }
    fb_table_start(fb);
    fb_add_i64(fb, RB_LENGTH, length);
    fb_add_ref(fb, RB_NODES, nodes);
    fb_add_ref(fb, RB_BUFFERS, bufs);
    if (comp) fb_add_ref(fb, RB_COMPRESSION, comp);
    return fb_table_end(fb);
}

/* ---------------- public API ---------------- */

int ipc_encoder_new(const qv_schema *schema, const ipc_write_options *opts, ipc_encoder **out,
                    qv_err *err) {
    *out = NULL;
    for (int i = 0; i < schema->nfields; i++) {
        const qv_field *f = &schema->fields[i];
        if (f->type <= QV_T_INVALID || f->type >= QV_T__COUNT)
            return qv_err_set(err, QV_EINVAL, "column %s: invalid type %d", f->name, (int)f->type);
    }
    if (opts && (opts->compression < IPC_COMPRESS_NONE || opts->compression > IPC_COMPRESS_ZSTD))
        return qv_err_set(err, QV_EINVAL, "unknown IPC compression %d", (int)opts->compression);
    ipc_encoder *e = qv_xcalloc(1, sizeof *e);
    qv_schema_copy(&e->schema, schema);
    if (opts) e->opts = *opts;
    int n = schema->nfields ? schema->nfields : 1;
    e->sent = qv_xcalloc((size_t)n, sizeof(qv_array));
    e->has_sent = qv_xcalloc((size_t)n, sizeof(bool));
    fb_builder_init(&e->fb);
    *out = e;
    return QV_OK;
}

void ipc_encoder_free(ipc_encoder *e) {
    if (!e) return;
    for (int i = 0; i < e->schema.nfields; i++)
        if (e->has_sent[i]) qv_array_free(&e->sent[i]);
    free(e->sent);
    free(e->has_sent);
    qv_schema_free(&e->schema);
    fb_builder_free(&e->fb);
    free(e);
}

int ipc_encoder_schema(ipc_encoder *e, ipc_message *out, qv_err *err) {
    (void)err;
    ipc_message_init(out);
    int n = e->schema.nfields;
    fb_ref *refs = qv_xcalloc((size_t)(n ? n : 1), sizeof(fb_ref));
    for (int i = 0; i < n; i++) refs[i] = build_field(e, i);
    fb_builder *fb = &e->fb;
    fb_ref fields = fb_create_vector_refs(fb, refs, (uint32_t)n);
    free(refs);
    fb_table_start(fb);
    fb_add_i16(fb, SCHEMA_ENDIANNESS, 0);
    fb_add_ref(fb, SCHEMA_FIELDS, fields);
    fb_ref schema = fb_table_end(fb);
    finish_message(e, HDR_SCHEMA, schema, 0, out);
    return QV_OK;
}

static bool str_entry_equal(const qv_array *a, int64_t i, const qv_array *b, int64_t j) {
    bool va = qv_array_is_valid(a, i), vb = qv_array_is_valid(b, j);
    if (va != vb) return false;
    if (!va) return true;
    int32_t la, lb;
    const char *pa = qv_array_get_str(a, i, &la), *pb = qv_array_get_str(b, j, &lb);
    return la == lb && memcmp(pa, pb, (size_t)la) == 0;
}

/* Copy entries [from, dict->length) onto the end of the sent copy. */
static void remember_dict(ipc_encoder *e, int col, const qv_array *dict, int64_t from) {
    qv_builder bl;
    qv_array *s = &e->sent[col];
    int64_t n = dict ? dict->length : 0;
    qv_builder_init(&bl, QV_T_STRING, n);
    if (e->has_sent[col] && from > 0)
        for (int64_t i = 0; i < s->length; i++) qv_builder_append_from(&bl, s, i);
    for (int64_t i = from; i < n; i++) qv_builder_append_from(&bl, dict, i);
    if (e->has_sent[col]) qv_array_free(s);
    qv_builder_finish(&bl, s);
    qv_builder_free(&bl);
    e->has_sent[col] = true;
}

/* Dictionary message for SYMBOL column `col` if the reader lacks entries. */
static int encode_dict(ipc_encoder *e, int col, const qv_array *a, ipc_message *out, bool *wrote,
                       qv_err *err) {
    const char *name = e->schema.fields[col].name;
    qv_array empty;
    qv_array_init(&empty, QV_T_STRING);
    const qv_array *d = a->dict ? a->dict : &empty;
    if (d->type != QV_T_STRING)
        return qv_err_set(err, QV_EINVAL, "column %s: symbol dictionary is not STRING", name);
    if (check_array(d, name, err)) return err->code;
    int64_t from = 0;
    bool delta = false;
    *wrote = false;
    if (e->has_sent[col]) {
        const qv_array *s = &e->sent[col];
        bool prefix = d->length >= s->length;
        for (int64_t i = 0; prefix && i < s->length; i++) prefix = str_entry_equal(d, i, s, i);
        if (prefix && d->length == s->length) return QV_OK;
        if (prefix) {
            from = s->length;
            delta = true;
        }
    }
    qv_array part;
    qv_array_slice(&part, d, from, d->length - from);
    body bd = {.m = out, .comp = e->opts.compression};
    ipc_message_init(out);
    int rc = add_string_column(&bd, &part, err);
    qv_array_free(&part);
    if (rc == QV_OK) rc = body_finish(&bd, err);
    if (rc) {
        body_free(&bd);
        ipc_message_free(out);
        return rc;
    }
    fb_ref rb = build_record_batch(e, &bd, d->length - from);
    body_free(&bd);
    fb_builder *fb = &e->fb;
    fb_table_start(fb);
    fb_add_i64(fb, DB_ID, col);
    fb_add_ref(fb, DB_DATA, rb);
    fb_add_u8(fb, DB_IS_DELTA, delta);
    fb_ref db = fb_table_end(fb);
    finish_message(e, HDR_DICTIONARY_BATCH, db, out->body_len, out);
    remember_dict(e, col, d, from);
    *wrote = true;
    return QV_OK;
}

int ipc_encoder_batch(ipc_encoder *e, const qv_batch *b, ipc_message *out, int *nout, qv_err *err) {
    *nout = 0;
    if (b->schema.nfields != e->schema.nfields)
        return qv_err_set(err, QV_EINVAL, "batch has %d columns, stream schema has %d",
                          b->schema.nfields, e->schema.nfields);
    for (int i = 0; i < e->schema.nfields; i++) {
        if (b->cols[i].type != e->schema.fields[i].type)
            return qv_err_set(err, QV_EINVAL, "column %s: batch type %s, stream schema says %s",
                              e->schema.fields[i].name, qv_type_name(b->cols[i].type),
                              qv_type_name(e->schema.fields[i].type));
        if (b->cols[i].length != b->nrows)
            return qv_err_set(err, QV_EINVAL, "column %s: %lld rows, batch has %lld",
                              e->schema.fields[i].name, (long long)b->cols[i].length,
                              (long long)b->nrows);
    }
    int k = 0;
    if (e->opts.symbol_as_dictionary) {
        for (int i = 0; i < e->schema.nfields; i++) {
            if (e->schema.fields[i].type != QV_T_SYMBOL) continue;
            bool wrote = false;
            if (encode_dict(e, i, &b->cols[i], &out[k], &wrote, err)) goto fail;
            if (wrote) k++;
        }
    }
    ipc_message *m = &out[k];
    ipc_message_init(m);
    body bd = {.m = m, .comp = e->opts.compression};
    for (int i = 0; i <= e->schema.nfields; i++) {
        if (i < e->schema.nfields ? add_column(e, &bd, &b->cols[i], e->schema.fields[i].name, err)
                                  : body_finish(&bd, err)) {
            body_free(&bd);
            ipc_message_free(m);
            goto fail;
        }
    }
    fb_ref rb = build_record_batch(e, &bd, b->nrows);
    body_free(&bd);
    finish_message(e, HDR_RECORD_BATCH, rb, m->body_len, m);
    *nout = k + 1;
    return QV_OK;
fail:
    for (int j = 0; j < k; j++) ipc_message_free(&out[j]);
    fb_builder_reset(&e->fb);
    return err->code;
}

int ipc_schema_to_bytes(const qv_schema *schema, const ipc_write_options *opts, qv_str *out,
                        qv_err *err) {
    ipc_encoder *e;
    if (ipc_encoder_new(schema, opts, &e, err)) return err->code;
    ipc_message m;
    int rc = ipc_encoder_schema(e, &m, err);
    if (!rc) ipc_message_write_stream(&m, out);
    ipc_message_free(&m);
    ipc_encoder_free(e);
    return rc;
}
