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

const char *plan_exists_obstacle(const select_stmt *q) {
    if (q->setop || q->set_l) return "UNION / INTERSECT / EXCEPT";
    if (!q->has_from) return "no FROM";
    if (q->ngroup) return "GROUP BY";
    if (q->having) return "HAVING";
    for (int i = 0; i < q->nitems; i++)
        if (ast_has_agg(q->items[i].e)) return "an aggregate";
    if (q->limit == 0) return "LIMIT 0";
    if (q->offset) return "OFFSET";
    if (q->qualify) return "QUALIFY";
    return NULL;
}

static bool simple_exists(const ast *c, bool *neg) {
    *neg = false;
    if (c->kind == A_UNARY && c->op == OP_NOT && c->args[0]->kind == A_EXISTS) {
        *neg = true;
        c = c->args[0];
    }
    return c->kind == A_EXISTS && !plan_exists_obstacle(c->sub);
}

from_item *plan_leaf_item(arena *ar, const select_stmt *s) {
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
    jn->r = rename_leaves(ar, plan_leaf_item(ar, ex->sub), nth, &r);
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
    from_item *base = plan_leaf_item(ar, s);
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

/* ---- the names a FROM gives its tables (here and scalar_corr.c) ---- */
typedef plan_names names;

void plan_from_names(const from_item *f, plan_names *ns) {
    if (!f) return;
    if (f->kind == FR_JOIN) {
        plan_from_names(f->l, ns);
        plan_from_names(f->r, ns);
        return;
    }
    const char *nm = f->alias ? f->alias : f->table;
    if (nm && ns->n < PLAN_MAX_NAMES) ns->v[ns->n++] = nm;
}

void plan_sel_names(const select_stmt *q, plan_names *ns) {
    if (q->setop || q->set_l) {
        if (q->set_l) plan_sel_names(q->set_l, ns);
        if (q->set_r) plan_sel_names(q->set_r, ns);
        return;
    }
    if (q->from) plan_from_names(q->from, ns);
    else if ((q->alias || q->table) && ns->n < PLAN_MAX_NAMES) ns->v[ns->n++] = q->alias ? q->alias : q->table;
}

bool plan_names_has(const plan_names *ns, const char *nm) {
    for (int i = 0; i < ns->n; i++)
        if (!strcasecmp(ns->v[i], nm)) return true;
    return false;
}

/* ---- does a subquery that failed to plan use the outer query's columns? ---- */

/* Whether q names a table of the outer scope: as itself, or as the
   internal alias ("b#1") of an EXISTS subquery's table when the reference is
   in a subquery nested in that EXISTS. */
static bool outer_has_qual(const scope *outer, const char *q, bool *nested) {
    size_t n = strlen(q);
    for (int i = 0; i < outer->n; i++) {
        const char *c = outer->cols[i].qual;
        if (!c) continue;
        if (!strcasecmp(c, q)) return true;
        if (!strncasecmp(c, q, n) && c[n] == '#') return *nested = true;
    }
    return false;
}

static const ast *sel_outer_ref(const select_stmt *q, names *ns, const scope *outer, bool *nested);

/* The first column of a qualified by a name that is not the subquery's
   (at this depth) but is the outer query's. */
static const ast *ast_outer_ref(const ast *a, names *ns, const scope *outer, bool *nested) {
    if (!a) return NULL;
    if (a->kind == A_COL && a->qual && !plan_names_has(ns, a->qual) && outer_has_qual(outer, a->qual, nested)) return a;
    for (int i = 0; i < a->nargs; i++) {
        const ast *r = ast_outer_ref(a->args[i], ns, outer, nested);
        if (r) return r;
    }
    return a->sub ? sel_outer_ref(a->sub, ns, outer, nested) : NULL;
}

static const ast *from_outer_ref(const from_item *f, names *ns, const scope *outer, bool *nested) {
    if (!f || f->kind != FR_JOIN) return NULL;
    const ast *r = ast_outer_ref(f->on, ns, outer, nested);
    if (!r) r = from_outer_ref(f->l, ns, outer, nested);
    return r ? r : from_outer_ref(f->r, ns, outer, nested);
}

static const ast *sel_outer_ref(const select_stmt *q, names *ns, const scope *outer, bool *nested) {
    int keep = ns->n;
    const ast *r = NULL;
    if (q->setop || q->set_l) {
        r = q->set_l ? sel_outer_ref(q->set_l, ns, outer, nested) : NULL;
        if (!r && q->set_r) r = sel_outer_ref(q->set_r, ns, outer, nested);
        return r;
    }
    plan_sel_names(q, ns);
    for (int i = 0; i < q->nitems && !r; i++) r = ast_outer_ref(q->items[i].e, ns, outer, nested);
    if (!r) r = ast_outer_ref(q->where, ns, outer, nested);
    for (int i = 0; i < q->ngroup && !r; i++) r = ast_outer_ref(q->group[i], ns, outer, nested);
    if (!r) r = ast_outer_ref(q->having, ns, outer, nested);
    if (!r) r = ast_outer_ref(q->qualify, ns, outer, nested);
    for (int i = 0; i < q->norder && !r; i++) r = ast_outer_ref(q->order[i].e, ns, outer, nested);
    if (!r) r = from_outer_ref(q->from, ns, outer, nested);
    ns->n = keep;
    return r;
}

bool plan_subquery_outer_ref(const select_stmt *q, const scope *outer, const char *msg, char *ref, size_t cap,
                             bool *nested) {
    names ns = {.n = 0};
    *nested = false;
    const ast *a = sel_outer_ref(q, &ns, outer, nested);
    if (a) {
        snprintf(ref, cap, "%s.%s", a->qual, a->name);
        return true;
    }
    /* an unqualified name: the subquery's tables do not have it (its planning
       said so), the outer query's do */
    static const char unk[] = "unknown column '";
    if (strncmp(msg, unk, sizeof unk - 1)) return false;
    const char *nm = msg + sizeof unk - 1, *end = strchr(nm, '\'');
    if (!end || memchr(nm, '.', (size_t)(end - nm))) return false;
    for (int i = 0; i < outer->n; i++)
        if (!outer->cols[i].hidden && strlen(outer->cols[i].name) == (size_t)(end - nm) &&
            !strncasecmp(outer->cols[i].name, nm, (size_t)(end - nm))) {
            snprintf(ref, cap, "%s", outer->cols[i].name);
            return true;
        }
    return false;
}
