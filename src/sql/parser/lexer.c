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

static const char *ops2[] = {"<=", ">=", "<>", "!=", "==", "||", "//", "::", "<<", ">>", "**", "^@", NULL};
static const char ops1[] = "+-*/%(),.;<>=?&|~^";

/* Where the scan is, shared by the helpers below. They are static and small
   or called from one place, so the compiler inlines them all into lex_all and
   keeps these fields in registers, as in a single loop: the lexer is on every
   query's path, and a helper left out of line would force lx into memory. */
typedef struct lex_state {
    const char *text;
    size_t len;
    size_t i;          /* next byte */
    int line;          /* 1-based line of text[i] */
    size_t line_start; /* offset of that line's first byte: column = i - line_start + 1 */
} lex_state;

/* Called with text[i] == '\n': the next byte starts a new line. */
static inline void lex_newline(lex_state *lx) {
    lx->line++;
    lx->line_start = lx->i + 1;
}

static inline int lex_col(const lex_state *lx) { return (int)(lx->i - lx->line_start) + 1; }

static inline bool lex_digit_at(const lex_state *lx, size_t j) {
    return j < lx->len && isdigit((unsigned char)lx->text[j]);
}

/* The index after the run of digits starting at j. */
static inline size_t lex_digits_from(const lex_state *lx, size_t j) {
    while (lex_digit_at(lx, j)) j++;
    return j;
}

/* t spans text[s, i): kind, length and its text as written. */
static void lex_take(arena *ar, const lex_state *lx, token *t, tk_kind kind, size_t s) {
    t->kind = kind;
    t->len = (int)(lx->i - s);
    t->text = arena_strndup(ar, lx->text + s, lx->i - s);
}

/* Skips whitespace and -- comments; stops at a token, the end, or a block
   comment (lex_all's to handle: it is the one blank that can fail). */
static void lex_skip_blank(lex_state *lx) {
    const char *text = lx->text;
    for (;;) {
        size_t i = lx->i;
        if (i < lx->len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) {
            if (text[i] == '\n') lex_newline(lx);
            lx->i++;
        } else if (i + 1 < lx->len && text[i] == '-' && text[i + 1] == '-') {
            /* the newline is left for the whitespace branch, which counts it */
            while (lx->i < lx->len && text[lx->i] != '\n') lx->i++;
        } else {
            return;
        }
    }
}

static inline bool lex_at_block_comment(const lex_state *lx) {
    return lx->i + 1 < lx->len && lx->text[lx->i] == '/' && lx->text[lx->i + 1] == '*';
}

/* At the opening of a block comment: skips past its end, counting lines.
   The error points at where the comment opened, not where the text ran out. */
static int lex_block_comment(lex_state *lx, qv_err *err) {
    int sl = lx->line, sc = lex_col(lx);
    const char *text = lx->text;
    lx->i += 2;
    while (lx->i + 1 < lx->len && !(text[lx->i] == '*' && text[lx->i + 1] == '/')) {
        if (text[lx->i] == '\n') lex_newline(lx);
        lx->i++;
    }
    if (lx->i + 1 >= lx->len)
        return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unterminated /* comment", sl, sc);
    lx->i += 2;
    return 0;
}

/* A keyword or bare identifier; bytes >= 0x80 count as letters so UTF-8
   names need no decoding here. */
static void lex_word(arena *ar, lex_state *lx, token *t) {
    size_t s = lx->i;
    const char *text = lx->text;
    while (lx->i < lx->len && (isalnum((unsigned char)text[lx->i]) || text[lx->i] == '_' ||
                               (unsigned char)text[lx->i] >= 0x80))
        lx->i++;
    lex_take(ar, lx, t, TK_IDENT, s);
}

/* 12, 1.5, 1., .5, 1e5, 1.5E-3. An 'e' is an exponent only when digits
   follow it (after an optional sign); otherwise the number ends before it. */
static void lex_number(arena *ar, lex_state *lx, token *t) {
    const char *text = lx->text;
    size_t s = lx->i, i = lex_digits_from(lx, s);
    bool flt = false;
    if (i < lx->len && text[i] == '.') {
        flt = true;
        i = lex_digits_from(lx, i + 1);
    }
    if (i < lx->len && (text[i] == 'e' || text[i] == 'E')) {
        size_t j = i + 1;
        if (j < lx->len && (text[j] == '+' || text[j] == '-')) j++;
        if (lex_digit_at(lx, j)) {
            flt = true;
            i = lex_digits_from(lx, j);
        }
    }
    lx->i = i;
    lex_take(ar, lx, t, flt ? TK_FLOAT : TK_INT, s);
}

/* At "$<digit>": a $N placeholder. Its length covers the '$'; its text
   holds only the digits, which the parser reads as N. */
static void lex_param(arena *ar, lex_state *lx, token *t) {
    size_t s = ++lx->i;
    lx->i = lex_digits_from(lx, s);
    t->kind = TK_PARAM;
    t->len = (int)(lx->i - s + 1);
    t->text = arena_strndup(ar, lx->text + s, lx->i - s);
}

/* From just past the opening quote q: appends the body to b with each
   doubled q unescaped, and steps past the closing q. False when the text
   ends first. Strings may span lines, so newlines are counted. */
static bool lex_quoted_body(lex_state *lx, char q, qv_str *b) {
    const char *text = lx->text;
    while (lx->i < lx->len) {
        if (text[lx->i] == q) {
            if (lx->i + 1 < lx->len && text[lx->i + 1] == q) {
                qv_str_appendc(b, q);
                lx->i += 2;
                continue;
            }
            lx->i++;
            return true;
        }
        if (text[lx->i] == '\n') lex_newline(lx);
        qv_str_appendc(b, text[lx->i]);
        lx->i++;
    }
    return false;
}

/* 'string literal' or "quoted identifier"; errors point at the opening quote. */
static int lex_quoted(arena *ar, lex_state *lx, token *t, qv_err *err) {
    char q = lx->text[lx->i];
    qv_str b;
    qv_str_init(&b);
    size_t s = lx->i++;
    if (!lex_quoted_body(lx, q, &b)) {
        qv_str_free(&b);
        return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unterminated %s",
                          t->line, t->col, q == '\'' ? "string literal" : "quoted identifier");
    }
    t->kind = q == '\'' ? TK_STRING : TK_QIDENT;
    t->len = (int)(lx->i - s);
    t->text = arena_strndup(ar, b.data ? b.data : "", b.len);
    size_t blen = b.len;
    qv_str_free(&b);
    if (q == '"' && blen == 0)
        return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: empty quoted identifier", t->line, t->col);
    return 0;
}

/* An operator or punctuation (two-byte ones first), else the byte is not
   part of the language. */
static int lex_op(lex_state *lx, token *t, qv_err *err) {
    const char *text = lx->text;
    size_t i = lx->i;
    unsigned char ch = (unsigned char)text[i];
    /* NUL starts no other kind of token, so it ends up here; it is refused
       before strchr, which would match the terminator of ops1 */
    if (ch == 0)
        return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unexpected NUL byte", t->line, t->col);
    int l = 0;
    for (int k = 0; ops2[k]; k++)
        if (i + 1 < lx->len && text[i] == ops2[k][0] && text[i + 1] == ops2[k][1]) l = 2;
    if (!l && strchr(ops1, ch)) l = 1;
    if (!l) {
        if (ch < 0x20 || ch >= 0x7f)
            return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unexpected character 0x%02x",
                              t->line, t->col, ch);
        return qv_err_set(err, QV_EINVAL, "syntax error at line %d, column %d: unexpected character '%c'",
                          t->line, t->col, ch);
    }
    t->kind = TK_OP;
    t->len = l;
    lx->i += (size_t)l;
    return 0;
}

/* One token from text[i] (not the end) into t, whose position is already
   set. The order of the tests matters: ".5" is a number but "." an operator,
   "$1" a placeholder but "$" an error. What starts no other kind of token
   (NUL included) is lex_op's to accept or refuse. */
static int lex_token(arena *ar, lex_state *lx, token *t, qv_err *err) {
    unsigned char ch = (unsigned char)lx->text[lx->i];
    if (isalpha(ch) || ch == '_' || ch >= 0x80) {
        lex_word(ar, lx, t);
        return 0;
    }
    if (isdigit(ch) || (ch == '.' && lex_digit_at(lx, lx->i + 1))) {
        lex_number(ar, lx, t);
        return 0;
    }
    if (ch == '$' && lex_digit_at(lx, lx->i + 1)) {
        lex_param(ar, lx, t);
        return 0;
    }
    if (ch == '\'' || ch == '"') return lex_quoted(ar, lx, t, err);
    return lex_op(lx, t, err);
}

int lex_all(arena *ar, const char *text, size_t len, token **out, int *n, qv_err *err) {
    int cap = 64, cnt = 0;
    token *toks = qv_xmalloc(sizeof(token) * (size_t)cap);
    lex_state lx = {.text = text, .len = len, .i = 0, .line = 1, .line_start = 0};
    for (;;) {
        lex_skip_blank(&lx);
        /* after a block comment, back to skipping: more blanks may follow */
        if (lex_at_block_comment(&lx)) {
            int rc = lex_block_comment(&lx, err);
            if (rc) {
                free(toks);
                return rc;
            }
            continue;
        }
        if (cnt + 1 >= cap) {
            cap *= 2;
            toks = qv_xrealloc(toks, sizeof(token) * (size_t)cap);
        }
        token *t = &toks[cnt++];
        memset(t, 0, sizeof *t);
        t->p = text + lx.i;
        t->line = lx.line;
        t->col = lex_col(&lx);
        if (lx.i >= len) {
            t->kind = TK_EOF;
            break;
        }
        int rc = lex_token(ar, &lx, t, err);
        if (rc) {
            free(toks);
            return rc;
        }
    }
    *out = toks;
    *n = cnt;
    return 0;
}
