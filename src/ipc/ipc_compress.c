/* Body buffer compression: LZ4 frame and Zstandard, as Arrow IPC uses them. */
#include "ipc_int.h"

#include <lz4frame.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <zstd.h>

static const char *const comp_names[] = {"none", "lz4", "zstd"};

int ipc_compression_parse(const char *s, size_t n, ipc_compression *out) {
    for (int i = 0; i < 3; i++)
        if (strlen(comp_names[i]) == n && strncasecmp(s, comp_names[i], n) == 0) {
            *out = (ipc_compression)i;
            return 0;
        }
    return -1;
}

const char *ipc_compression_name(ipc_compression c) {
    return c >= IPC_COMPRESS_NONE && c <= IPC_COMPRESS_ZSTD ? comp_names[c] : "?";
}

/* Per thread (encoders and ipc pool helpers), freed when the thread ends:
   compression contexts and a scratch output buffer, so compressing a buffer
   allocates only its (smaller) result instead of a zeroed worst-case one. */
typedef struct comp_tls {
    ZSTD_CCtx *zstd;
    LZ4F_cctx *lz4;
    uint8_t *scratch;
    size_t cap;
} comp_tls;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p) {
    comp_tls *t = p;
    ZSTD_freeCCtx(t->zstd);
    if (t->lz4) LZ4F_freeCompressionContext(t->lz4);
    free(t->scratch);
    free(t);
}
static void tls_key_make(void) { pthread_key_create(&tls_key, tls_free); }

static comp_tls *tls_get(size_t need) {
    pthread_once(&tls_once, tls_key_make);
    comp_tls *t = pthread_getspecific(tls_key);
    if (!t) {
        t = qv_xcalloc(1, sizeof *t);
        t->zstd = ZSTD_createCCtx();
        if (LZ4F_isError(LZ4F_createCompressionContext(&t->lz4, LZ4F_VERSION))) t->lz4 = NULL;
        pthread_setspecific(tls_key, t);
    }
    if (t->cap < need) {
        free(t->scratch);
        t->cap = need + need / 4;
        t->scratch = qv_xmalloc(t->cap);
    }
    return t;
}

/* One LZ4 frame with a reused context (begin, one update, end). */
static size_t lz4_frame(LZ4F_cctx *cx, uint8_t *dst, size_t cap, const uint8_t *p, size_t n,
                        const LZ4F_preferences_t *prefs) {
    size_t h = LZ4F_compressBegin(cx, dst, cap, prefs);
    if (LZ4F_isError(h)) return h;
    size_t b = LZ4F_compressUpdate(cx, dst + h, cap - h, p, n, NULL);
    if (LZ4F_isError(b)) return b;
    size_t e = LZ4F_compressEnd(cx, dst + h + b, cap - h - b, NULL);
    if (LZ4F_isError(e)) return e;
    return h + b + e;
}

int ipc_compress(ipc_compression c, const uint8_t *p, size_t n, qv_buffer **out, qv_err *err) {
    *out = NULL;
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.contentSize = n;
    size_t bound = c == IPC_COMPRESS_LZ4 ? LZ4F_compressFrameBound(n, &prefs) : ZSTD_compressBound(n);
    comp_tls *t = tls_get(bound);
    size_t got;
    if (c == IPC_COMPRESS_LZ4) {
        got = t->lz4 ? lz4_frame(t->lz4, t->scratch, bound, p, n, &prefs)
                     : LZ4F_compressFrame(t->scratch, bound, p, n, &prefs);
        if (LZ4F_isError(got))
            return qv_err_set(err, QV_EINTERNAL, "lz4 compression failed: %s", LZ4F_getErrorName(got));
    } else {
        got = t->zstd ? ZSTD_compressCCtx(t->zstd, t->scratch, bound, p, n, 1)
                      : ZSTD_compress(t->scratch, bound, p, n, 1);
        if (ZSTD_isError(got))
            return qv_err_set(err, QV_EINTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(got));
    }
    if (got >= n) return QV_OK; /* the raw bytes are smaller: caller sends them with -1 */
    qv_buffer *b = qv_buffer_new(qv_pad8(got + 8));
    int64_t raw = (int64_t)n;
    memcpy(b->data, &raw, 8);
    memcpy(b->data + 8, t->scratch, got);
    b->size = got + 8;
    *out = b;
    return QV_OK;
}

static int lz4_decompress(const uint8_t *p, size_t n, uint8_t *dst, size_t expect, qv_err *err) {
    LZ4F_dctx *ctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
        return qv_err_set(err, QV_EINTERNAL, "lz4: cannot create a decompression context");
    size_t in = 0, outpos = 0;
    int rc = QV_OK;
    for (;;) {
        size_t src_size = n - in, dst_size = expect - outpos;
        size_t hint = LZ4F_decompress(ctx, dst + outpos, &dst_size, p + in, &src_size, NULL);
        if (LZ4F_isError(hint)) {
            rc = qv_err_set(err, QV_ECORRUPT, "lz4 frame is corrupt: %s", LZ4F_getErrorName(hint));
            break;
        }
        in += src_size;
        outpos += dst_size;
        if (hint == 0) break; /* frame complete */
        if (src_size == 0 && dst_size == 0) {
            rc = qv_err_set(err, QV_ECORRUPT,
                            "lz4 frame is truncated or larger than its declared %zu bytes", expect);
            break;
        }
    }
    LZ4F_freeDecompressionContext(ctx);
    if (!rc && (outpos != expect || in != n))
        rc = qv_err_set(err, QV_ECORRUPT, "lz4 frame decompressed to %zu bytes, %zu declared", outpos,
                        expect);
    return rc;
}

int ipc_decompress(int codec, const uint8_t *p, size_t n, int64_t expect, qv_buffer **out,
                   qv_err *err) {
    *out = NULL;
    if (expect < 0) return qv_err_set(err, QV_ECORRUPT, "negative uncompressed length %lld", (long long)expect);
    /* Refuse impossible sizes before allocating: LZ4 expands at most ~255x;
       zstd records the size in the frame (Arrow writers set it) or, if not,
       cannot beat one RLE block per 4 bytes (128 KiB each). */
    if (codec == CODEC_LZ4_FRAME && (uint64_t)expect > (uint64_t)n * 256 + 4096)
        return qv_err_set(err, QV_ECORRUPT, "lz4 buffer of %zu bytes cannot hold %lld bytes", n,
                          (long long)expect);
    if (codec == CODEC_ZSTD) {
        unsigned long long fcs = ZSTD_getFrameContentSize(p, n);
        if (fcs == ZSTD_CONTENTSIZE_ERROR)
            return qv_err_set(err, QV_ECORRUPT, "zstd buffer does not start with a zstd frame");
        if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != (unsigned long long)expect && n == ZSTD_findFrameCompressedSize(p, n))
            return qv_err_set(err, QV_ECORRUPT, "zstd frame holds %llu bytes, %lld declared", fcs,
                              (long long)expect);
        if ((uint64_t)expect > (uint64_t)n * 32768 + 4096)
            return qv_err_set(err, QV_ECORRUPT, "zstd buffer of %zu bytes cannot hold %lld bytes", n,
                              (long long)expect);
    }
    qv_buffer *b = qv_buffer_new(qv_pad8((size_t)expect + 1));
    int rc = QV_OK;
    if (codec == CODEC_LZ4_FRAME) {
        rc = lz4_decompress(p, n, b->data, (size_t)expect, err);
    } else {
        size_t got = ZSTD_decompress(b->data, (size_t)expect, p, n);
        if (ZSTD_isError(got))
            rc = qv_err_set(err, QV_ECORRUPT, "zstd data is corrupt: %s", ZSTD_getErrorName(got));
        else if (got != (size_t)expect)
            rc = qv_err_set(err, QV_ECORRUPT, "zstd data decompressed to %zu bytes, %lld declared",
                            got, (long long)expect);
    }
    if (rc) {
        qv_buffer_unref(b);
        return rc;
    }
    b->size = (size_t)expect;
    *out = b;
    return QV_OK;
}
