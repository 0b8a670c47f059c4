/* Codec round trips in C (encode -> stream bytes -> decode), golden files
   written by pyarrow, malformed input and refusals. */
#include "ipc_int.h"
#include "qtest.h"

#include <math.h>

/* ---- helpers ---- */

static qv_schema all_types_schema(void) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "i32", QV_T_INT32, true);
    qv_schema_add(&s, "i64", QV_T_INT64, true);
    qv_schema_add(&s, "f32", QV_T_FLOAT32, true);
    qv_schema_add(&s, "f64", QV_T_FLOAT64, true);
    qv_schema_add(&s, "b", QV_T_BOOL, true);
    qv_schema_add(&s, "s", QV_T_STRING, true);
    qv_schema_add(&s, "ts", QV_T_TIMESTAMP, false);
    qv_schema_add(&s, "sym", QV_T_SYMBOL, true);
    return s;
}

static qv_array *make_dict(const char **words, int n) {
    qv_builder b;
    qv_builder_init(&b, QV_T_STRING, n);
    for (int i = 0; i < n; i++) qv_builder_append_str(&b, words[i], (int32_t)strlen(words[i]));
    qv_array *d = qv_xmalloc(sizeof *d);
    qv_builder_finish(&b, d);
    qv_builder_free(&b);
    return d;
}

/* Rows: every 5th row null (except ts), strings of growing length. */
static void fill_batch(qv_batch *bt, const qv_schema *s, int64_t nrows, const char **words, int nwords) {
    qv_batch_init(bt, s);
    bt->nrows = nrows;
    qv_builder b[8];
    for (int c = 0; c < 8; c++) qv_builder_init(&b[c], c == 7 ? QV_T_INT32 : s->fields[c].type, nrows);
    for (int64_t i = 0; i < nrows; i++) {
        bool null = i % 5 == 3;
        if (null) {
            for (int c = 0; c < 8; c++)
                if (c != 6) qv_builder_append_null(&b[c]);
        } else {
            qv_builder_append_i32(&b[0], (int32_t)(i * 7 - 100));
            qv_builder_append_i64(&b[1], (int64_t)i << 33);
            qv_builder_append_f32(&b[2], (float)i / 4);
            qv_builder_append_f64(&b[3], (double)i * 1e10);
            qv_builder_append_bool(&b[4], i % 3 == 0);
            char buf[300];
            int len = (int)(i % 280);
            for (int k = 0; k < len; k++) buf[k] = (char)('a' + (i + k) % 26);
            qv_builder_append_str(&b[5], buf, len);
            qv_builder_append_i32(&b[7], (int32_t)(i % nwords));
        }
        qv_builder_append_i64(&b[6], 1700000000000000000LL + i);
    }
    for (int c = 0; c < 8; c++) {
        qv_array_free(&bt->cols[c]);
        qv_builder_finish(&b[c], &bt->cols[c]);
        qv_builder_free(&b[c]);
    }
    bt->cols[7].type = QV_T_SYMBOL;
    bt->cols[7].dict = make_dict(words, nwords);
}

/* Same logical values (row by row). */
static bool arrays_equal(const qv_array *a, const qv_array *b, int64_t n, const char **why) {
    for (int64_t i = 0; i < n; i++) {
        bool va = qv_array_is_valid(a, i), vb = qv_array_is_valid(b, i);
        if (a->type == QV_T_SYMBOL && va) va = qv_array_is_valid(a->dict, qv_array_get_i32(a, i));
        if (b->type == QV_T_SYMBOL && vb) vb = qv_array_is_valid(b->dict, qv_array_get_i32(b, i));
        if (va != vb) return *why = "validity", false;
        if (!va) continue;
        switch (a->type) {
        case QV_T_INT32: if (qv_array_get_i32(a, i) != qv_array_get_i32(b, i)) return *why = "i32", false; break;
        case QV_T_INT64:
        case QV_T_TIMESTAMP:
        case QV_T_DECIMAL: if (qv_array_get_i64(a, i) != qv_array_get_i64(b, i)) return *why = "i64", false; break;
        case QV_T_FLOAT32: if (qv_array_get_f32(a, i) != qv_array_get_f32(b, i)) return *why = "f32", false; break;
        case QV_T_FLOAT64: if (qv_array_get_f64(a, i) != qv_array_get_f64(b, i)) return *why = "f64", false; break;
        case QV_T_BOOL: if (qv_array_get_bool(a, i) != qv_array_get_bool(b, i)) return *why = "bool", false; break;
        default: {
            int32_t la, lb;
            const char *pa = qv_array_get_str(a, i, &la), *pb = qv_array_get_str(b, i, &lb);
            if (la != lb || memcmp(pa, pb, (size_t)la)) return *why = "string", false;
        }
        }
    }
    return true;
}

typedef struct collect {
    qv_batch b[16];
    int n;
} collect;

static int collect_batch(void *ctx, const qv_batch *b, qv_err *err) {
    collect *c = ctx;
    if (qv_batch_validate(b, err)) return err->code;
    if (c->n == 16) return qv_err_set(err, QV_ERESOURCE, "too many batches");
    qv_batch_copy_ref(&c->b[c->n++], b);
    return QV_OK;
}

static void collect_free(collect *c) {
    for (int i = 0; i < c->n; i++) qv_batch_free(&c->b[i]);
    c->n = 0;
}

/* Encode batches as one stream into out. */
static int encode_stream(const qv_schema *s, const ipc_write_options *o, qv_batch *bs, int nb, qv_str *out,
                         qv_err *err) {
    ipc_encoder *e;
    if (ipc_encoder_new(s, o, &e, err)) return err->code;
    ipc_message m[9];
    int rc = ipc_encoder_schema(e, &m[0], err);
    if (!rc) ipc_message_write_stream(&m[0], out);
    ipc_message_free(&m[0]);
    for (int i = 0; !rc && i < nb; i++) {
        int n;
        rc = ipc_encoder_batch(e, &bs[i], m, &n, err);
        for (int k = 0; !rc && k < n; k++) {
            QV_DEBUG("msg %d body %lld", k, (long long)m[k].body_len);
            ipc_message_write_stream(&m[k], out);
            ipc_message_free(&m[k]);
        }
    }
    ipc_encoder_free(e);
    if (!rc) ipc_write_eos(out);
    return rc;
}

static qv_buffer *to_buffer(const qv_str *s, size_t shift) {
    qv_buffer *b = qv_buffer_new(s->len + shift + 1);
    memcpy(b->data + shift, s->data, s->len);
    b->size = s->len + shift;
    if (!shift) return b;
    qv_buffer *v = qv_buffer_slice(b, shift, s->len);
    qv_buffer_unref(b);
    return v;
}

static const char *words[] = {"AAPL", "MSFT", "GOOG", "A much longer symbol name", ""};

static int64_t rt_rows = 300;

static void round_trip(ipc_compression comp, bool dict, size_t shift) {
    qv_schema s = all_types_schema();
    qv_batch in[2];
    fill_batch(&in[0], &s, rt_rows, words, 3);
    fill_batch(&in[1], &s, 0, words, 3);
    ipc_write_options o = {.compression = comp, .symbol_as_dictionary = dict};
    qv_str out;
    qv_str_init(&out);
    qv_err err = {0};
    QCHECK_OK(encode_stream(&s, &o, in, 2, &out, &err), &err);
    qv_buffer *bytes = to_buffer(&out, shift);
    collect c = {0};
    qv_schema got;
    ipc_read_options ro = {.dictionary_as_symbol = true};
    QCHECK_OK(ipc_stream_decode(&ro, bytes, collect_batch, &c, &got, &err), &err);
    qv_buffer_unref(bytes);
    QCHECK_EQ(c.n, 2);
    QCHECK_EQ(got.nfields, 8);
    for (int i = 0; i < 8; i++) {
        QCHECK_STR(got.fields[i].name, s.fields[i].name);
        QCHECK_EQ(got.fields[i].nullable, s.fields[i].nullable);
        QCHECK_EQ(got.fields[i].type, (i == 7 && !dict) ? QV_T_STRING : s.fields[i].type);
    }
    QCHECK_STR(got.fields[6].tz, "UTC");
    for (int k = 0; k < 2; k++) {
        QCHECK_EQ(c.b[k].nrows, in[k].nrows);
        for (int i = 0; i < 8; i++) {
            const char *why = "";
            if (!arrays_equal(&in[k].cols[i], &c.b[k].cols[i], in[k].nrows, &why)) {
                fprintf(stderr, "  batch %d column %s differs (%s)\n", k, s.fields[i].name, why);
                QCHECK(0);
            }
        }
    }
    collect_free(&c);
    qv_schema_free(&got);
    qv_batch_free(&in[0]);
    qv_batch_free(&in[1]);
    qv_schema_free(&s);
    qv_str_free(&out);
}

QTEST(round_trip_plain) { round_trip(IPC_COMPRESS_NONE, false, 0); }
QTEST(round_trip_lz4) { round_trip(IPC_COMPRESS_LZ4, false, 0); }
QTEST(round_trip_zstd_dictionary) { round_trip(IPC_COMPRESS_ZSTD, true, 0); }
/* Big enough that a message's buffers are compressed on the helper pool. */
QTEST(round_trip_parallel_compression) {
    rt_rows = 100000;
    round_trip(IPC_COMPRESS_LZ4, false, 0);
    round_trip(IPC_COMPRESS_ZSTD, true, 0);
    rt_rows = 300;
}
QTEST(round_trip_misaligned_input_is_copied) { round_trip(IPC_COMPRESS_NONE, true, 3); }

/* DECIMAL goes out as decimal128 (each int64 sign-extended) and comes back
   as the same int64s with its precision and scale, through every compression
   and from a slice. */
static void decimal_batch(qv_batch *bt, const qv_schema *s, const int64_t *v, int n) {
    qv_batch_init(bt, s);
    bt->nrows = n;
    for (int c = 0; c < 2; c++) {
        qv_builder b;
        qv_builder_init(&b, QV_T_DECIMAL, n);
        for (int i = 0; i < n; i++) {
            if (v[i] == INT64_MIN) qv_builder_append_null(&b);
            else qv_builder_append_i64(&b, c ? v[i] : v[i] % 10000000000LL);
        }
        qv_array_free(&bt->cols[c]);
        qv_builder_finish(&b, &bt->cols[c]);
        qv_builder_free(&b);
    }
}

static qv_schema decimal_schema(void) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "price", QV_T_DECIMAL, true);
    qv_schema_add(&s, "big", QV_T_DECIMAL, true);
    s.fields[0].precision = 10, s.fields[0].scale = 2;
    s.fields[1].precision = 18, s.fields[1].scale = 0;
    return s;
}

static const int64_t dec_vals[] = {125, -125, 0, INT64_MIN, 999999999999999999LL, -999999999999999999LL, -1, 1};

QTEST(decimal_round_trip_as_decimal128) {
    qv_schema s = decimal_schema();
    int n = (int)(sizeof dec_vals / sizeof dec_vals[0]);
    qv_batch in[2];
    decimal_batch(&in[0], &s, dec_vals, n);
    qv_batch_init(&in[1], &s); /* a slice: rows 3.. of the first */
    in[1].nrows = n - 3;
    for (int c = 0; c < 2; c++) {
        qv_array_free(&in[1].cols[c]);
        qv_array_slice(&in[1].cols[c], &in[0].cols[c], 3, n - 3);
    }
    for (int comp = IPC_COMPRESS_NONE; comp <= IPC_COMPRESS_ZSTD; comp++) {
        ipc_write_options o = {.compression = (ipc_compression)comp};
        qv_str out;
        qv_str_init(&out);
        qv_err err = {0};
        QCHECK_OK(encode_stream(&s, &o, in, 2, &out, &err), &err);
        qv_buffer *bytes = to_buffer(&out, 0);
        collect c = {0};
        qv_schema got;
        QCHECK_OK(ipc_stream_decode(NULL, bytes, collect_batch, &c, &got, &err), &err);
        qv_buffer_unref(bytes);
        QCHECK(qv_schema_equal(&got, &s));
        QCHECK_EQ(got.fields[0].precision, 10);
        QCHECK_EQ(got.fields[0].scale, 2);
        QCHECK_EQ(c.n, 2);
        for (int k = 0; k < 2; k++)
            for (int col = 0; col < 2; col++) {
                const char *why = "";
                QCHECK_EQ(c.b[k].cols[col].type, QV_T_DECIMAL);
                QCHECK(arrays_equal(&in[k].cols[col], &c.b[k].cols[col], in[k].nrows, &why));
            }
        QCHECK_EQ(qv_array_get_i64(&c.b[0].cols[1], 5), -999999999999999999LL);
        QCHECK(!qv_array_is_valid(&c.b[1].cols[0], 0));
        collect_free(&c);
        qv_schema_free(&got);
        qv_str_free(&out);
    }
    qv_batch_free(&in[0]);
    qv_batch_free(&in[1]);
    qv_schema_free(&s);
}

/* A decimal128 whose high word is more than the sign of its low word needs
   more than 64 bits: refused naming column and row. */
QTEST(decimal128_beyond_int64_is_refused) {
    qv_schema s = decimal_schema();
    const int64_t v[] = {7, -1};
    qv_batch in;
    decimal_batch(&in, &s, v, 2);
    qv_str out;
    qv_str_init(&out);
    qv_err err = {0};
    QCHECK_OK(encode_stream(&s, NULL, &in, 1, &out, &err), &err);
    /* the last -1 of the body is column big's row 1: clear its high word */
    size_t at = 0;
    for (size_t i = 0; i + 16 <= out.len; i++) {
        bool ones = true;
        for (int k = 0; k < 16 && ones; k++) ones = (uint8_t)out.data[i + k] == 0xff;
        if (ones) at = i;
    }
    QCHECK(at > 0);
    memset(out.data + at + 8, 0, 8);
    qv_buffer *bytes = to_buffer(&out, 0);
    collect c = {0};
    qv_schema got;
    QCHECK_EQ(ipc_stream_decode(NULL, bytes, collect_batch, &c, &got, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "column big") && strstr(err.msg, "row 1") && strstr(err.msg, "does not fit"));
    QCHECK_EQ(c.n, 0);
    qv_buffer_unref(bytes);
    qv_schema_free(&got);
    qv_str_free(&out);
    qv_batch_free(&in);
    qv_schema_free(&s);
}

QTEST(body_points_at_column_memory) {
    qv_schema s = all_types_schema();
    qv_batch b;
    fill_batch(&b, &s, 50, words, 3);
    ipc_encoder *e;
    qv_err err = {0};
    QCHECK_OK(ipc_encoder_new(&s, NULL, &e, &err), &err);
    ipc_message m[9];
    int n;
    QCHECK_OK(ipc_encoder_batch(e, &b, m, &n, &err), &err);
    QCHECK_EQ(n, 1);
    QCHECK_EQ(m[0].body_len % 8, 0);
    QCHECK_EQ(m[0].metadata.len % 8, 0);
    bool found_i64 = false, found_str = false;
    for (int i = 0; i < m[0].npieces; i++) {
        if (m[0].pieces[i].owner == b.cols[1].values && m[0].pieces[i].data == b.cols[1].values->data)
            found_i64 = true;
        if (m[0].pieces[i].owner == b.cols[5].data) found_str = true;
    }
    QCHECK(found_i64 && found_str);
    int before = atomic_load(&b.cols[1].values->refs);
    ipc_message_free(&m[0]);
    QCHECK_EQ(atomic_load(&b.cols[1].values->refs), before - 1);
    ipc_encoder_free(e);
    qv_batch_free(&b);
    qv_schema_free(&s);
}

/* Slices at offsets that are not multiples of 8: bitmaps re-packed, string
   offsets rebased, fixed-width values pointed into at offset*width. */
QTEST(sliced_arrays) {
    qv_schema s = all_types_schema();
    qv_batch full, part;
    fill_batch(&full, &s, 100, words, 3);
    qv_batch_init(&part, &s);
    part.nrows = 37;
    for (int i = 0; i < 8; i++) {
        qv_array_free(&part.cols[i]);
        qv_array_slice(&part.cols[i], &full.cols[i], 13, 37);
    }
    for (int dict = 0; dict < 2; dict++) {
        ipc_write_options o = {.symbol_as_dictionary = dict};
        qv_str out;
        qv_str_init(&out);
        qv_err err = {0};
        QCHECK_OK(encode_stream(&s, &o, &part, 1, &out, &err), &err);
        qv_buffer *bytes = to_buffer(&out, 0);
        collect c = {0};
        qv_schema got;
        QCHECK_OK(ipc_stream_decode(NULL, bytes, collect_batch, &c, &got, &err), &err);
        QCHECK_EQ(c.n, 1);
        QCHECK_EQ(c.b[0].nrows, 37);
        for (int i = 0; i < 8; i++) {
            const char *why = "";
            if (!arrays_equal(&part.cols[i], &c.b[0].cols[i], 37, &why)) {
                fprintf(stderr, "  column %s differs (%s)\n", s.fields[i].name, why);
                QCHECK(0);
            }
        }
        collect_free(&c);
        qv_schema_free(&got);
        qv_buffer_unref(bytes);
        qv_str_free(&out);
    }
    qv_batch_free(&part);
    qv_batch_free(&full);
    qv_schema_free(&s);
}

/* A growing dictionary goes out as deltas, a changed one as a replacement. */
QTEST(symbol_dictionary_delta_and_replacement) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "sym", QV_T_SYMBOL, true);
    const char *w2[] = {"x", "y"}, *w3[] = {"x", "y", "z"}, *w1[] = {"q"};
    const char **ws[] = {w2, w3, w3, w1};
    int nw[] = {2, 3, 3, 1};
    int expect_msgs[] = {2, 2, 1, 2};
    ipc_write_options o = {.symbol_as_dictionary = true};
    ipc_encoder *e;
    qv_err err = {0};
    QCHECK_OK(ipc_encoder_new(&s, &o, &e, &err), &err);
    ipc_decoder *d;
    ipc_read_options ro = {.dictionary_as_symbol = true};
    ipc_decoder_new(&ro, &d);
    ipc_message m[2];
    QCHECK_OK(ipc_encoder_schema(e, &m[0], &err), &err);
    ipc_event ev;
    qv_batch out;
    QCHECK_OK(ipc_decoder_message(d, (uint8_t *)m[0].metadata.data, m[0].metadata.len, NULL, &ev, &out, &err), &err);
    QCHECK_EQ(ev, IPC_EV_SCHEMA);
    ipc_message_free(&m[0]);
    for (int k = 0; k < 4; k++) {
        qv_batch b;
        qv_batch_init(&b, &s);
        b.nrows = nw[k];
        qv_builder bl;
        qv_builder_init(&bl, QV_T_INT32, 4);
        for (int i = nw[k] - 1; i >= 0; i--) qv_builder_append_i32(&bl, i);
        qv_builder_finish(&bl, &b.cols[0]);
        qv_builder_free(&bl);
        b.cols[0].type = QV_T_SYMBOL;
        b.cols[0].dict = make_dict(ws[k], nw[k]);
        int n;
        QCHECK_OK(ipc_encoder_batch(e, &b, m, &n, &err), &err);
        QCHECK_EQ(n, expect_msgs[k]);
        for (int j = 0; j < n; j++) {
            qv_str body;
            qv_str_init(&body);
            for (int p = 0; p < m[j].npieces; p++) {
                if (m[j].pieces[p].data) qv_str_append(&body, m[j].pieces[p].data, m[j].pieces[p].len);
                else for (size_t z = 0; z < m[j].pieces[p].len; z++) qv_str_appendc(&body, 0);
            }
            qv_buffer *bb = to_buffer(&body, 0);
            QCHECK_OK(ipc_decoder_message(d, (uint8_t *)m[j].metadata.data, m[j].metadata.len, bb, &ev, &out, &err), &err);
            QCHECK_EQ(ev, j + 1 < n ? IPC_EV_DICTIONARY : IPC_EV_BATCH);
            qv_buffer_unref(bb);
            qv_str_free(&body);
            ipc_message_free(&m[j]);
        }
        QCHECK_OK(qv_batch_validate(&out, &err), &err);
        const char *why = "";
        QCHECK(arrays_equal(&b.cols[0], &out.cols[0], b.nrows, &why));
        QCHECK_EQ(out.cols[0].dict->length, k == 1 || k == 2 ? 3 : nw[k]);
        qv_batch_free(&out);
        qv_batch_free(&b);
    }
    ipc_decoder_free(d);
    ipc_encoder_free(e);
    qv_schema_free(&s);
}

QTEST(schema_bytes_round_trip) {
    qv_schema s = all_types_schema();
    strcpy(s.fields[6].tz, "Asia/Tokyo");
    qv_schema_add(&s, "naive", QV_T_TIMESTAMP, true);
    s.fields[8].tz[0] = 0;
    qv_str out;
    qv_str_init(&out);
    qv_err err = {0};
    QCHECK_OK(ipc_schema_to_bytes(&s, NULL, &out, &err), &err);
    QCHECK_EQ(out.len % 8, 0);
    qv_schema got;
    QCHECK_OK(ipc_schema_from_bytes((uint8_t *)out.data, out.len, &got, &err), &err);
    s.fields[7].type = QV_T_STRING; /* SYMBOL goes out as plain utf8 by default */
    QCHECK(qv_schema_equal(&s, &got));
    qv_schema_free(&got);
    /* truncated framing is refused */
    QCHECK(ipc_schema_from_bytes((uint8_t *)out.data, out.len - 9, &got, &err) != 0);
    QCHECK_EQ(err.code, QV_ECORRUPT);
    qv_schema_free(&got);
    qv_str_free(&out);
    qv_schema_free(&s);
}

/* Every truncation and many bit flips of a valid stream: a status, never a crash. */
QTEST(malformed_streams_fail_cleanly) {
    qv_schema s = all_types_schema();
    qv_batch b;
    fill_batch(&b, &s, 20, words, 3);
    qv_str out;
    qv_str_init(&out);
    qv_err err = {0};
    ipc_write_options o = {.compression = IPC_COMPRESS_LZ4, .symbol_as_dictionary = true};
    QCHECK_OK(encode_stream(&s, &o, &b, 1, &out, &err), &err);
    int failures = 0, oks = 0;
    for (size_t cut = 0; cut < out.len; cut += 3) {
        qv_str t = {out.data, cut, cut};
        qv_buffer *bytes = to_buffer(&t, 0);
        collect c = {0};
        qv_schema got;
        int rc = ipc_stream_decode(NULL, bytes, collect_batch, &c, &got, &err);
        rc ? failures++ : oks++;
        collect_free(&c);
        qv_schema_free(&got);
        qv_buffer_unref(bytes);
    }
    QCHECK(failures > 0);
    uint32_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        qv_buffer *bytes = to_buffer(&out, 0);
        for (int k = 0; k < 1 + iter % 3; k++) {
            seed = seed * 1103515245u + 12345u;
            bytes->data[(seed >> 8) % bytes->size] ^= (uint8_t)(1u << ((seed >> 3) & 7));
        }
        collect c = {0};
        qv_schema got;
        int rc = ipc_stream_decode(NULL, bytes, collect_batch, &c, &got, &err);
        if (rc) QCHECK(err.msg[0] != 0);
        collect_free(&c);
        qv_schema_free(&got);
        qv_buffer_unref(bytes);
    }
    qv_str_free(&out);
    qv_batch_free(&b);
    qv_schema_free(&s);
}

QTEST(encoder_rejects_mismatched_batch) {
    qv_schema s = all_types_schema(), other;
    qv_schema_init(&other);
    qv_schema_add(&other, "x", QV_T_INT32, true);
    qv_batch b;
    qv_batch_init(&b, &other);
    ipc_encoder *e;
    qv_err err = {0};
    QCHECK_OK(ipc_encoder_new(&s, NULL, &e, &err), &err);
    ipc_message m[9];
    int n = 5;
    QCHECK_EQ(ipc_encoder_batch(e, &b, m, &n, &err), QV_EINVAL);
    QCHECK_EQ(n, 0);
    QCHECK(strstr(err.msg, "columns") != NULL);
    ipc_encoder_free(e);
    qv_batch_free(&b);
    qv_schema_free(&other);
    qv_schema_free(&s);
}

/* ---- golden files written by pyarrow (tests/golden/gen_golden.py) ---- */

static int decode_file(const char *name, const ipc_read_options *ro, collect *c, qv_schema *got, qv_err *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", QUIVER_GOLDEN_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) return qv_err_set(err, QV_EIO, "cannot open %s", path);
    qv_str s;
    qv_str_init(&s);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) qv_str_append(&s, buf, k);
    fclose(f);
    qv_buffer *bytes = to_buffer(&s, 0);
    qv_str_free(&s);
    int rc = ipc_stream_decode(ro, bytes, collect_batch, c, got, err);
    qv_buffer_unref(bytes);
    return rc;
}

static void check_plain_golden(const char *file) {
    collect c = {0};
    qv_schema got;
    qv_err err = {0};
    QCHECK_OK(decode_file(file, NULL, &c, &got, &err), &err);
    QCHECK_EQ(c.n, 2);
    QCHECK_EQ(got.nfields, 8);
    QCHECK_EQ(got.fields[6].type, QV_T_TIMESTAMP);
    QCHECK_STR(got.fields[6].tz, "UTC");
    QCHECK_EQ(got.fields[7].nullable, false);
    QCHECK_EQ(got.fields[0].nullable, true);
    qv_batch *b0 = &c.b[0], *b1 = &c.b[1];
    QCHECK_EQ(b0->nrows, 2);
    QCHECK_EQ(qv_array_get_i32(&b0->cols[0], 0), 1);
    QCHECK(!qv_array_is_valid(&b0->cols[0], 1));
    QCHECK_EQ(qv_array_get_i32(&b1->cols[0], 1), 2147483647);
    QCHECK_EQ(qv_array_get_i64(&b1->cols[1], 0), INT64_MIN);
    QCHECK(qv_array_get_f32(&b0->cols[2], 1) == 2.25f);
    QCHECK(qv_array_get_f64(&b1->cols[3], 0) == 1e300);
    QCHECK(signbit(qv_array_get_f32(&b1->cols[2], 1)));
    QCHECK(!qv_array_get_bool(&b0->cols[4], 1) && qv_array_get_bool(&b1->cols[4], 1));
    int32_t len;
    const char *p = qv_array_get_str(&b0->cols[5], 0, &len);
    QCHECK(len == 5 && !memcmp(p, "alpha", 5));
    qv_array_get_str(&b1->cols[5], 1, &len);
    QCHECK_EQ(len, 100);
    QCHECK_EQ(qv_array_get_i64(&b0->cols[6], 1), 1700000000123456789LL);
    QCHECK_EQ(qv_array_get_i64(&b1->cols[7], 1), 40);
    collect_free(&c);
    qv_schema_free(&got);
}

QTEST(golden_plain) { check_plain_golden("plain.arrows"); }
QTEST(golden_plain_lz4) { check_plain_golden("plain_lz4.arrows"); }
QTEST(golden_plain_zstd) { check_plain_golden("plain_zstd.arrows"); }

QTEST(golden_empty_and_zero_rows) {
    collect c = {0};
    qv_schema got;
    qv_err err = {0};
    QCHECK_OK(decode_file("empty.arrows", NULL, &c, &got, &err), &err);
    QCHECK_EQ(c.n, 0);
    QCHECK_EQ(got.nfields, 8);
    qv_schema_free(&got);
    QCHECK_OK(decode_file("zero_rows.arrows", NULL, &c, &got, &err), &err);
    QCHECK_EQ(c.n, 1);
    QCHECK_EQ(c.b[0].nrows, 0);
    collect_free(&c);
    qv_schema_free(&got);
}

QTEST(golden_widening) {
    collect c = {0};
    qv_schema got;
    qv_err err = {0};
    QCHECK_OK(decode_file("widen.arrows", NULL, &c, &got, &err), &err);
    QCHECK_EQ(c.n, 1);
    qv_type want[] = {QV_T_INT32, QV_T_INT32, QV_T_INT32, QV_T_INT32, QV_T_INT64, QV_T_INT64, QV_T_STRING,
                      QV_T_STRING, QV_T_DATE, QV_T_DATE, QV_T_TIMESTAMP, QV_T_TIMESTAMP,
                      QV_T_TIMESTAMP};
    QCHECK_EQ(got.nfields, 13);
    for (int i = 0; i < 13; i++) QCHECK_EQ(got.fields[i].type, want[i]);
    qv_batch *b = &c.b[0];
    QCHECK_EQ(qv_array_get_i32(&b->cols[0], 0), -128);
    QCHECK_EQ(qv_array_get_i32(&b->cols[2], 0), 255);
    QCHECK_EQ(qv_array_get_i32(&b->cols[3], 0), 65535);
    QCHECK_EQ(qv_array_get_i64(&b->cols[4], 0), 4294967295LL);
    QCHECK_EQ(qv_array_get_i64(&b->cols[5], 0), INT64_MAX);
    int32_t len;
    const char *p = qv_array_get_str(&b->cols[7], 1, &len);
    QCHECK(len == 27 && !memcmp(p, "a string longer than twelve", 27));
    QCHECK_EQ(qv_array_get_i32(&b->cols[8], 2), -1); /* date32 and date64 are DATE days */
    QCHECK_EQ(qv_array_get_i32(&b->cols[9], 0), 1);
    QCHECK_EQ(qv_array_get_i64(&b->cols[10], 2), -2000000000LL);
    QCHECK_EQ(qv_array_get_i64(&b->cols[11], 1), 2000000LL);
    QCHECK_EQ(qv_array_get_i64(&b->cols[12], 2), 2000LL);
    QCHECK_STR(got.fields[8].tz, "");
    QCHECK_STR(got.fields[10].tz, "UTC");
    collect_free(&c);
    qv_schema_free(&got);
}

QTEST(golden_dictionary_delta) {
    for (int as_sym = 0; as_sym < 2; as_sym++) {
        collect c = {0};
        qv_schema got;
        qv_err err = {0};
        ipc_read_options ro = {.dictionary_as_symbol = as_sym};
        QCHECK_OK(decode_file("dict_delta.arrows", &ro, &c, &got, &err), &err);
        QCHECK_EQ(c.n, 2);
        QCHECK_EQ(got.fields[0].type, as_sym ? QV_T_SYMBOL : QV_T_STRING);
        int32_t len;
        const char *p = qv_array_get_str(&c.b[1].cols[0], 0, &len);
        QCHECK(len == 4 && !memcmp(p, "GOOG", 4));
        QCHECK(!qv_array_is_valid(&c.b[0].cols[0], 2));
        p = qv_array_get_str(&c.b[0].cols[0], 1, &len);
        QCHECK(len == 4 && !memcmp(p, "MSFT", 4));
        collect_free(&c);
        qv_schema_free(&got);
    }
}

QTEST(golden_refusals_name_column_and_type) {
    collect c = {0};
    qv_schema got;
    qv_err err = {0};
    QCHECK_EQ(decode_file("refuse_uint64.arrows", NULL, &c, &got, &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "column u") && strstr(err.msg, "uint64"));
    collect_free(&c);
    qv_schema_free(&got);
    QCHECK_EQ(decode_file("refuse_list.arrows", NULL, &c, &got, &err), QV_EUNSUPPORTED);
    QCHECK(strstr(err.msg, "column l") && strstr(err.msg, "list"));
    collect_free(&c);
    qv_schema_free(&got);
}

/* ---- hand-made hostile RecordBatch messages ---- */

static void make_rb(fb_builder *fb, int64_t length, const int64_t *nodes, int nn, const int64_t *bufs, int nb,
                    int64_t body_len, qv_str *meta) {
    fb_builder_init(fb);
    fb_ref nv = fb_create_vector(fb, nodes, (uint32_t)nn, 16, 8);
    fb_ref bv = fb_create_vector(fb, bufs, (uint32_t)nb, 16, 8);
    fb_table_start(fb);
    fb_add_i64(fb, RB_LENGTH, length);
    fb_add_ref(fb, RB_NODES, nv);
    fb_add_ref(fb, RB_BUFFERS, bv);
    fb_ref rb = fb_table_end(fb);
    fb_table_start(fb);
    fb_add_i16(fb, MSG_VERSION, METADATA_V5);
    fb_add_u8(fb, MSG_HEADER_TYPE, HDR_RECORD_BATCH);
    fb_add_ref(fb, MSG_HEADER, rb);
    fb_add_i64(fb, MSG_BODY_LENGTH, body_len);
    fb_ref m = fb_table_end(fb);
    size_t len;
    const uint8_t *p = fb_builder_finish(fb, m, &len);
    qv_str_init(meta);
    qv_str_append(meta, p, len);
    fb_builder_free(fb);
}

static int feed(ipc_decoder *d, const int64_t *nodes, int nn, const int64_t *bufs, int nb, int64_t length,
                const void *body, size_t blen, qv_err *err) {
    fb_builder fb;
    qv_str meta;
    make_rb(&fb, length, nodes, nn, bufs, nb, (int64_t)blen, &meta);
    qv_buffer *b = qv_buffer_new(blen + 8);
    memcpy(b->data, body, blen);
    b->size = blen;
    ipc_event ev;
    qv_batch out;
    int rc = ipc_decoder_message(d, (uint8_t *)meta.data, meta.len, b, &ev, &out, err);
    if (!rc) qv_batch_free(&out);
    qv_buffer_unref(b);
    qv_str_free(&meta);
    return rc;
}

QTEST(hostile_record_batches_are_refused) {
    qv_schema s;
    qv_schema_init(&s);
    qv_schema_add(&s, "n", QV_T_INT64, true);
    qv_schema_add(&s, "s", QV_T_STRING, true);
    ipc_encoder *e;
    qv_err err = {0};
    QCHECK_OK(ipc_encoder_new(&s, NULL, &e, &err), &err);
    ipc_message sm;
    QCHECK_OK(ipc_encoder_schema(e, &sm, &err), &err);
    ipc_decoder *d;
    ipc_decoder_new(NULL, &d);
    ipc_event ev;
    QCHECK_OK(ipc_decoder_message(d, (uint8_t *)sm.metadata.data, sm.metadata.len, NULL, &ev, NULL, &err), &err);
    ipc_message_free(&sm);
    ipc_encoder_free(e);
    /* body: validity 0b1101 | int64 x4 | offsets 0,1,3,2,4 | "abcd" */
    uint8_t body[96] = {0};
    body[0] = 0x0d;
    int32_t offs[5] = {0, 1, 3, 2, 4};
    memcpy(body + 48, offs, sizeof offs);
    memcpy(body + 72, "abcd", 4);
    int64_t good_nodes[4] = {4, 1, 4, 0};
    int64_t bufs[10] = {0, 8, 8, 32, 0, 0, 48, 20, 72, 4};
    /* huge length: refused before any length*width product */
    int64_t huge = (int64_t)1 << 61;
    int64_t hn[4] = {huge, 0, huge, 0};
    QCHECK_EQ(feed(d, hn, 2, bufs, 5, huge, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "RecordBatch.length"));
    /* null count larger than the length */
    int64_t n2[4] = {4, 5, 4, 0};
    QCHECK_EQ(feed(d, n2, 2, bufs, 5, 4, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "column n") && strstr(err.msg, "null count"));
    /* null count disagreeing with the bitmap */
    int64_t n3[4] = {4, 2, 4, 0};
    QCHECK_EQ(feed(d, n3, 2, bufs, 5, 4, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "validity bitmap has 1"));
    /* buffer past the body */
    int64_t b4[10] = {0, 8, 8, 32, 0, 0, 48, 20, 72, 400};
    QCHECK_EQ(feed(d, good_nodes, 2, b4, 5, 4, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "column s") && strstr(err.msg, "outside the body"));
    /* string offsets that go backwards */
    QCHECK_EQ(feed(d, good_nodes, 2, bufs, 5, 4, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "column s") && strstr(err.msg, "decrease at row 2"));
    /* fixed: a valid batch passes, then too few buffers */
    offs[3] = 3;
    memcpy(body + 48, offs, sizeof offs);
    QCHECK_OK(feed(d, good_nodes, 2, bufs, 5, 4, body, sizeof body, &err), &err);
    QCHECK_EQ(feed(d, good_nodes, 2, bufs, 4, 4, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "buffers"));
    /* a column shorter than the batch */
    int64_t n5[4] = {3, 1, 4, 0};
    QCHECK_EQ(feed(d, n5, 2, bufs, 5, 4, body, sizeof body, &err), QV_ECORRUPT);
    QCHECK(strstr(err.msg, "3 values in a batch of 4"));
    ipc_decoder_free(d);
    qv_schema_free(&s);
}

QTEST(utf8_validation) {
    struct { const char *s; int64_t bad; } cases[] = {
        {"plain ascii, longer than eight bytes", -1},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", -1},
        {"\xc0\xaf", 0},                 /* overlong '/' */
        {"ab\xed\xa0\x80", 2},           /* surrogate */
        {"abcdefgh\xf4\x90\x80\x80", 8}, /* above U+10FFFF */
        {"x\xe2\x82", 1},                /* truncated */
        {"\x80", 0},                     /* lone continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        QCHECK_EQ(ipc_utf8_invalid_at((const uint8_t *)cases[i].s, (int64_t)strlen(cases[i].s)), cases[i].bad);
    /* "\xc3\xa9" split across two rows is valid bytes but invalid rows */
    qv_array a;
    qv_array_init(&a, QV_T_STRING);
    a.length = 2;
    a.values = qv_buffer_new(16);
    int32_t o[3] = {0, 1, 2};
    memcpy(a.values->data, o, sizeof o);
    a.values->size = 12;
    a.data = qv_buffer_new(8);
    memcpy(a.data->data, "\xc3\xa9", 2);
    a.data->size = 2;
    qv_err err = {0};
    QCHECK_EQ(ipc_check_utf8(&a, "c", &err), QV_EINVAL);
    QCHECK(strstr(err.msg, "column c") && strstr(err.msg, "row 1"));
    qv_array_free(&a);
}
