/*
** quiverd: one process, two front ends (Flight on gRPC, HTTP) over one engine.
**
** Life of the process: parse flags (bad → exit 2) → open the engine (recovery)
** → start HTTP and Flight (a taken port → exit 2) → log the bound ports on one
** line → wait for SIGINT/SIGTERM → stop accepting, let running calls finish
** (bounded) → close the engine (checkpoint, sync) → exit 0.
*/
#include <arpa/inet.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "auth/auth.h"

#include "flags.h"
#include "flight/flight.h"
#include "http/http.h"

#define GRACE_MS 5000

/* `quiverd hash-password`: a password on stdin (one line) -> its Argon2id hash on stdout. */
static int hash_password(void) {
    char pw[1024];
    size_t n = fread(pw, 1, sizeof pw - 1, stdin);
    pw[n] = 0;
    while (n && (pw[n - 1] == '\n' || pw[n - 1] == '\r')) pw[--n] = 0;
    char out[256];
    qv_err err;
    int rc = auth_hash_password(pw, n, out, sizeof out, &err);
    memset(pw, 0, sizeof pw);
    if (rc) {
        fprintf(stderr, "quiverd hash-password: %s\n", err.msg);
        return 2;
    }
    printf("%s\n", out);
    return 0;
}

/* A replica's login on its primary: the password from --replication-password-file
   (its first line) or $QUIVER_REPLICATION_PASSWORD, never from the command
   line (ps would show it); out gets the Basic header value. */
static int replication_login(const qd_flags *f, char *out, size_t n, qv_err *err) {
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *env = getenv("QUIVER_REPLICATION_PASSWORD");
    if (f->replication_password_file) {
        if (qv_file_read_all(f->replication_password_file, &buf, &len, err))
            return qv_err_prefix(err, "--replication-password-file");
    } else if (env) {
        len = strlen(env);
        buf = qv_xcalloc(len + 1, 1);
        memcpy(buf, env, len);
    } else {
        return qv_err_set(err, QV_EINVAL,
                          "--replication-user %s needs a password: --replication-password-file FILE or "
                          "QUIVER_REPLICATION_PASSWORD in the environment",
                          f->replication_user);
    }
    char *pw = qv_xcalloc(len + 1, 1);
    memcpy(pw, buf, len);
    pw[strcspn(pw, "\r\n")] = 0;
    int rc = auth_basic_header(f->replication_user, pw, out, n, err);
    memset(pw, 0, len);
    memset(buf, 0, len);
    free(pw);
    free(buf);
    return rc ? qv_err_prefix(err, "--replication-user") : QV_OK;
}

static bool host_is_loopback(const char *h) {
    if (strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0) return true;
    struct in_addr a;
    return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* The flags' checks that need more than parsing: 0, or 2 (said on stderr). */
static int flags_check(const qd_flags *f, char *repl_login, size_t n, auth_store **auth) {
    qv_err err;
    if (!f->users_file && !f->insecure && !host_is_loopback(f->host)) {
        fprintf(stderr, "quiverd: refusing to listen on %s without authentication: anyone who reaches it could "
                        "read, write and drop every table. Give --users FILE (see `quiverd hash-password`), "
                        "or --insecure to do it anyway.\n", f->host);
        return 2;
    }
    if ((f->replication_user && replication_login(f, repl_login, n, &err)) ||
        (f->users_file && auth_store_open(f->users_file, f->token_ttl_ms, auth, &err))) {
        fprintf(stderr, "quiverd: %s\n", err.msg);
        return 2;
    }
    return 0;
}

/* Allocator and signal setup, before any thread starts. */
static void process_setup(sigset_t *sigs) {
    /* Column buffers are large and short-lived, allocated and freed on many
       threads. glibc's sliding mmap threshold would move them into per-thread
       heaps that keep freed memory (abandoned queries left ~300 MB resident
       for a 1M-row table); a fixed threshold maps them and gives them back. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    /* One arena: gRPC's read buffers are malloc'd by whichever thread polls
       and freed by another; with an arena per thread the memory one freed
       was not what the next allocated, so every received message faulted
       in fresh pages (ingest: half its page faults, a third more peak RSS). */
    mallopt(M_ARENA_MAX, 1);

    /* Signals are taken synchronously by main; every thread started after
       this inherits the mask, so no worker is interrupted. */
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    sigaddset(sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static eng_options engine_options(const qd_flags *f) {
    eng_options eo = {0};
    eo.storage.data_dir = f->data_dir;
    eo.storage.in_memory = f->in_memory;
    eo.storage.buffered_bulk = f->buffered_bulk;
    eo.storage.wal_sync_ms = f->wal_sync_ms;
    eo.storage.rowgroup_rows = f->rowgroup_rows;
    eo.storage.checkpoint_bytes = f->checkpoint_bytes;
    eo.threads = f->threads ? f->threads : qv_cpu_count();
    eo.query_memory = f->query_memory;
    eo.demo_rows = f->demo_rows;
    eo.max_running = f->max_running_queries;
    eo.max_queued = f->max_queued_queries;
    eo.query_timeout_ms = f->query_timeout_ms;
    eo.subscriber_buffer = f->subscriber_buffer;
    eo.subscriber_interval_ns = f->subscriber_interval_ns;
    return eo;
}

/* The Flight front end (when built in); 0, or 2 after saying why. */
static int flight_start(const qd_flags *f, eng *e, auth_store *auth, const char *repl_login, int threads,
                        flight_server **fs, int *port) {
    qv_err err;
    /* A Flight worker runs a query's next batch itself, so a few slow
       queries must not take every worker: keep spare ones for pings. */
    flight_options fo = {.host = f->host, .port = f->flight_port, .threads = 2 * threads + 4,
                         .max_batch_bytes = f->max_batch_bytes, .partition_rows = f->partition_rows,
                         .ticket_ttl_ns = f->ticket_ttl_ns, .replica_of = f->replica_of,
                         .advertise = f->advertise, .auth = auth, .tls_cert = f->tls_cert,
                         .replication_user = f->replication_user,
                         .replication_login = repl_login[0] ? repl_login : NULL,
                         .tls_key = f->tls_key, .tls_client_ca = f->tls_client_ca,
                         .max_put_bytes = f->max_put_bytes};
    if (f->replica_of) {
        char why[400];
        snprintf(why, sizeof why, "this server is a read replica of %s: send writes to the primary", f->replica_of);
        eng_set_read_only(e, why);
    }
    if (flight_server_start(e, &fo, fs, port, &err)) {
        fprintf(stderr, "quiverd: flight port %d: %s\n", f->flight_port, err.msg);
        return 2;
    }
    return 0;
}

/* Serves until SIGINT or SIGTERM; SIGHUP reloads the users file. */
static int wait_for_stop(const qd_flags *f, auth_store *auth, sigset_t *sigs) {
    qv_err err;
    int sig = 0;
    for (;;) {
        sigwait(sigs, &sig);
        if (sig != SIGHUP) return sig;
        int revoked = 0;
        if (!auth)
            QV_INFO("SIGHUP: no --users file to reload");
        else if (auth_store_reload(auth, &revoked, &err))
            QV_ERROR("SIGHUP: kept the old users: %s", err.msg);
        else
            QV_INFO("SIGHUP: reloaded %d user(s) from %s; %d token(s) revoked", auth_store_users(auth), f->users_file,
                    revoked);
    }
}

int main(int argc, char **argv) {
    qd_flags f;
    qv_err err;
    if (argc >= 2 && strcmp(argv[1], "hash-password") == 0) return hash_password();
    qd_flags_defaults(&f);
    if (qd_flags_parse(&f, argc, argv, &err)) {
        fprintf(stderr, "quiverd: %s\n", err.msg);
        return 2;
    }
    if (f.help) {
        fputs(qd_usage, stdout);
        return 0;
    }
    if (f.version) {
        printf("quiverd %s\n", QV_VERSION);
        return 0;
    }
    qv_log_set_level(f.log_level);
    static char repl_login[1024];
    auth_store *auth = NULL;
    if (flags_check(&f, repl_login, sizeof repl_login, &auth)) return 2;
    sigset_t sigs;
    process_setup(&sigs);

    eng_options eo = engine_options(&f);
    eng *e;
    if (eng_open(&eo, &e, &err)) {
        fprintf(stderr, "quiverd: cannot open %s: %s\n", f.in_memory ? "in-memory database" : f.data_dir, err.msg);
        auth_store_free(auth);
        return err.code == QV_EINVAL ? 2 : 1;
    }

    if (f.prepared_idle_s > 0) eng_stmt_set_idle_ms(e, (int64_t)f.prepared_idle_s * 1000);
    http_options ho = {.host = f.host, .port = f.http_port, .threads = 0, .max_body_bytes = f.max_body_bytes,
                       .auth = auth, .tls_cert = f.tls_cert, .tls_key = f.tls_key, .tls_client_ca = f.tls_client_ca,
                       .max_connections = f.max_connections,
                       .idle_timeout_s = (int)((f.http_idle_timeout_ms + 999) / 1000),
                       .header_timeout_s = (int)((f.http_header_timeout_ms + 999) / 1000)};
    http_server *hs = NULL;
    int http_port = 0, flight_port = 0;
    if (http_server_start(e, &ho, &hs, &http_port, &err)) {
        fprintf(stderr, "quiverd: http port %d: %s\n", f.http_port, err.msg);
        eng_close(e);
        auth_store_free(auth);
        return 2;
    }
    flight_server *fs = NULL;
    const char *data = f.in_memory ? "(in-memory)" : f.data_dir;
    if (!flight_built_in()) {
        QV_INFO("quiverd %s listening flight=off http=%s:%d threads=%d data=%s (built without Arrow Flight: HTTP only)",
                QV_VERSION, f.host, http_port, eo.threads, data);
    } else if (flight_start(&f, e, auth, repl_login, eo.threads, &fs, &flight_port)) {
        http_server_shutdown(hs, 0);
        http_server_free(hs);
        eng_close(e);
        auth_store_free(auth);
        return 2;
    } else {
        QV_INFO("quiverd %s listening flight=%s:%d http=%s:%d threads=%d data=%s", QV_VERSION, f.host, flight_port,
                f.host, http_port, eo.threads, data);
    }

    if (auth) QV_INFO("authentication on: %d user(s) from %s", auth_store_users(auth), f.users_file);
    if (f.tls_cert) QV_INFO("TLS on (Flight grpc+tls, HTTPS)%s", f.tls_client_ca ? ", client certificates required" : "");
    int sig = wait_for_stop(&f, auth, &sigs);
    QV_INFO("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    eng_subs_shutdown(e); /* subscriptions never end by themselves: end them (UNAVAILABLE) first */
    if (fs) flight_server_shutdown(fs, GRACE_MS);
    http_server_shutdown(hs, GRACE_MS);
    if (fs) flight_server_free(fs);
    http_server_free(hs);
    eng_close(e);
    auth_store_free(auth);
    QV_INFO("stopped cleanly");
    return 0;
}
