/* auth: users file parsing, Basic and Bearer checks, revocation on reload,
   the failed-login throttle and role checks. */
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include "auth/auth.h"
#include "qtest.h"

static char hash_a[256], hash_b[256];

static void basic_of(const char *user, const char *pw, char *out, size_t n) {
    char plain[256];
    snprintf(plain, sizeof plain, "%s:%s", user, pw);
    strcpy(out, "Basic ");
    sodium_bin2base64(out + 6, n - 6, (const unsigned char *)plain, strlen(plain), sodium_base64_VARIANT_ORIGINAL);
}

static void write_users(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static const char *tmp_users(void) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/quiver-test-users-%d", (int)getpid());
    return path;
}

static void hashes(void) {
    qv_err err;
    if (!hash_a[0]) auth_hash_password("secret-a", 8, hash_a, sizeof hash_a, &err);
    if (!hash_b[0]) auth_hash_password("secret-b", 8, hash_b, sizeof hash_b, &err);
}

QTEST(users_file_errors_name_the_line) {
    hashes();
    const char *p = tmp_users();
    qv_err err;
    auth_store *s;
    write_users(p, "# comment\n\nalice:superuser:$argon2id$x\n");
    QCHECK(auth_store_open(p, 1000, &s, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "line 3") && strstr(err.msg, "superuser"));
    write_users(p, "bob:read:plaintext-password\n");
    QCHECK(auth_store_open(p, 1000, &s, &err) == QV_EINVAL);
    QCHECK(strstr(err.msg, "not an Argon2id hash"));
    QCHECK(strstr(err.msg, "plaintext") == NULL);
    QCHECK(auth_store_open("/nonexistent/users", 1000, &s, &err) == QV_EIO);
    unlink(p);
}

QTEST(basic_then_bearer_and_roles) {
    hashes();
    const char *p = tmp_users();
    char text[1024], hdr[256];
    snprintf(text, sizeof text, "alice:admin:%s\nbob:read:%s\n", hash_a, hash_b);
    write_users(p, text);
    qv_err err;
    auth_store *s;
    QCHECK_EQ(auth_store_open(p, 60000, &s, &err), QV_OK);
    QCHECK_EQ(auth_store_users(s), 2);
    auth_identity id;
    basic_of("bob", "secret-b", hdr, sizeof hdr);
    QCHECK_EQ(auth_check(s, "peer1", hdr, strlen(hdr), &id, NULL, &err), QV_OK);
    QCHECK_STR(id.user, "bob");
    QCHECK_EQ(id.role, AUTH_ROLE_READ);
    QCHECK_EQ(auth_require(s, &id, AUTH_ROLE_READ, "query", &err), QV_OK);
    QCHECK_EQ(auth_require(s, &id, AUTH_ROLE_WRITE, "run INSERT", &err), QV_EPERM);
    QCHECK(strstr(err.msg, "bob") && strstr(err.msg, "INSERT") && strstr(err.msg, "write"));
    char tok[AUTH_TOKEN_CHARS + 1], bearer[128];
    auth_token_issue(s, &id, tok);
    QCHECK_EQ(strlen(tok), AUTH_TOKEN_CHARS);
    snprintf(bearer, sizeof bearer, "Bearer %s", tok);
    QCHECK_EQ(auth_check(s, "peer1", bearer, strlen(bearer), &id, NULL, &err), QV_OK);
    QCHECK_STR(id.user, "bob");
    /* forged: right shape, wrong bits */
    bearer[10] = bearer[10] == 'A' ? 'B' : 'A';
    QCHECK_EQ(auth_check(s, "peer1", bearer, strlen(bearer), &id, NULL, &err), QV_EUNAUTH);
    QCHECK_EQ(auth_check(s, "peer1", "Bearer abc", 10, &id, NULL, &err), QV_EUNAUTH);
    QCHECK_EQ(auth_check(s, "peer1", NULL, 0, &id, NULL, &err), QV_EUNAUTH);
    basic_of("bob", "wrong", hdr, sizeof hdr);
    QCHECK_EQ(auth_check(s, "peer2", hdr, strlen(hdr), &id, NULL, &err), QV_EUNAUTH);
    QCHECK(strstr(err.msg, "wrong") != NULL && strstr(err.msg, "secret") == NULL);
    auth_store_free(s);
    unlink(p);
}

QTEST(reload_revokes_removed_and_changed_users) {
    hashes();
    const char *p = tmp_users();
    char text[1024];
    snprintf(text, sizeof text, "alice:admin:%s\nbob:read:%s\n", hash_a, hash_b);
    write_users(p, text);
    qv_err err;
    auth_store *s;
    QCHECK_EQ(auth_store_open(p, 60000, &s, &err), QV_OK);
    auth_identity a = {"alice", AUTH_ROLE_ADMIN}, b = {"bob", AUTH_ROLE_READ};
    char ta[AUTH_TOKEN_CHARS + 1], tb[AUTH_TOKEN_CHARS + 1], h[128];
    auth_token_issue(s, &a, ta);
    auth_token_issue(s, &b, tb);
    /* alice's password changes (she gets bob's hash), bob is removed */
    snprintf(text, sizeof text, "alice:write:%s\n", hash_b);
    write_users(p, text);
    int revoked = -1;
    QCHECK_EQ(auth_store_reload(s, &revoked, &err), QV_OK);
    QCHECK_EQ(revoked, 2);
    auth_identity id;
    snprintf(h, sizeof h, "Bearer %s", ta);
    QCHECK_EQ(auth_check(s, NULL, h, strlen(h), &id, NULL, &err), QV_EUNAUTH);
    snprintf(h, sizeof h, "Bearer %s", tb);
    QCHECK_EQ(auth_check(s, NULL, h, strlen(h), &id, NULL, &err), QV_EUNAUTH);
    /* a bad file keeps the old users */
    write_users(p, "garbage\n");
    QCHECK(auth_store_reload(s, NULL, &err) == QV_EINVAL);
    QCHECK_EQ(auth_store_users(s), 1);
    auth_store_free(s);
    unlink(p);
}

QTEST(tokens_expire) {
    hashes();
    const char *p = tmp_users();
    char text[512], h[128], tok[AUTH_TOKEN_CHARS + 1];
    snprintf(text, sizeof text, "alice:admin:%s\n", hash_a);
    write_users(p, text);
    qv_err err;
    auth_store *s;
    QCHECK_EQ(auth_store_open(p, 50, &s, &err), QV_OK);
    auth_identity a = {"alice", AUTH_ROLE_ADMIN}, id;
    auth_token_issue(s, &a, tok);
    snprintf(h, sizeof h, "Bearer %s", tok);
    QCHECK_EQ(auth_check(s, NULL, h, strlen(h), &id, NULL, &err), QV_OK);
    usleep(120 * 1000);
    QCHECK_EQ(auth_check(s, NULL, h, strlen(h), &id, NULL, &err), QV_EUNAUTH);
    QCHECK(strstr(err.msg, "expired"));
    auth_store_free(s);
    unlink(p);
}

QTEST(throttle_grows_per_peer) {
    hashes();
    const char *p = tmp_users();
    char text[512], hdr[256], good[256];
    snprintf(text, sizeof text, "alice:admin:%s\n", hash_a);
    write_users(p, text);
    qv_err err;
    auth_store *s;
    QCHECK_EQ(auth_store_open(p, 60000, &s, &err), QV_OK);
    auth_identity id;
    basic_of("alice", "guess", hdr, sizeof hdr);
    basic_of("alice", "secret-a", good, sizeof good);
    int64_t retry = 0;
    for (int i = 0; i < 4; i++) QCHECK_EQ(auth_check(s, "evil", hdr, strlen(hdr), &id, &retry, &err), QV_EUNAUTH);
    /* now throttled: even the right password is refused unchecked */
    QCHECK_EQ(auth_check(s, "evil", good, strlen(good), &id, &retry, &err), QV_EUNAUTH);
    QCHECK(retry > 0);
    QCHECK(strstr(err.msg, "retry in"));
    /* another peer is not affected */
    QCHECK_EQ(auth_check(s, "friend", good, strlen(good), &id, &retry, &err), QV_OK);
    auth_stats st;
    auth_store_stats(s, &st);
    QCHECK(st.failures >= 5 && st.throttled >= 1);
    auth_store_free(s);
    unlink(p);
}

QTEST(no_store_allows_everything) {
    auth_identity id;
    qv_err err;
    QCHECK_EQ(auth_check(NULL, NULL, NULL, 0, &id, NULL, &err), QV_OK);
    QCHECK_EQ(id.role, AUTH_ROLE_ADMIN);
    QCHECK_EQ(auth_require(NULL, &id, AUTH_ROLE_ADMIN, "drop", &err), QV_OK);
}

QTEST(basic_header_for_a_replica_login) {
    hashes();
    const char *p = tmp_users();
    char text[1024], hdr[1024];
    snprintf(text, sizeof text, "alice:admin:%s\n", hash_a);
    write_users(p, text);
    qv_err err;
    auth_store *s;
    QCHECK_EQ(auth_store_open(p, 60000, &s, &err), QV_OK);
    auth_identity id;
    QCHECK_EQ(auth_basic_header("alice", "secret-a", hdr, sizeof hdr, &err), QV_OK);
    QCHECK(strncmp(hdr, "Basic ", 6) == 0);
    QCHECK_EQ(auth_check(s, "peer", hdr, strlen(hdr), &id, NULL, &err), QV_OK);
    QCHECK_STR(id.user, "alice");
    QCHECK_EQ(auth_basic_header("a:b", "x", hdr, sizeof hdr, &err), QV_EINVAL);
    QCHECK_EQ(auth_basic_header("", "x", hdr, sizeof hdr, &err), QV_EINVAL);
    QCHECK_EQ(auth_basic_header("alice", "x", hdr, 8, &err), QV_EINVAL); /* does not fit */
    char big[600];
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = 0;
    QCHECK_EQ(auth_basic_header("alice", big, hdr, sizeof hdr, &err), QV_EINVAL);
    auth_store_free(s);
    unlink(p);
}
