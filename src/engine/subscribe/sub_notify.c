/*
** Subscriptions: the hub and its notifier thread, which evaluates what the
** woken subscribers take (once per distinct statement and range) and then
** wakes them (see sub_int.h for states, ownership, locks).
*/
#include "sub_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

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
        if (want) sub_queue_coalesce_locked(s, &r);
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

/* hub->mu held, wakes queued: true after waiting for the interval since the
   last round to pass (or a signal: the caller looks again); false when a
   round may start now, which it then records. */
static bool hub_pace_locked(eng_hub *h) {
    int64_t now = qv_monotonic_ns();
    /* shutting down: the ends go out at once, before the front ends stop */
    if (h->interval_ns > 0 && !h->stop && !h->closing && now < h->last_round_ns + h->interval_ns) {
        int64_t due = h->last_round_ns + h->interval_ns;
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        h->pacing = true; /* new wakes do not signal: the round is due anyway */
        pthread_cond_timedwait(&h->cv, &h->mu, &ts); /* h->cv runs on CLOCK_MONOTONIC */
        h->pacing = false;
        return true;
    }
    h->last_round_ns = now;
    h->round++;
    return false;
}

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
        if (hub_pace_locked(h)) continue;
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
            sub_ref_drop(s);
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
    h->interval_ns = e->subscriber_interval_ns;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    h->cache = sub_cache_new();
    if (pthread_create(&h->thr, NULL, hub_main, h) != 0) {
        QV_ERROR("engine: cannot start the subscription notifier thread");
        abort();
    }
    st_hooks hk = {sub_hook_commit, sub_hook_drop_begin, sub_hook_drop_end, h};
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
    for (eng_sub *s = h->subs; s; s = s->next) sub_end_locked(h, s, QV_ECANCELLED, "server shutting down");
    pthread_cond_signal(&h->cv); /* a notifier pacing its next round goes now */
    pthread_mutex_unlock(&h->mu);
}
