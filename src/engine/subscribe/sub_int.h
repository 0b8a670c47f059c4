/*
** Private to the subscription files of src/engine:
**   sub_queue.c   storage's commit and drop hooks, each subscription's queue
**                 of committed row ranges, ends (too slow, shutdown);
**   sub_notify.c  the hub and its notifier thread: evaluates what the woken
**                 subscribers take (once per statement), then wakes them;
**   subscribe.c   one subscription: open, replay (SINCE), next, close.
**
** Storage calls sub_hook_commit for every commit, inside the commit (the
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
** Pacing (--subscriber-interval): the notifier starts a round of wakes at
** most once per interval. A commit after a quiet spell is woken at once;
** commits closer together than the interval wait for the next round and
** are taken as one coalesced batch, so a fast writer costs each subscriber
** one message per interval rather than one per commit (a tickerplant's
** batch mode). In a round a subscription takes what was queued at its
** first take of the round (several takes when a take is cut at a shared
** piece's end); a take that finds only commits queued since then puts it
** back on the wake list for the next round, unless a full batch is pending.
** A too-slow end waits for a round like commits; at shutdown the notifier
** stops pacing, so every end goes out before the front ends stop.
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
#ifndef QUIVER_SUB_INT_H
#define QUIVER_SUB_INT_H

#include "engine_int.h"

#include <pthread.h>

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
    uint64_t take_round;      /* the hub's round of the last live take (pacing) */
    int64_t round_upto;       /* `seen` at that round's first take: queued before it, taken in it */
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
    int64_t interval_ns;   /* eng's subscriber_interval_ns: least time between two rounds of wakes */
    int64_t last_round_ns; /* monotonic start of the last round of wakes */
    uint64_t round;        /* rounds started */
    bool pacing;           /* the notifier is waiting out an interval (stop and shutdown still signal) */
};

/* Drop a ref; the last frees the subscription (sub_queue.c). */
void sub_ref_drop(eng_sub *s);
/* Storage's hooks (st_hooks; arg is the hub). */
void sub_hook_commit(void *arg, st_table *t, int64_t from, int64_t to, int64_t bytes);
void sub_hook_drop_begin(void *arg, st_table *t);
void sub_hook_drop_end(void *arg, st_table *t, int64_t n);
/* hub->mu held: put s on the notifier's wake list (once). */
void sub_wake_queue_locked(eng_hub *h, eng_sub *s);
/* hub->mu held: end s with this status (the first end wins) and wake it. */
void sub_end_locked(eng_hub *h, eng_sub *s, qv_status code, const char *msg);
/* x renumbered after n leading rows were dropped. */
int64_t sub_row_shift(int64_t x, int64_t n);
/* The range the next take hands out (hub->mu held, queue not empty):
   queued commits from the head, coalesced up to max_batch_bytes; returns
   how many queue entries it spans. */
int sub_queue_coalesce_locked(const eng_sub *s, sub_range *r);
/* Consume queued rows [head, end) (hub->mu held); their bytes are
   returned. An entry cut in the middle keeps its share of the bytes. */
int64_t sub_queue_consume_locked(eng_sub *s, int64_t end);

#endif
