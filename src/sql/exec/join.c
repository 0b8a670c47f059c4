/* Hash join: the operator, its states (join_int.h) and its parallel form,
   where clones probe one shared table built before any of them runs. */
#include "join_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store_init(vec *v, qv_type t) {
    vec_init(v, t);
    vec_reset(v, t, 16);
    v->n = 0;
}

static void attach_master(join_op *j) {
    const join_op *m = j->master;
    j->bcols = m->bcols;
    j->bk = m->bk;
    j->nbc = m->nbc;
    j->bn = m->bn;
    j->tab = m->tab;
    j->int1 = m->int1;
    j->perfect = m->perfect;
    j->built = true;
}

static int join_next(op *o, chunk **out, qv_err *err) {
    join_op *j = (join_op *)o;
    if (!j->built) {
        if (j->master) {
            attach_master(j);
        } else {
            if (join_side_build(j, err)) return err->code;
            j->built = true;
        }
    }
    for (;;) {
        if (j->phase == 0) {
            if (!j->pc) {
                if (join_probe_load(j, err)) return err->code;
                if (!j->pc && j->master) { /* a clone: its scan may be pointed at another row group */
                    *out = NULL;
                    return 0;
                }
                if (!j->pc) {
                    j->phase = 1;
                    continue;
                }
            }
            if (j->prow < chunk_active(j->pc)) {
                int n = join_pairs_collect(j);
                if (n == 0) continue;
                int ns = join_pairs_filter(j, n, err);
                if (ns < 0) return err->code;
                if (!j->semi && ns > 0) {
                    *out = &j->pairs;
                    return 0;
                }
                continue;
            }
            if (!j->ptail) {
                j->ptail = true;
                if (join_tail_emit(j) > 0) {
                    *out = j->semi ? &j->out : &j->pairs;
                    return 0;
                }
            }
            j->pc = NULL;
            continue;
        }
        if (j->phase == 1 && j->unmatched_build && join_unmatched_emit(j) > 0) {
            *out = &j->pairs;
            return 0;
        }
        j->phase = 2;
        *out = NULL;
        return 0;
    }
}

static void join_free(op *o) {
    join_op *j = (join_op *)o;
    op_free(j->left);
    op_free(j->right);
    bool own = !j->master;
    for (int c = 0; c < j->nbc && own; c++) vec_free(&j->bcols[c]);
    for (int k = 0; k < j->nk; k++) {
        if (own) vec_free(&j->bk[k]);
        vec_free(&j->tk[k]);
        vec_free(&j->pk[k]);
    }
    if (!own) { /* the master's store */
        j->bcols = j->bk = NULL;
        memset(&j->tab, 0, sizeof j->tab);
    }
    free(j->bcols);
    free(j->bk);
    free(j->tk);
    free(j->pk);
    jtab_free(&j->tab);
    free(j->bused);
    chunk_free(&j->pairs);
    chunk_free(&j->out);
    vec_free(&j->tmp);
    qstate_release(o->qs, j->charged);
    free(o->types);
    free(j);
}

static void join_explain(op *o, qv_str *s, int depth) {
    join_op *j = (join_op *)o;
    static const char *nm[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS", "SEMI", "ANTI"};
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    if (j->master) {
        qv_str_appendf(s, "HASH JOIN PROBE %s keys=%d%s\n", nm[j->sp.jt], j->nk, j->sp.residual ? " +residual" : "");
        op_explain(j->left, s, depth + 1);
        return;
    }
    qv_str_appendf(s, "HASH JOIN %s keys=%d%s build=%s%s%s\n", nm[j->sp.jt], j->nk, j->sp.residual ? " +residual" : "",
                   j->sp.build_left ? "left" : "right", j->sp.null_eq ? " nulls-equal" : "", j->sp.consume ? " consume" : "");
    if (j->left) op_explain(j->left, s, depth + 1);
    if (j->right) op_explain(j->right, s, depth + 1);
}

op *op_hash_join_new(qstate *qs, op *left, op *right, const join_spec *spec) {
    join_op *j = qv_xcalloc(1, sizeof *j);
    j->left = left;
    j->right = right;
    j->sp = *spec;
    bool semi = spec->jt == JT_SEMI || spec->jt == JT_ANTI;
    if (semi) j->sp.build_left = false;
    j->semi = semi;
    j->probe_left = !j->sp.build_left;
    j->probe = j->probe_left ? left : right;
    j->build = j->probe_left ? right : left;
    j->pkeys = j->probe_left ? spec->lkeys : spec->rkeys;
    j->bkeys = j->probe_left ? spec->rkeys : spec->lkeys;
    j->nl = left->ncols;
    j->nr = right->ncols;
    j->nk = spec->nkeys;
    join_type jt = spec->jt;
    bool keep_left = jt == JT_LEFT || jt == JT_FULL, keep_right = jt == JT_RIGHT || jt == JT_FULL;
    j->unmatched_probe = j->probe_left ? keep_left : keep_right;
    j->unmatched_build = j->probe_left ? keep_right : keep_left;
    j->need_used = j->unmatched_build || spec->consume;
    j->int1 = !spec->null_eq && j->nk == 1 && type_pc(j->bkeys[0]->type) == PC_I && j->pkeys[0]->type == j->bkeys[0]->type &&
              j->bkeys[0]->type != T_NULL;
    j->nbc = j->build->ncols;
    j->bcols = qv_xcalloc((size_t)(j->nbc + 1), sizeof(vec));
    for (int c = 0; c < j->nbc; c++) store_init(&j->bcols[c], j->build->types[c]);
    j->bk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    j->tk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    j->pk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    for (int k = 0; k < j->nk; k++) {
        store_init(&j->bk[k], j->bkeys[k]->type);
        vec_init(&j->tk[k], j->bkeys[k]->type);
        vec_init(&j->pk[k], j->pkeys[k]->type);
    }
    int nout = j->nl + j->nr;
    qv_type *types = qv_xcalloc((size_t)(nout + 1), sizeof(qv_type));
    for (int c = 0; c < j->nl; c++) types[c] = left->types[c];
    for (int c = 0; c < j->nr; c++) types[j->nl + c] = right->types[c];
    chunk_init(&j->pairs, nout, types);
    j->pairs.sel = qv_xmalloc(sizeof(int) * CHUNK);
    chunk_init(&j->out, j->nl, types);
    vec_init(&j->tmp, QV_T_BOOL);
    j->base.name = "hash_join";
    j->base.ncols = semi ? j->nl : nout;
    j->base.types = types;
    j->base.next = join_next;
    j->base.free = join_free;
    j->base.explain = join_explain;
    j->base.qs = qs;
    return &j->base;
}

/* ---- parallel probing ---- */
static join_op *clone_of(qstate *qs, join_op *m, op *probe) {
    join_op *j = qv_xcalloc(1, sizeof *j);
    j->master = m;
    j->left = j->probe = probe;
    j->sp = m->sp;
    j->probe_left = true;
    j->semi = m->semi;
    j->unmatched_probe = m->unmatched_probe;
    j->nl = m->nl;
    j->nr = m->nr;
    j->nk = m->nk;
    j->pkeys = m->pkeys;
    j->bkeys = m->bkeys;
    j->tk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    j->pk = qv_xcalloc((size_t)(j->nk + 1), sizeof(vec));
    for (int k = 0; k < j->nk; k++) {
        vec_init(&j->tk[k], j->bkeys[k]->type);
        vec_init(&j->pk[k], j->pkeys[k]->type);
    }
    int nout = j->nl + j->nr;
    qv_type *types = qv_xcalloc((size_t)(nout + 1), sizeof(qv_type));
    memcpy(types, m->base.types, sizeof(qv_type) * (size_t)nout);
    chunk_init(&j->pairs, nout, types);
    j->pairs.sel = qv_xmalloc(sizeof(int) * CHUNK);
    chunk_init(&j->out, j->nl, types);
    vec_init(&j->tmp, QV_T_BOOL);
    j->base = m->base;
    j->base.types = types;
    j->base.qs = qs;
    return j;
}

typedef struct pjoin_op {
    op base;
    join_op *m;   /* owns the build child and the store */
    op *gather;   /* the clones' pipelines, row group by row group */
    int n;
} pjoin_op;

static int pjoin_next(op *o, chunk **out, qv_err *err) {
    pjoin_op *p = (pjoin_op *)o;
    if (!p->m->built) { /* on the calling thread, before any worker probes */
        if (join_side_build(p->m, err)) return err->code;
        p->m->built = true;
    }
    return p->gather->next(p->gather, out, err);
}

static void pjoin_free(op *o) {
    pjoin_op *p = (pjoin_op *)o;
    op_free(p->gather);
    op_free(&p->m->base);
    free(o->types);
    free(p);
}

static void pjoin_explain(op *o, qv_str *s, int depth) {
    pjoin_op *p = (pjoin_op *)o;
    static const char *nm[] = {"INNER", "LEFT", "RIGHT", "FULL", "CROSS", "SEMI", "ANTI"};
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "HASH JOIN %s keys=%d%s build=right, probed by %d workers\n", nm[p->m->sp.jt], p->m->nk,
                   p->m->sp.residual ? " +residual" : "", p->n);
    op_explain(p->m->right, s, depth + 1);
    op_explain(p->gather, s, depth + 1);
}

op *op_hash_join_master_new(qstate *qs, op *probe_shape, op *build, const join_spec *spec) {
    join_spec sp = *spec;
    sp.build_left = false;
    join_op *m = (join_op *)op_hash_join_new(qs, probe_shape, build, &sp);
    m->left = m->probe = NULL; /* the master only builds */
    return &m->base;
}

op *op_hash_join_clone_new(qstate *qs, op *master, op *probe) { return &clone_of(qs, (join_op *)master, probe)->base; }

op *op_join_prebuild_new(qstate *qs, op *master, op *child, int n) {
    join_op *m = (join_op *)master;
    pjoin_op *p = qv_xcalloc(1, sizeof *p);
    p->m = m;
    p->n = n;
    p->gather = child;
    p->base.name = "hash_join";
    p->base.next = pjoin_next;
    p->base.free = pjoin_free;
    p->base.explain = pjoin_explain;
    p->base.qs = qs;
    p->base.ncols = child->ncols;
    p->base.types = qv_xcalloc((size_t)(child->ncols + 1), sizeof(qv_type));
    memcpy(p->base.types, child->types, sizeof(qv_type) * (size_t)child->ncols);
    return &p->base;
}

op *op_hash_join_parallel_new(qstate *qs, op **probes, op **scans, int n, int nrg, op *build, const join_spec *spec) {
    op *m = op_hash_join_master_new(qs, probes[0], build, spec);
    op *kids[64];
    for (int w = 0; w < n; w++) kids[w] = op_hash_join_clone_new(qs, m, probes[w]);
    return op_join_prebuild_new(qs, m, op_gather_rounds_new(qs, kids, scans, n, 0, nrg), n);
}

/* ---- a probe side's columns by reference ---- */
typedef struct jin_op {
    op base;
    op *child;
    int n;
    int *cols;
    chunk out;
} jin_op;

static int jin_next(op *o, chunk **out, qv_err *err) {
    jin_op *p = (jin_op *)o;
    chunk *c;
    if (p->child->next(p->child, &c, err)) return err->code;
    if (!c) {
        *out = NULL;
        return 0;
    }
    for (int i = 0; i < p->n; i++) vec_borrow(&p->out.cols[i], &c->cols[p->cols[i]]);
    p->out.n = c->n;
    p->out.has_sel = c->has_sel;
    p->out.nsel = c->nsel;
    p->out.sel = c->sel; /* the child's, valid until its next call */
    *out = &p->out;
    return 0;
}

static void jin_free(op *o) {
    jin_op *p = (jin_op *)o;
    op_free(p->child);
    p->out.sel = NULL;
    chunk_free(&p->out);
    free(p->cols);
    free(o->types);
    free(p);
}

static void jin_explain(op *o, qv_str *s, int depth) {
    jin_op *p = (jin_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "PROJECT %d column%s (by reference, selection kept)\n", p->n, p->n == 1 ? "" : "s");
    op_explain(p->child, s, depth + 1);
}

op *op_join_input_new(qstate *qs, op *child, int n, const int *cols) {
    jin_op *p = qv_xcalloc(1, sizeof *p);
    p->child = child;
    p->n = n;
    p->cols = qv_xcalloc((size_t)(n + 1), sizeof(int));
    memcpy(p->cols, cols, sizeof(int) * (size_t)n);
    p->base.types = qv_xcalloc((size_t)(n + 1), sizeof(qv_type));
    for (int i = 0; i < n; i++) p->base.types[i] = child->types[cols[i]];
    chunk_init(&p->out, n, p->base.types);
    p->base.name = "join_input";
    p->base.ncols = n;
    p->base.next = jin_next;
    p->base.free = jin_free;
    p->base.explain = jin_explain;
    p->base.qs = qs;
    return &p->base;
}
