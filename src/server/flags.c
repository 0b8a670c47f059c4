/* quiverd flag parsing. Accepts --name value and --name=value. */
#include "flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char qd_usage[] =
    "usage: quiverd [flags]\n"
    "  --flight-port N      Arrow Flight gRPC port (default 8815; 0 = pick a free port)\n"
    "  --http-port N        HTTP API port (default 8123; 0 = pick a free port)\n"
    "  --host ADDR          address to bind (default 127.0.0.1)\n"
    "  --data-dir DIR       where tables and the WAL live (default ./quiver-data)\n"
    "  --in-memory          keep nothing on disk\n"
    "  --demo-rows N        create a demo `trades` table with N rows if absent\n"
    "  --threads N          query worker threads (default: number of cores)\n"
    "  --log-level L        debug, info, warn or error (default info)\n"
    "  --wal-sync DURATION  0 = fsync every commit (default); >0 = group commit window (5ms; bare = ms)\n"
    "  --query-memory SIZE  per-query memory limit (default 1G; K/M/G suffixes)\n"
    "  --max-batch-bytes SIZE  largest Flight batch body (default 4M)\n"
    "  --max-body-bytes SIZE   largest HTTP request body (SQL) or Arrow message (default 1G)\n"
    "  --partition-rows N   rows per Flight endpoint of a partitioned scan (default 8M; K/M/G suffixes)\n"
    "  --ticket-ttl DURATION  how long GetFlightInfo tickets stay redeemable (default 5m; e.g. 500ms, 2s, 12h)\n"
    "  --replica-of grpc://HOST:PORT  be a read replica of that primary (follows its commits; refuses writes)\n"
    "  --advertise HOST:PORT  where clients reach this server (a replica's address in partitioned endpoints)\n"
    "  --replication-user NAME  a replica logs in to a --users primary as this admin user; the password\n"
    "                       comes from --replication-password-file FILE (first line) or $QUIVER_REPLICATION_PASSWORD\n"
    "  --prepared-idle DURATION  Flight SQL prepared statements expire when idle this long (default 30m; bare = s)\n"
    "  --users FILE         require logins: name:role:hash lines (roles read, write, admin)\n"
    "  --token-ttl D        lifetime of login tokens (default 12h; 500ms, 2s, 5m, 12h)\n"
    "  --insecure           allow a non-loopback --host without --users\n"
    "  --tls-cert FILE      PEM certificate chain: TLS on Flight (grpc+tls) and HTTPS\n"
    "  --tls-key FILE       PEM private key for --tls-cert\n"
    "  --tls-client-ca FILE PEM CA: require client certificates signed by it (mTLS)\n"
    "  --max-running-queries N  queries running at once (default 2 x threads)\n"
    "  --max-queued-queries N   queries waiting for a slot, FIFO (default 4 x running; 0 = none)\n"
    "  --query-timeout D    stop queries running longer (default none)\n"
    "  --max-connections N  HTTP connections at once (default 1000)\n"
    "  --http-idle-timeout D    close idle HTTP connections (default 60s)\n"
    "  --http-header-timeout D  close HTTP connections that send no request in time (default 10s)\n"
    "  --max-put-bytes SIZE     largest Flight DoPut stream (default unlimited)\n"
    "  --rowgroup-rows N        rows per storage row group of new tables (default 262144)\n"
    "  --checkpoint-bytes SIZE  checkpoint once the WAL passes this (default 64M)\n"
    "  --buffered-bulk-writes   write bulk loads through the page cache (default: O_DIRECT)\n"
    "  --subscriber-buffer SIZE  commits a SUBSCRIBE may have pending before it is ended (default 64M)\n"
    "  --subscriber-interval D   least time between two publishes to subscribers; commits closer together\n"
    "                       go out as one batch (default 0 = every commit at once; e.g. 5ms; bare = ms)\n"
    "  --help               this text\n"
    "  --version            print the version\n";

void qd_flags_defaults(qd_flags *f) {
    memset(f, 0, sizeof *f);
    f->host = "127.0.0.1";
    f->flight_port = 8815;
    f->http_port = 8123;
    f->data_dir = "./quiver-data";
    f->threads = 0;
    f->log_level = QV_LOG_INFO;
    f->query_memory = 1LL << 30;
    f->max_batch_bytes = 4LL << 20;
    f->max_body_bytes = 1LL << 30;
    f->partition_rows = 8LL << 20;
    f->ticket_ttl_ns = 300LL * 1000000000LL;
    f->token_ttl_ms = 12LL * 3600 * 1000;
    f->max_connections = 1000;
    f->http_idle_timeout_ms = 60000;
    f->http_header_timeout_ms = 10000;
    f->subscriber_buffer = 64LL << 20;
}

/* Every duration flag goes through here (qv_duration_parse): 500ms, 2s, 5m, 12h. */
static int parse_duration(const char *flag, const char *v, int64_t bare_unit_ns, int64_t lo_ns, int64_t hi_ns,
                          int64_t *out_ns, qv_err *err) {
    int64_t ns;
    if (qv_duration_parse(v, bare_unit_ns, &ns))
        return qv_err_set(err, QV_EINVAL, "%s: '%s' is not a duration (e.g. 500ms, 2s, 5m, 12h)", flag, v);
    if (ns < lo_ns || ns > hi_ns)
        return qv_err_set(err, QV_EINVAL, "%s: %s is out of range [%lldms, %lldms]", flag, v,
                          (long long)(lo_ns / 1000000), (long long)(hi_ns / 1000000));
    *out_ns = ns;
    return 0;
}


int qd_parse_duration(const char *flag, const char *v, int64_t *ms, qv_err *err) {
    /* The one duration parser (qv_duration_parse); a bare number is seconds. */
    int64_t ns;
    if (qv_duration_parse(v, 1000000000LL, &ns))
        return qv_err_set(err, QV_EINVAL, "%s: '%s' is not a duration (use e.g. 500ms, 2s, 5m, 12h)", flag, v);
    *ms = (ns + 500000) / 1000000;
    return 0;
}

static int parse_int(const char *flag, const char *v, int64_t lo, int64_t hi, int64_t *out, qv_err *err) {
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end)
        return qv_err_set(err, QV_EINVAL, "%s: '%s' is not an integer", flag, v);
    if (x < lo || x > hi)
        return qv_err_set(err, QV_EINVAL, "%s: %lld is out of range [%lld, %lld]", flag, x,
                          (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

static int parse_size(const char *flag, const char *v, int64_t lo, int64_t *out, qv_err *err) {
    errno = 0;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || x < 0) return qv_err_set(err, QV_EINVAL, "%s: '%s' is not a size", flag, v);
    int shift = 0;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return qv_err_set(err, QV_EINVAL, "%s: '%s' is not a size (use K, M or G)", flag, v);
        }
        if (end[1] && !((end[1] == 'b' || end[1] == 'B') && !end[2]))
            return qv_err_set(err, QV_EINVAL, "%s: '%s' is not a size (use K, M or G)", flag, v);
    }
    if (x > (INT64_MAX >> shift)) return qv_err_set(err, QV_EINVAL, "%s: '%s' is too large", flag, v);
    x <<= shift;
    if (x < lo) return qv_err_set(err, QV_EINVAL, "%s: %s is below the minimum %lld", flag, v, (long long)lo);
    *out = x;
    return 0;
}

static int parse_file(const char *flag, const char *v, const char **out, qv_err *err) {
    if (!*v) return qv_err_set(err, QV_EINVAL, "%s: empty path", flag);
    *out = v;
    return 0;
}

/* The flags of docs/security.md, and the other limits. */
static int parse_security(qd_flags *f, const char *name, const char *val, qv_err *err) {
    int64_t x = 0;
    if (!strcmp(name, "--users")) return parse_file(name, val, &f->users_file, err);
    if (!strcmp(name, "--tls-cert")) return parse_file(name, val, &f->tls_cert, err);
    if (!strcmp(name, "--tls-key")) return parse_file(name, val, &f->tls_key, err);
    if (!strcmp(name, "--tls-client-ca")) return parse_file(name, val, &f->tls_client_ca, err);
    if (!strcmp(name, "--token-ttl")) {
        if (qd_parse_duration(name, val, &f->token_ttl_ms, err)) return err->code;
        if (f->token_ttl_ms < 1) return qv_err_set(err, QV_EINVAL, "--token-ttl must be at least 1ms");
        return 0;
    }
    if (!strcmp(name, "--query-timeout")) return qd_parse_duration(name, val, &f->query_timeout_ms, err);
    if (!strcmp(name, "--http-idle-timeout") || !strcmp(name, "--http-header-timeout")) {
        int64_t *d = name[7] == 'i' ? &f->http_idle_timeout_ms : &f->http_header_timeout_ms;
        if (qd_parse_duration(name, val, d, err)) return err->code;
        if (*d < 1000) return qv_err_set(err, QV_EINVAL, "%s must be at least 1s", name);
        return 0;
    }
    if (!strcmp(name, "--max-running-queries")) {
        if (parse_int(name, val, 1, 4096, &x, err)) return err->code;
        f->max_running_queries = (int)x;
        return 0;
    }
    if (!strcmp(name, "--max-queued-queries")) {
        if (parse_int(name, val, 0, 1000000, &x, err)) return err->code;
        f->max_queued_queries = x == 0 ? -1 : (int)x;
        return 0;
    }
    if (!strcmp(name, "--max-connections")) {
        if (parse_int(name, val, 1, 100000, &x, err)) return err->code;
        f->max_connections = (int)x;
        return 0;
    }
    if (!strcmp(name, "--max-put-bytes")) return parse_size(name, val, 1024, &f->max_put_bytes, err);
    if (!strcmp(name, "--subscriber-buffer")) return parse_size(name, val, 1024, &f->subscriber_buffer, err);
    if (!strcmp(name, "--subscriber-interval"))
        return parse_duration(name, val, 1000000, 0, 1000LL * 1000000, &f->subscriber_interval_ns, err);
    if (!strcmp(name, "--checkpoint-bytes")) return parse_size(name, val, 1024, &f->checkpoint_bytes, err);
    if (!strcmp(name, "--rowgroup-rows")) {
        if (parse_int(name, val, 64, 1 << 24, &x, err)) return err->code;
        f->rowgroup_rows = x;
    }
    return 0;
}

/* One flag that takes a value (known to be one of qd_flags_parse's list). */
static int parse_valued(qd_flags *f, const char *name, const char *val, qv_err *err) {
    int64_t x = 0;
    if (!strcmp(name, "--flight-port") || !strcmp(name, "--http-port")) {
        if (parse_int(name, val, 0, 65535, &x, err)) return err->code;
        *(name[2] == 'f' ? &f->flight_port : &f->http_port) = (int)x;
    } else if (!strcmp(name, "--host")) {
        if (!*val) return qv_err_set(err, QV_EINVAL, "--host: empty address");
        f->host = val;
    } else if (!strcmp(name, "--data-dir")) {
        if (!*val) return qv_err_set(err, QV_EINVAL, "--data-dir: empty path");
        f->data_dir = val;
    } else if (!strcmp(name, "--demo-rows")) {
        if (parse_int(name, val, 0, 1000000000000LL, &x, err)) return err->code;
        f->demo_rows = x;
    } else if (!strcmp(name, "--threads")) {
        if (parse_int(name, val, 1, 256, &x, err)) return err->code;
        f->threads = (int)x;
    } else if (!strcmp(name, "--log-level")) {
        if (qv_log_level_parse(val, &f->log_level))
            return qv_err_set(err, QV_EINVAL, "--log-level: '%s' is not one of debug, info, warn, error", val);
    } else if (!strcmp(name, "--wal-sync")) {
        if (parse_duration(name, val, 1000000, 0, 10000LL * 1000000, &x, err)) return err->code;
        f->wal_sync_ms = (int)(x / 1000000);
        if (x > 0 && f->wal_sync_ms == 0) f->wal_sync_ms = 1;
    } else if (!strcmp(name, "--query-memory")) {
        if (parse_size(name, val, 1 << 20, &f->query_memory, err)) return err->code;
    } else if (!strcmp(name, "--max-batch-bytes")) {
        if (parse_size(name, val, 1024, &f->max_batch_bytes, err)) return err->code;
    } else if (!strcmp(name, "--prepared-idle")) {
        if (parse_duration(name, val, 1000000000LL, 1000000000LL, 7LL * 86400 * 1000000000LL, &x, err))
            return err->code;
        f->prepared_idle_s = (int)(x / 1000000000LL);
    } else if (!strcmp(name, "--max-body-bytes")) {
        if (parse_size(name, val, 1, &f->max_body_bytes, err)) return err->code;
    } else if (!strcmp(name, "--partition-rows")) {
        if (parse_size(name, val, 1, &f->partition_rows, err)) return err->code;
    } else if (!strcmp(name, "--replica-of") || !strcmp(name, "--advertise")) {
        const char *hp = strncmp(val, "grpc://", 7) == 0 ? val + 7 : val;
        const char *colon = strrchr(hp, ':');
        if (!*hp || !colon || colon == hp || !colon[1] || strlen(val) > 250)
            return qv_err_set(err, QV_EINVAL, "%s: '%s' is not HOST:PORT (or grpc://HOST:PORT)", name, val);
        if (parse_int(name, colon + 1, 1, 65535, &x, err)) return err->code;
        *(name[2] == 'r' ? &f->replica_of : &f->advertise) = val;
    } else if (!strcmp(name, "--replication-user")) {
        if (!*val || strchr(val, ':') || strlen(val) > 64)
            return qv_err_set(err, QV_EINVAL, "--replication-user: '%.80s' is not a user name", val);
        f->replication_user = val;
    } else if (!strcmp(name, "--replication-password-file")) {
        if (parse_file(name, val, &f->replication_password_file, err)) return err->code;
    } else if (!strcmp(name, "--ticket-ttl")) {
        if (parse_duration(name, val, 0, 1000000, 7LL * 24 * 3600 * 1000000000LL, &f->ticket_ttl_ns, err))
            return err->code;
    } else {
        return parse_security(f, name, val, err);
    }
    return 0;
}

int qd_flags_parse(qd_flags *f, int argc, char **argv, qv_err *err) {
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *arg = argv[i], *val = NULL;
        if (strncmp(arg, "--", 2) != 0)
            return qv_err_set(err, QV_EINVAL, "unexpected argument '%s' (flags start with --)", arg);
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        if (n >= sizeof name) return qv_err_set(err, QV_EINVAL, "unknown flag '%.40s...'", arg);
        memcpy(name, arg, n);
        name[n] = 0;
        if (eq) val = eq + 1;

        /* Flags without a value. */
        bool *sw = !strcmp(name, "--help") ? &f->help
                 : !strcmp(name, "--version") ? &f->version
                 : !strcmp(name, "--in-memory") ? &f->in_memory
                 : !strcmp(name, "--buffered-bulk-writes") ? &f->buffered_bulk
                 : !strcmp(name, "--insecure") ? &f->insecure : NULL;
        if (sw) {
            if (val) return qv_err_set(err, QV_EINVAL, "%s takes no value", name);
            *sw = true;
            continue;
        }
        static const char *valued[] = {"--flight-port", "--http-port", "--host", "--data-dir",
                                       "--demo-rows", "--threads", "--log-level", "--wal-sync",
                                       "--query-memory", "--max-batch-bytes", "--max-body-bytes",
                                       "--partition-rows", "--ticket-ttl", "--replica-of", "--advertise",
                                       "--replication-user", "--replication-password-file",
                                       "--prepared-idle",
                                       "--users", "--token-ttl", "--tls-cert", "--tls-key", "--tls-client-ca",
                                       "--max-running-queries", "--max-queued-queries", "--query-timeout",
                                       "--max-connections", "--http-idle-timeout", "--http-header-timeout",
                                       "--max-put-bytes", "--subscriber-buffer", "--subscriber-interval", "--rowgroup-rows",
                                       "--checkpoint-bytes"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(name, valued[k]);
        if (!known) return qv_err_set(err, QV_EINVAL, "unknown flag '%s' (see --help)", name);
        if (!val) {
            if (i + 1 >= argc) return qv_err_set(err, QV_EINVAL, "%s needs a value", name);
            val = argv[++i];
        }
        if (parse_valued(f, name, val, err)) return err->code;
    }
    if ((f->replication_user || f->replication_password_file) && !f->replica_of)
        return qv_err_set(err, QV_EINVAL, "--replication-user and --replication-password-file need --replica-of");
    if (f->replication_password_file && !f->replication_user)
        return qv_err_set(err, QV_EINVAL, "--replication-password-file needs --replication-user");
    if (f->replica_of && f->demo_rows)
        return qv_err_set(err, QV_EINVAL, "--demo-rows cannot be used with --replica-of (a replica holds only its primary's data)");
    return 0;
}
