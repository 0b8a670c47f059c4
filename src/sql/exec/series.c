/* The series operator behind range() and generate_series(): start, start +
   step, ... up to stop (excluded for range, included for generate_series),
   for BIGINT and for TIMESTAMP with an INTERVAL step (both int64: ns).
   States: fresh (arguments not yet evaluated: placeholders and init plans
   get their values after planning) -> streaming (next row index, count) ->
   done. Each call fills at most CHUNK rows, so a huge series streams, a
   LIMIT above stops pulling it early, and cancellation is checked between
   chunks. The arithmetic never overflows: the count comes from the unsigned
   distance, and values are produced by wrapping addition that is only read
   while rows remain. A step with calendar months (a constant, bexpr.months)
   cannot be counted ahead: each value is the previous one plus the step
   (qv_ts_add_months, then the fixed part) until one passes stop or leaves
   the TIMESTAMP range. The output chunk is owned here. */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct series_op {
    op base;
    const char *name;
    bexpr *args[3];
    bool inclusive, started;
    uint64_t left;   /* rows still to emit */
    uint64_t cur;    /* next value, as unsigned (wrapping add) */
    uint64_t step;
    int32_t months;  /* calendar step: months, then step as ns (0: a fixed step) */
    int64_t stop;    /* calendar step: the last value allowed */
    chunk out;
} series_op;

uint64_t series_count(int64_t start, int64_t stop, int64_t step, bool inclusive) {
    uint64_t dist, ustep;
    if (step > 0) {
        if (start > stop || (!inclusive && start == stop)) return 0;
        dist = (uint64_t)stop - (uint64_t)start;
        ustep = (uint64_t)step;
    } else {
        if (start < stop || (!inclusive && start == stop)) return 0;
        dist = (uint64_t)start - (uint64_t)stop;
        ustep = (uint64_t)0 - (uint64_t)step;
    }
    /* range: the values strictly before stop; generate_series: up to it */
    uint64_t n = inclusive ? dist / ustep : (dist - 1) / ustep;
    return n == UINT64_MAX ? UINT64_MAX : n + 1;
}

/* Evaluates the three arguments; a NULL one makes the series empty. */
static int series_start(series_op *s, qv_err *err) {
    int64_t v[3];
    s->started = true;
    for (int i = 0; i < 3; i++) {
        vec tmp;
        QV_ASSERT(type_pc(s->args[i]->type) == PC_I || s->args[i]->type == T_NULL);
        vec_init(&tmp, s->args[i]->type);
        int rc = expr_eval_const(s->args[i], &tmp, err);
        bool null = rc == 0 && (vec_null(&tmp, 0) || s->args[i]->type == T_NULL);
        if (rc == 0 && !null) v[i] = tmp.i[0];
        vec_free(&tmp);
        if (rc) return rc;
        if (null) {
            s->left = 0;
            return 0;
        }
    }
    if (s->months) {
        s->left = UINT64_MAX; /* until a value passes stop */
        s->cur = (uint64_t)v[0];
        s->step = (uint64_t)v[2];
        s->stop = v[1];
        return 0;
    }
    if (v[2] == 0)
        return qv_err_set(err, QV_EINVAL, "%s(): the step must not be 0%s", s->name,
                          s->base.types[0] == QV_T_TIMESTAMP ? " (an INTERVAL of 0)" : "");
    s->left = series_count(v[0], v[1], v[2], s->inclusive);
    s->cur = (uint64_t)v[0];
    s->step = (uint64_t)v[2];
    return 0;
}

/* Up to CHUNK values of a calendar-step series into dst; ends it (left = 0) at
   the first value past stop. */
static int cal_fill(series_op *s, int64_t *dst) {
    int n = 0;
    bool up = s->months > 0;
    while (n < CHUNK && s->left) {
        int64_t c = (int64_t)s->cur, nx;
        if (up ? c > s->stop || (!s->inclusive && c == s->stop) : c < s->stop || (!s->inclusive && c == s->stop)) {
            s->left = 0;
            break;
        }
        dst[n++] = c;
        if (!qv_ts_add_months(c, s->months, &nx) || __builtin_add_overflow(nx, (int64_t)s->step, &nx)) s->left = 0;
        s->cur = (uint64_t)nx;
    }
    return n;
}

static int series_next(op *o, chunk **out, qv_err *err) {
    series_op *s = (series_op *)o;
    *out = NULL;
    if (qstate_check(o->qs, err)) return err->code;
    if (!s->started && series_start(s, err)) return err->code;
    if (!s->left) return 0;
    vec *v = &s->out.cols[0];
    if (s->months) {
        vec_reset(v, o->types[0], CHUNK);
        int n = cal_fill(s, v->i);
        if (!n) return 0;
        v->n = n;
        s->out.n = n;
        s->out.has_sel = false;
        *out = &s->out;
        return 0;
    }
    int n = s->left < CHUNK ? (int)s->left : CHUNK;
    vec_reset(v, o->types[0], n);
    uint64_t c = s->cur, st = s->step;
    int64_t *dst = v->i;
    for (int k = 0; k < n; k++) {
        dst[k] = (int64_t)c;
        c += st;
    }
    s->cur = c;
    s->left -= (uint64_t)n;
    s->out.n = n;
    s->out.has_sel = false;
    *out = &s->out;
    return 0;
}

static void series_free(op *o) {
    series_op *s = (series_op *)o;
    chunk_free(&s->out);
    free(o->types);
    free(s);
}

static void series_explain(op *o, qv_str *s, int depth) {
    series_op *so = (series_op *)o;
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
    qv_str_appendf(s, "TABLE FUNCTION %s (%s, streamed)\n", so->name, type_name(o->types[0]));
}

op *op_series_new(qstate *qs, const char *name, bexpr *const args[3], qv_type t, bool inclusive) {
    series_op *s = qv_xcalloc(1, sizeof *s);
    s->name = name;
    for (int i = 0; i < 3; i++) s->args[i] = args[i];
    if (args[2]->kind == B_CONST) s->months = args[2]->months;
    s->inclusive = inclusive;
    s->base.name = "series";
    s->base.ncols = 1;
    s->base.types = qv_xmalloc(sizeof(qv_type));
    s->base.types[0] = t;
    s->base.next = series_next;
    s->base.free = series_free;
    s->base.explain = series_explain;
    s->base.qs = qs;
    chunk_init(&s->out, 1, &t);
    return &s->base;
}
