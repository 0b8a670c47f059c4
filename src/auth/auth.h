/*
** auth: users, roles, password hashes and bearer tokens, shared by the
** Flight and HTTP front ends (both link it; it links only base and
** libsodium). Passwords are Argon2id hashes made by libsodium's
** crypto_pwhash_str; tokens are 256 random bits from the OS, handed out
** once and kept here only as a keyed digest. Every secret comparison is
** constant time (sodium_memcmp / crypto_pwhash_str_verify).
**
** A NULL auth_store means "no --users": every caller is an admin.
** Thread-safe: any number of front-end threads call in at once; reload
** (SIGHUP) swaps the user table under the store's lock.
*/
#ifndef QUIVER_AUTH_H
#define QUIVER_AUTH_H

#include "base/base.h"

/* Ordered: a role may do everything the roles below it may. */
typedef enum auth_role {
    AUTH_ROLE_NONE = 0,  /* not authenticated */
    AUTH_ROLE_READ,      /* queries, listings, metadata */
    AUTH_ROLE_WRITE,     /* also DoPut, INSERT, CREATE */
    AUTH_ROLE_ADMIN      /* also DROP and the admin actions */
} auth_role;

const char *auth_role_name(auth_role r);                /* "read", "write", "admin", "none" */
int auth_role_parse(const char *s, size_t n, auth_role *out); /* 0 ok, -1 unknown */

#define AUTH_USER_MAX 64
#define AUTH_TOKEN_CHARS 43 /* 32 bytes, base64url without padding */

typedef struct auth_identity {
    char user[AUTH_USER_MAX + 1];
    auth_role role;
} auth_identity;

typedef struct auth_store auth_store;

/* Reads the users file (name:role:hash a line; '#' comments and blank lines
   skipped). token_ttl_ms: lifetime of issued tokens. */
int auth_store_open(const char *users_file, int64_t token_ttl_ms, auth_store **out, qv_err *err);
/* Rereads the file. On error the old users stay. Tokens of users removed or
   whose hash changed are revoked; *revoked (may be NULL) counts them. */
int auth_store_reload(auth_store *s, int *revoked, qv_err *err);
void auth_store_free(auth_store *s);
int auth_store_users(auth_store *s); /* how many users are loaded */

/* Check an Authorization header value: "Basic base64(user:password)" or
   "Bearer <token>". peer (an address without port, may be NULL) is for the
   failed-login throttle. QV_OK fills id; QV_EUNAUTH says why not (and never
   echoes a secret). A peer that failed repeatedly is refused unchecked
   until its delay has passed; *retry_ms (may be NULL) then says how long. */
int auth_check(auth_store *s, const char *peer, const char *header, size_t n, auth_identity *id,
               int64_t *retry_ms, qv_err *err);
/* A new token for id (which must come from auth_check): out gets
   AUTH_TOKEN_CHARS characters and a NUL. */
void auth_token_issue(auth_store *s, const auth_identity *id, char out[AUTH_TOKEN_CHARS + 1]);

/* QV_OK if id's role is at least need, else QV_EPERM naming the user, what
   was refused and the role it needs. A NULL store allows everything. */
int auth_require(const auth_store *s, const auth_identity *id, auth_role need, const char *what, qv_err *err);

/* The client side: "Basic base64(user:password)" into out (a NUL-terminated
   header value). QV_EINVAL if the user is empty, too long or has a ':', or
   the two do not fit in what auth_check accepts. */
int auth_basic_header(const char *user, const char *password, char *out, size_t out_size, qv_err *err);

/* Argon2id hash string of a password (for `quiverd hash-password`). */
int auth_hash_password(const char *pw, size_t n, char *out, size_t out_size, qv_err *err);

/* Counters for /metrics. */
typedef struct auth_stats {
    long long failures, throttled, tokens_issued, tokens_revoked, tokens_live;
} auth_stats;
void auth_store_stats(auth_store *s, auth_stats *out);

#endif
