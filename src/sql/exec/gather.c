/* Gather: runs child pipelines on the context's pool and hands their rows
   on in child order. Plain mode: each child runs to completion once (partial
   top-N results). Rounds mode: worker w's scan is pointed at row group
   round * n + w before every round, so a long scan streams in table order
   with at most n row groups' results buffered. Buffers are owned here and
   charged to the query's memory. */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

static void indent(qv_str *s, int depth) {
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
}

typedef struct gather_op {
    op base;
    op **kids;
    int n;
    chunk **bufs;   /* per child: copied chunks */
    int *nbufs;
    int64_t *bytes;
    int rcs[64];
    qv_err errs[64];
    bool ran;
    int cur_kid, cur_buf;
    op **scans;     /* rounds mode: round r gives worker w row group rg_lo + r*n + w */
    int nrg, next_rg; /* rounds mode: the end of the range, the next round's first group */
} gather_op;

typedef struct gather_job {
    gather_op *g;
    int i;
} gather_job;

static void gather_run(void *arg) {
    gather_job *j = arg;
    gather_op *g = j->g;
    op *k = g->kids[j->i];
    for (;;) {
        chunk *c;
        if ((g->rcs[j->i] = k->next(k, &c, &g->errs[j->i]))) return;
        if (!c) return;
        int m = chunk_active(c);
        chunk cp;
        chunk_init(&cp, k->ncols, k->types);
        int64_t bytes = 0;
        for (int i = 0; i < k->ncols; i++) {
            vec_reset(&cp.cols[i], k->types[i], m);
            for (int r = 0; r < m; r++) {
                vec_copy_row(&cp.cols[i], r, &c->cols[i], chunk_row(c, r));
                if (type_pc(k->types[i]) == PC_S && !vec_null(&cp.cols[i], r)) bytes += cp.cols[i].s[r].n;
            }
        }
        cp.n = m;
        bytes += (int64_t)m * 9 * k->ncols;
        g->bytes[j->i] += bytes;
        g->bufs[j->i] = qv_xrealloc(g->bufs[j->i], sizeof(chunk) * (size_t)(g->nbufs[j->i] + 1));
        g->bufs[j->i][g->nbufs[j->i]++] = cp;
        if ((g->rcs[j->i] = qstate_charge(g->base.qs, bytes, &g->errs[j->i]))) return;
    }
}

static void gather_clear(gather_op *g) {
    for (int i = 0; i < g->n; i++) {
        for (int b = 0; b < g->nbufs[i]; b++) chunk_free(&g->bufs[i][b]);
        free(g->bufs[i]);
        g->bufs[i] = NULL;
        g->nbufs[i] = 0;
        qstate_release(g->base.qs, g->bytes[i]);
        g->bytes[i] = 0;
    }
    g->cur_kid = g->cur_buf = 0;
}

static int gather_next(op *o, chunk **out, qv_err *err) {
    gather_op *g = (gather_op *)o;
again:
    if (!g->ran) {
        g->ran = true;
        if (g->scans) {
            for (int i = 0; i < g->n; i++) {
                int rg = g->next_rg + i < g->nrg ? g->next_rg + i : g->nrg;
                op_scan_set_range(g->scans[i], rg, rg < g->nrg ? rg + 1 : rg);
            }
            g->next_rg += g->n;
        }
        gather_job *jobs = qv_xcalloc((size_t)g->n, sizeof(gather_job));
        void **args = qv_xcalloc((size_t)g->n, sizeof(void *));
        for (int i = 0; i < g->n; i++) {
            jobs[i].g = g;
            jobs[i].i = i;
            args[i] = &jobs[i];
        }
        sql_pool_run(o->qs->ctx->pool, g->n, gather_run, args, 0);
        free(jobs);
        free(args);
        for (int i = 0; i < g->n; i++)
            if (g->rcs[i]) {
                *err = g->errs[i];
                return g->rcs[i];
            }
    }
    if (qstate_check(o->qs, err)) return err->code;
    while (g->cur_kid < g->n) {
        if (g->cur_buf < g->nbufs[g->cur_kid]) {
            *out = &g->bufs[g->cur_kid][g->cur_buf++];
            return 0;
        }
        g->cur_kid++;
        g->cur_buf = 0;
    }
    if (g->scans && g->next_rg < g->nrg) { /* next round */
        gather_clear(g);
        g->ran = false;
        goto again;
    }
    *out = NULL;
    return 0;
}

static void gather_free(op *o) {
    gather_op *g = (gather_op *)o;
    gather_clear(g);
    for (int i = 0; i < g->n; i++) op_free(g->kids[i]);
    free(g->kids);
    free(g->scans);
    free(g->bufs);
    free(g->nbufs);
    free(g->bytes);
    free(g);
}

static void gather_explain(op *o, qv_str *s, int depth) {
    gather_op *g = (gather_op *)o;
    indent(s, depth);
    qv_str_appendf(s, "GATHER workers=%d%s\n", g->n, g->scans ? " (row group by row group, in order)" : "");
    op_explain(g->kids[0], s, depth + 1);
}

op *op_gather_new(qstate *qs, op **children, int n) {
    gather_op *g = qv_xcalloc(1, sizeof *g);
    if (n > 64) n = 64;
    g->kids = qv_xmalloc(sizeof(op *) * (size_t)n);
    memcpy(g->kids, children, sizeof(op *) * (size_t)n);
    g->n = n;
    g->bufs = qv_xcalloc((size_t)n, sizeof(chunk *));
    g->nbufs = qv_xcalloc((size_t)n, sizeof(int));
    g->bytes = qv_xcalloc((size_t)n, sizeof(int64_t));
    g->base.name = "gather";
    g->base.ncols = children[0]->ncols;
    g->base.types = children[0]->types;
    g->base.next = gather_next;
    g->base.free = gather_free;
    g->base.explain = gather_explain;
    g->base.qs = qs;
    return &g->base;
}

op *op_gather_rounds_new(qstate *qs, op **children, op **scans, int n, int rg_lo, int rg_hi) {
    op *o = op_gather_new(qs, children, n);
    gather_op *g = (gather_op *)o;
    g->scans = qv_xmalloc(sizeof(op *) * (size_t)g->n);
    memcpy(g->scans, scans, sizeof(op *) * (size_t)g->n);
    g->next_rg = rg_lo;
    g->nrg = rg_hi;
    return o;
}
