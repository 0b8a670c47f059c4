/*
** flight: the Arrow Flight service on the gRPC C core. Every grpc_* call in
** Quiver lives under src/flight. Built with -DQUIVER_FLIGHT=OFF, a stub with
** this same interface is linked instead (flight_stub.c) and
** flight_server_start() reports that Flight is not built in.
*/
#ifndef QUIVER_FLIGHT_H
#define QUIVER_FLIGHT_H

#include "auth/auth.h"
#include "engine/engine.h"

typedef struct flight_server flight_server;

typedef struct flight_options {
    const char *host;         /* "127.0.0.1" or "0.0.0.0" */
    int port;                 /* 0 = pick a free port */
    int threads;              /* completion-queue workers; 0 = 4 (at least 2) */
    int64_t max_batch_bytes;  /* per FlightData body; 0 = 4 MiB */
    int64_t partition_rows;   /* rows per endpoint of a partitioned scan; 0 = 8M */
    int64_t ticket_ttl_ns;    /* endpoint expiration_time - now; 0 = 5 minutes */
    const char *replica_of;   /* grpc://HOST:PORT: follow that primary (read replica); NULL = primary */
    const char *advertise;    /* HOST:PORT others reach this server at (endpoint locations), or NULL */
    const char *replication_user;  /* a replica's admin user on its primary (for messages), or NULL */
    const char *replication_login; /* its `authorization` header value (Basic ...), or NULL: none sent */
    auth_store *auth;         /* NULL = no authentication (everyone is admin) */
    const char *tls_cert, *tls_key; /* PEM files: grpc+tls:// when both set */
    const char *tls_client_ca;      /* PEM file: require client certificates (mTLS) */
    int64_t max_put_bytes;    /* per DoPut stream; 0 = unlimited */
    int max_idle_ms;          /* close connections idle this long; 0 = 10 min */
    int keepalive_ms;         /* server pings idle connections this often; 0 = 60 s */
} flight_options;

bool flight_built_in(void);
/* Starts serving; *bound_port receives the actual port. QV_EIO if the port is taken. */
int flight_server_start(eng *e, const flight_options *opts, flight_server **out,
                        int *bound_port, qv_err *err);
/* Stop accepting, let running calls finish up to grace_ms, then cancel them. */
void flight_server_shutdown(flight_server *s, int grace_ms);
void flight_server_free(flight_server *s);
/* A replica's lag behind its primary in ms (since the last heartbeat), -1 if not a replica or never synced. */
int64_t flight_replica_lag_ms(const flight_server *s);

#endif
