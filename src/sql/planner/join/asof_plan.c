/* ASOF joins in a FROM tree. join_plan.c plans both sides and places the
   conditions (an ASOF join takes WHERE conjuncts only into its left side,
   never into its right, which would change the nearest row); this file
   turns the join's ON conjuncts (or USING list) into the operator's spec:
   equalities between the sides are keys, exactly one of >=, >, <=, <
   between them is the time condition, a conjunct over one side only gates
   that side's rows (outer joins keep them; inner ones had them pushed
   down), anything else is an error that says what ASOF accepts. */
#include "plan_int.h"
#include "asof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Which sides e reads: bit 1 the left columns [0, nl), bit 2 the right ones. */
static int sides(const bexpr *e, int nl) {
    int m = 0;
    if (e->kind == B_COL) m |= e->col < nl ? 1 : 2;
    for (int i = 0; i < e->nargs; i++) m |= sides(e->args[i], nl);
    return m;
}

static int flip(int op) { return op == OP_GE ? OP_LE : op == OP_GT ? OP_LT : op == OP_LE ? OP_GE : OP_GT; }

typedef struct asof_build {
    binder *b;
    arena *ar;
    asof_spec *sp;
    int nl, cap;
    int ineq_line, ineq_col;
    qv_err *err;
} asof_build;

static int add_key(asof_build *ab, bexpr *l, bexpr *r, int line, int col) {
    if (type_pc(l->type) != type_pc(r->type))
        return qv_err_set(ab->err, QV_EINVAL, "ASOF JOIN: cannot compare %s and %s (line %d, column %d)", type_name(l->type),
                          type_name(r->type), line, col);
    ab->sp->lkeys[ab->sp->nkeys] = l;
    ab->sp->rkeys[ab->sp->nkeys++] = plan_shift_cols(ab->ar, r, ab->nl);
    return 0;
}

static int set_time(asof_build *ab, bexpr *l, bexpr *r, int op, int line, int col) {
    if (ab->sp->ltime)
        return qv_err_set(ab->err, QV_EINVAL,
                          "ASOF JOIN takes exactly one inequality between the two sides; a second one is at line %d, column %d "
                          "(the first at line %d, column %d)",
                          line, col, ab->ineq_line, ab->ineq_col);
    qv_type t = l->type;
    if (t != r->type || !(type_is_num(t) || t == QV_T_TIMESTAMP || t == QV_T_DATE))
        return qv_err_set(ab->err, QV_EINVAL,
                          "ASOF JOIN inequality needs numbers, dates or timestamps on both sides, got %s and %s (line %d, column %d)",
                          type_name(l->type), type_name(r->type), line, col);
    ab->sp->ltime = l;
    ab->sp->rtime = plan_shift_cols(ab->ar, r, ab->nl);
    ab->sp->op = op;
    ab->ineq_line = line;
    ab->ineq_col = col;
    return 0;
}

/* One bound ON conjunct (a its text, for messages). */
static int classify(asof_build *ab, bexpr *e, const ast *a) {
    int nl = ab->nl;
    if (e->kind == B_BINARY && e->op >= OP_EQ && e->op <= OP_GE && e->op != OP_NE) {
        int s0 = sides(e->args[0], nl), s1 = sides(e->args[1], nl);
        bexpr *l = NULL, *r = NULL;
        int op = e->op;
        if (s0 == 1 && s1 == 2) {
            l = e->args[0];
            r = e->args[1];
        } else if (s0 == 2 && s1 == 1) {
            l = e->args[1];
            r = e->args[0];
            if (op != OP_EQ) op = flip(op);
        }
        if (l && op == OP_EQ) return add_key(ab, l, r, a->line, a->col);
        if (l) return set_time(ab, l, r, op, a->line, a->col);
    }
    int s = sides(e, nl);
    if (s == 3)
        return qv_err_set(ab->err, QV_EUNSUPPORTED,
                          "ASOF JOIN condition '%s' (line %d, column %d) is neither an equality nor an inequality between the two "
                          "sides; ON takes equalities, exactly one of >=, >, <=, < and conditions on one side, joined by AND",
                          ast_to_name(ab->ar, a), a->line, a->col);
    if (s == 2) ab->sp->rgate = bd_and(ab->b, ab->sp->rgate, plan_shift_cols(ab->ar, e, nl));
    else ab->sp->lgate = bd_and(ab->b, ab->sp->lgate, e);
    return 0;
}

static int visible(const scope *sc, int lo, int hi, const char *name) {
    int found = -1;
    for (int i = lo; i < hi; i++)
        if (!sc->cols[i].hidden && !strcasecmp(sc->cols[i].name, name)) {
            if (found >= 0) return -2;
            found = i;
        }
    return found;
}

/* USING (k1, ..., t): equalities on all but the last, which is the time (>=). */
static int using_conds(asof_build *ab, const from_item *f, scope *cs) {
    for (int u = 0; u < f->nusing; u++) {
        const char *nm = f->using_cols[u];
        int li = visible(cs, 0, ab->nl, nm), ri = visible(cs, ab->nl, cs->n, nm);
        if (li < 0 || ri < 0)
            return qv_err_set(ab->err, QV_EINVAL, "column '%s' in USING is %s (line %d, column %d)", nm,
                              li == -2 || ri == -2 ? "ambiguous" : "not on both sides of the join", f->line, f->col);
        bexpr *x = mk_col(ab->ar, li, cs->cols[li].type, cs->cols[li].tz);
        bexpr *y = mk_col(ab->ar, ri, cs->cols[ri].type, cs->cols[ri].tz);
        ast at = {.line = f->line, .col = f->col};
        if (bd_unify(ab->b, &at, &x, &y, "join on")) return ab->err->code;
        cs->cols[ri].hidden = true;
        int rc = u + 1 < f->nusing ? add_key(ab, x, y, f->line, f->col) : set_time(ab, x, y, OP_GE, f->line, f->col);
        if (rc) return rc;
    }
    return 0;
}

/* The join's logical node, under the WHERE conjuncts placed above it. */
static lnode *logical_of(arena *ar, const asof_in *in, const asof_spec *sp) {
    lnode *n = lg_join(ar, LG_ASOF_JOIN, in->f, in->conds, in->nconds, sp->nkeys, false, in->llogical, in->rlogical);
    return lg_filter(ar, in->npost ? ast_and(ar, in->post, in->npost) : NULL, n);
}

int plan_asof_join(sql_ctx *ctx, qstate *qs, arena *ar, const asof_in *in, scope *cs, int nl, op **root, lnode **logical,
                   qv_err *err) {
    const from_item *f = in->f;
    *root = NULL;
    if (f->jt != JT_INNER && f->jt != JT_LEFT && f->jt != JT_RIGHT && f->jt != JT_FULL)
        return qv_err_set(err, QV_EINVAL, "ASOF needs INNER, LEFT, RIGHT or FULL JOIN (line %d, column %d)", f->line, f->col);
    if (f->nusing && (f->jt == JT_RIGHT || f->jt == JT_FULL))
        return qv_err_set(err, QV_EUNSUPPORTED, "ASOF %s JOIN with USING is not supported; write the condition with ON (line %d, column %d)",
                          f->jt == JT_RIGHT ? "RIGHT" : "FULL", f->line, f->col);
    planner_env env = {.ctx = ctx, .qs = qs, .ar = ar};
    binder b = {.ar = ar, .err = err, .in = cs, .params = qs->params, .subquery = plan_subquery_expr, .planner = &env,
                .clause = "ON"};
    int cap = f->nusing + in->nconds + 1;
    asof_spec *sp = arena_alloc(ar, sizeof *sp);
    sp->jt = f->jt;
    sp->lkeys = arena_alloc(ar, sizeof(bexpr *) * (size_t)cap);
    sp->rkeys = arena_alloc(ar, sizeof(bexpr *) * (size_t)cap);
    asof_build ab = {.b = &b, .ar = ar, .sp = sp, .nl = nl, .cap = cap, .err = err};
    if (using_conds(&ab, f, cs)) return err->code;
    for (int i = 0; i < in->nconds; i++) {
        bexpr *e = bind_expr(&b, in->conds[i]);
        if (!e) return err->code;
        if (bind_need_bool(&b, e, in->conds[i])) return err->code;
        if (classify(&ab, e, in->conds[i])) return err->code;
    }
    if (!sp->ltime)
        return qv_err_set(err, QV_EINVAL,
                          "ASOF JOIN needs one inequality (>=, >, <=, <) between the two sides in ON, e.g. t.ts >= q.ts "
                          "(line %d, column %d)",
                          f->line, f->col);
    char label[160];
    snprintf(label, sizeof label, "ASOF JOIN at line %d, column %d", f->line, f->col);
    sp->label = arena_strdup(ar, label);
    if (in->T && in->ps) {
        in->ps->master = op_asof_master_new(qs, in->parts[0], in->rroot, sp);
        in->ps->prebuild = op_asof_prebuild_new;
        in->ps->parts = arena_alloc(ar, sizeof(op *) * (size_t)in->T);
        in->ps->scans = arena_alloc(ar, sizeof(op *) * (size_t)in->T);
        for (int w = 0; w < in->T; w++) {
            in->ps->parts[w] = op_asof_clone_new(qs, in->ps->master, in->parts[w]);
            in->ps->scans[w] = in->scans[w];
        }
        in->ps->n = in->T;
        in->ps->nrg = in->nrg;
    } else if (in->T) {
        *root = op_asof_parallel_new(qs, in->parts, in->scans, in->T, in->nrg, in->rroot, sp);
    } else {
        *root = op_asof_join_new(qs, in->lroot, in->rroot, sp);
    }
    *logical = logical_of(ar, in, sp);
    return 0;
}
