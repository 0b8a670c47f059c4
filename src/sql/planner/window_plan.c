/* Window functions in a SELECT: the binder hands every `f(...) OVER ...` to
   plan_window_expr, which resolves named windows, binds the call's
   arguments, PARTITION BY and ORDER BY against the window operator's input
   (the FROM columns, or the aggregation's keys and aggregates) and returns a
   column reference numbered from WIN_COL_BASE; plan_window_fix renumbers
   those once the input width is known, and plan_window_op stacks the window
   operator and the QUALIFY filter (recognising `row_number() ... <= k` as a
   per-partition top-k). The win_env and its calls live in the query arena. */
#include "plan_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void plan_window_init(win_env *w, const select_stmt *s, binder *b) {
    memset(w, 0, sizeof *w);
    w->s = s;
    b->window = plan_window_expr;
    b->wctx = w;
}

static int wfail(binder *b, int line, int col, const char *msg) {
    return qv_err_set(b->err, QV_EINVAL, "%s (line %d, column %d)", msg, line, col);
}

/* The named window `name` and what `in` adds to it, into out. */
static int resolve(binder *b, const win_env *w, const win_spec *in, win_spec *out, int depth) {
    if (!in->base) {
        *out = *in;
        return 0;
    }
    const win_spec *base = NULL;
    for (int i = 0; i < w->s->nwindows && !base; i++)
        if (!strcasecmp(w->s->windows[i].name, in->base)) base = w->s->windows[i].spec;
    char m[300];
    if (!base) {
        snprintf(m, sizeof m, "unknown window '%s'", in->base);
        return wfail(b, in->line, in->col, m);
    }
    if (depth > 16) return wfail(b, in->line, in->col, "window definitions refer to each other in a cycle");
    if (resolve(b, w, base, out, depth + 1)) return -1;
    if (in->npart) {
        snprintf(m, sizeof m, "a window that extends '%s' cannot have its own PARTITION BY", in->base);
        return wfail(b, in->line, in->col, m);
    }
    if (in->norder && out->norder) {
        snprintf(m, sizeof m, "window '%s' already has an ORDER BY; a window that extends it cannot add one", in->base);
        return wfail(b, in->line, in->col, m);
    }
    if (in->norder) {
        out->order = in->order;
        out->norder = in->norder;
    }
    if (in->frame != WF_DEFAULT) {
        if (out->frame != WF_DEFAULT && in != base) {
            snprintf(m, sizeof m, "window '%s' has a frame and cannot be extended by another frame", in->base);
            return wfail(b, in->line, in->col, m);
        }
        out->frame = in->frame;
        out->start = in->start;
        out->end = in->end;
        out->start_off = in->start_off;
        out->end_off = in->end_off;
    }
    out->base = NULL;
    out->line = in->line;
    out->col = in->col;
    return 0;
}

/* A constant argument (folded), as a value of class pc; -1 with an error otherwise. */
static int const_arg(binder *b, ast *a, const char *fname, const char *what, bool want_int, value *out, qv_type *t) {
    binder plain = {.ar = b->ar, .err = b->err, .in = b->in, .clause = b->clause};
    bexpr *e = bind_expr(&plain, a);
    if (!e) return -1;
    bool neg = e->kind == B_UNARY && e->op == OP_NEG && e->args[0]->kind == B_CONST;
    const bexpr *k = neg ? e->args[0] : e;
    char m[300];
    if (k->kind != B_CONST || (want_int && !type_is_int(k->type) && k->type != T_NULL) ||
        (!want_int && !type_is_num(k->type) && k->type != T_INTERVAL)) {
        snprintf(m, sizeof m, "%s: %s must be a%s constant", fname, what, want_int ? "n integer" : " numeric");
        return wfail(b, a->line, a->col, m);
    }
    if (k->cval.null) {
        snprintf(m, sizeof m, "%s: %s must not be NULL", fname, what);
        return wfail(b, a->line, a->col, m);
    }
    *out = k->cval;
    *t = k->type;
    if (type_pc(k->type) == PC_F) out->f = neg ? -out->f : out->f;
    else out->i = neg ? -out->i : out->i;
    return 0;
}

/* A RANGE offset over a DECIMAL key, as a value of the key's scale (rounded
   half away from zero, as a cast to it would); -1 when it does not fit. */
static int range_dec_offset(qv_type kt, value *v, qv_type *t) {
    int s = dec_scale(kt);
    int64_t r;
    bool ok = type_pc(*t) == PC_F ? qv_dec_from_double(v->f, QV_DEC_MAX_PREC, s, &r)
                                  : qv_dec_rescale(v->i, type_is_dec(*t) ? dec_scale(*t) : 0, s, QV_DEC_MAX_PREC, &r);
    if (!ok) return -1;
    v->i = r;
    *t = kt;
    return 0;
}

static int need_args(binder *b, ast *a, int lo, int hi) {
    if (a->star || a->distinct || a->norder) {
        char m[200];
        snprintf(m, sizeof m, "window function %s does not take *, DISTINCT or ORDER BY arguments", a->name);
        return wfail(b, a->line, a->col, m);
    }
    if (a->nargs >= lo && a->nargs <= hi) return 0;
    char m[200];
    if (lo == hi) snprintf(m, sizeof m, "window function %s takes %d argument%s, got %d", a->name, lo, lo == 1 ? "" : "s", a->nargs);
    else snprintf(m, sizeof m, "window function %s takes %d to %d arguments, got %d", a->name, lo, hi, a->nargs);
    return wfail(b, a->line, a->col, m);
}

static int bind_value_arg(binder *b, ast *a, win_call *c) {
    if (!(c->arg = bind_expr(b, a->args[0]))) return -1;
    if (c->arg->type == T_NULL && !(c->arg = bind_coerce(b, c->arg, QV_T_INT32))) return -1;
    c->type = c->arg->type;
    memcpy(c->tz, c->arg->tz, sizeof c->tz);
    return 0;
}

/* Arguments of the window-only functions. */
static int bind_win_fn(binder *b, ast *a, win_call *c) {
    value v;
    qv_type t;
    char m[200];
    switch (c->fn) {
    case WFN_ROW_NUMBER: case WFN_RANK: case WFN_DENSE_RANK:
        c->type = QV_T_INT64;
        return need_args(b, a, 0, 0);
    case WFN_PERCENT_RANK: case WFN_CUME_DIST:
        c->type = QV_T_FLOAT64;
        return need_args(b, a, 0, 0);
    case WFN_NTILE:
        if (need_args(b, a, 1, 1) || const_arg(b, a->args[0], a->name, "the number of buckets", true, &v, &t)) return -1;
        if (v.i <= 0) {
            snprintf(m, sizeof m, "ntile: the number of buckets must be positive, got %lld", (long long)v.i);
            return wfail(b, a->args[0]->line, a->args[0]->col, m);
        }
        c->n = v.i;
        c->type = QV_T_INT64;
        return 0;
    case WFN_LAG: case WFN_LEAD:
        if (need_args(b, a, 1, 3) || bind_value_arg(b, a, c)) return -1;
        c->n = 1;
        if (a->nargs >= 2) {
            if (const_arg(b, a->args[1], a->name, "the offset", true, &v, &t)) return -1;
            c->n = v.i;
        }
        if (a->nargs == 3) {
            /* as DuckDB: the result keeps the argument's type and the default is cast to it
               (lag(int_col, 1, 1.5) gives 2), not both widened to a common type */
            if (!(c->dflt = bind_expr(b, a->args[2]))) return -1;
            if (!castable_to(c->dflt->type, c->arg->type)) {
                snprintf(m, sizeof m, "%s: cannot cast the default (%s) to the argument's type %s", a->name,
                         type_name(c->dflt->type), type_name(c->arg->type));
                return wfail(b, a->args[2]->line, a->args[2]->col, m);
            }
            if (!(c->dflt = bind_coerce(b, c->dflt, c->arg->type))) return -1;
            if (!c->tz[0]) memcpy(c->tz, c->dflt->tz, sizeof c->tz);
        }
        return 0;
    case WFN_FIRST_VALUE: case WFN_LAST_VALUE:
        return need_args(b, a, 1, 1) || bind_value_arg(b, a, c) ? -1 : 0;
    case WFN_NTH_VALUE:
        if (need_args(b, a, 2, 2) || bind_value_arg(b, a, c) ||
            const_arg(b, a->args[1], a->name, "the row number", true, &v, &t))
            return -1;
        if (v.i < 1) {
            snprintf(m, sizeof m, "nth_value: the row number must be at least 1, got %lld", (long long)v.i);
            return wfail(b, a->args[1]->line, a->args[1]->col, m);
        }
        c->n = v.i;
        return 0;
    case WFN_EMA:
        if (need_args(b, a, 2, 2) || bind_value_arg(b, a, c)) return -1;
        if (!type_is_num(c->arg->type))
            return wfail(b, a->line, a->col, "ema needs a numeric argument");
        if (!(c->arg = bind_coerce(b, c->arg, QV_T_FLOAT64))) return -1;
        c->type = QV_T_FLOAT64;
        if (const_arg(b, a->args[1], a->name, "alpha", false, &v, &t)) return -1;
        c->alpha = type_pc(t) == PC_F ? v.f : (double)v.i;
        if (t == T_INTERVAL || !(c->alpha > 0 && c->alpha <= 1)) {
            snprintf(m, sizeof m, "ema: alpha must be a number in (0, 1], got %g", c->alpha);
            return wfail(b, a->args[1]->line, a->args[1]->col, m);
        }
        return 0;
    case WFN_AGG: case WFN__COUNT: break;
    }
    return wfail(b, a->line, a->col, "not a window function");
}

static bool fn_takes_nulls_option(win_fn f) {
    return f == WFN_LAG || f == WFN_LEAD || f == WFN_FIRST_VALUE || f == WFN_LAST_VALUE || f == WFN_NTH_VALUE;
}

/* A RANGE offset with calendar months (INTERVAL 1 MONTH PRECEDING) over a
   TIMESTAMP or DATE key: the months, then the fixed part (days for a DATE,
   floored as below). 1: taken; 0: not such an offset; -1: error. */
static int cal_offset(binder *b, const win_call *c, ast *a, value *out, int32_t *months) {
    int64_t ns;
    int r = bind_cal_const(a, false, months, &ns);
    if (r == 0 || (r == 1 && !*months)) return 0;
    if (r < 0) return wfail(b, a->line, a->col, "INTERVAL out of range"), -1;
    qv_type kt = c->norder == 1 ? c->order[0]->type : T_NULL;
    if (kt != QV_T_TIMESTAMP && kt != QV_T_DATE)
        return wfail(b, a->line, a->col, "a RANGE offset with months or years needs one TIMESTAMP or DATE ORDER BY key"), -1;
    if (*months < 0 || ns < 0) return wfail(b, a->line, a->col, "frame offset must not be negative"), -1;
    out->null = false;
    out->i = kt == QV_T_DATE ? ns / (86400 * (int64_t)1000000000) : ns;
    return 1;
}

/* One frame offset: ROWS and GROUPS take a non-negative integer (rows, peer
   groups), RANGE a value of the ORDER BY key's kind. */
static int frame_offset(binder *b, const win_spec *sp, win_call *c, ast *a, value *out, int32_t *months) {
    value v;
    qv_type t;
    char m[300];
    int r = sp->frame == WF_RANGE ? cal_offset(b, c, a, out, months) : 0;
    if (r) return r < 0 ? -1 : 0;
    if (sp->frame == WF_ROWS || sp->frame == WF_GROUPS) {
        if (const_arg(b, a, sp->frame == WF_ROWS ? "ROWS frame" : "GROUPS frame", "the offset", true, &v, &t)) return -1;
    } else {
        if (c->norder != 1) {
            snprintf(m, sizeof m, "RANGE with an offset needs exactly one ORDER BY key, got %d", c->norder);
            return wfail(b, a->line, a->col, m);
        }
        qv_type kt = c->order[0]->type;
        if (const_arg(b, a, "RANGE frame", "the offset", false, &v, &t)) return -1;
        if (kt == QV_T_DATE && t == T_INTERVAL) {
            /* whole days: for whole-day keys, |x - d| <= o holds exactly when |x - d| <= floor(o) */
            v.i = v.i >= 0 ? v.i / (86400 * (int64_t)1000000000) : -1;
            t = QV_T_INT64;
        }
        if (kt == QV_T_DATE && !type_is_int(t)) {
            snprintf(m, sizeof m, "RANGE offset over a DATE ORDER BY key must be an integer (days) or an INTERVAL, got %s",
                     type_name(t));
            return wfail(b, a->line, a->col, m);
        }
        if (kt == QV_T_TIMESTAMP && t != T_INTERVAL) {
            snprintf(m, sizeof m, "RANGE offset over a TIMESTAMP ORDER BY key must be an INTERVAL, got %s", type_name(t));
            return wfail(b, a->line, a->col, m);
        }
        if (kt != QV_T_TIMESTAMP && kt != QV_T_DATE && !type_is_num(kt)) {
            snprintf(m, sizeof m, "RANGE with an offset needs a numeric, DATE or TIMESTAMP ORDER BY key, got %s", type_name(kt));
            return wfail(b, a->line, a->col, m);
        }
        if (type_is_num(kt) && t == T_INTERVAL)
            return wfail(b, a->line, a->col, "RANGE offset over a numeric ORDER BY key must be a number, got INTERVAL");
        if (type_is_int(kt) && (type_pc(t) == PC_F || type_is_dec(t)))
            return wfail(b, a->line, a->col, "RANGE offset over an integer ORDER BY key must be an integer");
        if (type_is_dec(kt) && range_dec_offset(kt, &v, &t))
            return wfail(b, a->line, a->col, "RANGE offset does not fit the DECIMAL ORDER BY key's type");
        if (type_pc(kt) == PC_F && type_pc(t) == PC_I) v.f = type_is_dec(t) ? qv_dec_to_double(v.i, dec_scale(t)) : (double)v.i;
    }
    bool negv = type_pc(t) == PC_F ? v.f < 0 || isnan(v.f) : v.i < 0;
    if (negv) {
        if (type_pc(t) == PC_F) snprintf(m, sizeof m, "frame offset must not be negative, got %g", v.f);
        else snprintf(m, sizeof m, "frame offset must not be negative, got %lld", (long long)v.i);
        return wfail(b, a->line, a->col, m);
    }
    *out = v;
    return 0;
}

static int bind_frame(binder *b, const win_spec *sp, win_call *c) {
    if (sp->frame == WF_DEFAULT) {
        c->frame = c->norder ? WF_RANGE : WF_ROWS;
        c->start = WB_UNB_PREC;
        c->end = c->norder ? WB_CURRENT : WB_UNB_FOLL;
        return 0;
    }
    c->frame = sp->frame;
    c->start = sp->start;
    c->end = sp->end;
    if (c->start == WB_UNB_FOLL) return wfail(b, sp->line, sp->col, "a window frame cannot start at UNBOUNDED FOLLOWING");
    if (c->end == WB_UNB_PREC) return wfail(b, sp->line, sp->col, "a window frame cannot end at UNBOUNDED PRECEDING");
    if ((c->start == WB_FOLL && (c->end == WB_PREC || c->end == WB_CURRENT)) || (c->start == WB_CURRENT && c->end == WB_PREC))
        return wfail(b, sp->line, sp->col, "a window frame cannot end before it starts");
    if (c->start == WB_PREC || c->start == WB_FOLL)
        if (frame_offset(b, sp, c, sp->start_off, &c->start_off, &c->start_months)) return -1;
    if (c->end == WB_PREC || c->end == WB_FOLL)
        if (frame_offset(b, sp, c, sp->end_off, &c->end_off, &c->end_months)) return -1;
    return 0;
}

static int bind_keys(binder *b, const win_spec *sp, win_call *c) {
    c->npart = sp->npart;
    c->part = arena_alloc(b->ar, sizeof(bexpr *) * (size_t)(sp->npart + 1));
    for (int i = 0; i < sp->npart; i++) {
        if (!(c->part[i] = bind_expr(b, sp->part[i]))) return -1;
        if (c->part[i]->type == T_NULL && !(c->part[i] = bind_coerce(b, c->part[i], QV_T_INT32))) return -1;
    }
    c->norder = sp->norder;
    c->order = arena_alloc(b->ar, sizeof(bexpr *) * (size_t)(sp->norder + 1));
    c->desc = arena_alloc(b->ar, sizeof(bool) * (size_t)(sp->norder + 1));
    c->nulls_first = arena_alloc(b->ar, sizeof(bool) * (size_t)(sp->norder + 1));
    for (int i = 0; i < sp->norder; i++) {
        ast *o = sp->order[i].e;
        if (!(c->order[i] = bind_expr(b, o))) return -1;
        if (c->order[i]->type == T_NULL && !(c->order[i] = bind_coerce(b, c->order[i], QV_T_INT32))) return -1;
        c->desc[i] = sp->order[i].desc;
        c->nulls_first[i] = sp->order[i].nulls_first == 1;
    }
    return 0;
}

static bool same_keys(const win_spec *x, const win_spec *y) {
    if (x->npart != y->npart || x->norder != y->norder) return false;
    for (int i = 0; i < x->npart; i++)
        if (!ast_equal(x->part[i], y->part[i])) return false;
    for (int i = 0; i < x->norder; i++)
        if (x->order[i].desc != y->order[i].desc || x->order[i].nulls_first != y->order[i].nulls_first ||
            !ast_equal(x->order[i].e, y->order[i].e))
            return false;
    return true;
}

static bexpr *bind_call(binder *b, binder *sub, win_env *w, ast *a, win_spec *sp);

bexpr *plan_window_expr(binder *b, ast *a) {
    win_env *w = b->wctx;
    for (int i = 0; i < w->n; i++)
        if (ast_equal(w->asts[i], a)) return mk_col(b->ar, WIN_COL_BASE + i, w->calls[i].type, w->calls[i].tz);
    win_spec sp;
    if (resolve(b, w, a->over, &sp, 0)) return NULL;
    binder sub = *b;
    sub.in_window = true;
    bexpr *r = bind_call(b, &sub, w, a, &sp);
    bd_sync_aggs(b, &sub); /* aggregates inside the window (ORDER BY max(ts)) belong to the query */
    return r;
}

/* Binds call a over window sp with sub (b's copy inside the window) and registers it. */
static bexpr *bind_call(binder *b, binder *sub, win_env *w, ast *a, win_spec *spp) {
    win_spec sp = *spp;
    win_call c;
    memset(&c, 0, sizeof c);
    int f = win_fn_lookup(a->name);
    char m[200];
    if (f < 0 && !is_agg_name(a->name)) {
        snprintf(m, sizeof m, "unknown window function '%s'", a->name);
        wfail(b, a->line, a->col, m);
        return NULL;
    }
    c.fn = f < 0 ? WFN_AGG : (win_fn)f;
    c.ignore_nulls = a->ignore_nulls;
    if (a->ignore_nulls && !fn_takes_nulls_option(c.fn)) {
        snprintf(m, sizeof m, "%s does not take IGNORE NULLS", a->name);
        wfail(b, a->line, a->col, m);
        return NULL;
    }
    if (bind_keys(sub, &sp, &c)) return NULL;
    if (c.fn == WFN_AGG) {
        if (a->norder) {
            snprintf(m, sizeof m, "window aggregate %s does not support ORDER BY in its arguments", a->name);
            wfail(b, a->line, a->col, m);
            return NULL;
        }
        if (agg_bind_window(sub, a, &c.agg)) return NULL;
        agg_id af = c.agg.fn;
        if (a->distinct && af != AG_COUNT && af != AG_SUM && af != AG_AVG && af != AG_MIN && af != AG_MAX &&
            af != AG_APPROX_COUNT_DISTINCT) {
            snprintf(m, sizeof m, "window aggregate %s does not support DISTINCT (count, sum, avg, min and max do)", a->name);
            wfail(b, a->line, a->col, m);
            return NULL;
        }
        c.type = c.agg.type;
        memcpy(c.tz, c.agg.tz, sizeof c.tz);
    } else if (bind_win_fn(sub, a, &c)) {
        return NULL;
    }
    if (bind_frame(sub, &sp, &c)) return NULL;
    if (w->n == w->cap) {
        int nc = w->cap ? w->cap * 2 : 4;
        win_call *ncalls = arena_alloc(b->ar, sizeof(win_call) * (size_t)nc);
        ast **nasts = arena_alloc(b->ar, sizeof(ast *) * (size_t)nc);
        win_spec *nspecs = arena_alloc(b->ar, sizeof(win_spec) * (size_t)nc);
        if (w->n) {
            memcpy(ncalls, w->calls, sizeof(win_call) * (size_t)w->n);
            memcpy(nasts, w->asts, sizeof(ast *) * (size_t)w->n);
            memcpy(nspecs, w->specs, sizeof(win_spec) * (size_t)w->n);
        }
        w->calls = ncalls;
        w->asts = nasts;
        w->specs = nspecs;
        w->cap = nc;
    }
    c.spec = w->n;
    for (int i = 0; i < w->n; i++)
        if (same_keys(&w->specs[i], &sp)) { c.spec = w->calls[i].spec; break; }
    w->calls[w->n] = c;
    w->asts[w->n] = a;
    w->specs[w->n] = sp;
    w->n++;
    return mk_col(b->ar, WIN_COL_BASE + w->n - 1, c.type, c.tz);
}

static bool in_scope(const scope *sc, const char *name) {
    for (int i = 0; i < sc->n; i++)
        if (!strcasecmp(sc->cols[i].name, name)) return true;
    return false;
}

/* QUALIFY may name select-list aliases (rn in `row_number() OVER ... AS rn`). */
static ast *subst_alias(arena *ar, ast *a, const scope *sc, const out_col *outs, int n) {
    if (!a) return NULL;
    if (a->kind == A_COL && !a->qual && !in_scope(sc, a->name))
        for (int i = 0; i < n; i++)
            if (outs[i].name && !strcasecmp(outs[i].name, a->name)) return (ast *)outs[i].src;
    if (!a->nargs || a->kind == A_FUNC) return a;
    ast *c = arena_alloc(ar, sizeof *c);
    *c = *a;
    c->args = arena_alloc(ar, sizeof(ast *) * (size_t)a->nargs);
    for (int i = 0; i < a->nargs; i++) c->args[i] = subst_alias(ar, a->args[i], sc, outs, n);
    return c;
}

bexpr *plan_window_qualify(binder *b, const select_stmt *s, const out_col *outs, int n) {
    b->clause = "QUALIFY";
    bexpr *q = bind_expr(b, subst_alias(b->ar, s->qualify, b->in, outs, n));
    if (!q) return NULL;
    if (bind_need_bool(b, q, s->qualify)) return NULL;
    return q;
}

static void fix(bexpr *e, int ninput) {
    if (!e) return;
    if (e->kind == B_COL && e->col >= WIN_COL_BASE) e->col = ninput + (e->col - WIN_COL_BASE);
    for (int i = 0; i < e->nargs; i++) fix(e->args[i], ninput);
}

void plan_window_fix(win_env *w, int ninput, const out_col *outs, int n, bexpr *qualify) {
    w->ninput = ninput;
    for (int i = 0; i < n; i++) fix(outs[i].e, ninput);
    fix(qualify, ninput);
}

void plan_window_mark(const win_env *w, bool *need, const bexpr *qualify) {
    plan_mark_cols(qualify, need);
    for (int i = 0; i < w->n; i++) {
        const win_call *c = &w->calls[i];
        plan_mark_cols(c->arg, need);
        plan_mark_cols(c->dflt, need);
        for (int j = 0; j < c->agg.nin; j++) plan_mark_cols(c->agg.in[j], need);
        for (int j = 0; j < c->npart; j++) plan_mark_cols(c->part[j], need);
        for (int j = 0; j < c->norder; j++) plan_mark_cols(c->order[j], need);
    }
}

/* k when QUALIFY has an AND-ed `rn <= k` / `rn < k` / `rn = k` on a row_number() column. */
static int64_t qualify_topk(const bexpr *q, int ninput, int n) {
    if (!q || q->kind != B_BINARY) return 0;
    if (q->op == OP_AND) {
        int64_t a = qualify_topk(q->args[0], ninput, n), b = qualify_topk(q->args[1], ninput, n);
        return a && b ? (a < b ? a : b) : a ? a : b;
    }
    const bexpr *x = q->args[0], *k = q->args[1];
    int op = q->op;
    if (x->kind == B_CONST) {
        const bexpr *t = x;
        x = k;
        k = t;
        op = op == OP_GE ? OP_LE : op == OP_GT ? OP_LT : op;
    }
    if (x->kind != B_COL || x->col < ninput || x->col >= ninput + n || k->kind != B_CONST || k->cval.null ||
        !type_is_int(k->type))
        return 0;
    int64_t v = k->cval.i;
    if (op == OP_LE || op == OP_EQ) return v >= 1 ? v : 0;
    if (op == OP_LT) return v >= 2 ? v - 1 : 0;
    return 0;
}

op *plan_window_op(qstate *qs, const win_env *w, op *root, bexpr *qualify, const out_col *outs, int n) {
    bool *keep = qv_xcalloc((size_t)(root->ncols + w->n + 1), 1); /* owned by the operator */
    for (int i = 0; i < n; i++) plan_mark_cols(outs[i].e, keep);
    plan_mark_cols(qualify, keep);
    int64_t topk = 0;
    bool all_rn = true;
    for (int i = 0; i < w->n; i++)
        all_rn &= w->calls[i].fn == WFN_ROW_NUMBER && w->calls[i].spec == w->calls[0].spec && w->calls[i].norder > 0;
    if (all_rn) topk = qualify_topk(qualify, w->ninput, w->n);
    if (topk > 64) topk = 0; /* the top-k form scans its k survivors per row */
    root = op_window_new(qs, root, keep, w->n, w->calls, topk);
    if (qualify) root = op_filter_new(qs, root, qualify);
    return root;
}
