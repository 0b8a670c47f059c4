/* Correlated subqueries over equality correlations, decorrelated into joins.
   A scalar subquery that aggregates:

     SELECT o.k, (SELECT max(i.v) FROM t i WHERE i.k = o.k AND i.v > 0) FROM t o
   becomes
     SELECT o.k, __sq#1.__v FROM t o LEFT JOIN
       (SELECT i.k AS __k0, max(i.v) AS __v FROM t i WHERE i.v > 0 GROUP BY i.k) __sq#1
       ON __sq#1.__k0 = o.k

   so the subquery runs once, not once per row. Each outer row matches at most
   one group (the groups are the join keys), and an outer row without a group
   gets NULL, which is what the aggregate of no rows is, except for the
   counting aggregates, whose empty value 0 the rewrite restores with
   coalesce.
   A scalar subquery that does not aggregate (a lookup) groups the same way
   with any_value(item) and count(*), and stands for
   CASE WHEN __n > 1 THEN error(...) ELSE __v END: more than one row is
   DuckDB's error, raised only for the rows that have it.
   `x IN (SELECT item FROM ... WHERE corr)` AND-ed into WHERE is a SEMI JOIN
   on the equalities and `__v = x` (NOT IN, with its NULL rules, is not).
   Taken: a subquery in WHERE, or in the select list or ORDER BY of a query
   that does not itself aggregate, with one item, whose FROM and item use only its
   own columns, and whose WHERE is AND-ed conditions of which some are
   `inner = outer` equalities and the rest use no outer column. The outer columns are the ones qualified by a
   name of the outer FROM that the subquery's FROM does not have (as
   exists.c decides). Anything else stays a subquery expression, and
   subquery.c says what is not supported. The derived table's columns are
   hidden from SELECT *; its alias has a '#', which no written name has.
   Everything is a copy in the statement's arena; s is not changed. */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef plan_names quals;

enum { R_OUTER = 1, R_INNER = 2, R_SUB = 4 };

/* What the column references of a are: outer, the subquery's own, or a nested subquery. */
static int refs(const ast *a, const quals *in, const quals *out) {
    if (!a) return 0;
    int f = 0;
    if (a->kind == A_SUBQ || a->kind == A_EXISTS || a->sub || a->over) f |= R_SUB;
    if (a->kind == A_COL || a->kind == A_STAR)
        f |= a->qual && !plan_names_has(in, a->qual) && plan_names_has(out, a->qual) ? R_OUTER : R_INNER;
    for (int i = 0; i < a->nargs; i++) f |= refs(a->args[i], in, out);
    return f;
}

static int from_refs(const from_item *f, const quals *in, const quals *out) {
    if (!f || f->kind != FR_JOIN) return f && f->kind == FR_SUB ? R_SUB : 0; /* a nested FROM subquery: not looked into */
    return refs(f->on, in, out) | from_refs(f->l, in, out) | from_refs(f->r, in, out);
}

/* The aggregates whose value over no rows is NULL, and those where it is 0. */
static int agg_empty_kind(const ast *a) {
    if (a->kind != A_FUNC || a->over) return -1;
    int id = agg_lookup(a->name);
    switch (id) {
    case AG_COUNT_STAR: case AG_COUNT: case AG_COUNT_IF: case AG_APPROX_COUNT_DISTINCT: return 0;
    case AG_SUM: case AG_AVG: case AG_MIN: case AG_MAX: case AG_FIRST: case AG_LAST: case AG_STDDEV: case AG_VARIANCE:
    case AG_STDDEV_POP: case AG_VAR_POP: case AG_MEDIAN: case AG_QUANTILE_CONT: case AG_QUANTILE_DISC: case AG_MODE:
    case AG_ARG_MIN: case AG_ARG_MAX: case AG_STRING_AGG: case AG_BOOL_AND: case AG_BOOL_OR: case AG_ANY_VALUE:
    case AG_FSUM: case AG_FAVG:
        return 1;
    }
    return -1;
}

typedef struct corr {
    ast **inner, **outer; /* the equalities' sides */
    int nk;
    ast **rest;           /* conditions on the subquery's own columns */
    int nrest;
} corr;

typedef enum { DC_NONE, DC_AGG, DC_ONE, DC_IN } dc_kind;

/* How subquery q can be decorrelated (see the top; in_where: it is the set of
   an IN AND-ed into WHERE); its conditions into c. */
static dc_kind decorrelatable(arena *ar, const select_stmt *q, const quals *out, corr *c, bool in_where) {
    if (q->setop || q->set_l || !q->has_from || q->nitems != 1 || q->ngroup || q->having || q->qualify || q->nwindows ||
        q->distinct || q->ndistinct_on || q->ngsets || q->limit >= 0 || q->offset || q->tfunc || !q->where)
        return DC_NONE;
    quals in = {.n = 0};
    plan_sel_names(q, &in);
    const ast *item = q->items[0].e;
    bool agg = ast_has_agg(item);
    dc_kind k = in_where ? (agg ? DC_NONE : DC_IN) : agg_empty_kind(item) >= 0 ? DC_AGG : agg ? DC_NONE : DC_ONE;
    if (k == DC_NONE || item->kind == A_STAR || (refs(item, &in, out) & (R_OUTER | R_SUB)) ||
        (from_refs(q->from, &in, out) & R_OUTER))
        return DC_NONE;
    ast **cs = NULL;
    int n = 0, cap = 0;
    ast_conjuncts(ar, q->where, &cs, &n, &cap);
    memset(c, 0, sizeof *c);
    c->inner = arena_alloc(ar, sizeof(ast *) * (size_t)n);
    c->outer = arena_alloc(ar, sizeof(ast *) * (size_t)n);
    c->rest = arena_alloc(ar, sizeof(ast *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        int f = refs(cs[i], &in, out);
        if (!(f & R_OUTER)) {
            c->rest[c->nrest++] = cs[i];
            continue;
        }
        if (cs[i]->kind != A_BINARY || cs[i]->op != OP_EQ) return DC_NONE;
        int l = refs(cs[i]->args[0], &in, out), r = refs(cs[i]->args[1], &in, out);
        if (l == R_INNER && r == R_OUTER) c->inner[c->nk] = cs[i]->args[0], c->outer[c->nk++] = cs[i]->args[1];
        else if (l == R_OUTER && r == R_INNER) c->inner[c->nk] = cs[i]->args[1], c->outer[c->nk++] = cs[i]->args[0];
        else return DC_NONE;
    }
    return c->nk > 0 ? k : DC_NONE;
}

static ast *col_ast(arena *ar, const char *qual, const char *name, const ast *at) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = A_COL;
    a->qual = (char *)qual;
    a->name = (char *)name;
    a->line = at->line, a->col = at->col;
    a->height = 1;
    return a;
}

static ast *bin_ast(arena *ar, int op, ast *x, ast *y) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = A_BINARY;
    a->op = op;
    a->nargs = 2;
    a->args = arena_alloc(ar, sizeof(ast *) * 2);
    a->args[0] = x, a->args[1] = y;
    a->line = x->line, a->col = x->col;
    a->height = 1 + (x->height > y->height ? x->height : y->height);
    return a;
}

static ast *call_ast(arena *ar, const char *name, ast *x, ast *y, const ast *at) {
    ast *f = arena_alloc(ar, sizeof *f);
    f->kind = A_FUNC;
    f->name = (char *)name;
    f->nargs = y ? 2 : x ? 1 : 0;
    f->args = arena_alloc(ar, sizeof(ast *) * 2);
    f->args[0] = x, f->args[1] = y;
    f->star = !x;
    f->line = at->line, f->col = at->col;
    f->height = 1 + (x ? x->height : 0) + (y ? y->height : 0);
    return f;
}

static ast *lit_ast(arena *ar, ast_kind k, const char *text, int64_t v) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = k;
    a->name = (char *)text;
    a->ival = v;
    a->height = 1;
    return a;
}

/* The derived table of subquery q: its equalities' inner sides as __k<i>, its
   item (an aggregate; any_value of it for DC_ONE, with count(*) as __n; as
   is for DC_IN) as __v, grouped by the keys except for DC_IN. */
static select_stmt *derived(arena *ar, const select_stmt *q, const corr *c, dc_kind k) {
    select_stmt *d = arena_alloc(ar, sizeof *d);
    d->has_from = true;
    d->from = q->from, d->table = q->table, d->sub = q->sub, d->alias = q->alias;
    d->table_line = q->table_line, d->table_col = q->table_col;
    d->where = ast_and(ar, c->rest, c->nrest);
    d->limit = -1;
    d->items = arena_alloc(ar, sizeof(sel_item) * (size_t)(c->nk + 2));
    d->group = arena_alloc(ar, sizeof(ast *) * (size_t)c->nk);
    for (int i = 0; i < c->nk; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "__k%d", i);
        d->items[i].e = d->group[i] = c->inner[i];
        d->items[i].alias = arena_strdup(ar, nm);
    }
    const ast *item = q->items[0].e;
    d->items[c->nk].e = k == DC_ONE ? call_ast(ar, "any_value", q->items[0].e, NULL, item) : q->items[0].e;
    d->items[c->nk].alias = "__v";
    d->nitems = c->nk + 1;
    if (k == DC_ONE) {
        d->items[d->nitems].e = call_ast(ar, "count", NULL, NULL, item);
        d->items[d->nitems++].alias = "__n";
    }
    d->ngroup = k == DC_IN ? 0 : c->nk;
    return d;
}

typedef struct rw {
    arena *ar;
    quals out;
    from_item *base;
    int n;
    const select_stmt *grp; /* replacing in the select list / HAVING / ORDER BY of this grouped query */
} rw;

/* In a grouped query a subquery is taken when each outer side of its
   correlations is one of the GROUP BY keys: then every row of a group joins
   the same derived row, and any_value of its columns is the group's value. */
static bool group_keys_only(const rw *w, const corr *c) {
    for (int i = 0; i < c->nk; i++) {
        bool found = false;
        for (int j = 0; j < w->grp->ngroup && !found; j++) found = ast_equal(c->outer[i], w->grp->group[j]);
        if (!found) return false;
    }
    return true;
}

static ast *col_of(rw *w, const char *alias, const char *name, const ast *at);

/* sub(q) -> a LEFT JOIN of its derived table onto w->base (a SEMI JOIN for
   DC_IN, on __v = the IN's left side too); the value that stands for it. */
static ast *join_one(rw *w, const ast *a, const corr *c, dc_kind k, bool inner) {
    char alias[32];
    snprintf(alias, sizeof alias, "__sq#%d", ++w->n);
    from_item *r = arena_alloc(w->ar, sizeof *r);
    r->kind = FR_SUB;
    r->sub = derived(w->ar, a->sub, c, k);
    r->alias = arena_strdup(w->ar, alias);
    r->hide_cols = true;
    r->line = a->line, r->col = a->col;
    ast *on = NULL;
    for (int i = 0; i < c->nk; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "__k%d", i);
        ast *eq = bin_ast(w->ar, OP_EQ, col_ast(w->ar, r->alias, arena_strdup(w->ar, nm), a), c->outer[i]);
        on = on ? bin_ast(w->ar, OP_AND, on, eq) : eq;
    }
    if (k == DC_IN) {
        ast *m = bin_ast(w->ar, OP_EQ, col_ast(w->ar, r->alias, "__v", a), a->args[0]);
        if (a->neg) { /* NOT IN: a NULL in the set, or a NULL x, makes it NULL, never true: those rows go too */
            ast *vn = arena_alloc(w->ar, sizeof *vn), *xn = arena_alloc(w->ar, sizeof *xn);
            vn->kind = xn->kind = A_ISNULL;
            vn->nargs = xn->nargs = 1;
            vn->args = arena_alloc(w->ar, sizeof(ast *));
            xn->args = arena_alloc(w->ar, sizeof(ast *));
            vn->args[0] = col_ast(w->ar, r->alias, "__v", a);
            xn->args[0] = a->args[0];
            vn->height = 2, xn->height = a->args[0]->height + 1;
            m = bin_ast(w->ar, OP_OR, bin_ast(w->ar, OP_OR, m, vn), xn);
        }
        on = bin_ast(w->ar, OP_AND, on, m);
    }
    from_item *j = arena_alloc(w->ar, sizeof *j);
    j->kind = FR_JOIN;
    j->jt = k == DC_IN ? (a->neg ? JT_ANTI : JT_SEMI) : inner ? JT_INNER : JT_LEFT;
    j->l = w->base, j->r = r, j->on = on;
    j->line = a->line, j->col = a->col;
    w->base = j;
    ast *v = col_of(w, r->alias, "__v", a);
    if (k == DC_IN) return NULL;
    if (k == DC_ONE) { /* CASE WHEN __n > 1 THEN error(...) ELSE __v END */
        ast *cs = arena_alloc(w->ar, sizeof *cs);
        cs->kind = A_CASE;
        cs->has_else = true;
        cs->nargs = 3;
        cs->args = arena_alloc(w->ar, sizeof(ast *) * 3);
        cs->args[0] = bin_ast(w->ar, OP_GT, col_of(w, r->alias, "__n", a), lit_ast(w->ar, A_INT, "1", 1));
        cs->args[1] = call_ast(w->ar, "error", lit_ast(w->ar, A_STR, "more than one row returned by a scalar subquery "
                                                         "(a correlated one, for an outer row with several matches)", 0),
                               NULL, a);
        cs->args[2] = v;
        cs->line = a->line, cs->col = a->col;
        cs->height = 4;
        return cs;
    }
    if (agg_empty_kind(a->sub->items[0].e) != 0) return v;
    return call_ast(w->ar, "coalesce", v, lit_ast(w->ar, A_INT, "0", 0), a); /* count over no rows is 0 */
}

/* A derived column as the rewritten expression reads it: any_value(col) in a grouped query's select list. */
static ast *col_of(rw *w, const char *alias, const char *name, const ast *at) {
    ast *c = col_ast(w->ar, alias, name, at);
    return w->grp ? call_ast(w->ar, "any_value", c, NULL, at) : c;
}

/* EXISTS (SELECT ... WHERE corr) as a value: (SELECT count(*) ... WHERE corr) > 0. */
static ast *exists_count(rw *w, ast *a) {
    const select_stmt *q = a->sub;
    if (q->setop || q->set_l || q->ngroup || q->having || q->limit == 0 || q->offset) return NULL;
    for (int i = 0; i < q->nitems; i++)
        if (ast_has_agg(q->items[i].e)) return NULL; /* one row always: EXISTS is true, not a count */
    select_stmt *cq = arena_alloc(w->ar, sizeof *cq);
    *cq = *q;
    cq->limit = -1; /* LIMIT n > 0 does not change whether a row exists */
    cq->items = arena_alloc(w->ar, sizeof(sel_item));
    cq->items[0].e = call_ast(w->ar, "count", NULL, NULL, a);
    cq->items[0].alias = NULL;
    cq->nitems = 1;
    cq->distinct = false;
    cq->norder = 0;
    ast *sq = arena_alloc(w->ar, sizeof *sq);
    *sq = *a;
    sq->kind = A_SUBQ;
    sq->sub = cq;
    return bin_ast(w->ar, OP_GT, sq, lit_ast(w->ar, A_INT, "0", 0));
}

/* A copy of a with its decorrelatable subqueries replaced (not looking into other subqueries). */
static ast *replace(rw *w, ast *a, bool *changed) {
    if (!a) return NULL;
    corr c;
    dc_kind k;
    if (a->kind == A_EXISTS && w->n < 16) {
        ast *cnt = exists_count(w, a);
        if (cnt && decorrelatable(w->ar, cnt->args[0]->sub, &w->out, &c, false) == DC_AGG &&
            (!w->grp || group_keys_only(w, &c))) {
            *changed = true;
            cnt->args[0] = join_one(w, cnt->args[0], &c, DC_AGG, false);
            return cnt;
        }
    }
    if (a->kind == A_SUBQ && w->n < 16 && (k = decorrelatable(w->ar, a->sub, &w->out, &c, false)) != DC_NONE &&
        (!w->grp || group_keys_only(w, &c))) {
        *changed = true;
        return join_one(w, a, &c, k, false);
    }
    if (!a->nargs) return a;
    ast *cp = NULL;
    for (int i = 0; i < a->nargs; i++) {
        bool ch = false;
        ast *x = replace(w, a->args[i], &ch);
        if (!ch) continue;
        if (!cp) {
            cp = arena_alloc(w->ar, sizeof *cp);
            *cp = *a;
            cp->args = arena_alloc(w->ar, sizeof(ast *) * (size_t)a->nargs);
            memcpy(cp->args, a->args, sizeof(ast *) * (size_t)a->nargs);
        }
        cp->args[i] = x;
        if (x->height + 1 > cp->height) cp->height = x->height + 1;
    }
    if (cp) *changed = true;
    return cp ? cp : a;
}

/* A comparison conjunct `x op (SELECT ...)` (either side) whose subquery is
   NULL when nothing matches: the row fails then anyway, so the join can be
   INNER, which keeps the scan, the join and an aggregate above in one
   parallel pipeline (a LEFT JOIN with a filter above it is gathered first). */
static ast *compare_join(rw *w, ast *cj, bool *changed) {
    if (cj->kind != A_BINARY || cj->op < OP_EQ || cj->op > OP_GE) return cj;
    for (int i = 0; i < 2; i++) {
        corr c;
        dc_kind k;
        const ast *q = cj->args[i];
        if (q->kind != A_SUBQ || w->n >= 16 || (k = decorrelatable(w->ar, q->sub, &w->out, &c, false)) == DC_NONE ||
            (k == DC_AGG && agg_empty_kind(q->sub->items[0].e) == 0))
            continue;
        ast *cp = arena_alloc(w->ar, sizeof *cp);
        *cp = *cj;
        cp->args = arena_alloc(w->ar, sizeof(ast *) * 2);
        cp->args[i] = join_one(w, q, &c, k, true);
        cp->args[1 - i] = cj->args[1 - i];
        *changed = true;
        return cp;
    }
    return cj;
}

/* WHERE with its decorrelatable `x IN (SELECT ...)` conjuncts made SEMI JOINs
   and its comparisons with a correlated subquery INNER JOINs. */
static ast *where_in_joins(rw *w, ast *where, bool *changed) {
    ast **cs = NULL, **keep = NULL;
    int n = 0, cap = 0, nk = 0;
    ast_conjuncts(w->ar, where, &cs, &n, &cap);
    keep = arena_alloc(w->ar, sizeof(ast *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        corr c;
        if (cs[i]->kind == A_IN && cs[i]->sub && w->n < 16 &&
            decorrelatable(w->ar, cs[i]->sub, &w->out, &c, true) == DC_IN) {
            join_one(w, cs[i], &c, DC_IN, false);
            *changed = true;
        } else {
            keep[nk++] = compare_join(w, cs[i], changed);
        }
    }
    return *changed ? ast_and(w->ar, keep, nk) : where;
}

static bool aggregates(const select_stmt *s) {
    if (s->ngroup || s->having || s->group_all) return true;
    for (int i = 0; i < s->nitems; i++)
        if (ast_has_agg(s->items[i].e)) return true;
    return false;
}

const select_stmt *plan_rewrite_scalar(arena *ar, const select_stmt *s) {
    if (!s->has_from || s->setop || s->set_l || s->tfunc) return s;
    rw w = {.ar = ar, .out = {.n = 0}, .base = plan_leaf_item(ar, s)};
    plan_sel_names(s, &w.out);
    /* In a query that aggregates, WHERE's are read before grouping; the select list's, HAVING's and
       ORDER BY's only with correlations on GROUP BY keys (group_keys_only), and then as any_value. */
    bool any = false, agg = aggregates(s), keyed = agg && s->ngroup && !s->group_all && !s->ngsets;
    ast *where = where_in_joins(&w, s->where, &any);
    bool ch = false;
    where = replace(&w, where, &ch);
    any |= ch;
    bool outside = !agg || keyed; /* the select list, HAVING and ORDER BY are taken too */
    w.grp = agg ? s : NULL;
    sel_item *items = arena_alloc(ar, sizeof(sel_item) * (size_t)(s->nitems + 1));
    for (int i = 0; i < s->nitems && outside; i++) {
        ch = false;
        items[i] = s->items[i];
        items[i].e = replace(&w, s->items[i].e, &ch);
        if (ch && !items[i].alias) items[i].alias = ast_to_name(ar, s->items[i].e); /* the name as written */
        any |= ch;
    }
    order_item *order = arena_alloc(ar, sizeof(order_item) * (size_t)(s->norder + 1));
    for (int i = 0; i < s->norder && outside; i++) {
        order[i] = s->order[i];
        ch = false;
        order[i].e = replace(&w, s->order[i].e, &ch);
        any |= ch;
    }
    ch = false;
    ast *having = outside ? replace(&w, s->having, &ch) : s->having;
    any |= ch;
    if (!any) return s;
    select_stmt *c = arena_alloc(ar, sizeof *c);
    *c = *s;
    if (outside) {
        c->items = items;
        c->order = order;
        c->having = having;
    }
    c->where = where;
    c->from = w.base;
    c->table = NULL, c->sub = NULL, c->alias = NULL;
    return c;
}
