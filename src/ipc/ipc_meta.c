/*
** ipc_meta: row-built columns of any Arrow type Flight SQL metadata needs,
** encoded as IPC messages (see ipc_meta.h). Buffers follow the Arrow
** columnar format: validity bitmaps LSB-first, int32 offsets, dense unions
** as int8 type ids + int32 offsets (no validity), children depth first.
*/
#include "ipc/ipc_meta.h"

#include <stdlib.h>
#include <string.h>

#include "ipc_int.h"

enum { UNION_MODE = 0, UNION_TYPE_IDS = 1 };
enum { UNION_DENSE = 1 };
enum { MAP_KEYS_SORTED = 0 };

ipc_mcol *ipc_mcol_new(const char *name, ipc_mtype type, bool nullable) {
    ipc_mcol *c = qv_xcalloc(1, sizeof *c);
    c->name = qv_xstrdup(name);
    c->type = type;
    c->nullable = nullable;
    qv_str_init(&c->valid);
    qv_str_init(&c->vals);
    qv_str_init(&c->data);
    int32_t zero = 0;
    if (type == IPC_MT_UTF8 || type == IPC_MT_BINARY || type == IPC_MT_LIST || type == IPC_MT_MAP)
        qv_str_append(&c->vals, &zero, 4);
    return c;
}

ipc_mcol *ipc_mcol_add_child(ipc_mcol *parent, ipc_mcol *child) {
    parent->child = qv_xrealloc(parent->child, sizeof(ipc_mcol *) * (size_t)(parent->nchild + 1));
    parent->child[parent->nchild++] = child;
    return child;
}

void ipc_mcol_free(ipc_mcol *c) {
    if (!c) return;
    for (int i = 0; i < c->nchild; i++) ipc_mcol_free(c->child[i]);
    free(c->child);
    free(c->name);
    qv_str_free(&c->valid);
    qv_str_free(&c->vals);
    qv_str_free(&c->data);
    free(c);
}

static void row_done(ipc_mcol *c, bool valid) {
    qv_str_appendc(&c->valid, valid ? 1 : 0);
    c->length++;
    if (!valid) c->nulls++;
}

static int width_of(ipc_mtype t) {
    switch (t) {
    case IPC_MT_UINT8: return 1;
    case IPC_MT_INT32:
    case IPC_MT_UINT32: return 4;
    case IPC_MT_INT64: return 8;
    case IPC_MT_UTF8:
    case IPC_MT_BINARY:
    case IPC_MT_BOOL:
    case IPC_MT_LIST:
    case IPC_MT_MAP:
    case IPC_MT_STRUCT:
    case IPC_MT_DENSE_UNION: return 0;
    }
    return 0;
}

static void append_offset(ipc_mcol *c, int64_t v) {
    int32_t o = (int32_t)v;
    qv_str_append(&c->vals, &o, 4);
}

void ipc_mcol_null(ipc_mcol *c) {
    int w = width_of(c->type);
    if (w) {
        uint8_t z[8] = {0};
        qv_str_append(&c->vals, z, (size_t)w);
    } else if (c->type == IPC_MT_BOOL) {
        qv_str_appendc(&c->vals, 0);
    } else if (c->type == IPC_MT_UTF8 || c->type == IPC_MT_BINARY) {
        append_offset(c, (int64_t)c->data.len);
    } else if (c->type == IPC_MT_LIST || c->type == IPC_MT_MAP) {
        append_offset(c, c->child[0]->length);
    } else if (c->type == IPC_MT_STRUCT) {
        for (int i = 0; i < c->nchild; i++) ipc_mcol_null(c->child[i]);
    }
    row_done(c, false);
}

void ipc_mcol_str(ipc_mcol *c, const char *s, size_t n) {
    qv_str_append(&c->data, s, n);
    append_offset(c, (int64_t)c->data.len);
    row_done(c, true);
}

void ipc_mcol_cstr(ipc_mcol *c, const char *s) {
    if (s)
        ipc_mcol_str(c, s, strlen(s));
    else
        ipc_mcol_null(c);
}

void ipc_mcol_int(ipc_mcol *c, int64_t v) {
    uint8_t b[8];
    memcpy(b, &v, 8); /* little endian: the low bytes come first */
    qv_str_append(&c->vals, b, (size_t)width_of(c->type));
    row_done(c, true);
}

void ipc_mcol_bool(ipc_mcol *c, bool v) {
    qv_str_appendc(&c->vals, v ? 1 : 0);
    row_done(c, true);
}

void ipc_mcol_list_row(ipc_mcol *c) {
    append_offset(c, c->child[0]->length);
    row_done(c, true);
}

void ipc_mcol_struct_row(ipc_mcol *c) { row_done(c, true); }

void ipc_mcol_union_row(ipc_mcol *c, int type_id) {
    qv_str_appendc(&c->vals, (char)type_id);
    int32_t off = (int32_t)(c->child[type_id]->length - 1);
    qv_str_append(&c->data, &off, 4);
    c->length++;
}

/* ---- schema ---- */

static fb_ref int_type(fb_builder *fb, int bits, bool sgn) {
    fb_table_start(fb);
    fb_add_i32(fb, INT_BITWIDTH, bits);
    fb_add_u8(fb, INT_SIGNED, sgn);
    return fb_table_end(fb);
}

static fb_ref empty_table(fb_builder *fb) {
    fb_table_start(fb);
    return fb_table_end(fb);
}

static fb_ref build_type(fb_builder *fb, const ipc_mcol *c, uint8_t *tt) {
    switch (c->type) {
    case IPC_MT_UTF8: *tt = AT_UTF8; return empty_table(fb);
    case IPC_MT_BINARY: *tt = AT_BINARY; return empty_table(fb);
    case IPC_MT_BOOL: *tt = AT_BOOL; return empty_table(fb);
    case IPC_MT_UINT8: *tt = AT_INT; return int_type(fb, 8, false);
    case IPC_MT_INT32: *tt = AT_INT; return int_type(fb, 32, true);
    case IPC_MT_UINT32: *tt = AT_INT; return int_type(fb, 32, false);
    case IPC_MT_INT64: *tt = AT_INT; return int_type(fb, 64, true);
    case IPC_MT_LIST: *tt = AT_LIST; return empty_table(fb);
    case IPC_MT_STRUCT: *tt = AT_STRUCT; return empty_table(fb);
    case IPC_MT_MAP:
        *tt = AT_MAP;
        fb_table_start(fb);
        fb_add_u8(fb, MAP_KEYS_SORTED, 0);
        return fb_table_end(fb);
    case IPC_MT_DENSE_UNION: {
        *tt = AT_UNION;
        int32_t ids[64];
        int n = c->nchild < 64 ? c->nchild : 64;
        for (int i = 0; i < n; i++) ids[i] = i;
        fb_ref v = fb_create_vector(fb, ids, (uint32_t)n, 4, 4);
        fb_table_start(fb);
        fb_add_i16(fb, UNION_MODE, UNION_DENSE);
        fb_add_ref(fb, UNION_TYPE_IDS, v);
        return fb_table_end(fb);
    }
    }
    *tt = AT_NULL;
    return empty_table(fb);
}

static fb_ref build_field(fb_builder *fb, const ipc_mcol *c) {
    fb_ref *kids = qv_xcalloc((size_t)c->nchild + 1, sizeof(fb_ref));
    for (int i = 0; i < c->nchild; i++) kids[i] = build_field(fb, c->child[i]);
    fb_ref children = fb_create_vector_refs(fb, kids, (uint32_t)c->nchild);
    free(kids);
    fb_ref name = fb_create_string(fb, c->name, strlen(c->name));
    uint8_t tt = AT_NULL;
    fb_ref type = build_type(fb, c, &tt);
    fb_table_start(fb);
    fb_add_ref(fb, FIELD_NAME, name);
    fb_add_u8(fb, FIELD_NULLABLE, c->nullable);
    fb_add_u8(fb, FIELD_TYPE_TYPE, tt);
    fb_add_ref(fb, FIELD_TYPE, type);
    fb_add_ref(fb, FIELD_CHILDREN, children);
    return fb_table_end(fb);
}

static void finish(fb_builder *fb, uint8_t header_type, fb_ref header, int64_t body_len, ipc_message *out) {
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
}

int ipc_mcols_schema(ipc_mcol *const *cols, int n, ipc_message *out, qv_err *err) {
    (void)err;
    ipc_message_init(out);
    fb_builder fb;
    fb_builder_init(&fb);
    fb_ref *refs = qv_xcalloc((size_t)n + 1, sizeof(fb_ref));
    for (int i = 0; i < n; i++) refs[i] = build_field(&fb, cols[i]);
    fb_ref fields = fb_create_vector_refs(&fb, refs, (uint32_t)n);
    free(refs);
    fb_table_start(&fb);
    fb_add_i16(&fb, SCHEMA_ENDIANNESS, 0);
    fb_add_ref(&fb, SCHEMA_FIELDS, fields);
    fb_ref schema = fb_table_end(&fb);
    finish(&fb, HDR_SCHEMA, schema, 0, out);
    fb_builder_free(&fb);
    return QV_OK;
}

int ipc_mcols_schema_bytes(ipc_mcol *const *cols, int n, qv_str *out, qv_err *err) {
    ipc_message m;
    int rc = ipc_mcols_schema(cols, n, &m, err);
    if (!rc) ipc_message_write_stream(&m, out);
    ipc_message_free(&m);
    return rc;
}

/* ---- record batch ---- */

typedef struct { int64_t a, b; } pair64;

typedef struct mbody {
    ipc_message *m;
    pair64 *nodes, *bufs;
    int nnodes, nbufs, capn, capb;
} mbody;

static void add_node(mbody *bd, int64_t len, int64_t nulls) {
    if (bd->nnodes == bd->capn) {
        bd->capn = bd->capn ? 2 * bd->capn : 16;
        bd->nodes = qv_xrealloc(bd->nodes, sizeof(pair64) * (size_t)bd->capn);
    }
    bd->nodes[bd->nnodes++] = (pair64){len, nulls};
}

/* A copy of p..n as one body buffer, padded to 8 bytes. */
static void add_buf(mbody *bd, const void *p, size_t n) {
    if (bd->nbufs == bd->capb) {
        bd->capb = bd->capb ? 2 * bd->capb : 32;
        bd->bufs = qv_xrealloc(bd->bufs, sizeof(pair64) * (size_t)bd->capb);
    }
    int64_t start = bd->m->body_len;
    if (n) {
        qv_buffer *b = qv_buffer_new(qv_pad8(n));
        memcpy(b->data, p, n);
        b->size = qv_pad8(n);
        ipc_message_add_piece(bd->m, b->data, b->size, b);
        qv_buffer_unref(b);
    }
    bd->bufs[bd->nbufs++] = (pair64){start, (int64_t)n};
}

static void add_bits(mbody *bd, const qv_str *bytes, int64_t n) {
    size_t nb = (size_t)(n + 7) / 8;
    uint8_t *bits = qv_xcalloc(nb + 1, 1);
    for (int64_t i = 0; i < n; i++)
        if (bytes->data[i]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    add_buf(bd, bits, nb);
    free(bits);
}

static void add_column(mbody *bd, const ipc_mcol *c) {
    if (c->type == IPC_MT_DENSE_UNION) {
        add_node(bd, c->length, 0);
        add_buf(bd, c->vals.data, c->vals.len);
        add_buf(bd, c->data.data, c->data.len);
    } else {
        add_node(bd, c->length, c->nulls);
        if (c->nulls)
            add_bits(bd, &c->valid, c->length);
        else
            add_buf(bd, NULL, 0);
        if (c->type == IPC_MT_BOOL)
            add_bits(bd, &c->vals, c->length);
        else if (c->type != IPC_MT_STRUCT)
            add_buf(bd, c->vals.data, c->vals.len);
        if (c->type == IPC_MT_UTF8 || c->type == IPC_MT_BINARY) add_buf(bd, c->data.data, c->data.len);
    }
    for (int i = 0; i < c->nchild; i++) add_column(bd, c->child[i]);
}

int ipc_mcols_batch(ipc_mcol *const *cols, int n, ipc_message *out, qv_err *err) {
    ipc_message_init(out);
    int64_t rows = n ? cols[0]->length : 0;
    for (int i = 1; i < n; i++)
        if (cols[i]->length != rows)
            return qv_err_set(err, QV_EINTERNAL, "metadata column %s has %lld rows, %s has %lld", cols[i]->name,
                              (long long)cols[i]->length, cols[0]->name, (long long)rows);
    mbody bd = {.m = out};
    for (int i = 0; i < n; i++) add_column(&bd, cols[i]);
    fb_builder fb;
    fb_builder_init(&fb);
    fb_ref nodes = fb_create_vector(&fb, bd.nodes, (uint32_t)bd.nnodes, 16, 8);
    fb_ref bufs = fb_create_vector(&fb, bd.bufs, (uint32_t)bd.nbufs, 16, 8);
    fb_table_start(&fb);
    fb_add_i64(&fb, RB_LENGTH, rows);
    fb_add_ref(&fb, RB_NODES, nodes);
    fb_add_ref(&fb, RB_BUFFERS, bufs);
    fb_ref rb = fb_table_end(&fb);
    finish(&fb, HDR_RECORD_BATCH, rb, out->body_len, out);
    fb_builder_free(&fb);
    free(bd.nodes);
    free(bd.bufs);
    return QV_OK;
}
