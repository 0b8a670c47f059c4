/*
** The database object and its catalog: open/close, create/drop/open/list.
** States of st_db: open (catalog changes and appends allowed) -> closed
** (st_db_close ran: checkpointed, WAL closed, catalog emptied; tables the
** caller still holds stay readable until released, appends fail).
** The catalog array owns one ref per table; cat_mu guards it and closed.
*/
#include "st_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void db_free(st_db *db) {
    free(db->tables);
    free(db->dir);
    pthread_mutex_destroy(&db->cat_mu);
    pthread_mutex_destroy(&db->wal_mu);
    pthread_cond_destroy(&db->wal_cv);
    pthread_mutex_destroy(&db->ckpt_mu);
    if (db->lock_fd >= 0) close(db->lock_fd);
    free(db);
}

void st_db_unref(st_db *db) {
    if (db && atomic_fetch_sub(&db->refs, 1) == 1) db_free(db);
}

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
    db->wal_sync_ms = opts->wal_sync_ms;
    db->rg_rows = opts->rowgroup_rows ? opts->rowgroup_rows : ST_DEFAULT_RG_ROWS;
    db->lock_fd = -1;
    db->wal_fd = -1;
    db->next_id = 1;
    db->ckpt_bytes = ST_DEFAULT_CKPT_BYTES;
    pthread_mutex_init(&db->cat_mu, NULL);
    pthread_mutex_init(&db->wal_mu, NULL);
    pthread_cond_init(&db->wal_cv, NULL);
    pthread_mutex_init(&db->ckpt_mu, NULL);
    if (db->in_memory) {
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
    *out = db;
    return QV_OK;
fail:
    st_db_close(db);
    return err ? err->code : QV_EIO;
}

void st_db_close(st_db *db) {
    if (!db) return;
    if (!db->in_memory && db->wal_fd >= 0) {
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
    st_wal_stop(db);
    for (int i = 0; i < n; i++) st_table_unref(tabs[i]);
    free(tabs);
    st_db_unref(db);
}

static int find_locked(st_db *db, const char *name) {
    for (int i = 0; i < db->ntables; i++)
        if (strcmp(db->tables[i]->name, name) == 0) return i;
    return -1;
}

st_table *st_catalog_find_id(st_db *db, uint64_t id) {
    for (int i = 0; i < db->ntables; i++)
        if (db->tables[i]->id == id) return db->tables[i];
    return NULL;
}

static void add_locked(st_db *db, st_table *t) {
    db->tables = qv_xrealloc(db->tables, sizeof(st_table *) * (size_t)(db->ntables + 1));
    db->tables[db->ntables++] = t;
    if (t->id >= db->next_id) db->next_id = t->id + 1;
}

static void remove_at_locked(st_db *db, int i) {
    st_table *t = db->tables[i];
    atomic_store(&t->dropped, true);
    memmove(db->tables + i, db->tables + i + 1, sizeof(st_table *) * (size_t)(db->ntables - i - 1));
    db->ntables--;
    st_table_unref(t);
}

int st_catalog_add(st_db *db, uint64_t id, const char *name, const qv_schema *schema,
                   int64_t rg_cap, st_table **out, qv_err *err) {
    if (st_check_name(name, "table", err) || st_check_schema(schema, err)) return err->code;
    if (rg_cap < 1 || rg_cap > ST_MAX_RG_ROWS)
        return qv_err_set(err, QV_ECORRUPT, "table %s: row group size %lld out of range", name,
                          (long long)rg_cap);
    if (find_locked(db, name) >= 0 || st_catalog_find_id(db, id))
        return qv_err_set(err, QV_ECORRUPT, "table %s (id %llu) defined twice", name,
                          (unsigned long long)id);
    st_table *t = st_table_new(db, id, name, schema, rg_cap);
    add_locked(db, t);
    if (out) *out = t;
    return QV_OK;
}

void st_catalog_remove_id(st_db *db, uint64_t id) {
    for (int i = 0; i < db->ntables; i++)
        if (db->tables[i]->id == id) {
            remove_at_locked(db, i);
            return;
        }
}

int st_table_create(st_db *db, const char *name, const qv_schema *schema, qv_err *err) {
    if (st_check_name(name, "table", err)) return err->code;
    if (st_check_schema(schema, err)) return qv_err_prefix(err, "table %s", name);
    pthread_mutex_lock(&db->cat_mu);
    int rc = QV_OK;
    if (db->closed) {
        rc = qv_err_set(err, QV_EINVAL, "database is closed");
        goto out;
    }
    if (find_locked(db, name) >= 0) {
        rc = qv_err_set(err, QV_EEXISTS, "table %s already exists", name);
        goto out;
    }
    uint64_t id = db->next_id;
    if (!db->in_memory) {
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, id);
        st_put_u64(&rec, (uint64_t)db->rg_rows);
        st_put_name(&rec, name);
        st_encode_schema(&rec, schema);
        rc = st_wal_log(db, ST_REC_CREATE, &rec, err);
        qv_str_free(&rec);
        if (rc) goto out;
    }
    add_locked(db, st_table_new(db, id, name, schema, db->rg_rows));
out:
    pthread_mutex_unlock(&db->cat_mu);
    return rc;
}

int st_table_drop(st_db *db, const char *name, qv_err *err) {
    if (!name) return qv_err_set(err, QV_EINVAL, "table name missing");
    pthread_mutex_lock(&db->cat_mu);
    int rc = QV_OK;
    int i = db->closed ? -1 : find_locked(db, name);
    if (db->closed) {
        rc = qv_err_set(err, QV_EINVAL, "database is closed");
        goto out;
    }
    if (i < 0) {
        rc = qv_err_set(err, QV_ENOTFOUND, "table %s does not exist", name);
        goto out;
    }
    if (!db->in_memory) {
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, db->tables[i]->id);
        rc = st_wal_log(db, ST_REC_DROP, &rec, err);
        qv_str_free(&rec);
        if (rc) goto out;
    }
    remove_at_locked(db, i);
out:
    pthread_mutex_unlock(&db->cat_mu);
    return rc;
}

int st_table_open(st_db *db, const char *name, st_table **out, qv_err *err) {
    *out = NULL;
    if (!name) return qv_err_set(err, QV_EINVAL, "table name missing");
    pthread_mutex_lock(&db->cat_mu);
    int i = find_locked(db, name);
    if (i >= 0) {
        *out = db->tables[i];
        atomic_fetch_add(&(*out)->refs, 1);
    }
    pthread_mutex_unlock(&db->cat_mu);
    if (i < 0) return qv_err_set(err, QV_ENOTFOUND, "table %s does not exist", name);
    return QV_OK;
}

static int cmp_info(const void *a, const void *b) {
    return strcmp(((const st_table_info *)a)->name, ((const st_table_info *)b)->name);
}

int st_db_list(st_db *db, st_table_info **out, int *n, qv_err *err) {
    (void)err;
    pthread_mutex_lock(&db->cat_mu);
    int cnt = db->ntables;
    st_table_info *inf = qv_xcalloc((size_t)(cnt ? cnt : 1), sizeof *inf);
    for (int i = 0; i < cnt; i++) {
        st_table *t = db->tables[i];
        inf[i].name = qv_xstrdup(t->name);
        qv_schema_copy(&inf[i].schema, &t->schema);
        st_pub *p = st_pub_get(t);
        inf[i].rows = p->rows;
        inf[i].bytes = p->bytes;
        st_pub_unref(p);
    }
    pthread_mutex_unlock(&db->cat_mu);
    qsort(inf, (size_t)cnt, sizeof *inf, cmp_info);
    *out = inf;
    *n = cnt;
    return QV_OK;
}

void st_table_info_free_all(st_table_info *infos, int n) {
    if (!infos) return;
    for (int i = 0; i < n; i++) {
        free(infos[i].name);
        qv_schema_free(&infos[i].schema);
    }
    free(infos);
}

void st_db_get_stats(st_db *db, st_db_stats *out) {
    out->wal_bytes = atomic_load(&db->st_wal_bytes);
    out->wal_syncs = atomic_load(&db->st_wal_syncs);
    out->commits = atomic_load(&db->st_commits);
    out->checkpoints = atomic_load(&db->st_checkpoints);
}

void st_db_set_commit_hook(st_db *db, st_commit_hook fn, void *arg) {
    db->commit_hook = fn;
    db->commit_hook_arg = arg;
}

void st_db_set_checkpoint_bytes(st_db *db, int64_t bytes) {
    pthread_mutex_lock(&db->wal_mu);
    db->ckpt_bytes = bytes > 0 ? bytes : ST_DEFAULT_CKPT_BYTES;
    pthread_mutex_unlock(&db->wal_mu);
}
