/* String scalar functions. Lengths and positions count code points (UTF-8
   characters), not bytes, as DuckDB. Results either point into an argument's
   string (the executor keeps argument heaps alive) or live in out's heap. */
#include "functions.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define EACH_ROW for (int k = 0; k < n; k++) if (!vec_null(out, k))

/*
** Case mapping for the two-byte UTF-8 letters of Latin-1, Latin Extended-A,
** Greek and Cyrillic, whose upper and lower forms are both two bytes, so a
** string keeps its length. ß, ſ, ı and İ stay as they are.
*/
uint32_t str_case_map(uint32_t c, bool lower) {
    if (lower) {
        if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) ||
            (c >= 0x410 && c <= 0x42F))
            return c + 0x20;
        if (c >= 0x400 && c <= 0x40F) return c + 0x50;
        if (c == 0x178) return 0xFF;
        if (c == 0x386) return 0x3AC;
        if (c >= 0x388 && c <= 0x38A) return c + 0x25;
        if (c == 0x38C) return 0x3CC;
        if (c == 0x38E || c == 0x38F) return c + 0x3F;
        if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
            return c | 1;
        if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1)) return c + 1;
        return c;
    }
    if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) ||
        (c >= 0x430 && c <= 0x44F))
        return c - 0x20;
    if (c >= 0x450 && c <= 0x45F) return c - 0x50;
    if (c == 0xFF) return 0x178;
    if (c == 0x3C2) return 0x3A3;
    if (c == 0x3AC) return 0x386;
    if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
    if (c == 0x3CC) return 0x38C;
    if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
    if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c & ~1u;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && !(c & 1)) return c - 1;
    return c;
}

static void utf8_case(const char *src, int32_t n, char *d, bool lower) {
    const unsigned char *p = (const unsigned char *)src;
    for (int32_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c < 0x80) {
            d[i] = (char)(lower ? tolower(c) : toupper(c));
        } else if ((c & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            uint32_t cp = str_case_map(((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F), lower);
            d[i] = (char)(0xC0 | (cp >> 6));
            d[i + 1] = (char)(0x80 | (cp & 0x3F));
            i++;
        } else {
            d[i] = (char)c;
        }
    }
}

static int ev_case(const bexpr *e, vec *a, int n, vec *out, bool lower) {
    (void)e;
    EACH_ROW {
        char *d = vec_heap_alloc(out, (size_t)a[0].s[k].n + 1);
        utf8_case(a[0].s[k].p, a[0].s[k].n, d, lower);
        out->s[k] = (sv){d, a[0].s[k].n};
    }
    return 0;
}
static int ev_lower(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return ev_case(e, a, n, out, true); }
static int ev_upper(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return ev_case(e, a, n, out, false); }

static int ev_length(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->i[k] = utf8_len(a[0].s[k].p, a[0].s[k].n);
    return 0;
}

static int ev_strlen(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->i[k] = a[0].s[k].n;
    return 0;
}

/* substr's arguments are refused past 32 bits, as DuckDB does */
#define SUBSTR_MAX INT64_C(4294967295)
#define SUBSTR_MIN INT64_C(-4294967296)

static int ev_substr(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    bool has_len = e->nargs > 2;
    EACH_ROW {
        sv s = a[0].s[k];
        int64_t off = a[1].i[k], len = has_len ? a[2].i[k] : SUBSTR_MAX;
        if (off > SUBSTR_MAX || off < SUBSTR_MIN)
            return fn_err(err, e, "start %lld is outside the supported range [%lld, %lld]", (long long)off,
                          (long long)SUBSTR_MIN, (long long)SUBSTR_MAX);
        if (len > SUBSTR_MAX || len < SUBSTR_MIN)
            return fn_err(err, e, "length %lld is outside the supported range [%lld, %lld]", (long long)len,
                          (long long)SUBSTR_MIN, (long long)SUBSTR_MAX);
        /* As DuckDB: p, the 0-based position of start, is one before the first character for
           start 0 and counts from the end for a negative start; a negative length takes the
           characters before p. The range is then clipped to the string. */
        int64_t p = off > 0 ? off - 1 : off < 0 ? utf8_len(s.p, s.n) + off : -1;
        int64_t from = len >= 0 ? p : p + len, to = len >= 0 ? p + len : p;
        if (from < 0) from = 0;
        if (to <= from) { out->s[k] = (sv){"", 0}; continue; }
        int32_t b0 = utf8_off(s.p, s.n, from);
        int32_t b1 = b0 + utf8_off(s.p + b0, s.n - b0, to - from);
        out->s[k] = (sv){s.p + b0, b1 - b0};
    }
    return 0;
}

/* Length in bytes of the UTF-8 character at p (at least 1, at most left). */
static int32_t ch_len(const char *p, int32_t left) {
    int32_t l = 1;
    while (l < left && ((unsigned char)p[l] & 0xc0) == 0x80) l++;
    return l;
}

static bool in_set(const char *c, int32_t cl, sv set) {
    for (int32_t i = 0; i < set.n;) {
        int32_t l = ch_len(set.p + i, set.n - i);
        if (l == cl && !memcmp(set.p + i, c, (size_t)cl)) return true;
        i += l;
    }
    return false;
}

/* Start of the last character of s (s.n > 0). */
static int32_t last_ch(sv s) {
    int32_t i = s.n - 1;
    while (i > 0 && ((unsigned char)s.p[i] & 0xc0) == 0x80) i--;
    return i;
}

static int trim_rows(const bexpr *e, vec *a, int n, vec *out, bool left, bool right) {
    EACH_ROW {
        sv s = a[0].s[k];
        sv set = e->nargs > 1 ? a[1].s[k] : (sv){" ", 1};
        while (left && s.n) {
            int32_t l = ch_len(s.p, s.n);
            if (!in_set(s.p, l, set)) break;
            s.p += l;
            s.n -= l;
        }
        while (right && s.n) {
            int32_t i = last_ch(s);
            if (!in_set(s.p + i, s.n - i, set)) break;
            s.n = i;
        }
        out->s[k] = s;
    }
    return 0;
}
static int ev_trim(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return trim_rows(e, a, n, out, true, true); }
static int ev_ltrim(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return trim_rows(e, a, n, out, true, false); }
static int ev_rtrim(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { (void)err; return trim_rows(e, a, n, out, false, true); }

bexpr *fn_bind_args_text(binder *b, bexpr *e, int first) {
    for (int i = first; i < e->nargs; i++)
        if (e->args[i]->type != T_NULL && !(e->args[i] = bind_coerce(b, e->args[i], QV_T_STRING))) return NULL;
    e->type = QV_T_STRING;
    e->tz[0] = 0;
    return e;
}

/* concat: every argument as text, NULLs skipped */
static bexpr *bind_concat(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)a, (void)fd;
    return fn_bind_args_text(b, e, 0);
}

static int ev_concat(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)err;
    for (int k = 0; k < n; k++) {
        size_t tot = 0;
        for (int j = 0; j < e->nargs; j++)
            if (a[j].type != T_NULL && !vec_null(&a[j], k)) tot += (size_t)a[j].s[k].n;
        char *d = vec_heap_alloc(out, tot + 1);
        size_t o = 0;
        for (int j = 0; j < e->nargs; j++)
            if (a[j].type != T_NULL && !vec_null(&a[j], k)) {
                memcpy(d + o, a[j].s[k].p, (size_t)a[j].s[k].n);
                o += (size_t)a[j].s[k].n;
            }
        out->s[k] = (sv){d, (int32_t)o};
    }
    return 0;
}

static const char *find(sv h, sv nd, int32_t from) {
    if (nd.n == 0) return h.p + from;
    for (int32_t i = from; i + nd.n <= h.n; i++)
        if (h.p[i] == nd.p[0] && !memcmp(h.p + i, nd.p, (size_t)nd.n)) return h.p + i;
    return NULL;
}

static int ev_split_part(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k], sep = a[1].s[k];
        int64_t idx = a[2].i[k];
        /* the parts, as [start, end) byte ranges; an empty separator splits characters */
        int64_t nparts = 0;
        int32_t i = 0;
        if (sep.n == 0) nparts = s.n ? utf8_len(s.p, s.n) : 1;
        else {
            nparts = 1;
            const char *f;
            while ((f = find(s, sep, i))) { nparts++; i = (int32_t)(f - s.p) + sep.n; }
        }
        if (idx < 0) idx += nparts + 1;
        out->s[k] = (sv){"", 0};
        if (idx < 1 || idx > nparts) continue;
        if (sep.n == 0) {
            int32_t b0 = utf8_off(s.p, s.n, idx - 1);
            out->s[k] = (sv){s.p + b0, s.n ? ch_len(s.p + b0, s.n - b0) : 0};
            continue;
        }
        i = 0;
        for (int64_t p = 1;; p++) {
            const char *f = find(s, sep, i);
            int32_t end = f ? (int32_t)(f - s.p) : s.n;
            if (p == idx) { out->s[k] = (sv){s.p + i, end - i}; break; }
            i = end + sep.n;
        }
    }
    return 0;
}

static int ev_starts_with(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k], p = a[1].s[k];
        out->i[k] = p.n <= s.n && !memcmp(s.p, p.p, (size_t)p.n);
    }
    return 0;
}

static int ev_ends_with(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k], p = a[1].s[k];
        out->i[k] = p.n <= s.n && !memcmp(s.p + s.n - p.n, p.p, (size_t)p.n);
    }
    return 0;
}

static int ev_contains(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW out->i[k] = find(a[0].s[k], a[1].s[k], 0) != NULL;
    return 0;
}

static int ev_replace(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k], f = a[1].s[k], t = a[2].s[k];
        if (f.n == 0) { out->s[k] = s; continue; }
        int64_t cnt = 0;
        for (const char *p = find(s, f, 0); p; p = find(s, f, (int32_t)(p - s.p) + f.n)) cnt++;
        int64_t tot = s.n + cnt * ((int64_t)t.n - f.n);
        if (tot > INT32_MAX) return fn_err(err, e, "result too large");
        char *d = vec_heap_alloc(out, (size_t)tot + 1);
        int32_t i = 0, o = 0;
        for (const char *p = find(s, f, 0); p; p = find(s, f, i)) {
            int32_t at = (int32_t)(p - s.p);
            memcpy(d + o, s.p + i, (size_t)(at - i));
            o += at - i;
            memcpy(d + o, t.p, (size_t)t.n);
            o += t.n;
            i = at + f.n;
        }
        memcpy(d + o, s.p + i, (size_t)(s.n - i));
        o += s.n - i;
        out->s[k] = (sv){d, o};
    }
    return 0;
}

/* left(s, n): the first n characters; a negative n drops the last -n. */
static int ev_left(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k];
        int64_t c = a[1].i[k];
        if (c < 0) { c += utf8_len(s.p, s.n); if (c < 0) c = 0; }
        out->s[k] = (sv){s.p, utf8_off(s.p, s.n, c)};
    }
    return 0;
}

/* right(s, n): the last n characters; a negative n drops the first -n. */
static int ev_right(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k];
        int64_t c = a[1].i[k], len = utf8_len(s.p, s.n);
        int64_t skip = c < 0 ? -c : len - c;
        if (skip < 0) skip = 0;
        int32_t b0 = utf8_off(s.p, s.n, skip);
        out->s[k] = (sv){s.p + b0, s.n - b0};
    }
    return 0;
}

static int pad_rows(const bexpr *e, vec *a, int n, vec *out, qv_err *err, bool left) {
    EACH_ROW {
        sv s = a[0].s[k], pad = a[2].s[k];
        int64_t want = a[1].i[k];
        if (want <= 0) { out->s[k] = (sv){"", 0}; continue; }
        int64_t len = utf8_len(s.p, s.n);
        if (len >= want) { out->s[k] = (sv){s.p, utf8_off(s.p, s.n, want)}; continue; }
        if (pad.n == 0) return fn_err(err, e, "insufficient padding: the pad string is empty");
        int64_t need = want - len, padlen = utf8_len(pad.p, pad.n);
        int64_t bytes = (need / padlen + 1) * pad.n + s.n;
        if (bytes > INT32_MAX) return fn_err(err, e, "result too large");
        char *d = vec_heap_alloc(out, (size_t)bytes + 1);
        int32_t o = 0;
        if (!left) { memcpy(d, s.p, (size_t)s.n); o = s.n; }
        for (int64_t done = 0; done < need;) {
            int64_t take = need - done < padlen ? need - done : padlen;
            int32_t nb = utf8_off(pad.p, pad.n, take);
            memcpy(d + o, pad.p, (size_t)nb);
            o += nb;
            done += take;
        }
        if (left) { memcpy(d + o, s.p, (size_t)s.n); o += s.n; }
        out->s[k] = (sv){d, o};
    }
    return 0;
}
static int ev_lpad(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return pad_rows(e, a, n, out, err, true); }
static int ev_rpad(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return pad_rows(e, a, n, out, err, false); }

static int ev_repeat(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        sv s = a[0].s[k];
        int64_t c = a[1].i[k];
        if (c <= 0 || s.n == 0) { out->s[k] = (sv){"", 0}; continue; }
        if (c > (int64_t)(1 << 28) / s.n) return fn_err(err, e, "result too large (%lld copies of %d bytes)", (long long)c, s.n);
        char *d = vec_heap_alloc(out, (size_t)(c * s.n));
        for (int64_t j = 0; j < c; j++) memcpy(d + j * s.n, s.p, (size_t)s.n);
        out->s[k] = (sv){d, (int32_t)(c * s.n)};
    }
    return 0;
}

static int ev_reverse(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv s = a[0].s[k];
        char *d = vec_heap_alloc(out, (size_t)s.n + 1);
        for (int32_t i = 0; i < s.n;) {
            int32_t l = ch_len(s.p + i, s.n - i);
            memcpy(d + s.n - i - l, s.p + i, (size_t)l);
            i += l;
        }
        out->s[k] = (sv){d, s.n};
    }
    return 0;
}

const sfunc_def sfunc_str[] = {
    {"lower", 1, 1, "S", 'S', NULL, ev_lower, SF_STRICT, "lower case"},
    {"lcase", 1, 1, "S", 'S', NULL, ev_lower, SF_STRICT, "alias of lower"},
    {"upper", 1, 1, "S", 'S', NULL, ev_upper, SF_STRICT, "upper case"},
    {"ucase", 1, 1, "S", 'S', NULL, ev_upper, SF_STRICT, "alias of upper"},
    {"length", 1, 1, "S", 'I', NULL, ev_length, SF_STRICT, "number of characters"},
    {"len", 1, 1, "S", 'I', NULL, ev_length, SF_STRICT, "alias of length"},
    {"char_length", 1, 1, "S", 'I', NULL, ev_length, SF_STRICT, "alias of length"},
    {"character_length", 1, 1, "S", 'I', NULL, ev_length, SF_STRICT, "alias of length"},
    {"strlen", 1, 1, "S", 'I', NULL, ev_strlen, SF_STRICT, "number of bytes"},
    {"substr", 2, 3, "SII", 'S', NULL, ev_substr, SF_STRICT, "substr(s, start[, len]), 1-based"},
    {"substring", 2, 3, "SII", 'S', NULL, ev_substr, SF_STRICT, "alias of substr"},
    {"trim", 1, 2, "S", 'S', NULL, ev_trim, SF_STRICT, "trim(s[, chars]) from both ends"},
    {"ltrim", 1, 2, "S", 'S', NULL, ev_ltrim, SF_STRICT, "trim from the left"},
    {"rtrim", 1, 2, "S", 'S', NULL, ev_rtrim, SF_STRICT, "trim from the right"},
    {"concat", 1, 64, "A", 'S', bind_concat, ev_concat, 0, "concatenation, NULLs skipped"},
    {"split_part", 3, 3, "SSI", 'S', NULL, ev_split_part, SF_STRICT, "split_part(s, sep, i): i-th part, 1-based"},
    {"starts_with", 2, 2, "S", 'B', NULL, ev_starts_with, SF_STRICT, "s begins with prefix"},
    {"ends_with", 2, 2, "S", 'B', NULL, ev_ends_with, SF_STRICT, "s ends with suffix"},
    {"suffix", 2, 2, "S", 'B', NULL, ev_ends_with, SF_STRICT, "alias of ends_with"},
    {"prefix", 2, 2, "S", 'B', NULL, ev_starts_with, SF_STRICT, "alias of starts_with"},
    {"contains", 2, 2, "S", 'B', NULL, ev_contains, SF_STRICT, "s contains needle"},
    {"replace", 3, 3, "S", 'S', NULL, ev_replace, SF_STRICT, "replace(s, from, to): every occurrence"},
    {"left", 2, 2, "SI", 'S', NULL, ev_left, SF_STRICT, "first n characters"},
    {"right", 2, 2, "SI", 'S', NULL, ev_right, SF_STRICT, "last n characters"},
    {"lpad", 3, 3, "SIS", 'S', NULL, ev_lpad, SF_STRICT, "lpad(s, n, pad): pad on the left to n characters"},
    {"rpad", 3, 3, "SIS", 'S', NULL, ev_rpad, SF_STRICT, "rpad(s, n, pad): pad on the right"},
    {"repeat", 2, 2, "SI", 'S', NULL, ev_repeat, SF_STRICT, "s repeated n times"},
    {"reverse", 1, 1, "S", 'S', NULL, ev_reverse, SF_STRICT, "characters in reverse order"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
