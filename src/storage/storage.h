/*
** storage: tables of typed columns, durable through a write-ahead log.
**
** A table is an append-only list of row groups of fixed capacity
** (st_options.rowgroup_rows, default 65536), each holding one segment per
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
** Durability: st_append_commit writes the whole append to the WAL and syncs
** (or waits for the group commit) before it returns; only then do readers
** see it. See docs/storage.md for the on-disk format.
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
    int64_t rowgroup_rows;  /* 0 = default 65536 */
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

typedef struct st_table_info {
    char *name;
    qv_schema schema;
    int64_t rows;
    int64_t bytes;  /* column memory in use */
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

/* Commit notification: called for every commit once its rows are durable
   and visible, with the table's commit lock held, so the calls for one table
   come in commit order. Rows [row_from, row_to) are new; bytes is their
   size as staged. It must be quick and must not call back into storage for
   this table (it runs inside the commit). Set once, before any commit. */
typedef void (*st_commit_hook)(void *arg, st_table *t, int64_t row_from, int64_t row_to, int64_t bytes);
void st_db_set_commit_hook(st_db *db, st_commit_hook fn, void *arg);

/* ---- reading ---- */
typedef struct st_stats {
    bool has_minmax;        /* false for STRING/SYMBOL or when all rows null */
    int64_t null_count;
    union { int64_t i; double f; } min, max; /* ints, bools, timestamps in .i; floats in .f */
} st_stats;

int st_snapshot_open(st_table *t, st_snapshot **out);   /* cannot fail except OOM (aborts) */
void st_snapshot_close(st_snapshot *s);
int64_t st_snapshot_rows(const st_snapshot *s);
int st_snapshot_rowgroups(const st_snapshot *s);
int64_t st_snapshot_rowgroup_rows(const st_snapshot *s, int rg);
/* Zero-copy view of column col in row group rg, as of the snapshot
   (SYMBOL arrays carry their dictionary in ->dict). out uninitialised. */
void st_snapshot_column(const st_snapshot *s, int rg, int col, qv_array *out);
/* Min/max of the segment as of the snapshot (conservative: may cover more rows). */
void st_snapshot_stats(const st_snapshot *s, int rg, int col, st_stats *out);

/* ---- writing ---- */
/* Waits for any other append on the table to finish. */
int st_append_begin(st_table *t, st_append **out, qv_err *err);
/* Batch columns in table order with the table's types, except that a SYMBOL
   column also accepts a STRING array. Non-nullable columns refuse nulls.
   Staged only: nothing visible or durable until commit. */
int st_append_batch(st_append *a, const qv_batch *b, qv_err *err);
/* Durable, then visible, atomically. Frees a on success and failure. */
int st_append_commit(st_append *a, int64_t *rows_committed, qv_err *err);
void st_append_abort(st_append *a);

#endif
