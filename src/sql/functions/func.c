/* Scalar functions over evaluated argument vectors (types checked by the binder). */
#include "sql_int.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/*
** Case mapping for the two-byte UTF-8 letters of Latin-1, Latin Extended-A,
** Greek and Cyrillic, whose upper and lower forms are both two bytes, so a
** string keeps its length, and these agree with DuckDB. ß, ſ, ı and İ stay
** as they are (their mappings change the byte length or depend on the
** language; DuckDB maps upper('ß') to U+1E9E, we do not).
*/
static uint32_t case_map(uint32_t c, bool lower) {
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

/* lower/upper of n bytes of UTF-8 into d (same length). */
static void utf8_case(const char *src, int32_t n, char *d, bool lower) {
    const unsigned char *p = (const unsigned char *)src;
    for (int32_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c < 0x80) {
            d[i] = (char)(lower ? tolower(c) : toupper(c));
        } else if ((c & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            uint32_t cp = case_map(((uint32_t)(c & 0x1F) << 6) | (p[i + 1] & 0x3F), lower);
            d[i] = (char)(0xC0 | (cp >> 6));
            d[i + 1] = (char)(0x80 | (cp & 0x3F));
            i++;
        } else {
            d[i] = (char)c;
        }
    }
}

static int32_t utf8_len(const char *p, int32_t n) {
    int32_t c = 0;
    for (int32_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xc0) != 0x80;
    return c;
}

/* Byte offset of code point `cp` (0-based) in p, or n if past the end. */
static int32_t utf8_off(const char *p, int32_t n, int64_t cp) {
    int32_t i = 0;
    while (i < n && cp > 0) {
        i++;
        while (i < n && ((unsigned char)p[i] & 0xc0) == 0x80) i++;
        cp--;
    }
    return i;
}

static double round_to(double x, int64_t d) {
    if (d > 300) return x;
    if (d < -300) return 0;
    double m = pow(10.0, (double)d);
    double r = round(x * m) / m;
    return isfinite(r) ? r : x;
}

int func_eval(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    vec_reset(out, e->type, n);
    int na = e->nargs;
    if (e->op != F_CONCAT && e->op != F_LEAST && e->op != F_GREATEST && e->op != F_NULLIF) {
        for (int j = 0; j < na; j++)
            if (a[j].has_nulls || a[j].type == T_NULL) {
                for (int k = 0; k < n; k++) out->nulls[k] |= a[j].type == T_NULL ? 1 : a[j].nulls[k];
                out->has_nulls = true;
            }
    }
    phys_class pc = type_pc(e->type);
    for (int k = 0; k < n; k++) {
        if (vec_null(out, k)) {
            if (pc == PC_S) out->s[k] = (sv){"", 0};
            continue;
        }
        switch (e->op) {
        case F_ABS:
            if (pc == PC_F) out->f[k] = fabs(a[0].f[k]);
            else {
                int64_t v = a[0].i[k];
                if (v == INT64_MIN || (e->type == QV_T_INT32 && v == INT32_MIN))
                    return qv_err_set(err, QV_EINVAL, "integer overflow in abs()");
                out->i[k] = v < 0 ? -v : v;
            }
            break;
        case F_SIGN:
            if (type_pc(a[0].type) == PC_F) out->i[k] = (a[0].f[k] > 0) - (a[0].f[k] < 0);
            else out->i[k] = (a[0].i[k] > 0) - (a[0].i[k] < 0);
            break;
        case F_ROUND:
            if (pc == PC_F) out->f[k] = round_to(a[0].f[k], na > 1 ? a[1].i[k] : 0);
            else {
                int64_t v = a[0].i[k], d = na > 1 ? a[1].i[k] : 0;
                if (d < 0 && d > -19) {
                    int64_t m = 1;
                    for (int64_t t = 0; t < -d; t++) m *= 10;
                    int64_t q = v / m, r = v % m;
                    if (r * 2 >= m) q++;
                    else if (r * 2 <= -m) q--;
                    if (__builtin_mul_overflow(q, m, &v)) return qv_err_set(err, QV_EINVAL, "integer overflow in round()");
                } else if (d <= -19) v = 0;
                out->i[k] = v;
            }
            break;
        case F_FLOOR:
            if (pc == PC_F) out->f[k] = floor(a[0].f[k]);
            else out->i[k] = a[0].i[k];
            break;
        case F_CEIL:
            if (pc == PC_F) out->f[k] = ceil(a[0].f[k]);
            else out->i[k] = a[0].i[k];
            break;
        case F_SQRT:
            if (a[0].f[k] < 0) return qv_err_set(err, QV_EINVAL, "cannot take the square root of a negative number");
            out->f[k] = sqrt(a[0].f[k]);
            break;
        case F_LN:
        case F_LOG10:
            if (a[0].f[k] < 0) return qv_err_set(err, QV_EINVAL, "cannot take the logarithm of a negative number");
            if (a[0].f[k] == 0) return qv_err_set(err, QV_EINVAL, "cannot take the logarithm of zero");
            out->f[k] = e->op == F_LN ? log(a[0].f[k]) : log10(a[0].f[k]);
            break;
        case F_EXP: out->f[k] = exp(a[0].f[k]); break;
        case F_POWER: out->f[k] = pow(a[0].f[k], a[1].f[k]); break;
        case F_LOWER:
        case F_UPPER: {
            char *d = vec_heap_alloc(out, (size_t)a[0].s[k].n + 1);
            utf8_case(a[0].s[k].p, a[0].s[k].n, d, e->op == F_LOWER);
            out->s[k].p = d;
            out->s[k].n = a[0].s[k].n;
            break;
        }
        case F_LENGTH: out->i[k] = utf8_len(a[0].s[k].p, a[0].s[k].n); break;
        case F_SUBSTR: {
            /* 1-based start; a start before 1 eats into the length, as in SQL */
            sv s = a[0].s[k];
            int64_t start = a[1].i[k], len = na > 2 ? a[2].i[k] : INT64_MAX / 4;
            if (na > 2 && len < 0) return qv_err_set(err, QV_EINVAL, "substr: negative length %lld", (long long)len);
            if (start < 0) { /* counts from the end, as DuckDB */
                int64_t cl = utf8_len(s.p, s.n);
                start = start < -INT64_MAX / 4 ? -INT64_MAX / 4 : start + cl + 1;
            }
            if (start < -INT64_MAX / 4) start = -INT64_MAX / 4;
            int64_t end = (start > INT64_MAX / 4 || len > INT64_MAX / 4) ? INT64_MAX / 4 : start + len;
            if (start < 1) start = 1;
            if (end <= start) { out->s[k] = (sv){"", 0}; break; }
            int32_t b0 = utf8_off(s.p, s.n, start - 1);
            int32_t b1 = b0 + utf8_off(s.p + b0, s.n - b0, end - start);
            out->s[k] = (sv){s.p + b0, b1 - b0};
            break;
        }
        case F_TIME_BUCKET: {
            const int64_t origin = 946857600LL * 1000000000LL; /* 2000-01-03 00:00:00, a Monday */
            int64_t w = a[0].i[k], d, q, r;
            if (__builtin_sub_overflow(a[1].i[k], origin, &d))
                return qv_err_set(err, QV_EINVAL, "time_bucket: timestamp out of range");
            q = d / w;
            if (d % w != 0 && d < 0) q--;
            if (__builtin_mul_overflow(q, w, &r) || __builtin_add_overflow(r, origin, &r))
                return qv_err_set(err, QV_EINVAL, "time_bucket: timestamp out of range");
            out->i[k] = r;
            break;
        }
        case F_TRIM: {
            sv s = a[0].s[k];
            while (s.n && s.p[0] == ' ') { s.p++; s.n--; }
            while (s.n && s.p[s.n - 1] == ' ') s.n--;
            out->s[k] = s;
            break;
        }
        case F_CONCAT: {
            size_t tot = 0;
            for (int j = 0; j < na; j++)
                if (!vec_null(&a[j], k) && a[j].type != T_NULL) tot += (size_t)a[j].s[k].n;
            char *d = vec_heap_alloc(out, tot + 1);
            size_t o = 0;
            for (int j = 0; j < na; j++)
                if (!vec_null(&a[j], k) && a[j].type != T_NULL) {
                    memcpy(d + o, a[j].s[k].p, (size_t)a[j].s[k].n);
                    o += (size_t)a[j].s[k].n;
                }
            out->s[k] = (sv){d, (int32_t)o};
            break;
        }
        case F_NULLIF: {
            if (vec_null(&a[0], k) || a[0].type == T_NULL) { vec_set_null(out, k); if (pc == PC_S) out->s[k] = (sv){"", 0}; break; }
            bool eq = false;
            if (!vec_null(&a[1], k) && a[1].type != T_NULL) {
                if (pc == PC_I) eq = a[0].i[k] == a[1].i[k];
                else if (pc == PC_F) eq = a[0].f[k] == a[1].f[k];
                else eq = a[0].s[k].n == a[1].s[k].n && !memcmp(a[0].s[k].p, a[1].s[k].p, (size_t)a[0].s[k].n);
            }
            if (eq) { vec_set_null(out, k); if (pc == PC_S) out->s[k] = (sv){"", 0}; break; }
            if (pc == PC_I) out->i[k] = a[0].i[k];
            else if (pc == PC_F) out->f[k] = a[0].f[k];
            else out->s[k] = a[0].s[k];
            break;
        }
        case F_LEAST:
        case F_GREATEST: {
            int best = -1;
            for (int j = 0; j < na; j++) {
                if (a[j].type == T_NULL || vec_null(&a[j], k)) continue;
                if (best < 0) { best = j; continue; }
                value x = {0}, y = {0};
                if (pc == PC_I) { x.i = a[j].i[k]; y.i = a[best].i[k]; }
                else if (pc == PC_F) { x.f = a[j].f[k]; y.f = a[best].f[k]; }
                else { x.s = a[j].s[k]; y.s = a[best].s[k]; }
                int c = value_cmp(pc, &x, &y);
                if (e->op == F_LEAST ? c < 0 : c > 0) best = j;
            }
            if (best < 0) { vec_set_null(out, k); if (pc == PC_S) out->s[k] = (sv){"", 0}; break; }
            if (pc == PC_I) out->i[k] = a[best].i[k];
            else if (pc == PC_F) out->f[k] = a[best].f[k];
            else out->s[k] = a[best].s[k];
            break;
        }
        default:
            return qv_err_set(err, QV_EINTERNAL, "unknown function %d", e->op);
        }
    }
    return 0;
}
