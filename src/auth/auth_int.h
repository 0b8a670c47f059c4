/* Private to src/auth: the store's state (auth.c) and the throttle (auth_throttle.c). */
#ifndef QUIVER_AUTH_INT_H
#define QUIVER_AUTH_INT_H

#include <pthread.h>
#include <sodium.h>

#include "auth/auth.h"

typedef struct auth_user {
    char name[AUTH_USER_MAX + 1];
    auth_role role;
    char *hash;             /* Argon2id string */
    uint8_t hash_digest[32];
} auth_user;

/* An issued token or a verified Basic credential, by keyed digest. */
typedef struct auth_entry {
    uint8_t digest[32];
    uint8_t hash_digest[32]; /* of the user's hash when made */
    char user[AUTH_USER_MAX + 1];
    int64_t expires_ns;      /* monotonic */
} auth_entry;

typedef struct auth_peer {
    char addr[64];
    int failures;
    int64_t next_ns, last_ns; /* no Basic attempt before next_ns */
} auth_peer;

struct auth_store {
    char *path;
    int64_t ttl_ns;
    uint8_t key[32];
    char dummy_hash[crypto_pwhash_STRBYTES]; /* verified against for unknown users */
    pthread_mutex_t mu;
    pthread_cond_t verify_cv;
    int verifying;
    auth_user *users;
    int nusers;
    auth_entry *tokens, *basic;
    int ntokens, ctokens, nbasic, cbasic;
    auth_peer *peers;
    int npeers, cpeers;
    long long failures, throttled, tokens_issued, tokens_revoked;
};

/* ms the peer must still wait before its next password attempt (0: go). */
int64_t auth_throttle_wait(auth_store *s, const char *peer);
/* Record an attempt's outcome: success forgets the peer's failures. */
void auth_throttle_note(auth_store *s, const char *peer, bool ok);

#endif
