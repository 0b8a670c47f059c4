/* libFuzzer: the hand-written FlightData parser and the ticket check see
   arbitrary bytes, as they would from a hostile client. */
#include <stdint.h>
#include <stddef.h>

#include "flight_internal.h"

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
    fl_ticket_sql(data, size, &err);
    char name[QV_NAME_MAX + 1];
    fl_table_name(data, size, name, &err);
    return 0;
}
