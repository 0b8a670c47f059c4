/* The window operator. States: filling (the child's chunks are appended to
   materialized columns: the kept input columns, each call's inputs, each
   window's ORDER BY keys and partition ids), then built (per window:
   rows grouped by partition with a counting sort, each partition sorted and
   its calls evaluated on the query's pool, partitions in parallel), then
   emitting the rows in input order with one result column per call. All
   buffers are the operator's, charged to the query and freed with it. */
#include "window.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct win_group {
    int first;          /* its first call: the keys come from it */
    win_parter pt;
    int32_t *pid;       /* per row */
    vec *okeys;         /* ORDER BY keys per row */
    int32_t *rows;      /* grouped by partition, then in window order */
    int64_t *pstart;    /* nparts + 1 */
    bool peers;
} win_group;

typedef struct window_op {
    op base;
    op *child;
    bool *keep;
    bexpr *colx;        /* a column reference per input column */
    int nin, ncalls;
    win_call *calls;
    int *gof;           /* call -> group */
    vec *mat;           /* nin kept input columns */
    vec *in;            /* ncalls * AGG_MAXIN call inputs */
    vec *res;           /* ncalls results */
    int ngroups;
    win_group *groups;
    int64_t N, cap, emitted;
    bool built;
    chunk out;
    int64_t charged;
    char *strings;      /* aggregates' kept strings */
    int32_t *pidbuf;
} window_op;

static int ninputs(const win_call *c, bexpr **xs) {
    if (c->fn == WFN_AGG) {
        for (int j = 0; j < c->agg.nin; j++) xs[j] = c->agg.in[j];
        return c->agg.nin;
    }
    int n = 0;
    if (c->arg) xs[n++] = c->arg;
    if (c->dflt) xs[n++] = c->dflt;
    return n;
}

static int charge(window_op *w, int64_t bytes, qv_err *err) {
    w->charged += bytes;
    return qstate_charge(w->base.qs, bytes, err);
}

/* Append the m evaluated rows of src (dense) at row `at` of dst. */
static int64_t append(vec *dst, int64_t at, const vec *src, int m) {
    int64_t bytes = 0;
    phys_class pc = type_pc(dst->type);
    if (pc == PC_I) memcpy(dst->i + at, src->i, sizeof(int64_t) * (size_t)m);
    else if (pc == PC_F) memcpy(dst->f + at, src->f, sizeof(double) * (size_t)m);
    if (src->has_nulls) {
        memcpy(dst->nulls + at, src->nulls, (size_t)m);
        dst->has_nulls = true;
    }
    if (pc == PC_S)
        for (int k = 0; k < m; k++) {
            if (vec_null(src, k)) { dst->s[at + k] = (sv){"", 0}; continue; }
            vec_set_str(dst, (int)(at + k), src->s[k].p, src->s[k].n);
            bytes += src->s[k].n;
        }
    dst->n = (int)(at + m);
    return bytes;
}

static void grow_all(window_op *w, int64_t need) {
    if (need <= w->cap) return;
    int64_t nc = w->cap ? w->cap * 2 : 4096;
    while (nc < need) nc *= 2;
    for (int c = 0; c < w->nin; c++)
        if (w->keep[c]) vec_grow(&w->mat[c], (int)nc);
    for (int i = 0; i < w->ncalls * AGG_MAXIN; i++)
        if (w->in[i].cap) vec_grow(&w->in[i], (int)nc);
    for (int g = 0; g < w->ngroups; g++) {
        win_group *gr = &w->groups[g];
        gr->pid = qv_xrealloc(gr->pid, sizeof(int32_t) * (size_t)nc);
        for (int k = 0; k < w->calls[gr->first].norder; k++) vec_grow(&gr->okeys[k], (int)nc);
    }
    w->cap = nc;
}

static int fill_chunk(window_op *w, chunk *c, vec *tmp, qv_err *err) {
    int m = chunk_active(c);
    if (w->N + m > INT32_MAX - CHUNK)
        return qv_err_set(err, QV_ERESOURCE, "window: more than 2^31 input rows are not supported");
    grow_all(w, w->N + m);
    int64_t bytes = 0;
    int nvec = 0;
    for (int col = 0; col < w->nin; col++) {
        if (!w->keep[col]) continue;
        if (expr_eval(&w->colx[col], c, tmp, err)) return err->code;
        bytes += append(&w->mat[col], w->N, tmp, m);
        nvec++;
    }
    for (int i = 0; i < w->ncalls; i++) {
        bexpr *xs[AGG_MAXIN];
        int n = ninputs(&w->calls[i], xs);
        for (int j = 0; j < n; j++) {
            if (expr_eval(xs[j], c, tmp, err)) return err->code;
            bytes += append(&w->in[i * AGG_MAXIN + j], w->N, tmp, m);
            nvec++;
        }
    }
    for (int g = 0; g < w->ngroups; g++) {
        win_group *gr = &w->groups[g];
        const win_call *fc = &w->calls[gr->first];
        if (win_parter_assign(&gr->pt, fc->part, c, w->pidbuf, err)) return err->code;
        memcpy(gr->pid + w->N, w->pidbuf, sizeof(int32_t) * (size_t)m);
        for (int k = 0; k < fc->norder; k++) {
            if (expr_eval(fc->order[k], c, tmp, err)) return err->code;
            bytes += append(&gr->okeys[k], w->N, tmp, m);
            nvec++;
        }
    }
    w->N += m;
    return charge(w, bytes + (int64_t)m * (9 * nvec + 4 * w->ngroups), err);
}

/* ---- evaluation of one window's partitions on the pool ---- */
typedef struct win_task {
    window_op *w;
    win_group *g;
    atomic_int *next;
    int rc;
    qv_err err;
    int64_t charged;
    char *strings;
} win_task;

static void peers_of(win_pctx *p) {
    int64_t n = p->n;
    for (int64_t i = 0; i < n;) {
        int64_t j = i + 1;
        while (j < n && !win_rows_cmp(p->okeys, p->norder, p->desc, p->nulls_first, p->rows[i], p->rows[j])) j++;
        for (int64_t k = i; k < j; k++) {
            p->peer_lo[k] = (int32_t)i;
            p->peer_hi[k] = (int32_t)j;
        }
        i = j;
    }
}

static int eval_partition(win_task *t, win_pctx *p, int64_t part) {
    window_op *w = t->w;
    win_group *g = t->g;
    const win_call *fc = &w->calls[g->first];
    int32_t *rows = g->rows + g->pstart[part];
    p->n = g->pstart[part + 1] - g->pstart[part];
    p->rows = rows;
    win_rows_sort(rows, p->n, p->scratch, g->okeys, fc->norder, fc->desc, fc->nulls_first);
    p->has_peers = g->peers;
    if (g->peers) peers_of(p);
    for (int i = 0; i < w->ncalls; i++) {
        if (w->gof[i] != g - w->groups) continue;
        const win_call *c = &w->calls[i];
        const win_fn_def *d = &win_fn_defs[c->fn];
        if (d->frame) win_frame_bounds(p, c);
        vec *in[AGG_MAXIN];
        for (int j = 0; j < AGG_MAXIN; j++) in[j] = &w->in[i * AGG_MAXIN + j];
        if (d->eval(p, c, in, &w->res[i])) return -1;
        if (qstate_check(w->base.qs, p->err)) return -1;
    }
    return 0;
}

static void task_run(void *arg) {
    win_task *t = arg;
    win_group *g = t->g;
    int64_t maxn = 0;
    for (int i = 0; i < g->pt.nparts; i++)
        if (g->pstart[i + 1] - g->pstart[i] > maxn) maxn = g->pstart[i + 1] - g->pstart[i];
    win_pctx p = {0};
    p.okeys = g->okeys;
    p.norder = t->w->calls[g->first].norder;
    p.desc = t->w->calls[g->first].desc;
    p.nulls_first = t->w->calls[g->first].nulls_first;
    size_t sz = sizeof(int32_t) * (size_t)(maxn + 1);
    int32_t *buf = qv_xmalloc(sz * 5);
    p.peer_lo = buf;
    p.peer_hi = buf + maxn + 1;
    p.fs = buf + 2 * (maxn + 1);
    p.fe = buf + 3 * (maxn + 1);
    p.scratch = buf + 4 * (maxn + 1);
    p.err = &t->err;
    p.actx = (agg_ctx){t->w->base.qs, &t->charged, &t->strings, &t->err};
    if (agg_charge(&p.actx, (int64_t)sz * 5)) {
        t->rc = -1;
    } else {
        for (;;) {
            int part = atomic_fetch_add(t->next, 1);
            if (part >= g->pt.nparts) break;
            if (eval_partition(t, &p, part)) {
                t->rc = -1;
                atomic_store(t->next, g->pt.nparts); /* the others stop too */
                break;
            }
        }
    }
    free(buf);
    qstate_release(t->w->base.qs, (int64_t)sz * 5);
    t->charged -= (int64_t)sz * 5;
}

static int group_rows(window_op *w, win_group *g, qv_err *err) {
    int np = g->pt.nparts;
    if (charge(w, sizeof(int32_t) * w->N + sizeof(int64_t) * (np + 1), err)) return err->code;
    g->pstart = qv_xcalloc((size_t)np + 1, sizeof(int64_t));
    g->rows = qv_xmalloc(sizeof(int32_t) * (size_t)(w->N ? w->N : 1));
    for (int64_t r = 0; r < w->N; r++) g->pstart[g->pid[r] + 1]++;
    for (int i = 0; i < np; i++) g->pstart[i + 1] += g->pstart[i];
    int64_t *pos = qv_xmalloc(sizeof(int64_t) * (size_t)(np + 1));
    memcpy(pos, g->pstart, sizeof(int64_t) * (size_t)(np + 1));
    for (int64_t r = 0; r < w->N; r++) g->rows[pos[g->pid[r]]++] = (int32_t)r;
    free(pos);
    return 0;
}

static int build(window_op *w, qv_err *err) {
    for (int i = 0; i < w->ncalls; i++) {
        vec *r = &w->res[i];
        vec_reset(r, w->calls[i].type, (int)(w->N ? w->N : 1));
        r->n = (int)w->N;
        r->has_nulls = true; /* set before the workers write null bytes */
        if (charge(w, 9 * w->N, err)) return err->code;
    }
    sql_pool *pool = w->base.qs->ctx ? w->base.qs->ctx->pool : NULL;
    int T = pool ? w->base.qs->ctx->threads : 1;
    if (T > 64) T = 64;
    for (int gi = 0; gi < w->ngroups; gi++) {
        win_group *g = &w->groups[gi];
        if (!w->N) continue;
        if (group_rows(w, g, err)) return err->code;
        int nt = T < g->pt.nparts ? T : g->pt.nparts;
        if (nt < 1) nt = 1;
        atomic_int next = 0;
        win_task tasks[64];
        void *args[64];
        for (int t = 0; t < nt; t++) {
            tasks[t] = (win_task){.w = w, .g = g, .next = &next};
            args[t] = &tasks[t];
        }
        if (nt == 1 || !pool) task_run(&tasks[0]);
        else sql_pool_run(pool, nt, task_run, args, 0);
        int rc = 0;
        for (int t = 0; t < nt; t++) {
            w->charged += tasks[t].charged;
            while (tasks[t].strings) { /* keep the workers' strings with the operator */
                char *p = tasks[t].strings, *nx;
                memcpy(&nx, p, sizeof nx);
                memcpy(p, &w->strings, sizeof w->strings);
                w->strings = p;
                tasks[t].strings = nx;
            }
            if (tasks[t].rc && !rc) {
                rc = tasks[t].err.code ? (int)tasks[t].err.code : QV_EINTERNAL;
                *err = tasks[t].err;
            }
        }
        if (rc) return rc;
    }
    return 0;
}

static void copy_slice(vec *dst, const vec *src, qv_type t, int64_t off, int n) {
    vec_reset(dst, t, n);
    phys_class pc = type_pc(t);
    if (pc == PC_I) memcpy(dst->i, src->i + off, sizeof(int64_t) * (size_t)n);
    else if (pc == PC_F) memcpy(dst->f, src->f + off, sizeof(double) * (size_t)n);
    else memcpy(dst->s, src->s + off, sizeof(sv) * (size_t)n);
    if (src->has_nulls) {
        memcpy(dst->nulls, src->nulls + off, (size_t)n);
        dst->has_nulls = true;
    }
}

static int window_next(op *o, chunk **out, qv_err *err) {
    window_op *w = (window_op *)o;
    if (!w->built) {
        vec tmp;
        vec_init(&tmp, QV_T_INT64);
        int rc = 0;
        for (;;) {
            chunk *c;
            if ((rc = w->child->next(w->child, &c, err)) || !c) break;
            if ((rc = fill_chunk(w, c, &tmp, err))) break;
            if ((rc = qstate_check(o->qs, err))) break;
        }
        vec_free(&tmp);
        if (rc || (rc = build(w, err))) return rc;
        w->built = true;
    }
    if (w->emitted >= w->N) { *out = NULL; return 0; }
    int n = (int)(w->N - w->emitted < CHUNK ? w->N - w->emitted : CHUNK);
    for (int c = 0; c < w->nin; c++) {
        if (w->keep[c]) copy_slice(&w->out.cols[c], &w->mat[c], o->types[c], w->emitted, n);
        else vec_reset(&w->out.cols[c], o->types[c], n);
    }
    for (int i = 0; i < w->ncalls; i++) copy_slice(&w->out.cols[w->nin + i], &w->res[i], o->types[w->nin + i], w->emitted, n);
    w->out.n = n;
    w->out.has_sel = false;
    w->emitted += n;
    *out = &w->out;
    return 0;
}

static void window_free(op *o) {
    window_op *w = (window_op *)o;
    op_free(w->child);
    for (int c = 0; c < w->nin; c++) vec_free(&w->mat[c]);
    for (int i = 0; i < w->ncalls * AGG_MAXIN; i++) vec_free(&w->in[i]);
    for (int i = 0; i < w->ncalls; i++) vec_free(&w->res[i]);
    for (int g = 0; g < w->ngroups; g++) {
        win_group *gr = &w->groups[g];
        win_parter_free(&gr->pt);
        for (int k = 0; k < w->calls[gr->first].norder; k++) vec_free(&gr->okeys[k]);
        free(gr->okeys);
        free(gr->pid);
        free(gr->rows);
        free(gr->pstart);
    }
    while (w->strings) {
        char *p = w->strings, *nx;
        memcpy(&nx, p, sizeof nx);
        free(p);
        w->strings = nx;
    }
    qstate_release(o->qs, w->charged);
    chunk_free(&w->out);
    free(w->groups);
    free(w->gof);
    free(w->mat);
    free(w->in);
    free(w->res);
    free(w->colx);
    free(w->keep);
    free(w->pidbuf);
    free(o->types);
    free(w);
}

static void window_explain(op *o, qv_str *s, int depth) {
    window_op *w = (window_op *)o;
    for (int i = 0; i < depth; i++) qv_str_appendf(s, "  ");
    qv_str_appendf(s, "WINDOW %d function%s in %d window%s:", w->ncalls, w->ncalls == 1 ? "" : "s", w->ngroups,
                   w->ngroups == 1 ? "" : "s");
    for (int i = 0; i < w->ncalls; i++)
        qv_str_appendf(s, " %s", w->calls[i].fn == WFN_AGG ? agg_defs[w->calls[i].agg.fn]->name : win_fn_name(w->calls[i].fn));
    qv_str_appendf(s, "\n");
    op_explain(w->child, s, depth + 1);
}

static void init_vec(vec *v, qv_type t) {
    vec_init(v, t);
    vec_reset(v, t, 16);
    v->n = 0;
}

op *op_window_new(qstate *qs, op *child, bool *keep, int ncalls, win_call *calls, int64_t topk) {
    for (int k = 0; k < (ncalls ? calls[0].norder : 0); k++)
        if (type_pc(calls[0].order[k]->type) == PC_S) topk = 0; /* the top-k form keeps numeric keys only */
    if (topk > 0) return win_topk_new(qs, child, keep, calls, ncalls, topk);
    window_op *w = qv_xcalloc(1, sizeof *w);
    w->child = child;
    w->keep = keep;
    w->nin = child->ncols;
    w->ncalls = ncalls;
    w->calls = calls;
    int nc = w->nin + ncalls;
    w->base.types = qv_xcalloc((size_t)(nc ? nc : 1), sizeof(qv_type));
    w->colx = qv_xcalloc((size_t)(w->nin ? w->nin : 1), sizeof(bexpr));
    w->mat = qv_xcalloc((size_t)(w->nin ? w->nin : 1), sizeof(vec));
    for (int c = 0; c < w->nin; c++) {
        qv_type t = child->types[c] == QV_T_SYMBOL ? QV_T_STRING : child->types[c];
        w->base.types[c] = t;
        w->colx[c] = (bexpr){.kind = B_COL, .type = t, .col = c};
        if (keep[c]) init_vec(&w->mat[c], t);
    }
    w->in = qv_xcalloc((size_t)ncalls * AGG_MAXIN + 1, sizeof(vec));
    w->res = qv_xcalloc((size_t)ncalls + 1, sizeof(vec));
    w->gof = qv_xcalloc((size_t)ncalls + 1, sizeof(int));
    w->groups = qv_xcalloc((size_t)ncalls + 1, sizeof(win_group));
    for (int i = 0; i < ncalls; i++) {
        const win_call *c = &calls[i];
        w->base.types[w->nin + i] = c->type;
        vec_init(&w->res[i], c->type);
        bexpr *xs[AGG_MAXIN];
        int n = ninputs(c, xs);
        for (int j = 0; j < n; j++) init_vec(&w->in[i * AGG_MAXIN + j], xs[j]->type);
        int g = 0;
        while (g < w->ngroups && calls[w->groups[g].first].spec != c->spec) g++;
        if (g == w->ngroups) {
            win_group *gr = &w->groups[w->ngroups++];
            gr->first = i;
            win_parter_init(&gr->pt, c->npart, c->part);
            gr->okeys = qv_xcalloc((size_t)c->norder + 1, sizeof(vec));
            for (int k = 0; k < c->norder; k++) init_vec(&gr->okeys[k], c->order[k]->type);
        }
        w->gof[i] = g;
        const win_fn_def *d = &win_fn_defs[c->fn];
        if (d->peers || (d->frame && c->frame != WF_ROWS)) w->groups[g].peers = true;
    }
    w->pidbuf = qv_xmalloc(sizeof(int32_t) * CHUNK);
    chunk_init(&w->out, nc, w->base.types);
    w->base.name = "window";
    w->base.ncols = nc;
    w->base.next = window_next;
    w->base.free = window_free;
    w->base.explain = window_explain;
    w->base.qs = qs;
    return &w->base;
}
