/* More string scalar functions: concat_ws, strpos/instr, ascii, chr, md5,
   levenshtein, translate. As in func_str.c, positions and distances count
   code points (UTF-8 characters), not bytes, as DuckDB. */
#include "functions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EACH_ROW for (int k = 0; k < n; k++) if (!vec_null(out, k))

/* Decodes the character at p (left > 0 bytes) into *cp; returns its length.
   Stored strings are valid UTF-8, so only the lead byte picks the length. */
static int32_t utf8_next(const char *p, int32_t left, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)p;
    int32_t l = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;
    if (l > left) l = left;
    uint32_t c = l == 1 ? u[0] : l == 2 ? u[0] & 0x1Fu : l == 3 ? u[0] & 0x0Fu : u[0] & 0x07u;
    for (int32_t i = 1; i < l; i++) c = (c << 6) | (u[i] & 0x3Fu);
    *cp = c;
    return l;
}

/* Writes code point c as UTF-8 into d (room for 4 bytes); returns the length. */
static int32_t utf8_put(uint32_t c, char *d) {
    if (c < 0x80) { d[0] = (char)c; return 1; }
    if (c < 0x800) { d[0] = (char)(0xC0 | (c >> 6)); d[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        d[0] = (char)(0xE0 | (c >> 12));
        d[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        d[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (c >> 18));
    d[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    d[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* concat_ws(sep, a, ...): the non-NULL arguments as text, joined by sep; a
   NULL separator makes the row NULL. */
static bexpr *bind_concat_ws(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)a, (void)fd;
    return fn_bind_args_text(b, e, 1); /* the separator keeps its own type check */
}

static bool arg_present(const vec *v, int k) { return v->type != T_NULL && !vec_null(v, k); }

static int ev_concat_ws(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    for (int k = 0; k < n; k++) {
        if (!arg_present(&a[0], k)) { fn_set_null(out, k); continue; }
        sv sep = a[0].s[k];
        int64_t tot = 0;
        for (int j = 1; j < e->nargs; j++)
            if (arg_present(&a[j], k)) tot += a[j].s[k].n + sep.n;
        if (tot > INT32_MAX) return fn_err(err, e, "result too large");
        char *d = vec_heap_alloc(out, (size_t)tot + 1);
        int32_t o = 0;
        bool first = true;
        for (int j = 1; j < e->nargs; j++) {
            if (!arg_present(&a[j], k)) continue;
            if (!first) { memcpy(d + o, sep.p, (size_t)sep.n); o += sep.n; }
            memcpy(d + o, a[j].s[k].p, (size_t)a[j].s[k].n);
            o += a[j].s[k].n;
            first = false;
        }
        out->s[k] = (sv){d, o};
    }
    return 0;
}

/* strpos(s, needle), also position(needle IN s): the 1-based character
   (UTF-8 code point) where needle first occurs, 0 when it does not; an empty
   needle is at 1. A match of valid UTF-8 starts on a character, so a byte
   search is exact. */
static int ev_strpos(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        sv h = a[0].s[k], nd = a[1].s[k];
        const char *m = nd.n == 0 ? h.p : memmem(h.p, (size_t)h.n, nd.p, (size_t)nd.n);
        out->i[k] = m ? utf8_len(h.p, (int32_t)(m - h.p)) + 1 : 0;
    }
    return 0;
}

static int ev_ascii(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        uint32_t c = 0;
        if (a[0].s[k].n) utf8_next(a[0].s[k].p, a[0].s[k].n, &c);
        out->i[k] = c;
    }
    return 0;
}

static int ev_chr(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        int64_t c = a[0].i[k];
        if (c < 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return fn_err(err, e, "%lld is not a valid Unicode code point", (long long)c);
        char *d = vec_heap_alloc(out, 4);
        out->s[k] = (sv){d, utf8_put((uint32_t)c, d)};
    }
    return 0;
}

static int ev_md5(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    static const char hex[] = "0123456789abcdef";
    EACH_ROW {
        uint8_t h[16];
        md5_digest(a[0].s[k].p, (size_t)a[0].s[k].n, h);
        char *d = vec_heap_alloc(out, 33);
        for (int i = 0; i < 16; i++) {
            d[2 * i] = hex[h[i] >> 4];
            d[2 * i + 1] = hex[h[i] & 15];
        }
        out->s[k] = (sv){d, 32};
    }
    return 0;
}

/* The code points of s into a new array (*len of them). */
static uint32_t *code_points(sv s, int32_t *len) {
    uint32_t *cp = qv_xcalloc((size_t)s.n + 1, sizeof *cp);
    int32_t m = 0;
    for (int32_t i = 0; i < s.n;) i += utf8_next(s.p + i, s.n - i, &cp[m++]);
    *len = m;
    return cp;
}

/* Insertions, deletions and substitutions of characters, one row of the
   table at a time (memory linear in the shorter string). */
static int64_t edit_dist(const uint32_t *x, int32_t lx, const uint32_t *y, int32_t ly) {
    if (lx < ly) {
        const uint32_t *t = x; x = y; y = t;
        int32_t tl = lx; lx = ly; ly = tl;
    }
    int64_t *row = qv_xcalloc((size_t)ly + 1, sizeof *row);
    for (int32_t j = 0; j <= ly; j++) row[j] = j;
    for (int32_t i = 1; i <= lx; i++) {
        int64_t diag = row[0];
        row[0] = i;
        for (int32_t j = 1; j <= ly; j++) {
            int64_t up = row[j], best = diag + (x[i - 1] != y[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    int64_t r = row[ly];
    free(row);
    return r;
}

static int ev_levenshtein(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    (void)e, (void)err;
    EACH_ROW {
        int32_t lx, ly;
        uint32_t *x = code_points(a[0].s[k], &lx), *y = code_points(a[1].s[k], &ly);
        out->i[k] = edit_dist(x, lx, y, ly);
        free(x);
        free(y);
    }
    return 0;
}

/* translate(s, from, to): each character of s found in from becomes the
   character at the same place in to, or is dropped when to is shorter; the
   first occurrence in from counts. */
static int translate_row(sv s, sv from, sv to, char *d) {
    int32_t o = 0;
    for (int32_t i = 0; i < s.n;) {
        uint32_t c;
        int32_t l = utf8_next(s.p + i, s.n - i, &c);
        int64_t at = -1, idx = 0;
        for (int32_t f = 0; f < from.n; idx++) {
            uint32_t fc;
            f += utf8_next(from.p + f, from.n - f, &fc);
            if (fc == c) { at = idx; break; }
        }
        if (at < 0) {
            memcpy(d + o, s.p + i, (size_t)l);
            o += l;
        } else {
            int32_t t = utf8_off(to.p, to.n, at);
            if (t < to.n) {
                int32_t tl = utf8_off(to.p + t, to.n - t, 1);
                memcpy(d + o, to.p + t, (size_t)tl);
                o += tl;
            }
        }
        i += l;
    }
    return o;
}

static int ev_translate(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    EACH_ROW {
        sv s = a[0].s[k];
        if ((int64_t)s.n * 4 > INT32_MAX) return fn_err(err, e, "result too large");
        char *d = vec_heap_alloc(out, (size_t)s.n * 4 + 1); /* a character grows to at most 4 bytes */
        out->s[k] = (sv){d, translate_row(s, a[1].s[k], a[2].s[k], d)};
    }
    return 0;
}

const sfunc_def sfunc_str_more[] = {
    {"concat_ws", 2, 64, "SA", 'S', bind_concat_ws, ev_concat_ws, 0, "concat_ws(sep, a, ...): non-NULL arguments joined by sep"},
    {"strpos", 2, 2, "S", 'I', NULL, ev_strpos, SF_STRICT, "strpos(s, needle): 1-based position, 0 if absent"},
    {"instr", 2, 2, "S", 'I', NULL, ev_strpos, SF_STRICT, "alias of strpos"},
    {"position", 2, 2, "S", 'I', NULL, ev_strpos, SF_STRICT, "position(needle IN s): strpos(s, needle)"},
    {"ascii", 1, 1, "S", 'i', NULL, ev_ascii, SF_STRICT, "code point of the first character (0 for '')"},
    {"chr", 1, 1, "I", 'S', NULL, ev_chr, SF_STRICT, "the character with code point n"},
    {"md5", 1, 1, "S", 'S', NULL, ev_md5, SF_STRICT, "MD5 digest as 32 hex digits"},
    {"levenshtein", 2, 2, "S", 'I', NULL, ev_levenshtein, SF_STRICT, "edit distance in characters"},
    {"translate", 3, 3, "S", 'S', NULL, ev_translate, SF_STRICT, "translate(s, from, to): per-character replacement"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
