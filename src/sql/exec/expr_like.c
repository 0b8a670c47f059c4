/* LIKE and ILIKE: '%' any run of characters, '_' exactly one character.
   Characters are UTF-8 code points, as in DuckDB: '_' steps over a whole
   multi-byte character, and so does the backtracking of '%'. ASCII strings,
   and patterns without '_' (ILIKE: ASCII ones), keep the byte loop: exact for
   them, and plain-ASCII matching stays as fast as it was.

   ILIKE lowercases each character with lower()'s own mapping (str_case_map:
   Latin-1, Latin Extended-A, Greek, Cyrillic), so 'ümlaut' ILIKE 'Ü%' holds.
   PCRE2, linked for the regex functions, was not used: it has no public
   per-character case mapping, and its caseless matching is Unicode case
   folding (σ = ς, ſ = s, µ = μ), which DuckDB's lowercase-then-compare ILIKE
   does not do. */
#include "expr_int.h"
#include "functions.h"

#include <ctype.h>
#include <string.h>

/* Bytes of the character at s[i]: 1 for ASCII and for a stray continuation byte. */
static inline int32_t ch_len(const char *s, int32_t i, int32_t n) {
    if ((unsigned char)s[i] < 0x80) return 1;
    int32_t l = 1;
    while (i + l < n && l < 4 && ((unsigned char)s[i + l] & 0xC0) == 0x80) l++;
    return l;
}

/* The code point of a two-byte character (the only ones str_case_map changes), else -1. */
static inline int32_t cp2(const char *c, int32_t l) {
    unsigned char b0 = (unsigned char)c[0];
    if (l != 2 || (b0 & 0xE0) != 0xC0) return -1;
    return (int32_t)(((uint32_t)(b0 & 0x1F) << 6) | ((unsigned char)c[1] & 0x3F));
}

/* ILIKE of the characters at s[*si] and p[*pi], one of them not ASCII: on a
   match both step over their character. */
static bool fold_eq(const char *s, int32_t *si, int32_t sn, const char *p, int32_t *pi, int32_t pn) {
    int32_t sl = ch_len(s, *si, sn), pl = ch_len(p, *pi, pn);
    if (sl != pl || memcmp(s + *si, p + *pi, (size_t)sl)) {
        int32_t x = cp2(s + *si, sl), y = cp2(p + *pi, pl);
        if (x < 0 || y < 0 || str_case_map((uint32_t)x, true) != str_case_map((uint32_t)y, true)) return false;
    }
    *si += sl;
    *pi += pl;
    return true;
}

/* By characters: '_' and the backtracking of '%' step over whole characters,
   and so does ILIKE past ASCII. */
static bool like_chars(const char *s, int32_t sn, const char *p, int32_t pn, bool ci) {
    int32_t si = 0, pi = 0, star_p = -1, star_s = 0;
    while (si < sn) {
        if (pi < pn) {
            unsigned char pc = (unsigned char)p[pi], sc = (unsigned char)s[si];
            if (pc == '%') {
                star_p = pi++;
                star_s = si;
                continue;
            }
            if (pc == '_') {
                pi++;
                si += sc < 0x80 ? 1 : ch_len(s, si, sn);
                continue;
            }
            if (!ci || (pc | sc) < 0x80) {
                if (ci ? tolower(pc) == tolower(sc) : pc == sc) {
                    pi++;
                    si++;
                    continue;
                }
            } else if (fold_eq(s, &si, sn, p, &pi, pn)) {
                continue;
            }
        }
        if (star_p < 0) return false;
        pi = star_p + 1; /* the '%' takes one more character */
        do star_s++;
        while (star_s < sn && ((unsigned char)s[star_s] & 0xC0) == 0x80);
        si = star_s;
    }
    while (pi < pn && p[pi] == '%') pi++;
    return pi == pn;
}

/* By bytes ('_' one byte), exact when s is ASCII, or when the pattern has no
   '_' and ILIKE's pattern is ASCII: a literal byte of the pattern (ASCII or a
   lead byte) never matches inside a multi-byte character of s, and no ASCII
   letter folds to a non-ASCII one. */
static bool like_bytes(const char *s, int32_t sn, const char *p, int32_t pn, bool ci) {
    int32_t si = 0, pi = 0, star_p = -1, star_s = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '%') {
            star_p = pi++;
            star_s = si;
        } else if (pi < pn && (p[pi] == '_' ||
                               (ci ? tolower((unsigned char)p[pi]) == tolower((unsigned char)s[si]) : p[pi] == s[si]))) {
            pi++;
            si++;
        } else if (star_p >= 0) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == '%') pi++;
    return pi == pn;
}

static bool is_ascii(const char *s, int32_t n) {
    unsigned char any = 0;
    for (int32_t i = 0; i < n; i++) any |= (unsigned char)s[i];
    return any < 0x80;
}

bool expr_like_bytes_ok(const char *p, int32_t pn, bool ci) {
    return !memchr(p, '_', (size_t)pn) && (!ci || is_ascii(p, pn));
}

bool expr_like_match(const char *s, int32_t sn, const char *p, int32_t pn, bool ci, bool bytes_ok) {
    /* the pattern's answer first: a prefix match need not read all of s */
    return bytes_ok || is_ascii(s, sn) ? like_bytes(s, sn, p, pn, ci) : like_chars(s, sn, p, pn, ci);
}
