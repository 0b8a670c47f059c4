/* FROM name(args) [[AS] alias [(column, ...)]]: a table function call, as
   the subquery SELECT * FROM name(args) whose select_stmt carries the call
   (parser.h: tfunc_call; planned by planner/table_func.c). Everything lives
   in the parser's arena. */
#include "parser_int.h"

#include <string.h>

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

/* After a table function's alias: [(column, ...)]; the alias defaults to the function's name. */
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
