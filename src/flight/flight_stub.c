/*
** The Flight server when Quiver is built with -DQUIVER_FLIGHT=OFF: the same
** interface, no gRPC. quiverd asks flight_built_in() and serves HTTP only.
*/
#include "flight/flight.h"

bool flight_built_in(void) { return false; }

int flight_server_start(eng *e, const flight_options *opts, flight_server **out, int *bound_port,
                        qv_err *err) {
    (void)e;
    (void)opts;
    *out = NULL;
    *bound_port = 0;
    return qv_err_set(err, QV_EUNSUPPORTED, "this quiverd was built without Arrow Flight (-DQUIVER_FLIGHT=OFF)");
}

void flight_server_shutdown(flight_server *s, int grace_ms) {
    (void)s;
    (void)grace_ms;
}

void flight_server_free(flight_server *s) { (void)s; }

int64_t flight_replica_lag_ms(const flight_server *s) {
    (void)s;
    return -1;
}
