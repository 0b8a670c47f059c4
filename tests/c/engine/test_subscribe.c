/* Subscriptions over an in-memory engine: commits arrive whole, in order,
   once; wakes come from the notifier; INSERT commits count too; the
   pending limit ends a subscriber that does not take; shutdown ends all. */
#include <pthread.h>
#include <time.h>

#include "engine/engine.h"
#include "qtest.h"

typedef struct waker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int wakes, ends;
} waker;

static bool on_wake(void *arg, const qv_err *end) {
    waker *w = arg;
    pthread_mutex_lock(&w->mu);
    w->wakes++;
    if (end) w->ends++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return false;
}

static bool wait_wakes(waker *w, int n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&w->mu);
    while (w->wakes < n && pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0) {
    }
    bool ok = w->wakes >= n;
    pthread_mutex_unlock(&w->mu);
    return ok;
}

/* In memory, row groups of 100 rows; publishes paced by interval_ns (0 = none). */
static eng *open_paced(int64_t interval_ns) {
    eng_options o = {0};
    o.storage.in_memory = true;
    o.storage.rowgroup_rows = 100;
    o.threads = 2;
    o.subscriber_interval_ns = interval_ns;
    eng *e = NULL;
    qv_err err;
    if (eng_open(&o, &e, &err)) fprintf(stderr, "eng_open: %s\n", err.msg);
    return e;
}

static eng *open_mem(void) { return open_paced(0); }

static int run(eng *e, const char *sql) {
    eng_query *q;
    qv_err err;
    if (eng_query_open(e, sql, strlen(sql), &q, &err)) {
        fprintf(stderr, "%s: %s\n", sql, err.msg);
        return -1;
    }
    qv_batch b;
    bool eos = false;
    int rc = 0;
    while (!eos && rc == 0) {
        memset(&b, 0, sizeof b);
        rc = eng_query_next(q, &b, &eos, &err);
        if (!eos) qv_batch_free(&b);
    }
    eng_query_close(q);
    return rc;
}

/* Every pending batch's column 0 as int64, appended to out (the first cap
   values; n counts them all); batches, when not NULL, counts the batches. */
static int drain_batches(eng_sub *s, int64_t *out, int cap, int *n, int *batches, qv_err *err) {
    for (;;) {
        qv_batch b;
        bool got = false;
        int rc = eng_sub_next(s, &b, &got, err);
        if (rc || !got) return rc;
        if (batches) (*batches)++;
        const int64_t *v = (const int64_t *)b.cols[0].values->data + b.cols[0].offset;
        for (int64_t i = 0; i < b.nrows; i++, (*n)++)
            if (*n < cap) out[*n] = v[i];
        qv_batch_free(&b);
    }
}

static int drain(eng_sub *s, int64_t *out, int cap, int *n, qv_err *err) {
    return drain_batches(s, out, cap, n, NULL, err);
}

QTEST(commits_arrive_whole_in_order_once) {
    eng *e = open_mem();
    QCHECK(e);
    QCHECK_EQ(run(e, "CREATE TABLE t (id BIGINT, x DOUBLE)"), 0);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (1, 1.0), (2, 2.0)"), 0); /* before: not seen */
    waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    eng_sub_options o = {.wake = on_wake, .arg = &w};
    eng_sub *s;
    qv_err err;
    const char *sql = "SUBSCRIBE SELECT id * 10 AS id10 FROM t WHERE x > 2.5";
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o, &s, &err), &err);
    QCHECK_STR(eng_sub_schema(s)->fields[0].name, "id10");
    int64_t got[1000];
    int n = 0;
    QCHECK_EQ(drain(s, got, 1000, &n, &err), QV_OK);
    QCHECK_EQ(n, 0);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (3, 3.0), (4, 1.0), (5, 5.0)"), 0);
    QCHECK(wait_wakes(&w, 1));
    /* 250 rows in one commit: crosses row groups of 100, still delivered whole */
    char big[8192] = "INSERT INTO t VALUES ";
    for (int i = 0; i < 250; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s(%d, 9.0)", i ? "," : "", 100 + i);
    QCHECK_EQ(run(e, big), 0);
    QCHECK(wait_wakes(&w, 2) || w.wakes >= 1);
    QCHECK_EQ(drain(s, got, 1000, &n, &err), QV_OK);
    QCHECK_EQ(n, 2 + 250);
    QCHECK_EQ(got[0], 30);
    QCHECK_EQ(got[1], 50);
    for (int i = 0; i < 250; i++) QCHECK_EQ(got[2 + i], (100 + i) * 10);
    QCHECK_EQ(drain(s, got, 1000, &n, &err), QV_OK); /* nothing twice */
    QCHECK_EQ(n, 252);
    eng_sub_close(s);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (6, 6.0)"), 0); /* no wake after close */
    eng_close(e);
}

QTEST(refusals_name_what_is_not_allowed) {
    eng *e = open_mem();
    QCHECK(e);
    QCHECK_EQ(run(e, "CREATE TABLE t (id BIGINT, ts TIMESTAMP)"), 0);
    QCHECK_EQ(run(e, "CREATE TABLE u (id BIGINT)"), 0);
    static const struct { const char *sql, *what; } cases[] = {
        {"SUBSCRIBE SELECT count(*) FROM t", "count()"},
        {"SUBSCRIBE SELECT id FROM t GROUP BY id", "GROUP BY"},
        {"SUBSCRIBE SELECT id FROM t ORDER BY id", "ORDER BY"},
        {"SUBSCRIBE SELECT id FROM t LIMIT 1", "LIMIT"},
        {"SUBSCRIBE SELECT * FROM t JOIN u ON t.id = u.id", "JOIN"},
        {"SUBSCRIBE SELECT * FROM t WHERE id IN (SELECT id FROM u)", "subqueries"},
        {"SUBSCRIBE SELECT * FROM u SINCE TIMESTAMP '2024-01-01'", "no TIMESTAMP column"},
        {"SUBSCRIBE SELECT * FROM t SINCE 5", "SINCE must be followed"},
        {"SUBSCRIBE SELECT * FROM t WHERE 'unterminated", "unterminated"},
        {"SUBSCRIBE SELECT * FROM nope", "nope"},
        {"SUBSCRIBE", "SUBSCRIBE SELECT"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eng_sub_options o = {0};
        eng_sub *s = NULL;
        qv_err err;
        qv_err_clear(&err);
        int rc = eng_sub_open(e, cases[i].sql, strlen(cases[i].sql), &o, &s, &err);
        if (rc == QV_OK || !strstr(err.msg, cases[i].what)) fprintf(stderr, "  %s -> %s\n", cases[i].sql, err.msg);
        QCHECK(rc != QV_OK);
        QCHECK(s == NULL);
        QCHECK(strstr(err.msg, cases[i].what) != NULL);
    }
    QCHECK(eng_is_subscribe(" -- c\n subscribe select 1", 25));
    QCHECK(!eng_is_subscribe("SUBSCRIBED", 10));
    QCHECK(!eng_is_subscribe("SELECT 1", 8));
    eng_close(e);
}

QTEST(pending_limit_ends_the_subscriber_and_shutdown_ends_all) {
    eng *e = open_mem();
    QCHECK(e);
    QCHECK_EQ(run(e, "CREATE TABLE t (id BIGINT)"), 0);
    waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    eng_sub_options o = {.wake = on_wake, .arg = &w, .buffer_bytes = 1024};
    eng_sub *slow, *other;
    qv_err err;
    const char *sql = "SUBSCRIBE SELECT * FROM t";
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o, &slow, &err), &err);
    eng_sub_options o2 = {0};
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o2, &other, &err), &err);
    for (int i = 0; i < 40; i++) QCHECK_EQ(run(e, "INSERT INTO t VALUES (1), (2), (3), (4), (5)"), 0); /* 40 B each */
    qv_batch b;
    bool got = true;
    int rc = eng_sub_next(slow, &b, &got, &err);
    QCHECK_EQ(rc, QV_ERESOURCE);
    QCHECK(strstr(err.msg, "subscriber too slow") != NULL);
    QCHECK(!got);
    /* the end was also announced through wake(end != NULL) */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&w.mu);
    while (w.ends == 0 && pthread_cond_timedwait(&w.cv, &w.mu, &ts) == 0) {
    }
    int ends = w.ends;
    pthread_mutex_unlock(&w.mu);
    /* at least once: a wake already on the notifier's list when the end came
       announces it too, so a front end may hear of the end twice */
    QCHECK(ends >= 1);
    int64_t vals[1000];
    int n = 0;
    QCHECK_EQ(drain(other, vals, 1000, &n, &err), QV_OK); /* the other one is fine */
    QCHECK_EQ(n, 200);
    eng_subs_shutdown(e);
    rc = eng_sub_next(other, &b, &got, &err);
    QCHECK_EQ(rc, QV_ECANCELLED);
    QCHECK(strstr(err.msg, "shutting down") != NULL);
    eng_sub *late = NULL;
    QCHECK_EQ(eng_sub_open(e, sql, strlen(sql), &o2, &late, &err), QV_ECANCELLED);
    eng_sub_close(slow);
    eng_sub_close(other);
    eng_close(e);
}

QTEST(same_statement_shares_one_evaluation) {
    eng *e = open_mem();
    QCHECK(e);
    QCHECK_EQ(run(e, "CREATE TABLE t (id BIGINT, x DOUBLE)"), 0);
    eng_sub_options o = {0};
    eng_sub *a, *b, *c;
    qv_err err;
    const char *sql = "SUBSCRIBE SELECT id + 1 AS y FROM t WHERE x > 1";
    const char *other = "SUBSCRIBE SELECT id + 2 AS y FROM t WHERE x > 1";
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o, &a, &err), &err);
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o, &b, &err), &err);
    QCHECK_OK(eng_sub_open(e, other, strlen(other), &o, &c, &err), &err);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (1, 0.5), (2, 2.5), (3, 3.5)"), 0);
    qv_batch ba, bb, bc;
    bool got = false;
    for (int i = 0; i < 500 && !got; i++) { /* the hub hears of the commit inside it: no wait needed, but be safe */
        QCHECK_OK(eng_sub_next(a, &ba, &got, &err), &err);
    }
    QCHECK(got);
    QCHECK_OK(eng_sub_next(b, &bb, &got, &err), &err);
    QCHECK(got);
    QCHECK_OK(eng_sub_next(c, &bc, &got, &err), &err);
    QCHECK(got);
    QCHECK_EQ(ba.nrows, 2);
    QCHECK(ba.cols[0].values == bb.cols[0].values); /* one evaluation, shared */
    QCHECK(ba.cols[0].values != bc.cols[0].values);
    QCHECK_EQ(((const int64_t *)bc.cols[0].values->data)[bc.cols[0].offset], 4);
    qv_batch_free(&ba);
    qv_batch_free(&bb);
    qv_batch_free(&bc);
    eng_sub_close(a);
    eng_sub_close(b);
    eng_sub_close(c);
    eng_close(e);
}

QTEST(truncate_renumbers_and_later_commits_still_arrive) {
    eng *e = open_mem();
    QCHECK(e);
    QCHECK_EQ(run(e, "CREATE TABLE t (id BIGINT)"), 0);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (1), (2), (3)"), 0);
    eng_sub_options o = {0};
    eng_sub *s;
    qv_err err;
    const char *sql = "SUBSCRIBE SELECT id FROM t";
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o, &s, &err), &err);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (4), (5)"), 0);
    int64_t got[100];
    int n = 0;
    QCHECK_EQ(drain(s, got, 100, &n, &err), QV_OK);
    QCHECK_EQ(n, 2);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (6)"), 0);  /* pending across the truncate: its rows go */
    QCHECK_EQ(run(e, "TRUNCATE t"), 0);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (7), (8)"), 0); /* rows 0..1 of the new numbering */
    QCHECK_EQ(drain(s, got, 100, &n, &err), QV_OK);
    QCHECK_EQ(n, 4);
    QCHECK_EQ(got[2], 7);
    QCHECK_EQ(got[3], 8);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (9)"), 0);
    QCHECK_EQ(drain(s, got, 100, &n, &err), QV_OK);
    QCHECK_EQ(n, 5);
    QCHECK_EQ(got[4], 9);
    eng_sub_close(s);
    eng_close(e);
}

/* Batches handed out, and the rows in them, until none is pending. */
static int drain_count(eng_sub *s, int *batches, int *rows, qv_err *err) {
    int64_t unused[1];
    int before = *rows;
    int n = 0;
    int rc = drain_batches(s, unused, 0, &n, batches, err);
    *rows = before + n;
    return rc;
}

/* --subscriber-interval: a commit after a quiet spell is woken at once; the
   commits that follow within the interval wait for the next round and come
   as one batch, whole and in order; a full batch pending is not held back. */
QTEST(paced_commits_within_an_interval_come_as_one_batch) {
    eng *e = open_paced(300LL * 1000000);
    QCHECK(e);
    QCHECK_EQ(run(e, "CREATE TABLE t (id BIGINT, pad VARCHAR)"), 0);
    waker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    eng_sub_options o = {.wake = on_wake, .arg = &w};
    eng_sub *s;
    qv_err err;
    const char *sql = "SUBSCRIBE SELECT id FROM t";
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &o, &s, &err), &err);
    QCHECK_EQ(run(e, "INSERT INTO t VALUES (1, 'a')"), 0);
    QCHECK(wait_wakes(&w, 1));
    int64_t t1 = qv_monotonic_ns();
    int batches = 0, rows = 0;
    QCHECK_OK(drain_count(s, &batches, &rows, &err), &err);
    QCHECK_EQ(batches, 1);
    QCHECK_EQ(rows, 1);
    int wakes = w.wakes;
    for (int i = 0; i < 5; i++) QCHECK_EQ(run(e, "INSERT INTO t VALUES (2, 'b'), (3, 'c')"), 0);
    batches = rows = 0;
    QCHECK_OK(drain_count(s, &batches, &rows, &err), &err); /* this round's take is done */
    QCHECK_EQ(rows, 0);
    QCHECK(wait_wakes(&w, wakes + 1));
    QCHECK(qv_monotonic_ns() - t1 >= 250LL * 1000000); /* the next round, an interval on */
    QCHECK_OK(drain_count(s, &batches, &rows, &err), &err);
    QCHECK_EQ(batches, 1);
    QCHECK_EQ(rows, 10);
    eng_sub_close(s);

    /* A subscriber whose pending commits fill a batch takes them at once. */
    eng_sub_options small = {.wake = on_wake, .arg = &w, .max_batch_bytes = 1024};
    QCHECK_OK(eng_sub_open(e, sql, strlen(sql), &small, &s, &err), &err);
    char big[4096] = "INSERT INTO t VALUES ";
    for (int i = 0; i < 100; i++)
        snprintf(big + strlen(big), sizeof big - strlen(big), "%s(%d, 'padding padding')", i ? "," : "", i);
    wakes = w.wakes;
    QCHECK_EQ(run(e, big), 0);
    QCHECK(wait_wakes(&w, wakes + 1));
    batches = rows = 0;
    QCHECK_OK(drain_count(s, &batches, &rows, &err), &err);
    QCHECK_EQ(rows, 100);
    for (int i = 0; i < 4; i++) QCHECK_EQ(run(e, big), 0);
    QCHECK_OK(drain_count(s, &batches, &rows, &err), &err);
    QCHECK(rows >= 200); /* more than a batch was pending: not held for the next round */
    eng_sub_close(s);
    eng_close(e);
}
