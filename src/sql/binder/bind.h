/* Binder internals shared by bind.c and plan.c. */
#ifndef QUIVER_SQL_BIND_H
#define QUIVER_SQL_BIND_H

#include "sql_int.h"

typedef struct scope_col {
    const char *name;
    const char *qual;
    qv_type type;
    char tz[32];
    bool hidden;      /* the right column of JOIN ... USING: only reachable qualified */
} scope_col;

typedef struct scope {
    int n;
    scope_col *cols;
} scope;

typedef struct binder {
    arena *ar;
    qv_err *err;
    const scope *in;
    /* aggregate context: expressions above the aggregation see keys then aggs */
    bool agg_mode;
    int ngroup;
    ast **group;
    bexpr **gkeys;
    int naggs, capaggs;
    agg_spec *aggs;
    ast **agg_asts;
    bool in_agg_arg;
    const char *clause; /* "WHERE", ... for messages */
    sql_params *params; /* NULL: placeholders are not allowed here */
    /* subquery expressions ((SELECT ...), EXISTS, IN (SELECT ...)) are planned by the planner */
    bexpr *(*subquery)(struct binder *b, ast *a);
    void *planner;
    /* window calls (f(...) OVER ...) are bound by the planner; NULL: not allowed in this clause */
    bexpr *(*window)(struct binder *b, ast *a);
    void *wctx;
    bool in_window;    /* binding a window call's arguments, PARTITION BY or ORDER BY */
} binder;

bexpr *bind_expr(binder *b, ast *a);
/* Placeholders (bind_param.c): a B_PARAM node for $N, typed from the slot
   when an earlier use inferred it; bind_param_type gives an untyped one type t. */
bexpr *bind_param(binder *b, ast *a);
bexpr *bind_param_type(binder *b, bexpr *e, qv_type t);
/* Untyped placeholders left after binding become utf8. */
void bind_params_finish(sql_params *ps);
bexpr *bind_coerce(binder *b, bexpr *e, qv_type t);
/* Aggregates a copy of b registered (binding window arguments) go back to b. */
static inline void bd_sync_aggs(binder *b, const binder *copy) {
    b->naggs = copy->naggs;
    b->capaggs = copy->capaggs;
    b->aggs = copy->aggs;
    b->agg_asts = copy->agg_asts;
}
/* An aggregate call used as a window function (functions/agg_table.c). */
int agg_bind_window(binder *b, ast *a, agg_spec *sp);
bool ast_has_agg(const ast *a);
bool ast_has_window(const ast *a);
/* Window results are B_COL nodes numbered from WIN_COL_BASE until the planner
   knows the window operator's input width. */
#define WIN_COL_BASE (1 << 24)
bool is_agg_name(const char *name);
char *ast_to_name(arena *ar, const ast *a);
bool castable_to(qv_type from, qv_type to);
bexpr *mk_col(arena *ar, int col, qv_type t, const char *tz);

/* Shared by bind.c and bind_func.c. */
bexpr *bind_func(binder *b, ast *a);
bexpr *bd_mk(binder *b, bexpr_kind k, qv_type t, int nargs);
bexpr *bd_fail(binder *b, const ast *a, qv_status code, const char *fmt, const char *x, const char *y);
qv_type bd_common_type(qv_type a, qv_type c, bool *ok);
bexpr *bd_need_type(binder *b, const ast *a, bexpr *e, const char *what, bool (*ok)(qv_type));
bool bd_is_bool(qv_type t);
bool bd_is_num(qv_type t);
bool bd_is_int(qv_type t);
bool bd_is_str(qv_type t);
bool bd_is_ts(qv_type t);
int bd_unify(binder *b, const ast *a, bexpr **x, bexpr **y, const char *what);
const char *bd_pick_tz(bexpr *x, bexpr *y);

#endif
