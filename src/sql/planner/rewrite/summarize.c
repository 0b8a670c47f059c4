/* SUMMARIZE <table or query> (DuckDB's statement): one row per column of
   the dataset with column_name, column_type (DuckDB's type names), min,
   max, approx_unique, avg, std, q25, q50, q75 (as text), count and
   null_percentage (DECIMAL(9,2)). It is the UNION ALL of one aggregate
   query per column over the dataset:

     SELECT 'c' AS column_name, 'TYPE' AS column_type, CAST(min(c) AS VARCHAR) AS min, ...,
            count(*) AS count, CAST(100.0 * (count(*) - count(c)) / count(*) AS DECIMAL(9,2)) AS null_percentage
     FROM dataset

   avg and std are a number column's (NULL for others: DuckDB also averages
   timestamps), the quartiles approx_quantile for numbers and timestamps
   (ours is exact; DuckDB's t-digest agrees on small data, not always on
   large) and quantile_disc for dates and times. */
#include "plan_int.h"

#include <string.h>

static ast *mk(arena *ar, ast_kind k, int nargs) {
    ast *a = arena_alloc(ar, sizeof *a);
    a->kind = k;
    a->nargs = nargs;
    if (nargs) a->args = arena_alloc(ar, sizeof(ast *) * (size_t)nargs);
    a->height = 1;
    return a;
}

static ast *grown(ast *a) {
    for (int i = 0; i < a->nargs; i++)
        if (a->args[i] && a->args[i]->height + 1 > a->height) a->height = a->args[i]->height + 1;
    return a;
}

static ast *str_lit(arena *ar, const char *s) {
    ast *a = mk(ar, A_STR, 0);
    a->name = (char *)s;
    return a;
}

static ast *num_lit(arena *ar, int64_t v, const char *text) {
    ast *a = mk(ar, A_INT, 0);
    a->ival = v;
    a->fval = (double)v;
    a->name = (char *)text;
    return a;
}

static ast *call(arena *ar, const char *fn, ast *x, ast *y) {
    ast *f = mk(ar, A_FUNC, y ? 2 : x ? 1 : 0);
    f->name = (char *)fn;
    if (x) f->args[0] = x;
    if (y) f->args[1] = y;
    f->star = !x;
    return grown(f);
}

static ast *cast(arena *ar, ast *x, qv_type t) {
    ast *c = mk(ar, A_CAST, 1);
    c->cast_type = t;
    c->args[0] = x;
    return grown(c);
}

static ast *bin(arena *ar, int op, ast *x, ast *y) {
    ast *b = mk(ar, A_BINARY, 2);
    b->op = op;
    b->args[0] = x, b->args[1] = y;
    return grown(b);
}

static ast *null_lit(arena *ar) { return cast(ar, mk(ar, A_NULL, 0), QV_T_STRING); }

/* The one-row summary of column i (name nm, SQL type t) over src. */
static select_stmt *column_summary(arena *ar, select_stmt *src, const char *nm, qv_type t, const char *tz) {
    ast *c = mk(ar, A_COL, 0);
    c->name = (char *)nm;
    bool num = type_is_num(t), ordered = num || t == QV_T_TIMESTAMP || t == QV_T_DATE || t == QV_T_TIME;
    static const char *const names[] = {"column_name", "column_type", "min", "max", "approx_unique", "avg", "std",
                                        "q25", "q50", "q75", "count", "null_percentage"};
    ast *e[12];
    e[0] = str_lit(ar, nm);
    e[1] = str_lit(ar, sql_type_sqlname(t, tz));
    e[2] = cast(ar, call(ar, "min", c, NULL), QV_T_STRING);
    e[3] = cast(ar, call(ar, "max", c, NULL), QV_T_STRING);
    e[4] = call(ar, "approx_count_distinct", c, NULL);
    e[5] = num ? cast(ar, call(ar, "avg", c, NULL), QV_T_STRING) : null_lit(ar);
    e[6] = num ? cast(ar, call(ar, "stddev", c, NULL), QV_T_STRING) : null_lit(ar);
    static const char *const q[] = {"0.25", "0.5", "0.75"};
    for (int k = 0; k < 3; k++) {
        ast *f = mk(ar, A_FLOAT, 0);
        f->fval = (double)(k + 1) / 4;
        f->name = (char *)q[k];
        const char *qf = num || t == QV_T_TIMESTAMP ? "approx_quantile" : "quantile_disc"; /* keeps a DATE, a TIME */
        e[7 + k] = ordered ? cast(ar, call(ar, qf, c, f), QV_T_STRING) : null_lit(ar);
    }
    e[10] = call(ar, "count", NULL, NULL);
    /* CASE WHEN count(*) = 0 THEN NULL ELSE 100.0 * (count(*) - count(c)) / count(*) END, as DECIMAL(9,2) */
    ast *hundred = mk(ar, A_FLOAT, 0);
    hundred->fval = 100.0;
    hundred->name = "100.0";
    ast *pct = bin(ar, OP_DIV, bin(ar, OP_MUL, hundred, bin(ar, OP_SUB, call(ar, "count", NULL, NULL), call(ar, "count", c, NULL))),
                   call(ar, "count", NULL, NULL));
    ast *cs = mk(ar, A_CASE, 3);
    cs->has_else = true;
    cs->args[0] = bin(ar, OP_EQ, call(ar, "count", NULL, NULL), num_lit(ar, 0, "0"));
    cs->args[1] = mk(ar, A_NULL, 0);
    cs->args[2] = pct;
    e[11] = cast(ar, grown(cs), type_dec(9, 2));
    select_stmt *s = arena_alloc(ar, sizeof *s);
    s->has_from = true;
    s->sub = src;
    s->alias = "__summarize";
    s->limit = -1;
    s->items = arena_alloc(ar, sizeof(sel_item) * 12);
    for (int k = 0; k < 12; k++) s->items[k] = (sel_item){e[k], (char *)names[k]};
    s->nitems = 12;
    return s;
}

int plan_summarize(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, bool top, plan *p, qv_err *err) {
    select_stmt *src = s->pivot->src;
    plan pl;
    if (plan_select(ctx, qs, ar, src, false, &pl, err)) return err->code;
    select_stmt *all = NULL;
    for (int i = 0; i < pl.schema.nfields; i++) {
        const qv_field *f = &pl.schema.fields[i];
        all = plan_union_all(ar, all, column_summary(ar, src, arena_strdup(ar, f->name), pl.root->types[i],
                                                     arena_strdup(ar, f->tz)));
    }
    plan_free(&pl);
    if (!all) return qv_err_set(err, QV_EINVAL, "SUMMARIZE: the dataset has no columns");
    plan_take_order(all, s);
    return plan_select(ctx, qs, ar, all, top, p, err);
}
