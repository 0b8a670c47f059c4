/*
** quiverd: one process, two front ends (Flight on gRPC, HTTP) over one engine.
**
** Life of the process: parse flags (bad → exit 2) → open the engine (recovery)
** → start HTTP and Flight (a taken port → exit 2) → log the bound ports on one
** line → wait for SIGINT/SIGTERM → stop accepting, let running calls finish
** (bounded) → close the engine (checkpoint, sync) → exit 0.
*/
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

#include "flags.h"
#include "flight/flight.h"
#include "http/http.h"

#define GRACE_MS 5000

int main(int argc, char **argv) {
    qd_flags f;
    qv_err err;
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

    /* Column buffers are large and short-lived, allocated and freed on many
       threads. glibc's sliding mmap threshold would move them into per-thread
       heaps that keep freed memory (abandoned queries left ~300 MB resident
       for a 1M-row table); a fixed threshold maps them and gives them back. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);

    /* Signals are taken synchronously by main; every thread started after
       this inherits the mask, so no worker is interrupted. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    eng_options eo = {0};
    eo.storage.data_dir = f.data_dir;
    eo.storage.in_memory = f.in_memory;
    eo.storage.wal_sync_ms = f.wal_sync_ms;
    eo.threads = f.threads ? f.threads : qv_cpu_count();
    eo.query_memory = f.query_memory;
    eo.demo_rows = f.demo_rows;
    eo.subscriber_buffer = f.subscriber_buffer;
    eng *e;
    if (eng_open(&eo, &e, &err)) {
        fprintf(stderr, "quiverd: cannot open %s: %s\n", f.in_memory ? "in-memory database" : f.data_dir, err.msg);
        return err.code == QV_EINVAL ? 2 : 1;
    }

    http_options ho = {.host = f.host, .port = f.http_port, .threads = 0, .max_body_bytes = f.max_body_bytes};
    http_server *hs = NULL;
    int http_port = 0, flight_port = 0;
    if (http_server_start(e, &ho, &hs, &http_port, &err)) {
        fprintf(stderr, "quiverd: http port %d: %s\n", f.http_port, err.msg);
        eng_close(e);
        return 2;
    }
    flight_server *fs = NULL;
    if (flight_built_in()) {
        /* A Flight worker runs a query's next batch itself, so a few slow
           queries must not take every worker: keep spare ones for pings. */
        flight_options fo = {.host = f.host, .port = f.flight_port, .threads = 2 * eo.threads + 4,
                             .max_batch_bytes = f.max_batch_bytes};
        if (flight_server_start(e, &fo, &fs, &flight_port, &err)) {
            fprintf(stderr, "quiverd: flight port %d: %s\n", f.flight_port, err.msg);
            http_server_shutdown(hs, 0);
            http_server_free(hs);
            eng_close(e);
            return 2;
        }
        QV_INFO("quiverd %s listening flight=%s:%d http=%s:%d threads=%d data=%s", QV_VERSION, f.host,
                flight_port, f.host, http_port, eo.threads, f.in_memory ? "(in-memory)" : f.data_dir);
    } else {
        QV_INFO("quiverd %s listening flight=off http=%s:%d threads=%d data=%s (built without Arrow Flight: HTTP only)",
                QV_VERSION, f.host, http_port, eo.threads, f.in_memory ? "(in-memory)" : f.data_dir);
    }

    int sig = 0;
    sigwait(&sigs, &sig);
    QV_INFO("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    eng_subs_shutdown(e); /* subscriptions never end by themselves: end them (UNAVAILABLE) first */
    if (fs) flight_server_shutdown(fs, GRACE_MS);
    http_server_shutdown(hs, GRACE_MS);
    if (fs) flight_server_free(fs);
    http_server_free(hs);
    eng_close(e);
    QV_INFO("stopped cleanly");
    return 0;
}
