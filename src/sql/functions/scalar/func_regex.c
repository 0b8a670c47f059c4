/*
** regexp_matches / regexp_replace / regexp_extract on PCRE2 (UTF-8 mode).
** A constant pattern is compiled once at bind time, with PCRE2's memory
** taken from the query's arena (so it goes away with the query, and the
** compiled code is only read while the query runs, from any worker); a
** pattern that varies by row is compiled per distinct value within a chunk.
** Options (a constant string, as DuckDB): c case-sensitive, i case-insensitive,
** l literal, s dot matches newline, m/n/p newline-sensitive (the default),
** g every match (regexp_replace).
*/
#define PCRE2_CODE_UNIT_WIDTH 8
#include "functions.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>

typedef struct rx_aux {
    pcre2_code *code;   /* constant pattern, or NULL */
    uint32_t copts;
    bool global;
    int group;          /* regexp_extract */
} rx_aux;

static void *ar_malloc(PCRE2_SIZE n, void *ar) { return arena_alloc(ar, n ? n : 1); }
static void ar_free(void *p, void *ar) { (void)p, (void)ar; }

static int rx_opts(const char *fn, sv o, uint32_t *copts, bool *global, char *why, size_t cap) {
    for (int32_t i = 0; i < o.n; i++) {
        switch (o.p[i]) {
        case 'c': *copts &= ~(uint32_t)PCRE2_CASELESS; break;
        case 'i': *copts |= PCRE2_CASELESS; break;
        case 'l': *copts |= PCRE2_LITERAL; break;
        case 's': *copts |= PCRE2_DOTALL; break;
        case 'm': case 'n': case 'p': *copts &= ~(uint32_t)PCRE2_DOTALL; break;
        case 'g': *global = true; break;
        default:
            snprintf(why, cap, "%s: unrecognized regex option '%c' (known: c i l s m n p g)", fn, o.p[i]);
            return -1;
        }
    }
    return 0;
}

static pcre2_code *rx_compile(sv pat, uint32_t copts, pcre2_compile_context *cc, char *why, size_t cap,
                              const char *fn) {
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat.p, (PCRE2_SIZE)pat.n, copts | PCRE2_UTF, &ec, &eo, cc);
    if (!c) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(why, cap, "%s: invalid regular expression '%.*s': %s at offset %zu", fn, pat.n > 100 ? 100 : pat.n,
                 pat.p, (const char *)msg, (size_t)eo);
    }
    return c;
}

/* Argument positions: pattern is 1; options are the last optional one. */
static int opts_arg(const bexpr *e) {
    const char *n = e->fn->name;
    if (!strcmp(n, "regexp_matches") || !strcmp(n, "regexp_full_match")) return e->nargs > 2 ? 2 : -1;
    if (!strcmp(n, "regexp_replace")) return e->nargs > 3 ? 3 : -1;
    return e->nargs > 3 ? 3 : -1; /* regexp_extract(s, p, group, opts) */
}

bexpr *regex_bind(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    rx_aux *x = arena_alloc(b->ar, sizeof *x);
    char why[400];
    int oa = opts_arg(e);
    if (oa >= 0) {
        bexpr *o = e->args[oa];
        if (o->kind != B_CONST) return bd_fail(b, a, QV_EINVAL, "%s: the options argument must be a constant", fd->name, NULL);
        if (!o->cval.null && rx_opts(fd->name, o->cval.s, &x->copts, &x->global, why, sizeof why))
            return bd_fail(b, a, QV_EINVAL, "%s", why, NULL);
        if (x->global && strcmp(fd->name, "regexp_replace")) /* as DuckDB: 'g' only means something there */
            return bd_fail(b, a, QV_EINVAL, "%s: option 'g' (replace every match) is only valid for regexp_replace", fd->name, NULL);
    }
    if (!strcmp(fd->name, "regexp_extract") && e->nargs > 2) {
        bexpr *g = e->args[2];
        if (g->kind != B_CONST) return bd_fail(b, a, QV_EINVAL, "regexp_extract: the group argument must be a constant", NULL, NULL);
        if (!g->cval.null && (g->cval.i < 0 || g->cval.i > 9))
            return bd_fail(b, a, QV_EINVAL, "regexp_extract: the group index must be between 0 and 9", NULL, NULL);
        x->group = (int)g->cval.i;
    }
    bexpr *p = e->args[1];
    if (p->kind == B_CONST && !p->cval.null) {
        pcre2_general_context *gc = pcre2_general_context_create(ar_malloc, ar_free, b->ar);
        pcre2_compile_context *cc = gc ? pcre2_compile_context_create(gc) : NULL;
        if (!cc) return bd_fail(b, a, QV_ERESOURCE, "%s: out of memory compiling the pattern", fd->name, NULL);
        x->code = rx_compile(p->cval.s, x->copts, cc, why, sizeof why, fd->name);
        if (!x->code) return bd_fail(b, a, QV_EINVAL, "%s", why, NULL);
    }
    e->aux = x;
    return e;
}

/* Per-call matching state: match data and the row pattern cache. */
typedef struct rx_run {
    const rx_aux *x;
    pcre2_code *own;       /* compiled row pattern (heap), or NULL */
    sv own_pat;
    pcre2_match_data *md;
    uint32_t mopts;        /* match options: anchored at both ends for regexp_full_match */
} rx_run;

static pcre2_code *rx_for_row(rx_run *r, const bexpr *e, sv pat, qv_err *err) {
    if (r->x->code) return r->x->code;
    if (r->own && r->own_pat.n == pat.n && !memcmp(r->own_pat.p, pat.p, (size_t)pat.n)) return r->own;
    if (r->own) pcre2_code_free(r->own);
    if (r->md) { pcre2_match_data_free(r->md); r->md = NULL; }
    char why[400];
    r->own = rx_compile(pat, r->x->copts, NULL, why, sizeof why, e->fn->name);
    if (!r->own) { qv_err_set(err, QV_EINVAL, "%s", why); return NULL; }
    r->own_pat = pat;
    return r->own;
}

static int rx_match(rx_run *r, const bexpr *e, pcre2_code *c, sv s, int32_t from, uint32_t mopts, qv_err *err) {
    /* Not _create_from_pattern: that takes the pattern's allocator, the bind
       arena, which workers would then share unlocked (a data race that CI
       caught as a use-after-free). Plain malloc, sized from the pattern. */
    if (!r->md) {
        uint32_t caps = 0;
        pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &caps);
        r->md = pcre2_match_data_create(caps + 1, NULL);
    }
    if (!r->md) return qv_err_set(err, QV_ERESOURCE, "%s: out of memory", e->fn->name), -2;
    int rc = pcre2_match(c, (PCRE2_SPTR)s.p, (PCRE2_SIZE)s.n, (PCRE2_SIZE)from, mopts, r->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc < 0) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(rc, msg, sizeof msg);
        qv_err_set(err, QV_EINVAL, "%s: matching failed: %s", e->fn->name, (const char *)msg);
        return -2;
    }
    return 1;
}

static void rx_done(rx_run *r) {
    if (r->md) pcre2_match_data_free(r->md);
    if (r->own) pcre2_code_free(r->own);
}

static int matches_rows(const bexpr *e, vec *a, int n, vec *out, qv_err *err, uint32_t mopts) {
    rx_run r = {e->aux, NULL, {NULL, 0}, NULL, mopts};
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        if (vec_null(out, k)) continue;
        pcre2_code *c = rx_for_row(&r, e, a[1].s[k], err);
        if (!c) { rc = err->code; break; }
        int m = rx_match(&r, e, c, a[0].s[k], 0, r.mopts, err);
        if (m < 0) rc = err->code;
        else out->i[k] = m;
    }
    rx_done(&r);
    return rc;
}

static int ev_matches(const bexpr *e, vec *a, int n, vec *out, qv_err *err) { return matches_rows(e, a, n, out, err, 0); }
/* The whole string must match: PCRE2 then backtracks into alternatives that
   reach the end ('b' fully matches 'a|b'), as a full-match engine does. */
static int ev_full_match(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    return matches_rows(e, a, n, out, err, PCRE2_ANCHORED | PCRE2_ENDANCHORED);
}

static int ev_extract(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    rx_run r = {e->aux, NULL, {NULL, 0}, NULL, 0};
    int rc = 0, g = r.x->group;
    for (int k = 0; k < n && !rc; k++) {
        if (vec_null(out, k)) continue;
        pcre2_code *c = rx_for_row(&r, e, a[1].s[k], err);
        if (!c) { rc = err->code; break; }
        sv s = a[0].s[k];
        out->s[k] = (sv){"", 0};
        int m = rx_match(&r, e, c, s, 0, 0, err);
        if (m < 0) { rc = err->code; break; }
        if (!m || (uint32_t)g >= pcre2_get_ovector_count(r.md)) continue; /* a group the pattern lacks: '' (DuckDB) */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r.md);
        if (ov[2 * g] == PCRE2_UNSET) continue;
        out->s[k] = (sv){s.p + ov[2 * g], (int32_t)(ov[2 * g + 1] - ov[2 * g])};
    }
    rx_done(&r);
    return rc;
}

/* Appends the replacement for the current match: \0..\9 name groups, \\ a backslash. */
static int put_repl(qv_str *o, sv rep, sv s, pcre2_match_data *md, const bexpr *e, qv_err *err) {
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t ng = pcre2_get_ovector_count(md);
    for (int32_t i = 0; i < rep.n; i++) {
        char ch = rep.p[i];
        if (ch == '\\' && i + 1 < rep.n) {
            char d = rep.p[++i];
            if (d >= '0' && d <= '9') {
                uint32_t g = (uint32_t)(d - '0');
                if (g >= ng)
                    return qv_err_set(err, QV_EINVAL, "%s: the replacement refers to group %u, but the pattern has %u",
                                      e->fn->name, g, ng - 1);
                if (ov[2 * g] != PCRE2_UNSET) qv_str_append(o, s.p + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
                continue;
            }
            qv_str_appendc(o, d);
            continue;
        }
        qv_str_appendc(o, ch);
    }
    return 0;
}

static int replace_row(rx_run *r, const bexpr *e, pcre2_code *c, sv s, sv rep, qv_str *o, qv_err *err) {
    int32_t start = 0, last = 0;
    while (start <= s.n) {
        int m = rx_match(r, e, c, s, start, 0, err);
        if (m < 0) return err->code;
        if (!m) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
        int32_t ms = (int32_t)ov[0], me = (int32_t)ov[1];
        qv_str_append(o, s.p + last, (size_t)(ms - last));
        if (put_repl(o, rep, s, r->md, e, err)) return err->code;
        last = me;
        if (!r->x->global) break;
        if (me == ms) { /* an empty match: keep the next character and go on after it */
            if (ms >= s.n) break;
            int32_t l = 1;
            while (ms + l < s.n && ((unsigned char)s.p[ms + l] & 0xc0) == 0x80) l++;
            qv_str_append(o, s.p + ms, (size_t)l);
            last = start = ms + l;
        } else {
            start = me;
        }
    }
    qv_str_append(o, s.p + last, (size_t)(s.n - last));
    return 0;
}

static int ev_replace(const bexpr *e, vec *a, int n, vec *out, qv_err *err) {
    rx_run r = {e->aux, NULL, {NULL, 0}, NULL, 0};
    qv_str o;
    qv_str_init(&o);
    int rc = 0;
    for (int k = 0; k < n && !rc; k++) {
        if (vec_null(out, k)) continue;
        pcre2_code *c = rx_for_row(&r, e, a[1].s[k], err);
        if (!c) { rc = err->code; break; }
        o.len = 0;
        if ((rc = replace_row(&r, e, c, a[0].s[k], a[2].s[k], &o, err))) break;
        if (o.len > INT32_MAX) { rc = fn_err(err, e, "result too large"); break; }
        vec_set_str(out, k, o.data ? o.data : "", (int32_t)o.len);
    }
    qv_str_free(&o);
    rx_done(&r);
    return rc;
}

const sfunc_def sfunc_regex[] = {
    {"regexp_matches", 2, 3, "S", 'B', regex_bind, ev_matches, SF_STRICT, "regexp_matches(s, pattern[, options]): the pattern matches somewhere in s"},
    {"regexp_full_match", 2, 3, "S", 'B', regex_bind, ev_full_match, SF_STRICT, "regexp_full_match(s, pattern[, options]): the pattern matches all of s"},
    {"regexp_replace", 3, 4, "S", 'S', regex_bind, ev_replace, SF_STRICT, "regexp_replace(s, pattern, repl[, options]): first match (all with 'g'); \\1 names a group"},
    {"regexp_extract", 2, 4, "SSIS", 'S', regex_bind, ev_extract, SF_STRICT, "regexp_extract(s, pattern[, group[, options]]): the group of the first match, or ''"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
