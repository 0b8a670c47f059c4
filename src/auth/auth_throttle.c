/*
** The failed-login throttle. Per peer address: after THROTTLE_FREE failed
** password attempts, each further failure doubles a delay (from
** THROTTLE_BASE_MS up to THROTTLE_MAX_MS) during which that peer's Basic
** attempts are refused unchecked, so a password cannot be guessed at line
** rate. Nobody sleeps: the refusal is immediate and other peers (and
** callers with tokens) are untouched. A success, or THROTTLE_FORGET_MS
** without failures, forgets the peer. State lives in s->peers under s->mu.
*/
#include "auth_int.h"

#include <stdio.h>
#include <string.h>

#define THROTTLE_FREE 3
#define THROTTLE_BASE_MS 250
#define THROTTLE_MAX_MS 30000
#define THROTTLE_FORGET_MS (10 * 60 * 1000)
#define PEERS_MAX 4096

static auth_peer *peer_find(auth_store *s, const char *addr) {
    for (int i = 0; i < s->npeers; i++)
        if (strcmp(s->peers[i].addr, addr) == 0) return &s->peers[i];
    return NULL;
}

int64_t auth_throttle_wait(auth_store *s, const char *peer) {
    if (!peer) peer = "";
    int64_t now = qv_monotonic_ns(), wait = 0;
    pthread_mutex_lock(&s->mu);
    auth_peer *p = peer_find(s, peer);
    if (p && p->next_ns > now) wait = (p->next_ns - now + 999999) / 1000000;
    pthread_mutex_unlock(&s->mu);
    return wait;
}

void auth_throttle_note(auth_store *s, const char *peer, bool ok) {
    if (!peer) peer = "";
    int64_t now = qv_monotonic_ns();
    pthread_mutex_lock(&s->mu);
    auth_peer *p = peer_find(s, peer);
    if (ok) {
        if (p) *p = s->peers[--s->npeers];
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (!p) {
        /* Forget stale peers first; if still full, reuse the oldest slot. */
        int k = 0;
        for (int i = 0; i < s->npeers; i++)
            if (now - s->peers[i].last_ns < (int64_t)THROTTLE_FORGET_MS * 1000000) s->peers[k++] = s->peers[i];
        s->npeers = k;
        if (s->npeers == PEERS_MAX) {
            int old = 0;
            for (int i = 1; i < s->npeers; i++)
                if (s->peers[i].last_ns < s->peers[old].last_ns) old = i;
            s->peers[old] = s->peers[--s->npeers];
        }
        if (s->npeers == s->cpeers) {
            s->cpeers = s->cpeers ? s->cpeers * 2 : 16;
            s->peers = qv_xrealloc(s->peers, (size_t)s->cpeers * sizeof *s->peers);
        }
        p = &s->peers[s->npeers++];
        memset(p, 0, sizeof *p);
        snprintf(p->addr, sizeof p->addr, "%s", peer);
    }
    if (now - p->last_ns > (int64_t)THROTTLE_FORGET_MS * 1000000) p->failures = 0;
    p->failures++;
    p->last_ns = now;
    if (p->failures > THROTTLE_FREE) {
        int shift = p->failures - THROTTLE_FREE - 1;
        int64_t ms = shift > 10 ? THROTTLE_MAX_MS : (int64_t)THROTTLE_BASE_MS << shift;
        if (ms > THROTTLE_MAX_MS) ms = THROTTLE_MAX_MS;
        p->next_ns = now + ms * 1000000;
    }
    pthread_mutex_unlock(&s->mu);
}
