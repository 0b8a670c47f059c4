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
    uint8_t key[ENG_KEY_BYTES]; /* ticket key (eng_partition.c) */
    char key_path[4200];        /* where it is kept; empty in memory */
    struct eng_sessions *sessions;  /* stmt.c */
};

/* eng_partition.c: the ticket key from <data_dir>/ticket.key (created if
   missing) or random when in memory. */
int eng_key_load(eng *e, const eng_options *opts, qv_err *err);
/* engine.c: thin wrappers over the SQL layer's scan detection and scoped scans. */
bool eng_sql_scan_of(const eng_query *q, const char **table, bool *ordered);
int eng_sql_open_range(eng *e, const char *sql, size_t len, const eng_range *r, eng_query **out, qv_err *err);

typedef struct eng_sessions eng_sessions;
eng_sessions *eng_sessions_new(void);
void eng_sessions_free(eng_sessions *s);

/* demo.c: create and fill `trades` with n synthetic ticks if it does not exist. */
int eng_demo_create(eng *e, int64_t n, qv_err *err);

#endif
