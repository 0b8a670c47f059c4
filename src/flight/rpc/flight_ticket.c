/*
** Sealed tickets: what GetFlightInfo hands out and DoGet redeems. A ticket is
** self-contained (the SQL, the row range and table incarnation it reads, an
** expiry) and authenticated with HMAC-SHA-512-256 (libsodium crypto_auth)
** under the engine's ticket key, so any server opened on the same data
** directory redeems it and nobody can forge or alter one.
**
** Layout (little-endian), then the 32-byte tag over everything before it:
**
**   0  magic "\0QVT"  (a NUL first: never SQL text, which DoGet also takes)
**   4  u8  version (1)      5  u8 kind (1 query, 2 row range)   6  u16 zero
**   8  i64 expires (ns since the epoch)
**  16  u64 table id        24 i64 row_from        32 i64 row_to
**  40  i64 rows removed from the table's front when planned (truncate, retention)
**  48  u8  table name length, the name; u32 SQL length, the SQL
**
** Checks, in order: size and magic (else it is not a sealed ticket at all),
** the tag (INVALID_ARGUMENT: another server's or altered), the layout
** (INVALID_ARGUMENT), then the expiry (NOT_FOUND: ask for a new FlightInfo).
** Nothing is read from an unverified ticket beyond its size and magic.
*/
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "flight_internal.h"

#define FIXED 49
#define TAG crypto_auth_BYTES
#define VERSION 1
#define SQL_MAX (1u << 20)

static const uint8_t magic[4] = {0, 'Q', 'V', 'T'};
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void sodium_start(void) { sodium_ok = sodium_init() >= 0; }

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

bool fl_ticket_is_sealed(const uint8_t *p, size_t n) { return n >= 4 && memcmp(p, magic, 4) == 0; }

void fl_ticket_seal(const uint8_t *key, const fl_ticket *t, qv_str *out) {
    pthread_once(&sodium_once, sodium_start);
    size_t tl = t->kind == FL_TICKET_RANGE ? strlen(t->range.table) : 0;
    size_t start = out->len, n = FIXED + tl + 4 + t->sql_len + TAG;
    qv_str_reserve(out, n);
    uint8_t *p = (uint8_t *)out->data + start;
    memset(p, 0, FIXED);
    memcpy(p, magic, 4);
    p[4] = VERSION;
    p[5] = (uint8_t)t->kind;
    put_u64(p + 8, (uint64_t)t->expires_ns);
    if (t->kind == FL_TICKET_RANGE) {
        put_u64(p + 16, t->range.table_id);
        put_u64(p + 24, (uint64_t)t->range.row_from);
        put_u64(p + 32, (uint64_t)t->range.row_to);
        put_u64(p + 40, (uint64_t)t->range.removed);
    }
    p[48] = (uint8_t)tl;
    memcpy(p + FIXED, t->range.table, tl);
    uint8_t *q = p + FIXED + tl;
    for (int i = 0; i < 4; i++) q[i] = (uint8_t)(t->sql_len >> (8 * i));
    memcpy(q + 4, t->sql, t->sql_len);
    crypto_auth(p + n - TAG, p, n - TAG, key);
    out->len += n;
}

/* Any int64 stamp (a forged or corrupt ticket may carry one gmtime refuses),
   through the calendar codec TIMESTAMP values use. */
static void format_utc(int64_t ns, char *buf, size_t cap) {
    qv_ts_parts t;
    qv_ts_split(ns, &t);
    snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)t.year, t.month, t.day, t.hour, t.minute,
             t.second);
}

int fl_ticket_open(const uint8_t *key, const uint8_t *p, size_t n, int64_t now_ns, fl_ticket *out, qv_err *err) {
    pthread_once(&sodium_once, sodium_start);
    memset(out, 0, sizeof *out);
    if (!sodium_ok) return qv_err_set(err, QV_EINTERNAL, "libsodium failed to initialise");
    if (!fl_ticket_is_sealed(p, n)) return qv_err_set(err, QV_EINVAL, "not a Quiver ticket");
    if (n < FIXED + 4 + TAG || n > FIXED + 255 + 4 + SQL_MAX + TAG)
        return qv_err_set(err, QV_EINVAL, "Quiver ticket of %zu bytes is truncated or too long", n);
    if (p[4] != VERSION)
        return qv_err_set(err, QV_EINVAL, "Quiver ticket version %u is not one this server reads (%d)", p[4], VERSION);
    if (crypto_auth_verify(p + n - TAG, p, n - TAG, key) != 0)
        return qv_err_set(err, QV_EINVAL,
                          "ticket was not issued by this server (its signature does not match: another server's "
                          "ticket, or altered)");
    size_t tl = p[48];
    if (FIXED + tl + 4 + TAG > n) return qv_err_set(err, QV_EINVAL, "Quiver ticket: table name runs past the end");
    const uint8_t *q = p + FIXED + tl;
    size_t sl = (size_t)q[0] | (size_t)q[1] << 8 | (size_t)q[2] << 16 | (size_t)q[3] << 24;
    if (sl == 0 || sl != n - TAG - (FIXED + tl + 4))
        return qv_err_set(err, QV_EINVAL, "Quiver ticket: SQL length %zu does not match the ticket", sl);
    out->kind = p[5];
    out->expires_ns = (int64_t)get_u64(p + 8);
    out->sql = (const char *)q + 4;
    out->sql_len = sl;
    if (out->kind == FL_TICKET_RANGE) {
        if (tl == 0 || tl > QV_NAME_MAX) return qv_err_set(err, QV_EINVAL, "Quiver ticket: bad table name length");
        memcpy(out->range.table, p + FIXED, tl);
        out->range.table[tl] = 0;
        out->range.table_id = get_u64(p + 16);
        out->range.row_from = (int64_t)get_u64(p + 24);
        out->range.row_to = (int64_t)get_u64(p + 32);
        out->range.removed = (int64_t)get_u64(p + 40);
        if (out->range.row_from < 0 || out->range.row_to < out->range.row_from || out->range.removed < 0)
            return qv_err_set(err, QV_EINVAL, "Quiver ticket: bad row range");
    } else if (out->kind != FL_TICKET_QUERY || tl != 0) {
        return qv_err_set(err, QV_EINVAL, "Quiver ticket: unknown kind %d", out->kind);
    }
    if (now_ns > out->expires_ns) {
        char when[40];
        format_utc(out->expires_ns, when, sizeof when);
        return qv_err_set(err, QV_ENOTFOUND,
                          "ticket expired at %s (%.1f s ago): call GetFlightInfo again for fresh endpoints", when,
                          ((double)now_ns - (double)out->expires_ns) / 1e9); /* no int64 overflow for any stamp */
    }
    return QV_OK;
}
