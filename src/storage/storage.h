/*
** storage: tables of typed columns, durable through a write-ahead log.
**
** A table is an append-only list of row groups of fixed capacity
** (st_options.rowgroup_rows, default 262144), each holding one segment per
** column laid out as Arrow arrays, with per-segment min/max for pruning.
** Memory a reader may hold is never moved or freed under it: segments are
** allocated at full capacity, and growable buffers (string data, symbol
** dictionaries) are replaced, never realloc'd, with readers keeping the old
** one alive through its refcount.
**
** Concurrency: any number of snapshots, one st_append per table at a time
** (a second st_append_begin waits). A snapshot sees exactly the appends
** committed before it was opened.
**
** Durability: st_append_commit fsyncs the column files the append wrote and
** logs one WAL record naming them (plus the rows of the open row group),
** durable (fsync or group commit) before it returns; only then do readers
** see it. Sealed row groups are read through read-only mappings of their
** column files. See docs/storage.md for the on-disk format.
*/
#ifndef QUIVER_STORAGE_H
#define QUIVER_STORAGE_H

#include "arrow-types/atypes.h"

typedef struct st_db st_db;
typedef struct st_table st_table;
typedef struct st_snapshot st_snapshot;
typedef struct st_append st_append;

typedef struct st_options {
    const char *data_dir;   /* created if missing; ignored when in_memory */
    bool in_memory;         /* no files at all */
    int wal_sync_ms;        /* 0: fsync every commit; >0: group commit window */
    int64_t rowgroup_rows;  /* 0 = default 262144 */
    int64_t checkpoint_bytes; /* 0 = default 64 MiB (st_db_set_checkpoint_bytes) */
    bool buffered_bulk;     /* bulk loads through the page cache too (default: O_DIRECT, docs/storage.md) */
} st_options;

/* Opens (creating if needed) and recovers: checkpoint, then WAL replay; a torn
   or corrupt WAL tail is cut off with a log line. */
int st_db_open(const st_options *opts, st_db **out, qv_err *err);
/* Checkpoints, syncs and frees. Tables still referenced stay valid until released. */
void st_db_close(st_db *db);
/* Write sealed row groups to column files and trim the WAL. */
int st_db_checkpoint(st_db *db, qv_err *err);

/* Names: 1..QV_NAME_MAX chars of [A-Za-z0-9_], not starting with a digit.
   Schemas: 1..1024 fields, unique names, valid types. */
int st_table_create(st_db *db, const char *name, const qv_schema *schema, qv_err *err);
int st_table_drop(st_db *db, const char *name, qv_err *err);
/* Returns a reference the caller releases; QV_ENOTFOUND if no such table. */
int st_table_open(st_db *db, const char *name, st_table **out, qv_err *err);
void st_table_release(st_table *t);
const char *st_table_name(const st_table *t);
const qv_schema *st_table_schema(const st_table *t);  /* immutable */
/* The table's incarnation: unique within a data directory (never reused, kept
   across restarts), so a dropped and recreated table has a new one. */
uint64_t st_table_id(const st_table *t);
/* The trim count plus the rows currently marked deleted (DELETE): it grows
   whenever rows go, so a reader that planned storage row ranges before can
   tell they may now read differently. A server whose copy has the same count
   (a replica) numbers the rows the same way. */
int64_t st_table_removed_rows(st_table *t);
/* Rows ever dropped from the front (truncate, retention), the "trim count":
   storage row numbers shift down by that much. Kept across restarts (the
   MANIFEST has it, WAL replay adds to it). */
int64_t st_table_trim_rows(st_table *t);

/* ---- replication (a read replica applies what its primary committed) ----
** A read-only db refuses creates, drops, commits, truncate and retention with
** QV_EPRECONDITION and the given message; the _id/_replica variants are the
** replication path and always apply (keeping the primary's ids). */
void st_db_set_read_only(st_db *db, const char *why);  /* NULL: writable */
int st_table_create_id(st_db *db, uint64_t id, const char *name, const qv_schema *schema, qv_err *err);
int st_table_drop_replica(st_db *db, const char *name, qv_err *err);
int st_append_commit_replica(st_append *a, int64_t *rows_committed, qv_err *err);
/* A replica's copy of a table (empty) takes its primary's trim count, so the
   primary's tickets (which name it) redeem here. Logged; QV_EINVAL if rows are held. */
int st_table_set_trim_replica(st_db *db, const char *name, int64_t removed, qv_err *err);
/* Column files for replication (replfile.c): the file behind row group rg of
   a snapshot (false: not in a column file); a replica's row group size when
   it can take files (0 in memory); a replica receiving one in chunks (in
   order; offset 0 starts over), then checking its size and CRC-32C. */
bool st_snapshot_rowgroup_file(const st_snapshot *s, int rg, char *path, size_t n, int64_t *fno);
int64_t st_db_replica_file_rows(st_db *db);
int st_replica_file_chunk(st_db *db, uint64_t id, int64_t fno, int64_t off, const void *p, size_t n, qv_err *err);
int st_replica_file_check(st_db *db, uint64_t id, int64_t fno, int64_t size, uint32_t crc, qv_err *err);
/* The checked file `fno` becomes the next row group of open append a (the
   table's rows must end on a row group boundary); the commit names it. */
int st_append_add_file_replica(st_append *a, int64_t fno, qv_err *err);
void st_replica_file_discard(st_db *db, uint64_t id, int64_t fno);

typedef struct st_table_info {
    char *name;
    uint64_t id;    /* st_table_id */
    int64_t removed_rows; /* st_table_removed_rows */
    int64_t trim_rows;    /* st_table_trim_rows */
    qv_schema schema;
    int64_t rows;   /* storage rows, deleted ones included (row numbers run to here) */
    int64_t live_rows; /* rows minus those deleted */
    int64_t bytes;  /* column memory in use */
    char *retention_column; /* NULL: no retention */
    int64_t retention_ns;
} st_table_info;
/* Sorted by name; free with st_table_info_free_all. */
int st_db_list(st_db *db, st_table_info **out, int *n, qv_err *err);
void st_table_info_free_all(st_table_info *infos, int n);

/* WAL statistics, for /metrics. */
typedef struct st_db_stats {
    int64_t wal_bytes, wal_syncs, commits, checkpoints;
} st_db_stats;
void st_db_get_stats(st_db *db, st_db_stats *out);
/* Checkpoint automatically once the current WAL file exceeds this many bytes
   (default 64 MiB; <= 0 restores the default). */
void st_db_set_checkpoint_bytes(st_db *db, int64_t bytes);

/* Change notifications (subscriptions), called with the table's commit lock
   held, so the calls for one table come in order. committed: rows
   [row_from, row_to) are new, durable and visible (bytes: their column
   memory). drop_begin / drop_end: leading rows are being removed (TRUNCATE,
   retention) and later rows renumbered; begin comes before the change is
   visible, end after, with the number of rows removed. They must be quick
   and must not call back into storage. Set once, before any commit. */
typedef struct st_hooks {
    void (*committed)(void *arg, st_table *t, int64_t row_from, int64_t row_to, int64_t bytes);
    void (*drop_begin)(void *arg, st_table *t);
    void (*drop_end)(void *arg, st_table *t, int64_t rows_removed);
    void *arg;
} st_hooks;
void st_db_set_hooks(st_db *db, const st_hooks *h);

/* ---- whole row groups: truncate and retention ----
** Each is one WAL record, durable before it is visible; the column files
** freed go at the next checkpoint. They wait for an open append to end. */
int st_table_truncate(st_db *db, const char *name, int64_t *rows_removed, qv_err *err);
/* Keep rows whose TIMESTAMP `column` (NULL: the first TIMESTAMP column) is
   newer than now - interval_ns; 0 turns retention off. Enforced by dropping
   whole sealed row groups whose newest value is older (a background task
   about once a second, or st_db_enforce_retention). */
int st_table_set_retention(st_db *db, const char *name, const char *column, int64_t interval_ns, qv_err *err);
/* *column NULL when the table has no retention. */
void st_table_get_retention(st_table *t, const char **column, int64_t *interval_ns);
int st_db_enforce_retention(st_db *db, int64_t now_ns, int64_t *rows_dropped, qv_err *err);

/* ---- reading ---- */
typedef struct st_stats {
    bool has_minmax;        /* false for STRING/SYMBOL or when all rows null */
    /* floats: NaN is left out of min/max (it is the greatest double in SQL's
       order); true when the row group may hold one, which is also what stats
       written before this flag existed read as */
    bool has_nan;
    int64_t null_count;
    union { int64_t i; double f; } min, max; /* ints, bools, timestamps in .i; floats in .f */
} st_stats;

int st_snapshot_open(st_table *t, st_snapshot **out);   /* cannot fail except OOM (aborts) */
void st_snapshot_close(st_snapshot *s);
int64_t st_snapshot_rows(const st_snapshot *s);
int st_snapshot_rowgroups(const st_snapshot *s);
int64_t st_snapshot_rowgroup_rows(const st_snapshot *s, int rg);
/* Zero-copy view of column col in row group rg, as of the snapshot
   (SYMBOL arrays carry their dictionary in ->dict; a row group read from a
   column file carries a dictionary of its own). out uninitialised. Points
   into the column file's mapping for sealed row groups; the first read of a
   column checks its checksum: QV_ECORRUPT naming the file on a mismatch. */
int st_snapshot_read(const st_snapshot *s, int rg, int col, qv_array *out, qv_err *err);
/* As st_snapshot_read, but a STRING column a row group stores dictionary-
   encoded (chosen per row group when smaller: low-cardinality text) comes
   as a SYMBOL array (codes + that group's dictionary), zero copy. For
   engines that treat SYMBOL arrays as text; st_snapshot_read gives plain
   STRING (built in memory for such groups). */
int st_snapshot_read_codes(const st_snapshot *s, int rg, int col, qv_array *out, qv_err *err);
/* Rows of row group rg a DELETE removed as of the snapshot (0: none, *bits
   NULL); else *bits is a bitmap over the group's rows, bit set = deleted,
   valid while the snapshot is open. Scans skip those rows; row numbers and
   st_snapshot_rowgroup_rows still count them. */
int64_t st_snapshot_rowgroup_deleted(const st_snapshot *s, int rg, const uint8_t **bits);
/* Deleted rows of the whole snapshot (st_snapshot_rows counts them). */
int64_t st_snapshot_deleted_rows(const st_snapshot *s);
/* Live (not deleted) rows among storage rows [from, to) of the snapshot. */
int64_t st_snapshot_live_in(const st_snapshot *s, int64_t from, int64_t to);
/* As st_snapshot_read; on an error logs it and gives an empty array. */
void st_snapshot_column(const st_snapshot *s, int rg, int col, qv_array *out);
/* Min/max of the segment as of the snapshot (conservative: may cover more rows). */
void st_snapshot_stats(const st_snapshot *s, int rg, int col, st_stats *out);

/* ---- writing ----
** Appends stream: each batch is copied into the table at once (full row
** groups go straight to their column files), so memory stays bounded for
** an append of any size; nothing is visible until commit, and an abort (or
** a crash) leaves nothing. */
/* Waits for any other append on the table to finish. */
int st_append_begin(st_table *t, st_append **out, qv_err *err);
/* As st_append_begin, but false (and *out NULL) at once if another append holds the table. */
bool st_append_try_begin(st_table *t, st_append **out);
/* As st_append_begin, but waits at most wait_ms for the table's writer slot,
   then QV_EBUSY naming the table: a caller on a thread others depend on (a
   Flight completion-queue thread) must never wait without bound. */
int st_append_begin_wait(st_table *t, int64_t wait_ms, st_append **out, qv_err *err);
/* An append that creates table `name` (QV_EEXISTS if it exists or another append is creating it); the table
   is listed, with its rows, only when the append commits. */
int st_append_begin_new(st_db *db, const char *name, const qv_schema *schema, st_append **out, qv_err *err);
/* Waiting for the writer slot without a thread (a front end that must not
** block): st_append_begin_async takes the slot at once (*out set) or queues
** w (*out NULL); when the slot is next released, w->ready(w) runs on the
** releasing thread while it holds the table's append lock, so ready may only
** signal (wake a parked call), never call into storage. Then the owner calls
** st_waiter_done(w) and tries again (someone else may have been faster and it
** queues again). st_waiter_done also withdraws a w still queued; once it
** returns, ready does not run. A queued w holds a ref on its table. */
typedef struct st_waiter {
    void (*ready)(struct st_waiter *w);
    void *arg;                /* the owner's */
    st_table *t;              /* storage's: queued on (with a ref) until st_waiter_done */
    bool queued;
    struct st_waiter *next;
} st_waiter;
int st_append_begin_async(st_table *t, st_waiter *w, st_append **out, qv_err *err);
/* As st_append_begin_new, but if another append is creating `name`, w is
   queued on that one (QV_OK, *out NULL) and told when it ends; QV_EEXISTS
   once the table is listed. */
int st_append_begin_new_async(st_db *db, const char *name, const qv_schema *schema, st_waiter *w, st_append **out,
                              qv_err *err);
void st_waiter_done(st_waiter *w);
/* Batch columns in table order with the table's types, except that a SYMBOL
   column also accepts a STRING array. Non-nullable columns refuse nulls.
   Not visible or durable until commit; after a failure only abort works. */
int st_append_batch(st_append *a, const qv_batch *b, qv_err *err);
/* Durable, then visible, atomically. Frees a on success and failure. */
int st_append_commit(st_append *a, int64_t *rows_committed, qv_err *err);
void st_append_abort(st_append *a);

/* ---- DELETE ----
** A deletion holds the table's writer slot from begin to commit/abort, so
** a snapshot opened after begin is exactly the state it deletes from; the
** caller marks rows of that snapshot (row group, row within it), then
** commit logs one WAL record (durable) and publishes new deletion vectors:
** readers see all of the deletion or none, and snapshots opened before keep
** seeing the rows. Leading row groups left with no live rows are dropped at
** once (their column files go at the next checkpoint); the others keep
** their rows and a deletion vector, persisted in the MANIFEST. */
typedef struct st_delete st_delete;
/* Waits for the writer slot. QV_EPRECONDITION on a read replica. */
int st_delete_begin(st_table *t, st_delete **out, qv_err *err);
/* Marks row `row` of row group rg (as in a snapshot opened after begin);
   out of range or already deleted: ignored. */
void st_delete_mark(st_delete *d, int rg, int64_t row);
/* Marks every row. */
void st_delete_mark_all(st_delete *d);
/* Durable, then visible. Frees d on success and failure. */
int st_delete_commit(st_delete *d, int64_t *rows_deleted, qv_err *err);
void st_delete_abort(st_delete *d);

#endif
