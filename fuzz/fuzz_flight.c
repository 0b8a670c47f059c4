/* libFuzzer: the hand-written FlightData parser and the ticket check see
   arbitrary bytes, as they would from a hostile client; so do the Flight SQL
   Any envelope, every metadata command that needs no engine (its message
   decoded, its result table built and encoded), the LIKE patterns of the
   metadata filters and the session cookie parser. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "flight_internal.h"
#include "flight_sql.h"

/* Metadata commands that answer without an engine. */
static const fl_sql_meta_fn engine_free[] = {
    fl_sql_get_sql_info,      fl_sql_get_catalogs,      fl_sql_get_db_schemas,
    fl_sql_get_table_types,   fl_sql_get_primary_keys,  fl_sql_get_exported_keys,
    fl_sql_get_imported_keys, fl_sql_get_cross_reference, fl_sql_get_xdbc_type_info,
};

static void fuzz_flight_sql(const uint8_t *data, size_t size) {
    qv_err err;
    fl_sql_cmd_in in;
    (void)fl_sql_is_any(data, size);
    if (fl_sql_any_parse(data, size, &in, &err) == QV_OK) fl_sql_any_free(&in);
    if (size < 1) return;
    /* The rest as the value of a command picked by the first byte. */
    memset(&in, 0, sizeof in);
    in.value = data + 1;
    in.value_len = size - 1;
    fl_sql_result r;
    memset(&r, 0, sizeof r);
    qv_str_init(&r.payload);
    fl_sql_meta_fn fn = engine_free[data[0] % (sizeof engine_free / sizeof engine_free[0])];
    if (fn(NULL, &in, &r, &err) == QV_OK) {
        ipc_message m;
        if (ipc_mcols_batch(r.cols, r.ncols, &m, &err) == QV_OK) ipc_message_free(&m);
        qv_str schema;
        qv_str_init(&schema);
        ipc_mcols_schema_bytes(r.cols, r.ncols, &schema, &err);
        qv_str_free(&schema);
    }
    fl_sql_result_free(&r);
    /* Pattern and subject: split at the first NUL. */
    char *text = malloc(size + 2);
    memcpy(text, data, size);
    text[size] = text[size + 1] = 0;
    fl_sql_like(text, text + strlen(text) + (strlen(text) < size ? 1 : 0));
    /* A cookie header of these bytes. */
    fl_call c;
    memset(&c, 0, sizeof c);
    grpc_metadata md = {.key = grpc_slice_from_static_string("cookie"),
                        .value = grpc_slice_from_copied_buffer((const char *)data, size)};
    c.req_md.count = 1;
    c.req_md.metadata = &md;
    char session[128];
    fl_sql_session(&c, session, sizeof session);
    grpc_slice_unref(md.value);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_flightdata fd;
    qv_err err;
    if (fl_flightdata_parse(data, size, &fd, &err) == QV_OK) {
        /* Every pointer the parser hands out must lie inside the input. */
        const uint8_t *end = data + size;
        if (fd.header && (fd.header < data || fd.header + fd.header_len > end)) __builtin_trap();
        if (fd.body && (fd.body < data || fd.body + fd.body_len > end)) __builtin_trap();
        if (fd.app_md && (fd.app_md < data || fd.app_md + fd.app_md_len > end)) __builtin_trap();
        if (fd.descriptor && (fd.descriptor < data || fd.descriptor + fd.descriptor_len > end)) __builtin_trap();
    }
    if (fl_flightdata_body_offset(data, size) > size) __builtin_trap();
    /* The same bytes received as two slices come out whole, in order. */
    if (size >= 2) {
        fl_recv_pool_min = data[size - 1] & 1 ? 0 : 256u << 10; /* pooled block or gRPC readall */
        size_t cut = data[0] % size;
        grpc_slice sl[2] = {grpc_slice_from_copied_buffer((const char *)data, cut),
                            grpc_slice_from_copied_buffer((const char *)data + cut, size - cut)};
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(sl, 2);
        qv_buffer *msg = fl_bb_to_buffer(bb);
        if (msg->size != size || memcmp(msg->data, data, size) != 0) __builtin_trap();
        qv_buffer_unref(msg);
        grpc_byte_buffer_destroy(bb);
        grpc_slice_unref(sl[0]);
        grpc_slice_unref(sl[1]);
    }
    fl_ticket_sql(data, size, &err);
    char name[QV_NAME_MAX + 1];
    fl_table_name(data, size, name, &err);
    fuzz_flight_sql(data, size);
    return 0;
}
