/* base: errors, allocation, clocks. */
#include "base/base.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int qv_err_set(qv_err *err, qv_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return (int)code;
}

int qv_err_prefix(qv_err *err, const char *fmt, ...) {
    if (!err) return QV_EINTERNAL;
    char pre[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t np = strlen(pre), no = strnlen(old, sizeof old - 1);
    if (np > sizeof err->msg - 3) np = sizeof err->msg - 3;
    if (np + 2 + no > sizeof err->msg - 1) no = sizeof err->msg - 1 - np - 2;
    memcpy(err->msg, pre, np);
    memcpy(err->msg + np, ": ", 2);
    memcpy(err->msg + np + 2, old, no);
    err->msg[np + 2 + no] = 0;
    return (int)err->code;
}

void qv_err_clear(qv_err *err) {
    if (err) {
        err->code = QV_OK;
        err->msg[0] = 0;
    }
}

const char *qv_status_name(qv_status code) {
    switch (code) {
    case QV_OK: return "OK";
    case QV_EINVAL: return "INVALID_ARGUMENT";
    case QV_ENOTFOUND: return "NOT_FOUND";
    case QV_EEXISTS: return "ALREADY_EXISTS";
    case QV_ERESOURCE: return "RESOURCE_EXHAUSTED";
    case QV_ECANCELLED: return "CANCELLED";
    case QV_EUNSUPPORTED: return "UNIMPLEMENTED";
    case QV_ECORRUPT: return "DATA_LOSS";
    case QV_EIO: return "IO_ERROR";
    case QV_EINTERNAL: return "INTERNAL";
    case QV_EPRECONDITION: return "FAILED_PRECONDITION";
    case QV_EUNAUTH: return "UNAUTHENTICATED";
    case QV_EPERM: return "PERMISSION_DENIED";
    case QV_EBUSY: return "RESOURCE_EXHAUSTED";
    case QV_ETIMEOUT: return "DEADLINE_EXCEEDED";
    }
    return "UNKNOWN";
}

static void oom(size_t n) {
    fprintf(stderr, "quiver: out of memory allocating %zu bytes\n", n);
    abort();
}

void *qv_alloc_aligned(size_t size) {
    void *p = NULL;
    size_t n = qv_pad64(size ? size : 1);
    if (posix_memalign(&p, QV_ALIGN, n) != 0) oom(n);
    memset(p, 0, n);
    return p;
}

void qv_free_aligned(void *p) { free(p); }

void *qv_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *qv_xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) oom(n * sz);
    return p;
}

void *qv_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *qv_xstrdup(const char *s) { return qv_xstrndup(s, strlen(s)); }

char *qv_xstrndup(const char *s, size_t n) {
    char *p = qv_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

int64_t qv_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t qv_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int qv_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* Heap kept warm during ingest: a 32 MiB message arrives as ~500 malloc'd
   64 KiB read slices, freed once it is copied out; at glibc's default trim
   threshold (128 KiB) each message faulted its pages in again. A thread's
   arena is made of 64 MiB heaps and one left empty is unmapped whatever
   the trim threshold, unless the top pad says to keep that much. */
#define HEAP_WARM_TRIM ((size_t)64 << 20)
#define HEAP_TRIM_DEFAULT ((size_t)128 << 10)

static pthread_mutex_t heap_warm_mu = PTHREAD_MUTEX_INITIALIZER;
static int heap_warm_n;

void qv_heap_warm_begin(void) {
    pthread_mutex_lock(&heap_warm_mu);
    if (heap_warm_n++ == 0) {
        mallopt(M_TRIM_THRESHOLD, (int)HEAP_WARM_TRIM);
        mallopt(M_TOP_PAD, (int)HEAP_WARM_TRIM);
    }
    pthread_mutex_unlock(&heap_warm_mu);
}

void qv_heap_warm_end(void) {
    pthread_mutex_lock(&heap_warm_mu);
    bool last = heap_warm_n > 0 && --heap_warm_n == 0;
    if (last) {
        mallopt(M_TRIM_THRESHOLD, (int)HEAP_TRIM_DEFAULT);
        mallopt(M_TOP_PAD, (int)HEAP_TRIM_DEFAULT);
    }
    pthread_mutex_unlock(&heap_warm_mu);
    if (last) malloc_trim(0);
}

#ifdef QV_CHECKED
void qv_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, cond);
    abort();
}
#endif
