/* libFuzzer: sealed ticket decoding (flight_ticket.c) on hostile bytes, and
   replication tickets (flight_repl.c: the bytes, and the bytes behind the
   "\0QVR" magic and version 1 or 2).
   Three paths per input: the bytes as they came (stopped by the tag), the
   bytes re-tagged under the key (so the layout checks behind the tag are
   reached), and a ticket sealed from the input that must open to itself. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flight_internal.h"

static const uint8_t key[ENG_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void check_inside(const fl_ticket *t, const uint8_t *p, size_t n) {
    if (t->sql && ((const uint8_t *)t->sql < p || (const uint8_t *)t->sql + t->sql_len > p + n)) __builtin_trap();
    if (t->kind == FL_TICKET_RANGE && strlen(t->range.table) > QV_NAME_MAX) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fl_ticket t;
    qv_err err;
    if (fl_ticket_open(key, data, size, 0, &t, &err) == QV_OK) check_inside(&t, data, size);

    if (size >= 4 + crypto_auth_BYTES) {
        uint8_t *p = malloc(size);
        memcpy(p, data, size);
        memcpy(p, "\0QVT", 4);
        crypto_auth(p + size - crypto_auth_BYTES, p, size - crypto_auth_BYTES, key);
        if (fl_ticket_open(key, p, size, 0, &t, &err) == QV_OK) check_inside(&t, p, size);
        free(p);
    }

    if (size < 65536) {
        fl_repl_free(fl_repl_new(data, size, 7, &err));
        uint8_t *p = malloc(size + 5);
        memcpy(p, "\0QVR", 4);
        p[4] = size && (data[0] & 1) ? 1 : 2;
        if (size) memcpy(p + 5, data, size);
        fl_repl_free(fl_repl_new(p, size + 5, 7, &err));
        free(p);
    }

    if (size > 0 && size < 4096) {
        fl_ticket in;
        memset(&in, 0, sizeof in);
        in.kind = (data[0] & 1) ? FL_TICKET_RANGE : FL_TICKET_QUERY;
        in.expires_ns = INT64_MAX;
        in.sql = (const char *)data;
        in.sql_len = size;
        size_t tl = size < QV_NAME_MAX ? size : QV_NAME_MAX;
        for (size_t i = 0; i < tl; i++) in.range.table[i] = (char)('a' + (data[i] % 26));
        in.range.table[tl] = 0;
        in.range.table_id = size;
        in.range.row_to = (int64_t)size * 3;
        qv_str s;
        qv_str_init(&s);
        fl_ticket_seal(key, &in, &s);
        if (fl_ticket_open(key, (const uint8_t *)s.data, s.len, 0, &t, &err) != QV_OK) __builtin_trap();
        if (t.kind != in.kind || t.sql_len != size || memcmp(t.sql, data, size) != 0) __builtin_trap();
        if (t.kind == FL_TICKET_RANGE && (strcmp(t.range.table, in.range.table) || t.range.row_to != in.range.row_to))
            __builtin_trap();
        qv_str_free(&s);
    }
    return 0;
}
