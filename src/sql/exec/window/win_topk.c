/* The top-k form of the window operator, for QUALIFY row_number() OVER
   (PARTITION BY p ORDER BY o) <= k: the input streams through once, each
   partition keeps its k best rows so far (by the ORDER BY keys, earlier
   input first among ties), and only rows still among them at the end of a
   chunk are copied; nothing is sorted but the k survivors per partition.
   States: filling, then emitting the survivors partition by partition. */
#include "window.h"

#include <stdlib.h>
#include <string.h>

typedef struct topk_op {
    op base;
    op *child;
    bool *keep;
    const win_call *call;
    int ncalls, nin, nk;
    int64_t k;
    bexpr *colx;
    win_parter pt;
    vec *ktmp, tmp;
    value *ekeys;      /* slot * nk */
    uint8_t *enull;
    int64_t *eseq;
    int32_t *ecount, *eworst; /* per partition: entries used, the worst one */
    int32_t *pend;     /* per slot: the chunk row that must be copied into it, or -1 */
    int32_t *plist;    /* slots pending in this chunk */
    int npend;
    vec *mat;          /* kept input columns per slot */
    int64_t capparts, seq, charged;
    int32_t *pidbuf;
    bool built;
    int32_t *order;    /* output: slots in emission order */
    int64_t *rn, nout, emitted;
    chunk out;
} topk_op;

/* <0: slot a comes before the values of row r of the key vectors. */
static int cmp_slot_row(const topk_op *t, int64_t a, int r) {
    for (int j = 0; j < t->nk; j++) {
        bool na = t->enull[a * t->nk + j], nb = vec_null(&t->ktmp[j], r);
        if (na || nb) {
            if (na && nb) continue;
            int x = na ? 1 : -1;
            return t->call->nulls_first[j] ? -x : x;
        }
        const value *v = &t->ekeys[a * t->nk + j];
        int c = type_pc(t->ktmp[j].type) == PC_I ? (v->i < t->ktmp[j].i[r] ? -1 : v->i > t->ktmp[j].i[r])
                                                  : dbl_cmp(v->f, t->ktmp[j].f[r]);
        if (c) return t->call->desc[j] ? -c : c;
    }
    return -1; /* ties: the earlier row wins */
}

static int cmp_slots(const topk_op *t, int64_t a, int64_t b) {
    for (int j = 0; j < t->nk; j++) {
        bool na = t->enull[a * t->nk + j], nb = t->enull[b * t->nk + j];
        if (na || nb) {
            if (na && nb) continue;
            int x = na ? 1 : -1;
            return t->call->nulls_first[j] ? -x : x;
        }
        const value *u = &t->ekeys[a * t->nk + j], *v = &t->ekeys[b * t->nk + j];
        int c = type_pc(t->ktmp[j].type) == PC_I ? (u->i < v->i ? -1 : u->i > v->i) : dbl_cmp(u->f, v->f);
        if (c) return t->call->desc[j] ? -c : c;
    }
    return t->eseq[a] < t->eseq[b] ? -1 : t->eseq[a] > t->eseq[b];
}

static int grow_parts(topk_op *t, qv_err *err) {
    if (t->pt.nparts <= t->capparts) return 0;
    int64_t old = t->capparts, nc = old ? old * 2 : 16;
    while (nc < t->pt.nparts) nc *= 2;
    int64_t slots = nc * t->k;
    t->ekeys = qv_xrealloc(t->ekeys, sizeof(value) * (size_t)(slots * (t->nk ? t->nk : 1)));
    t->enull = qv_xrealloc(t->enull, (size_t)(slots * (t->nk ? t->nk : 1)));
    t->eseq = qv_xrealloc(t->eseq, sizeof(int64_t) * (size_t)slots);
    t->pend = qv_xrealloc(t->pend, sizeof(int32_t) * (size_t)slots);
    t->plist = qv_xrealloc(t->plist, sizeof(int32_t) * (size_t)slots);
    memset(t->pend + old * t->k, 0xff, sizeof(int32_t) * (size_t)((nc - old) * t->k));
    t->ecount = qv_xrealloc(t->ecount, sizeof(int32_t) * (size_t)nc);
    t->eworst = qv_xrealloc(t->eworst, sizeof(int32_t) * (size_t)nc);
    memset(t->ecount + old, 0, sizeof(int32_t) * (size_t)(nc - old));
    for (int c = 0; c < t->nin; c++)
        if (t->keep[c]) vec_grow(&t->mat[c], (int)slots);
    int64_t bytes = (nc - old) * t->k * (int64_t)(17 * t->nk + 16 + 9 * t->nin) + (nc - old) * 8;
    t->charged += bytes;
    t->capparts = nc;
    return qstate_charge(t->base.qs, bytes, err);
}

static void take_row(topk_op *t, int64_t slot, int r) {
    for (int j = 0; j < t->nk; j++) {
        value *v = &t->ekeys[slot * t->nk + j];
        t->enull[slot * t->nk + j] = vec_null(&t->ktmp[j], r);
        if (type_pc(t->ktmp[j].type) == PC_I) v->i = t->ktmp[j].i[r];
        else v->f = t->ktmp[j].f[r];
    }
    t->eseq[slot] = t->seq + r;
    if (t->pend[slot] < 0) t->plist[t->npend++] = (int32_t)slot;
    t->pend[slot] = r;
}

static void find_worst(topk_op *t, int32_t pid) {
    int64_t base = pid * t->k, w = base;
    for (int64_t s = base + 1; s < base + t->ecount[pid]; s++)
        if (cmp_slots(t, s, w) > 0) w = s;
    t->eworst[pid] = (int32_t)(w - base);
}

static int topk_chunk(topk_op *t, chunk *c, qv_err *err) {
    int m = chunk_active(c);
    if (win_parter_assign(&t->pt, t->call->part, c, t->pidbuf, err) || grow_parts(t, err)) return err->code;
    for (int j = 0; j < t->nk; j++)
        if (expr_eval(t->call->order[j], c, &t->ktmp[j], err)) return err->code;
    for (int r = 0; r < m; r++) {
        int32_t pid = t->pidbuf[r];
        if (t->ecount[pid] < t->k) {
            take_row(t, pid * t->k + t->ecount[pid]++, r);
            if (t->ecount[pid] == t->k) find_worst(t, pid);
            continue;
        }
        int64_t ws = pid * t->k + t->eworst[pid];
        if (cmp_slot_row(t, ws, r) <= 0) continue; /* the worst kept row is still better */
        take_row(t, ws, r);
        find_worst(t, pid);
    }
    for (int col = 0; col < t->nin && t->npend; col++) {
        if (!t->keep[col]) continue;
        if (expr_eval(&t->colx[col], c, &t->tmp, err)) return err->code;
        for (int i = 0; i < t->npend; i++) {
            int32_t slot = t->plist[i], r = t->pend[slot];
            vec *d = &t->mat[col];
            if (vec_null(&t->tmp, r)) { vec_set_null(d, slot); continue; }
            d->nulls[slot] = 0;
            switch (type_pc(d->type)) {
            case PC_I: d->i[slot] = t->tmp.i[r]; break;
            case PC_F: d->f[slot] = t->tmp.f[r]; break;
            case PC_S: vec_set_str(d, slot, t->tmp.s[r].p, t->tmp.s[r].n); break;
            }
        }
    }
    for (int i = 0; i < t->npend; i++) t->pend[t->plist[i]] = -1;
    t->npend = 0;
    t->seq += m;
    return 0;
}

static void topk_build(topk_op *t) {
    int64_t total = 0;
    for (int p = 0; p < t->pt.nparts; p++) total += t->ecount[p];
    t->order = qv_xmalloc(sizeof(int32_t) * (size_t)(total + 1));
    t->rn = qv_xmalloc(sizeof(int64_t) * (size_t)(total + 1));
    for (int p = 0; p < t->pt.nparts; p++) {
        int64_t base = (int64_t)p * t->k, n0 = t->nout;
        for (int64_t s = base; s < base + t->ecount[p]; s++) { /* insertion sort of at most k slots */
            int64_t j = t->nout++;
            while (j > n0 && cmp_slots(t, t->order[j - 1], s) > 0) {
                t->order[j] = t->order[j - 1];
                j--;
            }
            t->order[j] = (int32_t)s;
        }
        for (int64_t j = n0; j < t->nout; j++) t->rn[j] = j - n0 + 1;
    }
}

static int topk_next(op *o, chunk **out, qv_err *err) {
    topk_op *t = (topk_op *)o;
    if (!t->built) {
        for (;;) {
            chunk *c;
            if (t->child->next(t->child, &c, err)) return err->code;
            if (!c) break;
            if (topk_chunk(t, c, err) || qstate_check(o->qs, err)) return err->code;
        }
        topk_build(t);
        t->built = true;
    }
    if (t->emitted >= t->nout) { *out = NULL; return 0; }
    int n = (int)(t->nout - t->emitted < CHUNK ? t->nout - t->emitted : CHUNK);
    for (int c = 0; c < t->nin; c++) {
        vec *d = &t->out.cols[c];
        vec_reset(d, o->types[c], n);
        if (!t->keep[c]) continue;
        for (int k = 0; k < n; k++) win_put(d, k, &t->mat[c], t->order[t->emitted + k]);
        d->has_nulls = true;
    }
    for (int i = 0; i < t->ncalls; i++) {
        vec *d = &t->out.cols[t->nin + i];
        vec_reset(d, QV_T_INT64, n);
        memcpy(d->i, t->rn + t->emitted, sizeof(int64_t) * (size_t)n);
    }
    t->out.n = n;
    t->out.has_sel = false;
    t->emitted += n;
    *out = &t->out;
    return 0;
}

static void topk_free(op *o) {
    topk_op *t = (topk_op *)o;
    op_free(t->child);
    win_parter_free(&t->pt);
    for (int j = 0; j < t->nk; j++) vec_free(&t->ktmp[j]);
    for (int c = 0; c < t->nin; c++) vec_free(&t->mat[c]);
    vec_free(&t->tmp);
    qstate_release(o->qs, t->charged);
    chunk_free(&t->out);
    free(t->ktmp);
    free(t->mat);
    free(t->colx);
    free(t->keep);
    free(t->ekeys);
    free(t->enull);
    free(t->eseq);
    free(t->ecount);
    free(t->eworst);
    free(t->pend);
    free(t->plist);
    free(t->pidbuf);
    free(t->order);
    free(t->rn);
    free(o->types);
    free(t);
}

static void topk_explain(op *o, qv_str *s, int depth) {
    topk_op *t = (topk_op *)o;
    for (int i = 0; i < depth; i++) qv_str_appendf(s, "  ");
    qv_str_appendf(s, "WINDOW TOP-K row_number <= %lld per partition\n", (long long)t->k);
    op_explain(t->child, s, depth + 1);
}

op *win_topk_new(qstate *qs, op *child, bool *keep, win_call *call, int ncalls, int64_t k) {
    topk_op *t = qv_xcalloc(1, sizeof *t);
    t->child = child;
    t->keep = keep;
    t->call = call;
    t->ncalls = ncalls;
    t->nin = child->ncols;
    t->nk = call->norder;
    t->k = k;
    int nc = t->nin + ncalls;
    t->base.types = qv_xcalloc((size_t)(nc ? nc : 1), sizeof(qv_type));
    t->colx = qv_xcalloc((size_t)(t->nin ? t->nin : 1), sizeof(bexpr));
    t->mat = qv_xcalloc((size_t)(t->nin ? t->nin : 1), sizeof(vec));
    for (int c = 0; c < t->nin; c++) {
        qv_type ty = child->types[c] == QV_T_SYMBOL ? QV_T_STRING : child->types[c];
        t->base.types[c] = ty;
        t->colx[c] = (bexpr){.kind = B_COL, .type = ty, .col = c};
        vec_init(&t->mat[c], ty);
        if (keep[c]) vec_reset(&t->mat[c], ty, 16);
    }
    for (int i = 0; i < ncalls; i++) t->base.types[t->nin + i] = QV_T_INT64;
    t->ktmp = qv_xcalloc((size_t)t->nk + 1, sizeof(vec));
    for (int j = 0; j < t->nk; j++) vec_init(&t->ktmp[j], call->order[j]->type);
    vec_init(&t->tmp, QV_T_INT64);
    win_parter_init(&t->pt, call->npart, call->part);
    t->pidbuf = qv_xmalloc(sizeof(int32_t) * CHUNK);
    chunk_init(&t->out, nc, t->base.types);
    t->base.name = "window_topk";
    t->base.ncols = nc;
    t->base.next = topk_next;
    t->base.free = topk_free;
    t->base.explain = topk_explain;
    t->base.qs = qs;
    return &t->base;
}
