/* PIVOT (DuckDB's statement) as a grouped SELECT:

     PIVOT trades ON sym [IN ('A', 'B')] USING sum(qty) [AS q], ... [GROUP BY day]
   is
     SELECT day, sum(CASE WHEN sym = 'A' THEN qty END) AS "A", ... FROM trades GROUP BY day

   one column per value of the ON expression and aggregate (named by the
   value, or value_alias when there are several aggregates), the FILTER
   rewrite of each aggregate (parse_primary.c's agg_filter: count over no
   row is 0, others NULL). Without IN the values are the ON expression's
   distinct values in the data, sorted, NULL left out (as DuckDB): found here by running
   `SELECT DISTINCT on FROM dataset ORDER BY 1` while planning, which is why
   such a PIVOT cannot read placeholders. Without USING the aggregate is
   count(*); without GROUP BY the groups are every column of the dataset the
   ON and USING do not name. ORDER BY / LIMIT apply to the result. */
#include "plan_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PIVOT_MAX_VALUES 1000

typedef struct pv_val {
    const char *name; /* the value's text (the column name) */
    ast *cond;        /* on = value, or on IS NULL */
} pv_val;

static ast *node(arena *ar, ast_kind k, int nargs, const ast *at) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = k;
    a->nargs = nargs;
    if (nargs) a->args = arena_alloc(ar, sizeof(ast *) * (size_t)nargs);
    a->line = at->line, a->col = at->col;
    a->height = at->height + 2;
    return a;
}

/* on = <the value's text, cast to its type> (strings as they are). */
static ast *value_cond(arena *ar, const pivot_spec *pv, qv_type t, const char *text) {
    ast *lit = node(ar, A_STR, 0, pv->on);
    lit->name = (char *)text;
    lit->height = 1;
    if (type_pc(t) != PC_S) {
        ast *c = node(ar, A_CAST, 1, pv->on);
        c->cast_type = t;
        c->args[0] = lit;
        lit = c;
    }
    ast *eq = node(ar, A_BINARY, 2, pv->on);
    eq->op = OP_EQ;
    eq->args[0] = pv->on;
    eq->args[1] = lit;
    return eq;
}

/* SELECT DISTINCT on FROM (dataset) ORDER BY 1 NULLS LAST, run now: its rows into vals. */
static int distinct_values(sql_ctx *ctx, qstate *qs, arena *ar, const pivot_spec *pv, pv_val **vals, int *n,
                           qv_err *err) {
    if (qs->params && qs->params->n)
        return qv_err_set(err, QV_EUNSUPPORTED, "PIVOT without IN (...) cannot read placeholders: its columns come "
                          "from the data when the statement is planned; list the values with IN");
    select_stmt *q = arena_alloc(ar, sizeof *q);
    q->distinct = true;
    q->has_from = true;
    q->sub = pv->src;
    q->alias = "__pivot";
    q->limit = -1;
    q->items = arena_alloc(ar, sizeof(sel_item));
    q->items[0].e = pv->on;
    q->nitems = 1;
    q->order = arena_alloc(ar, sizeof(order_item));
    q->order[0].e = node(ar, A_INT, 0, pv->on);
    q->order[0].e->ival = 1;
    q->order[0].e->name = "1";
    q->order[0].nulls_first = 0;
    q->norder = 1;
    int ninits = qs->ninits;
    plan pl;
    if (plan_select(ctx, qs, ar, q, false, &pl, err)) return err->code;
    int rc = 0;
    if (qs->ninits != ninits)
        rc = qv_err_set(err, QV_EUNSUPPORTED, "PIVOT without IN (...) over a dataset with subqueries: list the values with IN");
    qv_type t = pl.root ? pl.root->types[0] : T_NULL;
    *vals = arena_alloc(ar, sizeof(pv_val) * (PIVOT_MAX_VALUES + 1));
    *n = 0;
    while (!rc) {
        chunk *c;
        if ((rc = pl.root->next(pl.root, &c, err)) || !c) break;
        int m = chunk_active(c);
        for (int k = 0; k < m && !rc; k++) {
            if (*n == PIVOT_MAX_VALUES) {
                rc = qv_err_set(err, QV_EINVAL, "PIVOT would make more than %d columns per aggregate; list the values "
                                "with IN (...)", PIVOT_MAX_VALUES);
                break;
            }
            const vec *v = &c->cols[0];
            int r = chunk_row(c, k);
            if (vec_null(v, r) || v->type == T_NULL) continue; /* no column for NULL, as DuckDB */
            char buf[256];
            int len;
            if (type_pc(t) == PC_S) {
                sv s = v->codes ? vec_sym_str(v, r) : v->s[r];
                len = s.n < (int)sizeof buf - 1 ? s.n : (int)sizeof buf - 1;
                memcpy(buf, s.p, (size_t)len);
            } else {
                len = sql_type_get(t)->format(v, r, buf, sizeof buf);
            }
            char *text = arena_strndup(ar, buf, (size_t)(len < 0 ? 0 : len));
            (*vals)[*n] = (pv_val){text, value_cond(ar, pv, t, text)};
            (*n)++;
        }
    }
    plan_free(&pl);
    return rc;
}

/* The IN list's values: their conditions, named by their text. */
static void listed_values(arena *ar, const pivot_spec *pv, pv_val **vals, int *n) {
    *vals = arena_alloc(ar, sizeof(pv_val) * (size_t)(pv->nin + 1));
    *n = pv->nin;
    for (int i = 0; i < pv->nin; i++) {
        ast *v = pv->in[i];
        const char *name = v->kind == A_STR ? v->name : ast_to_name(ar, v);
        ast *eq = node(ar, A_BINARY, 2, v);
        eq->op = OP_EQ;
        eq->args[0] = pv->on;
        eq->args[1] = v;
        if (v->kind == A_NULL) {
            eq = node(ar, A_ISNULL, 1, v);
            eq->args[0] = pv->on;
            name = "NULL";
        }
        (*vals)[i] = (pv_val){name, eq};
    }
}

/* agg restricted to the rows where cond holds (as FILTER (WHERE cond)). */
static ast *filtered(arena *ar, const ast *agg, ast *cond) {
    ast *f = arena_alloc(ar, sizeof *f);
    *f = *agg;
    int n = agg->star ? 1 : agg->nargs;
    f->args = arena_alloc(ar, sizeof(ast *) * (size_t)(n + 1));
    f->nargs = n;
    f->star = false;
    for (int i = 0; i < n; i++) {
        ast *x = agg->star ? node(ar, A_INT, 0, agg) : agg->args[i];
        if (agg->star) x->ival = 1, x->name = "1", x->height = 1;
        if (i > 0 && (x->kind == A_INT || x->kind == A_STR || x->kind == A_FLOAT)) { /* a constant argument (a separator) */
            f->args[i] = x;
            continue;
        }
        ast *w = node(ar, A_CASE, 2, agg);
        w->args[0] = cond;
        w->args[1] = x;
        f->args[i] = w;
    }
    f->height = agg->height + cond->height + 2;
    return f;
}

static void names_in(const ast *a, const char ***v, int *n, int cap) {
    if (!a) return;
    if (a->kind == A_COL && *n < cap) (*v)[(*n)++] = a->name;
    for (int i = 0; i < a->nargs; i++) names_in(a->args[i], v, n, cap);
}

static bool listed(const char **v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcasecmp(v[i], name)) return true;
    return false;
}

/* Without GROUP BY: the dataset's columns that ON and USING (or the names in skip) do not name. */
static int default_groups(sql_ctx *ctx, qstate *qs, arena *ar, const pivot_spec *pv, const sel_item *aggs, int naggs,
                          const char **skip, int nskip, ast ***group, int *ngroup, qv_err *err) {
    plan pl;
    if (plan_select(ctx, qs, ar, pv->src, false, &pl, err)) return err->code;
    const char **used = arena_alloc(ar, sizeof(char *) * (size_t)(256 + nskip));
    int nused = 0;
    for (int i = 0; i < nskip; i++) used[nused++] = skip[i];
    names_in(pv->on, &used, &nused, 256 + nskip);
    for (int i = 0; i < naggs; i++) names_in(aggs[i].e, &used, &nused, 256 + nskip);
    *group = arena_alloc(ar, sizeof(ast *) * (size_t)(pl.schema.nfields + 1));
    *ngroup = 0;
    for (int i = 0; i < pl.schema.nfields; i++) {
        const char *nm = pl.schema.fields[i].name;
        if (listed(used, nused, nm)) continue;
        ast *c = node(ar, A_COL, 0, pv->on ? pv->on : pv->in[0]); /* an UNPIVOT has no ON expression */
        c->name = arena_strdup(ar, nm);
        c->height = 1;
        (*group)[(*ngroup)++] = c;
    }
    plan_free(&pl);
    return 0;
}

/* UNPIVOT: per ON column c, SELECT <the other columns>, 'c' AS name, c AS value
   FROM dataset WHERE c IS NOT NULL, all of them UNION ALL, with the
   statement's ORDER BY / LIMIT over the whole. */
static int plan_unpivot(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err) {
    const pivot_spec *pv = s->pivot;
    const char **on = arena_alloc(ar, sizeof(char *) * (size_t)pv->nin);
    for (int i = 0; i < pv->nin; i++) on[i] = pv->in[i]->name;
    ast **keep;
    int nkeep;
    if (default_groups(ctx, qs, ar, pv, NULL, 0, on, pv->nin, &keep, &nkeep, err)) return err->code;
    select_stmt *all = NULL;
    for (int i = 0; i < pv->nin; i++) {
        ast *c = pv->in[i];
        select_stmt *q = arena_alloc(ar, sizeof *q);
        q->has_from = true;
        q->sub = pv->src;
        q->alias = "__unpivot";
        q->limit = -1;
        q->items = arena_alloc(ar, sizeof(sel_item) * (size_t)(nkeep + 2));
        for (int k = 0; k < nkeep; k++) q->items[q->nitems++] = (sel_item){keep[k], NULL};
        ast *nm = node(ar, A_STR, 0, c);
        nm->name = c->name;
        nm->height = 1;
        q->items[q->nitems++] = (sel_item){nm, pv->name_col};
        q->items[q->nitems++] = (sel_item){c, pv->value_col};
        q->where = node(ar, A_ISNULL, 1, c);
        q->where->neg = true;
        q->where->args[0] = c;
        all = plan_union_all(ar, all, q);
    }
    plan_take_order(all, s);
    return plan_select(ctx, qs, ar, all, top, p, err);
}

select_stmt *plan_union_all(arena *ar, select_stmt *all, select_stmt *one) {
    if (!all) return one;
    select_stmt *u = arena_alloc(ar, sizeof *u);
    u->setop = SET_UNION;
    u->set_all = true;
    u->set_l = all, u->set_r = one;
    u->limit = -1;
    return u;
}

void plan_take_order(select_stmt *dst, const select_stmt *s) {
    dst->order = s->order, dst->norder = s->norder, dst->order_all = s->order_all;
    dst->limit = s->limit, dst->offset = s->offset;
}

int plan_pivot(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err) {
    const pivot_spec *pv = s->pivot;
    if (pv->unpivot) return plan_unpivot(ctx, qs, ar, s, top, p, err);
    if (pv->summarize) return plan_summarize(ctx, qs, ar, s, top, p, err);
    sel_item star = {0};
    const sel_item *aggs = pv->aggs;
    int naggs = pv->naggs;
    if (!naggs) { /* count(*) */
        star.e = node(ar, A_FUNC, 0, pv->on);
        star.e->name = "count";
        star.e->star = true;
        star.e->height = 1;
        aggs = &star;
        naggs = 1;
    }
    for (int i = 0; i < naggs; i++)
        if (!ast_has_agg(aggs[i].e))
            return qv_err_set(err, QV_EINVAL, "PIVOT USING needs aggregates (sum(x), count(*), ...), got %s (line %d, "
                              "column %d)", ast_to_name(ar, aggs[i].e), aggs[i].e->line, aggs[i].e->col);
    pv_val *vals = NULL;
    int nv = 0;
    if (pv->nin) listed_values(ar, pv, &vals, &nv);
    else if (distinct_values(ctx, qs, ar, pv, &vals, &nv, err)) return err->code;
    ast **group = pv->group;
    int ngroup = pv->ngroup;
    if (!ngroup && default_groups(ctx, qs, ar, pv, aggs, naggs, NULL, 0, &group, &ngroup, err)) return err->code;
    select_stmt *q = arena_alloc(ar, sizeof *q);
    *q = *s;
    q->pivot = NULL;
    q->has_from = true;
    q->sub = pv->src;
    q->alias = "__pivot";
    q->group = group;
    q->ngroup = ngroup;
    q->items = arena_alloc(ar, sizeof(sel_item) * (size_t)(ngroup + nv * naggs + 1));
    for (int i = 0; i < ngroup; i++) q->items[q->nitems++] = (sel_item){group[i], NULL};
    for (int v = 0; v < nv; v++)
        for (int a = 0; a < naggs; a++) {
            char name[400];
            if (naggs == 1) snprintf(name, sizeof name, "%s", vals[v].name);
            else snprintf(name, sizeof name, "%s_%s", vals[v].name, aggs[a].alias ? aggs[a].alias : ast_to_name(ar, aggs[a].e));
            q->items[q->nitems++] = (sel_item){filtered(ar, aggs[a].e, vals[v].cond), arena_strdup(ar, name)};
        }
    if (!nv && !ngroup)
        return qv_err_set(err, QV_EINVAL, "PIVOT at line %d, column %d has no value to make a column of and no group",
                          pv->line, pv->col);
    return plan_select(ctx, qs, ar, q, top, p, err);
}
