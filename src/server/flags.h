/* Command-line flags of quiverd: parsed strictly, every value range-checked. */
#ifndef QUIVER_SERVER_FLAGS_H
#define QUIVER_SERVER_FLAGS_H

#include "engine/engine.h"

typedef struct qd_flags {
    const char *host;
    int flight_port, http_port;
    const char *data_dir;
    bool in_memory;
    int64_t demo_rows;
    int threads;
    qv_log_level log_level;
    int wal_sync_ms;
    int64_t query_memory, max_batch_bytes, max_body_bytes, subscriber_buffer;
    bool help, version;
} qd_flags;

void qd_flags_defaults(qd_flags *f);
/* 0 on success; otherwise a one-line message in err. */
int qd_flags_parse(qd_flags *f, int argc, char **argv, qv_err *err);
extern const char qd_usage[];

#endif
