/* engine internals shared by engine.c, put.c and demo.c. */
#ifndef QUIVER_ENGINE_INT_H
#define QUIVER_ENGINE_INT_H

#include "engine/engine.h"
#include "sql/sql.h"

struct eng {
    st_db *db;
    sql_ctx *sql;
    eng_metrics metrics;
    int64_t started_ns;   /* monotonic */
};

/* demo.c: create and fill `trades` with n synthetic ticks if it does not exist. */
int eng_demo_create(eng *e, int64_t n, qv_err *err);

#endif
