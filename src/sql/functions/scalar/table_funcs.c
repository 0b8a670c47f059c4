/* Table functions: the functions that stand in FROM as a table. One entry
   per function in tfunc_defs; adding one is an entry plus its bind and make.
   range(stop) / range(start, stop[, step]) excludes stop,
   generate_series(...) includes it; both count BIGINTs (default start 0,
   step 1) or TIMESTAMPs by an INTERVAL step, fixed or with months (each
   value the previous plus the step, so Jan 31 + 1 month is Feb 29 and then
   Mar 29, as DuckDB's). */
#include "functions.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int targ_fail(binder *b, const tfunc_def *d, const tfunc_call *c, int i, const char *why, qv_type got) {
    const ast *a = i >= 0 && i < c->nargs ? c->args[i] : NULL;
    return qv_err_set(b->err, QV_EINVAL, "%s(): %s%s%s; usage: %s (line %d, column %d)", d->name, why,
                      got != QV_T_INVALID ? ", got " : "", got != QV_T_INVALID ? type_name(got) : "", d->usage,
                      a ? a->line : c->line, a ? a->col : c->col);
}

static bexpr *int_const(binder *b, int64_t v) {
    bexpr *e = bd_mk(b, B_CONST, QV_T_INT64, 0);
    e->cval.i = v;
    return e;
}

static bool is_untyped_param(const bexpr *e) { return e->kind == B_PARAM && e->type == T_NULL; }

/* (stop) | (start, stop) | (start, stop, step): BIGINT, or TIMESTAMP, TIMESTAMP, INTERVAL. */
static int series_bind(binder *b, const tfunc_def *d, const tfunc_call *c, bexpr **args, tfunc_bound *out) {
    int n = c->nargs;
    bool ts = false;
    for (int i = 0; i < n; i++) ts |= bd_is_time(args[i]->type) || args[i]->type == T_INTERVAL;
    if (ts) {
        if (n != 3) return targ_fail(b, d, c, -1, "over timestamps it takes a start, a stop and an INTERVAL step", QV_T_INVALID);
        for (int i = 0; i < 2; i++) {
            qv_type t = args[i]->type;
            if (t == QV_T_TIMESTAMP || (t == T_NULL && !is_untyped_param(args[i]))) continue;
            if (is_untyped_param(args[i]) || t == QV_T_DATE || (type_pc(t) == PC_S && args[i]->kind == B_CONST)) {
                if (!(args[i] = bind_coerce(b, args[i], QV_T_TIMESTAMP))) return b->err->code;
                continue;
            }
            return targ_fail(b, d, c, i, i ? "the stop must be a TIMESTAMP" : "the start must be a TIMESTAMP", t);
        }
        if (args[2]->type != T_INTERVAL && (args[2]->type != T_NULL || is_untyped_param(args[2])))
            return targ_fail(b, d, c, 2, "the step between timestamps must be an INTERVAL", args[2]->type);
        out->types[0] = QV_T_TIMESTAMP;
        snprintf(out->tz[0], sizeof out->tz[0], "%s", bd_pick_tz(args[0], args[1]));
    } else {
        for (int i = 0; i < n; i++) {
            qv_type t = args[i]->type;
            if (t == QV_T_INT64 || (t == T_NULL && !is_untyped_param(args[i]))) continue;
            if (t == QV_T_INT32 || type_pc(t) == PC_S || is_untyped_param(args[i])) {
                if (!(args[i] = bind_coerce(b, args[i], QV_T_INT64))) return b->err->code;
                continue;
            }
            return targ_fail(b, d, c, i, "arguments must be BIGINT (or TIMESTAMP, TIMESTAMP, INTERVAL)", t);
        }
        out->types[0] = QV_T_INT64;
    }
    out->nargs = 3;
    out->args[0] = n == 1 ? int_const(b, 0) : args[0];
    out->args[1] = n == 1 ? args[0] : args[1];
    out->args[2] = n == 3 ? args[2] : int_const(b, 1);
    const bexpr *st = out->args[2];
    if (st->kind == B_CONST && st->type != T_NULL && !st->cval.null && st->cval.i == 0 && !st->months)
        return targ_fail(b, d, c, 2, "the step must not be 0", QV_T_INVALID);
    out->ncols = 1;
    out->names[0] = d->name;
    return 0;
}

static op *series_make(qstate *qs, const tfunc_def *d, const tfunc_bound *bd) {
    return op_series_new(qs, d->name, bd->args, bd->types[0], d->inclusive);
}

static int64_t series_rows(const tfunc_def *d, const tfunc_bound *bd) {
    int64_t v[3];
    for (int i = 0; i < 3; i++) {
        const bexpr *e = bd->args[i];
        if (e->kind != B_CONST) return -1;
        if (e->type == T_NULL || e->cval.null) return 0;
        v[i] = e->cval.i;
        if (e->months) return -1; /* calendar steps: counted as they go */
    }
    if (!v[2]) return -1;
    uint64_t n = series_count(v[0], v[1], v[2], d->inclusive);
    return n > (uint64_t)INT64_MAX ? -1 : (int64_t)n;
}

const tfunc_def tfunc_defs[] = {
    {"range", 1, 3, series_bind, series_make, series_rows, false,
     "range(stop), range(start, stop[, step]) or range(TIMESTAMP, TIMESTAMP, INTERVAL)",
     "start, start + step, ... while before stop (stop excluded)"},
    {"generate_series", 1, 3, series_bind, series_make, series_rows, true,
     "generate_series(stop), generate_series(start, stop[, step]) or generate_series(TIMESTAMP, TIMESTAMP, INTERVAL)",
     "start, start + step, ... up to stop (stop included)"},
    {NULL, 0, 0, NULL, NULL, NULL, false, NULL, NULL},
};

const tfunc_def *tfunc_lookup(const char *name) {
    for (int i = 0; tfunc_defs[i].name; i++)
        if (!strcasecmp(tfunc_defs[i].name, name)) return &tfunc_defs[i];
    return NULL;
}
