/* engine internals shared by engine.c, put.c and demo.c. */
#ifndef QUIVER_ENGINE_INT_H
#define QUIVER_ENGINE_INT_H

#include "engine/engine.h"
#include "sql/sql.h"

typedef struct eng_sched eng_sched;

struct eng {
    st_db *db;
    sql_ctx *sql;
    eng_metrics metrics;
    int64_t started_ns;   /* monotonic */
    eng_sched *sched;     /* sched.c */
    int64_t query_timeout_ms;
};

struct eng_query {
    eng *e;
    sql_query *q;
    int64_t started_ns;
    bool failed;
    /* deadline (sched.c watchdog, under the sched lock) */
    int64_t deadline_ns;
    bool watched, timed_out;
    eng_query *wprev, *wnext;
};

/* sched.c */
eng_sched *eng_sched_new(int threads, const eng_options *o);
void eng_sched_free(eng_sched *sc);
/* Cancel q (it then fails with QV_ETIMEOUT) at deadline_ns unless it closes first. */
void eng_sched_watch(eng *e, eng_query *q, int64_t deadline_ns);
void eng_sched_unwatch(eng *e, eng_query *q);

/* demo.c: create and fill `trades` with n synthetic ticks if it does not exist. */
int eng_demo_create(eng *e, int64_t n, qv_err *err);

#endif
