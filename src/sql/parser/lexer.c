/* Tokenizer (all tokens up front, into the statement arena) and the arena itself. */
#include "parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct arena_blk {
    arena_blk *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

void arena_init(arena *a) { memset(a, 0, sizeof *a); }

void arena_free(arena *a) {
    arena_blk *b = a->head;
    while (b) {
        arena_blk *n = b->next;
        free(b);
        b = n;
    }
    memset(a, 0, sizeof *a);
}

void *arena_alloc(arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->used + n > a->cap) {
        size_t cap = n > 8192 ? n : 8192;
        arena_blk *b = qv_xmalloc(sizeof *b + cap);
        b->next = a->head;
        b->cap = cap;
        a->head = b;
        a->used = 0;
        a->cap = cap;
    }
    void *p = a->head->data + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

bool tok_is_kw(const token *t, const char *kw) {
    return t->kind == TK_IDENT && (size_t)t->len == strlen(kw) && strncasecmp(t->p, kw, (size_t)t->len) == 0;
}

bool tok_is_op(const token *t, const char *op) {
    return t->kind == TK_OP && (size_t)t->len == strlen(op) && strncmp(t->p, op, (size_t)t->len) == 0;
}

static const char *ops2[] = {"<=", ">=", "<>", "!=", "==", "||", "//", "::", NULL};
static const char ops1[] = "+-*/%(),.;<>=?";

int lex_all(arena *ar, const char *text, size_t len, token **out, int *n, qv_err *err) {
    int cap = 64, cnt = 0;
    token *toks = qv_xmalloc(sizeof(token) * (size_t)cap);
    size_t i = 0;
    int line = 1;
    size_t line_start = 0;
    for (;;) {
        /* skip whitespace and comments */
        for (;;) {
            if (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) {
                if (text[i] == '\n') { line++; line_start = i + 1; }
                i++;
            } else if (i + 1 < len && text[i] == '-' && text[i + 1] == '-') {
                while (i < len && text[i] != '\n') i++;
            } else if (i + 1 < len && text[i] == '/' && text[i + 1] == '*') {
                int sl = line, sc = (int)(i - line_start) + 1;
                i += 2;
                while (i + 1 < len && !(text[i] == '*' && text[i + 1] == '/')) {
                    if (text[i] == '\n') { line++; line_start = i + 1; }
                    i++;
                }
                if (i + 1 >= len) {
                    free(toks);
                    return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unterminated /* comment", sl, sc);
                }
                i += 2;
            } else break;
        }
        if (cnt + 1 >= cap) {
            cap *= 2;
            toks = qv_xrealloc(toks, sizeof(token) * (size_t)cap);
        }
        token *t = &toks[cnt++];
        memset(t, 0, sizeof *t);
        t->p = text + i;
        t->line = line;
        t->col = (int)(i - line_start) + 1;
        int tl = t->line, tc = t->col;
        if (i >= len) {
            t->kind = TK_EOF;
            break;
        }
        unsigned char ch = (unsigned char)text[i];
        if (ch == 0) {
            free(toks);
            return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unexpected NUL byte", tl, tc);
        }
        if (isalpha(ch) || ch == '_' || ch >= 0x80) {
            size_t s = i;
            while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '_' || (unsigned char)text[i] >= 0x80)) i++;
            t->kind = TK_IDENT;
            t->len = (int)(i - s);
            t->text = arena_strndup(ar, text + s, i - s);
        } else if (isdigit(ch) || (ch == '.' && i + 1 < len && isdigit((unsigned char)text[i + 1]))) {
            size_t s = i;
            bool flt = false;
            while (i < len && isdigit((unsigned char)text[i])) i++;
            if (i < len && text[i] == '.') {
                flt = true;
                i++;
                while (i < len && isdigit((unsigned char)text[i])) i++;
            }
            if (i < len && (text[i] == 'e' || text[i] == 'E')) {
                size_t j = i + 1;
                if (j < len && (text[j] == '+' || text[j] == '-')) j++;
                if (j < len && isdigit((unsigned char)text[j])) {
                    flt = true;
                    i = j;
                    while (i < len && isdigit((unsigned char)text[i])) i++;
                }
            }
            t->kind = flt ? TK_FLOAT : TK_INT;
            t->len = (int)(i - s);
            t->text = arena_strndup(ar, text + s, i - s);
        } else if (ch == '$' && i + 1 < len && isdigit((unsigned char)text[i + 1])) {
            size_t s = ++i; /* $N placeholder: text holds the digits */
            while (i < len && isdigit((unsigned char)text[i])) i++;
            t->kind = TK_PARAM;
            t->len = (int)(i - s + 1);
            t->text = arena_strndup(ar, text + s, i - s);
        } else if (ch == '\'' || ch == '"') {
            char q = (char)ch;
            qv_str b;
            qv_str_init(&b);
            size_t s = i++;
            bool closed = false;
            while (i < len) {
                if (text[i] == q) {
                    if (i + 1 < len && text[i + 1] == q) {
                        qv_str_appendc(&b, q);
                        i += 2;
                        continue;
                    }
                    i++;
                    closed = true;
                    break;
                }
                if (text[i] == '\n') { line++; line_start = i + 1; }
                qv_str_appendc(&b, text[i]);
                i++;
            }
            if (!closed) {
                qv_str_free(&b);
                free(toks);
                return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unterminated %s",
                                  tl, tc, q == '\'' ? "string literal" : "quoted identifier");
            }
            t->kind = q == '\'' ? TK_STRING : TK_QIDENT;
            t->len = (int)(i - s);
            t->text = arena_strndup(ar, b.data ? b.data : "", b.len);
            size_t blen = b.len;
            qv_str_free(&b);
            if (q == '"' && blen == 0) {
                free(toks);
                return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: empty quoted identifier", tl, tc);
            }
        } else {
            int l = 0;
            for (int k = 0; ops2[k]; k++)
                if (i + 1 < len && text[i] == ops2[k][0] && text[i + 1] == ops2[k][1]) l = 2;
            if (!l && strchr(ops1, ch)) l = 1;
            if (!l) {
                free(toks);
                if (ch < 0x20 || ch >= 0x7f)
                    return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unexpected character 0x%02x", tl, tc, ch);
                return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unexpected character '%c'", tl, tc, ch);
            }
            t->kind = TK_OP;
            t->len = l;
            i += (size_t)l;
        }
    }
    *out = toks;
    *n = cnt;
    return 0;
}
