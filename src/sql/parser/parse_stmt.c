/* Statements: SELECT bodies, CREATE, DROP, INSERT, SHOW, DESCRIBE, EXPLAIN, TRUNCATE,
   ALTER TABLE .. SET RETENTION. */
#include "parser_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int parse_int_lit(parser *p, int64_t *out, const char *what) {
    token *t = CUR(p);
    if (t->kind != TK_INT) return ps_syntax(p, what);
    errno = 0;
    long long v = strtoll(t->text, NULL, 10);
    if (errno) return qv_err_set(p->err, QV_EINVAL, "%s at line %d, column %d is out of range", what, t->line, t->col);
    p->pos++;
    *out = v;
    return 0;
}

/* * EXCLUDE (a, ...) / * REPLACE (expr AS a, ...) */
static int star_options(parser *p, ast *star) {
    for (int round = 0; round < 2; round++) {
        bool ex = tok_is_kw(CUR(p), "exclude"), re = tok_is_kw(CUR(p), "replace");
        if (!ex && !re) return 0;
        p->pos++;
        bool paren = ps_opt(p, "(");
        char **nm = NULL;
        int n = 0, cap = 0;
        ast **reps = NULL;
        int nr = 0, rcap = 0;
        do {
            ast *e = NULL;
            if (re) {
                if (!(e = ps_expr(p)) || ps_expect_kw(p, "as")) return -1;
            }
            char *c = ps_ident(p, "a column name");
            if (!c) return -1;
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                char **nn = arena_alloc(p->ar, sizeof(char *) * (size_t)cap);
                if (n) memcpy(nn, nm, sizeof(char *) * (size_t)n);
                nm = nn;
            }
            nm[n++] = c;
            if (re) reps = ps_list_push(p, reps, &nr, &rcap, e);
        } while (paren && ps_opt(p, ","));
        if (paren && ps_expect_op(p, ")")) return -1;
        /* names: EXCLUDE names first, then REPLACE names parallel to args */
        int total = star->nexcl + star->nargs + n;
        char **all = arena_alloc(p->ar, sizeof(char *) * (size_t)total);
        int ne = star->nexcl, nrp = star->nargs;
        if (ne) memcpy(all, star->names, sizeof(char *) * (size_t)ne);
        if (ex) {
            memcpy(all + ne, nm, sizeof(char *) * (size_t)n);
            if (nrp) memcpy(all + ne + n, star->names + ne, sizeof(char *) * (size_t)nrp);
            star->nexcl += n;
        } else {
            if (nrp) memcpy(all + ne, star->names + ne, sizeof(char *) * (size_t)nrp);
            memcpy(all + ne + nrp, nm, sizeof(char *) * (size_t)n);
            ast **na = arena_alloc(p->ar, sizeof(ast *) * (size_t)(nrp + nr));
            if (nrp) memcpy(na, star->args, sizeof(ast *) * (size_t)nrp);
            memcpy(na + nrp, reps, sizeof(ast *) * (size_t)nr);
            star->args = na;
            star->nargs += nr;
        }
        star->names = all;
    }
    return 0;
}

static select_stmt *select_body(parser *p) {
    if (++p->depth > 50) {
        qv_err_set(p->err, QV_EINVAL, "subqueries nested too deeply");
        return NULL;
    }
    if (ps_expect_kw(p, "select")) return NULL;
    select_stmt *s = arena_alloc(p->ar, sizeof *s);
    s->limit = -1;
    if (ps_kw(p, "distinct")) {
        s->distinct = true;
        if (ps_kw(p, "on")) {
            int dcap = 0;
            s->distinct = false;
            if (ps_expect_op(p, "(")) return NULL;
            do {
                ast *e = ps_expr(p);
                if (!e) return NULL;
                s->distinct_on = ps_list_push(p, s->distinct_on, &s->ndistinct_on, &dcap, e);
            } while (ps_opt(p, ","));
            if (ps_expect_op(p, ")")) return NULL;
        }
    } else {
        ps_kw(p, "all");
    }
    int cap = 0;
    for (;;) {
        ast *e = ps_expr(p);
        if (!e) return NULL;
        if (s->nitems == cap) {
            cap = cap ? cap * 2 : 8;
            sel_item *ni = arena_alloc(p->ar, sizeof(sel_item) * (size_t)cap);
            if (s->nitems) memcpy(ni, s->items, sizeof(sel_item) * (size_t)s->nitems);
            s->items = ni;
        }
        sel_item *it = &s->items[s->nitems++];
        it->e = e;
        if (e->kind == A_STAR && star_options(p, e)) return NULL;
        if (ps_kw(p, "as")) {
            if (!(it->alias = ps_ident(p, "an alias"))) return NULL;
        } else if (CUR(p)->kind == TK_QIDENT || (CUR(p)->kind == TK_IDENT && !ps_is_reserved(CUR(p)))) {
            it->alias = ps_ident(p, "an alias");
        }
        if (!ps_opt(p, ",")) break;
    }
    if (ps_kw(p, "from")) {
        s->has_from = true;
        if (ps_from(p, s)) return NULL;
    }
    if (ps_kw(p, "where"))
        if (!(s->where = ps_expr(p))) return NULL;
    if (ps_kw(p, "group")) {
        if (ps_expect_kw(p, "by")) return NULL;
        if (ps_kw(p, "all")) s->group_all = true;
        else if (ps_group_by(p, s)) return NULL;
    }
    if (ps_kw(p, "having"))
        if (!(s->having = ps_expr(p))) return NULL;
    for (;;) { /* WINDOW and QUALIFY, in either order */
        if (ps_kw(p, "window")) {
            if (ps_window_clause(p, s)) return NULL;
        } else if (!s->qualify && ps_kw(p, "qualify")) {
            if (!(s->qualify = ps_expr(p))) return NULL;
        } else {
            break;
        }
    }
    p->depth--;
    return s;
}

/* [ASC | DESC] [NULLS FIRST | NULLS LAST] after an ORDER BY key. */
int ps_order_dir(parser *p, order_item *o) {
    if (ps_kw(p, "desc")) o->desc = true;
    else ps_kw(p, "asc");
    if (ps_kw(p, "nulls")) {
        if (ps_kw(p, "first")) o->nulls_first = 1;
        else if (ps_kw(p, "last")) o->nulls_first = 0;
        else return ps_syntax(p, "FIRST or LAST");
    }
    return 0;
}

/* key [dir], ...: the keys of an ORDER BY (a query's or a window's). */
int ps_order_list(parser *p, order_item **items, int *n) {
    int cap = 0;
    do {
        ast *e = ps_expr(p);
        if (!e) return -1;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            order_item *no = arena_alloc(p->ar, sizeof(order_item) * (size_t)cap);
            if (*n) memcpy(no, *items, sizeof(order_item) * (size_t)*n);
            *items = no;
        }
        order_item *o = &(*items)[(*n)++];
        o->e = e;
        o->nulls_first = -1;
        if (ps_order_dir(p, o)) return -1;
    } while (ps_opt(p, ","));
    return 0;
}

/* ORDER BY / LIMIT / OFFSET of a query (a SELECT or a set operation). */
static int order_limit(parser *p, select_stmt *s) {
    if (ps_kw(p, "order")) {
        if (ps_expect_kw(p, "by")) return -1;
        if (tok_is_kw(CUR(p), "all") && !tok_is_op(&p->t[p->pos + 1], "(")) {
            p->pos++;
            s->order_all = true;
            s->order = arena_alloc(p->ar, sizeof(order_item));
            s->norder = 1;
            s->order[0].nulls_first = -1;
            if (ps_order_dir(p, &s->order[0])) return -1;
        } else if (ps_order_list(p, &s->order, &s->norder)) {
            return -1;
        }
    }
    for (int k = 0; k < 2; k++) {
        if (s->limit < 0 && ps_kw(p, "limit")) {
            if (parse_int_lit(p, &s->limit, "a LIMIT count")) return -1;
        } else if (!s->offset && ps_kw(p, "offset")) {
            if (parse_int_lit(p, &s->offset, "an OFFSET count")) return -1;
        }
    }
    return 0;
}

static int expr_list(parser *p, ast ***v, int *n) {
    int cap = 0;
    do {
        ast *e = ps_expr(p);
        if (!e) return -1;
        *v = ps_list_push(p, *v, n, &cap, e);
    } while (ps_opt(p, ","));
    return 0;
}

/* SELECT * FROM <the FROM item at the cursor>: a PIVOT's, UNPIVOT's or SUMMARIZE's dataset. */
static select_stmt *star_from(parser *p) {
    select_stmt *src = arena_alloc(p->ar, sizeof *src);
    src->limit = -1;
    src->has_from = true;
    src->items = arena_alloc(p->ar, sizeof(sel_item));
    src->items[0].e = ps_node(p, A_STAR, CUR(p));
    src->nitems = 1;
    return ps_from(p, src) ? NULL : src;
}

/* The rest of UNPIVOT <dataset> ON <col>, ... [INTO NAME n VALUE v] (after its ON). */
static int unpivot_rest(parser *p, pivot_spec *pv) {
    pv->unpivot = true;
    pv->name_col = "name", pv->value_col = "value";
    if (expr_list(p, &pv->in, &pv->nin)) return -1;
    for (int i = 0; i < pv->nin; i++)
        if (pv->in[i]->kind != A_COL)
            return qv_err_set(p->err, QV_EINVAL, "UNPIVOT ON takes column names (line %d, column %d)", pv->in[i]->line,
                              pv->in[i]->col);
    if (!ps_kw(p, "into")) return 0;
    if (ps_expect_kw(p, "name") || !(pv->name_col = ps_ident(p, "a column name")) || ps_expect_kw(p, "value") ||
        !(pv->value_col = ps_ident(p, "a column name")))
        return -1;
    return 0;
}

/* PIVOT <dataset> ON <expr> [IN (...)] [USING agg [AS a], ...] [GROUP BY ...], or UNPIVOT ... (t: the
   keyword, not yet consumed). */
static select_stmt *pivot_stmt(parser *p, token *t) {
    bool un = tok_is_kw(t, "unpivot");
    p->pos++;
    pivot_spec *pv = arena_alloc(p->ar, sizeof *pv);
    pv->line = t->line, pv->col = t->col;
    select_stmt *src = star_from(p);
    if (!src || ps_expect_kw(p, "on")) return NULL;
    pv->src = src;
    if (un) {
        if (unpivot_rest(p, pv)) return NULL;
        select_stmt *s = arena_alloc(p->ar, sizeof *s);
        s->limit = -1;
        s->has_from = true;
        s->pivot = pv;
        return s;
    }
    if (!(pv->on = ps_expr(p))) return NULL;
    if (pv->on->kind == A_IN && !pv->on->sub && !pv->on->neg) { /* ON sym IN ('A', 'B') parsed as one IN */
        pv->in = pv->on->args + 1;
        pv->nin = pv->on->nargs - 1;
        pv->on = pv->on->args[0];
    }
    if (tok_is_op(CUR(p), ","))
        return qv_err_set(p->err, QV_EUNSUPPORTED, "PIVOT ON takes one column or expression (line %d, column %d)",
                          CUR(p)->line, CUR(p)->col), NULL;
    if (ps_kw(p, "using")) {
        int cap = 0;
        do {
            ast *e = ps_expr(p);
            if (!e) return NULL;
            char *alias = ps_kw(p, "as") ? ps_ident(p, "an alias") : NULL;
            if (pv->naggs == cap) {
                cap = cap ? cap * 2 : 4;
                sel_item *na = arena_alloc(p->ar, sizeof(sel_item) * (size_t)cap);
                if (pv->naggs) memcpy(na, pv->aggs, sizeof(sel_item) * (size_t)pv->naggs);
                pv->aggs = na;
            }
            pv->aggs[pv->naggs++] = (sel_item){e, alias};
        } while (ps_opt(p, ","));
    }
    if (ps_kw(p, "group") && (ps_expect_kw(p, "by") || expr_list(p, &pv->group, &pv->ngroup))) return NULL;
    select_stmt *s = arena_alloc(p->ar, sizeof *s);
    s->limit = -1;
    s->has_from = true;
    s->pivot = pv;
    return s;
}

/* SUMMARIZE <table> | SUMMARIZE <query> (t: the keyword, not yet consumed). */
static select_stmt *summarize_stmt(parser *p, token *t) {
    p->pos++;
    pivot_spec *pv = arena_alloc(p->ar, sizeof *pv);
    pv->line = t->line, pv->col = t->col;
    pv->summarize = true;
    token *q = CUR(p);
    if (tok_is_kw(q, "select") || tok_is_kw(q, "with") || tok_is_kw(q, "values") || tok_is_op(q, "(")) {
        if (!(pv->src = ps_query(p))) return NULL;
    } else if (!(pv->src = star_from(p))) {
        return NULL;
    }
    select_stmt *s = arena_alloc(p->ar, sizeof *s);
    s->limit = -1;
    s->has_from = true;
    s->pivot = pv;
    return s;
}

/* One operand of a set operation: a SELECT, a VALUES list (as SELECT * FROM
   VALUES ..., so a statement, UNION ALL VALUES ... and the like), a PIVOT or
   a parenthesized query. */
static select_stmt *set_operand(parser *p) {
    if (tok_is_kw(CUR(p), "pivot") || tok_is_kw(CUR(p), "unpivot")) return pivot_stmt(p, CUR(p));
    if (tok_is_kw(CUR(p), "summarize")) return summarize_stmt(p, CUR(p));
    if (tok_is_kw(CUR(p), "values")) {
        from_item *f = ps_values_item(p);
        return f ? f->sub : NULL;
    }
    if (tok_is_op(CUR(p), "(")) {
        p->pos++;
        select_stmt *s = ps_query(p);
        if (!s || ps_expect_op(p, ")")) return NULL;
        return s;
    }
    return select_body(p);
}

static select_stmt *mk_setop(parser *p, int op, bool all, select_stmt *l, select_stmt *r) {
    select_stmt *s = arena_alloc(p->ar, sizeof *s);
    s->limit = -1;
    s->setop = op;
    s->set_all = all;
    s->set_l = l;
    s->set_r = r;
    return s;
}

static int setop_kw(parser *p) {
    token *t = CUR(p);
    return tok_is_kw(t, "union") ? SET_UNION : tok_is_kw(t, "intersect") ? SET_INTERSECT
         : tok_is_kw(t, "except") ? SET_EXCEPT : SET_NONE;
}

/* After the operator: [ALL | DISTINCT] [BY NAME] (BY NAME only after UNION, as DuckDB). */
static int setop_modifiers(parser *p, int op, bool *all, bool *by_name) {
    *all = ps_kw(p, "all");
    if (!*all) ps_kw(p, "distinct");
    *by_name = false;
    if (!tok_is_kw(CUR(p), "by")) return 0;
    if (op != SET_UNION)
        return qv_err_set(p->err, QV_EINVAL, "BY NAME is only for UNION [ALL], not %s (line %d, column %d)",
                          op == SET_INTERSECT ? "INTERSECT" : "EXCEPT", CUR(p)->line, CUR(p)->col);
    p->pos++;
    if (ps_expect_kw(p, "name")) return -1;
    *by_name = true;
    return 0;
}

/* INTERSECT binds tighter than UNION and EXCEPT. */
static select_stmt *set_term(parser *p) {
    select_stmt *l = set_operand(p);
    while (l && setop_kw(p) == SET_INTERSECT) {
        p->pos++;
        bool all, by_name;
        if (setop_modifiers(p, SET_INTERSECT, &all, &by_name)) return NULL;
        select_stmt *r = set_operand(p);
        if (!r) return NULL;
        l = mk_setop(p, SET_INTERSECT, all, l, r);
    }
    return l;
}

static void cte_push(parser *p, char *name, select_stmt *sel) {
    if (p->nctes == p->capctes) {
        int nc = p->capctes ? p->capctes * 2 : 8;
        void *n = arena_alloc(p->ar, sizeof(*p->ctes) * (size_t)nc);
        if (p->nctes) memcpy(n, p->ctes, sizeof(*p->ctes) * (size_t)p->nctes);
        p->ctes = n;
        p->capctes = nc;
    }
    p->ctes[p->nctes].name = name;
    p->ctes[p->nctes].sel = sel;
    p->nctes++;
}

/* With RECURSIVE a CTE's name is in scope inside its own body, as a
   placeholder (rec_ref); a body `anchor UNION [ALL] step` that read it
   becomes the recursive CTE (rec). */
static select_stmt *recursive_cte(parser *p, char *name, char **cols, int ncols, token *at) {
    rec_cte *rc = arena_alloc(p->ar, sizeof *rc);
    rc->name = name, rc->cols = cols, rc->ncols = ncols;
    rc->line = at->line, rc->col = at->col;
    select_stmt *ref = arena_alloc(p->ar, sizeof *ref);
    ref->limit = -1;
    ref->rec_ref = rc;
    int slot = p->nctes;
    cte_push(p, name, ref);
    select_stmt *q = ps_query(p);
    p->nctes = slot; /* the caller pushes what the name means from here on */
    if (!q) return NULL;
    if (!rc->referenced) return ncols ? ps_renamed(p, q, NULL, name, cols, ncols) : q;
    if (q->setop != SET_UNION || q->set_by_name || q->norder || q->limit >= 0 || q->offset)
        return qv_err_set(p->err, QV_EUNSUPPORTED, "recursive CTE %s (line %d, column %d) must be <anchor> UNION [ALL] "
                          "<step>, without ORDER BY or LIMIT", name, at->line, at->col), NULL;
    rc->anchor = q->set_l, rc->step = q->set_r, rc->all = q->set_all;
    select_stmt *s = arena_alloc(p->ar, sizeof *s);
    s->limit = -1;
    s->has_from = true;
    s->rec = rc;
    return s;
}

static int with_clause(parser *p) {
    if (!ps_kw(p, "with")) return 0;
    bool recursive = ps_kw(p, "recursive");
    do {
        token *at = CUR(p);
        char *name = ps_ident(p, "a CTE name"), **cols = NULL;
        int ncols = 0;
        if (!name || (tok_is_op(CUR(p), "(") && ps_column_aliases(p, &cols, &ncols))) return -1;
        if (ps_expect_kw(p, "as") || ps_expect_op(p, "(")) return -1;
        select_stmt *q = recursive ? recursive_cte(p, name, cols, ncols, at) : ps_query(p);
        if (!q || ps_expect_op(p, ")")) return -1;
        if (ncols && !recursive) q = ps_renamed(p, q, NULL, name, cols, ncols); /* WITH c(a, b) AS (...) */
        cte_push(p, name, q);
    } while (ps_opt(p, ","));
    return 0;
}

select_stmt *ps_query(parser *p) {
    if (++p->depth > 50) {
        qv_err_set(p->err, QV_EINVAL, "subqueries nested too deeply");
        return NULL;
    }
    int saved_ctes = p->nctes;
    if (with_clause(p)) return NULL;
    select_stmt *l = set_term(p);
    for (int op; l && (op = setop_kw(p)) != SET_NONE;) {
        p->pos++;
        bool all, by_name;
        if (setop_modifiers(p, op, &all, &by_name)) return NULL;
        select_stmt *r = set_term(p);
        if (!r) return NULL;
        l = mk_setop(p, op, all, l, r);
        l->set_by_name = by_name;
    }
    if (!l) return NULL;
    /* ORDER BY / LIMIT after a parenthesized single query or a set operation apply to the whole */
    if ((tok_is_kw(CUR(p), "order") || tok_is_kw(CUR(p), "limit") || tok_is_kw(CUR(p), "offset")) && !l->setop &&
        (l->norder || l->limit >= 0 || l->offset))
        l = mk_setop(p, SET_NONE, false, l, NULL); /* a wrapper: (SELECT ... LIMIT 1) ORDER BY ... */
    if (order_limit(p, l)) return NULL;
    p->nctes = saved_ctes;
    p->depth--;
    return l;
}

static int parse_create(parser *p, stmt *s) {
    s->kind = S_CREATE;
    if (ps_kw(p, "if")) {
        if (ps_expect_kw(p, "not") || ps_expect_kw(p, "exists")) return -1;
        s->if_flag = true;
    }
    if (!(s->table = ps_ident(p, "a table name"))) return -1;
    qv_schema_init(&s->schema);
    if (ps_kw(p, "as")) return (s->sel = ps_query(p)) ? 0 : -1; /* CREATE TABLE t AS SELECT ... (insert.c) */
    if (ps_expect_op(p, "(")) return -1;
    s->has_schema = true;
    for (;;) {
        token *ct = CUR(p);
        char *name = ps_ident(p, "a column name");
        if (!name) return -1;
        qv_type ty;
        if (ps_type(p, &ty)) return -1;
        bool nullable = true;
        for (;;) {
            if (ps_kw(p, "not")) {
                if (ps_expect_kw(p, "null")) return -1;
                nullable = false;
            } else if (ps_kw(p, "null")) {
                nullable = true;
            } else break;
        }
        if (qv_schema_find(&s->schema, name) >= 0)
            return qv_err_set(p->err, QV_EINVAL, "duplicate column '%s' at line %d, column %d", name, ct->line, ct->col);
        sql_schema_add(&s->schema, name, ty, nullable);
        if (ps_opt(p, ")")) break;
        if (ps_expect_op(p, ",")) return -1;
    }
    return 0;
}

static int parse_insert(parser *p, stmt *s) {
    s->kind = S_INSERT;
    if (ps_expect_kw(p, "into")) return -1;
    if (!(s->table = ps_ident(p, "a table name"))) return -1;
    if (tok_is_op(CUR(p), "(") && !tok_is_kw(&p->t[p->pos + 1], "select")) {
        p->pos++;
        int cap = 0;
        for (;;) {
            char *c = ps_ident(p, "a column name");
            if (!c) return -1;
            if (s->ncols == cap) {
                cap = cap ? cap * 2 : 8;
                char **nc = arena_alloc(p->ar, sizeof(char *) * (size_t)cap);
                if (s->ncols) memcpy(nc, s->cols, sizeof(char *) * (size_t)s->ncols);
                s->cols = nc;
            }
            s->cols[s->ncols++] = c;
            if (ps_opt(p, ")")) break;
            if (ps_expect_op(p, ",")) return -1;
        }
    }
    if (ps_kw(p, "values")) {
        int cap = 0;
        do {
            token *rt = CUR(p);
            if (ps_expect_op(p, "(")) return -1;
            ast **row = NULL;
            int n = 0, rcap = 0;
            for (;;) {
                ast *e = ps_expr(p);
                if (!e) return -1;
                row = ps_list_push(p, row, &n, &rcap, e);
                if (ps_opt(p, ")")) break;
                if (ps_expect_op(p, ",")) return -1;
            }
            if (s->nrows && n != s->rowlen)
                return qv_err_set(p->err, QV_EINVAL, "VALUES row at line %d, column %d has %d values, the first row has %d",
                                  rt->line, rt->col, n, s->rowlen);
            s->rowlen = n;
            if (s->nrows == cap) {
                cap = cap ? cap * 2 : 16;
                ast ***nr = arena_alloc(p->ar, sizeof(ast **) * (size_t)cap);
                if (s->nrows) memcpy(nr, s->rows, sizeof(ast **) * (size_t)s->nrows);
                s->rows = nr;
            }
            s->rows[s->nrows++] = row;
        } while (ps_opt(p, ","));
        return 0;
    }
    if (!tok_is_kw(CUR(p), "select") && !tok_is_kw(CUR(p), "with") && !tok_is_op(CUR(p), "("))
        return ps_syntax(p, "VALUES or SELECT");
    if (!(s->sel = ps_query(p))) return -1;
    return 0;
}

/* DELETE FROM t [[AS] alias] [WHERE expr]: kept as SELECT 1 FROM t WHERE expr,
   the rows that statement would return being the ones to delete. */
static int parse_delete(parser *p, stmt *s) {
    s->kind = S_DELETE;
    if (ps_expect_kw(p, "from")) return -1;
    token *tt = CUR(p);
    if (!(s->table = ps_ident(p, "a table name"))) return -1;
    select_stmt *q = arena_alloc(p->ar, sizeof *q);
    q->limit = -1;
    q->has_from = true;
    q->table = s->table;
    q->table_line = tt->line;
    q->table_col = tt->col;
    if (ps_kw(p, "as") && !(q->alias = ps_ident(p, "an alias"))) return -1;
    if (!q->alias && (CUR(p)->kind == TK_IDENT || CUR(p)->kind == TK_QIDENT) && !ps_is_reserved(CUR(p)))
        q->alias = ps_ident(p, "an alias");
    if (ps_kw(p, "where") && !(q->where = ps_expr(p))) return -1;
    ast *one = arena_alloc(p->ar, sizeof *one);
    one->kind = A_INT;
    one->name = arena_strdup(p->ar, "1");
    one->ival = 1;
    one->fval = 1;
    one->line = tt->line;
    one->col = tt->col;
    one->height = 1;
    q->items = arena_alloc(p->ar, sizeof *q->items);
    q->items[0].e = one;
    q->nitems = 1;
    s->sel = q;
    return 0;
}

/* ALTER TABLE t SET RETENTION { INTERVAL '30 days' [ON column] | NONE } */
static int parse_alter(parser *p, stmt *s) {
    if (ps_expect_kw(p, "table") || !(s->table = ps_ident(p, "a table name"))) return -1;
    if (ps_expect_kw(p, "set") || ps_expect_kw(p, "retention")) return -1;
    s->kind = S_RETENTION;
    if (ps_kw(p, "none")) return 0;
    if (ps_expect_kw(p, "interval")) return -1;
    token *t = CUR(p);
    if (t->kind != TK_STRING) return ps_syntax(p, "an interval string such as '30 days'");
    if (qv_interval_parse(t->text, strlen(t->text), &s->interval_ns) || s->interval_ns <= 0) {
        qv_err_set(p->err, QV_EINVAL, "%d:%d: retention interval '%s' is not a positive interval", t->line, t->col,
                   t->text);
        return -1;
    }
    p->pos++;
    if (ps_kw(p, "on") && !(s->column = ps_ident(p, "a TIMESTAMP column"))) return -1;
    return 0;
}

static int parse_one(parser *p, stmt *s) {
    token *t = CUR(p);
    if (tok_is_kw(t, "select") || tok_is_kw(t, "with") || tok_is_kw(t, "values") || tok_is_kw(t, "pivot") ||
        tok_is_kw(t, "unpivot") || tok_is_kw(t, "summarize") ||
        (tok_is_op(t, "(") && (tok_is_kw(&p->t[p->pos + 1], "select") || tok_is_kw(&p->t[p->pos + 1], "with") ||
                               tok_is_kw(&p->t[p->pos + 1], "pivot") || tok_is_kw(&p->t[p->pos + 1], "unpivot") ||
                               tok_is_op(&p->t[p->pos + 1], "(")))) {
        s->kind = S_SELECT;
        return (s->sel = ps_query(p)) ? 0 : -1;
    }
    if (ps_kw(p, "create")) {
        if (ps_expect_kw(p, "table")) return -1;
        return parse_create(p, s);
    }
    if (ps_kw(p, "drop")) {
        if (ps_expect_kw(p, "table")) return -1;
        s->kind = S_DROP;
        if (ps_kw(p, "if")) {
            if (ps_expect_kw(p, "exists")) return -1;
            s->if_flag = true;
        }
        return (s->table = ps_ident(p, "a table name")) ? 0 : -1;
    }
    if (ps_kw(p, "truncate")) {
        s->kind = S_TRUNCATE;
        ps_kw(p, "table");
        return (s->table = ps_ident(p, "a table name")) ? 0 : -1;
    }
    if (ps_kw(p, "alter")) return parse_alter(p, s);
    if (ps_kw(p, "delete")) return parse_delete(p, s);
    if (tok_is_kw(t, "insert")) {
        p->pos++;
        return parse_insert(p, s);
    }
    if (ps_kw(p, "show")) {
        if (ps_expect_kw(p, "tables")) return -1;
        s->kind = S_SHOW;
        return 0;
    }
    if (ps_kw(p, "describe") || ps_kw(p, "desc")) {
        s->kind = S_DESCRIBE;
        token *q = CUR(p);
        if (tok_is_kw(q, "select") || tok_is_kw(q, "with") || tok_is_kw(q, "values") || tok_is_kw(q, "pivot") ||
            tok_is_kw(q, "unpivot") || tok_is_op(q, "(")) /* DESCRIBE <query>: the columns it returns */
            return (s->sel = ps_query(p)) ? 0 : -1;
        ps_kw(p, "table");
        return (s->table = ps_ident(p, "a table name")) ? 0 : -1;
    }
    if (ps_kw(p, "explain")) {
        s->kind = S_EXPLAIN;
        s->inner = arena_alloc(p->ar, sizeof(stmt));
        if (!tok_is_kw(CUR(p), "select") && !tok_is_kw(CUR(p), "with") && !tok_is_op(CUR(p), "(") &&
            !tok_is_kw(CUR(p), "delete") && !tok_is_kw(CUR(p), "values") && !tok_is_kw(CUR(p), "pivot") &&
            !tok_is_kw(CUR(p), "unpivot"))
            return ps_syntax(p, "SELECT or DELETE");
        return parse_one(p, s->inner);
    }
    return ps_syntax(p, "a statement (SELECT, CREATE, DROP, INSERT, SHOW, DESCRIBE, EXPLAIN, TRUNCATE, ALTER)");
}

int parse_stmt(arena *ar, const char *text, size_t len, stmt **out, qv_err *err) {
    token *toks;
    int n;
    qv_err_clear(err);
    if (lex_all(ar, text, len, &toks, &n, err)) return err->code;
    parser p = {.ar = ar, .t = toks, .n = n, .err = err};
    stmt *s = arena_alloc(ar, sizeof *s);
    int rc = parse_one(&p, s);
    if (!rc) {
        ps_opt(&p, ";");
        if (CUR(&p)->kind != TK_EOF) rc = ps_syntax(&p, "end of statement");
    }
    s->nparams = p.nqmark > p.maxparam ? p.nqmark : p.maxparam;
    free(toks);
    if (rc) {
        if (!err->code) qv_err_set(err, QV_EINVAL, "syntax error");
        stmt_free(s);
        return err->code;
    }
    *out = s;
    return 0;
}

void stmt_free(stmt *s) {
    if (!s) return;
    if (s->has_schema) qv_schema_free(&s->schema);
    s->has_schema = false;
    if (s->inner) stmt_free(s->inner);
}

static bool streq_ci(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcasecmp(a, b) == 0;
}

bool ast_equal(const ast *a, const ast *b) {
    if (a == b) return true;
    if (!a || !b || a->kind != b->kind || a->op != b->op || a->nargs != b->nargs) return false;
    if (a->neg != b->neg || a->distinct != b->distinct || a->star != b->star || a->cast_type != b->cast_type ||
        a->norder != b->norder || a->order_desc != b->order_desc || a->sub != b->sub ||
        a->ignore_nulls != b->ignore_nulls || !win_spec_equal(a->over, b->over))
        return false;
    switch (a->kind) {
    case A_INT: case A_BOOL: case A_TSLIT: case A_INTERVAL: case A_PARAM:
        if (a->ival != b->ival || a->months != b->months) return false;
        break;
    case A_FLOAT:
        if (a->fval != b->fval) return false;
        break;
    case A_STR:
        if (strcmp(a->name, b->name)) return false;
        break;
    case A_COL:
        if (!streq_ci(a->name, b->name)) return false;
        if (a->qual && b->qual && !streq_ci(a->qual, b->qual)) return false;
        break;
    case A_FUNC: case A_EXTRACT:
        if (!streq_ci(a->name, b->name)) return false;
        break;
    default: break;
    }
    for (int i = 0; i < a->nargs; i++)
        if (!ast_equal(a->args[i], b->args[i])) return false;
    return true;
}
