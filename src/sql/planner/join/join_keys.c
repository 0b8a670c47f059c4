/* A join node's conditions: USING columns and equalities between the two
   sides become hash keys (over each side's own columns), the rest one
   residual over [left..., right...]. */
#include "join_ctx.h"

#include <string.h>
#include <strings.h>

static bool cols_in(const bexpr *e, int lo, int hi, bool *any) {
    if (e->kind == B_COL) {
        *any = true;
        return e->col >= lo && e->col < hi;
    }
    for (int i = 0; i < e->nargs; i++)
        if (!cols_in(e->args[i], lo, hi, any)) return false;
    return true;
}

bexpr *plan_shift_cols(arena *ar, const bexpr *e, int by) {
    bexpr *c = arena_alloc(ar, sizeof *c);
    *c = *e;
    if (e->kind == B_COL) c->col = e->col - by;
    if (e->nargs) {
        c->args = arena_alloc(ar, sizeof(bexpr *) * (size_t)e->nargs);
        for (int i = 0; i < e->nargs; i++) c->args[i] = plan_shift_cols(ar, e->args[i], by);
    }
    return c;
}

static int find_using(jctx *j, const scope *sc, int lo, int hi, const char *name, const from_item *f) {
    int found = -1;
    for (int i = lo; i < hi; i++)
        if (!sc->cols[i].hidden && !strcasecmp(sc->cols[i].name, name)) {
            if (found >= 0)
                return qv_err_set(j->err, QV_EINVAL, "column '%s' in USING is ambiguous (line %d, column %d)", name, f->line, f->col), -2;
            found = i;
        }
    if (found < 0)
        return qv_err_set(j->err, QV_EINVAL, "column '%s' in USING is not on both sides of the join (line %d, column %d)", name,
                          f->line, f->col), -2;
    return found;
}

/* The names of the leaves under f into *v (duplicates kept). */
static void names_under(jctx *j, const from_item *f, char ***v, int *n, int *cap) {
    if (f->kind == FR_JOIN) {
        names_under(j, f->l, v, n, cap);
        names_under(j, f->r, v, n, cap);
        return;
    }
    for (int k = 0; k < j->nnodes; k++) {
        const jnode *o = &j->nodes[k];
        if (o->leaf < 0 || o->f != f) continue;
        for (int i = 0; i < o->nnames; i++) {
            if (*n == *cap) {
                int nc = *cap ? *cap * 2 : 16;
                char **nv = arena_alloc(j->ar, sizeof(char *) * (size_t)nc);
                if (*n) memcpy(nv, *v, sizeof(char *) * (size_t)*n);
                *v = nv;
                *cap = nc;
            }
            (*v)[(*n)++] = o->names[i];
        }
    }
}

static bool has_name(char **v, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcasecmp(v[i], name)) return true;
    return false;
}

int join_natural_resolve(jctx *j, from_item *f) {
    if (!f || f->kind != FR_JOIN) return 0;
    if (join_natural_resolve(j, f->l) || join_natural_resolve(j, f->r)) return j->err->code;
    if (!f->natural || f->nusing) return 0; /* resolved already when the statement is planned again */
    char **l = NULL, **r = NULL, **u;
    int nl = 0, capl = 0, nr = 0, capr = 0, nu = 0;
    names_under(j, f->l, &l, &nl, &capl);
    names_under(j, f->r, &r, &nr, &capr);
    u = arena_alloc(j->ar, sizeof(char *) * (size_t)(nl + 1));
    for (int i = 0; i < nl; i++)
        if (has_name(r, nr, l[i]) && !has_name(u, nu, l[i])) u[nu++] = l[i];
    if (!nu)
        return qv_err_set(j->err, QV_EINVAL, "NATURAL JOIN at line %d, column %d: the two sides have no column name in "
                          "common; use CROSS JOIN for a cross product", f->line, f->col);
    f->using_cols = u;
    f->nusing = nu;
    return 0;
}

/* Conditions of a join node into hash keys (equalities across the sides) and a residual. */
int join_keys_split(jctx *j, jnode *n, scope *cs, int nl, join_spec *sp, bexpr **ucoal, int *uli) {
    const from_item *f = n->f;
    int nr = cs->n - nl, cap = f->nusing + n->nconds + 1;
    planner_env env;
    binder b = join_binder_make(j, cs, &env);
    b.clause = "ON";
    sp->lkeys = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap);
    sp->rkeys = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap);
    for (int u = 0; u < f->nusing; u++) {
        int li = find_using(j, cs, 0, nl, f->using_cols[u], f);
        int ri = li < 0 ? -2 : find_using(j, cs, nl, nl + nr, f->using_cols[u], f);
        if (li < 0 || ri < 0) return j->err->code;
        bexpr *x = mk_col(j->ar, li, cs->cols[li].type, cs->cols[li].tz);
        bexpr *y = mk_col(j->ar, ri, cs->cols[ri].type, cs->cols[ri].tz);
        ast at = {.line = f->line, .col = f->col};
        if (bd_unify(&b, &at, &x, &y, "join on")) return j->err->code;
        sp->lkeys[sp->nkeys] = x;
        sp->rkeys[sp->nkeys++] = plan_shift_cols(j->ar, y, nl);
        cs->cols[ri].hidden = true;
        /* RIGHT / FULL JOIN USING: the visible column is the first non-NULL of the two */
        bexpr *co = bd_mk(&b, B_COALESCE, x->type, 2);
        co->args[0] = x;
        co->args[1] = y;
        memcpy(co->tz, x->tz, sizeof co->tz);
        ucoal[u] = co;
        uli[u] = li;
    }
    /* a IS NOT DISTINCT FROM b across the sides: hash keys whose NULLs match
       each other, but the table's null_eq is one flag for all its keys, so
       they are keys only when no = key exists; else they stay residual */
    bexpr **ndl = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap), **ndr = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap),
          **nde = arena_alloc(j->ar, sizeof(bexpr *) * (size_t)cap);
    int nnd = 0;
    for (int i = 0; i < n->nconds; i++) {
        bexpr *e = bind_expr(&b, n->conds[i]);
        if (!e) return j->err->code;
        if (bind_need_bool(&b, e, n->conds[i])) return j->err->code;
        if (e->kind == B_BINARY && (e->op == OP_EQ || e->op == OP_NOT_DISTINCT)) {
            bool a0 = false, a1 = false, s0 = false, s1 = false;
            bexpr *l = NULL, *r = NULL;
            if (cols_in(e->args[0], 0, nl, &a0) && a0 && cols_in(e->args[1], nl, nl + nr, &a1) && a1)
                l = e->args[0], r = e->args[1];
            else if (cols_in(e->args[1], 0, nl, &s0) && s0 && cols_in(e->args[0], nl, nl + nr, &s1) && s1)
                l = e->args[1], r = e->args[0];
            if (l && e->op == OP_EQ) {
                sp->lkeys[sp->nkeys] = l;
                sp->rkeys[sp->nkeys++] = plan_shift_cols(j->ar, r, nl);
                continue;
            }
            if (l) {
                ndl[nnd] = l;
                ndr[nnd] = r;
                nde[nnd++] = e;
                continue;
            }
        }
        sp->residual = bd_and(&b, sp->residual, e);
    }
    if (sp->nkeys == 0 && nnd > 0) {
        for (int i = 0; i < nnd; i++) {
            sp->lkeys[i] = ndl[i];
            sp->rkeys[i] = plan_shift_cols(j->ar, ndr[i], nl);
        }
        sp->nkeys = nnd;
        sp->null_eq = true;
    } else {
        for (int i = 0; i < nnd; i++) sp->residual = bd_and(&b, sp->residual, nde[i]);
    }
    return 0;
}
