/*
** Results shared between subscriptions: subscribers with the same statement
** on the same table usually take the same commit range, so the first to
** evaluate it leaves the result here and the others take references to the
** same batches (column memory is refcounted; nothing is copied). An entry
** is keyed by (statement text, table, row range) and matches exactly, so a
** subscriber whose ranges were coalesced differently simply evaluates its
** own. A few entries, least recently used replaced, each at most a few MB
** of result, so the cache holds a bounded amount of memory.
** Thread-safe (one mutex); callers hold no engine lock.
*/
#include "engine_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 8

typedef struct slot {
    char *sql;
    const void *table;
    int64_t from, to;
    qv_batch *b;
    int n;
    uint64_t used;
} slot;

struct sub_cache {
    pthread_mutex_t mu;
    slot s[SLOTS];
    uint64_t tick;
};

sub_cache *sub_cache_new(void) {
    sub_cache *c = qv_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
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
    free(c);
}

static qv_batch *copy_refs(const qv_batch *b, int n) {
    qv_batch *o = qv_xcalloc((size_t)(n ? n : 1), sizeof *o);
    for (int i = 0; i < n; i++) qv_batch_copy_ref(&o[i], &b[i]);
    return o;
}

bool sub_cache_get(sub_cache *c, const char *sql, const void *table, int64_t from, int64_t to, qv_batch **out,
                   int *n) {
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < SLOTS && !hit; i++) {
        slot *s = &c->s[i];
        if (s->sql && s->table == table && s->from == from && s->to == to && strcmp(s->sql, sql) == 0) {
            *out = copy_refs(s->b, s->n);
            *n = s->n;
            s->used = ++c->tick;
            hit = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void sub_cache_put(sub_cache *c, const char *sql, const void *table, int64_t from, int64_t to, const qv_batch *b,
                   int n) {
    pthread_mutex_lock(&c->mu);
    slot *v = &c->s[0];
    for (int i = 0; i < SLOTS; i++) {
        slot *s = &c->s[i];
        if (s->sql && s->table == table && s->from == from && s->to == to && strcmp(s->sql, sql) == 0) {
            pthread_mutex_unlock(&c->mu); /* another subscriber got there first */
            return;
        }
        if (!s->sql || s->used < v->used) v = s;
    }
    slot_clear(v);
    v->sql = qv_xstrdup(sql);
    v->table = table;
    v->from = from;
    v->to = to;
    v->b = copy_refs(b, n);
    v->n = n;
    v->used = ++c->tick;
    pthread_mutex_unlock(&c->mu);
}
