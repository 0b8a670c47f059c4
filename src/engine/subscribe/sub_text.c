/*
** The text of a subscription:
**   SUBSCRIBE SELECT <columns/expressions> FROM <table> [[AS] alias]
**             [WHERE <filter>] [SINCE TIMESTAMP '<literal>'] [;]
** split into the SELECT (which the SQL layer prepares and checks), the
** table name and the SINCE literal. A light tokenizer (strings, quoted
** identifiers, comments, parentheses) finds the clauses at the top level and
** refuses what a subscription cannot do, naming it: aggregates, GROUP BY,
** ORDER BY, LIMIT/OFFSET, DISTINCT, HAVING, joins, subqueries, set
** operations, window functions. The SQL layer has the last word (a prepared
** statement that is not a plain scan of one table is refused too).
** Stateless; sub_text owns its strings.
*/
#include "engine_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { TK_WORD, TK_QIDENT, TK_STRING, TK_PUNCT, TK_OTHER } tk_kind;

typedef struct tk {
    tk_kind kind;
    size_t pos, len; /* in the text, quotes included */
    int depth;       /* parentheses around it */
} tk;

typedef struct tks {
    tk *v;
    int n, cap;
} tks;

static void tk_add(tks *t, tk_kind k, size_t pos, size_t len, int depth) {
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->v = qv_xrealloc(t->v, sizeof(tk) * (size_t)t->cap);
    }
    t->v[t->n++] = (tk){k, pos, len, depth};
}

/* Skips blanks and comments from i; returns the new position. */
static size_t skip_space(const char *s, size_t n, size_t i) {
    for (;;) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
            while (i < n && s[i] != '\n') i++;
        } else if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
            const char *e = NULL;
            for (size_t j = i + 2; j + 1 < n; j++)
                if (s[j] == '*' && s[j + 1] == '/') {
                    e = s + j;
                    break;
                }
            i = e ? (size_t)(e - s) + 2 : n;
        } else {
            return i;
        }
    }
}

static int tokenize(const char *s, size_t n, tks *out, qv_err *err) {
    int depth = 0;
    size_t i = 0;
    for (;;) {
        i = skip_space(s, n, i);
        if (i >= n) return QV_OK;
        unsigned char ch = (unsigned char)s[i];
        size_t st = i;
        if (isalpha(ch) || ch == '_') {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
            tk_add(out, TK_WORD, st, i - st, depth);
        } else if (ch == '\'' || ch == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return qv_err_set(err, QV_EINVAL, "SUBSCRIBE: unterminated %s",
                                      ch == '\'' ? "string literal" : "quoted identifier");
                if (s[i] == (char)ch) {
                    if (i + 1 < n && s[i + 1] == (char)ch) {
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                i++;
            }
            tk_add(out, ch == '\'' ? TK_STRING : TK_QIDENT, st, i - st, depth);
        } else if (isdigit(ch)) {
            while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.')) i++;
            tk_add(out, TK_OTHER, st, i - st, depth);
        } else {
            if (ch == ')') depth--;
            tk_add(out, TK_PUNCT, st, 1, ch == '(' ? depth : depth);
            if (ch == '(') depth++;
            i++;
        }
    }
}

static bool is_word(const char *s, const tk *t, const char *w) {
    return t->kind == TK_WORD && strlen(w) == t->len && strncasecmp(s + t->pos, w, t->len) == 0;
}

static bool is_punct(const char *s, const tk *t, char c) { return t->kind == TK_PUNCT && s[t->pos] == c; }

bool eng_is_subscribe(const char *text, size_t len) {
    size_t i = skip_space(text, len, 0);
    return len - i >= 9 && strncasecmp(text + i, "SUBSCRIBE", 9) == 0 &&
           (len - i == 9 || !(isalnum((unsigned char)text[i + 9]) || text[i + 9] == '_'));
}

static const char *const agg_words[] = {"count", "sum", "avg", "mean", "min", "max", "first", "last",
                                        "stddev", "stddev_samp", "variance", "var_samp", "stddev_pop",
                                        "var_pop", "median", "any_value", "string_agg", NULL};

/* What a subscription may not contain, named in the error. */
static int refuse_forbidden(const char *s, const tks *t, qv_err *err) {
    static const struct { const char *word, *what; } bad[] = {
        {"GROUP", "GROUP BY"},   {"ORDER", "ORDER BY"},       {"LIMIT", "LIMIT"},
        {"OFFSET", "OFFSET"},    {"HAVING", "HAVING"},        {"DISTINCT", "DISTINCT"},
        {"JOIN", "JOIN"},        {"UNION", "UNION"},          {"INTERSECT", "INTERSECT"},
        {"EXCEPT", "EXCEPT"},    {"OVER", "window functions (OVER)"}, {"QUALIFY", "QUALIFY"},
        {"WITH", "WITH (common table expressions)"},
    };
    for (int i = 0; i < t->n; i++) {
        const tk *k = &t->v[i];
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++)
            if (is_word(s, k, bad[j].word))
                return qv_err_set(err, QV_EINVAL,
                                  "SUBSCRIBE takes projections and filters of one table only: %s is not allowed",
                                  bad[j].what);
        if (i > 0 && is_word(s, k, "SELECT"))
            return qv_err_set(err, QV_EINVAL,
                              "SUBSCRIBE takes projections and filters of one table only: subqueries are not allowed");
        if (k->kind == TK_WORD && i + 1 < t->n && is_punct(s, &t->v[i + 1], '('))
            for (int a = 0; agg_words[a]; a++)
                if (is_word(s, k, agg_words[a]))
                    return qv_err_set(err, QV_EINVAL,
                                      "SUBSCRIBE takes projections and filters of one table only: aggregate "
                                      "%.*s() is not allowed",
                                      (int)k->len, s + k->pos);
    }
    return QV_OK;
}

/* The table after FROM (and an optional alias, then WHERE or the end). */
static int find_table(const char *s, const tks *t, int end, sub_text *out, int *where_tok, qv_err *err) {
    int from = -1;
    for (int i = 0; i < end; i++)
        if (t->v[i].depth == 0 && is_word(s, &t->v[i], "FROM")) from = i;
    if (from < 0 || from + 1 >= end)
        return qv_err_set(err, QV_EINVAL, "SUBSCRIBE SELECT ... FROM <table>: no table named");
    const tk *nm = &t->v[from + 1];
    if (nm->kind == TK_WORD) {
        snprintf(out->table, sizeof out->table, "%.*s", (int)(nm->len > QV_NAME_MAX ? QV_NAME_MAX : nm->len),
                 s + nm->pos);
    } else if (nm->kind == TK_QIDENT && nm->len >= 3) {
        snprintf(out->table, sizeof out->table, "%.*s",
                 (int)(nm->len - 2 > QV_NAME_MAX ? QV_NAME_MAX : nm->len - 2), s + nm->pos + 1);
    } else {
        return qv_err_set(err, QV_EINVAL, "SUBSCRIBE SELECT ... FROM <table>: a table name must follow FROM");
    }
    int i = from + 2;
    if (i < end && is_word(s, &t->v[i], "AS")) i++;
    if (i < end && (t->v[i].kind == TK_WORD || t->v[i].kind == TK_QIDENT) && !is_word(s, &t->v[i], "WHERE")) i++;
    *where_tok = -1;
    if (i < end && is_word(s, &t->v[i], "WHERE")) {
        *where_tok = i;
        return QV_OK;
    }
    if (i < end) {
        if (is_punct(s, &t->v[i], ','))
            return qv_err_set(err, QV_EINVAL,
                              "SUBSCRIBE takes projections and filters of one table only: joins are not allowed");
        return qv_err_set(err, QV_EINVAL, "SUBSCRIBE: unexpected '%.*s' after FROM %s (only WHERE and SINCE may follow)",
                          (int)(t->v[i].len > 40 ? 40 : t->v[i].len), s + t->v[i].pos, out->table);
    }
    return QV_OK;
}

/* SINCE TIMESTAMP '<literal>' at the end; *since_tok = -1 if absent. */
static int find_since(const char *s, const tks *t, sub_text *out, int *since_tok, qv_err *err) {
    *since_tok = -1;
    int n = t->n;
    if (n > 0 && is_punct(s, &t->v[n - 1], ';')) n--;
    for (int i = 0; i < n; i++)
        if (t->v[i].depth == 0 && is_word(s, &t->v[i], "SINCE")) {
            if (i + 3 != n || !is_word(s, &t->v[i + 1], "TIMESTAMP") || t->v[i + 2].kind != TK_STRING)
                return qv_err_set(err, QV_EINVAL, "SUBSCRIBE: SINCE must be followed by TIMESTAMP '...' and end the statement");
            const tk *lit = &t->v[i + 2];
            out->since = qv_xstrndup(s + lit->pos, lit->len); /* quotes kept: pasted into SQL as is */
            *since_tok = i;
            return QV_OK;
        }
    return QV_OK;
}

int sub_text_parse(const char *text, size_t len, sub_text *out, qv_err *err) {
    memset(out, 0, sizeof *out);
    out->where_pos = SIZE_MAX;
    tks t = {0};
    int rc = tokenize(text, len, &t, err);
    if (!rc && (t.n < 2 || !is_word(text, &t.v[0], "SUBSCRIBE") || !is_word(text, &t.v[1], "SELECT")))
        rc = qv_err_set(err, QV_EINVAL, "a subscription is SUBSCRIBE SELECT <columns> FROM <table> [WHERE <filter>] "
                                        "[SINCE TIMESTAMP '...']");
    int since = -1, where = -1;
    if (!rc) rc = find_since(text, &t, out, &since, err);
    int end = since >= 0 ? since : (t.n > 0 && is_punct(text, &t.v[t.n - 1], ';') ? t.n - 1 : t.n);
    tks body = {t.v + 1, end - 1, 0};
    if (!rc) rc = refuse_forbidden(text, &body, err);
    if (!rc) rc = find_table(text, &t, end, out, &where, err);
    if (!rc) {
        size_t a = t.v[1].pos, b = t.v[end - 1].pos + t.v[end - 1].len;
        out->select = qv_xstrndup(text + a, b - a);
        if (where >= 0) out->where_pos = t.v[where].pos - a;
    }
    free(t.v);
    if (rc) sub_text_free(out);
    return rc;
}

char *sub_text_with_filter(const sub_text *t, const char *extra) {
    qv_str s;
    qv_str_init(&s);
    if (t->where_pos == SIZE_MAX) {
        qv_str_appendf(&s, "%s WHERE %s", t->select, extra);
    } else {
        size_t w = t->where_pos + 5; /* after WHERE */
        qv_str_append(&s, t->select, w);
        qv_str_appendf(&s, " (%s) AND (%s)", t->select + w, extra);
    }
    char *r = qv_xstrndup(s.data, s.len);
    qv_str_free(&s);
    return r;
}

void sub_text_free(sub_text *t) {
    free(t->select);
    free(t->since);
    t->select = t->since = NULL;
}
