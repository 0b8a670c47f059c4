/*
** The catalog: create/drop/open/list, each change a WAL record that is
** durable before it is visible. The catalog array owns one ref per table;
** cat_mu guards it, next_id and closed (set by st_db_close).
*/
#include "st_int.h"

#include <stdlib.h>
#include <string.h>

int st_catalog_find_locked(st_db *db, const char *name) {
    for (int i = 0; i < db->ntables; i++)
        if (strcmp(db->tables[i]->name, name) == 0) return i;
    return -1;
}

st_table *st_catalog_find_id(st_db *db, uint64_t id) {
    for (int i = 0; i < db->ntables; i++)
        if (db->tables[i]->id == id) return db->tables[i];
    return NULL;
}

void st_catalog_insert_locked(st_db *db, st_table *t) {
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
    if (st_catalog_find_locked(db, name) >= 0 || st_catalog_find_id(db, id))
        return qv_err_set(err, QV_ECORRUPT, "table %s (id %llu) defined twice", name,
                          (unsigned long long)id);
    st_table *t = st_table_new(db, id, name, schema, rg_cap);
    st_catalog_insert_locked(db, t);
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

/* want_id 0: the next free id (st_table_create); else that id (replication). */
static int create_table(st_db *db, uint64_t want_id, const char *name, const qv_schema *schema, qv_err *err) {
    if (st_check_name(name, "table", err)) return err->code;
    if (st_check_schema(schema, err)) return qv_err_prefix(err, "table %s", name);
    pthread_mutex_lock(&db->cat_mu);
    int rc = QV_OK;
    if (db->closed) {
        rc = qv_err_set(err, QV_EINVAL, "database is closed");
        goto out;
    }
    if (db->read_only && !want_id) {
        rc = qv_err_set(err, QV_EPRECONDITION, "%s", db->read_only);
        goto out;
    }
    if (st_catalog_find_locked(db, name) >= 0) {
        rc = qv_err_set(err, QV_EEXISTS, "table %s already exists", name);
        goto out;
    }
    for (int k = 0; want_id && k < db->ntables; k++)
        if (db->tables[k]->id == want_id) {
            rc = qv_err_set(err, QV_EEXISTS, "table id %llu already exists", (unsigned long long)want_id);
            goto out;
        }
    uint64_t id = want_id ? want_id : db->next_id;
    if (!db->in_memory) {
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, id);
        st_put_u64(&rec, (uint64_t)db->rg_rows);
        st_put_name(&rec, name);
        st_encode_schema(&rec, schema);
        rc = st_wal_log(db->wal, ST_REC_CREATE, &rec, err);
        qv_str_free(&rec);
        if (rc) goto out;
    }
    st_catalog_insert_locked(db, st_table_new(db, id, name, schema, db->rg_rows));
out:
    pthread_mutex_unlock(&db->cat_mu);
    return rc;
}

int st_table_create(st_db *db, const char *name, const qv_schema *schema, qv_err *err) {
    return create_table(db, 0, name, schema, err);
}

int st_table_create_id(st_db *db, uint64_t id, const char *name, const qv_schema *schema, qv_err *err) {
    if (id == 0) return qv_err_set(err, QV_EINVAL, "table id 0 is not valid");
    return create_table(db, id, name, schema, err);
}

void st_db_set_read_only(st_db *db, const char *why) {
    pthread_mutex_lock(&db->cat_mu);
    free(db->read_only);
    db->read_only = why ? qv_xstrdup(why) : NULL;
    pthread_mutex_unlock(&db->cat_mu);
}

int st_db_read_only_check(st_db *db, qv_err *err) {
    pthread_mutex_lock(&db->cat_mu);
    int rc = db->read_only ? qv_err_set(err, QV_EPRECONDITION, "%s", db->read_only) : QV_OK;
    pthread_mutex_unlock(&db->cat_mu);
    return rc;
}

static int drop_table(st_db *db, const char *name, bool replicating, qv_err *err) {
    if (!name) return qv_err_set(err, QV_EINVAL, "table name missing");
    pthread_mutex_lock(&db->cat_mu);
    int rc = QV_OK;
    int i = db->closed ? -1 : st_catalog_find_locked(db, name);
    if (db->closed) {
        rc = qv_err_set(err, QV_EINVAL, "database is closed");
        goto out;
    }
    if (db->read_only && !replicating) {
        rc = qv_err_set(err, QV_EPRECONDITION, "%s", db->read_only);
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
        rc = st_wal_log(db->wal, ST_REC_DROP, &rec, err);
        qv_str_free(&rec);
        if (rc) goto out;
    }
    remove_at_locked(db, i);
out:
    pthread_mutex_unlock(&db->cat_mu);
    return rc;
}

int st_table_drop(st_db *db, const char *name, qv_err *err) { return drop_table(db, name, false, err); }
int st_table_drop_replica(st_db *db, const char *name, qv_err *err) { return drop_table(db, name, true, err); }

int st_table_open(st_db *db, const char *name, st_table **out, qv_err *err) {
    *out = NULL;
    if (!name) return qv_err_set(err, QV_EINVAL, "table name missing");
    pthread_mutex_lock(&db->cat_mu);
    int i = st_catalog_find_locked(db, name);
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
        inf[i].id = t->id;
        inf[i].removed_rows = st_table_removed_rows(t);
        inf[i].trim_rows = st_table_trim_rows(t);
        qv_schema_copy(&inf[i].schema, &t->schema);
        st_pub *p = st_pub_get(t);
        inf[i].rows = p->rows;
        inf[i].live_rows = p->rows - p->ndel;
        inf[i].bytes = p->bytes;
        st_pub_unref(p);
        const char *rc;
        st_table_get_retention(t, &rc, &inf[i].retention_ns);
        inf[i].retention_column = rc ? qv_xstrdup(rc) : NULL;
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
        free(infos[i].retention_column);
        qv_schema_free(&infos[i].schema);
    }
    free(infos);
}

void st_db_get_stats(st_db *db, st_db_stats *out) {
    st_wal_stats ws = {0, 0};
    if (db->wal) st_wal_get_stats(db->wal, &ws);
    out->wal_bytes = ws.bytes;
    out->wal_syncs = ws.syncs;
    out->commits = atomic_load(&db->st_commits);
    out->checkpoints = atomic_load(&db->st_checkpoints);
}

void st_db_set_hooks(st_db *db, const st_hooks *h) {
    if (h) db->hooks = *h;
    else memset(&db->hooks, 0, sizeof db->hooks);
}

void st_db_set_checkpoint_bytes(st_db *db, int64_t bytes) {
    atomic_store(&db->ckpt_bytes, bytes > 0 ? bytes : ST_DEFAULT_CKPT_BYTES);
}

st_table *st_catalog_find_any_locked(st_db *db, uint64_t id) {
    st_table *t = st_catalog_find_id(db, id);
    for (int i = 0; !t && i < db->npending; i++)
        if (db->pending[i]->id == id) t = db->pending[i];
    return t;
}

void st_catalog_pending_remove_locked(st_db *db, st_table *t) {
    for (int i = 0; i < db->npending; i++)
        if (db->pending[i] == t) {
            db->pending[i] = db->pending[--db->npending];
            return;
        }
}
