/* FROM name(args) [[AS] alias [(column, ...)]]: a table function call, as
   the subquery SELECT * FROM name(args) whose select_stmt carries the call
   (parser.h: tfunc_call; planned by planner/table_func.c). Everything lives
   in the parser's arena. */
#include "parser_int.h"

#include <string.h>

/* The call c at token t as the subquery SELECT * FROM c. */
static from_item *tfunc_wrap(parser *p, token *t, tfunc_call *c) {
    select_stmt *w = arena_alloc(p->ar, sizeof *w);
    w->has_from = true;
    w->limit = -1;
    w->tfunc = c;
    w->table_line = t->line;
    w->table_col = t->col;
    w->items = arena_alloc(p->ar, sizeof(sel_item));
    w->nitems = 1;
    w->items[0].e = arena_alloc(p->ar, sizeof(ast));
    w->items[0].e->kind = A_STAR;
    w->items[0].e->line = t->line;
    w->items[0].e->col = t->col;
    w->items[0].e->height = 1;
    from_item *f = arena_alloc(p->ar, sizeof *f);
    f->kind = FR_SUB;
    f->line = t->line;
    f->col = t->col;
    f->sub = w;
    return f;
}

/* name(args) as the subquery SELECT * FROM name(args) (parser.h: tfunc_call). */
from_item *ps_tfunc_item(parser *p) {
    token *t = CUR(p);
    tfunc_call *c = arena_alloc(p->ar, sizeof *c);
    c->name = t->text;
    c->line = t->line;
    c->col = t->col;
    p->pos += 2;
    int cap = 0;
    if (!ps_opt(p, ")")) {
        do {
            ast *e = ps_expr(p);
            if (!e) return NULL;
            c->args = ps_list_push(p, c->args, &c->nargs, &cap, e);
        } while (ps_opt(p, ","));
        if (ps_expect_op(p, ")")) return NULL;
    }
    return tfunc_wrap(p, t, c);
}

/* One parenthesized row of VALUES into r; its length, or -1. */
static int values_row(parser *p, ast ***r) {
    int n = 0, cap = 0;
    *r = NULL;
    if (ps_expect_op(p, "(")) return -1;
    do {
        ast *e = ps_expr(p);
        if (!e) return -1;
        *r = ps_list_push(p, *r, &n, &cap, e);
    } while (ps_opt(p, ","));
    if (ps_expect_op(p, ")")) return -1;
    return n;
}

/* At VALUES: (e, ...), ... as a FROM item; every row as long as the first. */
from_item *ps_values_item(parser *p) {
    token *t = CUR(p);
    p->pos++;
    tfunc_call *c = arena_alloc(p->ar, sizeof *c);
    c->name = "valueslist"; /* DuckDB's name for an unaliased VALUES list */
    c->line = t->line;
    c->col = t->col;
    int cap = 0;
    do {
        token *rt = CUR(p);
        ast **r;
        int n = values_row(p, &r);
        if (n < 0) return NULL;
        if (c->nrows && n != c->rowlen)
            return qv_err_set(p->err, QV_EINVAL, "VALUES lists must all be the same length: the first has %d value%s, "
                              "the one at line %d, column %d has %d", c->rowlen, c->rowlen == 1 ? "" : "s",
                              rt->line, rt->col, n), NULL;
        if (c->nrows == cap) {
            cap = cap ? cap * 2 : 8;
            ast ***nr = arena_alloc(p->ar, sizeof(ast **) * (size_t)cap);
            if (c->nrows) memcpy(nr, c->rows, sizeof(ast **) * (size_t)c->nrows);
            c->rows = nr;
        }
        c->rows[c->nrows++] = r;
        c->rowlen = n;
    } while (ps_opt(p, ","));
    return tfunc_wrap(p, t, c);
}

/* After a table function's (or VALUES list's) alias: [(column, ...)]; the alias defaults to the function's name. */
int ps_tfunc_alias(parser *p, from_item *f) {
    tfunc_call *c = f->sub->tfunc;
    c->alias = f->alias;
    if (f->alias && ps_opt(p, "(")) {
        do {
            char *n = ps_ident(p, "a column alias");
            if (!n) return -1;
            char **nc = arena_alloc(p->ar, sizeof(char *) * (size_t)(c->ncolnames + 1));
            if (c->ncolnames) memcpy(nc, c->colnames, sizeof(char *) * (size_t)c->ncolnames);
            nc[c->ncolnames++] = n;
            c->colnames = nc;
        } while (ps_opt(p, ","));
        if (ps_expect_op(p, ")")) return -1;
    }
    if (!f->alias) f->alias = c->name;
    return 0;
}
