/*
** Subscriptions and the commit notification hub.
**
** Storage calls hub_on_commit for every commit, inside the commit (the
** table's commit lock held, so calls for one table come in commit order),
** after the rows are durable and visible. The hub appends (row_from,
** row_to, bytes) to the queue of every subscription on that table and puts
** the subscription on the wake list; the hub's notifier thread calls the
** front end's wake callbacks, so a commit never waits for a front end.
** Storage is append-only: a subscription needs only row ranges, and reads
** the rows themselves when its front end asks (eng_sub_next), as a query
** scoped to the range. Commits are never split: a queue entry is one commit
** or several adjacent ones coalesced up to max_batch_bytes.
** Before it wakes, the notifier evaluates the rows the woken subscriptions
** will take into the shared cache, once per distinct statement and range
** (hub_prefill); takes are cut at the end of such a piece, so subscribers
** of one statement share one evaluation per commit. A front end whose wake
** returns true (Flight: the call was idle) has its run callback called on
** the notifier, which then delivers without a hop to another thread.
**
** Life of an eng_sub: open (parse, prepare, register: `seen` = the table's
** rows at registration, so ranges ending at or before it are ignored and
** none is missed) -> [replay, with SINCE] -> live: next() takes queued
** ranges and evaluates them -> ended (too slow: more than buffer_bytes
** queued; or shutdown) -> close. Ownership: the hub's list and the notifier
** (while it calls wake) hold refs; close unlinks, stops wakes (wake_mu,
** closed), drops the front end's ref.
**
** Locks: hub->mu guards the list, the wake list and every subscription's
** queue/seen/pending/end fields; s->wake_mu guards `closed` and is held
** while wake runs. Order: (front end's locks) -> s->wake_mu -> (front end's
** wake locks); storage commit lock -> hub->mu -> table pub lock.
*/
#include "engine_int.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_BUFFER (64LL << 20)
#define DEFAULT_BATCH (4LL << 20)
#define SHARED_MAX (4LL << 20) /* ranges up to this (table bytes) are evaluated whole and shared */

typedef struct sub_range {
    int64_t from, to, bytes;
} sub_range;

struct eng_sub {
    eng *e;
    atomic_int refs;
    sub_text txt;
    st_table *t;
    qv_schema schema;
    int64_t buffer_bytes, max_batch_bytes;

    pthread_mutex_t wake_mu;
    bool closed;
    bool (*wake)(void *arg, const qv_err *end);
    void (*run)(void *arg);
    void *arg;

    /* under hub->mu */
    eng_sub *prev, *next, *wnext;
    bool wake_queued;
    sub_range *q;
    int qhead, qn, qcap;
    int64_t seen, pending;
    uint64_t gen;             /* odd while leading rows of the table are being dropped */
    int64_t dropped;          /* leading rows dropped since open (ranges renumbered) */
    qv_status end_code;
    char end_msg[256];

    /* the consumer's */
    sql_query *cur;           /* the replay, or a big range being streamed */
    qv_batch *ready;          /* a range evaluated whole: batches [iready, nready) still to hand out */
    int nready, iready;
    char *table;              /* as the SQL layer resolved it */
    uint64_t take_gen, take_epoch; /* numbering of the range being evaluated */
    int64_t take_dropped;
};

struct eng_hub {
    eng *e;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    eng_sub *subs, *wake_head, *wake_tail;
    bool stop, closing;
    pthread_t thr;
    sub_cache *cache;
    uint64_t epoch; /* row numbering generation: +1 at every leading drop */
};

static void sub_unref(eng_sub *s) {
    if (atomic_fetch_sub(&s->refs, 1) != 1) return;
    sub_text_free(&s->txt);
    free(s->table);
    if (s->t) st_table_release(s->t);
    qv_schema_free(&s->schema);
    free(s->q);
    pthread_mutex_destroy(&s->wake_mu);
    free(s);
}

/* ---- the hub ---- */

static void queue_wake_locked(eng_hub *h, eng_sub *s) {
    if (s->wake_queued) return;
    s->wake_queued = true;
    s->wnext = NULL;
    if (h->wake_tail) h->wake_tail->wnext = s;
    else h->wake_head = s;
    h->wake_tail = s;
    pthread_cond_signal(&h->cv);
}

static void end_locked(eng_hub *h, eng_sub *s, qv_status code, const char *msg) {
    if (s->end_code) return;
    s->end_code = code;
    snprintf(s->end_msg, sizeof s->end_msg, "%s", msg);
    s->qhead = s->qn = 0;
    s->pending = 0;
    queue_wake_locked(h, s);
}

static void push_range_locked(eng_sub *s, int64_t from, int64_t to, int64_t bytes) {
    if (s->qn > s->qhead) {
        sub_range *last = &s->q[s->qn - 1];
        if (last->to == from && last->bytes + bytes <= s->max_batch_bytes) {
            last->to = to;
            last->bytes += bytes;
            return;
        }
    }
    if (s->qn == s->qcap) {
        if (s->qhead > 0) {
            memmove(s->q, s->q + s->qhead, sizeof(sub_range) * (size_t)(s->qn - s->qhead));
            s->qn -= s->qhead;
            s->qhead = 0;
        } else {
            s->qcap = s->qcap ? s->qcap * 2 : 8;
            s->q = qv_xrealloc(s->q, sizeof(sub_range) * (size_t)s->qcap);
        }
    }
    s->q[s->qn++] = (sub_range){from, to, bytes};
}

static void hub_on_commit(void *arg, st_table *t, int64_t from, int64_t to, int64_t bytes) {
    eng_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    for (eng_sub *s = h->subs; s; s = s->next) {
        if (s->t != t || s->end_code || to <= s->seen) continue;
        /* from < seen cannot happen: registration sees whole commits */
        push_range_locked(s, from < s->seen ? s->seen : from, to, bytes);
        s->seen = to;
        bool behind = s->pending > 0; /* one commit over the limit still goes to a caught-up subscriber */
        s->pending += bytes;
        if (behind && s->pending > s->buffer_bytes) {
            char msg[200];
            snprintf(msg, sizeof msg, "subscriber too slow: more than %lld bytes of commits pending (--subscriber-buffer)",
                     (long long)s->buffer_bytes);
            atomic_fetch_add(&h->e->metrics.subscriptions_ended_slow, 1);
            end_locked(h, s, QV_ERESOURCE, msg);
        } else {
            queue_wake_locked(h, s);
        }
    }
    pthread_mutex_unlock(&h->mu);
}

/* TRUNCATE / retention: leading rows go and later rows are renumbered.
   Queued ranges shift down; consumers redo an evaluation that overlapped. */
static void hub_on_drop_begin(void *arg, st_table *t) {
    eng_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    for (eng_sub *s = h->subs; s; s = s->next)
        if (s->t == t) s->gen++;
    pthread_mutex_unlock(&h->mu);
}

static int64_t shift(int64_t x, int64_t n) { return x > n ? x - n : 0; }

static void hub_on_drop_end(void *arg, st_table *t, int64_t n) {
    eng_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    h->epoch++;
    for (eng_sub *s = h->subs; s; s = s->next) {
        if (s->t != t) continue;
        s->gen++;
        s->dropped += n;
        s->seen = shift(s->seen, n);
        int k = s->qhead;
        for (int i = s->qhead; i < s->qn; i++) {
            sub_range r = {shift(s->q[i].from, n), shift(s->q[i].to, n), s->q[i].bytes};
            if (r.to > r.from) s->q[k++] = r; /* rows dropped before delivery are gone */
            else s->pending -= r.bytes;
        }
        s->qn = k;
    }
    pthread_mutex_unlock(&h->mu);
}

static void hub_prefill(eng_hub *h, eng_sub **subs, int n);

/* The notifier: evaluates what the woken subscribers will take (once per
   distinct statement and range, hub_prefill), then calls their wake
   callbacks, and run for those whose front end handed delivery to it;
   outside the commit and outside hub->mu. */
static void *hub_main(void *arg) {
    eng_hub *h = arg;
    eng_sub **batch = NULL;
    int cap = 0;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->wake_head && !h->stop) pthread_cond_wait(&h->cv, &h->mu);
        if (!h->wake_head) break;
        int n = 0;
        for (eng_sub *s = h->wake_head; s; s = s->wnext) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                batch = qv_xrealloc(batch, sizeof *batch * (size_t)cap);
            }
            s->wake_queued = false;
            atomic_fetch_add(&s->refs, 1);
            batch[n++] = s;
        }
        h->wake_head = h->wake_tail = NULL;
        pthread_mutex_unlock(&h->mu);
        hub_prefill(h, batch, n);
        for (int i = 0; i < n; i++) {
            eng_sub *s = batch[i];
            qv_err end;
            qv_err_clear(&end);
            pthread_mutex_lock(&h->mu);
            if (s->end_code) qv_err_set(&end, s->end_code, "%s", s->end_msg);
            pthread_mutex_unlock(&h->mu);
            bool run = false;
            pthread_mutex_lock(&s->wake_mu);
            if (!s->closed && s->wake) run = s->wake(s->arg, end.code ? &end : NULL) && s->run;
            pthread_mutex_unlock(&s->wake_mu);
            if (run) s->run(s->arg); /* the front end owns its consumer now; it may close s */
            sub_unref(s);
        }
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    free(batch);
    return NULL;
}

eng_hub *eng_hub_new(eng *e) {
    eng_hub *h = qv_xcalloc(1, sizeof *h);
    h->e = e;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->cache = sub_cache_new();
    if (pthread_create(&h->thr, NULL, hub_main, h) != 0) {
        QV_ERROR("engine: cannot start the subscription notifier thread");
        abort();
    }
    st_hooks hk = {hub_on_commit, hub_on_drop_begin, hub_on_drop_end, h};
    st_db_set_hooks(e->db, &hk);
    return h;
}

void eng_hub_free(eng_hub *h) {
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thr, NULL);
    st_db_set_hooks(h->e->db, NULL);
    sub_cache_free(h->cache);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

void eng_subs_shutdown(eng *e) {
    eng_hub *h = e->hub;
    pthread_mutex_lock(&h->mu);
    h->closing = true;
    for (eng_sub *s = h->subs; s; s = s->next) end_locked(h, s, QV_ECANCELLED, "server shutting down");
    pthread_mutex_unlock(&h->mu);
}

/* ---- evaluating a range of rows ---- */

/* Record (hub->mu held) the row numbering a range was taken in. */
static void take_numbering_locked(eng_sub *s) {
    s->take_gen = s->gen;
    s->take_dropped = s->dropped;
    s->take_epoch = s->e->hub->epoch;
}

/* The subscribed SELECT (or `sql`, for the replay) over storage rows
   [from, to) as numbered when the range was taken. If leading rows were
   dropped meanwhile (the numbering moved), the range is shifted and the
   query prepared again, until its snapshot is known to match: a seqlock on
   s->gen, which is odd while a drop is in progress. */
static int range_open(eng_sub *s, const char *sql, int64_t from, int64_t to, qv_err *err) {
    eng_hub *h = s->e->hub;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (s->gen & 1) {
            pthread_mutex_unlock(&h->mu);
            sched_yield();
            pthread_mutex_lock(&h->mu);
        }
        from = shift(from, s->dropped - s->take_dropped);
        to = shift(to, s->dropped - s->take_dropped);
        s->take_dropped = s->dropped;
        s->take_gen = s->gen;
        pthread_mutex_unlock(&h->mu);
        sql_scope sc = {s->table, from, to};
        if (sql_query_prepare_scoped(s->e->sql, sql, strlen(sql), &sc, &s->cur, err))
            return qv_err_prefix(err, "SUBSCRIBE");
        pthread_mutex_lock(&h->mu);
        bool stable = s->gen == s->take_gen;
        pthread_mutex_unlock(&h->mu);
        if (stable) return QV_OK;
        sql_query_free(s->cur);
        s->cur = NULL;
    }
}

static void range_close(eng_sub *s) {
    if (s->cur) sql_query_free(s->cur);
    s->cur = NULL;
    for (int i = s->iready; i < s->nready; i++) qv_batch_free(&s->ready[i]);
    free(s->ready);
    s->ready = NULL;
    s->nready = s->iready = 0;
}

/* A range small enough to hold whole: from the cache, or evaluated and shared. */
static int range_eval_shared(eng_sub *s, int64_t from, int64_t to, qv_err *err) {
    sub_cache *cache = s->e->hub->cache;
    uint64_t ep = s->take_epoch;
    int got = sub_cache_get(cache, s->txt.select, s->t, ep, from, to, &s->ready, &s->nready);
    if (got == SUB_CACHE_HIT) {
        atomic_fetch_add(&s->e->metrics.subscription_shared, 1);
        return QV_OK;
    }
    atomic_fetch_add(&s->e->metrics.subscription_evaluations, 1);
    int rc = range_open(s, s->txt.select, from, to, err);
    if (!rc) rc = sub_result_collect(s->cur, &s->ready, &s->nready, err);
    if (s->cur) sql_query_free(s->cur);
    s->cur = NULL;
    if (got == SUB_CACHE_CLAIMED)
        sub_cache_put(cache, s->txt.select, s->t, ep, from, to, rc == QV_OK, s->ready, s->nready);
    return rc;
}

/* The range the next take hands out (hub->mu held, queue not empty):
   queued commits from the head, coalesced up to max_batch_bytes; returns
   how many queue entries it spans. */
static int coalesce_locked(const eng_sub *s, sub_range *r) {
    int k = s->qhead;
    *r = s->q[k++];
    while (k < s->qn && r->bytes + s->q[k].bytes <= s->max_batch_bytes) {
        r->to = s->q[k].to;
        r->bytes += s->q[k++].bytes;
    }
    return k - s->qhead;
}

/* On the notifier, before the wakes: evaluate, into the shared cache, the
   rows each subscriber will take next, once per distinct (statement, table,
   rows): a commit is filtered and projected once however many subscribe to
   it. The span a take would cover (coalesced) is tiled by the pieces
   already there (another subscriber of the same statement put them); only
   the rest is evaluated, as one piece. Takes are cut at piece ends
   (take_range), so a subscriber that keeps up only takes references. */
static void hub_prefill(eng_hub *h, eng_sub **subs, int n) {
    for (int i = 0; i < n; i++) {
        eng_sub *s = subs[i];
        sub_range r;
        pthread_mutex_lock(&h->mu);
        bool want = !s->end_code && s->qhead < s->qn && !(s->gen & 1);
        if (want) coalesce_locked(s, &r);
        uint64_t gen = s->gen, ep = h->epoch;
        pthread_mutex_unlock(&h->mu);
        if (!want || r.bytes > SHARED_MAX) continue;
        int64_t x = r.from, y;
        while (x < r.to && (y = sub_cache_end(h->cache, s->txt.select, s->t, ep, x, r.to)) > x) x = y;
        if (x >= r.to || !sub_cache_claim(h->cache, s->txt.select, s->t, ep, x, r.to)) continue;
        atomic_fetch_add(&h->e->metrics.subscription_evaluations, 1);
        qv_batch *b = NULL;
        int nb = 0;
        qv_err err;
        sql_query *q = NULL;
        sql_scope sc = {s->table, x, r.to};
        int rc = sql_query_prepare_scoped(h->e->sql, s->txt.select, strlen(s->txt.select), &sc, &q, &err);
        if (!rc) rc = sub_result_collect(q, &b, &nb, &err);
        if (q) sql_query_free(q);
        pthread_mutex_lock(&h->mu);
        bool stable = s->gen == gen && h->epoch == ep; /* no leading rows dropped meanwhile */
        pthread_mutex_unlock(&h->mu);
        sub_cache_put(h->cache, s->txt.select, s->t, ep, x, r.to, rc == QV_OK && stable, b, nb);
        for (int j = 0; j < nb; j++) qv_batch_free(&b[j]);
        free(b);
    }
}

/* ---- the subscription ---- */

static int open_table(eng *e, const char *name, st_table **out, qv_err *err) {
    int rc = st_table_open(e->db, name, out, err);
    if (rc != QV_ENOTFOUND) return rc;
    st_table_info *infos;
    int n;
    qv_err tmp;
    if (st_db_list(e->db, &infos, &n, &tmp)) return rc;
    const char *match = NULL;
    int nmatch = 0;
    for (int i = 0; i < n; i++)
        if (!strcasecmp(infos[i].name, name)) match = infos[i].name, nmatch++;
    if (nmatch == 1) rc = st_table_open(e->db, match, out, err);
    st_table_info_free_all(infos, n);
    return rc;
}

/* Parse, prepare once (errors before anything streams), find the table. */
static int sub_prepare(eng_sub *s, const char *text, size_t len, qv_err *err) {
    if (sub_text_parse(text, len, &s->txt, err)) return err->code;
    sql_query *q;
    if (sql_query_prepare(s->e->sql, s->txt.select, strlen(s->txt.select), &q, err))
        return qv_err_prefix(err, "SUBSCRIBE");
    const char *table = NULL;
    bool ordered = false;
    int rc = QV_OK;
    if (!sql_query_is_scan(q, &table, &ordered))
        rc = qv_err_set(err, QV_EINVAL, "SUBSCRIBE takes projections and filters of one table only (%s is more "
                                        "than a scan of one table)", s->txt.select);
    else
        s->table = qv_xstrdup(table);
    qv_schema_copy(&s->schema, sql_query_schema(q));
    sql_query_free(q);
    if (rc) return rc;
    return open_table(s->e, s->table, &s->t, err);
}

/* SINCE: the replay query over [0, seen) with ts >= the literal, ts being
   the table's first TIMESTAMP column. */
static int sub_replay_open(eng_sub *s, qv_err *err) {
    const qv_schema *ts = st_table_schema(s->t);
    int col = -1;
    for (int i = 0; i < ts->nfields && col < 0; i++)
        if (ts->fields[i].type == QV_T_TIMESTAMP) col = i;
    if (col < 0)
        return qv_err_set(err, QV_EINVAL, "SUBSCRIBE ... SINCE: table '%s' has no TIMESTAMP column", s->table);
    qv_str f;
    qv_str_init(&f);
    qv_str_appendc(&f, '"');
    for (const char *p = ts->fields[col].name; *p; p++) {
        if (*p == '"') qv_str_appendc(&f, '"');
        qv_str_appendc(&f, *p);
    }
    qv_str_appendf(&f, "\" >= TIMESTAMP %s", s->txt.since);
    char *sql = sub_text_with_filter(&s->txt, f.data);
    qv_str_free(&f);
    int rc = s->seen > 0 ? range_open(s, sql, 0, s->seen, err) : QV_OK;
    free(sql);
    return rc;
}

int eng_sub_open(eng *e, const char *text, size_t len, const eng_sub_options *o, eng_sub **out, qv_err *err) {
    *out = NULL;
    eng_sub *s = qv_xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    s->e = e;
    qv_schema_init(&s->schema);
    pthread_mutex_init(&s->wake_mu, NULL);
    s->wake = o->wake;
    s->run = o->run;
    s->arg = o->arg;
    s->buffer_bytes = o->buffer_bytes > 0 ? o->buffer_bytes : e->subscriber_buffer > 0 ? e->subscriber_buffer : DEFAULT_BUFFER;
    s->max_batch_bytes = o->max_batch_bytes > 0 ? o->max_batch_bytes : DEFAULT_BATCH;
    atomic_fetch_add(&e->metrics.queries, 1);
    int rc = sub_prepare(s, text, len, err);
    eng_hub *h = e->hub;
    if (!rc) {
        pthread_mutex_lock(&h->mu);
        if (h->closing) {
            rc = qv_err_set(err, QV_ECANCELLED, "server shutting down");
        } else {
            st_snapshot *snap;
            st_snapshot_open(s->t, &snap);
            s->seen = st_snapshot_rows(snap);
            st_snapshot_close(snap);
            take_numbering_locked(s); /* the replay's range [0, seen) */
            atomic_fetch_add(&s->refs, 1); /* the hub's */
            atomic_fetch_add(&e->metrics.subscriptions_active, 1);
            s->next = h->subs;
            if (h->subs) h->subs->prev = s;
            h->subs = s;
        }
        pthread_mutex_unlock(&h->mu);
        if (!rc && s->txt.since && sub_replay_open(s, err)) {
            eng_sub_close(s); /* registered: unlink and drop both refs */
            atomic_fetch_add(&e->metrics.query_errors, 1);
            return err->code;
        }
    }
    if (rc) {
        atomic_fetch_add(&e->metrics.query_errors, 1);
        sub_unref(s);
        return rc;
    }
    *out = s;
    return QV_OK;
}

const qv_schema *eng_sub_schema(const eng_sub *s) { return &s->schema; }

/* Consume queued rows [head, end) (hub->mu held); their bytes are
   returned. An entry cut in the middle keeps its share of the bytes. */
static int64_t consume_locked(eng_sub *s, int64_t end) {
    int64_t bytes = 0;
    while (s->qhead < s->qn && s->q[s->qhead].from < end) {
        sub_range *e = &s->q[s->qhead];
        if (e->to <= end) {
            bytes += e->bytes;
            s->qhead++;
            continue;
        }
        int64_t part = (int64_t)((double)e->bytes * (double)(end - e->from) / (double)(e->to - e->from));
        e->from = end;
        e->bytes -= part;
        bytes += part;
        break;
    }
    if (s->qhead == s->qn) s->qhead = s->qn = 0;
    return bytes;
}

/* Take the next queued ranges (coalesced up to max_batch_bytes, and cut at
   the end of a shared piece that starts there: hub_prefill); false if
   none. Sets err when ended. */
static bool take_range(eng_sub *s, sub_range *r, int *rc, qv_err *err) {
    eng_hub *h = s->e->hub;
    pthread_mutex_lock(&h->mu);
    bool got = false;
    if (s->end_code) {
        *rc = qv_err_set(err, s->end_code, "%s", s->end_msg);
    } else if (s->qhead < s->qn) {
        take_numbering_locked(s);
        coalesce_locked(s, r);
        if (r->bytes <= SHARED_MAX) {
            int64_t end = sub_cache_end(h->cache, s->txt.select, s->t, s->take_epoch, r->from, r->to);
            if (end > r->from) r->to = end;
        }
        r->bytes = consume_locked(s, r->to);
        s->pending -= r->bytes;
        got = true;
    }
    pthread_mutex_unlock(&h->mu);
    return got;
}

int eng_sub_next(eng_sub *s, qv_batch *out, bool *got, qv_err *err) {
    *got = false;
    for (;;) {
        if (s->iready < s->nready) {
            *out = s->ready[s->iready++]; /* moved to the caller */
            *got = true;
            return QV_OK;
        }
        if (s->ready) range_close(s);
        if (s->cur) {
            bool eos = false;
            memset(out, 0, sizeof *out);
            int rc = sql_query_next(s->cur, out, &eos, err);
            if (rc) return rc;
            if (!eos) {
                if (out->nrows == 0) {
                    qv_batch_free(out);
                    continue;
                }
                *got = true;
                return QV_OK;
            }
            range_close(s);
            continue;
        }
        sub_range r;
        int rc = QV_OK;
        if (!take_range(s, &r, &rc, err)) return rc;
        if (r.bytes > SHARED_MAX) atomic_fetch_add(&s->e->metrics.subscription_evaluations, 1);
        rc = r.bytes <= SHARED_MAX ? range_eval_shared(s, r.from, r.to, err)
                                   : range_open(s, s->txt.select, r.from, r.to, err);
        if (rc) return rc;
    }
}

void eng_sub_close(eng_sub *s) {
    if (!s) return;
    eng_hub *h = s->e->hub;
    pthread_mutex_lock(&h->mu);
    if (s->prev) s->prev->next = s->next;
    else if (h->subs == s) h->subs = s->next;
    if (s->next) s->next->prev = s->prev;
    if (s->wake_queued) {
        eng_sub **pp = &h->wake_head, *last = NULL;
        while (*pp && *pp != s) last = *pp, pp = &(*pp)->wnext;
        if (*pp) *pp = s->wnext;
        if (h->wake_tail == s) h->wake_tail = last;
        s->wake_queued = false;
    }
    pthread_mutex_unlock(&h->mu);
    pthread_mutex_lock(&s->wake_mu);
    s->closed = true;
    pthread_mutex_unlock(&s->wake_mu);
    range_close(s);
    atomic_fetch_sub(&s->e->metrics.subscriptions_active, 1);
    sub_unref(s); /* the hub's */
    sub_unref(s); /* the front end's */
}
