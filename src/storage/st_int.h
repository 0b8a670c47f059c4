/*
** storage internals shared by the .c files of this module (not installed).
**
** Ownership and states:
** - st_db is refcounted: the opener holds one ref (dropped by st_db_close),
**   every st_table holds one, so a table released after close still has a
**   valid db to point at. A closed db refuses appends and catalog changes.
** - st_table is refcounted: the catalog holds one ref until drop, every
**   st_table_open caller and every snapshot/append holds one.
** - Writer-side state of a table (rgs, dicts, rows) is guarded by
**   commit_mu; only a commit (or replay/checkpoint holding commit_mu) touches it.
** - What readers see is st_pub, an immutable refcounted description of the
**   table (row groups as st_rgview + dictionary views) swapped under mu at
**   each commit. A snapshot is just a ref on one st_pub.
** - Buffers are shared between writer state and views: a view holds
**   slices (with exact sizes) of the writer's full-capacity segments; the
**   writer only writes past the rows any view covers, and replaces (never
**   reallocs) buffers that must grow.
**
** Lock order: db->cat_mu -> table->commit_mu (all, in catalog order) ->
** db->wal_mu -> table->mu. append_mu only guards the `appending` flag.
*/
#ifndef ST_INT_H
#define ST_INT_H

#include "storage/storage.h"

#include <pthread.h>

#define ST_DEFAULT_RG_ROWS 65536
#define ST_MAX_RG_ROWS (1 << 24)
#define ST_MAX_FIELDS 1024
#define ST_DEFAULT_CKPT_BYTES (64ll << 20)

typedef struct st_colview {
    qv_buffer *validity; /* NULL when the segment has no nulls (as of the view) */
    qv_buffer *values, *data;
    st_stats stats;
} st_colview;

typedef struct st_rgview {
    atomic_int refs;
    int64_t rows;
    int ncols;
    st_colview cols[];
} st_rgview;

typedef struct st_pub {
    atomic_int refs;
    int64_t rows, bytes;
    int nrgs, ncols;
    st_rgview **rgs;
    qv_array **dicts; /* per column; SYMBOL columns only, else NULL */
} st_pub;

typedef struct st_colseg {
    qv_buffer *validity, *values, *data; /* full capacity; data grows by replacement */
    size_t data_len;
    st_stats stats;
} st_colseg;

typedef struct st_rg {
    int64_t rows;
    st_colseg *cols;
} st_rg;

typedef struct st_dict {
    qv_buffer *offsets, *data; /* replaced when they must grow */
    int32_t n, cap;
    size_t data_len;
    int32_t *slots; /* open addressing: code + 1, 0 = empty */
    uint32_t nslots;
} st_dict;

struct st_table {
    atomic_int refs;
    st_db *db;
    uint64_t id;
    char *name;
    qv_schema schema;
    int64_t rg_cap;
    atomic_bool dropped;

    pthread_mutex_t mu; /* guards pub */
    st_pub *pub;

    pthread_mutex_t append_mu;
    pthread_cond_t append_cv;
    bool appending;

    pthread_mutex_t commit_mu; /* guards everything below */
    st_rg **rgs;
    int nrgs, rgs_cap;
    st_dict *dicts; /* per column, used for SYMBOL */
    int64_t rows;
    int nckpt; /* leading sealed row groups already in column files */
};

struct st_snapshot {
    st_table *t;
    st_pub *pub;
};

struct st_append {
    st_table *t;
    int nb, cap;
    qv_batch *batches;
    int64_t rows;
};

struct st_db {
    atomic_int refs;
    bool in_memory;
    char *dir;
    int wal_sync_ms;
    int64_t rg_rows;
    int lock_fd;

    pthread_mutex_t cat_mu;
    st_table **tables;
    int ntables;
    uint64_t next_id;
    bool closed;

    /* WAL: see wal.c */
    pthread_mutex_t wal_mu;
    pthread_cond_t wal_cv;
    int wal_fd;
    uint64_t wal_seq;
    int64_t wal_file_bytes;
    int64_t wal_base_bytes; /* header + carried rows: not counted toward the next checkpoint */
    int64_t lsn_written, lsn_synced;
    bool wal_broken, syncer_stop, syncer_on;
    bool sync_busy; /* a committer is in fdatasync without wal_mu (fd stays open) */
    pthread_t syncer;

    pthread_mutex_t ckpt_mu;
    int64_t ckpt_bytes;
    bool replaying;

    _Atomic int64_t st_wal_bytes, st_wal_syncs, st_commits, st_checkpoints;

    st_commit_hook commit_hook; /* set once before any commit */
    void *commit_hook_arg;
};

/* ---- table.c ---- */
st_table *st_table_new(st_db *db, uint64_t id, const char *name, const qv_schema *schema,
                       int64_t rg_cap);
void st_table_unref(st_table *t);
/* Schema/type/nullability checks of one batch against a table. */
int st_check_batch(const st_table *t, const qv_batch *b, qv_err *err);
/* Refuses batches whose text could overflow int32 string offsets (commit_mu held). */
int st_check_text_room(st_table *t, const qv_batch *bs, int nb, qv_err *err);
/* Copy rows into row groups (commit_mu held). Cannot fail for a checked batch. */
void st_apply_batch(st_table *t, const qv_batch *b);
/* Build and swap in a new st_pub from the writer state (commit_mu held). */
void st_publish(st_table *t);
st_pub *st_pub_get(st_table *t);
void st_pub_unref(st_pub *p);
/* Row group rg of pub as a batch (SYMBOL columns carry their dict). */
void st_pub_batch(const st_table *t, const st_pub *p, int rg, qv_batch *out);

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
/* Returns a malloc'd NUL-terminated name or NULL (r->bad set). */
char *st_get_name(st_rd *r);
static inline void st_wr_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t st_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
/* qv_array_get_str that tolerates a missing data buffer (all strings empty). */
const char *st_array_str(const qv_array *a, int64_t i, int32_t *len);
void st_encode_schema(qv_str *s, const qv_schema *schema);
int st_decode_schema(st_rd *r, qv_schema *out, qv_err *err);
/* Column data of a batch; SYMBOL columns are written as STRING. */
void st_encode_batch(qv_str *s, const qv_batch *b);
/* Decode into a batch whose schema is `schema` with SYMBOL turned into STRING. */
int st_decode_batch(st_rd *r, const qv_schema *schema, qv_batch *out, qv_err *err);
int st_check_name(const char *name, const char *what, qv_err *err);
int st_check_schema(const qv_schema *schema, qv_err *err);

/* ---- catalog.c ---- */
void st_db_unref(st_db *db);
/* Replay helpers (recovery, no WAL writes). */
int st_catalog_add(st_db *db, uint64_t id, const char *name, const qv_schema *schema,
                   int64_t rg_cap, st_table **out, qv_err *err);
st_table *st_catalog_find_id(st_db *db, uint64_t id);
void st_catalog_remove_id(st_db *db, uint64_t id);

/* ---- wal.c ---- */
enum { ST_REC_CREATE = 1, ST_REC_DROP = 2, ST_REC_COMMIT = 3, ST_REC_CARRY = 4 };
#define ST_WAL_HDR 20
#define ST_REC_HDR 9
int st_wal_start(st_db *db, uint64_t seq, qv_err *err);
void st_wal_stop(st_db *db);
/* Append one record and make it durable (fsync or group commit). */
int st_wal_log(st_db *db, int type, const qv_str *payload, qv_err *err);
/* With wal_mu held: write without waiting; returns the end LSN or -1. */
int64_t st_wal_write_locked(st_db *db, int type, const qv_str *payload, qv_err *err);
int st_wal_wait(st_db *db, int64_t lsn, qv_err *err);
/* With wal_mu held: sync and close the current file, start file seq. */
int st_wal_rotate_locked(st_db *db, uint64_t seq, qv_err *err);
/* Recovery: replay one WAL file, truncating a bad tail. *stop set when the
   file was cut (later files must not be replayed). */
int st_wal_replay_file(st_db *db, const char *path, uint64_t seq, bool carry_ok, bool *stop,
                       int64_t *records, qv_err *err);
int st_fsync_dir(const char *dir, qv_err *err);
int st_wal_sync_locked(st_db *db, qv_err *err);
int st_read_file(const char *path, uint8_t **out, size_t *n, qv_err *err);

/* ---- checkpoint.c ---- */
int st_recover(st_db *db, qv_err *err);
int st_checkpoint_run(st_db *db, qv_err *err);
void st_maybe_checkpoint(st_db *db);

#endif
