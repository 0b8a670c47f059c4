/*
** The auth store: users (from the --users file), issued tokens, a cache of
** recently verified Basic credentials, and the failed-login throttle.
**
** State, all under s->mu: `users` (replaced whole on reload), `tokens` and
** `basic` (entries hold the user's name and a digest of the password hash
** they were made from: an entry whose user is gone or whose hash changed is
** dead and dropped when seen), `peers` (auth_throttle.c). Secrets are never
** stored: a token is kept as BLAKE2b(key, token), a verified Basic
** credential as BLAKE2b(key, user NUL password), with a random key made at
** open. Argon2id verification runs outside the lock, at most VERIFY_MAX at
** once (each takes tens of MiB for a moment).
*/
#include "auth_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_MAX 2
#define BASIC_CACHE_MS (5 * 60 * 1000)
#define ENTRIES_MAX 100000

static const char *const role_names[] = {"none", "read", "write", "admin"};

const char *auth_role_name(auth_role r) {
    return (unsigned)r < sizeof role_names / sizeof role_names[0] ? role_names[r] : "none";
}

int auth_role_parse(const char *s, size_t n, auth_role *out) {
    for (int r = AUTH_ROLE_READ; r <= AUTH_ROLE_ADMIN; r++)
        if (strlen(role_names[r]) == n && memcmp(role_names[r], s, n) == 0) {
            *out = (auth_role)r;
            return 0;
        }
    return -1;
}

static void digest(const auth_store *s, const void *a, size_t an, const void *b, size_t bn, uint8_t out[32]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, s->key, sizeof s->key, 32);
    crypto_generichash_update(&st, a, an);
    if (b) {
        static const uint8_t zero = 0;
        crypto_generichash_update(&st, &zero, 1);
        crypto_generichash_update(&st, b, bn);
    }
    crypto_generichash_final(&st, out, 32);
}

/* ---- the users file ---- */

static void users_free(auth_user *u, int n) {
    for (int i = 0; i < n; i++) free(u[i].hash);
    free(u);
}

static int parse_line(const auth_store *s, const char *line, size_t n, int lineno, auth_user *u, qv_err *err) {
    const char *c1 = memchr(line, ':', n);
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(line + n - c1 - 1)) : NULL;
    if (!c2) return qv_err_set(err, QV_EINVAL, "line %d: expected name:role:hash", lineno);
    size_t un = (size_t)(c1 - line), rn = (size_t)(c2 - c1 - 1), hn = (size_t)(line + n - c2 - 1);
    if (un == 0 || un > AUTH_USER_MAX)
        return qv_err_set(err, QV_EINVAL, "line %d: user name must be 1..%d bytes", lineno, AUTH_USER_MAX);
    for (size_t i = 0; i < un; i++)
        if ((unsigned char)line[i] < 0x21 || line[i] == 0x7f)
            return qv_err_set(err, QV_EINVAL, "line %d: user name contains a blank or control byte", lineno);
    if (auth_role_parse(c1 + 1, rn, &u->role))
        return qv_err_set(err, QV_EINVAL, "line %d: role '%.*s' is not read, write or admin", lineno,
                          (int)(rn > 20 ? 20 : rn), c1 + 1);
    const char *h = c2 + 1;
    if (hn < 10 || hn >= crypto_pwhash_STRBYTES || strncmp(h, crypto_pwhash_argon2id_STRPREFIX,
                                                            strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0)
        return qv_err_set(err, QV_EINVAL,
                          "line %d: user '%.*s': the hash is not an Argon2id hash (make one with "
                          "`quiverd hash-password`)",
                          lineno, (int)un, line);
    memcpy(u->name, line, un);
    u->name[un] = 0;
    u->hash = qv_xstrndup(h, hn);
    digest(s, h, hn, NULL, 0, u->hash_digest);
    return QV_OK;
}

static int users_read(const auth_store *s, auth_user **out, int *nout, qv_err *err) {
    FILE *f = fopen(s->path, "r");
    if (!f) return qv_err_set(err, QV_EIO, "cannot open users file %s", s->path);
    auth_user *u = NULL;
    int n = 0, cap = 0, lineno = 0, rc = QV_OK;
    char line[1024];
    while (rc == QV_OK && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = qv_err_set(err, QV_EINVAL, "line %d is too long", lineno);
            break;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
        size_t start = 0;
        while (start < len && (line[start] == ' ' || line[start] == '\t')) start++;
        if (start == len || line[start] == '#') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            u = qv_xrealloc(u, (size_t)cap * sizeof *u);
        }
        memset(&u[n], 0, sizeof u[n]);
        rc = parse_line(s, line + start, len - start, lineno, &u[n], err);
        if (rc) break;
        for (int i = 0; i < n; i++)
            if (strcmp(u[i].name, u[n].name) == 0) {
                rc = qv_err_set(err, QV_EINVAL, "line %d: user '%s' is listed twice", lineno, u[n].name);
                free(u[n].hash);
                break;
            }
        if (rc == QV_OK) n++;
    }
    fclose(f);
    if (rc) {
        users_free(u, n);
        return qv_err_prefix(err, "users file %s", s->path);
    }
    *out = u;
    *nout = n;
    return QV_OK;
}

static const auth_user *user_find(const auth_store *s, const char *name) {
    for (int i = 0; i < s->nusers; i++)
        if (strcmp(s->users[i].name, name) == 0) return &s->users[i];
    return NULL;
}

/* An entry is alive while its user exists with the same password hash. */
static const auth_user *entry_user(const auth_store *s, const auth_entry *e) {
    const auth_user *u = user_find(s, e->user);
    if (!u || sodium_memcmp(u->hash_digest, e->hash_digest, 32) != 0) return NULL;
    return u;
}

/* Drop expired and dead entries; returns how many dead (revoked) ones went. */
static int entries_prune(auth_store *s, auth_entry *v, int *n, int64_t now) {
    int k = 0, revoked = 0;
    for (int i = 0; i < *n; i++) {
        bool dead = entry_user(s, &v[i]) == NULL;
        if (dead && v == s->tokens) revoked++;
        if (dead || v[i].expires_ns <= now) continue;
        v[k++] = v[i];
    }
    *n = k;
    return revoked;
}

static void entry_add(auth_store *s, auth_entry **v, int *n, int *cap, const auth_entry *e) {
    if (*n >= ENTRIES_MAX) entries_prune(s, *v, n, qv_monotonic_ns());
    if (*n >= ENTRIES_MAX) { /* still full: drop the oldest half */
        memmove(*v, *v + ENTRIES_MAX / 2, (size_t)(*n - ENTRIES_MAX / 2) * sizeof **v);
        *n -= ENTRIES_MAX / 2;
    }
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *v = qv_xrealloc(*v, (size_t)*cap * sizeof **v);
    }
    (*v)[(*n)++] = *e;
}

static int entry_find(const auth_entry *v, int n, const uint8_t d[32]) {
    int found = -1;
    for (int i = 0; i < n; i++)
        if (sodium_memcmp(v[i].digest, d, 32) == 0) found = i;
    return found;
}

int auth_store_open(const char *users_file, int64_t token_ttl_ms, auth_store **out, qv_err *err) {
    *out = NULL;
    if (sodium_init() < 0) return qv_err_set(err, QV_EINTERNAL, "libsodium failed to initialize");
    auth_store *s = qv_xcalloc(1, sizeof *s);
    s->path = qv_xstrdup(users_file);
    s->ttl_ns = (token_ttl_ms > 0 ? token_ttl_ms : 12LL * 3600 * 1000) * 1000000;
    randombytes_buf(s->key, sizeof s->key);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->verify_cv, NULL);
    if (users_read(s, &s->users, &s->nusers, err) ||
        auth_hash_password("quiver", 6, s->dummy_hash, sizeof s->dummy_hash, err)) {
        auth_store_free(s);
        return err->code;
    }
    *out = s;
    return QV_OK;
}

int auth_store_reload(auth_store *s, int *revoked, qv_err *err) {
    auth_user *u;
    int n;
    if (revoked) *revoked = 0;
    if (users_read(s, &u, &n, err)) return err->code;
    pthread_mutex_lock(&s->mu);
    users_free(s->users, s->nusers);
    s->users = u;
    s->nusers = n;
    int64_t now = qv_monotonic_ns();
    int r = entries_prune(s, s->tokens, &s->ntokens, now);
    entries_prune(s, s->basic, &s->nbasic, now);
    s->tokens_revoked += r;
    pthread_mutex_unlock(&s->mu);
    if (revoked) *revoked = r;
    return QV_OK;
}

void auth_store_free(auth_store *s) {
    if (!s) return;
    users_free(s->users, s->nusers);
    sodium_memzero(s->key, sizeof s->key);
    free(s->tokens);
    free(s->basic);
    free(s->peers);
    free(s->path);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->verify_cv);
    free(s);
}

int auth_store_users(auth_store *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->nusers;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- checking credentials ---- */

static int check_bearer(auth_store *s, const char *tok, size_t n, auth_identity *id, qv_err *err) {
    uint8_t raw[32];
    size_t rawn = 0;
    if (n != AUTH_TOKEN_CHARS ||
        sodium_base642bin(raw, sizeof raw, tok, n, NULL, &rawn, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        rawn != sizeof raw)
        return qv_err_set(err, QV_EUNAUTH, "bearer token is malformed (not one Quiver issued)");
    uint8_t d[32];
    digest(s, raw, sizeof raw, NULL, 0, d);
    sodium_memzero(raw, sizeof raw);
    int rc = QV_OK;
    pthread_mutex_lock(&s->mu);
    int i = entry_find(s->tokens, s->ntokens, d);
    const auth_user *u = i >= 0 ? entry_user(s, &s->tokens[i]) : NULL;
    if (i < 0) {
        rc = qv_err_set(err, QV_EUNAUTH, "bearer token is unknown (forged, revoked, or from before a restart)");
    } else if (!u) {
        rc = qv_err_set(err, QV_EUNAUTH, "bearer token was revoked: its user was removed or changed password");
        s->tokens[i] = s->tokens[--s->ntokens];
        s->tokens_revoked++;
    } else if (s->tokens[i].expires_ns <= qv_monotonic_ns()) {
        rc = qv_err_set(err, QV_EUNAUTH, "bearer token has expired (--token-ttl); log in again");
        s->tokens[i] = s->tokens[--s->ntokens];
    } else {
        snprintf(id->user, sizeof id->user, "%s", u->name);
        id->role = u->role;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Argon2id verification, at most VERIFY_MAX at once. */
static bool verify_password(auth_store *s, const char *hash, const char *pw, size_t pwn) {
    pthread_mutex_lock(&s->mu);
    while (s->verifying >= VERIFY_MAX) pthread_cond_wait(&s->verify_cv, &s->mu);
    s->verifying++;
    pthread_mutex_unlock(&s->mu);
    bool ok = crypto_pwhash_str_verify(hash, pw, pwn) == 0;
    pthread_mutex_lock(&s->mu);
    s->verifying--;
    pthread_cond_signal(&s->verify_cv);
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int auth_basic_header(const char *user, const char *password, char *out, size_t out_size, qv_err *err) {
    size_t un = strlen(user), pn = strlen(password);
    if (un == 0 || un > AUTH_USER_MAX || strchr(user, ':'))
        return qv_err_set(err, QV_EINVAL, "user name '%.80s' must be 1 to %d characters without ':'", user,
                          AUTH_USER_MAX);
    char buf[512];
    if (un + 1 + pn >= sizeof buf) return qv_err_set(err, QV_EINVAL, "password is too long");
    memcpy(buf, user, un);
    buf[un] = ':';
    memcpy(buf + un + 1, password, pn);
    size_t need = sodium_base64_ENCODED_LEN(un + 1 + pn, sodium_base64_VARIANT_ORIGINAL);
    int rc = QV_OK;
    if (6 + need > out_size || need > 681) rc = qv_err_set(err, QV_EINVAL, "user name and password are too long");
    else {
        memcpy(out, "Basic ", 6);
        sodium_bin2base64(out + 6, out_size - 6, (const unsigned char *)buf, un + 1 + pn,
                          sodium_base64_VARIANT_ORIGINAL);
    }
    sodium_memzero(buf, sizeof buf);
    return rc;
}

static int check_basic(auth_store *s, const char *b64, size_t n, auth_identity *id, qv_err *err) {
    char buf[512];
    size_t len = 0;
    /* Padding is optional: arrow-go (ADBC) sends unpadded base64. */
    if (n > 680 || (sodium_base642bin((unsigned char *)buf, sizeof buf - 1, b64, n, " ", &len, NULL,
                                      sodium_base64_VARIANT_ORIGINAL) &&
                    sodium_base642bin((unsigned char *)buf, sizeof buf - 1, b64, n, " ", &len, NULL,
                                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING)))
        return qv_err_set(err, QV_EUNAUTH, "Basic credentials are not valid base64");
    buf[len] = 0;
    char *colon = memchr(buf, ':', len);
    if (!colon || colon == buf || colon - buf > AUTH_USER_MAX) {
        sodium_memzero(buf, sizeof buf);
        return qv_err_set(err, QV_EUNAUTH, "Basic credentials must be user:password");
    }
    *colon = 0;
    const char *user = buf, *pw = colon + 1;
    size_t pwn = len - (size_t)(colon + 1 - buf);
    uint8_t d[32];
    digest(s, user, strlen(user), pw, pwn, d);
    int rc = QV_OK;
    char *hash = NULL;
    uint8_t hash_digest[32];
    pthread_mutex_lock(&s->mu);
    const auth_user *u = user_find(s, user);
    int i = entry_find(s->basic, s->nbasic, d);
    if (u && i >= 0 && entry_user(s, &s->basic[i]) == u && s->basic[i].expires_ns > qv_monotonic_ns()) {
        snprintf(id->user, sizeof id->user, "%s", u->name);
        id->role = u->role;
        pthread_mutex_unlock(&s->mu);
        sodium_memzero(buf, sizeof buf);
        return QV_OK;
    }
    if (u) {
        hash = qv_xstrdup(u->hash);
        memcpy(hash_digest, u->hash_digest, 32);
    }
    pthread_mutex_unlock(&s->mu);
    /* An unknown user costs a verification too, so timing does not tell
       which names exist. */
    if (!hash) {
        verify_password(s, s->dummy_hash, pw, pwn);
        rc = qv_err_set(err, QV_EUNAUTH, "wrong user name or password");
    } else if (!verify_password(s, hash, pw, pwn)) {
        rc = qv_err_set(err, QV_EUNAUTH, "wrong user name or password");
    } else {
        auth_entry e = {.expires_ns = qv_monotonic_ns() + (s->ttl_ns < BASIC_CACHE_MS * 1000000LL
                                                             ? s->ttl_ns : BASIC_CACHE_MS * 1000000LL)};
        memcpy(e.digest, d, 32);
        memcpy(e.hash_digest, hash_digest, 32);
        snprintf(e.user, sizeof e.user, "%s", user);
        pthread_mutex_lock(&s->mu);
        const auth_user *now = user_find(s, user);
        if (now && sodium_memcmp(now->hash_digest, hash_digest, 32) == 0) {
            entry_add(s, &s->basic, &s->nbasic, &s->cbasic, &e);
            snprintf(id->user, sizeof id->user, "%s", now->name);
            id->role = now->role;
        } else {
            rc = qv_err_set(err, QV_EUNAUTH, "wrong user name or password");
        }
        pthread_mutex_unlock(&s->mu);
    }
    free(hash);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

static bool scheme_is(const char *h, size_t n, const char *scheme, size_t *skip) {
    size_t k = strlen(scheme);
    if (n <= k || strncasecmp(h, scheme, k) != 0 || h[k] != ' ') return false;
    while (k < n && h[k] == ' ') k++;
    *skip = k;
    return true;
}

int auth_check(auth_store *s, const char *peer, const char *header, size_t n, auth_identity *id,
               int64_t *retry_ms, qv_err *err) {
    memset(id, 0, sizeof *id);
    if (retry_ms) *retry_ms = 0;
    if (!s) {
        snprintf(id->user, sizeof id->user, "anonymous");
        id->role = AUTH_ROLE_ADMIN;
        return QV_OK;
    }
    size_t k = 0;
    int rc;
    if (!header || n == 0) {
        rc = qv_err_set(err, QV_EUNAUTH, "authentication required: send Basic credentials or a Bearer token");
    } else if (scheme_is(header, n, "Bearer", &k)) {
        rc = check_bearer(s, header + k, n - k, id, err);
    } else if (scheme_is(header, n, "Basic", &k)) {
        int64_t wait = auth_throttle_wait(s, peer);
        if (wait > 0) {
            if (retry_ms) *retry_ms = wait;
            pthread_mutex_lock(&s->mu);
            s->throttled++;
            s->failures++;
            pthread_mutex_unlock(&s->mu);
            return qv_err_set(err, QV_EUNAUTH, "too many failed logins from this address: retry in %lld ms",
                              (long long)wait);
        }
        rc = check_basic(s, header + k, n - k, id, err);
        auth_throttle_note(s, peer, rc == QV_OK);
    } else {
        rc = qv_err_set(err, QV_EUNAUTH, "unsupported authorization scheme (use Basic or Bearer)");
    }
    if (rc) {
        pthread_mutex_lock(&s->mu);
        s->failures++;
        pthread_mutex_unlock(&s->mu);
    }
    return rc;
}

void auth_token_issue(auth_store *s, const auth_identity *id, char out[AUTH_TOKEN_CHARS + 1]) {
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_TOKEN_CHARS + 1, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    auth_entry e = {.expires_ns = qv_monotonic_ns() + s->ttl_ns};
    digest(s, raw, sizeof raw, NULL, 0, e.digest);
    sodium_memzero(raw, sizeof raw);
    snprintf(e.user, sizeof e.user, "%s", id->user);
    pthread_mutex_lock(&s->mu);
    const auth_user *u = user_find(s, id->user);
    if (u) {
        memcpy(e.hash_digest, u->hash_digest, 32);
        entry_add(s, &s->tokens, &s->ntokens, &s->ctokens, &e);
        s->tokens_issued++;
    }
    pthread_mutex_unlock(&s->mu);
}

int auth_require(const auth_store *s, const auth_identity *id, auth_role need, const char *what, qv_err *err) {
    if (!s || id->role >= need) return QV_OK;
    return qv_err_set(err, QV_EPERM, "permission denied: user '%s' (role %s) may not %s (needs role %s)", id->user,
                      auth_role_name(id->role), what, auth_role_name(need));
}

int auth_hash_password(const char *pw, size_t n, char *out, size_t out_size, qv_err *err) {
    if (sodium_init() < 0) return qv_err_set(err, QV_EINTERNAL, "libsodium failed to initialize");
    if (out_size < crypto_pwhash_STRBYTES) return qv_err_set(err, QV_EINVAL, "hash buffer too small");
    if (n == 0) return qv_err_set(err, QV_EINVAL, "empty password");
    if (crypto_pwhash_str(out, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE))
        return qv_err_set(err, QV_ERESOURCE, "Argon2id ran out of memory");
    return QV_OK;
}

void auth_store_stats(auth_store *s, auth_stats *out) {
    memset(out, 0, sizeof *out);
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    out->failures = s->failures;
    out->throttled = s->throttled;
    out->tokens_issued = s->tokens_issued;
    out->tokens_revoked = s->tokens_revoked;
    out->tokens_live = s->ntokens;
    pthread_mutex_unlock(&s->mu);
}
