/*
** FlightData on the wire, by hand. Outgoing: a small copied header slice
** (protobuf tags and lengths plus the IPC metadata) followed by the body
** pieces as gRPC slices that point straight at column memory; each such
** slice holds a qv_buffer ref that gRPC drops when it is done writing.
** Incoming: a bounds-checked protobuf walk that returns pointers into the
** received message. Also: byte buffer <-> qv_buffer / protobuf-c helpers.
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flight.pb-c.h"
#include "flight_internal.h"

/* Pieces smaller than this are copied: a slice per tiny bitmap costs more
   than the copy. */
#define ZERO_COPY_MIN 4096

enum { F_DESCRIPTOR = 1, F_HEADER = 2, F_APP_MD = 3, F_BODY = 1000 };

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static void unref_owner(void *p) { qv_buffer_unref(p); }

grpc_byte_buffer *fl_flightdata_from_ipc(const ipc_message *m, const uint8_t *app_md, size_t app_md_len) {
    size_t hdr_cap = m->metadata.len + app_md_len + 48;
    uint8_t *hdr = qv_xmalloc(hdr_cap);
    size_t h = 0;
    hdr[h++] = (F_HEADER << 3) | 2;
    h += put_varint(hdr + h, m->metadata.len);
    if (m->metadata.len) memcpy(hdr + h, m->metadata.data, m->metadata.len);
    h += m->metadata.len;
    if (app_md && app_md_len) {
        hdr[h++] = (F_APP_MD << 3) | 2;
        h += put_varint(hdr + h, app_md_len);
        memcpy(hdr + h, app_md, app_md_len);
        h += app_md_len;
    }
    if (m->body_len > 0) {
        h += put_varint(hdr + h, (F_BODY << 3) | 2);
        h += put_varint(hdr + h, (uint64_t)m->body_len);
    }

    grpc_slice *slices = qv_xmalloc(sizeof(grpc_slice) * (size_t)(m->npieces * 2 + 2));
    size_t ns = 0;
    /* Runs of small pieces are gathered into one copied slice. */
    qv_str small;
    qv_str_init(&small);
    qv_str_append(&small, hdr, h);
    free(hdr);
    for (int i = 0; i < m->npieces; i++) {
        const ipc_piece *pc = &m->pieces[i];
        if (pc->len == 0) continue;
        if (pc->data && pc->owner && pc->len >= ZERO_COPY_MIN) {
            if (small.len) {
                slices[ns++] = grpc_slice_from_copied_buffer(small.data, small.len);
                small.len = 0;
            }
            slices[ns++] = grpc_slice_new_with_user_data((void *)pc->data, pc->len, unref_owner,
                                                         qv_buffer_ref(pc->owner));
        } else if (pc->data) {
            qv_str_append(&small, pc->data, pc->len);
        } else {
            qv_str_reserve(&small, pc->len);
            memset(small.data + small.len, 0, pc->len);
            small.len += pc->len;
        }
    }
    if (small.len) slices[ns++] = grpc_slice_from_copied_buffer(small.data, small.len);
    qv_str_free(&small);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(slices, ns);
    for (size_t i = 0; i < ns; i++) grpc_slice_unref(slices[i]);
    free(slices);
    return bb;
}

static int get_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= n) return -1;
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int fl_flightdata_parse(const uint8_t *p, size_t n, fl_flightdata *out, qv_err *err) {
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    while (pos < n) {
        size_t at = pos;
        uint64_t key, len;
        if (get_varint(p, n, &pos, &key))
            return qv_err_set(err, QV_EINVAL, "FlightData: truncated field key at byte %zu of %zu", at, n);
        uint64_t field = key >> 3;
        int wt = (int)(key & 7);
        switch (wt) {
        case 0:
            if (get_varint(p, n, &pos, &len))
                return qv_err_set(err, QV_EINVAL, "FlightData: truncated varint at byte %zu", at);
            continue;
        case 1:
            if (n - pos < 8) return qv_err_set(err, QV_EINVAL, "FlightData: truncated fixed64 at byte %zu", at);
            pos += 8;
            continue;
        case 5:
            if (n - pos < 4) return qv_err_set(err, QV_EINVAL, "FlightData: truncated fixed32 at byte %zu", at);
            pos += 4;
            continue;
        case 2: break;
        default:
            return qv_err_set(err, QV_EINVAL, "FlightData: invalid wire type %d at byte %zu (not a FlightData message?)",
                              wt, at);
        }
        if (get_varint(p, n, &pos, &len) || len > n - pos)
            return qv_err_set(err, QV_EINVAL,
                              "FlightData: field %llu at byte %zu claims more bytes than the %zu-byte message holds",
                              (unsigned long long)field, at, n);
        const uint8_t *v = p + pos;
        pos += (size_t)len;
        switch (field) {
        case F_DESCRIPTOR: out->has_descriptor = true; out->descriptor = v; out->descriptor_len = len; break;
        case F_HEADER: out->header = v; out->header_len = len; break;
        case F_APP_MD: out->app_md = v; out->app_md_len = len; break;
        case F_BODY: out->body = v; out->body_len = len; break;
        default: break; /* unknown fields are skipped, as protobuf does */
        }
    }
    return QV_OK;
}

static void free_slice(void *ctx) {
    grpc_slice *s = ctx;
    grpc_slice_unref(*s);
    free(s);
}

/*
** Receive buffers. A big message arrives as many gRPC slices; it is copied
** once into one block so the IPC body is contiguous. Blocks come from a
** small process-wide pool of warm memory (already faulted in), so a stream
** of big batches does not pay page faults and unmaps per message; the copy
** is placed so that the FlightData body starts 4 KiB aligned, and the
** decoder keeps views of it (no second copy). A block returns to the pool
** when its last view goes (storage adopting rows keeps it longer); at most
** RECV_POOL_IDLE bytes stay idle.
*/
#define RECV_POOL_SLOTS 3
#define RECV_POOL_IDLE ((size_t)64 << 20) /* idle memory after a put counts against its bound */

size_t fl_recv_pool_min = 256u << 10; /* smaller messages: one gRPC readall */

typedef struct recv_block {
    uint8_t *mem;
    size_t cap;
} recv_block;

static struct {
    pthread_mutex_t mu;
    recv_block idle[RECV_POOL_SLOTS];
    int n;
    size_t bytes;
} recv_pool = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, 0};

static recv_block *recv_block_get(size_t need) {
    recv_block *b = qv_xmalloc(sizeof *b);
    b->mem = NULL;
    pthread_mutex_lock(&recv_pool.mu);
    for (int i = 0; i < recv_pool.n; i++)
        if (recv_pool.idle[i].cap >= need && recv_pool.idle[i].cap / 2 <= need) {
            *b = recv_pool.idle[i];
            recv_pool.idle[i] = recv_pool.idle[--recv_pool.n];
            recv_pool.bytes -= b->cap;
            break;
        }
    pthread_mutex_unlock(&recv_pool.mu);
    if (b->mem) return b;
    /* Plain 4 KiB pages, not MADV_HUGEPAGE. Measured on a 2-core VM: fresh
       2 MiB pages come from guest memory the host has not backed yet, and
       zeroing them was 76-81% of the server's CPU in an --in-memory put
       (3 s/GB; 0.9 s/GB with small pages, which the kernel hands back from
       recently freed, already backed memory). Durable puts cost the same
       either way, since most of their blocks come back from the pool.
       MAP_POPULATE faults the block in one call rather than a trap per page
       during the copy (0.82 against 0.91 s/GB in the same runs). */
    b->cap = (need + 4095) & ~(size_t)4095;
    uint8_t *p = mmap(NULL, b->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        QV_ERROR("out of memory receiving a %zu-byte message", need);
        abort();
    }
    b->mem = p;
    return b;
}

static void recv_block_put(void *ctx) {
    recv_block *b = ctx;
    pthread_mutex_lock(&recv_pool.mu);
    if (recv_pool.n < RECV_POOL_SLOTS && recv_pool.bytes + b->cap <= RECV_POOL_IDLE) {
        recv_pool.idle[recv_pool.n++] = *b;
        recv_pool.bytes += b->cap;
        b->mem = NULL;
    }
    pthread_mutex_unlock(&recv_pool.mu);
    if (b->mem) munmap(b->mem, b->cap);
    free(b);
}

size_t fl_flightdata_body_offset(const uint8_t *p, size_t n) {
    size_t pos = 0;
    while (pos < n) {
        uint64_t key, len;
        if (get_varint(p, n, &pos, &key)) return 0;
        int wt = (int)(key & 7);
        if (wt == 0) {
            if (get_varint(p, n, &pos, &len)) return 0;
            continue;
        }
        if (wt == 1 || wt == 5) {
            pos += wt == 1 ? 8 : 4;
            continue;
        }
        if (wt != 2 || get_varint(p, n, &pos, &len)) return 0;
        if ((key >> 3) == F_BODY) return pos;
        if (len > n - pos) return 0;
        pos += (size_t)len;
    }
    return 0;
}

/* Where the FlightData body starts in the message (0: not found). The
   fields before it are usually in the first slice, but a message may begin
   in the last bytes of a read buffer (1 in ~10 of 32 MiB messages over
   loopback), so the first slices are gathered when it is not. */
#define HEAD_GATHER_MAX ((size_t)1 << 20) /* a schema of ST_MAX_FIELDS columns has a ~100 KB header */

static size_t sb_body_offset(const grpc_slice_buffer *sb) {
    if (sb->count == 0) return 0;
    size_t at = fl_flightdata_body_offset(GRPC_SLICE_START_PTR(sb->slices[0]), GRPC_SLICE_LENGTH(sb->slices[0]));
    if (at || sb->count == 1) return at;
    size_t want = sb->length < HEAD_GATHER_MAX ? sb->length : HEAD_GATHER_MAX, n = 0;
    uint8_t *head = qv_xmalloc(want);
    for (size_t i = 0; i < sb->count && n < want; i++) {
        size_t len = GRPC_SLICE_LENGTH(sb->slices[i]), k = len < want - n ? len : want - n;
        memcpy(head + n, GRPC_SLICE_START_PTR(sb->slices[i]), k);
        n += k;
    }
    at = fl_flightdata_body_offset(head, n);
    free(head);
    return at;
}

static qv_buffer *bb_copy_pooled(grpc_byte_buffer *bb, size_t total) {
    grpc_slice_buffer *sb = &bb->data.raw.slice_buffer;
    size_t at = sb_body_offset(sb);
    size_t pad = (4096 - at % 4096) % 4096; /* page-aligned body: storage can write its columns with O_DIRECT as they are */
    recv_block *b = recv_block_get(total + pad);
    uint8_t *dst = b->mem + pad;
    size_t off = 0;
    for (size_t i = 0; i < sb->count; i++) {
        size_t len = GRPC_SLICE_LENGTH(sb->slices[i]);
        memcpy(dst + off, GRPC_SLICE_START_PTR(sb->slices[i]), len);
        off += len;
    }
    return qv_buffer_wrap(dst, off, recv_block_put, b);
}

qv_buffer *fl_bb_to_buffer(grpc_byte_buffer *bb) {
    if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE) {
        grpc_slice_buffer *sb = &bb->data.raw.slice_buffer;
        if (sb->count == 1) { /* one slice: a view of it, no copy */
            grpc_slice *s = qv_xmalloc(sizeof *s);
            *s = grpc_slice_ref(sb->slices[0]);
            return qv_buffer_wrap(GRPC_SLICE_START_PTR(*s), GRPC_SLICE_LENGTH(*s), free_slice, s);
        }
        if (sb->length >= fl_recv_pool_min) return bb_copy_pooled(bb, sb->length);
    }
    grpc_byte_buffer_reader r;
    grpc_slice *s = qv_xmalloc(sizeof *s);
    if (!grpc_byte_buffer_reader_init(&r, bb)) {
        *s = grpc_empty_slice();
    } else {
        *s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
    }
    return qv_buffer_wrap(GRPC_SLICE_START_PTR(*s), GRPC_SLICE_LENGTH(*s), free_slice, s);
}

grpc_byte_buffer *fl_bb_from_pb(const void *pb_message) {
    const ProtobufCMessage *m = pb_message;
    size_t n = protobuf_c_message_get_packed_size(m);
    grpc_slice s = grpc_slice_malloc(n);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

int fl_flightdata_decode(ipc_decoder *dec, qv_buffer *msg, const fl_flightdata *fd, ipc_event *ev, qv_batch *batch,
                         qv_err *err) {
    qv_buffer *body = NULL;
    if (fd->body_len && ((uintptr_t)fd->body & 7) == 0) {
        body = qv_buffer_slice(msg, (size_t)(fd->body - msg->data), fd->body_len);
    } else if (fd->body_len) {
        body = qv_buffer_new(fd->body_len);
        memcpy(body->data, fd->body, fd->body_len);
        body->size = fd->body_len;
    }
    *ev = IPC_EV_NONE;
    memset(batch, 0, sizeof *batch);
    int rc = ipc_decoder_message(dec, fd->header, fd->header_len, body, ev, batch, err);
    qv_buffer_unref(body);
    if (rc == QV_ECORRUPT) rc = err->code = QV_EINVAL;
    return rc;
}
