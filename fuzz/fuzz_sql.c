/* libFuzzer target: arbitrary text is prepared (and, when it prepares, run)
   against a fresh in-memory database holding one small table (with a
   deleted row). Nothing may crash, leak or trip the sanitizers; errors are
   fine. A watchdog thread cancels a query that runs longer than about two
   seconds (an aggregate over range(1000000000000) is valid SQL that would
   otherwise run for hours), the way --query-timeout does in the server. */
#include "sql/sql.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static sql_query *wd_q;      /* the running query, under wd_mu */
static struct timespec wd_start;

static void *wd_main(void *arg) {
    (void)arg;
    for (;;) {
        usleep(50 * 1000);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pthread_mutex_lock(&wd_mu);
        if (wd_q && now.tv_sec - wd_start.tv_sec >= 2) sql_query_cancel(wd_q);
        pthread_mutex_unlock(&wd_mu);
    }
    return NULL;
}

static void wd_start_thread(void) {
    pthread_t th;
    if (pthread_create(&th, NULL, wd_main, NULL) == 0) pthread_detach(th);
}

/* q is running from now on (NULL: nothing is). */
static void wd_watch(sql_query *q) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, wd_start_thread);
    pthread_mutex_lock(&wd_mu);
    if (q) clock_gettime(CLOCK_MONOTONIC, &wd_start);
    wd_q = q;
    pthread_mutex_unlock(&wd_mu);
}

static const char *setup[] = {
    "CREATE TABLE t (ts TIMESTAMP NOT NULL, sym SYMBOL, px DOUBLE, qty BIGINT, n INT, s VARCHAR, b BOOLEAN)",
    ("INSERT INTO t VALUES ('2024-03-24 09:30:00', 'A', 1.5, 100, 1, 'x', true), "
     "('2024-03-24 09:30:01', 'B', NULL, -5, NULL, NULL, false), ('2024-03-24 09:31:00', NULL, 3.25, NULL, 7, '', NULL)"),
    "INSERT INTO t VALUES ('2024-03-24 09:32:00', 'C', 4.5, 9, 2, 'y', true)",
    /* every statement then reads a table with a deletion vector */
    "DELETE FROM t WHERE s = 'y'",
};

static void run(sql_ctx *c, const char *text, size_t len) {
    sql_query *q;
    qv_err err = {0};
    if (sql_query_prepare(c, text, len, &q, &err)) return;
    wd_watch(q);
    for (int i = 0; i < 64; i++) {
        qv_batch b;
        bool eos;
        if (sql_query_next(q, &b, &eos, &err) || eos) break;
        qv_batch_free(&b);
    }
    wd_watch(NULL);
    sql_query_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_options o = {.in_memory = true, .rowgroup_rows = 2};
    st_db *db;
    qv_err err = {0};
    if (st_db_open(&o, &db, &err)) return 0;
    sql_ctx *c;
    sql_ctx_new(db, 1, 1 << 24, &c, &err);
    for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++) run(c, setup[i], strlen(setup[i]));
    run(c, (const char *)data, size);
    char *plan = sql_explain(c, (const char *)data, size, &err);
    free(plan);
    sql_ctx_free(c);
    st_db_close(db);
    return 0;
}
