/* Binder internals shared by bind.c and plan.c. */
#ifndef QUIVER_SQL_BIND_H
#define QUIVER_SQL_BIND_H

#include "sql_int.h"

typedef struct scope_col {
    const char *name;
    const char *qual;
    qv_type type;
    char tz[32];
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
} binder;

bexpr *bind_expr(binder *b, ast *a);
bexpr *bind_coerce(binder *b, bexpr *e, qv_type t);
bool ast_has_agg(const ast *a);
bool is_agg_name(const char *name);
char *ast_to_name(arena *ar, const ast *a);
bool castable_to(qv_type from, qv_type to);
bexpr *mk_col(arena *ar, int col, qv_type t, const char *tz);

#endif
