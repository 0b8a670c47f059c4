/* Recursive-descent parser, primary expressions: literals, placeholders,
   subqueries and EXISTS, parentheses, column references and stars, CASE,
   CAST, EXTRACT and function calls (with ORDER BY inside, FILTER and OVER
   after). The operators above them are in parser.c. */
#include "parser_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_const_ast(const ast *a) {
    return a->kind == A_INT || a->kind == A_FLOAT || a->kind == A_STR || a->kind == A_BOOL || a->kind == A_NULL ||
           a->kind == A_TSLIT || a->kind == A_INTERVAL;
}

/* agg(args) FILTER (WHERE c): each non-constant argument becomes CASE WHEN c
   THEN arg END (count(*) counts CASE WHEN c THEN 1 END), so the aggregate
   skips the rows c rejects. */
static ast *agg_filter(parser *p, ast *f) {
    if (!f || !tok_is_kw(CUR(p), "filter") || !tok_is_op(&p->t[p->pos + 1], "(")) return f;
    p->pos += 2;
    if (ps_expect_kw(p, "where")) return NULL;
    ast *c = ps_expr(p);
    if (!c || ps_expect_op(p, ")")) return NULL;
    if (f->star) {
        ast *one = ps_node(p, A_INT, CUR(p));
        one->ival = 1;
        one->fval = 1;
        f->star = false;
        f->args = arena_alloc(p->ar, sizeof(ast *));
        f->args[0] = one;
        f->nargs = 1;
    }
    for (int i = 0; i < f->nargs; i++) {
        if (is_const_ast(f->args[i]) && i > 0) continue;
        ast *w = ps_node(p, A_CASE, CUR(p));
        w->args = arena_alloc(p->ar, sizeof(ast *) * 2);
        w->args[0] = c;
        w->args[1] = f->args[i];
        w->nargs = 2;
        if (!(f->args[i] = ps_grown(p, w))) return NULL;
    }
    return ps_grown(p, f);
}

/* An integer literal (t, not yet consumed). */
static ast *int_literal(parser *p, token *t) {
    p->pos++;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(t->text, &end, 10);
    if (errno || v > (unsigned long long)INT64_MAX + 1) {
        ast *a = ps_node(p, A_FLOAT, t); /* too big for BIGINT: a double, as DuckDB would not */
        a->fval = strtod(t->text, NULL);
        return a;
    }
    ast *a = ps_node(p, A_INT, t);
    a->ival = (int64_t)v; /* INT64_MAX+1 only valid under unary minus; checked in binder */
    a->fval = (double)v;
    a->neg = v > (unsigned long long)INT64_MAX;
    return a;
}

/* ? or $N (t, not yet consumed). */
static ast *placeholder(parser *p, token *t) {
    p->pos++;
    ast *a = ps_node(p, A_PARAM, t);
    bool q = t->kind != TK_PARAM;
    long long n = q ? ++p->nqmark : strtoll(t->text, NULL, 10);
    if (n < 1 || n > 65535 || strlen(t->text ? t->text : "") > 5) {
        qv_err_set(p->err, QV_EINVAL, "placeholder at line %d, column %d: numbers run from $1 to $65535", t->line, t->col);
        return NULL;
    }
    if ((q && p->maxparam > 0) || (!q && p->nqmark > 0)) {
        qv_err_set(p->err, QV_EINVAL, "placeholder at line %d, column %d: ? and $N cannot be mixed in one statement",
                   t->line, t->col);
        return NULL;
    }
    if (!q && n > p->maxparam) p->maxparam = (int)n;
    a->ival = n;
    return a;
}

/* A column name (t, consumed), qualified (t.c) or a qualified star (t.*). */
static ast *column_ref(parser *p, token *t) {
    ast *a = ps_node(p, A_COL, t);
    a->name = t->text;
    if (tok_is_op(CUR(p), ".")) {
        p->pos++;
        if (ps_opt(p, "*")) { a->kind = A_STAR; a->qual = t->text; a->name = NULL; return a; }
        char *c = ps_ident(p, "a column name");
        if (!c) return NULL;
        a->qual = t->text;
        a->name = c;
    }
    return a;
}

/* TIMESTAMP '...' (ns) and DATE '...' (days): a literal of that type (cast_type). */
static ast *ts_literal(parser *p, token *t, bool is_date) {
    p->pos++;
    token *s = CUR(p);
    p->pos++;
    ast *a = ps_node(p, A_TSLIT, t);
    a->name = s->text;
    a->cast_type = is_date ? QV_T_DATE : QV_T_TIMESTAMP;
    if (is_date) {
        if (!qv_date_parse(s->text, strlen(s->text), &a->ival)) return a;
        qv_err_set(p->err, QV_EINVAL, "bad DATE literal '%s' at line %d, column %d", s->text, s->line, s->col);
        return NULL;
    }
    int rc = ts_parse(s->text, strlen(s->text), &a->ival);
    if (rc == -2) {
        qv_err_set(p->err, QV_EINVAL, "%s literal '%s' is outside the TIMESTAMP range (1677-09-21 00:12:43.145224192 "
                   "to 2262-04-11 23:47:16.854775807) at line %d, column %d", is_date ? "DATE" : "TIMESTAMP", s->text,
                   s->line, s->col);
        return NULL;
    }
    if (rc) {
        qv_err_set(p->err, QV_EINVAL, "bad %s literal '%s' at line %d, column %d", is_date ? "DATE" : "TIMESTAMP",
                   s->text, s->line, s->col);
        return NULL;
    }
    return a;
}

/* TIME '09:30:00' (t: the keyword, not yet consumed). */
static ast *time_literal(parser *p, token *t) {
    p->pos++;
    token *s = CUR(p);
    p->pos++;
    ast *a = ps_node(p, A_TSLIT, t);
    a->name = s->text;
    a->cast_type = QV_T_TIME;
    if (!qv_time_parse(s->text, strlen(s->text), &a->ival)) return a;
    qv_err_set(p->err, QV_EINVAL, "bad TIME literal '%s' at line %d, column %d (HH:MM[:SS[.fraction]], 00:00:00 to "
               "24:00:00)", s->text, s->line, s->col);
    return NULL;
}

/* INTERVAL '...' or INTERVAL n unit (t: the keyword, not yet consumed).
   Months and years are kept apart in a->months (the binder says where they
   may be used, binder/bind_cal.c). */
static ast *interval_literal(parser *p, token *t) {
    p->pos++;
    token *s = CUR(p);
    ast *a = ps_node(p, A_INTERVAL, t);
    if (s->kind == TK_STRING) {
        p->pos++;
        a->name = s->text;
        if (qv_interval_parse_cal(s->text, strlen(s->text), &a->months, &a->ival)) {
            qv_err_set(p->err, QV_EINVAL, "bad INTERVAL literal '%s' at line %d, column %d (units: nanosecond to "
                       "millennium)", s->text, s->line, s->col);
            return NULL;
        }
        return a;
    }
    if (s->kind == TK_INT) {
        p->pos++;
        token *u = CUR(p);
        int64_t unit = 0, v = strtoll(s->text, NULL, 10), m;
        int um = u->kind == TK_IDENT ? qv_interval_unit_months(u->text) : 0;
        if (u->kind != TK_IDENT || (!um && qv_interval_unit_ns(u->text, &unit))) { ps_syntax(p, "an interval unit"); return NULL; }
        p->pos++;
        if (um ? __builtin_mul_overflow(v, um, &m) || m > INT32_MAX : __builtin_mul_overflow(v, unit, &a->ival)) {
            qv_err_set(p->err, QV_EINVAL, "INTERVAL at line %d, column %d is out of range", s->line, s->col);
            return NULL;
        }
        if (um) a->months = (int32_t)m;
        size_t nl = strlen(s->text) + strlen(u->text) + 2;
        a->name = arena_alloc(p->ar, nl); /* "5 minute": the output name reads INTERVAL '5 minute' */
        snprintf(a->name, nl, "%s %s", s->text, u->text);
        return a;
    }
    ps_syntax(p, "an interval string");
    return NULL;
}

/* CASE [x] WHEN ... THEN ... [ELSE ...] END (t: CASE, not yet consumed). */
static ast *case_expr(parser *p, token *t) {
    p->pos++;
    ast *a = ps_node(p, A_CASE, t);
    int cap = 0;
    if (!tok_is_kw(CUR(p), "when")) {
        ast *o = ps_expr(p);
        if (!o) return NULL;
        a->has_operand = true;
        a->args = ps_list_push(p, a->args, &a->nargs, &cap, o);
    }
    int nwhen = 0;
    while (ps_kw(p, "when")) {
        ast *w = ps_expr(p);
        if (!w || ps_expect_kw(p, "then")) return NULL;
        ast *th = ps_expr(p);
        if (!th) return NULL;
        a->args = ps_list_push(p, a->args, &a->nargs, &cap, w);
        a->args = ps_list_push(p, a->args, &a->nargs, &cap, th);
        nwhen++;
    }
    if (!nwhen) { ps_syntax(p, "WHEN"); return NULL; }
    if (ps_kw(p, "else")) {
        ast *e = ps_expr(p);
        if (!e) return NULL;
        a->has_else = true;
        a->args = ps_list_push(p, a->args, &a->nargs, &cap, e);
    }
    if (ps_expect_kw(p, "end")) return NULL;
    return ps_grown(p, a);
}

/* name(...) after the name t (consumed), at the "(". */
static ast *func_call(parser *p, token *t) {
    p->pos++;
    ast *a = ps_node(p, A_FUNC, t);
    a->name = t->text;
    if (ps_opt(p, "*")) {
        a->star = true;
        if (ps_expect_op(p, ")")) return NULL;
        return ps_over(p, agg_filter(p, a));
    }
    if (ps_kw(p, "distinct")) a->distinct = true;
    else ps_kw(p, "all");
    int cap = 0;
    if (!ps_opt(p, ")")) {
        for (;;) {
            ast *e = ps_expr(p);
            if (!e) return NULL;
            a->args = ps_list_push(p, a->args, &a->nargs, &cap, e);
            if (tok_is_kw(CUR(p), "order") && !a->norder) { /* string_agg(x, sep ORDER BY k [ASC|DESC], ...) */
                p->pos++;
                if (ps_expect_kw(p, "by")) return NULL;
                for (;;) {
                    ast *k = ps_expr(p);
                    if (!k) return NULL;
                    if (ps_kw(p, "desc")) a->order_desc |= 1u << (a->norder & 31);
                    else ps_kw(p, "asc");
                    a->args = ps_list_push(p, a->args, &a->nargs, &cap, k);
                    a->norder++;
                    if (!ps_opt(p, ",")) break;
                }
                if (ps_expect_op(p, ")")) return NULL;
                break;
            }
            ps_null_treatment(p, a);
            if (ps_opt(p, ")")) break;
            if (ps_expect_op(p, ",")) return NULL;
        }
    }
    return ps_over(p, agg_filter(p, ps_within_group(p, ps_grown(p, a))));
}

/* position(needle IN haystack), unquoted as in DuckDB, as the call
   position(haystack, needle) (functions/scalar/func_str_more.c, strpos); the quoted
   "position"(haystack, needle) is that call written out. The operands stop
   before IN and the comparisons. */
static ast *position_call(parser *p, token *t) {
    p->pos += 2;
    ast *a = ps_node(p, A_FUNC, t);
    a->name = "position";
    a->args = arena_alloc(p->ar, sizeof(ast *) * 2);
    a->nargs = 2;
    if (!(a->args[1] = ps_operand(p))) return NULL;
    if (!tok_is_kw(CUR(p), "in")) {
        ps_syntax(p, "IN (position(needle IN haystack))");
        return NULL;
    }
    p->pos++;
    if (!(a->args[0] = ps_operand(p)) || ps_expect_op(p, ")")) return NULL;
    return ps_grown(p, a);
}

ast *ps_primary(parser *p) {
    token *t = CUR(p);
    if (t->kind == TK_INT) return int_literal(p, t);
    if (t->kind == TK_FLOAT) {
        p->pos++;
        ast *a = ps_node(p, A_FLOAT, t);
        a->fval = strtod(t->text, NULL);
        a->name = t->text;
        return a;
    }
    if (t->kind == TK_STRING) {
        p->pos++;
        ast *a = ps_node(p, A_STR, t);
        a->name = t->text;
        return a;
    }
    if (tok_is_op(t, "?") || t->kind == TK_PARAM) return placeholder(p, t);
    if (tok_is_op(t, "(") && (tok_is_kw(&p->t[p->pos + 1], "select") || tok_is_kw(&p->t[p->pos + 1], "with") ||
                              tok_is_kw(&p->t[p->pos + 1], "values"))) {
        p->pos++;
        ast *a = ps_node(p, A_SUBQ, t);
        if (!(a->sub = ps_query(p)) || ps_expect_op(p, ")")) return NULL;
        return a;
    }
    if (tok_is_kw(t, "exists") && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = ps_node(p, A_EXISTS, t);
        if (!(a->sub = ps_query(p)) || ps_expect_op(p, ")")) return NULL;
        return a;
    }
    if (tok_is_op(t, "(")) {
        p->pos++;
        ast *e = ps_expr(p);
        if (!e || ps_expect_op(p, ")")) return NULL;
        return e;
    }
    if (tok_is_op(t, "*")) {
        p->pos++;
        return ps_node(p, A_STAR, t);
    }
    if (t->kind == TK_QIDENT) {
        p->pos++;
        return column_ref(p, t);
    }
    if (t->kind != TK_IDENT) { ps_syntax(p, "an expression"); return NULL; }
    if (tok_is_kw(t, "null")) { p->pos++; return ps_node(p, A_NULL, t); }
    if (tok_is_kw(t, "true") || tok_is_kw(t, "false")) {
        p->pos++;
        ast *a = ps_node(p, A_BOOL, t);
        a->ival = tok_is_kw(t, "true");
        return a;
    }
    bool is_date = tok_is_kw(t, "date");
    if ((is_date || tok_is_kw(t, "timestamp")) && p->t[p->pos + 1].kind == TK_STRING) return ts_literal(p, t, is_date);
    if (tok_is_kw(t, "time") && p->t[p->pos + 1].kind == TK_STRING) return time_literal(p, t);
    if (tok_is_kw(t, "interval")) return interval_literal(p, t);
    if (tok_is_kw(t, "case")) return case_expr(p, t);
    if ((tok_is_kw(t, "cast") || tok_is_kw(t, "try_cast")) && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = ps_node(p, A_CAST, t);
        a->neg = tok_is_kw(t, "try_cast"); /* NULL instead of an error when the value does not convert */
        ast *e = ps_expr(p);
        if (!e || ps_expect_kw(p, "as")) return NULL;
        if (ps_cast_type(p, a)) return NULL;
        if (ps_expect_op(p, ")")) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return ps_grown(p, a);
    }
    if (tok_is_kw(t, "extract") && tok_is_op(&p->t[p->pos + 1], "(")) {
        p->pos += 2;
        ast *a = ps_node(p, A_EXTRACT, t);
        token *f = CUR(p);
        if (f->kind != TK_IDENT && f->kind != TK_STRING) { ps_syntax(p, "a field name"); return NULL; }
        p->pos++;
        a->name = f->text;
        if (ps_expect_kw(p, "from")) return NULL;
        ast *e = ps_expr(p);
        if (!e || ps_expect_op(p, ")")) return NULL;
        a->args = arena_alloc(p->ar, sizeof(ast *));
        a->args[0] = e;
        a->nargs = 1;
        return ps_grown(p, a);
    }
    if (tok_is_kw(t, "position") && tok_is_op(&p->t[p->pos + 1], "(")) return position_call(p, t);
    bool fn_kw = (tok_is_kw(t, "left") || tok_is_kw(t, "right")) && tok_is_op(&p->t[p->pos + 1], "("); /* left(s, n) */
    if (ps_is_reserved(t) && !fn_kw) { ps_syntax(p, "an expression"); return NULL; }
    p->pos++;
    if (tok_is_op(CUR(p), "(")) return func_call(p, t); /* function call */
    return column_ref(p, t);
}
