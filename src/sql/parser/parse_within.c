/* f(...) WITHIN GROUP (ORDER BY key [ASC|DESC] [NULLS FIRST|LAST]): the
   ordered-set aggregates, as the aggregates that take the key as their
   argument (DuckDB's rewrite): percentile_cont(q) -> quantile_cont(key, q),
   percentile_disc(q) -> quantile_disc(key, q), mode() -> mode(key); over a
   descending key the fraction is negated (counted from the top). NULLS
   FIRST / LAST changes nothing (NULL keys are skipped). */
#include "parser_int.h"

#include <stdio.h>
#include <strings.h>

/* The literal number q (A_INT / A_FLOAT, a leading minus already folded), or false. */
static bool literal_number(const ast *q, double *out) {
    if (q->kind == A_INT && !q->neg) { *out = (double)q->ival; return true; }
    if (q->kind == A_FLOAT || (q->kind == A_INT && q->neg)) { *out = q->fval; return true; }
    return false;
}

/* The fraction over a descending key: -q, which quantile_cont/disc read as q
   counted from the largest value (DuckDB's rewrite; q = 0 gives -0.0, still
   from the top). A literal q outside [0, 1] is refused here: negated, it
   would read as a valid quantile. */
static ast *percentile_fraction(parser *p, ast *f, ast *q, bool desc) {
    double v;
    if (!literal_number(q, &v)) {
        if (!desc) return q; /* the aggregate checks it once bound */
        qv_err_set(p->err, QV_EUNSUPPORTED, "%s(q) WITHIN GROUP (ORDER BY ... DESC) needs a literal q (line %d, column %d)",
                   f->name, q->line, q->col);
        return NULL;
    }
    if (!(v >= 0 && v <= 1)) { /* worded as the aggregate's own check */
        qv_err_set(p->err, QV_EINVAL, "aggregate %s: the quantile must be between 0 and 1, got %g (line %d, column %d)",
                   !strcasecmp(f->name, "percentile_cont") ? "quantile_cont" : "quantile_disc", v, q->line, q->col);
        return NULL;
    }
    if (!desc) return q;
    ast *r = ps_node(p, A_FLOAT, CUR(p));
    r->line = q->line;
    r->col = q->col;
    r->fval = -v;
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", r->fval);
    r->name = arena_strdup(p->ar, buf);
    r->height = 1;
    return r;
}

static ast *within_rewrite(parser *p, ast *f, ast *key, bool desc) {
    bool cont = !strcasecmp(f->name, "percentile_cont"), disc = !strcasecmp(f->name, "percentile_disc");
    bool mode = !strcasecmp(f->name, "mode");
    if (!cont && !disc && !mode) {
        qv_err_set(p->err, QV_EINVAL, "WITHIN GROUP is only for percentile_cont, percentile_disc and mode, not %s (line %d, column %d)",
                   f->name, f->line, f->col);
        return NULL;
    }
    int want = mode ? 0 : 1;
    if (f->nargs != want || f->star || f->norder) {
        qv_err_set(p->err, QV_EINVAL, "%s takes %s before WITHIN GROUP (line %d, column %d)", f->name,
                   mode ? "no arguments" : "one argument (the fraction)", f->line, f->col);
        return NULL;
    }
    ast **args = arena_alloc(p->ar, sizeof(ast *) * 2);
    args[0] = key;
    if (!mode) {
        args[1] = percentile_fraction(p, f, f->args[0], desc);
        if (!args[1]) return NULL;
    }
    f->args = args;
    f->nargs = want + 1;
    f->name = mode ? "mode" : cont ? "quantile_cont" : "quantile_disc";
    return ps_grown(p, f);
}

ast *ps_within_group(parser *p, ast *f) {
    if (!f || !tok_is_kw(CUR(p), "within")) return f;
    p->pos++;
    if (ps_expect_kw(p, "group") || ps_expect_op(p, "(") || ps_expect_kw(p, "order") || ps_expect_kw(p, "by")) return NULL;
    ast *key = ps_expr(p);
    if (!key) return NULL;
    order_item o = {.e = key, .nulls_first = -1};
    if (ps_order_dir(p, &o)) return NULL;
    if (tok_is_op(CUR(p), ",")) {
        qv_err_set(p->err, QV_EINVAL, "WITHIN GROUP takes one ORDER BY key (line %d, column %d)", CUR(p)->line, CUR(p)->col);
        return NULL;
    }
    if (ps_expect_op(p, ")")) return NULL;
    return within_rewrite(p, f, key, o.desc);
}
