/*
** base: the bottom module. Status codes and the error struct every fallible
** function fills, logging, aligned allocation, refcounted buffers, checksums.
** Nothing here knows about tables, SQL or sockets.
*/
#ifndef QUIVER_BASE_H
#define QUIVER_BASE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QV_VERSION "0.1.0"

/* Status codes. 0 is success; front ends map the rest to gRPC/HTTP codes. */
typedef enum qv_status {
    QV_OK = 0,
    QV_EINVAL,      /* bad input from a user: SQL, schema, value, request */
    QV_ENOTFOUND,   /* unknown table, column, action */
    QV_EEXISTS,     /* duplicate name */
    QV_ERESOURCE,   /* a memory or size limit was hit */
    QV_ECANCELLED,  /* the caller cancelled */
    QV_EUNSUPPORTED,/* valid but not implemented (type, RPC) */
    QV_ECORRUPT,    /* on-disk or on-wire data failed verification */
    QV_EIO,         /* the OS said no */
    QV_EINTERNAL,   /* a bug: logged */
    QV_EPRECONDITION, /* not in this state: e.g. a write sent to a read replica */
    QV_EUNAUTH,     /* no or bad credentials */
    QV_EPERM,       /* authenticated, but the role may not do this */
    QV_EBUSY,       /* refused by admission control: too many queries */
    QV_ETIMEOUT     /* a deadline passed (query timeout, client deadline) */
} qv_status;

typedef struct qv_err {
    qv_status code;
    char msg[512];
} qv_err;

/* Fill err (if non-NULL) and return code, so callers can `return qv_err_set(...)`. */
int qv_err_set(qv_err *err, qv_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message: "context: old message". Returns err->code. */
int qv_err_prefix(qv_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qv_err_clear(qv_err *err);
const char *qv_status_name(qv_status code);

/* ---- logging: one line per event to stderr, with level and UTC time ---- */
typedef enum { QV_LOG_DEBUG, QV_LOG_INFO, QV_LOG_WARN, QV_LOG_ERROR } qv_log_level;
void qv_log_set_level(qv_log_level lvl);
int qv_log_level_parse(const char *s, qv_log_level *out); /* 0 ok, -1 unknown */
void qv_log(qv_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define QV_DEBUG(...) qv_log(QV_LOG_DEBUG, __VA_ARGS__)
#define QV_INFO(...) qv_log(QV_LOG_INFO, __VA_ARGS__)
#define QV_WARN(...) qv_log(QV_LOG_WARN, __VA_ARGS__)
#define QV_ERROR(...) qv_log(QV_LOG_ERROR, __VA_ARGS__)

/* ---- invariants ----
 * QV_ASSERT(cond) checks an invariant of our own code (never input: input
 * gets a qv_err). It aborts with the location in sanitizer and fuzz builds
 * (QV_CHECKED) and compiles to nothing otherwise, so release builds keep
 * the graceful error path that follows each assertion. */
#ifdef QV_CHECKED
void qv_assert_fail(const char *cond, const char *file, int line) __attribute__((noreturn));
#define QV_ASSERT(cond) ((cond) ? (void)0 : qv_assert_fail(#cond, __FILE__, __LINE__))
#else
#define QV_ASSERT(cond) ((void)0)
#endif

/* ---- memory ---- */
#define QV_ALIGN 64
/* Zeroed, 64-byte aligned; aborts on OOM (the caller cannot do better). */
void *qv_alloc_aligned(size_t size);
void qv_free_aligned(void *p);
void *qv_xmalloc(size_t n);
void *qv_xcalloc(size_t n, size_t sz);
void *qv_xrealloc(void *p, size_t n);
char *qv_xstrdup(const char *s);
char *qv_xstrndup(const char *s, size_t n);
static inline size_t qv_pad8(size_t n) { return (n + 7) & ~(size_t)7; }
static inline size_t qv_pad64(size_t n) { return (n + 63) & ~(size_t)63; }

/*
** qv_buffer: a refcounted byte range. Storage segments, query results and
** decoded IPC bodies all live in these, so a batch can point at column memory
** held by storage (or at a received gRPC message) without copying it. The
** last unref calls release(). Thread-safe refcount; contents are not locked.
*/
typedef struct qv_buffer qv_buffer;
struct qv_buffer {
    atomic_int refs;
    uint8_t *data;
    size_t size;       /* bytes in use (what an encoder sends) */
    size_t capacity;   /* bytes allocated */
    void (*release)(qv_buffer *b); /* frees data and b itself */
    void *ctx;         /* for release() of wrapped memory */
};
/* New owned buffer: 64-byte aligned, zeroed, size 0. */
qv_buffer *qv_buffer_new(size_t capacity);
/* Wrap memory someone else owns; on last unref calls free_ctx(ctx) (may be NULL). */
qv_buffer *qv_buffer_wrap(const void *data, size_t size, void (*free_ctx)(void *ctx), void *ctx);
/* A view of [off, off+len) of parent; holds a ref on parent. */
qv_buffer *qv_buffer_slice(qv_buffer *parent, size_t off, size_t len);
qv_buffer *qv_buffer_ref(qv_buffer *b);   /* NULL-safe, returns b */
void qv_buffer_unref(qv_buffer *b);       /* NULL-safe */
/* Grow an owned (qv_buffer_new) buffer's capacity; only when no one else holds it. */
void qv_buffer_reserve(qv_buffer *b, size_t capacity);

/* ---- growable byte string (for encoders, JSON, messages) ---- */
typedef struct qv_str {
    char *data;
    size_t len, cap;
} qv_str;
void qv_str_init(qv_str *s);
void qv_str_free(qv_str *s);
void qv_str_reserve(qv_str *s, size_t extra);
void qv_str_append(qv_str *s, const void *p, size_t n);
void qv_str_appendc(qv_str *s, char c);
void qv_str_appendf(qv_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qv_str_append_json_string(qv_str *s, const char *p, size_t n); /* quoted, escaped */
char *qv_str_steal(qv_str *s); /* returns NUL-terminated data, resets s */
/* A DOUBLE's (f32: a REAL's) text form, DuckDB's: shortest digits that read
   back, "100.0", "1e+16", "1e-05", "-0.0", "nan", "inf" (floatfmt.c has the
   rule). buf holds QV_FLOAT_TEXT_MAX bytes; returns the length. */
#define QV_FLOAT_TEXT_MAX 40
size_t qv_float_format(double v, bool f32, char *buf);
/* Whole file (at most max bytes) appended to out, NUL-terminated. */
int qv_file_read(const char *path, size_t max, qv_str *out, qv_err *err);
/* The whole file into a new buffer of *n bytes (caller frees; *out NULL on error). */
int qv_file_read_all(const char *path, uint8_t **out, size_t *n, qv_err *err);

/* ---- checksums, time ---- */
uint32_t qv_crc32c(uint32_t crc, const void *data, size_t n); /* hardware when the CPU has it */
uint32_t qv_crc32c_sw(uint32_t crc, const void *data, size_t n); /* the table version */
/* The instruction version; false (out untouched) when this CPU has none. */
bool qv_crc32c_hw(uint32_t crc, const void *data, size_t n, uint32_t *out);
const char *qv_crc32c_impl(void); /* "sse4.2", "armv8-crc" or "software" */
int64_t qv_now_ns(void);        /* CLOCK_REALTIME */
int64_t qv_monotonic_ns(void);  /* CLOCK_MONOTONIC */
int qv_cpu_count(void);
/* While any ingest stream runs, freed heap memory stays mapped (a high
   malloc trim threshold): gRPC's read buffers, freed after each received
   message, are then reused warm instead of faulted in afresh. The last end
   returns the free memory (malloc_trim). Nests; thread-safe. */
void qv_heap_warm_begin(void);
void qv_heap_warm_end(void);

/* A duration: a non-negative number with a unit suffix ns, us, ms, s, m or h
   ("500ms", "2s", "1.5m", "12h"); a bare number is in bare_unit_ns units
   (0: a unit is required). 0 ok, -1 malformed or out of range. */
int qv_duration_parse(const char *s, int64_t bare_unit_ns, int64_t *out_ns);

#endif
