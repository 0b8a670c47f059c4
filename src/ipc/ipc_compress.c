/* Body buffer compression: LZ4 frame and Zstandard, as Arrow IPC uses them. */
#include "ipc_int.h"

#include <lz4frame.h>
#include <pthread.h>
#include <string.h>
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

/* One zstd compression context per thread (encoders and ipc pool helpers),
   freed when the thread ends: a context per buffer costs more than level 1. */
static pthread_key_t zstd_key;
static pthread_once_t zstd_once = PTHREAD_ONCE_INIT;
static void zstd_ctx_free(void *p) { ZSTD_freeCCtx(p); }
static void zstd_key_make(void) { pthread_key_create(&zstd_key, zstd_ctx_free); }

static ZSTD_CCtx *zstd_ctx(void) {
    pthread_once(&zstd_once, zstd_key_make);
    ZSTD_CCtx *z = pthread_getspecific(zstd_key);
    if (!z && (z = ZSTD_createCCtx()) != NULL) pthread_setspecific(zstd_key, z);
    return z;
}

int ipc_compress(ipc_compression c, const uint8_t *p, size_t n, qv_buffer **out, qv_err *err) {
    *out = NULL;
    size_t bound = c == IPC_COMPRESS_LZ4 ? LZ4F_compressFrameBound(n, NULL) : ZSTD_compressBound(n);
    qv_buffer *b = qv_buffer_new(qv_pad8(bound + 8));
    size_t got;
    if (c == IPC_COMPRESS_LZ4) {
        got = LZ4F_compressFrame(b->data + 8, bound, p, n, NULL);
        if (LZ4F_isError(got)) {
            qv_buffer_unref(b);
            return qv_err_set(err, QV_EINTERNAL, "lz4 compression failed: %s", LZ4F_getErrorName(got));
        }
    } else {
        ZSTD_CCtx *z = zstd_ctx();
        got = z ? ZSTD_compressCCtx(z, b->data + 8, bound, p, n, 1) : ZSTD_compress(b->data + 8, bound, p, n, 1);
        if (ZSTD_isError(got)) {
            qv_buffer_unref(b);
            return qv_err_set(err, QV_EINTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(got));
        }
    }
    if (got >= n) { /* the raw bytes are smaller: caller sends them with -1 */
        qv_buffer_unref(b);
        return QV_OK;
    }
    int64_t raw = (int64_t)n;
    memcpy(b->data, &raw, 8);
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
