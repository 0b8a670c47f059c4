/*
** Checkpoints. A checkpoint rotates the WAL (carrying the rows of every
** partly filled row group into the new file as CARRY records), writes each
** sealed row group still in anonymous memory to its column file and turns
** it file-backed, then publishes a MANIFEST naming every table, its row
** groups in column files with their stats, and the WAL file replay starts
** from; only then are older WAL files and unreferenced column files removed.
**
** Runs on a background thread (woken by st_checkpoint_poke once the WAL
** passes the threshold), so commits never pay for it; also on demand
** (st_db_checkpoint), after recovery and at close. ckpt_mu makes them one
** at a time; ckq_mu guards the thread's wake-up state.
*/
#include "st_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct ck_table {
    st_table *t;
    st_pub *pub;
    int sealed;
} ck_table;

typedef struct ck_job {
    ck_table *c;
    int64_t fno;
    st_rg *wrg;
    st_map *map;
    int64_t bytes;
} ck_job;

/* Keep a column file iff a table (listed or being created by a put) holds it
   as a file-backed row group. */
static bool file_in_use(st_db *db, uint64_t id, long long rg) {
    bool keep = false;
    pthread_mutex_lock(&db->cat_mu);
    st_table *t = st_catalog_find_any_locked(db, id);
    if (t) atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&db->cat_mu);
    if (!t) return false;
    pthread_mutex_lock(&t->commit_mu);
    for (int i = 0; !keep && i < t->nrgs; i++) keep = t->rgs[i]->map && t->rgs[i]->fno == rg;
    pthread_mutex_unlock(&t->commit_mu);
    st_table_unref(t);
    return keep;
}

/* The file numbers table `id` held as file-backed row groups when first
   asked, sorted: one pass over its row groups per table, so telling a
   directory of n column files costs n log n, not n * n (at 20000 row
   groups the per-file scan took two seconds of every start). A file found
   here is kept; one not found is asked again with file_in_use, exactly as
   before, so a file a put writes meanwhile is never taken for garbage. */
typedef struct fno_set {
    uint64_t id;
    int64_t *f;
    int n;
} fno_set;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool fno_set_has(st_db *db, fno_set **sets, int *nsets, uint64_t id, int64_t rg) {
    fno_set *s = NULL;
    for (int i = 0; !s && i < *nsets; i++)
        if ((*sets)[i].id == id) s = &(*sets)[i];
    if (!s) {
        *sets = qv_xrealloc(*sets, sizeof **sets * (size_t)(*nsets + 1));
        s = &(*sets)[(*nsets)++];
        *s = (fno_set){.id = id};
        pthread_mutex_lock(&db->cat_mu);
        st_table *t = st_catalog_find_any_locked(db, id);
        if (t) atomic_fetch_add(&t->refs, 1);
        pthread_mutex_unlock(&db->cat_mu);
        if (t) {
            pthread_mutex_lock(&t->commit_mu);
            s->f = qv_xmalloc(sizeof(int64_t) * (size_t)(t->nrgs + 1));
            for (int i = 0; i < t->nrgs; i++)
                if (t->rgs[i]->map) s->f[s->n++] = t->rgs[i]->fno;
            pthread_mutex_unlock(&t->commit_mu);
            st_table_unref(t);
            qsort(s->f, (size_t)s->n, sizeof(int64_t), cmp_i64);
        }
    }
    return s->n && bsearch(&rg, s->f, (size_t)s->n, sizeof(int64_t), cmp_i64);
}

void st_remove_garbage(st_db *db, uint64_t keep_from) {
    DIR *d = opendir(db->dir);
    if (!d) return;
    struct dirent *e;
    char path[ST_PATH_MAX];
    fno_set *sets = NULL;
    int nsets = 0;
    while ((e = readdir(d))) {
        unsigned long long id, seq;
        long long rg;
        int used = 0;
        size_t len = strlen(e->d_name);
        bool drop = false;
        if (len == 24 && sscanf(e->d_name, "wal-%16llu.log%n", &seq, &used) == 1 && used == 24)
            drop = seq < keep_from;
        else if (sscanf(e->d_name, "t%llu-%lld.qvc%n", &id, &rg, &used) == 2 && used == (int)len)
            drop = !fno_set_has(db, &sets, &nsets, id, rg) && !file_in_use(db, id, rg);
        if (!drop) continue;
        snprintf(path, sizeof path, "%s/%s", db->dir, e->d_name);
        if (unlink(path) != 0) QV_WARN("cannot remove %s: %m", path);
    }
    closedir(d);
    for (int i = 0; i < nsets; i++) free(sets[i].f);
    free(sets);
}

/* Step 1 (cat_mu and every commit_mu held): rotate, carry partial tails. */
static int rotate_and_carry(st_db *db, ck_table *cs, int n, uint64_t seq, qv_err *err) {
    int rc = st_wal_rotate(db->wal, seq, err);
    atomic_store(&db->wal_files, 0);
    int64_t lsn = 0;
    for (int i = 0; rc == QV_OK && i < n; i++) {
        st_table *t = cs[i].t;
        cs[i].pub = st_pub_get(t);
        int nr = cs[i].pub->nrgs;
        cs[i].sealed = nr && cs[i].pub->rgs[nr - 1]->rows < t->rg_cap ? nr - 1 : nr;
        if (cs[i].sealed == nr) continue;
        /* The partly filled row group lives on only in the new WAL. */
        qv_batch b;
        if ((rc = st_pub_batch(t, cs[i].pub, nr - 1, &b, err))) break;
        qv_str rec;
        qv_str_init(&rec);
        st_put_u64(&rec, t->id);
        st_put_u32(&rec, 1);
        st_encode_batch(&rec, &b);
        qv_batch_free(&b);
        const qv_str *parts[1] = {&rec};
        lsn = st_wal_append(db->wal, ST_REC_CARRY, parts, 1, err);
        if (lsn < 0) rc = err ? err->code : QV_EIO;
        qv_str_free(&rec);
        if (rc == QV_OK) rc = st_delete_carry(db, t, cs[i].pub, nr - 1, &lsn, err); /* its deletion vector */
    }
    if (rc == QV_OK && lsn > 0) rc = st_wal_wait(db->wal, lsn, err);
    /* Carried rows do not count toward the next checkpoint, or many partly
       filled tables could make every commit checkpoint again. */
    st_wal_mark_base(db->wal);
    return rc;
}

/* Step 2: write sealed anonymous row groups (no locks held: they are immutable). */
static int write_jobs(st_db *db, ck_job *jobs, int nj, qv_err *err) {
    for (int j = 0; j < nj; j++) {
        ck_job *x = &jobs[j];
        st_table *t = x->c->t;
        char path[ST_PATH_MAX];
        st_col_path(db->dir, t->id, x->fno, path, sizeof path);
        if (st_rg_write_file(x->wrg, &t->schema, x->c->pub->dicts, path, t->id, x->fno, ST_WF_SYNC, NULL, &x->bytes,
                             err))
            return err->code;
        x->map = st_map_new(path, t->id, x->fno, t->rg_cap, &t->schema, true);
    }
    return st_fsync_dir(db->dir, err);
}

static int build_manifest(st_db *db, ck_table *cs, int n, uint64_t seq, uint64_t next_id, qv_err *err) {
    st_manifest m = {.wal_seq = seq, .next_id = next_id, .ntables = n};
    m.tables = qv_xcalloc((size_t)(n ? n : 1), sizeof *m.tables);
    int rc = QV_OK;
    for (int i = 0; i < n; i++) {
        st_table *t = cs[i].t;
        st_man_table *mt = &m.tables[i];
        mt->id = t->id;
        mt->rg_cap = t->rg_cap;
        mt->name = qv_xstrdup(t->name);
        qv_schema_copy(&mt->schema, &t->schema);
        mt->rgs = qv_xcalloc((size_t)(cs[i].sealed ? cs[i].sealed : 1), sizeof *mt->rgs);
        pthread_mutex_lock(&t->commit_mu);
        for (int g = 0; g < cs[i].sealed; g++) {
            const st_rg *rg = t->rgs[g];
            if (!rg->map && !st_rg_is_tomb(rg)) {
                rc = qv_err_set(err, QV_EINTERNAL, "table %s row group %d has no column file", t->name, g);
                break;
            }
            mt->rgs[g].fno = rg->fno;
            mt->rgs[g].bytes = rg->bytes;
            mt->rgs[g].stats = qv_xcalloc((size_t)t->schema.nfields, sizeof(st_stats));
            for (int c = 0; c < t->schema.nfields; c++) mt->rgs[g].stats[c] = rg->cols[c].stats;
            if (rg->del && rg->ndel) { /* deletion vectors live in the manifest */
                mt->rgs[g].del_len = (uint32_t)((rg->rows + 7) / 8);
                mt->rgs[g].del = qv_xmalloc(mt->rgs[g].del_len);
                memcpy(mt->rgs[g].del, rg->del->data, mt->rgs[g].del_len);
            }
            mt->nrgs++;
        }
        mt->next_fno = t->next_fno;
        mt->ret_col = t->ret_col;
        mt->ret_ns = t->ret_ns;
        mt->removed = t->removed_rows;
        pthread_mutex_unlock(&t->commit_mu);
    }
    if (rc == QV_OK) rc = st_manifest_write(db->dir, &m, err);
    st_manifest_free(&m);
    return rc;
}

static int checkpoint_locked(st_db *db, qv_err *err) {
    pthread_mutex_lock(&db->cat_mu);
    if (db->closed || !db->wal) {
        pthread_mutex_unlock(&db->cat_mu);
        return QV_OK;
    }
    int n = db->ntables;
    ck_table *cs = qv_xcalloc((size_t)(n ? n : 1), sizeof *cs);
    for (int i = 0; i < n; i++) {
        cs[i].t = db->tables[i];
        atomic_fetch_add(&cs[i].t->refs, 1);
        pthread_mutex_lock(&cs[i].t->commit_mu);
    }
    uint64_t next_id = db->next_id, seq = st_wal_seq(db->wal) + 1;
    int rc = rotate_and_carry(db, cs, n, seq, err);
    int nj = 0, capj = 16;
    ck_job *jobs = qv_xmalloc(sizeof *jobs * (size_t)capj);
    for (int i = 0; rc == QV_OK && i < n; i++) { /* sealed groups a DELETE emptied lose their data */
        bool any = false;
        for (int g = 0; g < cs[i].sealed; g++) {
            st_rg *rg = cs[i].t->rgs[g];
            if (rg->rows > 0 && rg->ndel == rg->rows && !st_rg_is_tomb(rg)) {
                st_rg_make_tomb(rg, cs[i].t->schema.nfields);
                any = true;
            }
        }
        st_pub *p = cs[i].t->pub;
        if (any) st_publish_upto(cs[i].t, p->nrgs, p->nrgs ? p->rgs[p->nrgs - 1]->rows : 0);
    }
    for (int i = 0; rc == QV_OK && i < n; i++)
        for (int g = 0; g < cs[i].sealed; g++) {
            if (cs[i].t->rgs[g]->map || st_rg_is_tomb(cs[i].t->rgs[g])) continue;
            if (nj == capj) jobs = qv_xrealloc(jobs, sizeof *jobs * (size_t)(capj *= 2));
            jobs[nj++] = (ck_job){.c = &cs[i], .fno = cs[i].t->next_fno++, .wrg = cs[i].t->rgs[g]};
        }
    for (int i = n - 1; i >= 0; i--) pthread_mutex_unlock(&cs[i].t->commit_mu);
    pthread_mutex_unlock(&db->cat_mu);

    if (rc == QV_OK) rc = write_jobs(db, jobs, nj, err);
    /* Written row groups turn file-backed: their memory goes once readers let go. */
    for (int i = 0; i < n; i++) {
        st_table *t = cs[i].t;
        bool any = false;
        pthread_mutex_lock(&t->commit_mu);
        for (int j = 0; j < nj; j++)
            if (jobs[j].c == &cs[i] && jobs[j].map) {
                st_rg_to_file(jobs[j].wrg, t->schema.nfields, jobs[j].map, jobs[j].fno, jobs[j].bytes, NULL);
                jobs[j].map = NULL;
                any = true;
            }
        if (any) st_publish_upto(t, t->pub->nrgs, t->pub->nrgs ? t->pub->rgs[t->pub->nrgs - 1]->rows : 0);
        pthread_mutex_unlock(&t->commit_mu);
    }
    if (rc == QV_OK) rc = build_manifest(db, cs, n, seq, next_id, err);
    if (rc == QV_OK) {
        for (int i = 0; i < n; i++) cs[i].t->nckpt = cs[i].sealed;
        st_remove_garbage(db, seq);
        atomic_fetch_add(&db->st_checkpoints, 1);
    }
    for (int j = 0; j < nj; j++) st_map_unref(jobs[j].map);
    free(jobs);
    for (int i = 0; i < n; i++) {
        st_pub_unref(cs[i].pub);
        st_table_unref(cs[i].t);
    }
    free(cs);
    if (rc) qv_err_prefix(err, "checkpoint");
    return rc;
}

int st_checkpoint_run(st_db *db, qv_err *err) {
    if (db->in_memory) return QV_OK;
    pthread_mutex_lock(&db->ckpt_mu);
    int rc = checkpoint_locked(db, err);
    pthread_mutex_unlock(&db->ckpt_mu);
    return rc;
}

int st_db_checkpoint(st_db *db, qv_err *err) { return st_checkpoint_run(db, err); }

/* Checkpoints when poked; about once a second, the retention task. */
static void *ckpt_main(void *arg) {
    st_db *db = arg;
    int64_t next_tick = qv_monotonic_ns() + 1000000000;
    pthread_mutex_lock(&db->ckq_mu);
    while (!db->ckq_stop) {
        if (!db->ckq_due && qv_monotonic_ns() < next_tick) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_nsec += 200000000;
            if (dl.tv_nsec >= 1000000000) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&db->ckq_cv, &db->ckq_mu, &dl);
            continue;
        }
        bool due = db->ckq_due;
        db->ckq_due = false;
        pthread_mutex_unlock(&db->ckq_mu);
        qv_err e;
        qv_err_clear(&e);
        if (due && st_checkpoint_run(db, &e)) QV_ERROR("%s", e.msg);
        if (qv_monotonic_ns() >= next_tick) {
            st_retention_tick(db);
            next_tick = qv_monotonic_ns() + 1000000000;
        }
        pthread_mutex_lock(&db->ckq_mu);
    }
    pthread_mutex_unlock(&db->ckq_mu);
    return NULL;
}

void st_checkpoint_start_thread(st_db *db) {
    if (db->ckq_on) return;
    db->ckq_stop = false;
    if (pthread_create(&db->ckq_thread, NULL, ckpt_main, db) == 0) db->ckq_on = true;
    else QV_WARN("cannot start the checkpoint thread; checkpoints run at close and on demand only");
}

void st_checkpoint_stop_thread(st_db *db) {
    if (!db->ckq_on) return;
    pthread_mutex_lock(&db->ckq_mu);
    db->ckq_stop = true;
    pthread_cond_broadcast(&db->ckq_cv);
    pthread_mutex_unlock(&db->ckq_mu);
    pthread_join(db->ckq_thread, NULL);
    db->ckq_on = false;
}

void st_checkpoint_poke(st_db *db) {
    if (db->in_memory || !db->wal) return;
    if (st_wal_pending_bytes(db->wal) <= atomic_load(&db->ckpt_bytes) && atomic_load(&db->wal_files) < ST_CKPT_FILES)
        return;
    pthread_mutex_lock(&db->ckq_mu);
    db->ckq_due = true;
    pthread_cond_signal(&db->ckq_cv);
    pthread_mutex_unlock(&db->ckq_mu);
}
