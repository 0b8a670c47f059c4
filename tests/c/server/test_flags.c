#include "flags.h"
#include "qtest.h"

static int parse(qd_flags *f, qv_err *e, int n, char **v) {
    qd_flags_defaults(f);
    return qd_flags_parse(f, n, v, e);
}

QTEST(flags_defaults) {
    qd_flags f;
    qv_err e;
    char *v[] = {"quiverd"};
    QCHECK_OK(parse(&f, &e, 1, v), &e);
    QCHECK_EQ(f.flight_port, 8815);
    QCHECK(!f.buffered_bulk);
    QCHECK_EQ(f.http_port, 8123);
    QCHECK_STR(f.data_dir, "./quiver-data");
}

QTEST(flags_values_both_forms) {
    qd_flags f;
    qv_err e;
    char *v[] = {"quiverd", "--flight-port", "0", "--http-port=9000", "--in-memory",
                 "--demo-rows", "1000", "--query-memory", "64M", "--log-level=debug", "--buffered-bulk-writes"};
    QCHECK_OK(parse(&f, &e, 11, v), &e);
    QCHECK(f.buffered_bulk);
    QCHECK_EQ(f.flight_port, 0);
    QCHECK_EQ(f.http_port, 9000);
    QCHECK(f.in_memory);
    QCHECK_EQ(f.demo_rows, 1000);
    QCHECK_EQ(f.query_memory, 64LL << 20);
    QCHECK_EQ(f.log_level, QV_LOG_DEBUG);
}

QTEST(flags_errors_name_the_problem) {
    qd_flags f;
    qv_err e;
    char *a[] = {"quiverd", "--bogus"};
    QCHECK(parse(&f, &e, 2, a) != 0);
    QCHECK(strstr(e.msg, "--bogus") != NULL);
    char *b[] = {"quiverd", "--http-port", "70000"};
    QCHECK(parse(&f, &e, 3, b) != 0);
    QCHECK(strstr(e.msg, "out of range") != NULL);
    char *c[] = {"quiverd", "--threads", "two"};
    QCHECK(parse(&f, &e, 3, c) != 0);
    QCHECK(strstr(e.msg, "not an integer") != NULL);
    char *d[] = {"quiverd", "--flight-port"};
    QCHECK(parse(&f, &e, 2, d) != 0);
    QCHECK(strstr(e.msg, "needs a value") != NULL);
    char *g[] = {"quiverd", "--query-memory", "12Q"};
    QCHECK(parse(&f, &e, 3, g) != 0);
}

QTEST(flags_durations_and_partitions) {
    qd_flags f;
    qv_err e;
    char *v[] = {"quiverd", "--ticket-ttl", "2s", "--wal-sync=500ms", "--partition-rows", "1M"};
    QCHECK_OK(parse(&f, &e, 6, v), &e);
    QCHECK_EQ(f.ticket_ttl_ns, 2000000000LL);
    QCHECK_EQ(f.wal_sync_ms, 500);
    QCHECK_EQ(f.partition_rows, 1LL << 20);
    char *d[] = {"quiverd"};
    QCHECK_OK(parse(&f, &e, 1, d), &e);
    QCHECK_EQ(f.ticket_ttl_ns, 300LL * 1000000000LL);
    QCHECK_EQ(f.partition_rows, 8LL << 20);
    char *w[] = {"quiverd", "--wal-sync", "5"}; /* bare number: milliseconds, as before */
    QCHECK_OK(parse(&f, &e, 3, w), &e);
    QCHECK_EQ(f.wal_sync_ms, 5);
    char *h[] = {"quiverd", "--ticket-ttl", "12h"};
    QCHECK_OK(parse(&f, &e, 3, h), &e);
    QCHECK_EQ(f.ticket_ttl_ns, 12LL * 3600 * 1000000000LL);
    char *b[] = {"quiverd", "--ticket-ttl", "5 minutes"};
    QCHECK(parse(&f, &e, 3, b) != 0);
    QCHECK(strstr(e.msg, "--ticket-ttl") != NULL && strstr(e.msg, "duration") != NULL);
    char *z[] = {"quiverd", "--ticket-ttl", "0s"};
    QCHECK(parse(&f, &e, 3, z) != 0);
    char *p[] = {"quiverd", "--partition-rows", "0"};
    QCHECK(parse(&f, &e, 3, p) != 0);
}

QTEST(flags_replica) {
    qd_flags f;
    qv_err e;
    char *v[] = {"quiverd", "--replica-of", "grpc://10.0.0.1:8815", "--advertise=replica1:9000"};
    QCHECK_OK(parse(&f, &e, 4, v), &e);
    QCHECK_STR(f.replica_of, "grpc://10.0.0.1:8815");
    QCHECK_STR(f.advertise, "replica1:9000");
    char *a[] = {"quiverd", "--replica-of", "grpc://nohost"};
    QCHECK(parse(&f, &e, 3, a) != 0);
    QCHECK(strstr(e.msg, "HOST:PORT") != NULL);
    char *b[] = {"quiverd", "--advertise", "h:99999"};
    QCHECK(parse(&f, &e, 3, b) != 0);
    char *c[] = {"quiverd", "--replica-of", "h:1", "--demo-rows", "10"};
    QCHECK(parse(&f, &e, 5, c) != 0);
    QCHECK(strstr(e.msg, "--demo-rows") != NULL);
}

QTEST(flags_durations_and_security) {
    qv_err e;
    int64_t ms = 0;
    QCHECK_OK(qd_parse_duration("--token-ttl", "500ms", &ms, &e), &e);
    QCHECK_EQ(ms, 500);
    QCHECK_OK(qd_parse_duration("--token-ttl", "2s", &ms, &e), &e);
    QCHECK_EQ(ms, 2000);
    QCHECK_OK(qd_parse_duration("--token-ttl", "5m", &ms, &e), &e);
    QCHECK_EQ(ms, 300000);
    QCHECK_OK(qd_parse_duration("--token-ttl", "12h", &ms, &e), &e);
    QCHECK_EQ(ms, 43200000);
    QCHECK_OK(qd_parse_duration("--query-timeout", "1.5", &ms, &e), &e);
    QCHECK_EQ(ms, 1500);
    QCHECK(qd_parse_duration("--token-ttl", "5 minutes", &ms, &e) != 0);
    QCHECK(strstr(e.msg, "--token-ttl") != NULL);
    QCHECK(qd_parse_duration("--token-ttl", "-1s", &ms, &e) != 0);
    qd_flags f;
    char *v[] = {"quiverd", "--users", "u.txt", "--token-ttl=2s", "--insecure", "--tls-cert", "c.pem",
                 "--tls-key", "k.pem", "--max-running-queries", "3", "--max-queued-queries", "0",
                 "--query-timeout", "250ms", "--max-put-bytes", "1M", "--http-header-timeout", "3s"};
    qd_flags_defaults(&f);
    QCHECK_OK(qd_flags_parse(&f, (int)(sizeof v / sizeof v[0]), v, &e), &e);
    QCHECK_STR(f.users_file, "u.txt");
    QCHECK_EQ(f.token_ttl_ms, 2000);
    QCHECK(f.insecure);
    QCHECK_EQ(f.max_running_queries, 3);
    QCHECK_EQ(f.max_queued_queries, -1);
    QCHECK_EQ(f.query_timeout_ms, 250);
    QCHECK_EQ(f.max_put_bytes, 1 << 20);
    QCHECK_EQ(f.http_header_timeout_ms, 3000);
    char *bad[] = {"quiverd", "--token-ttl", "0"};
    qd_flags_defaults(&f);
    QCHECK(qd_flags_parse(&f, 3, bad, &e) != 0);
}

QTEST(flags_subscriber_pacing) {
    qd_flags f;
    qv_err e;
    char *d[] = {"quiverd"};
    QCHECK_OK(parse(&f, &e, 1, d), &e);
    QCHECK_EQ(f.subscriber_interval_ns, 0);
    char *v[] = {"quiverd", "--subscriber-interval", "5ms", "--subscriber-buffer", "1M"};
    QCHECK_OK(parse(&f, &e, 5, v), &e);
    QCHECK_EQ(f.subscriber_interval_ns, 5LL * 1000000);
    QCHECK_EQ(f.subscriber_buffer, 1LL << 20);
    char *b[] = {"quiverd", "--subscriber-interval=20"}; /* bare number: milliseconds */
    QCHECK_OK(parse(&f, &e, 2, b), &e);
    QCHECK_EQ(f.subscriber_interval_ns, 20LL * 1000000);
    char *x[] = {"quiverd", "--subscriber-interval", "soon"};
    QCHECK(parse(&f, &e, 3, x) != 0);
    QCHECK(strstr(e.msg, "--subscriber-interval") != NULL && strstr(e.msg, "duration") != NULL);
    char *h[] = {"quiverd", "--subscriber-interval", "2s"};
    QCHECK(parse(&f, &e, 3, h) != 0);
    QCHECK(strstr(e.msg, "out of range") != NULL);
}
