/* Command-line flags of quiverd: parsed strictly, every value range-checked. */
#ifndef QUIVER_SERVER_FLAGS_H
#define QUIVER_SERVER_FLAGS_H

#include "engine/engine.h"

typedef struct qd_flags {
    const char *host;
    int flight_port, http_port;
    const char *data_dir;
    bool in_memory;
    bool buffered_bulk;
    int64_t demo_rows;
    int threads;
    qv_log_level log_level;
    int wal_sync_ms;
    int64_t partition_rows;   /* rows per Flight endpoint of a partitioned scan */
    int64_t ticket_ttl_ns;    /* how long GetFlightInfo tickets stay redeemable */
    const char *replica_of;   /* grpc://HOST:PORT of the primary, or NULL */
    const char *advertise;    /* HOST:PORT this server is reached at, or NULL */
    const char *replication_user;          /* a replica's admin login on its primary, or NULL */
    const char *replication_password_file; /* its password (first line), or NULL: $QUIVER_REPLICATION_PASSWORD */
    int64_t query_memory, max_batch_bytes, max_body_bytes, subscriber_buffer;
    int prepared_idle_s;  /* 0 = engine default */
    bool help, version;
    /* security and limits (docs/security.md) */
    const char *users_file;
    int64_t token_ttl_ms;
    bool insecure;
    const char *tls_cert, *tls_key, *tls_client_ca;
    int max_running_queries, max_queued_queries; /* 0 = defaults; queued -1 = none */
    int64_t query_timeout_ms;
    int max_connections;
    int64_t http_idle_timeout_ms, http_header_timeout_ms;
    int64_t max_put_bytes;
    int64_t subscriber_interval_ns; /* pacing of publishes to subscribers */
    int64_t rowgroup_rows, checkpoint_bytes; /* 0 = storage defaults */
} qd_flags;

/* "500ms", "2s", "5m", "12h", "1d"; a bare number is seconds. */
int qd_parse_duration(const char *flag, const char *v, int64_t *ms, qv_err *err);

void qd_flags_defaults(qd_flags *f);
/* 0 on success; otherwise a one-line message in err. */
int qd_flags_parse(qd_flags *f, int argc, char **argv, qv_err *err);
extern const char qd_usage[];

#endif
