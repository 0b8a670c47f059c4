/* WHERE [NOT] EXISTS (SELECT ... FROM f WHERE p) becomes FROM ... SEMI / ANTI
   JOIN f ON p, correlated or not, so it never runs per row.

   The subquery's FROM is its own scope. Its leaves join the outer FROM, so
   each gets an internal alias unique in the statement ("b#1": '#' is not
   part of a plain name) and the qualified names of it in p and
   in f's own ON conditions are renamed to match: two EXISTS over one table
   no longer clash, and in EXISTS (SELECT 1 FROM a WHERE a.k = 2) over FROM a
   the a is the subquery's own. Unqualified names are the binder's: the join
   is marked inner_scope, and a column of its right side shadows one of the
   left side (bind_column picks the deepest match).

   LIMIT n > 0 without OFFSET does not change whether a row exists, so it is
   dropped. Other subqueries (GROUP BY, HAVING, aggregates, LIMIT 0, OFFSET,
   set operations, QUALIFY) stay expressions: uncorrelated they are init
   plans (subquery.c); correlated, plan_subquery_expr says what is not
   supported. */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool simple_exists(const ast *c, bool *neg) {
    *neg = false;
    if (c->kind == A_UNARY && c->op == OP_NOT && c->args[0]->kind == A_EXISTS) {
        *neg = true;
        c = c->args[0];
    }
    if (c->kind != A_EXISTS) return false;
    const select_stmt *q = c->sub;
    if (q->setop || !q->has_from || q->ngroup || q->having || q->limit == 0 || q->offset || q->qualify) return false;
    for (int i = 0; i < q->nitems; i++)
        if (ast_has_agg(q->items[i].e)) return false;
    return true;
}

static from_item *leaf_item(arena *ar, const select_stmt *s) {
    if (s->from) return s->from;
    from_item *f = arena_alloc(ar, sizeof *f);
    f->kind = s->table ? FR_TABLE : FR_SUB;
    f->table = s->table;
    f->sub = s->sub;
    f->alias = s->alias;
    f->line = s->table_line;
    f->col = s->table_col;
    return f;
}

/* ---- the subquery's names, renamed ---- */
#define MAX_RENAMES 64

typedef struct renames {
    const char *from[MAX_RENAMES], *to[MAX_RENAMES];
    int n;
} renames;

static const char *renamed(const renames *r, const char *qual) {
    for (int i = 0; i < r->n; i++)
        if (!strcasecmp(r->from[i], qual)) return r->to[i];
    return NULL;
}

/* A copy of a with the subquery's qualifiers renamed; nested subqueries are
   scopes of their own and are left alone. */
static ast *rename_ast(arena *ar, ast *a, const renames *r) {
    if (!a) return NULL;
    const char *q = (a->kind == A_COL || a->kind == A_STAR) && a->qual ? renamed(r, a->qual) : NULL;
    if (!q && !a->nargs) return a;
    ast *c = arena_alloc(ar, sizeof *c);
    *c = *a;
    if (q) c->qual = (char *)q;
    if (a->nargs) {
        c->args = arena_alloc(ar, sizeof(ast *) * (size_t)a->nargs);
        for (int i = 0; i < a->nargs; i++) c->args[i] = rename_ast(ar, a->args[i], r);
    }
    return c;
}

/* A copy of the FROM tree f whose named leaves have aliases "<name>#<ex>";
   their renames go into r. */
static from_item *rename_leaves(arena *ar, const from_item *f, int ex, renames *r) {
    from_item *c = arena_alloc(ar, sizeof *c);
    *c = *f;
    if (f->kind == FR_JOIN) {
        c->l = rename_leaves(ar, f->l, ex, r);
        c->r = rename_leaves(ar, f->r, ex, r);
        return c;
    }
    const char *name = f->alias ? f->alias : f->table;
    if (!name || r->n == MAX_RENAMES) return c; /* unnamed: nothing can qualify it */
    char buf[300];
    snprintf(buf, sizeof buf, "%s#%d", name, ex);
    c->alias = arena_strdup(ar, buf);
    r->from[r->n] = name;
    r->to[r->n++] = c->alias;
    return c;
}

static void rename_on(arena *ar, from_item *f, const renames *r) {
    if (f->kind != FR_JOIN) return;
    f->on = rename_ast(ar, f->on, r);
    rename_on(ar, f->l, r);
    rename_on(ar, f->r, r);
}

static from_item *exists_join(arena *ar, from_item *base, const ast *ex, bool neg, int nth) {
    renames r = {.n = 0};
    from_item *jn = arena_alloc(ar, sizeof *jn);
    jn->kind = FR_JOIN;
    jn->jt = neg ? JT_ANTI : JT_SEMI;
    jn->inner_scope = true;
    jn->l = base;
    jn->r = rename_leaves(ar, leaf_item(ar, ex->sub), nth, &r);
    rename_on(ar, jn->r, &r);
    jn->on = rename_ast(ar, ex->sub->where, &r);
    jn->line = ex->line;
    jn->col = ex->col;
    return jn;
}

const select_stmt *plan_rewrite_exists(arena *ar, const select_stmt *s) {
    if (!s->where || !s->has_from || s->setop) return s;
    ast **cs = NULL, **rest = NULL;
    int nc = 0, cap = 0, nrest = 0, caprest = 0, nex = 0;
    ast_conjuncts(ar, s->where, &cs, &nc, &cap);
    bool neg;
    for (int i = 0; i < nc; i++) nex += simple_exists(cs[i], &neg);
    if (!nex) return s;
    select_stmt *c = arena_alloc(ar, sizeof *c);
    *c = *s;
    from_item *base = leaf_item(ar, s);
    for (int i = 0, nth = 0; i < nc; i++) {
        if (!simple_exists(cs[i], &neg)) {
            ast_conjuncts(ar, cs[i], &rest, &nrest, &caprest);
            continue;
        }
        base = exists_join(ar, base, neg ? cs[i]->args[0] : cs[i], neg, ++nth);
    }
    c->from = base;
    c->table = NULL;
    c->sub = NULL;
    c->alias = NULL;
    c->where = ast_and(ar, rest, nrest);
    return c;
}
