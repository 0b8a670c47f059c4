/*
** Replication, the primary's side: a DoGet on a replication ticket streams
** what this server commits, as records in FlightData app_metadata:
**
**   'K' the ticket key (so the replica redeems this server's tickets)
**   'C' a table: id, name, schema          'D' a table id was dropped
**   'A' rows [row_from, ...) of a table id, as an Arrow IPC stream, more of
**       the same catch-up to come; 'B' the same, the last of it: the replica
**       stages 'A's and commits them with the 'B' in one append, so a stream
**       cut in between leaves nothing of that range applied
**   'H' heartbeat: the replica has everything committed so far
**   'F' a chunk of the column file holding rows [row_from, row_from + row
**       group size) of a table id: u64 file number, u64 offset, u64 file
**       size, u32 0, bytes; 'G' the same, the last chunk, with the CRC-32C of
**       the whole file instead of 0: the replica checks it and adopts the
**       file as one commit (replfile.c)
**
** Record: u8 kind | u64 id | i64 row_from | u16 name length, name | u32 blob
** length, blob (little-endian). A 'C' record's row_from is the table's trim
** count (rows ever removed from its front), which the replica's copy takes.
** The ticket ("\0QVR", u8 version 2, u64 the replica's nonce, u64 its row
** group size if it takes column files (0: rows only), u16 + its
** advertised address, u32 n, n x (u64 id, i64 rows it holds, i64 its trim
** count); version 1 lacks the trim counts) lets a reconnecting replica
** continue where it was, or start a table over when the trim counts differ.
**
** Column files: a table the replica starts from row 0 (a new replica, a
** re-sync after a trim or a re-create) is copied file by file while its rows
** sit in checkpointed column files of the replica's row group size, instead
** of re-encoding them; rows after that (the open row group, rows since the
** last checkpoint) and every later catch-up go as 'A'/'B'.
**
** State per stream (fl_repl, owned by the DoGet call): the tables sent and
** how many rows of each. produce() sends at most one chunk of rows, or waits
** up to a heartbeat interval for a commit, polling (a replica holds one
** worker). Live replicas' addresses are kept in a registry for endpoint
** locations (fl_repl_locations).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flight_internal.h"

#define CHUNK_ROWS 65536
#define FILE_CHUNK (2 << 20)
#define BEAT_NS (200LL * 1000000)
#define POLL_NS (5LL * 1000000)
#define MAX_REPLICAS 64

static const uint8_t repl_magic[4] = {0, 'Q', 'V', 'R'};

typedef struct repl_tab {
    uint64_t id;
    int64_t sent;     /* this server's storage rows [0, sent) are on the replica */
    int64_t held;     /* as how many rows there: sent, less the DELETEd ones it never gets */
    int64_t removed;  /* the table's removed-rows count its rows were sent at */
    char name[QV_NAME_MAX + 1];
    bool seen;
    bool open;       /* a row catch-up ('A's) is under way: no file until its 'B' */
    bool files;      /* still copying column files (from row 0) */
    bool in_file;    /* a file is being sent: */
    eng_repl_file f; /*   its descriptor, number and size */
    int64_t f_off;   /*   bytes sent */
    uint32_t f_crc;  /*   CRC-32C of those */
} repl_tab;

struct fl_repl {
    repl_tab *tabs;
    int n;
    uint64_t *have_id;
    int64_t *have_rows, *have_trim;
    int nhave;
    int64_t file_rows; /* the replica's row group size for column files; 0: rows only */
    bool key_sent, pruned, registered;
    int64_t last_beat;
    char advertise[256];
    atomic_bool cancelled;
};

/* ---- registry of live replicas (for endpoint locations) ---- */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static char *reg[MAX_REPLICAS];
static int nreg, reg_next;

static void reg_add(const char *addr) {
    if (!addr[0]) return;
    pthread_mutex_lock(&reg_mu);
    if (nreg < MAX_REPLICAS) reg[nreg++] = qv_xstrdup(addr);
    pthread_mutex_unlock(&reg_mu);
}

static void reg_remove(const char *addr) {
    if (!addr[0]) return;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < nreg; i++)
        if (strcmp(reg[i], addr) == 0) {
            free(reg[i]);
            reg[i] = reg[--nreg];
            break;
        }
    pthread_mutex_unlock(&reg_mu);
}

int fl_repl_locations(char ***out) {
    pthread_mutex_lock(&reg_mu);
    int n = nreg;
    *out = n ? qv_xcalloc((size_t)n, sizeof **out) : NULL;
    /* Rotate so successive FlightInfos start on different replicas. */
    for (int i = 0; i < n; i++) (*out)[i] = qv_xstrdup(reg[(reg_next + i) % n]);
    if (n) reg_next = (reg_next + 1) % n;
    pthread_mutex_unlock(&reg_mu);
    return n;
}

/* ---- records ---- */

static void put_le(qv_str *s, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) qv_str_appendc(s, (char)(v >> (8 * i)));
}

void fl_repl_record(qv_str *out, char kind, uint64_t id, int64_t row_from, const char *name, const void *blob,
                    size_t blob_len) {
    size_t nl = name ? strlen(name) : 0;
    qv_str_appendc(out, kind);
    put_le(out, id, 8);
    put_le(out, (uint64_t)row_from, 8);
    put_le(out, nl, 2);
    qv_str_append(out, name, nl);
    put_le(out, blob_len, 4);
    qv_str_append(out, blob, blob_len);
}

bool fl_repl_is_ticket(const uint8_t *p, size_t n) { return n >= 5 && memcmp(p, repl_magic, 4) == 0; }

static uint64_t get_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void fl_repl_ticket(uint64_t nonce, int64_t file_rows, const char *advertise, const uint64_t *ids,
                    const int64_t *rows, const int64_t *trims, int n, qv_str *out) {
    qv_str_append(out, repl_magic, 4);
    qv_str_appendc(out, 2);
    put_le(out, nonce, 8);
    put_le(out, (uint64_t)file_rows, 8);
    size_t al = strlen(advertise);
    put_le(out, al, 2);
    qv_str_append(out, advertise, al);
    put_le(out, (uint64_t)n, 4);
    for (int i = 0; i < n; i++) {
        put_le(out, ids[i], 8);
        put_le(out, (uint64_t)rows[i], 8);
        put_le(out, (uint64_t)trims[i], 8);
    }
}

static int parse_ticket(const uint8_t *p, size_t n, fl_repl *r, uint64_t *nonce, qv_err *err) {
    if (n < 19 || (p[4] != 1 && p[4] != 2))
        return qv_err_set(err, QV_EINVAL, "replication ticket: truncated or unknown version");
    size_t per = p[4] == 1 ? 16 : 24;
    *nonce = get_le(p + 5, 8);
    size_t pos = 13;
    if (per == 24) {
        if (n < 27) return qv_err_set(err, QV_EINVAL, "replication ticket: truncated");
        r->file_rows = (int64_t)get_le(p + 13, 8);
        if (r->file_rows < 0 || r->file_rows > (1LL << 30)) r->file_rows = 0;
        pos = 21;
    }
    size_t al = get_le(p + pos, 2);
    pos += 2;
    if (al >= sizeof r->advertise || pos + al + 4 > n)
        return qv_err_set(err, QV_EINVAL, "replication ticket: bad advertised address");
    memcpy(r->advertise, p + pos, al);
    r->advertise[al] = 0;
    pos += al;
    uint64_t cnt = get_le(p + pos, 4);
    pos += 4;
    if (cnt > (n - pos) / per || (n - pos) != cnt * per)
        return qv_err_set(err, QV_EINVAL, "replication ticket: table list does not match its length");
    r->nhave = (int)cnt;
    r->have_id = qv_xcalloc(cnt ? cnt : 1, sizeof *r->have_id);
    r->have_rows = qv_xcalloc(cnt ? cnt : 1, sizeof *r->have_rows);
    r->have_trim = qv_xcalloc(cnt ? cnt : 1, sizeof *r->have_trim);
    for (uint64_t i = 0; i < cnt; i++, pos += per) {
        r->have_id[i] = get_le(p + pos, 8);
        r->have_rows[i] = (int64_t)get_le(p + pos + 8, 8);
        r->have_trim[i] = per == 24 ? (int64_t)get_le(p + pos + 16, 8) : -1; /* -1: unknown */
    }
    return QV_OK;
}

fl_repl *fl_repl_new(const uint8_t *p, size_t n, uint64_t own_nonce, qv_err *err) {
    fl_repl *r = qv_xcalloc(1, sizeof *r);
    uint64_t nonce = 0;
    int rc = parse_ticket(p, n, r, &nonce, err);
    if (rc == QV_OK && own_nonce && nonce == own_nonce)
        rc = qv_err_set(err, QV_EINVAL, "replication: this server is the replica asking (a replica pointed at itself)");
    if (rc) {
        fl_repl_free(r);
        return NULL;
    }
    reg_add(r->advertise);
    r->registered = true;
    QV_INFO("replication: a replica connected%s%s (%d tables held)", r->advertise[0] ? " advertising " : "",
            r->advertise, r->nhave);
    return r;
}

void fl_repl_free(fl_repl *r) {
    if (!r) return;
    if (r->registered) {
        reg_remove(r->advertise);
        QV_INFO("replication: replica %s disconnected", r->advertise[0] ? r->advertise : "(unadvertised)");
    }
    for (int k = 0; k < r->n; k++)
        if (r->tabs[k].in_file) close(r->tabs[k].f.fd);
    free(r->tabs);
    free(r->have_id);
    free(r->have_rows);
    free(r->have_trim);
    free(r);
}

void fl_repl_cancel(fl_repl *r) { atomic_store(&r->cancelled, true); }

/* ---- producing ---- */

static void push_record(fl_call *c, const qv_str *rec) {
    ipc_message m;
    ipc_message_init(&m);
    fl_call_push(c, fl_flightdata_from_ipc(&m, (const uint8_t *)rec->data, rec->len));
    ipc_message_free(&m);
}

static void schema_blob(const qv_schema *s, qv_str *out) {
    put_le(out, (uint64_t)s->nfields, 4);
    for (int i = 0; i < s->nfields; i++) {
        const qv_field *f = &s->fields[i];
        size_t nl = strlen(f->name), tl = strnlen(f->tz, sizeof f->tz);
        put_le(out, nl, 2);
        qv_str_append(out, f->name, nl);
        qv_str_appendc(out, (char)f->type);
        qv_str_appendc(out, (char)f->nullable);
        qv_str_appendc(out, (char)tl);
        qv_str_append(out, f->tz, tl);
        if (f->type == QV_T_DECIMAL) { /* only DECIMAL has them: older followers never see the bytes */
            qv_str_appendc(out, (char)f->precision);
            qv_str_appendc(out, (char)f->scale);
        }
    }
}

/* Rows [t->sent, to) as one IPC stream record; last: `to` ends the catch-up.
   The record names the replica's row numbers (t->held): deleted rows are
   skipped by the scan, so the two differ once a table has some. */
static int push_rows(fl_call *c, repl_tab *t, int64_t to, bool last, qv_err *err) {
    qv_str sql, blob, rec;
    qv_str_init(&sql);
    qv_str_init(&blob);
    qv_str_init(&rec);
    fl_select_all(t->name, &sql);
    int64_t live = 0;
    eng_range range = {.table_id = t->id, .removed = t->removed, .row_from = t->sent, .row_to = to};
    snprintf(range.table, sizeof range.table, "%s", t->name);
    eng_query *q = NULL;
    ipc_encoder *enc = NULL;
    static const ipc_write_options wo;
    int rc = eng_query_open_range(c->e, sql.data, sql.len, &range, &q, err);
    if (rc == QV_OK) rc = ipc_encoder_new(eng_query_schema(q), &wo, &enc, err);
    ipc_message m[2];
    if (rc == QV_OK && (rc = ipc_encoder_schema(enc, &m[0], err)) == QV_OK) {
        ipc_message_write_stream(&m[0], &blob);
        ipc_message_free(&m[0]);
    }
    while (rc == QV_OK) {
        qv_batch b;
        memset(&b, 0, sizeof b);
        bool eos = false;
        if ((rc = eng_query_next(q, &b, &eos, err)) || eos) break;
        live += b.nrows;
        int nm = 0;
        rc = ipc_encoder_batch(enc, &b, m, &nm, err);
        for (int i = 0; i < nm; i++) {
            ipc_message_write_stream(&m[i], &blob);
            ipc_message_free(&m[i]);
        }
        qv_batch_free(&b);
    }
    if (rc == QV_OK) {
        ipc_write_eos(&blob);
        fl_repl_record(&rec, last ? 'B' : 'A', t->id, t->held, NULL, blob.data, blob.len);
        push_record(c, &rec);
        t->sent = to;
        t->held += live;
    }
    if (enc) ipc_encoder_free(enc);
    if (q) eng_query_close(q);
    qv_str_free(&sql);
    qv_str_free(&blob);
    qv_str_free(&rec);
    return rc == QV_ENOTFOUND ? QV_OK : rc; /* dropped meanwhile: the next round sends 'D' */
}

/* Rows the replica said it holds of table id (0 if none) and its trim count
   (-1: it did not say; 0 if it lacks the table). */
static int64_t held_rows(const fl_repl *r, uint64_t id, int64_t *trim) {
    *trim = 0;
    for (int i = 0; i < r->nhave; i++)
        if (r->have_id[i] == id) {
            *trim = r->have_trim[i];
            return r->have_rows[i];
        }
    return 0;
}

static void tab_remove(fl_repl *r, int k) {
    if (r->tabs[k].in_file) close(r->tabs[k].f.fd);
    r->tabs[k] = r->tabs[--r->n];
}

/* The next chunk of the column file holding rows [t->sent, ...): 'F', or 'G'
   with the file's CRC at its end. false when that row group is not in a
   column file (then no more files for this table: rows from here on). */
static bool push_file_chunk(fl_call *c, fl_repl *r, repl_tab *t, int64_t rows) {
    if (!t->in_file) {
        if (eng_repl_file_open(c->e, t->name, t->id, t->removed, t->sent, r->file_rows, &t->f)) {
            t->files = false;
            return false;
        }
        t->in_file = true;
        t->f_off = 0;
        t->f_crc = 0;
    }
    int64_t left = t->f.size - t->f_off, n = left < FILE_CHUNK ? left : FILE_CHUNK;
    qv_str blob, rec;
    qv_str_init(&blob);
    qv_str_init(&rec);
    put_le(&blob, (uint64_t)t->f.fno, 8);
    put_le(&blob, (uint64_t)t->f_off, 8);
    put_le(&blob, (uint64_t)t->f.size, 8);
    size_t at = blob.len;
    put_le(&blob, 0, 4);
    qv_str_reserve(&blob, (size_t)n);
    ssize_t got = pread(t->f.fd, blob.data + at + 4, (size_t)n, t->f_off);
    bool ok = got == n;
    if (ok) {
        blob.len = at + 4 + (size_t)n;
        blob.data[blob.len] = 0;
        t->f_crc = qv_crc32c(t->f_crc, blob.data + at + 4, (size_t)n);
        t->f_off += n;
        bool last = t->f_off == t->f.size;
        if (last)
            for (int i = 0; i < 4; i++) blob.data[at + i] = (char)(t->f_crc >> (8 * i));
        /* The file that reaches the table's end ends the catch-up ('E'). */
        char kind = !last ? 'F' : t->sent + r->file_rows == rows ? 'E' : 'G';
        fl_repl_record(&rec, kind, t->id, t->sent, NULL, blob.data, blob.len);
        push_record(c, &rec);
        if (last) {
            t->sent += r->file_rows; /* files only go for tables without deleted rows */
            t->held += r->file_rows;
            t->open = kind == 'G';
            close(t->f.fd);
            t->in_file = false;
        }
    } else {
        QV_WARN("replication: cannot read the column file of table %s (%s); sending rows", t->name,
                got < 0 ? "read error" : "short read");
        close(t->f.fd);
        t->in_file = false;
        t->files = false;
    }
    qv_str_free(&blob);
    qv_str_free(&rec);
    return ok;
}

/* One record for table t (this server has `rows` of it): a file chunk while
   copying files, else up to CHUNK_ROWS rows. */
static int serve(fl_call *c, fl_repl *r, repl_tab *t, int64_t rows, bool *sent, qv_err *err) {
    if ((t->in_file || (t->files && rows - t->sent >= r->file_rows)) && push_file_chunk(c, r, t, rows)) {
        *sent = true;
        return QV_OK;
    }
    int64_t to = rows;
    if (to - t->sent > CHUNK_ROWS) to = t->sent + CHUNK_ROWS;
    int rc = push_rows(c, t, to, to == rows, err);
    if (rc == QV_OK) {
        *sent = true;
        t->open = to != rows;
        t->files = false;
    }
    return rc;
}

/* One round over the catalog; true when something was queued. */
static int round_once(fl_call *c, fl_repl *r, bool *sent, qv_err *err) {
    st_table_info *tabs;
    int n;
    *sent = false;
    if (eng_tables(c->e, &tabs, &n, err)) return err->code;
    for (int k = 0; k < r->n; k++) r->tabs[k].seen = false;
    qv_str rec;
    qv_str_init(&rec);
    for (int i = 0; i < n; i++) {
        repl_tab *t = NULL;
        for (int k = 0; k < r->n && !t; k++)
            if (r->tabs[k].id == tabs[i].id) t = &r->tabs[k];
        /* Rows removed from the front (truncate, retention) shift row numbers:
           the replica starts that table over. So does a replica holding more
           rows than this server has (it missed a trim). removed_rows also
           counts DELETEd rows, which a replica never holds (a start-over
           sends live rows only, on top of the trim count), so a table with
           deletions starts over on every change and every reconnect. */
        int64_t trim = 0, held = t ? 0 : held_rows(r, tabs[i].id, &trim);
        bool resync = t ? tabs[i].removed_rows != t->removed
                        : (held > 0 && (trim < 0 ? tabs[i].removed_rows > 0 : trim != tabs[i].removed_rows)) ||
                              held > tabs[i].rows;
        if (resync) {
            rec.len = 0;
            fl_repl_record(&rec, 'D', tabs[i].id, 0, NULL, NULL, 0);
            push_record(c, &rec);
            if (t) tab_remove(r, (int)(t - r->tabs));
            t = NULL;
            held = 0;
        }
        if (!t) {
            r->tabs = qv_xrealloc(r->tabs, sizeof *r->tabs * (size_t)(r->n + 1));
            t = &r->tabs[r->n++];
            memset(t, 0, sizeof *t);
            t->id = tabs[i].id;
            snprintf(t->name, sizeof t->name, "%s", tabs[i].name);
            t->sent = t->held = held;
            t->removed = tabs[i].removed_rows;
            t->files = held == 0 && r->file_rows > 0;
            qv_str blob;
            qv_str_init(&blob);
            schema_blob(&tabs[i].schema, &blob);
            rec.len = 0;
            fl_repl_record(&rec, 'C', t->id, tabs[i].trim_rows, t->name, blob.data, blob.len);
            push_record(c, &rec);
            qv_str_free(&blob);
            *sent = true;
        }
        t->seen = true;
    }
    /* Tables the replica holds that this server no longer has (dropped while it was away). */
    for (int h = 0; h < r->nhave && !r->pruned; h++) {
        bool here = false;
        for (int i = 0; i < n && !here; i++) here = tabs[i].id == r->have_id[h];
        if (!here) {
            rec.len = 0;
            fl_repl_record(&rec, 'D', r->have_id[h], 0, NULL, NULL, 0);
            push_record(c, &rec);
            *sent = true;
        }
    }
    r->pruned = true;
    for (int k = 0; k < r->n; k++)
        if (!r->tabs[k].seen) {
            rec.len = 0;
            fl_repl_record(&rec, 'D', r->tabs[k].id, 0, NULL, NULL, 0);
            push_record(c, &rec);
            tab_remove(r, k--);
            *sent = true;
        }
    /* A catch-up under way goes first: the replica stages one table at a
       time, and another table's records would make it start over. */
    int rc = QV_OK, pick = -1;
    for (int k = 0; k < r->n && pick < 0 && !*sent; k++)
        if (r->tabs[k].open || r->tabs[k].in_file)
            for (int i = 0; i < n && pick < 0; i++)
                if (tabs[i].id == r->tabs[k].id && tabs[i].rows > r->tabs[k].sent) {
                    pick = k;
                    rc = serve(c, r, &r->tabs[k], tabs[i].rows, sent, err);
                }
    for (int i = 0; i < n && !*sent && rc == QV_OK; i++)
        for (int k = 0; k < r->n && !*sent && rc == QV_OK; k++)
            if (r->tabs[k].id == tabs[i].id && tabs[i].rows > r->tabs[k].sent)
                rc = serve(c, r, &r->tabs[k], tabs[i].rows, sent, err);
    qv_str_free(&rec);
    st_table_info_free_all(tabs, n);
    return rc;
}

int fl_repl_produce(fl_call *c, fl_repl *r, bool *done, qv_err *err) {
    *done = false;
    qv_str rec;
    qv_str_init(&rec);
    if (!r->key_sent) {
        fl_repl_record(&rec, 'K', 0, 0, NULL, eng_ticket_key(c->e), ENG_KEY_BYTES);
        push_record(c, &rec);
        qv_str_free(&rec);
        r->key_sent = true;
        return QV_OK;
    }
    int rc = QV_OK;
    for (;;) {
        if (atomic_load(&r->cancelled) || fl_server_stopping(c)) {
            *done = true;
            break;
        }
        bool sent = false;
        if ((rc = round_once(c, r, &sent, err)) != QV_OK) break;
        if (sent) break;
        int64_t now = qv_monotonic_ns();
        if (now - r->last_beat >= BEAT_NS) {
            r->last_beat = now;
            fl_repl_record(&rec, 'H', 0, 0, NULL, NULL, 0);
            push_record(c, &rec);
            break;
        }
        struct timespec ts = {0, POLL_NS};
        nanosleep(&ts, NULL);
    }
    qv_str_free(&rec);
    return rc;
}
