/*
** Subscriptions: one subscription's life: open (parse, prepare, register),
** the SINCE replay, next (take queued ranges, evaluate or take them from the
** shared cache), close (see sub_int.h for states, ownership, locks).
*/
#include "sub_int.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
        from = sub_row_shift(from, s->dropped - s->take_dropped);
        to = sub_row_shift(to, s->dropped - s->take_dropped);
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
    s->take_round = UINT64_MAX; /* has not taken in any round yet */
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
        sub_ref_drop(s);
        return rc;
    }
    *out = s;
    return QV_OK;
}

const qv_schema *eng_sub_schema(const eng_sub *s) { return &s->schema; }

/* Take the next queued ranges (coalesced up to max_batch_bytes, and cut at
   the end of a shared piece that starts there: hub_prefill); false if
   none. Sets err when ended. */
static bool take_range(eng_sub *s, sub_range *r, int *rc, qv_err *err) {
    eng_hub *h = s->e->hub;
    pthread_mutex_lock(&h->mu);
    bool got = false;
    if (s->end_code) {
        *rc = qv_err_set(err, s->end_code, "%s", s->end_msg);
    } else if (s->qhead < s->qn && h->interval_ns > 0 && s->take_round == h->round &&
               s->q[s->qhead].from >= s->round_upto && s->pending < s->max_batch_bytes) {
        /* Paced: what was queued when this round's first take ran is taken;
           what queued since waits for the next round, to go as one batch
           (a full batch goes at once). */
        sub_wake_queue_locked(h, s);
    } else if (s->qhead < s->qn) {
        if (s->take_round != h->round) {
            s->take_round = h->round;
            s->round_upto = s->seen;
        }
        take_numbering_locked(s);
        sub_queue_coalesce_locked(s, r);
        if (r->bytes <= SHARED_MAX) {
            int64_t end = sub_cache_end(h->cache, s->txt.select, s->t, s->take_epoch, r->from, r->to);
            if (end > r->from) r->to = end;
        }
        r->bytes = sub_queue_consume_locked(s, r->to);
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
    sub_ref_drop(s); /* the hub's */
    sub_ref_drop(s); /* the front end's */
}
