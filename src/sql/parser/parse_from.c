/* FROM clause: tables, subqueries, CTE references and joins
   (`,` / CROSS / [INNER] / LEFT / RIGHT / FULL [OUTER] JOIN ... ON | USING,
   each but CROSS also as ASOF ...),
   left-deep in the order written. A FROM of one table or subquery fills
   select_stmt's table/sub/alias as before; anything with a join builds a
   from_item tree in s->from. Everything lives in the parser's arena. */
#include "parser_int.h"

#include <string.h>
#include <strings.h>

static from_item *fr_new(parser *p, from_kind k, token *at) {
    from_item *f = arena_alloc(p->ar, sizeof *f);
    f->kind = k;
    f->line = at->line;
    f->col = at->col;
    return f;
}

static select_stmt *cte_find(parser *p, const char *name) {
    for (int i = p->nctes - 1; i >= 0; i--)
        if (!strcasecmp(p->ctes[i].name, name)) {
            select_stmt *s = p->ctes[i].sel;
            if (s->rec_ref) s->rec_ref->referenced = true; /* a recursive CTE read inside its own body */
            return s;
        }
    return NULL;
}

static bool alias_follows(parser *p) {
    token *t = CUR(p);
    if (t->kind == TK_QIDENT) return true;
    if (t->kind != TK_IDENT || ps_is_reserved(t)) return false;
    /* words that continue a FROM clause but are not reserved */
    static const char *cont[] = {"natural", "asof", "outer", "qualify", "window", "limit", NULL};
    for (int i = 0; cont[i]; i++)
        if (tok_is_kw(t, cont[i])) return false;
    return true;
}

static from_item *from_list(parser *p);

/* `(a, b, ...)` at the cursor: column aliases into *names / *n. */
int ps_column_aliases(parser *p, char ***names, int *n) {
    if (ps_expect_op(p, "(")) return -1;
    *n = 0;
    do {
        char *c = ps_ident(p, "a column alias");
        if (!c) return -1;
        char **nc = arena_alloc(p->ar, sizeof(char *) * (size_t)(*n + 1));
        if (*n) memcpy(nc, *names, sizeof(char *) * (size_t)*n);
        nc[(*n)++] = c;
        *names = nc;
    } while (ps_opt(p, ","));
    return ps_expect_op(p, ")");
}

/* SELECT * FROM q (a table when table is set), its first outputs renamed. */
select_stmt *ps_renamed(parser *p, select_stmt *q, char *table, char *alias, char **names, int n) {
    select_stmt *w = arena_alloc(p->ar, sizeof *w);
    w->items = arena_alloc(p->ar, sizeof(sel_item));
    w->items[0].e = arena_alloc(p->ar, sizeof(ast));
    w->items[0].e->kind = A_STAR;
    w->nitems = 1;
    w->has_from = true;
    w->table = table;
    w->sub = table ? NULL : q;
    w->alias = alias;
    w->limit = -1;
    w->out_names = names;
    w->nout_names = n;
    return w;
}

static from_item *from_primary(parser *p) {
    token *t = CUR(p);
    from_item *f;
    bool tf = false;
    if (tok_is_op(t, "(")) {
        token *n = &p->t[p->pos + 1];
        p->pos++;
        if (tok_is_kw(n, "values")) {
            /* a query: VALUES ... may go on with UNION, ORDER BY, ...; when it
               stays a plain VALUES list, its alias may name the columns */
            f = fr_new(p, FR_SUB, t);
            if (!(f->sub = ps_query(p))) return NULL;
            tf = f->sub->tfunc != NULL;
        } else if (tok_is_kw(n, "select") || tok_is_kw(n, "with") || tok_is_kw(n, "pivot") || tok_is_kw(n, "unpivot") ||
                   tok_is_kw(n, "summarize") || tok_is_op(n, "(")) {
            f = fr_new(p, FR_SUB, t);
            if (!(f->sub = ps_query(p))) return NULL;
        } else {
            if (!(f = from_list(p))) return NULL;
        }
        if (ps_expect_op(p, ")")) return NULL;
    } else if (tok_is_kw(t, "values") && tok_is_op(&p->t[p->pos + 1], "(")) {
        if (!(f = ps_values_item(p))) return NULL; /* FROM VALUES (...), ... without parentheses */
        tf = true;
    } else if ((t->kind == TK_IDENT || t->kind == TK_QIDENT) && tok_is_op(&p->t[p->pos + 1], "(") && !cte_find(p, t->text)) {
        if (!(f = ps_tfunc_item(p))) return NULL; /* name(args): a table function (parse_tfunc.c) */
        tf = true;
    } else {
        char *name = ps_ident(p, "a table name");
        if (!name) return NULL;
        select_stmt *cte = cte_find(p, name);
        f = fr_new(p, cte ? FR_SUB : FR_TABLE, t);
        if (cte) {
            f->sub = cte;
            f->alias = name;
        } else {
            f->table = name;
        }
    }
    if (ps_kw(p, "as")) {
        if (!(f->alias = ps_ident(p, "an alias"))) return NULL;
    } else if (alias_follows(p)) {
        f->alias = ps_ident(p, "an alias");
    }
    if (tf && ps_tfunc_alias(p, f)) return NULL;
    if (f->alias && tok_is_op(CUR(p), "(")) { /* x(a, b): the first columns renamed */
        char **names;
        int n;
        if (ps_column_aliases(p, &names, &n)) return NULL;
        f->sub = ps_renamed(p, f->sub, f->kind == FR_TABLE ? f->table : NULL, f->alias, names, n);
        f->kind = FR_SUB;
        f->table = NULL;
    }
    return f;
}

static int using_list(parser *p, from_item *j) {
    if (ps_expect_op(p, "(")) return -1;
    int cap = 0;
    for (;;) {
        char *c = ps_ident(p, "a column name");
        if (!c) return -1;
        if (j->nusing == cap) {
            cap = cap ? cap * 2 : 4;
            char **nc = arena_alloc(p->ar, sizeof(char *) * (size_t)cap);
            if (j->nusing) memcpy(nc, j->using_cols, sizeof(char *) * (size_t)j->nusing);
            j->using_cols = nc;
        }
        j->using_cols[j->nusing++] = c;
        if (ps_opt(p, ")")) return 0;
        if (ps_expect_op(p, ",")) return -1;
    }
}

/* The join keyword sequence at the cursor, consumed; -1 when none. */
static int join_kw(parser *p, bool *asof) {
    int save = p->pos;
    *asof = ps_kw(p, "asof");
    if (!*asof && ps_kw(p, "cross")) {
        if (ps_expect_kw(p, "join")) return -2;
        return JT_CROSS;
    }
    int jt = JT_INNER;
    if (ps_kw(p, "inner")) jt = JT_INNER;
    else if (ps_kw(p, "left")) jt = JT_LEFT;
    else if (ps_kw(p, "right")) jt = JT_RIGHT;
    else if (ps_kw(p, "full")) jt = JT_FULL;
    if (jt != JT_INNER) ps_kw(p, "outer");
    if (ps_kw(p, "join")) return jt;
    if (p->pos != save) {
        ps_syntax(p, "JOIN");
        return -2;
    }
    return -1;
}

static from_item *join_chain(parser *p) {
    from_item *l = from_primary(p);
    while (l) {
        token *t = CUR(p);
        bool natural = ps_kw(p, "natural"), asof;
        int jt = join_kw(p, &asof);
        if (jt == -2) return NULL;
        if (jt < 0 && natural) return ps_syntax(p, "JOIN"), NULL;
        if (jt < 0) break;
        if (natural && (asof || jt == JT_CROSS))
            return qv_err_set(p->err, QV_EINVAL, "NATURAL cannot be combined with %s JOIN (line %d, column %d)",
                              asof ? "ASOF" : "CROSS", t->line, t->col), NULL;
        from_item *r = from_primary(p);
        if (!r) return NULL;
        from_item *j = fr_new(p, FR_JOIN, t);
        j->jt = (join_type)jt;
        j->asof = asof;
        j->l = l;
        j->r = r;
        j->natural = natural;
        if (natural) {
            if (tok_is_kw(CUR(p), "on") || tok_is_kw(CUR(p), "using"))
                return qv_err_set(p->err, QV_EINVAL, "a NATURAL JOIN takes no ON or USING (line %d, column %d)",
                                  CUR(p)->line, CUR(p)->col), NULL;
        } else if (jt != JT_CROSS) {
            if (ps_kw(p, "on")) {
                if (!(j->on = ps_expr(p))) return NULL;
            } else if (ps_kw(p, "using")) {
                if (using_list(p, j)) return NULL;
            } else {
                ps_syntax(p, "ON or USING");
                return NULL;
            }
        }
        l = j;
    }
    return l;
}

static from_item *from_list(parser *p) {
    from_item *l = join_chain(p);
    while (l && tok_is_op(CUR(p), ",")) {
        token *t = CUR(p);
        p->pos++;
        from_item *r = join_chain(p);
        if (!r) return NULL;
        from_item *j = fr_new(p, FR_JOIN, t);
        j->jt = JT_CROSS;
        j->l = l;
        j->r = r;
        l = j;
    }
    return l;
}

int ps_from(parser *p, select_stmt *s) {
    token *t = CUR(p);
    s->table_line = t->line;
    s->table_col = t->col;
    from_item *f = from_list(p);
    if (!f) return p->err->code ? p->err->code : QV_EINVAL;
    if (f->kind == FR_TABLE) {
        s->table = f->table;
        s->alias = f->alias;
    } else if (f->kind == FR_SUB) {
        s->sub = f->sub;
        s->alias = f->alias;
    } else {
        s->from = f;
    }
    return 0;
}

/* ---- GROUP BY: expressions, ROLLUP (...), CUBE (...), GROUPING SETS (...) ---- */
typedef struct gsl { /* a list of grouping sets */
    ast ***sets;
    int *n;
    int count;
} gsl;

static void gsl_add(parser *p, gsl *l, ast **keys, int n) {
    ast ***ns = arena_alloc(p->ar, sizeof(ast **) * (size_t)(l->count + 1));
    int *nn = arena_alloc(p->ar, sizeof(int) * (size_t)(l->count + 1));
    if (l->count) {
        memcpy(ns, l->sets, sizeof(ast **) * (size_t)l->count);
        memcpy(nn, l->n, sizeof(int) * (size_t)l->count);
    }
    ns[l->count] = keys;
    nn[l->count] = n;
    l->sets = ns;
    l->n = nn;
    l->count++;
}

/* (e, ...) or e */
static int key_tuple(parser *p, ast ***keys, int *n) {
    int cap = 0;
    *keys = NULL;
    *n = 0;
    if (tok_is_op(CUR(p), "(")) {
        p->pos++;
        if (ps_opt(p, ")")) return 0;
        do {
            ast *e = ps_expr(p);
            if (!e) return -1;
            *keys = ps_list_push(p, *keys, n, &cap, e);
        } while (ps_opt(p, ","));
        return ps_expect_op(p, ")");
    }
    ast *e = ps_expr(p);
    if (!e) return -1;
    *keys = ps_list_push(p, *keys, n, &cap, e);
    return 0;
}

static int group_item(parser *p, gsl *out, bool *special) {
    bool rollup = tok_is_kw(CUR(p), "rollup") && tok_is_op(&p->t[p->pos + 1], "(");
    bool cube = tok_is_kw(CUR(p), "cube") && tok_is_op(&p->t[p->pos + 1], "(");
    if (rollup || cube) {
        p->pos++;
        ast **k;
        int n;
        if (key_tuple(p, &k, &n)) return -1;
        if (cube && n > 12) return qv_err_set(p->err, QV_EINVAL, "CUBE of more than 12 expressions");
        *special = true;
        if (rollup)
            for (int m = n; m >= 0; m--) gsl_add(p, out, k, m);
        else
            for (int mask = (1 << n) - 1; mask >= 0; mask--) {
                ast **sub = arena_alloc(p->ar, sizeof(ast *) * (size_t)(n + 1));
                int m = 0;
                for (int i = 0; i < n; i++)
                    if (mask & (1 << (n - 1 - i))) sub[m++] = k[i];
                gsl_add(p, out, sub, m);
            }
        return 0;
    }
    if (tok_is_kw(CUR(p), "grouping") && tok_is_kw(&p->t[p->pos + 1], "sets")) {
        p->pos += 2;
        *special = true;
        if (ps_expect_op(p, "(")) return -1;
        do {
            ast **k;
            int n;
            if (key_tuple(p, &k, &n)) return -1;
            gsl_add(p, out, k, n);
        } while (ps_opt(p, ","));
        return ps_expect_op(p, ")");
    }
    if (tok_is_op(CUR(p), "(") && tok_is_op(&p->t[p->pos + 1], ")")) {
        p->pos += 2;
        *special = true;
        gsl_add(p, out, NULL, 0);
        return 0;
    }
    ast *e = ps_expr(p);
    if (!e) return -1;
    ast **k = arena_alloc(p->ar, sizeof(ast *));
    k[0] = e;
    gsl_add(p, out, k, 1);
    return 0;
}

int ps_group_by(parser *p, select_stmt *s) {
    gsl acc = {0};
    bool special = false;
    gsl_add(p, &acc, NULL, 0); /* the product starts from one empty set */
    do {
        gsl item = {0};
        if (group_item(p, &item, &special)) return -1;
        gsl prod = {0};
        for (int a = 0; a < acc.count; a++)
            for (int b = 0; b < item.count; b++) {
                int n = acc.n[a] + item.n[b];
                ast **k = arena_alloc(p->ar, sizeof(ast *) * (size_t)(n + 1));
                if (acc.n[a]) memcpy(k, acc.sets[a], sizeof(ast *) * (size_t)acc.n[a]);
                if (item.n[b]) memcpy(k + acc.n[a], item.sets[b], sizeof(ast *) * (size_t)item.n[b]);
                gsl_add(p, &prod, k, n);
            }
        if (prod.count > 4096) return qv_err_set(p->err, QV_EINVAL, "GROUP BY makes more than 4096 grouping sets");
        acc = prod;
    } while (ps_opt(p, ","));
    /* s->group: every distinct key, in order of appearance */
    int cap = 0;
    for (int i = 0; i < acc.count; i++)
        for (int k = 0; k < acc.n[i]; k++) {
            bool seen = false;
            for (int g = 0; g < s->ngroup && !seen; g++) seen = ast_equal(s->group[g], acc.sets[i][k]);
            if (!seen) s->group = ps_list_push(p, s->group, &s->ngroup, &cap, acc.sets[i][k]);
        }
    if (special) {
        s->gsets = acc.sets;
        s->gset_n = acc.n;
        s->ngsets = acc.count;
    }
    return 0;
}
