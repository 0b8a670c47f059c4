/* coalesce / ifnull and typeof, and the type descriptors (one per type). */
#include "functions.h"

#include <stdio.h>
#include <string.h>

/* One entry per qv_type: DuckDB's name (what typeof prints), the executor's
   vector width and physical class. */
static const sql_type_def types[QV_T__COUNT] = {
    [QV_T_INVALID] = {"INVALID", 0, PC_I},
    [QV_T_INT32] = {"INTEGER", 8, PC_I},
    [QV_T_INT64] = {"BIGINT", 8, PC_I},
    [QV_T_FLOAT32] = {"FLOAT", 8, PC_F},
    [QV_T_FLOAT64] = {"DOUBLE", 8, PC_F},
    [QV_T_BOOL] = {"BOOLEAN", 8, PC_I},
    [QV_T_STRING] = {"VARCHAR", (int)sizeof(sv), PC_S},
    [QV_T_SYMBOL] = {"VARCHAR", (int)sizeof(sv), PC_S},
    [QV_T_TIMESTAMP] = {"TIMESTAMP", 8, PC_I},
};
_Static_assert(sizeof types / sizeof types[0] == QV_T__COUNT, "one descriptor per type");
static const sql_type_def t_null = {"\"NULL\"", 8, PC_I}, t_interval = {"INTERVAL", 8, PC_I};

const sql_type_def *sql_type_get(qv_type t) {
    if (t == T_NULL) return &t_null;
    if (t == T_INTERVAL) return &t_interval;
    return (unsigned)t < QV_T__COUNT ? &types[t] : &types[QV_T_INVALID];
}

const char *sql_type_sqlname(qv_type t, const char *tz) {
    if (t == QV_T_TIMESTAMP && tz && tz[0]) return "TIMESTAMP WITH TIME ZONE";
    return sql_type_get(t)->sql_name;
}

static bexpr *bind_typeof(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    (void)a, (void)fd;
    const char *nm = sql_type_sqlname(e->args[0]->type, e->args[0]->tz);
    bexpr *k = bd_mk(b, B_CONST, QV_T_STRING, 0);
    k->cval.s.p = nm;
    k->cval.s.n = (int32_t)strlen(nm);
    return k;
}

/* coalesce(a, b, ...): the first non-NULL argument, in the arguments' common type */
static bexpr *bind_coalesce(binder *b, ast *a, bexpr *e, const sfunc_def *fd) {
    bexpr *c = bd_mk(b, B_COALESCE, T_NULL, e->nargs);
    bool ok;
    for (int i = 0; i < e->nargs; i++) {
        c->args[i] = e->args[i];
        qv_type t = c->args[i]->type;
        if (type_pc(t) == PC_S && c->args[i]->kind == B_CONST && c->type != T_NULL && type_pc(c->type) != PC_S) {
            if (!(c->args[i] = bind_coerce(b, c->args[i], c->type))) return NULL;
            continue;
        }
        qv_type nt = bd_common_type(c->type, t, &ok);
        if (!ok || t == T_INTERVAL) {
            char m[200];
            snprintf(m, sizeof m, "%s: arguments have incompatible types %s and %s", fd->name, type_name(c->type), type_name(t));
            return bd_fail(b, a, QV_EINVAL, "%s", m, NULL);
        }
        c->type = nt;
    }
    if (c->type == QV_T_FLOAT32) c->type = QV_T_FLOAT64;
    for (int i = 0; i < e->nargs; i++)
        if (!(c->args[i] = bind_coerce(b, c->args[i], c->type == T_NULL ? c->args[i]->type : c->type))) return NULL;
    snprintf(c->tz, sizeof c->tz, "%s", bd_pick_tz(c->args[0], NULL));
    return c;
}

const sfunc_def sfunc_misc[] = {
    {"coalesce", 1, 64, "A", 'A', bind_coalesce, NULL, 0, "the first non-NULL argument"},
    {"ifnull", 2, 2, "A", 'A', bind_coalesce, NULL, 0, "ifnull(a, b): a unless NULL, else b"},
    {"typeof", 1, 1, "A", 'S', bind_typeof, NULL, 0, "the name of the argument's type"},
    {NULL, 0, 0, NULL, 0, NULL, NULL, 0, NULL},
};
