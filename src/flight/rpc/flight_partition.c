/*
** The endpoints of a FlightInfo, and redeeming their tickets in DoGet.
**
** A query that scans one table (filters, projections) gets one endpoint per
** range of whole row groups of about partition_rows rows, every ticket naming
** the table incarnation and the row range as of one snapshot taken while
** planning, so fetching the endpoints in any order, in parallel, on any server
** with the same data, yields exactly the rows one DoGet of the query would
** have returned then. Any other query (aggregates, sorts, limits, DDL/DML)
** gets a single endpoint; `ordered` is set when the query orders its result.
** Every ticket is sealed (flight_ticket.c) and expires after ttl_ns; each
** endpoint carries app_metadata {"rows": n, "bytes": n} (-1 when unknown).
**
** fl_endpoints owns everything the protobuf-c endpoint structs point at until
** fl_endpoints_free; fl_endpoints_attach only links them into a FlightInfo.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight.pb-c.h"
#include "flight_internal.h"

#define DEFAULT_TTL_NS (300LL * 1000000000LL)

struct fl_endpoints_parts {
    Arrow__Flight__Protocol__FlightEndpoint ep;
    Arrow__Flight__Protocol__Ticket ticket;
    Arrow__Flight__Protocol__Timestamp expiry;
    qv_str ticket_bytes, app_md;
    Arrow__Flight__Protocol__Location loc[2], *locp[2];
    char uri[2][300];
};

/* Partitioned endpoints name where to fetch them: the live replicas round-robin,
   then this server (when it advertises itself). No replicas: no locations. */
static void add_locations(fl_endpoints *out, const fl_part_cfg *cfg) {
    char **reps = NULL;
    int n = fl_repl_locations(&reps);
    for (int i = 0; n > 0 && i < out->n; i++) {
        struct fl_endpoints_parts *x = &out->parts[i];
        int k = 0;
        snprintf(x->uri[k++], sizeof x->uri[0], "%s%s", strncmp(reps[i % n], "grpc://", 7) ? "grpc://" : "",
                 reps[i % n]);
        if (cfg->advertise[0]) snprintf(x->uri[k++], sizeof x->uri[0], "%s", cfg->advertise);
        for (int j = 0; j < k; j++) {
            arrow__flight__protocol__location__init(&x->loc[j]);
            x->loc[j].uri = x->uri[j];
            x->locp[j] = &x->loc[j];
        }
        x->ep.n_location = (size_t)k;
        x->ep.location = x->locp;
    }
    for (int i = 0; i < n; i++) free(reps[i]);
    free(reps);
}

void fl_part_cfg_init(fl_part_cfg *cfg, const flight_options *opts) {
    cfg->partition_rows = opts->partition_rows > 0 ? opts->partition_rows : ENG_DEFAULT_PARTITION_ROWS;
    cfg->ttl_ns = opts->ticket_ttl_ns > 0 ? opts->ticket_ttl_ns : DEFAULT_TTL_NS;
    cfg->advertise[0] = 0;
    if (opts->advertise && opts->advertise[0])
        snprintf(cfg->advertise, sizeof cfg->advertise, "%s%s", strncmp(opts->advertise, "grpc://", 7) ? "grpc://" : "",
                 opts->advertise);
}

static void add_endpoint(fl_endpoints *out, const uint8_t *key, const fl_ticket *t, int64_t rows, int64_t bytes) {
    struct fl_endpoints_parts *x = &out->parts[out->n];
    out->ptrs[out->n++] = &x->ep;
    arrow__flight__protocol__flight_endpoint__init(&x->ep);
    arrow__flight__protocol__ticket__init(&x->ticket);
    arrow__flight__protocol__timestamp__init(&x->expiry);
    qv_str_init(&x->ticket_bytes);
    qv_str_init(&x->app_md);
    fl_ticket_seal(key, t, &x->ticket_bytes);
    x->ticket.ticket.data = (uint8_t *)x->ticket_bytes.data;
    x->ticket.ticket.len = x->ticket_bytes.len;
    x->expiry.seconds = t->expires_ns / 1000000000;
    x->expiry.nanos = (int32_t)(t->expires_ns % 1000000000);
    qv_str_appendf(&x->app_md, "{\"rows\": %lld, \"bytes\": %lld}", (long long)rows, (long long)bytes);
    x->ep.ticket = &x->ticket;
    x->ep.expiration_time = &x->expiry;
    x->ep.app_metadata.data = (uint8_t *)x->app_md.data;
    x->ep.app_metadata.len = x->app_md.len;
}

int fl_endpoints_build(eng *e, const fl_part_cfg *cfg, eng_query *q, const char *sql, size_t len,
                       fl_endpoints *out, qv_err *err) {
    memset(out, 0, sizeof *out);
    eng_parts parts;
    if (eng_query_partitions(e, q, cfg->partition_rows, &parts, err)) return err->code;
    int n = parts.scan ? parts.n : 1;
    out->parts = qv_xcalloc((size_t)n, sizeof *out->parts);
    out->ptrs = qv_xcalloc((size_t)n, sizeof *out->ptrs);
    out->ordered = parts.ordered;
    out->partitioned = parts.scan;
    const uint8_t *key = eng_ticket_key(e);
    fl_ticket t;
    memset(&t, 0, sizeof t);
    t.expires_ns = qv_now_ns() + cfg->ttl_ns;
    t.sql = sql;
    t.sql_len = len;
    if (!parts.scan) {
        t.kind = FL_TICKET_QUERY;
        add_endpoint(out, key, &t, eng_query_total_rows(q), eng_query_total_bytes(q));
        out->total_rows = eng_query_total_rows(q);
    } else {
        t.kind = FL_TICKET_RANGE;
        snprintf(t.range.table, sizeof t.range.table, "%s", parts.table);
        t.range.table_id = parts.table_id;
        t.range.removed = parts.removed;
        out->total_rows = parts.exact ? 0 : -1;
        for (int i = 0; i < parts.n; i++) {
            const eng_part *p = &parts.parts[i];
            t.range.row_from = p->row_from;
            t.range.row_to = p->row_to;
            add_endpoint(out, key, &t, p->rows, p->bytes);
            if (parts.exact) out->total_rows += p->rows;
        }
        if (!parts.has_deleted) add_locations(out, cfg); /* else this connection: replicas refuse its tickets */
    }
    eng_parts_free(&parts);
    return QV_OK;
}

void fl_endpoints_attach(fl_endpoints *eps, Arrow__Flight__Protocol__FlightInfo *info) {
    info->n_endpoint = (size_t)eps->n;
    info->endpoint = eps->ptrs;
    info->ordered = eps->ordered;
}

void fl_endpoints_free(fl_endpoints *eps) {
    for (int i = 0; i < eps->n; i++) {
        qv_str_free(&eps->parts[i].ticket_bytes);
        qv_str_free(&eps->parts[i].app_md);
    }
    free(eps->parts);
    free(eps->ptrs);
    memset(eps, 0, sizeof *eps);
}

int fl_ticket_query_open(eng *e, const uint8_t *p, size_t n, eng_query **q, qv_err *err) {
    *q = NULL;
    fl_ticket t;
    if (fl_ticket_open(eng_ticket_key(e), p, n, qv_now_ns(), &t, err)) return err->code;
    if (t.kind == FL_TICKET_QUERY) return eng_query_open(e, t.sql, t.sql_len, q, err);
    return eng_query_open_range(e, t.sql, t.sql_len, &t.range, q, err);
}
