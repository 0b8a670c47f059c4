/* Growable byte strings for encoders and text output. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void qv_str_init(qv_str *s) {
    s->data = NULL;
    s->len = s->cap = 0;
}

void qv_str_free(qv_str *s) {
    free(s->data);
    qv_str_init(s);
}

void qv_str_reserve(qv_str *s, size_t extra) {
    if (s->len + extra + 1 <= s->cap) return;
    size_t ncap = s->cap ? s->cap * 2 : 64;
    while (ncap < s->len + extra + 1) ncap *= 2;
    s->data = qv_xrealloc(s->data, ncap);
    s->cap = ncap;
}

void qv_str_append(qv_str *s, const void *p, size_t n) {
    qv_str_reserve(s, n);
    if (n) memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = 0;
}

void qv_str_appendc(qv_str *s, char c) { qv_str_append(s, &c, 1); }

void qv_str_appendf(qv_str *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    qv_str_reserve(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void qv_str_append_json_string(qv_str *s, const char *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    qv_str_reserve(s, n + 2);
    qv_str_appendc(s, '"');
    size_t run = 0; /* copy unescaped runs in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        qv_str_append(s, p + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': qv_str_append(s, "\\\"", 2); break;
        case '\\': qv_str_append(s, "\\\\", 2); break;
        case '\n': qv_str_append(s, "\\n", 2); break;
        case '\r': qv_str_append(s, "\\r", 2); break;
        case '\t': qv_str_append(s, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            qv_str_append(s, u, 6);
        }
        }
    }
    qv_str_append(s, p + run, n - run);
    qv_str_appendc(s, '"');
}

char *qv_str_steal(qv_str *s) {
    if (!s->data) qv_str_reserve(s, 0), s->data[0] = 0;
    char *d = s->data;
    qv_str_init(s);
    return d;
}

int qv_file_read(const char *path, size_t max, qv_str *out, qv_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return qv_err_set(err, QV_EIO, "cannot open %s: %s", path, strerror(errno));
    char buf[8192];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        total += n;
        if (total > max) {
            fclose(f);
            return qv_err_set(err, QV_EINVAL, "%s is larger than %zu bytes", path, max);
        }
        qv_str_append(out, buf, n);
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) return qv_err_set(err, QV_EIO, "cannot read %s", path);
    qv_str_reserve(out, 1);
    out->data[out->len] = 0;
    return QV_OK;
}

int qv_file_read_all(const char *path, uint8_t **out, size_t *n, qv_err *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return qv_err_set(err, QV_EIO, "cannot open %s: %m", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return qv_err_set(err, QV_EIO, "cannot stat %s: %m", path);
    }
    size_t sz = (size_t)st.st_size, got = 0;
    uint8_t *b = qv_xmalloc(sz ? sz : 1);
    while (got < sz) {
        ssize_t r = read(fd, b + got, sz - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != sz) {
        free(b);
        return qv_err_set(err, QV_EIO, "cannot read %s", path);
    }
    *out = b;
    *n = sz;
    return QV_OK;
}
