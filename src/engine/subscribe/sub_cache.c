/*
** Results shared between subscriptions: subscribers with the same statement
** on the same table usually take the same commit range, so the first to
** evaluate it leaves the result here and the others take references to the
** same batches (column memory is refcounted; nothing is copied). An entry
** is keyed by (statement text, table, row range) and matches exactly, so a
** subscriber whose ranges were coalesced differently simply evaluates its
** own. A few entries, least recently used replaced, each at most a few MB
** of result, so the cache holds a bounded amount of memory.
** The hub's notifier fills the entry for the range each woken subscriber
** will take next before it wakes them (sub_cache_claim, once per distinct
** statement and range), so subscribers that keep up only take references.
** Otherwise the first subscriber to look claims the entry (pending) and
** evaluates; the others wait for its result instead of evaluating the same
** rows at the same time.
** Thread-safe (one mutex, one condition variable); callers hold no engine lock.
** Also here: sub_result_collect, a scoped query's batches as one result.
*/
#include "engine_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 16

typedef struct slot {
    char *sql;
    const void *table;
    uint64_t epoch; /* row numbering the range is in */
    int64_t from, to;
    qv_batch *b;
    int n;
    bool pending; /* claimed: its evaluator will put or drop it */
    uint64_t used;
} slot;

struct sub_cache {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot s[SLOTS];
    uint64_t tick;
};

sub_cache *sub_cache_new(void) {
    sub_cache *c = qv_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
}

static void slot_clear(slot *s) {
    for (int i = 0; i < s->n; i++) qv_batch_free(&s->b[i]);
    free(s->b);
    free(s->sql);
    memset(s, 0, sizeof *s);
}

void sub_cache_free(sub_cache *c) {
    if (!c) return;
    for (int i = 0; i < SLOTS; i++) slot_clear(&c->s[i]);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

static qv_batch *copy_refs(const qv_batch *b, int n) {
    qv_batch *o = qv_xcalloc((size_t)(n ? n : 1), sizeof *o);
    for (int i = 0; i < n; i++) qv_batch_copy_ref(&o[i], &b[i]);
    return o;
}

static slot *find(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to) {
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &c->s[i];
        if (s->sql && s->table == table && s->epoch == epoch && s->from == from && s->to == to && strcmp(s->sql, sql) == 0) return s;
    }
    return NULL;
}

/* Claim the least recently used entry nobody is filling for this key. */
static bool claim_locked(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to) {
    slot *v = NULL;
    for (int i = 0; i < SLOTS; i++)
        if (!c->s[i].pending && (!v || !c->s[i].sql || (v->sql && c->s[i].used < v->used))) v = &c->s[i];
    if (!v) return false;
    slot_clear(v);
    v->sql = qv_xstrdup(sql);
    v->table = table;
    v->epoch = epoch;
    v->from = from;
    v->to = to;
    v->pending = true;
    v->used = ++c->tick;
    return true;
}

int sub_cache_get(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to,
                  qv_batch **out, int *n) {
    pthread_mutex_lock(&c->mu);
    slot *s;
    while ((s = find(c, sql, table, epoch, from, to)) && s->pending) pthread_cond_wait(&c->cv, &c->mu);
    if (s) {
        *out = copy_refs(s->b, s->n);
        *n = s->n;
        s->used = ++c->tick;
        pthread_mutex_unlock(&c->mu);
        return SUB_CACHE_HIT;
    }
    int got = claim_locked(c, sql, table, epoch, from, to) ? SUB_CACHE_CLAIMED : SUB_CACHE_MISS;
    pthread_mutex_unlock(&c->mu);
    return got;
}

int64_t sub_cache_end(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t limit) {
    pthread_mutex_lock(&c->mu);
    int64_t end = -1;
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &c->s[i];
        if (s->sql && s->table == table && s->epoch == epoch && s->from == from && s->to <= limit && s->to > end &&
            strcmp(s->sql, sql) == 0)
            end = s->to;
    }
    pthread_mutex_unlock(&c->mu);
    return end;
}

bool sub_cache_claim(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to) {
    pthread_mutex_lock(&c->mu);
    bool got = !find(c, sql, table, epoch, from, to) && claim_locked(c, sql, table, epoch, from, to);
    pthread_mutex_unlock(&c->mu);
    return got;
}

void sub_cache_put(sub_cache *c, const char *sql, const void *table, uint64_t epoch, int64_t from, int64_t to,
                   bool ok, const qv_batch *b, int n) {
    pthread_mutex_lock(&c->mu);
    slot *s = find(c, sql, table, epoch, from, to);
    if (s && s->pending) {
        if (ok) {
            s->b = copy_refs(b, n);
            s->n = n;
            s->pending = false;
        } else {
            slot_clear(s); /* the evaluation failed: waiters evaluate themselves */
        }
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- evaluating into a result ---- */

/* The batches of one delivery as one batch: one message on the wire, so a
   commit arrives whole or not at all. SYMBOL columns (dictionaries) keep
   their pieces. */
static void batches_merge(qv_batch *b, int *nb) {
    if (*nb < 2) return;
    const qv_schema *sc = &b[0].schema;
    for (int c = 0; c < sc->nfields; c++)
        if (sc->fields[c].type == QV_T_SYMBOL) return;
    int64_t n = 0;
    for (int i = 0; i < *nb; i++) n += b[i].nrows;
    qv_batch m;
    qv_batch_init(&m, sc);
    m.nrows = n;
    for (int c = 0; c < sc->nfields; c++) {
        qv_builder bl;
        qv_builder_init(&bl, sc->fields[c].type, n);
        for (int i = 0; i < *nb; i++)
            for (int64_t r = 0; r < b[i].nrows; r++) qv_builder_append_from(&bl, &b[i].cols[c], r);
        qv_array_free(&m.cols[c]);
        qv_builder_finish(&bl, &m.cols[c]);
        qv_builder_free(&bl);
    }
    for (int i = 0; i < *nb; i++) qv_batch_free(&b[i]);
    b[0] = m;
    *nb = 1;
}

/* Every non-empty batch of q, as one batch (see above). */
int sub_result_collect(sql_query *q, qv_batch **out, int *nout, qv_err *err) {
    int cap = 0, rc;
    for (;;) {
        qv_batch b;
        bool eos = false;
        memset(&b, 0, sizeof b);
        if ((rc = sql_query_next(q, &b, &eos, err)) || eos) break;
        if (b.nrows == 0) {
            qv_batch_free(&b);
            continue;
        }
        if (*nout == cap) {
            cap = cap ? cap * 2 : 4;
            *out = qv_xrealloc(*out, sizeof(qv_batch) * (size_t)cap);
        }
        (*out)[(*nout)++] = b;
    }
    if (!rc) batches_merge(*out, nout);
    return rc;
}
