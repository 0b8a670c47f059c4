/*
** Subscriptions: storage's commit and drop hooks and each subscription's
** queue of committed row ranges (see sub_int.h for states, ownership, locks).
*/
#include "sub_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sub_ref_drop(eng_sub *s) {
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

void sub_wake_queue_locked(eng_hub *h, eng_sub *s) {
    if (s->wake_queued) return;
    s->wake_queued = true;
    s->wnext = NULL;
    if (h->wake_tail) h->wake_tail->wnext = s;
    else h->wake_head = s;
    h->wake_tail = s;
    if (!h->pacing) pthread_cond_signal(&h->cv); /* a pacing notifier wakes at its round's time */
}

void sub_end_locked(eng_hub *h, eng_sub *s, qv_status code, const char *msg) {
    if (s->end_code) return;
    s->end_code = code;
    snprintf(s->end_msg, sizeof s->end_msg, "%s", msg);
    s->qhead = s->qn = 0;
    s->pending = 0;
    sub_wake_queue_locked(h, s);
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

void sub_hook_commit(void *arg, st_table *t, int64_t from, int64_t to, int64_t bytes) {
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
            sub_end_locked(h, s, QV_ERESOURCE, msg);
        } else {
            sub_wake_queue_locked(h, s);
        }
    }
    pthread_mutex_unlock(&h->mu);
}

/* TRUNCATE / retention: leading rows go and later rows are renumbered.
   Queued ranges shift down; consumers redo an evaluation that overlapped. */
void sub_hook_drop_begin(void *arg, st_table *t) {
    eng_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    for (eng_sub *s = h->subs; s; s = s->next)
        if (s->t == t) s->gen++;
    pthread_mutex_unlock(&h->mu);
}

int64_t sub_row_shift(int64_t x, int64_t n) { return x > n ? x - n : 0; }

void sub_hook_drop_end(void *arg, st_table *t, int64_t n) {
    eng_hub *h = arg;
    pthread_mutex_lock(&h->mu);
    h->epoch++;
    for (eng_sub *s = h->subs; s; s = s->next) {
        if (s->t != t) continue;
        s->gen++;
        s->dropped += n;
        s->seen = sub_row_shift(s->seen, n);
        s->round_upto = sub_row_shift(s->round_upto, n);
        int k = s->qhead;
        for (int i = s->qhead; i < s->qn; i++) {
            sub_range r = {sub_row_shift(s->q[i].from, n), sub_row_shift(s->q[i].to, n), s->q[i].bytes};
            if (r.to > r.from) s->q[k++] = r; /* rows dropped before delivery are gone */
            else s->pending -= r.bytes;
        }
        s->qn = k;
    }
    pthread_mutex_unlock(&h->mu);
}

int sub_queue_coalesce_locked(const eng_sub *s, sub_range *r) {
    int k = s->qhead;
    *r = s->q[k++];
    while (k < s->qn && r->bytes + s->q[k].bytes <= s->max_batch_bytes) {
        r->to = s->q[k].to;
        r->bytes += s->q[k++].bytes;
    }
    return k - s->qhead;
}

int64_t sub_queue_consume_locked(eng_sub *s, int64_t end) {
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
