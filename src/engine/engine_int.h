/* engine internals shared by engine.c, put.c and demo.c. */
#ifndef QUIVER_ENGINE_INT_H
#define QUIVER_ENGINE_INT_H

#include "engine/engine.h"
#include "sql/sql.h"

#include <pthread.h>

struct eng {
    st_db *db;
    sql_ctx *sql;
    eng_metrics metrics;
    int64_t started_ns;   /* monotonic */
    struct eng_sessions *sessions;  /* stmt.c */
};

typedef struct eng_sessions eng_sessions;
eng_sessions *eng_sessions_new(void);
void eng_sessions_free(eng_sessions *s);

/* demo.c: create and fill `trades` with n synthetic ticks if it does not exist. */
int eng_demo_create(eng *e, int64_t n, qv_err *err);

#endif
