/* Placeholders and the shape questions front ends ask about a prepared
   statement (sql_query_param_*, sql_query_bind, sql_query_is_scan).
   sql_params lives in the query: its node list is heap, its types and the
   bound values' strings are arenas (ar, parr); a bind replaces all values. */
#include "query_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sql_params_init(sql_query *q) {
    sql_params *ps = &q->params;
    ps->n = q->st->nparams;
    ps->types = arena_alloc(&q->ar, sizeof(qv_type) * (size_t)(ps->n + 1));
    for (int i = 0; i < ps->n; i++) ps->types[i] = T_NULL;
    ps->now_ns = qv_now_ns() / 1000 * 1000; /* read once: every now() of the statement is this */
    q->qs.params = ps;
}

void sql_params_done(sql_query *q) {
    sql_params *ps = &q->params;
    bind_params_finish(ps);
    for (int i = 0; i < ps->n; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "$%d", i + 1);
        sql_schema_add(&q->pschema, nm, ps->types[i], true);
    }
}

void sql_params_free(sql_query *q) {
    free(q->params.nodes);
    q->params.nodes = NULL;
    qv_schema_free(&q->pschema);
    arena_free(&q->parr);
}

int sql_params_check(sql_query *q, qv_err *err) {
    if (q->params.n == 0 || q->params.bound) return 0;
    return qv_err_set(err, QV_EINVAL, "parameter $1 of %d is not bound: call sql_query_bind before running the statement",
                      q->params.n);
}

int sql_query_param_count(const sql_query *q) { return q->params.n; }
const qv_schema *sql_query_param_schema(const sql_query *q) { return &q->pschema; }

/* Value of row r of a (non-null) array as the executor holds it; false for types a parameter cannot have. */
static bool array_value(const qv_array *a, const qv_field *f, int64_t r, value *v, qv_type *t) {
    memset(v, 0, sizeof *v);
    *t = a->type == QV_T_SYMBOL ? QV_T_STRING : sql_field_type(f);
    switch (a->type) {
    case QV_T_INT32:
    case QV_T_DATE: v->i = qv_array_get_i32(a, r); return true;
    case QV_T_INT64:
    case QV_T_TIMESTAMP:
    case QV_T_DECIMAL:
    case QV_T_INTERVAL:
    case QV_T_TIME: v->i = qv_array_get_i64(a, r); return true;
    case QV_T_BOOL: v->i = qv_array_get_bool(a, r); return true;
    case QV_T_FLOAT32: v->f = qv_array_get_f32(a, r); return true;
    case QV_T_FLOAT64: v->f = qv_array_get_f64(a, r); return true;
    case QV_T_STRING:
    case QV_T_SYMBOL: v->s.p = qv_array_get_str(a, r, &v->s.n); return true;
    case QV_T_INVALID:
    case QV_T__COUNT: return false;
    }
    return false;
}

/* in (of type from) converted to type to like an implicit cast; strings copied to parr. */
static int value_cast(sql_query *q, int n, qv_type from, const value *in, qv_type to, value *out, qv_err *err) {
    *out = *in;
    if (in->null) return 0;
    if (from != to && !(type_pc(from) == PC_S && type_pc(to) == PC_S)) {
        if (!castable_to(from, to))
            return qv_err_set(err, QV_EINVAL, "parameter $%d: cannot convert %s to %s", n, type_name(from), type_name(to));
        bexpr k = {.kind = B_CONST, .type = from, .cval = *in}, *kp = &k;
        bexpr c = {.kind = B_CAST, .type = to, .args = &kp, .nargs = 1};
        vec v;
        vec_init(&v, to);
        qv_err e2 = {0};
        if (expr_eval_const(&c, &v, &e2)) {
            vec_free(&v);
            return qv_err_set(err, QV_EINVAL, "parameter $%d: %s", n, e2.msg);
        }
        out->null = vec_null(&v, 0);
        if (type_pc(to) == PC_I) out->i = v.i[0];
        else if (type_pc(to) == PC_F) out->f = v.f[0];
        else out->s = v.s[0];
        if (type_pc(to) == PC_S && !out->null) out->s.p = arena_strndup(&q->parr, out->s.p, (size_t)out->s.n);
        vec_free(&v);
        return 0;
    }
    if (type_pc(to) == PC_S) out->s.p = arena_strndup(&q->parr, in->s.p ? in->s.p : "", (size_t)in->s.n);
    return 0;
}

int sql_query_bind(sql_query *q, const qv_batch *params, int64_t row, qv_err *err) {
    qv_err_clear(err);
    sql_params *ps = &q->params;
    if (q->started) return qv_err_set(err, QV_EINVAL, "sql_query_bind: the statement has already started running");
    int ncols = params ? params->schema.nfields : 0;
    if (ncols != ps->n) {
        if (ncols < ps->n)
            return qv_err_set(err, QV_EINVAL, "the statement has %d parameters but %d values were bound: parameter $%d has no value",
                              ps->n, ncols, ncols + 1);
        return qv_err_set(err, QV_EINVAL, "the statement has %d parameter%s but %d values were bound (one column per parameter)",
                          ps->n, ps->n == 1 ? "" : "s", ncols);
    }
    if (ps->n == 0) {
        ps->bound = true;
        return 0;
    }
    if (row < 0 || row >= params->nrows)
        return qv_err_set(err, QV_EINVAL, "parameter row %lld is out of range (the batch has %lld rows)", (long long)row,
                          (long long)params->nrows);
    ps->bound = false;
    arena_free(&q->parr);
    arena_init(&q->parr);
    value *vals = arena_alloc(&q->parr, sizeof(value) * (size_t)ps->n);
    for (int i = 0; i < ps->n; i++) {
        const qv_array *a = &params->cols[i];
        value v;
        qv_type t;
        if (row >= a->length || !qv_array_is_valid(a, row)) {
            vals[i].null = true;
            continue;
        }
        if (!array_value(a, &params->schema.fields[i], row, &v, &t))
            return qv_err_set(err, QV_EINVAL, "parameter $%d: values of type %s cannot be bound", i + 1, qv_type_name(a->type));
        if (value_cast(q, i + 1, t, &v, ps->types[i], &vals[i], err)) return err->code;
    }
    for (int j = 0; j < ps->nnodes; j++) {
        bexpr *e = ps->nodes[j];
        int i = e->op - 1;
        if (value_cast(q, i + 1, ps->types[i], &vals[i], e->type, &e->cval, err)) return err->code;
    }
    ps->bound = true;
    return 0;
}

bool sql_query_is_scan(const sql_query *q, const char **table, bool *ordered) {
    if (!q->has_plan || q->st->kind != S_SELECT || !q->pl.is_scan) return false;
    if (table) *table = q->pl.scan_table;
    if (ordered) *ordered = false;
    return true;
}

bool sql_query_orders(const sql_query *q) {
    return q->st && q->st->kind == S_SELECT && q->st->sel && q->st->sel->norder > 0;
}
