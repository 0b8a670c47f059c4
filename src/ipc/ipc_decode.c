/*
** Decoder: Arrow IPC messages -> Quiver schema and batches. Message and
** Schema parsing, dictionaries, and whole in-memory streams. State is
** described in ipc_dec.h; column bodies are decoded in ipc_columns.c.
*/
#include "ipc_dec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DECOMPRESS_BUDGET ((int64_t)1 << 32)

void ipc_decoder_new(const ipc_read_options *opts, ipc_decoder **out) {
    ipc_decoder *d = qv_xcalloc(1, sizeof *d);
    if (opts) d->opts = *opts;
    qv_schema_init(&d->schema);
    *out = d;
}

static void decoder_clear(ipc_decoder *d) {
    for (int i = 0; i < d->ndicts; i++)
        if (d->dicts[i].have) qv_array_free(&d->dicts[i].arr);
    free(d->dicts);
    free(d->src);
    qv_schema_free(&d->schema);
    d->dicts = NULL;
    d->src = NULL;
    d->ndicts = 0;
    d->have_schema = false;
}

void ipc_decoder_free(ipc_decoder *d) {
    if (!d) return;
    decoder_clear(d);
    free(d);
}

const qv_schema *ipc_decoder_schema(const ipc_decoder *d) {
    return d->have_schema ? &d->schema : NULL;
}

static int from_reader(fb_reader *r, qv_err *err) {
    *err = r->err;
    return err->code ? err->code : QV_ECORRUPT;
}

/* "int8", "uint64", "decimal", ... for refusal messages. */
static void describe_type(int tt, const ipc_src *s, char *buf, size_t n) {
    if (tt == AT_INT) snprintf(buf, n, "%sint%d", s->is_signed ? "" : "u", s->bits);
    else snprintf(buf, n, "%s", ipc_arrow_type_name(tt));
}

/* Field.type (union tag tt, table ty) -> the Quiver type in *qt (QV_T_INVALID
   when not supported) and the wire description in s. */
static int parse_field_type(fb_table *ty, int tt, ipc_src *s, qv_field *qf, const char *col, qv_type *qt,
                            qv_err *err) {
    fb_reader *r = ty->r;
    *qt = QV_T_INVALID;
    switch (tt) {
    case AT_INT:
        s->bits = fb_i32(ty, INT_BITWIDTH, 0, "Int.bitWidth");
        s->is_signed = fb_bool(ty, INT_SIGNED, false, "Int.is_signed");
        if (s->bits == 8 || s->bits == 16) *qt = QV_T_INT32;
        else if (s->bits == 32) *qt = s->is_signed ? QV_T_INT32 : QV_T_INT64;
        else if (s->bits == 64) *qt = QV_T_INT64;
        break;
    case AT_FLOAT: {
        int p = fb_i16(ty, FLOAT_PRECISION, PREC_HALF, "FloatingPoint.precision");
        if (p == PREC_SINGLE) *qt = QV_T_FLOAT32, s->bits = 32;
        else if (p == PREC_DOUBLE) *qt = QV_T_FLOAT64, s->bits = 64;
        else if (p == PREC_HALF) *qt = QV_T_FLOAT32, s->bits = 16; /* widened exactly */
        break;
    }
    case AT_NULL: /* no buffers; the put decides what type its NULLs are */
        *qt = QV_T_INT32;
        qf->all_null = true;
        break;
    case AT_BOOL: *qt = QV_T_BOOL; break;
    case AT_UTF8:
    case AT_LARGE_UTF8:
    case AT_UTF8_VIEW: *qt = QV_T_STRING; break;
    /* Binary layouts are the string layouts: they land as STRING when every
       value is UTF-8 (checked like strings), and are refused otherwise. */
    case AT_BINARY: s->tt = AT_UTF8; *qt = QV_T_STRING; break;
    case AT_LARGE_BINARY: s->tt = AT_LARGE_UTF8; *qt = QV_T_STRING; break;
    case AT_BINARY_VIEW: s->tt = AT_UTF8_VIEW; *qt = QV_T_STRING; break;
    case AT_TIMESTAMP: {
        s->unit = fb_i16(ty, TS_UNIT, UNIT_SECOND, "Timestamp.unit");
        const char *tz;
        uint32_t tzlen;
        fb_string(ty, TS_TIMEZONE, &tz, &tzlen, "Timestamp.timezone");
        if (fb_failed(r)) return from_reader(r, err);
        if (s->unit < UNIT_SECOND || s->unit > UNIT_NANO)
            return qv_err_set(err, QV_ECORRUPT, "column %s: Timestamp.unit %d is unknown", col, s->unit);
        if (tzlen >= sizeof qf->tz || strlen(tz) != tzlen)
            return qv_err_set(err, QV_EUNSUPPORTED, "column %s: timezone of %u bytes is not supported",
                              col, tzlen);
        memcpy(qf->tz, tz, tzlen);
        *qt = QV_T_TIMESTAMP;
        break;
    }
    case AT_DATE:
        s->unit = fb_i16(ty, DATE_UNIT, DATE_MILLI, "Date.unit");
        if (s->unit == DATE_DAY || s->unit == DATE_MILLI) *qt = QV_T_DATE;
        break;
    case AT_TIME: /* Schema.fbs: Time { unit: TimeUnit = MILLISECOND; bitWidth: int = 32 }: 32 bits for s/ms, 64 for us/ns */
        s->unit = fb_i16(ty, TIME_UNIT, UNIT_MILLI, "Time.unit");
        s->bits = fb_i32(ty, TIME_BITWIDTH, 32, "Time.bitWidth");
        if (fb_failed(r)) return from_reader(r, err);
        if (s->unit < UNIT_SECOND || s->unit > UNIT_NANO || s->bits != (s->unit <= UNIT_MILLI ? 32 : 64))
            return qv_err_set(err, QV_ECORRUPT, "column %s: Time with unit %d and bitWidth %d is not a valid time type",
                              col, s->unit, s->bits);
        *qt = QV_T_TIME;
        break;
    case AT_DURATION: /* Schema.fbs: Duration { unit: TimeUnit = MILLISECOND } */
        s->unit = fb_i16(ty, TS_UNIT, UNIT_MILLI, "Duration.unit");
        if (fb_failed(r)) return from_reader(r, err);
        if (s->unit < UNIT_SECOND || s->unit > UNIT_NANO)
            return qv_err_set(err, QV_ECORRUPT, "column %s: Duration.unit %d is unknown", col, s->unit);
        *qt = QV_T_INTERVAL;
        break;
    case AT_DECIMAL:
        if (ipc_decimal_parse_type(ty, s, qf, col, err)) return err->code;
        *qt = QV_T_DECIMAL;
        break;
    default: break; /* a wire tag, not our enum: anything else is refused by the caller */
    }
    if (fb_failed(r)) return from_reader(r, err);
    return QV_OK;
}

/* Field.dictionary (table de) on a field whose value type parsed as qt:
   string dictionaries only; registers the dictionary id with the decoder. */
static int parse_field_dict(ipc_decoder *d, fb_table *de, int tt, qv_type qt, ipc_src *s, qv_field *qf,
                            const char *col, qv_err *err) {
    fb_reader *r = de->r;
    char tname[64];
    s->dict = true;
    s->dict_id = fb_i64(de, DICTENC_ID, 0, "DictionaryEncoding.id");
    fb_table it;
    bool has_it = fb_table_field(de, DICTENC_INDEX_TYPE, &it, "DictionaryEncoding.indexType");
    if (has_it) {
        s->idx_bits = fb_i32(&it, INT_BITWIDTH, 0, "Int.bitWidth");
        s->idx_signed = fb_bool(&it, INT_SIGNED, false, "Int.is_signed");
    }
    if (fb_failed(r)) return from_reader(r, err);
    if (!has_it) return qv_err_set(err, QV_ECORRUPT, "column %s: DictionaryEncoding.indexType is missing", col);
    if (qt != QV_T_STRING) {
        describe_type(tt, s, tname, sizeof tname);
        return qv_err_set(err, QV_EUNSUPPORTED, "column %s: Arrow type dictionary<%s> is not supported "
                          "(only string dictionaries)", col, tname);
    }
    if (s->idx_bits != 8 && s->idx_bits != 16 && s->idx_bits != 32 && s->idx_bits != 64)
        return qv_err_set(err, QV_EUNSUPPORTED, "column %s: dictionary index width %d is not supported",
                          col, s->idx_bits);
    qf->type = d->opts.dictionary_as_symbol ? QV_T_SYMBOL : QV_T_STRING;
    for (int i = 0; i < d->ndicts; i++) {
        if (d->dicts[i].id != s->dict_id) continue;
        if (d->dicts[i].tt != s->tt)
            return qv_err_set(err, QV_ECORRUPT, "column %s: dictionary id %lld used with two value types",
                              col, (long long)s->dict_id);
        return QV_OK;
    }
    d->dicts = qv_xrealloc(d->dicts, sizeof(ipc_dict) * (size_t)(d->ndicts + 1));
    ipc_dict *dd = &d->dicts[d->ndicts++];
    memset(dd, 0, sizeof *dd);
    dd->id = s->dict_id;
    dd->tt = s->tt; /* the normalised layout: binary dictionaries decode as strings */
    return QV_OK;
}

/* Field -> Quiver field and wire description. */
static int parse_field(ipc_decoder *d, fb_table *ft, int idx, qv_field *qf, ipc_src *s, qv_err *err) {
    fb_reader *r = ft->r;
    const char *name;
    uint32_t nlen;
    char col[160];
    fb_string(ft, FIELD_NAME, &name, &nlen, "Field.name");
    if (fb_failed(r)) return from_reader(r, err);
    if (strlen(name) != nlen)
        return qv_err_set(err, QV_EINVAL, "field %d: name contains a NUL byte", idx);
    snprintf(col, sizeof col, "%.*s", nlen > 128 ? 128 : (int)nlen, name);
    qf->name = qv_xstrndup(name, nlen);
    qf->nullable = fb_bool(ft, FIELD_NULLABLE, false, "Field.nullable");
    int tt = fb_u8(ft, FIELD_TYPE_TYPE, AT_NONE, "Field.type_type");
    fb_table ty, de;
    bool has_type = fb_table_field(ft, FIELD_TYPE, &ty, "Field.type");
    bool has_dict = fb_table_field(ft, FIELD_DICTIONARY, &de, "Field.dictionary");
    if (fb_failed(r)) return from_reader(r, err);
    if (!has_type) return qv_err_set(err, QV_ECORRUPT, "column %s: Field.type is missing", col);
    memset(s, 0, sizeof *s);
    s->tt = tt;
    qv_type qt;
    int rc = parse_field_type(&ty, tt, s, qf, col, &qt, err);
    if (rc) return rc;
    if (qt == QV_T_INVALID) {
        char tname[64];
        if (tt == AT_DATE) snprintf(tname, sizeof tname, "date(unit %d)", s->unit);
        else describe_type(tt, s, tname, sizeof tname);
        return qv_err_set(err, QV_EUNSUPPORTED, "column %s: Arrow type %s is not supported", col, tname);
    }
    qf->type = qt;
    return has_dict ? parse_field_dict(d, &de, tt, qt, s, qf, col, err) : QV_OK;
}

static int parse_schema(ipc_decoder *d, fb_table *st, qv_err *err) {
    fb_reader *r = st->r;
    int endian = fb_i16(st, SCHEMA_ENDIANNESS, 0, "Schema.endianness");
    fb_vec fields;
    bool has = fb_vector(st, SCHEMA_FIELDS, 4, &fields, "Schema.fields");
    if (fb_failed(r)) return from_reader(r, err);
    if (endian != 0) return qv_err_set(err, QV_EUNSUPPORTED, "big-endian Arrow data is not supported");
    int n = has ? (int)fields.n : 0;
    if (has && fields.n > 100000) return qv_err_set(err, QV_EUNSUPPORTED, "schema has %u fields", fields.n);
    d->schema.fields = qv_xcalloc((size_t)(n ? n : 1), sizeof(qv_field));
    d->src = qv_xcalloc((size_t)(n ? n : 1), sizeof(ipc_src));
    for (int i = 0; i < n; i++) {
        fb_table ft;
        if (!fb_vec_table(&fields, (uint32_t)i, &ft, "Schema.fields[]")) return from_reader(r, err);
        d->schema.nfields = i + 1; /* so a failure frees the names parsed so far */
        if (parse_field(d, &ft, i, &d->schema.fields[i], &d->src[i], err)) return err->code;
        for (int j = 0; j < i; j++)
            if (strcmp(d->schema.fields[j].name, d->schema.fields[i].name) == 0)
                return qv_err_set(err, QV_EINVAL, "column %s appears twice in the schema",
                                  d->schema.fields[i].name);
    }
    d->have_schema = true;
    return QV_OK;
}

static int decode_record_batch(ipc_decoder *d, fb_table *h, qv_buffer *body, int64_t body_len,
                               qv_batch *batch, qv_err *err) {
    ipc_rb rb;
    int64_t budget = d->opts.max_body_bytes ? d->opts.max_body_bytes : DEFAULT_DECOMPRESS_BUDGET;
    if (ipc_rb_open(&rb, h, body, body_len, budget, err)) return err->code;
    if (rb.nodes.n != (uint32_t)d->schema.nfields)
        return qv_err_set(err, QV_ECORRUPT, "RecordBatch has %u field nodes, the schema has %d columns",
                          rb.nodes.n, d->schema.nfields);
    qv_batch_init(batch, &d->schema);
    batch->nrows = rb.length;
    for (int i = 0; i < d->schema.nfields; i++) {
        if (ipc_decode_column(d, &rb, &d->src[i], &d->schema.fields[i], rb.length, &batch->cols[i], err)) {
            qv_batch_free(batch);
            return err->code;
        }
    }
    if (rb.buf_i != rb.bufs.n) {
        qv_batch_free(batch);
        return qv_err_set(err, QV_ECORRUPT, "RecordBatch has %u buffers, its columns use %u", rb.bufs.n,
                          rb.buf_i);
    }
    return QV_OK;
}

static int decode_dictionary(ipc_decoder *d, fb_table *h, qv_buffer *body, int64_t body_len, qv_err *err) {
    fb_reader *r = h->r;
    int64_t id = fb_i64(h, DB_ID, 0, "DictionaryBatch.id");
    bool delta = fb_bool(h, DB_IS_DELTA, false, "DictionaryBatch.isDelta");
    fb_table data;
    bool has = fb_table_field(h, DB_DATA, &data, "DictionaryBatch.data");
    if (fb_failed(r)) return from_reader(r, err);
    if (!has) return qv_err_set(err, QV_ECORRUPT, "DictionaryBatch.data is missing");
    ipc_dict *dd = NULL;
    for (int i = 0; i < d->ndicts; i++)
        if (d->dicts[i].id == id) dd = &d->dicts[i];
    if (!dd) return qv_err_set(err, QV_ECORRUPT, "DictionaryBatch id %lld matches no dictionary field", (long long)id);
    if (delta && !dd->have)
        return qv_err_set(err, QV_ECORRUPT, "DictionaryBatch id %lld: delta before any dictionary", (long long)id);
    ipc_rb rb;
    int64_t budget = d->opts.max_body_bytes ? d->opts.max_body_bytes : DEFAULT_DECOMPRESS_BUDGET;
    if (ipc_rb_open(&rb, &data, body, body_len, budget, err)) return err->code;
    if (rb.nodes.n != 1)
        return qv_err_set(err, QV_ECORRUPT, "DictionaryBatch id %lld has %u field nodes, expected 1",
                          (long long)id, rb.nodes.n);
    char name[48];
    snprintf(name, sizeof name, "dictionary %lld", (long long)id);
    qv_field f = {.name = name, .type = QV_T_STRING, .nullable = true};
    ipc_src s = {.tt = dd->tt};
    qv_array arr;
    if (ipc_decode_column(d, &rb, &s, &f, rb.length, &arr, err)) return err->code;
    if (rb.buf_i != rb.bufs.n) {
        qv_array_free(&arr);
        return qv_err_set(err, QV_ECORRUPT, "DictionaryBatch id %lld has %u buffers, %u used", (long long)id,
                          rb.bufs.n, rb.buf_i);
    }
    int64_t total = arr.length + (delta ? dd->arr.length : 0);
    if (total > INT32_MAX) {
        qv_array_free(&arr);
        return qv_err_set(err, QV_EUNSUPPORTED, "dictionary %lld has more than 2^31 entries", (long long)id);
    }
    if (delta) {
        qv_builder b;
        qv_builder_init(&b, QV_T_STRING, total);
        for (int64_t i = 0; i < dd->arr.length; i++) qv_builder_append_from(&b, &dd->arr, i);
        for (int64_t i = 0; i < arr.length; i++) qv_builder_append_from(&b, &arr, i);
        qv_array_free(&arr);
        qv_builder_finish(&b, &arr);
        qv_builder_free(&b);
    }
    if (dd->have) qv_array_free(&dd->arr);
    dd->arr = arr;
    dd->have = true;
    return QV_OK;
}

int ipc_decoder_message(ipc_decoder *d, const uint8_t *metadata, size_t metadata_len, qv_buffer *body,
                        ipc_event *ev, qv_batch *batch, qv_err *err) {
    *ev = IPC_EV_NONE;
    fb_reader r;
    fb_reader_init(&r, metadata, metadata_len);
    fb_table msg, h;
    if (!fb_root(&r, &msg, "Message")) return from_reader(&r, err);
    int version = fb_i16(&msg, MSG_VERSION, 0, "Message.version");
    int ht = fb_u8(&msg, MSG_HEADER_TYPE, HDR_NONE, "Message.header_type");
    bool has = fb_table_field(&msg, MSG_HEADER, &h, "Message.header");
    int64_t body_len = fb_i64(&msg, MSG_BODY_LENGTH, 0, "Message.bodyLength");
    if (fb_failed(&r)) return from_reader(&r, err);
    if (version < METADATA_V4 || version > METADATA_V5)
        return qv_err_set(err, QV_EUNSUPPORTED, "Message.version V%d is not supported (V4 or V5 only)",
                          version + 1);
    if (!has) return qv_err_set(err, QV_ECORRUPT, "Message.header is missing");
    size_t have = body ? body->size : 0;
    if (body_len < 0 || (uint64_t)body_len > have)
        return qv_err_set(err, QV_ECORRUPT, "Message.bodyLength %lld but the body has %zu bytes",
                          (long long)body_len, have);
    if (d->opts.max_body_bytes && body_len > d->opts.max_body_bytes)
        return qv_err_set(err, QV_ERESOURCE, "message body of %lld bytes exceeds the limit of %lld",
                          (long long)body_len, (long long)d->opts.max_body_bytes);
    switch (ht) {
    case HDR_SCHEMA:
        if (d->have_schema) return qv_err_set(err, QV_EINVAL, "a second Schema message in the stream");
        if (parse_schema(d, &h, err)) {
            decoder_clear(d);
            return err->code;
        }
        *ev = IPC_EV_SCHEMA;
        return QV_OK;
    case HDR_RECORD_BATCH:
    case HDR_DICTIONARY_BATCH:
        if (!d->have_schema)
            return qv_err_set(err, QV_EINVAL, "%s message before the Schema",
                              ht == HDR_RECORD_BATCH ? "RecordBatch" : "DictionaryBatch");
        if (ht == HDR_DICTIONARY_BATCH) {
            if (decode_dictionary(d, &h, body, body_len, err)) return err->code;
            *ev = IPC_EV_DICTIONARY;
            return QV_OK;
        }
        if (!batch) return qv_err_set(err, QV_EINVAL, "RecordBatch message but no batch to fill");
        if (decode_record_batch(d, &h, body, body_len, batch, err)) return err->code;
        *ev = IPC_EV_BATCH;
        return QV_OK;
    default:
        return qv_err_set(err, QV_EUNSUPPORTED, "Message.header_type %d is not supported (tensors?)", ht);
    }
}

/* One encapsulated message at bytes[*pos]: continuation marker (or the
   pre-1.0 bare length), metadata length, metadata; 0 length = end. */
static int read_frame(const uint8_t *p, size_t n, size_t *pos, const uint8_t **meta, size_t *mlen,
                      qv_err *err) {
    size_t at = *pos;
    *meta = NULL;
    *mlen = 0;
    if (n - at < 4) return qv_err_set(err, QV_ECORRUPT, "stream truncated at byte %zu (message length)", at);
    uint32_t w;
    memcpy(&w, p + at, 4);
    at += 4;
    if (w == IPC_CONTINUATION) {
        if (n - at < 4) return qv_err_set(err, QV_ECORRUPT, "stream truncated at byte %zu (message length)", at);
        memcpy(&w, p + at, 4);
        at += 4;
    }
    int32_t len = (int32_t)w;
    if (len < 0 || (size_t)len > n - at)
        return qv_err_set(err, QV_ECORRUPT, "message at byte %zu declares %d metadata bytes, %zu remain",
                          *pos, len, n - at);
    *meta = p + at;
    *mlen = (size_t)len;
    *pos = at + (size_t)len;
    return QV_OK;
}

static int body_length_of(const uint8_t *meta, size_t mlen, int64_t *out, qv_err *err) {
    fb_reader r;
    fb_reader_init(&r, meta, mlen);
    fb_table msg;
    if (!fb_root(&r, &msg, "Message")) return from_reader(&r, err);
    *out = fb_i64(&msg, MSG_BODY_LENGTH, 0, "Message.bodyLength");
    if (fb_failed(&r)) return from_reader(&r, err);
    return QV_OK;
}

int ipc_stream_decode(const ipc_read_options *opts, qv_buffer *bytes,
                      int (*on_batch)(void *ctx, const qv_batch *b, qv_err *err), void *ctx,
                      qv_schema *schema, qv_err *err) {
    qv_schema_init(schema);
    ipc_decoder *d;
    ipc_decoder_new(opts, &d);
    const uint8_t *p = bytes->data;
    size_t n = bytes->size, pos = 0;
    int rc = QV_OK;
    while (pos < n) {
        const uint8_t *meta;
        size_t mlen;
        size_t start = pos;
        if ((rc = read_frame(p, n, &pos, &meta, &mlen, err))) break;
        if (mlen == 0) break; /* end-of-stream marker */
        int64_t blen;
        if ((rc = body_length_of(meta, mlen, &blen, err))) {
            qv_err_prefix(err, "message at byte %zu", start);
            break;
        }
        if (blen < 0 || (uint64_t)blen > n - pos) {
            rc = qv_err_set(err, QV_ECORRUPT, "message at byte %zu: body of %lld bytes runs past the stream end",
                            start, (long long)blen);
            break;
        }
        qv_buffer *body = qv_buffer_slice(bytes, pos, (size_t)blen);
        pos += (size_t)blen;
        ipc_event ev;
        qv_batch b;
        rc = ipc_decoder_message(d, meta, mlen, body, &ev, &b, err);
        qv_buffer_unref(body);
        if (rc) {
            qv_err_prefix(err, "message at byte %zu", start);
            break;
        }
        if (ev == IPC_EV_BATCH) {
            rc = on_batch ? on_batch(ctx, &b, err) : QV_OK;
            qv_batch_free(&b);
            if (rc) break;
        }
    }
    if (!rc && !d->have_schema) rc = qv_err_set(err, QV_EINVAL, "IPC stream holds no Schema message");
    if (!rc) {
        qv_schema_free(schema);
        qv_schema_copy(schema, &d->schema);
    }
    ipc_decoder_free(d);
    return rc;
}

int ipc_schema_from_bytes(const uint8_t *p, size_t n, qv_schema *out, qv_err *err) {
    qv_schema_init(out);
    size_t pos = 0;
    const uint8_t *meta;
    size_t mlen;
    if (read_frame(p, n, &pos, &meta, &mlen, err)) return err->code;
    if (mlen == 0) return qv_err_set(err, QV_EINVAL, "expected a Schema message, got end-of-stream");
    ipc_decoder *d;
    ipc_decoder_new(NULL, &d);
    ipc_event ev;
    int rc = ipc_decoder_message(d, meta, mlen, NULL, &ev, NULL, err);
    if (!rc && ev != IPC_EV_SCHEMA) rc = qv_err_set(err, QV_EINVAL, "expected a Schema message");
    if (!rc) {
        qv_schema_free(out);
        qv_schema_copy(out, &d->schema);
    }
    ipc_decoder_free(d);
    return rc;
}

/* ---- an IPC stream fed in pieces (HTTP ingest as the body arrives) ----
** pend holds the bytes not yet decoded: at most one message plus the last
** piece, so memory is bounded by the largest message, not the stream. */
struct ipc_feed {
    ipc_decoder *d;
    int (*on_batch)(void *ctx, const qv_batch *b, qv_err *err);
    void *ctx;
    qv_str pend;
    size_t pos;      /* decoded prefix of pend */
    int64_t at;      /* stream offset of pend[0] */
    int64_t max_msg; /* largest metadata + body accepted */
    bool eos;
};

void ipc_feed_new(const ipc_read_options *opts, int (*on_batch)(void *ctx, const qv_batch *b, qv_err *err),
                  void *ctx, ipc_feed **out) {
    ipc_feed *f = qv_xcalloc(1, sizeof *f);
    ipc_decoder_new(opts, &f->d);
    f->on_batch = on_batch;
    f->ctx = ctx;
    qv_str_init(&f->pend);
    f->max_msg = opts && opts->max_body_bytes > 0 ? opts->max_body_bytes : ((int64_t)1 << 31);
    *out = f;
}

void ipc_feed_free(ipc_feed *f) {
    if (!f) return;
    ipc_decoder_free(f->d);
    qv_str_free(&f->pend);
    free(f);
}

/* Decodes the message at f->pos if it is all there: -1 done one, 0 need more, else the error. */
static int feed_one(ipc_feed *f, qv_err *err) {
    const uint8_t *p = (const uint8_t *)f->pend.data + f->pos;
    size_t avail = f->pend.len - f->pos, hdr = 4;
    int64_t start = f->at + (int64_t)f->pos;
    if (avail < 4) return 0;
    uint32_t w;
    memcpy(&w, p, 4);
    if (w == IPC_CONTINUATION) {
        if (avail < 8) return 0;
        memcpy(&w, p + 4, 4);
        hdr = 8;
    }
    int32_t len = (int32_t)w;
    if (len < 0 || len > f->max_msg)
        return qv_err_set(err, QV_ECORRUPT, "message at byte %lld declares %d metadata bytes", (long long)start, len);
    if (len == 0) {
        f->eos = true;
        f->pos += hdr;
        return -1;
    }
    if (avail < hdr + (size_t)len) return 0;
    int64_t blen;
    if (body_length_of(p + hdr, (size_t)len, &blen, err)) return qv_err_prefix(err, "message at byte %lld", (long long)start);
    if (blen < 0 || blen > f->max_msg - len)
        return qv_err_set(err, QV_ERESOURCE, "message at byte %lld: body of %lld bytes is over the limit", (long long)start,
                          (long long)blen);
    if (avail - hdr - (size_t)len < (size_t)blen) return 0;
    qv_buffer *body = qv_buffer_new((size_t)blen ? (size_t)blen : 1); /* aligned, as the decoder likes it */
    memcpy(body->data, p + hdr + len, (size_t)blen);
    body->size = (size_t)blen;
    ipc_event ev;
    qv_batch b;
    int rc = ipc_decoder_message(f->d, p + hdr, (size_t)len, body, &ev, &b, err);
    qv_buffer_unref(body);
    if (rc) return qv_err_prefix(err, "message at byte %lld", (long long)start);
    f->pos += hdr + (size_t)len + (size_t)blen;
    if (ev == IPC_EV_BATCH) {
        rc = f->on_batch ? f->on_batch(f->ctx, &b, err) : QV_OK;
        qv_batch_free(&b);
        if (rc) return rc;
    }
    return -1;
}

int ipc_feed_push(ipc_feed *f, const uint8_t *p, size_t n, qv_err *err) {
    if (f->eos) return QV_OK; /* bytes after the end-of-stream marker are ignored, as in ipc_stream_decode */
    qv_str_append(&f->pend, p, n);
    int got = -1;
    while (!f->eos && (got = feed_one(f, err)) == -1) {}
    if (got > 0) return got;
    if (f->pos > 0 && (f->eos || f->pos >= f->pend.len / 2)) { /* keep only what is not decoded */
        memmove(f->pend.data, f->pend.data + f->pos, f->pend.len - f->pos);
        f->pend.len -= f->pos;
        f->at += (int64_t)f->pos;
        f->pos = 0;
    }
    return QV_OK;
}

int ipc_feed_finish(ipc_feed *f, qv_schema *schema, qv_err *err) {
    qv_schema_init(schema);
    if (!f->eos && f->pend.len > f->pos)
        return qv_err_set(err, QV_ECORRUPT, "stream truncated at byte %lld (a message is incomplete)",
                          (long long)(f->at + (int64_t)f->pos));
    if (!f->d->have_schema) return qv_err_set(err, QV_EINVAL, "IPC stream holds no Schema message");
    qv_schema_free(schema);
    qv_schema_copy(schema, &f->d->schema);
    return QV_OK;
}
