/*
** Opening and closing a database: st_db_open takes the directory's LOCK,
** recovers (recover.c) and starts the checkpoint thread; st_db_close stops
** it, checkpoints, marks the db closed (appends and catalog changes then
** fail), closes the WAL and drops the catalog's table refs. Tables a caller
** still holds stay readable until released.
*/
#include "st_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *dir, qv_err *err) {
    char *p = qv_xstrdup(dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        mkdir(p, 0755);
        *q = '/';
    }
    int rc = mkdir(p, 0755);
    free(p);
    struct stat st;
    if (rc != 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        return qv_err_set(err, QV_EIO, "cannot create data directory %s: %m", dir);
    return QV_OK;
}

int st_db_open(const st_options *opts, st_db **out, qv_err *err) {
    *out = NULL;
    if (!opts) return qv_err_set(err, QV_EINVAL, "storage options missing");
    if (opts->rowgroup_rows < 0 || opts->rowgroup_rows > ST_MAX_RG_ROWS)
        return qv_err_set(err, QV_EINVAL, "rowgroup_rows %lld out of range 1..%d",
                          (long long)opts->rowgroup_rows, ST_MAX_RG_ROWS);
    if (opts->wal_sync_ms < 0 || opts->wal_sync_ms > 60000)
        return qv_err_set(err, QV_EINVAL, "wal_sync_ms %d out of range 0..60000", opts->wal_sync_ms);
    if (!opts->in_memory && (!opts->data_dir || !*opts->data_dir))
        return qv_err_set(err, QV_EINVAL, "no data directory given (and not in-memory)");
    if (!opts->in_memory && strlen(opts->data_dir) > 4000)
        return qv_err_set(err, QV_EINVAL, "data directory path is longer than 4000 bytes");
    st_db *db = qv_xcalloc(1, sizeof *db);
    atomic_init(&db->refs, 1);
    db->in_memory = opts->in_memory;
    db->buffered_bulk = opts->buffered_bulk;
    db->wal_sync_ms = opts->wal_sync_ms;
    db->rg_rows = opts->rowgroup_rows ? opts->rowgroup_rows : ST_DEFAULT_RG_ROWS;
    db->lock_fd = -1;
    db->next_id = 1;
    atomic_init(&db->ckpt_bytes, opts->checkpoint_bytes > 0 ? opts->checkpoint_bytes : ST_DEFAULT_CKPT_BYTES);
    pthread_mutex_init(&db->cat_mu, NULL);
    pthread_mutex_init(&db->ckpt_mu, NULL);
    pthread_mutex_init(&db->ckq_mu, NULL);
    pthread_cond_init(&db->ckq_cv, NULL);
    if (db->in_memory) {
        st_checkpoint_start_thread(db); /* retention */
        *out = db;
        return QV_OK;
    }
    db->dir = qv_xstrdup(opts->data_dir);
    if (mkdir_p(db->dir, err)) goto fail;
    char path[4096];
    snprintf(path, sizeof path, "%s/LOCK", db->dir);
    db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0) {
        qv_err_set(err, QV_EIO, "cannot open %s: %m", path);
        goto fail;
    }
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        qv_err_set(err, QV_EIO, "data directory %s is in use by another process", db->dir);
        goto fail;
    }
    if (st_recover(db, err)) goto fail;
    st_checkpoint_start_thread(db);
    *out = db;
    return QV_OK;
fail:
    st_db_close(db);
    return err ? err->code : QV_EIO;
}

void st_db_close(st_db *db) {
    if (!db) return;
    st_checkpoint_stop_thread(db);
    if (!db->in_memory && db->wal) {
        qv_err e;
        qv_err_clear(&e);
        if (st_checkpoint_run(db, &e)) QV_ERROR("checkpoint at close failed: %s", e.msg);
    }
    pthread_mutex_lock(&db->cat_mu);
    db->closed = true;
    st_table **tabs = db->tables;
    int n = db->ntables;
    db->tables = NULL;
    db->ntables = 0;
    pthread_mutex_unlock(&db->cat_mu);
    st_wal_shutdown(db->wal);
    for (int i = 0; i < n; i++) st_table_unref(tabs[i]);
    free(tabs);
    st_db_unref(db);
}

