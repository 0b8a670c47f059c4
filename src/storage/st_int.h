/*
** storage internals shared by the .c files of this module (not installed).
**
** Files and who calls whom (no circles; each line calls only lines above it):
**   codec.c       byte encodings (integers, names, schemas, batches)
**   wal.c         the log: append records, sync, read them back. Knows no tables.
**   colfile.c     column files: write one sealed row group, map it lazily, verify.
**   rowgroup.c    writer-side row groups and symbol dictionaries (copy rows in).
**   db.c          the st_db object's lifetime (refcount, free)
**   table.c       tables, the published views readers snapshot, snapshots
**   catalog.c     the catalog: create/drop/open/list (logs CREATE/DROP)
**   manifest.c    the MANIFEST file: encode, write, read
**   checkpoint.c  checkpoints (background thread), garbage removal
**   append.c      streaming appends (seal full row groups to column files, commit)
**   maintain.c    truncate, retention (dropping whole expired row groups)
**   delete.c      DELETE: deletion vectors per row group (log, apply, replay, carry)
**   recover.c     recovery at open: manifest, then WAL replay
**   open.c        st_db_open / st_db_close
**
** Ownership and states:
** - st_db is refcounted: the opener holds one ref (dropped by st_db_close),
**   every st_table holds one, so a table released after close still has a
**   valid db to point at. A closed db refuses appends and catalog changes.
** - st_table is refcounted: the catalog holds one ref until drop, every
**   st_table_open caller and every snapshot/append holds one.
** - Writer-side state of a table (rgs, dicts, rows) is guarded by
**   commit_mu; only an append (per batch and at commit), replay or a
**   checkpoint holding commit_mu touches it. An open append may have rows
**   past the published ones; readers never see them.
** - A row group is anonymous (segments in memory; the open tail, or sealed
**   but not yet written) or file-backed (sealed, in a column file, read via
**   a read-only mapping: st_map). Views of either are refcounted.
** - What readers see is st_pub, an immutable refcounted description of the
**   table swapped under mu at each commit. A snapshot is a ref on one st_pub.
**
** Lock order: db->ckpt_mu -> db->cat_mu -> table->commit_mu (all, in catalog
** order) -> wal's own mutex -> table->mu. append_mu only guards `appending`.
*/
#ifndef ST_INT_H
#define ST_INT_H

#include "storage/storage.h"

#include <pthread.h>
#include <sys/types.h>

/* 256K rows: 8 MiB per group of four 8-byte columns. At 64K rows a bulk load
   made 480 files per GB, and creating them (ext4 skips recently freed
   inodes one by one) with their opens and fdatasyncs was a quarter of a
   durable put's CPU (docs/benchmarks.md); fewer files also means fewer
   mappings per GB (vm.max_map_count). DuckDB's groups are 122880 rows. */
#define ST_DEFAULT_RG_ROWS 262144
#define ST_MAX_RG_ROWS (1 << 24)
#define ST_MAX_FIELDS 1024
#define ST_DEFAULT_CKPT_BYTES (64ll << 20)
/* Also checkpoint once the WAL names this many column files, so a restart
   after streaming puts reads a manifest, not thousands of file headers. */
#define ST_CKPT_FILES 256
#define ST_PATH_MAX 4200

/* ---- codec.c: byte encodings shared by WAL and column files ---- */
typedef struct st_rd {
    const uint8_t *p;
    size_t n, pos;
    bool bad;
} st_rd;
void st_put_u8(qv_str *s, uint8_t v);
void st_put_u16(qv_str *s, uint16_t v);
void st_put_u32(qv_str *s, uint32_t v);
void st_put_u64(qv_str *s, uint64_t v);
void st_put_name(qv_str *s, const char *name); /* u16 length + bytes */
uint8_t st_get_u8(st_rd *r);
uint16_t st_get_u16(st_rd *r);
uint32_t st_get_u32(st_rd *r);
uint64_t st_get_u64(st_rd *r);
const uint8_t *st_get_bytes(st_rd *r, size_t n);
char *st_get_name(st_rd *r); /* malloc'd NUL-terminated name or NULL (r->bad set) */
static inline void st_wr_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t st_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void st_wr_u64(uint8_t *p, uint64_t v) {
    st_wr_u32(p, (uint32_t)v);
    st_wr_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t st_rd_u64(const uint8_t *p) { return st_rd_u32(p) | (uint64_t)st_rd_u32(p + 4) << 32; }
const char *st_array_str(const qv_array *a, int64_t i, int32_t *len);
void st_encode_schema(qv_str *s, const qv_schema *schema);
int st_decode_schema(st_rd *r, qv_schema *out, qv_err *err);
void st_encode_batch(qv_str *s, const qv_batch *b); /* SYMBOL columns are written as STRING */
/* Decode into a batch whose schema is `schema` with SYMBOL turned into STRING. */
int st_decode_batch(st_rd *r, const qv_schema *schema, qv_batch *out, qv_err *err);
int st_check_name(const char *name, const char *what, qv_err *err);
int st_check_schema(const qv_schema *schema, qv_err *err);
void st_encode_stats(qv_str *s, const st_stats *st);
/* The stats flag byte of manifests and column files: bit 0 has_minmax, bit 1
   "bit 2 is recorded", bit 2 has_nan (older files have bit 1 clear: may hold NaN). */
uint8_t st_stats_flags(const st_stats *st);
void st_stats_flags_set(st_stats *st, uint8_t b);
void st_decode_stats(st_rd *r, st_stats *st);
int st_fsync_dir(const char *dir, qv_err *err);
/* filesync.c: column files written and fdatasync'd on background threads, each file's jobs in order. */
typedef struct st_filesync st_filesync;
st_filesync *st_filesync_new(void);
void st_filesync_add(st_filesync *s, const char *path); /* fdatasync path */
/* pwrite buf[0..len) at off (O_DIRECT: aligned, never resumed), then release(ctx).
   With the lanes running, returns only once at most ST_FILESYNC_PENDING_MAX
   bytes of writes are queued (or one has failed). */
#define ST_FILESYNC_PENDING_MAX ((size_t)24 << 20) /* three 8 MiB files, one per lane */
void st_filesync_write(st_filesync *s, int fd, const uint8_t *buf, size_t len, off_t off, void (*release)(void *),
                       void *ctx, const char *path);
void st_filesync_close(st_filesync *s, int fd, const char *path); /* close fd */
int st_filesync_wait(st_filesync *s, qv_err *err); /* every job added so far done; NULL-safe */
/* pwrite of all n bytes (EINTR retried) or -1 with errno; a short write is ENOSPC, never resumed. */
int st_pwrite_whole(int fd, const void *p, size_t n, off_t off);
void st_filesync_drop(st_filesync *s);             /* the rest forgotten, none in progress after; NULL-safe */
void st_filesync_free(st_filesync *s);              /* waits; NULL-safe */
int st_write_all(int fd, const void *p, size_t n);

/* ---- wal.c: the log ---- */
enum {
    ST_REC_CREATE = 1, /* u64 id, u64 rowgroup_rows, name, schema */
    ST_REC_DROP = 2,   /* u64 id */
    ST_REC_COMMIT = 3, /* u64 id, u32 n, batches (tail rows of an append, no files) */
    ST_REC_CARRY = 4,  /* as COMMIT: a partly filled row group re-logged by a checkpoint */
    ST_REC_PUT = 5,    /* u64 id, u64 first rg, u32 files, u32 n, batches */
    ST_REC_CREATE_PUT = 6, /* CREATE payload, then a PUT payload: a put that made its table */
    ST_REC_TRUNCATE = 7,   /* u64 id: every row group goes */
    ST_REC_RETENTION = 8,  /* u64 id, i32 column (-1: none), i64 interval ns */
    ST_REC_DROP_RGS = 9,   /* u64 id, u32 n: the first n row groups went (retention) */
    ST_REC_DELETE = 10,    /* u64 id, u32 n, n x (u32 rg, u32 rows, bitmap of rows bits): rows deleted */
    ST_REC_DEL_CARRY = 11, /* as DELETE: the open row group's deletion vector re-logged by a checkpoint */
    ST_REC_TRIM_BASE = 16, /* u64 id, i64 n: a replica's empty copy starts at its primary's trim count */
};
#define ST_WAL_HDR 20
#define ST_REC_HDR 9
typedef struct st_wal st_wal;
typedef struct st_wal_stats {
    int64_t bytes, syncs;
} st_wal_stats;
/* Creates dir/wal-<seq>.log (header, fsync, dir fsync). sync_ms as st_options. */
int st_wal_open(const char *dir, uint64_t seq, int sync_ms, st_wal **out, qv_err *err);
/* Syncs what was written and closes the file; later appends fail. */
void st_wal_shutdown(st_wal *w);
/* shutdown + free; NULL-safe. */
void st_wal_close(st_wal *w);
/* Append one record (payload in pieces); returns its end LSN, or -1 with err. */
int64_t st_wal_append(st_wal *w, int type, const qv_str *const *parts, int nparts, qv_err *err);
/* Returns once everything up to lsn is durable (fsync or group commit). */
int st_wal_wait(st_wal *w, int64_t lsn, qv_err *err);
/* append + wait, one payload */
int st_wal_log(st_wal *w, int type, const qv_str *payload, qv_err *err);
/* Sync and close the current file, start wal-<seq>.log. */
int st_wal_rotate(st_wal *w, uint64_t seq, qv_err *err);
uint64_t st_wal_seq(st_wal *w);
/* Bytes logged since the file began, not counting what st_wal_mark_base covered. */
int64_t st_wal_pending_bytes(st_wal *w);
void st_wal_mark_base(st_wal *w);
void st_wal_get_stats(st_wal *w, st_wal_stats *out);

typedef struct st_wal_reader {
    char path[ST_PATH_MAX];
    uint8_t *buf;
    size_t n, pos;
} st_wal_reader;
/* Reads and checks the header. QV_ECORRUPT: a damaged header (caller removes it). */
int st_wal_reader_open(st_wal_reader *r, const char *path, uint64_t seq, qv_err *err);
/* 1: a record (type, payload pointing into the reader's buffer); 0: clean end;
   -1: a torn or corrupt record at r->pos (*why says which). */
int st_wal_reader_next(st_wal_reader *r, int *type, const uint8_t **p, size_t *n, const char **why);
/* Cut the file at byte off (fsync). */
int st_wal_truncate(const char *path, size_t off, qv_err *err);
void st_wal_reader_close(st_wal_reader *r);

/* ---- colfile.c: column files ---- */
typedef struct st_map st_map;
/* One column of a row group as stored: buffers in file order. */
typedef struct st_colsrc {
    qv_type type;
    const uint8_t *validity; /* NULL: no nulls */
    const uint8_t *values;   /* fixed width, bits, STRING offsets, SYMBOL codes */
    size_t values_len;
    qv_buffer *values_buf;   /* the buffer values points into, or NULL: a direct write may
                                go straight from it, holding a ref until done */
    const uint8_t *data;     /* STRING bytes */
    size_t data_len;
    const uint8_t *dict_off, *dict_data; /* SYMBOL: the file's own dictionary */
    size_t dict_off_len, dict_data_len;
    bool dict_encoded; /* a STRING column stored as codes + dictionary */
    st_stats stats;
    st_stats *minmax_out; /* non-NULL: min/max of values (fixed width, no nulls) computed while
                             writing, merged here and into the header; stats.min/max ignored */
} st_colsrc;
/* Column file layout constants (colfile.c documents the layout). */
#define ST_COL_HDR 64
#define ST_COL_ENT 152
#define ST_COL_NBUF 5
extern const char st_col_magic[8];
/* How st_colfile_write writes: ST_WF_SYNC fdatasyncs before returning;
   ST_WF_DIRECT bypasses the page cache (O_DIRECT, for bulk loads) where the
   file system allows it, buffered otherwise; its block writes go to bg when
   given (then the file is complete only once bg has run them). */
enum { ST_WF_SYNC = 1, ST_WF_DIRECT = 2 };
/* Writes path with one buffer per piece, 64-byte aligned, each with its CRC
   (each part checksummed just before it goes out; the header last). */
int st_colfile_write(const char *path, uint64_t table_id, int64_t rg, int64_t rows, int ncols,
                     const st_colsrc *cols, unsigned flags, st_filesync *bg, int64_t *file_bytes, qv_err *err);
/* A lazily mapped column file. Nothing is read until the first column. */
st_map *st_map_new(const char *path, uint64_t table_id, int64_t rg, int64_t rows, const qv_schema *schema,
                   bool verified);
st_map *st_map_ref(st_map *m);
void st_map_unref(st_map *m);
const char *st_map_path(const st_map *m);
/* The cap on idle mappings kept (default half of vm.max_map_count) and how
   many column files are mapped now; for tests. */
void st_map_set_cap(int cap);
int st_map_mapped_count(void);
/* Column col as an array pointing into the mapping (refs on the map). The
   first use maps the file; the first use of each column checks its CRCs.
   A dictionary-encoded STRING column comes as a SYMBOL array when codes_ok,
   else as plain STRING built in memory. */
int st_map_column(st_map *m, int col, bool codes_ok, qv_array *out, qv_err *err);
/* Reads header and directory (pread, no mapping) to get per-column stats. */
int st_colfile_stats(const char *path, uint64_t table_id, int64_t rg, int64_t rows, const qv_schema *schema,
                     st_stats *stats, int64_t *file_bytes, qv_err *err);
void st_col_path(const char *dir, uint64_t id, int64_t rg, char *buf, size_t n);

/* ---- rowgroup.c: writer-side row groups ---- */
typedef struct st_colseg {
    qv_buffer *validity, *values, *data; /* full capacity; data grows by replacement */
    size_t data_len;
    st_stats stats;
    bool minmax_pending; /* adopted for a file write that computes min/max (st_rg_write_file) */
} st_colseg;

typedef struct st_rg {
    int64_t rows;
    st_colseg *cols; /* stats always; buffers only while anonymous */
    st_map *map;     /* file-backed: the column file */
    int64_t fno;     /* its file number (t<id>-<fno>.qvc), -1 while anonymous */
    int64_t bytes;   /* column bytes (file-backed: the file's size) */
    qv_buffer *del;  /* deletion vector (cap bits, 1 = deleted; replaced, never changed), or NULL */
    int64_t ndel;    /* rows deleted */
    bool views;      /* full, its buffers views of a received batch (st_rg_adopt): never a spare */
} st_rg;

typedef struct st_dict {
    qv_buffer *offsets, *data; /* replaced when they must grow */
    int32_t n, cap;
    size_t data_len;
    int32_t *slots; /* open addressing: code + 1, 0 = empty */
    uint32_t nslots;
} st_dict;

void st_dict_init(st_dict *d);
void st_dict_free(st_dict *d);
void st_dict_view(const st_dict *d, qv_array *out);
const char *st_dict_str(const st_dict *d, int32_t code, int32_t *len);
/* A full row group of cap rows [from, from+cap) of b whose buffers are
   views of b's (fixed-width columns, no copy; stats computed), or NULL when
   b does not allow that (variable-width or dictionary columns, misaligned). */
/* A whole row group as views of b's rows [from, from+cap), or NULL when the
   columns do not allow it. sealing: the caller writes it to its column file
   (st_rg_write_file) before anything reads its stats, so min/max of columns
   without nulls are left to that write's single pass over the bytes. */
st_rg *st_rg_adopt(const qv_schema *schema, int64_t cap, const qv_batch *b, int64_t from, bool sealing);
/* minmax.c: min/max of n values of a fixed-width type with no nulls merged
   into st (NaNs never count). The portable and the vector (AVX2; false when
   this CPU has none) versions, for tests. */
void st_minmax_merge(st_stats *st, qv_type ty, const void *vals, int64_t n);
void st_minmax_merge_portable(st_stats *st, qv_type ty, const void *vals, int64_t n);
bool st_minmax_merge_fast(st_stats *st, qv_type ty, const void *vals, int64_t n);
/* A row group of capacity cap; takes *spare's buffers when there are some. */
st_rg *st_rg_new(const qv_schema *schema, int64_t cap, st_colseg **spare);
void st_rg_free(st_rg *rg, int ncols);
/* Rows [so, so+n) of a into column c of rg at its current end (rows not bumped). */
void st_rg_copy(st_rg *rg, const qv_field *f, st_dict *dict, int c, const qv_array *a, int64_t so, int64_t n);
int64_t st_rg_col_bytes(qv_type ty, int64_t rows, const st_colseg *s);
/* Write an anonymous sealed row group to its column file; min/max left
   pending by st_rg_adopt are computed in the same pass and stored. */
int st_rg_write_file(st_rg *rg, const qv_schema *schema, qv_array *const *dicts, const char *path,
                     uint64_t table_id, int64_t rgi, unsigned flags, st_filesync *bg, int64_t *file_bytes,
                     qv_err *err);
/* Turn an anonymous row group file-backed. Its segment buffers go to *spare
   when no reader holds them and spare is empty, else they are dropped. */
void st_rg_to_file(st_rg *rg, int ncols, st_map *map, int64_t fno, int64_t file_bytes, st_colseg **spare);
void st_rg_spare_free(st_colseg *spare, int ncols);

/* ---- db.c ---- */
typedef struct st_table st_table;
struct st_db {
    atomic_int refs;
    bool in_memory;
    bool buffered_bulk; /* st_options.buffered_bulk */
    char *dir;
    int wal_sync_ms;
    int64_t rg_rows;
    int lock_fd;

    pthread_mutex_t cat_mu;
    st_table **tables;
    int ntables;
    uint64_t next_id;
    bool closed;
    char *read_only;    /* non-NULL: why writes are refused (a read replica); replication bypasses */

    st_wal *wal; /* NULL in memory */
    st_table **pending; /* tables a put creates, not listed until it commits */
    int npending;

    /* checkpoint.c */
    pthread_mutex_t ckpt_mu;  /* one checkpoint at a time */
    pthread_mutex_t ckq_mu;   /* guards the fields below */
    pthread_cond_t ckq_cv;
    bool ckq_due, ckq_stop, ckq_on;
    pthread_t ckq_thread;
    _Atomic int64_t ckpt_bytes;
    _Atomic int64_t wal_files; /* column files named by records since the last rotation */

    _Atomic int64_t st_commits, st_checkpoints;
    st_hooks hooks; /* set once before any commit */
};
void st_db_unref(st_db *db);

/* ---- table.c ---- */
typedef struct st_colview {
    qv_buffer *validity; /* NULL when the segment has no nulls (as of the view) */
    qv_buffer *values, *data;
    st_stats stats;
} st_colview;

typedef struct st_rgview {
    atomic_int refs;
    int64_t rows;
    int ncols;
    st_map *map; /* file-backed: columns come from here */
    qv_buffer *del; /* the row group's deletion vector as of the view, or NULL */
    int64_t ndel;
    st_colview cols[];
} st_rgview;

typedef struct st_pub {
    atomic_int refs;
    int64_t rows, bytes;
    int64_t ndel;   /* deleted rows among rows */
    int nrgs, ncols;
    st_rgview **rgs;
    qv_array **dicts; /* per column; SYMBOL columns only, else NULL */
} st_pub;

struct st_table {
    atomic_int refs;
    st_db *db;
    uint64_t id;
    char *name;
    qv_schema schema;
    int64_t rg_cap;
    atomic_bool dropped;

    pthread_mutex_t mu; /* guards pub (and, with commit_mu, ret_col/ret_ns) */
    st_pub *pub;

    pthread_mutex_t append_mu;
    pthread_cond_t append_cv;
    bool appending;
    st_waiter *waiters; /* under append_mu: told when the slot is released */

    pthread_mutex_t commit_mu; /* guards everything below */
    st_rg **rgs;
    int nrgs, rgs_cap;
    st_dict *dicts; /* per column, used for SYMBOL */
    int64_t rows;
    int nckpt; /* leading row groups the manifest names */
    int64_t next_fno; /* file numbers are never reused within a run */
    int ret_col;      /* retention: TIMESTAMP column, -1 none */
    int64_t ret_ns;   /* retention interval */
    st_colseg *spare; /* segment buffers of a group an append just wrote, for the next one */
    int64_t removed_rows; /* rows ever dropped from the front (truncate, retention): row numbers shift.
                             Kept in the MANIFEST and rebuilt by WAL replay, so a restart sees the same count */
    int64_t ndel;         /* rows marked deleted in the row groups (sum of rg->ndel) */
};

struct st_snapshot {
    st_table *t;
    st_pub *pub;
};

st_table *st_table_new(st_db *db, uint64_t id, const char *name, const qv_schema *schema, int64_t rg_cap);
void st_table_unref(st_table *t);
int st_check_batch(const st_table *t, const qv_batch *b, qv_err *err);
/* Refuses a batch whose text could overflow int32 string offsets (commit_mu held). */
int st_check_text_room(st_table *t, const qv_batch *bs, int nb, qv_err *err);
/* Copy rows into row groups past every row (commit_mu held). Returns the
   index of the first row group it wrote to. Cannot fail for a checked batch. */
int st_apply_batch(st_table *t, const qv_batch *b, bool sealing); /* sealing: see st_rg_adopt */
/* Add a file-backed row group at the end (replacing an anonymous partly
   filled last one, which it completes), commit_mu held. */
void st_table_add_file_rg(st_table *t, int64_t fno, st_map *map, const st_stats *stats, int64_t file_bytes);
/* Drop the first n row groups / all of them (commit_mu held; caller publishes). */
void st_table_drop_leading(st_table *t, int n);
/* Build and swap in a new st_pub from the writer state (commit_mu held),
   covering rows only up to `rows` (the rest belongs to an open append). */
void st_publish_upto(st_table *t, int nrgs, int64_t last_rows);
void st_publish(st_table *t);
st_pub *st_pub_get(st_table *t);
void st_pub_unref(st_pub *p);
/* Row group rg of pub as a batch (SYMBOL columns carry their dict). */
int st_pub_batch(const st_table *t, const st_pub *p, int rg, qv_batch *out, qv_err *err);

/* ---- catalog.c ---- */
int st_catalog_add(st_db *db, uint64_t id, const char *name, const qv_schema *schema, int64_t rg_cap,
                   st_table **out, qv_err *err);
st_table *st_catalog_find_id(st_db *db, uint64_t id);
void st_catalog_remove_id(st_db *db, uint64_t id);
/* cat_mu held: add a table made outside the catalog (a put that creates it). */
void st_catalog_insert_locked(st_db *db, st_table *t);
int st_catalog_find_locked(st_db *db, const char *name);
/* cat_mu held: a listed or pending table by id (no ref taken). */
st_table *st_catalog_find_any_locked(st_db *db, uint64_t id);
void st_catalog_pending_remove_locked(st_db *db, st_table *t);

/* ---- manifest.c ---- */
typedef struct st_man_rg {
    int64_t fno, bytes;
    st_stats *stats; /* per column */
    uint8_t *del;    /* deletion vector bytes (malloc'd) or NULL */
    uint32_t del_len;
} st_man_rg;
typedef struct st_man_table {
    uint64_t id;
    int64_t rg_cap, next_fno, ret_ns;
    int64_t removed; /* st_table.removed_rows */
    int ret_col;
    char *name;
    qv_schema schema;
    int nrgs;
    st_man_rg *rgs;
} st_man_table;
typedef struct st_manifest {
    uint64_t wal_seq, next_id;
    int ntables;
    st_man_table *tables;
} st_manifest;
int st_manifest_write(const char *dir, const st_manifest *m, qv_err *err);
/* *have = false when there is none. QV_ECORRUPT naming the file when damaged. */
int st_manifest_read(const char *dir, st_manifest *m, bool *have, qv_err *err);
void st_manifest_free(st_manifest *m);

/* ---- checkpoint.c ---- */
int st_checkpoint_run(st_db *db, qv_err *err);
void st_checkpoint_start_thread(st_db *db);
void st_checkpoint_stop_thread(st_db *db);
/* Wake the background checkpointer if the WAL passed the threshold. */
void st_checkpoint_poke(st_db *db);
/* replfile.c: remove the .part files of column file transfers (at open). */
void st_replica_parts_remove(st_db *db);
/* Remove column files no table references, and WAL files before keep_from. */
void st_remove_garbage(st_db *db, uint64_t keep_from);

/* ---- append.c ---- */
/* Replay of a PUT (with_files) or COMMIT/CARRY payload. *fatal: a column
   file the record names is missing or damaged (fail the open). */
int st_replay_put(st_db *db, st_rd *r, bool with_files, bool *fatal, qv_err *err);

/* ---- maintain.c: truncate, retention ---- */
/* Background maintenance tick (checkpoint thread): drop expired row groups. */
void st_retention_tick(st_db *db);

/* ---- delete.c ---- */
/* Set bits among the first n of bits. */
int64_t st_bits_count(const uint8_t *bits, int64_t n);
/* Replay of a DELETE / DEL_CARRY payload (commit_mu not held). */
int st_replay_delete(st_db *db, st_rd *r, qv_err *err);
/* Checkpoint (commit_mu held): re-log the deletion vector of the partly
   filled row group rg of pub, if it has one, into the new WAL. */
int st_delete_carry(st_db *db, st_table *t, const st_pub *pub, int rg, int64_t *lsn, qv_err *err);
/* A row group whose rows are all deleted and whose data is gone (no file,
   no buffers): rows still count for row numbers. make_tomb drops the data. */
bool st_rg_is_tomb(const st_rg *rg);
void st_rg_make_tomb(st_rg *rg, int ncols);
void st_tomb_column(const st_table *t, const st_pub *p, int col, int64_t rows, qv_array *out);
/* Install a deletion vector read from the manifest on row group rg (commit_mu held). */
void st_rg_set_del(st_table *t, st_rg *rg, const uint8_t *bits, size_t len);

/* ---- recover.c ---- */
int st_recover(st_db *db, qv_err *err);

/* QV_EPRECONDITION with the read-only reason on a read replica, else QV_OK. */
int st_db_read_only_check(st_db *db, qv_err *err);

#endif
