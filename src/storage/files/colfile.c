/*
** Column files: one sealed row group per file (t<id>-<rg>.qvc), every
** column buffer at a 64-byte aligned offset with its own CRC-32C, so a scan
** reads the row group through a read-only mapping: arrays point into it,
** zero copy, and the mapping lives as long as any buffer holds a ref.
**
** Layout (little-endian): a 64-byte header
**   "QVCOLRG2" | u64 table id | u64 row group | u64 rows | u32 columns
**   | u32 crc(directory) | u64 file length | 12 zero bytes | u32 crc(bytes 0..59)
** then the directory, one 152-byte entry per column
**   u8 type | u8 stats flags (st_stats_flags) | u8 encoding | 5 zero | i64 null count | u64 min | u64 max
**   | 5 x (u64 offset, u64 length, u32 crc, u32 zero)
**     for validity, values, data, dictionary offsets, dictionary data
** then the buffers. A length of 0 means the buffer is absent. Files
** written with O_DIRECT (colwrite.c) start their buffers at 4 KiB, put a
** large page-aligned values buffer on a 4 KiB offset, and end on a whole
** 4 KiB block (zeros after the last buffer, counted in the file length);
** readers take every offset and the length from the file, so they do not
** tell the two kinds apart. Encoding 1
** (STRING only): values are int32 codes into the dictionary buffers, as for
** SYMBOL; chosen per row group when smaller than offsets + bytes.
**
** st_map states: unmapped (nothing read) -> mapped (header and directory
** checked) or failed (the reason kept; every later use fails the same way);
** running out of descriptors, memory or mappings leaves it unmapped (that
** use fails with QV_ERESOURCE, a later one tries again).
** Each column is checked (its CRCs) the first time it is used. mu guards
** the state; the mapping is read-only and never changes while mapped.
**
** Mappings are capped (the kernel allows vm.max_map_count per process): a
** map whose buffers are all released (users 0) is idle and waits on an LRU
** list; past the cap the least recently used idle ones are unmapped (back
** to unmapped, their columns still known good) and mapped again on the
** next use. Busy maps are never unmapped, so the cap can be exceeded while
** that many are in use. Lock order: a map's mu, then maps.mu; eviction
** only try-locks a victim's mu.
*/
#include "st_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char st_col_magic[8] = {'Q', 'V', 'C', 'O', 'L', 'R', 'G', '2'};
#define col_magic st_col_magic
#define HDR ST_COL_HDR
#define ENT ST_COL_ENT
#define NBUF ST_COL_NBUF

struct st_map {
    atomic_int refs;
    char *path;
    uint64_t tid;
    int64_t rg, rows;
    int ncols;
    qv_type *types;
    pthread_mutex_t mu;
    int state; /* 0 unmapped, 1 mapped, 2 failed */
    char why[300];
    uint8_t *base;
    size_t len;
    uint8_t *colstate; /* 0 unchecked, 1 ok, 2 bad */
    atomic_int users;   /* buffers pointing into the mapping, plus pins while one is made */
    st_map *prev, *next; /* the idle list, under maps.mu */
    bool idle;
};

static struct {
    pthread_mutex_t mu;
    st_map *head, *tail; /* idle mapped maps, most recently used first */
    int mapped, cap;     /* cap 0: not set yet (half of vm.max_map_count) */
} maps = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0};

static int maps_cap(void) {
    if (maps.cap > 0) return maps.cap;
    int limit = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%d", &limit) != 1) limit = 65530;
        fclose(f);
    }
    maps.cap = limit / 2 > 16 ? limit / 2 : 16; /* the rest for heap, threads, libraries, queries */
    return maps.cap;
}

void st_map_set_cap(int cap) {
    pthread_mutex_lock(&maps.mu);
    maps.cap = cap;
    pthread_mutex_unlock(&maps.mu);
}

int st_map_mapped_count(void) {
    pthread_mutex_lock(&maps.mu);
    int n = maps.mapped;
    pthread_mutex_unlock(&maps.mu);
    return n;
}

/* maps.mu held */
static void idle_remove(st_map *m) {
    if (!m->idle) return;
    if (m->prev) m->prev->next = m->next;
    else maps.head = m->next;
    if (m->next) m->next->prev = m->prev;
    else maps.tail = m->prev;
    m->prev = m->next = NULL;
    m->idle = false;
}

/* Unmaps least recently used idle maps while more than the cap are mapped. */
static void maps_evict(void) {
    pthread_mutex_lock(&maps.mu);
    st_map *v = maps.tail;
    while (v && maps.mapped > maps_cap()) {
        st_map *older = v->prev;
        if (pthread_mutex_trylock(&v->mu) == 0) {
            if (v->state == 1 && atomic_load(&v->users) == 0) {
                idle_remove(v);
                munmap(v->base, v->len);
                v->base = NULL;
                v->len = 0;
                v->state = 0;
                maps.mapped--;
            }
            pthread_mutex_unlock(&v->mu);
        }
        v = older;
    }
    pthread_mutex_unlock(&maps.mu);
}

/* One user fewer; the last makes a mapped map idle. */
static void map_unuse(st_map *m) {
    int u = atomic_load(&m->users);
    while (u > 1) /* not the last: no lock */
        if (atomic_compare_exchange_weak(&m->users, &u, u - 1)) return;
    pthread_mutex_lock(&m->mu);
    if (atomic_fetch_sub(&m->users, 1) == 1 && m->state == 1) {
        pthread_mutex_lock(&maps.mu);
        m->idle = true;
        m->prev = NULL;
        m->next = maps.head;
        if (maps.head) maps.head->prev = m;
        else maps.tail = m;
        maps.head = m;
        pthread_mutex_unlock(&maps.mu);
    }
    pthread_mutex_unlock(&m->mu);
}

void st_col_path(const char *dir, uint64_t id, int64_t rg, char *buf, size_t n) {
    snprintf(buf, n, "%s/t%llu-%lld.qvc", dir, (unsigned long long)id, (long long)rg);
}

/* ---------------- header and directory ---------------- */

/* Checks header+directory bytes p[0..n) against what the caller expects. */
static const char *check_head(const uint8_t *p, size_t n, size_t file_len, uint64_t tid, int64_t rg, int64_t rows,
                              int ncols, const qv_type *types) {
    if (n < HDR || memcmp(p, col_magic, 8) || st_rd_u32(p + 60) != qv_crc32c(0, p, 60)) return "bad header";
    if (st_rd_u64(p + 8) != tid || st_rd_u64(p + 16) != (uint64_t)rg || st_rd_u64(p + 24) != (uint64_t)rows ||
        st_rd_u32(p + 32) != (uint32_t)ncols)
        return "header names another table, row group, size or column count";
    if (st_rd_u64(p + 40) != file_len) return "length does not match the file size (torn or truncated)";
    size_t dirlen = (size_t)ncols * ENT;
    if (n < HDR + dirlen || st_rd_u32(p + 36) != qv_crc32c(0, p + HDR, dirlen)) return "directory checksum mismatch";
    for (int c = 0; c < ncols; c++) {
        const uint8_t *e = p + HDR + (size_t)c * ENT;
        if (e[0] != (uint8_t)types[c]) return "column types do not match the table";
        if (e[2] > 1 || (e[2] && types[c] != QV_T_STRING)) return "unknown column encoding";
        for (int b = 0; b < NBUF; b++) {
            uint64_t off = st_rd_u64(e + 32 + b * 24), len = st_rd_u64(e + 40 + b * 24);
            if (len && ((off & 63) || off > file_len || len > file_len - off)) return "buffer outside the file";
        }
    }
    return NULL;
}

static int read_head(const char *path, int fd, size_t file_len, int ncols, uint8_t **out, size_t *n, qv_err *err) {
    size_t want = HDR + (size_t)ncols * ENT;
    if (want > file_len) want = file_len;
    uint8_t *b = qv_xmalloc(want ? want : 1);
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, b + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != want) {
        free(b);
        return qv_err_set(err, QV_ECORRUPT, "column file %s: cannot read its header", path);
    }
    *out = b;
    *n = want;
    return QV_OK;
}

int st_colfile_stats(const char *path, uint64_t table_id, int64_t rg, int64_t rows, const qv_schema *schema,
                     st_stats *stats, int64_t *file_bytes, qv_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return qv_err_set(err, QV_ECORRUPT, "column file %s is missing: %m", path);
    struct stat st;
    int rc = QV_OK;
    uint8_t *h = NULL;
    size_t n = 0;
    qv_type types[ST_MAX_FIELDS];
    for (int c = 0; c < schema->nfields; c++) types[c] = schema->fields[c].type;
    if (fstat(fd, &st) != 0) rc = qv_err_set(err, QV_EIO, "cannot stat %s: %m", path);
    else rc = read_head(path, fd, (size_t)st.st_size, schema->nfields, &h, &n, err);
    close(fd);
    if (rc) return rc;
    const char *why = check_head(h, n, (size_t)st.st_size, table_id, rg, rows, schema->nfields, types);
    if (why) {
        free(h);
        return qv_err_set(err, QV_ECORRUPT, "column file %s: %s", path, why);
    }
    for (int c = 0; c < schema->nfields; c++) {
        const uint8_t *e = h + HDR + (size_t)c * ENT;
        memset(&stats[c], 0, sizeof stats[c]);
        st_stats_flags_set(&stats[c], e[1]);
        stats[c].null_count = (int64_t)st_rd_u64(e + 8);
        stats[c].min.i = (int64_t)st_rd_u64(e + 16);
        stats[c].max.i = (int64_t)st_rd_u64(e + 24);
    }
    free(h);
    *file_bytes = (int64_t)st.st_size;
    return QV_OK;
}

/* ---------------- mapping ---------------- */

st_map *st_map_new(const char *path, uint64_t table_id, int64_t rg, int64_t rows, const qv_schema *schema,
                   bool verified) {
    st_map *m = qv_xcalloc(1, sizeof *m);
    atomic_init(&m->refs, 1);
    m->path = qv_xstrdup(path);
    m->tid = table_id;
    m->rg = rg;
    m->rows = rows;
    m->ncols = schema->nfields;
    m->types = qv_xcalloc((size_t)m->ncols, sizeof(qv_type));
    for (int c = 0; c < m->ncols; c++) m->types[c] = schema->fields[c].type;
    m->colstate = qv_xcalloc((size_t)m->ncols, 1);
    if (verified) memset(m->colstate, 1, (size_t)m->ncols);
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

st_map *st_map_ref(st_map *m) {
    if (m) atomic_fetch_add(&m->refs, 1);
    return m;
}

void st_map_unref(st_map *m) {
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
    pthread_mutex_lock(&maps.mu); /* no buffer is left, so no user: at most idle */
    idle_remove(m);
    if (m->base) {
        munmap(m->base, m->len);
        maps.mapped--;
    }
    pthread_mutex_unlock(&maps.mu);
    pthread_mutex_destroy(&m->mu);
    free(m->colstate);
    free(m->types);
    free(m->path);
    free(m);
}

const char *st_map_path(const st_map *m) { return m->path; }

static void fail(st_map *m, const char *fmt, const char *detail) {
    m->state = 2;
    snprintf(m->why, sizeof m->why, fmt, detail);
}

/* mu held */
static void map_file(st_map *m) {
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM)) { /* transient: try again later */
        snprintf(m->why, sizeof m->why, "cannot be opened: %s", strerror(errno));
        return;
    }
    if (fd < 0) return fail(m, "is missing: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < HDR) {
        close(fd);
        return fail(m, "%s", "is shorter than its header");
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);
    if (p == MAP_FAILED) { /* out of address space or mappings (vm.max_map_count): not the file's fault */
        snprintf(m->why, sizeof m->why, "cannot be mapped: %s", strerror(map_errno));
        return; /* stays unmapped: a later use tries again */
    }
    const char *why = check_head(p, (size_t)st.st_size, (size_t)st.st_size, m->tid, m->rg, m->rows, m->ncols, m->types);
    if (why) {
        munmap(p, (size_t)st.st_size);
        return fail(m, "%s", why);
    }
    m->base = p;
    m->len = (size_t)st.st_size;
    m->state = 1;
    pthread_mutex_lock(&maps.mu);
    maps.mapped++;
    pthread_mutex_unlock(&maps.mu);
}

static void unref_cb(void *ctx) {
    map_unuse(ctx);
    st_map_unref(ctx);
}

/* The caller holds a pin (users > 0): the mapping stays. */
static qv_buffer *wrap(st_map *m, const uint8_t *e, int b) {
    uint64_t off = st_rd_u64(e + 32 + b * 24), len = st_rd_u64(e + 40 + b * 24);
    if (!len) return NULL;
    atomic_fetch_add(&m->users, 1);
    return qv_buffer_wrap(m->base + off, (size_t)len, unref_cb, st_map_ref(m));
}

/* Codes + dictionary as a plain STRING array (for readers that want text). */
static void materialise(qv_array *sym, qv_array *out) {
    const qv_array *d = sym->dict;
    const int32_t *codes = (const int32_t *)sym->values->data, *doff = (const int32_t *)d->values->data;
    const uint8_t *vb = sym->validity ? sym->validity->data : NULL;
    size_t total = 0;
    for (int64_t r = 0; r < sym->length; r++)
        if (!vb || qv_bit_get(vb, r)) total += (size_t)(doff[codes[r] + 1] - doff[codes[r]]);
    qv_array_init(out, QV_T_STRING);
    out->length = sym->length;
    out->null_count = sym->null_count;
    out->validity = qv_buffer_ref(sym->validity);
    out->values = qv_buffer_new((size_t)(sym->length + 1) * 4);
    out->values->size = (size_t)(sym->length + 1) * 4;
    out->data = qv_buffer_new(total ? total : 1);
    out->data->size = total;
    int32_t *o = (int32_t *)out->values->data;
    const char *src = d->data ? (const char *)d->data->data : "";
    size_t at = 0;
    o[0] = 0;
    for (int64_t r = 0; r < sym->length; r++) {
        if (!vb || qv_bit_get(vb, r)) {
            size_t len = (size_t)(doff[codes[r] + 1] - doff[codes[r]]);
            memcpy(out->data->data + at, src + doff[codes[r]], len);
            at += len;
        }
        o[r + 1] = (int32_t)at;
    }
}

int st_map_column(st_map *m, int col, bool codes_ok, qv_array *out, qv_err *err) {
    qv_array_init(out, col >= 0 && col < m->ncols ? m->types[col] : QV_T_INVALID);
    if (col < 0 || col >= m->ncols) return qv_err_set(err, QV_EINTERNAL, "column %d out of range", col);
    pthread_mutex_lock(&m->mu);
    bool fresh = m->state == 0;
    if (fresh) map_file(m);
    const uint8_t *e = m->state == 1 ? m->base + HDR + (size_t)col * ENT : NULL;
    if (e) { /* pinned until the arrays hold their own uses */
        atomic_fetch_add(&m->users, 1);
        pthread_mutex_lock(&maps.mu);
        idle_remove(m);
        pthread_mutex_unlock(&maps.mu);
    }
    if (e && m->colstate[col] == 0) {
        m->colstate[col] = 1;
        /* One readahead request per buffer for the CRC pass (and the scan
           after it), rather than a fault, and a small read, per few pages. */
        for (int b = 0; b < NBUF; b++) {
            uint64_t off = st_rd_u64(e + 32 + b * 24), len = st_rd_u64(e + 40 + b * 24);
            uint64_t at = off & ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
            if (len) madvise(m->base + at, (size_t)(off + len - at), MADV_WILLNEED);
        }
        for (int b = 0; b < NBUF; b++) {
            uint64_t off = st_rd_u64(e + 32 + b * 24), len = st_rd_u64(e + 40 + b * 24);
            if (len && qv_crc32c(0, m->base + off, (size_t)len) != st_rd_u32(e + 48 + b * 24)) m->colstate[col] = 2;
        }
    }
    int rc = QV_OK;
    if (m->state == 0)
        rc = qv_err_set(err, QV_ERESOURCE, "column file %s %s (out of file descriptors, memory or mappings: "
                                           "vm.max_map_count)", m->path, m->why);
    else if (m->state == 2) rc = qv_err_set(err, QV_ECORRUPT, "column file %s %s", m->path, m->why);
    else if (m->colstate[col] == 2)
        rc = qv_err_set(err, QV_ECORRUPT, "column file %s: checksum mismatch in column %d", m->path, col + 1);
    pthread_mutex_unlock(&m->mu);
    if (rc && e) map_unuse(m);
    if (rc) return rc;
    if (fresh) maps_evict();
    bool coded = m->types[col] == QV_T_SYMBOL || e[2] == 1;
    if (coded) out->type = QV_T_SYMBOL;
    out->length = m->rows;
    out->null_count = (int64_t)st_rd_u64(e + 8);
    out->validity = wrap(m, e, 0);
    if (!out->validity) out->null_count = 0;
    out->values = wrap(m, e, 1);
    out->data = wrap(m, e, 2);
    if (coded) {
        out->dict = qv_xmalloc(sizeof(qv_array));
        qv_array_init(out->dict, QV_T_STRING);
        out->dict->values = wrap(m, e, 3);
        out->dict->data = wrap(m, e, 4);
        out->dict->length = out->dict->values ? (int64_t)(out->dict->values->size / 4) - 1 : 0;
        out->dict->null_count = 0;
    }
    if (e[2] == 1 && !codes_ok) {
        qv_array sym = *out;
        materialise(&sym, out);
        qv_array_free(&sym);
    }
    map_unuse(m); /* the pin */
    return QV_OK;
}
