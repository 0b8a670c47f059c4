/* Parser internals shared by the files of parser/: parser.c (token helpers,
   operators by precedence), parse_primary.c (literals, calls, CASE, CAST,
   column references), parse_stmt.c (statements), parse_from.c (FROM and
   joins), parse_window.c (OVER, WINDOW) and parse_tfunc.c (table functions). */
#ifndef QUIVER_SQL_PARSER_INT_H
#define QUIVER_SQL_PARSER_INT_H

#include "parser.h"

typedef struct parser {
    arena *ar;
    token *t;
    int n, pos;
    qv_err *err;
    int depth;
    int nqmark;   /* ? placeholders seen so far */
    int maxparam; /* highest $N seen */
    struct { char *name; select_stmt *sel; } *ctes; /* WITH names in scope (arena), innermost last */
    int nctes, capctes;
} parser;

#define CUR(p) (&(p)->t[(p)->pos])

/* Syntax error at the current token; returns the error code. */
int ps_syntax(parser *p, const char *expected);
bool ps_kw(parser *p, const char *k);   /* consume keyword k if next */
bool ps_opt(parser *p, const char *o);  /* consume operator o if next */
int ps_expect_kw(parser *p, const char *k);
int ps_expect_op(parser *p, const char *o);
bool ps_is_reserved(const token *t);
char *ps_ident(parser *p, const char *what);
int ps_type(parser *p, qv_type *out);
int ps_cast_type(parser *p, ast *a);
ast **ps_list_push(parser *p, ast **arr, int *n, int *cap, ast *a);
/* A node of kind k at token at's position (arena, zeroed). */
ast *ps_node(parser *p, ast_kind k, token *at);
/* Sets a's height from its children; NULL (with an error) when the tree is too tall. */
ast *ps_grown(parser *p, ast *a);
ast *ps_expr(parser *p);
/* An operand of the comparisons: + - * / and the bitwise operators, no
   IN / LIKE / comparison (parser.c). */
ast *ps_operand(parser *p);
/* An operand of the operators (parse_primary.c). */
ast *ps_primary(parser *p);
/* ORDER BY keys (parse_stmt.c): [ASC|DESC] [NULLS FIRST|LAST], and a comma list of keys. */
int ps_order_dir(parser *p, order_item *o);
int ps_order_list(parser *p, order_item **items, int *n);
/* [WITH ...] select { UNION|INTERSECT|EXCEPT [ALL] select } [ORDER BY] [LIMIT] [OFFSET] */
select_stmt *ps_query(parser *p);
/* FROM clause after the FROM keyword, into s (parse_from.c). */
int ps_from(parser *p, select_stmt *s);
/* A table function call at the cursor (name then "("), and its alias with an
   optional column list after it (parse_tfunc.c). */
from_item *ps_tfunc_item(parser *p);
int ps_tfunc_alias(parser *p, from_item *f);
/* Column aliases (parse_from.c): `(a, b, ...)` at the cursor; and the
   `SELECT * FROM q` (or FROM table) that renames q's first outputs to them. */
int ps_column_aliases(parser *p, char ***names, int *n);
select_stmt *ps_renamed(parser *p, select_stmt *q, char *table, char *alias, char **names, int n);
/* VALUES (e, ...), ... at the cursor (the VALUES keyword): a FROM item like
   a table function's, planned by planner/values.c. */
from_item *ps_values_item(parser *p);
/* GROUP BY list after GROUP BY (grouping sets into s->gsets). */
int ps_group_by(parser *p, select_stmt *s);
/* Window syntax (parse_window.c): IGNORE/RESPECT NULLS and OVER after a call
   (returns f, NULL on error); IGNORE/RESPECT NULLS inside the argument list;
   the WINDOW clause after the WINDOW keyword. */
ast *ps_over(parser *p, ast *f);
/* f(...) WITHIN GROUP (ORDER BY key): rewritten into the aggregate over key
   (parse_within.c); f when no WITHIN follows, NULL on error. */
ast *ps_within_group(parser *p, ast *f);
bool ps_null_treatment(parser *p, ast *f);
int ps_window_clause(parser *p, select_stmt *s);

#endif
