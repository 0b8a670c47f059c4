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
    "  --wal-sync MS        0 = fsync every commit (default); >0 = group commit window in ms\n"
    "  --query-memory SIZE  per-query memory limit (default 1G; K/M/G suffixes)\n"
    "  --max-batch-bytes SIZE  largest Flight batch body (default 4M)\n"
    "  --max-body-bytes SIZE   largest HTTP request body (default 1G)\n"
    "  --subscriber-buffer SIZE  commits a SUBSCRIBE may have pending before it is ended (default 64M)\n"
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
    f->subscriber_buffer = 64LL << 20;
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
                 : !strcmp(name, "--in-memory") ? &f->in_memory : NULL;
        if (sw) {
            if (val) return qv_err_set(err, QV_EINVAL, "%s takes no value", name);
            *sw = true;
            continue;
        }
        static const char *valued[] = {"--flight-port", "--http-port", "--host", "--data-dir",
                                       "--demo-rows", "--threads", "--log-level", "--wal-sync",
                                       "--query-memory", "--max-batch-bytes", "--max-body-bytes",
                                       "--subscriber-buffer"};
        bool known = false;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(name, valued[k]);
        if (!known) return qv_err_set(err, QV_EINVAL, "unknown flag '%s' (see --help)", name);
        if (!val) {
            if (i + 1 >= argc) return qv_err_set(err, QV_EINVAL, "%s needs a value", name);
            val = argv[++i];
        }
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
            if (parse_int(name, val, 0, 10000, &x, err)) return err->code;
            f->wal_sync_ms = (int)x;
        } else if (!strcmp(name, "--query-memory")) {
            if (parse_size(name, val, 1 << 20, &f->query_memory, err)) return err->code;
        } else if (!strcmp(name, "--max-batch-bytes")) {
            if (parse_size(name, val, 1024, &f->max_batch_bytes, err)) return err->code;
        } else if (!strcmp(name, "--max-body-bytes")) {
            if (parse_size(name, val, 1, &f->max_body_bytes, err)) return err->code;
        } else if (!strcmp(name, "--subscriber-buffer")) {
            if (parse_size(name, val, 1024, &f->subscriber_buffer, err)) return err->code;
        }
    }
    return 0;
}
