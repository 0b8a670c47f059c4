/*
** Streaming appends. Each batch is copied into the table's row groups as it
** arrives, past every published row (readers do not see it); a row group it
** fills is written at once to its column file and turned file-backed, so an
** append of any size holds at most one row group in anonymous memory. The
** commit fsyncs those files, then logs one record naming them plus the rows
** of the still open tail row group, waits for it to be durable and
** publishes: all of the append becomes visible at once or none of it.
** Abort (or a crash: recovery removes files nothing names) drops the rows
** and the files. An append may also create its table (st_append_begin_new):
** the table is listed only when the append commits.
**
** States of st_append: open (batches) -> committed | aborted -> freed. It
** owns a table ref and the table's writer slot (t->appending); per batch it
** takes commit_mu. Recovery replays PUT/COMMIT/CARRY records here too.
** Who waits for the slot: st_append_begin on append_cv (a thread), or an
** st_waiter queued on t->waiters (no thread), told at every release.
*/
#include <time.h>
#include "st_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct st_append {
    st_table *t;
    bool creates;       /* the table is this append's, not yet listed */
    bool broken;        /* a batch failed after touching the table: abort only */
    int nrgs0;          /* writer row groups at begin */
    int64_t rows0;      /* writer rows at begin */
    int64_t tail0;      /* rows of the partly filled last row group at begin (0: none) */
    st_colseg *seg0;    /* its segments at begin (stats, lengths; buffers once sealed) */
    bool sealed0;       /* this append sealed that row group into a file */
    int first_file, nfiles; /* row groups this append wrote to column files */
    int64_t rows;
    st_filesync *sync;  /* their fdatasyncs, in the background as they are written */
};

static void take_slot(st_table *t) {
    pthread_mutex_lock(&t->append_mu);
    while (t->appending) pthread_cond_wait(&t->append_cv, &t->append_mu);
    t->appending = true;
    pthread_mutex_unlock(&t->append_mu);
}

static st_append *append_new(st_table *t) {
    st_append *a = qv_xcalloc(1, sizeof *a);
    a->t = t;
    pthread_mutex_lock(&t->commit_mu);
    a->nrgs0 = t->nrgs;
    a->rows0 = t->rows;
    st_rg *last = t->nrgs ? t->rgs[t->nrgs - 1] : NULL;
    if (last && !last->map && last->rows < t->rg_cap) {
        a->tail0 = last->rows;
        a->seg0 = qv_xcalloc((size_t)t->schema.nfields, sizeof(st_colseg));
        for (int c = 0; c < t->schema.nfields; c++) {
            a->seg0[c].stats = last->cols[c].stats;
            a->seg0[c].data_len = last->cols[c].data_len;
        }
    }
    a->first_file = -1;
    pthread_mutex_unlock(&t->commit_mu);
    return a;
}

int st_append_begin(st_table *t, st_append **out, qv_err *err) {
    *out = NULL;
    if (atomic_load(&t->dropped)) return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    take_slot(t);
    atomic_fetch_add(&t->refs, 1);
    *out = append_new(t);
    return QV_OK;
}

int st_append_begin_wait(st_table *t, int64_t wait_ms, st_append **out, qv_err *err) {
    *out = NULL;
    if (atomic_load(&t->dropped)) return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->append_mu);
    int wrc = 0;
    while (t->appending && wrc == 0) wrc = pthread_cond_timedwait(&t->append_cv, &t->append_mu, &until);
    bool got = !t->appending;
    if (got) t->appending = true;
    pthread_mutex_unlock(&t->append_mu);
    if (!got)
        return qv_err_set(err, QV_EBUSY, "table %s: another stream is still writing to it after %lld ms; retry",
                          t->name, (long long)wait_ms);
    atomic_fetch_add(&t->refs, 1);
    *out = append_new(t);
    return QV_OK;
}

bool st_append_try_begin(st_table *t, st_append **out) {
    *out = NULL;
    if (atomic_load(&t->dropped)) return false;
    pthread_mutex_lock(&t->append_mu);
    bool got = !t->appending;
    t->appending = true;
    pthread_mutex_unlock(&t->append_mu);
    if (!got) return false;
    atomic_fetch_add(&t->refs, 1);
    *out = append_new(t);
    return true;
}

/* append_mu held: w waits for t's slot. */
static void waiter_queue_locked(st_table *t, st_waiter *w) {
    atomic_fetch_add(&t->refs, 1);
    w->t = t;
    w->queued = true;
    w->next = t->waiters;
    t->waiters = w;
}

/* append_mu held, the slot just released: tell every waiter (they retry). */
static void waiters_tell_locked(st_table *t) {
    st_waiter *w = t->waiters;
    t->waiters = NULL;
    while (w) {
        st_waiter *next = w->next;
        w->queued = false;
        w->next = NULL;
        w->ready(w);
        w = next;
    }
}

void st_waiter_done(st_waiter *w) {
    st_table *t = w->t;
    if (!t) return;
    pthread_mutex_lock(&t->append_mu);
    if (w->queued)
        for (st_waiter **pp = &t->waiters; *pp; pp = &(*pp)->next)
            if (*pp == w) {
                *pp = w->next;
                break;
            }
    w->queued = false;
    w->next = NULL;
    pthread_mutex_unlock(&t->append_mu);
    w->t = NULL;
    st_table_unref(t);
}

int st_append_begin_async(st_table *t, st_waiter *w, st_append **out, qv_err *err) {
    *out = NULL;
    if (atomic_load(&t->dropped)) return qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    QV_ASSERT(w->t == NULL);
    pthread_mutex_lock(&t->append_mu);
    bool got = !t->appending;
    if (got) t->appending = true;
    else waiter_queue_locked(t, w);
    pthread_mutex_unlock(&t->append_mu);
    if (!got) return QV_OK;
    atomic_fetch_add(&t->refs, 1);
    *out = append_new(t);
    return QV_OK;
}

static int begin_new(st_db *db, const char *name, const qv_schema *schema, st_waiter *w, st_append **out,
                     qv_err *err);

int st_append_begin_new(st_db *db, const char *name, const qv_schema *schema, st_append **out, qv_err *err) {
    return begin_new(db, name, schema, NULL, out, err);
}

int st_append_begin_new_async(st_db *db, const char *name, const qv_schema *schema, st_waiter *w, st_append **out,
                              qv_err *err) {
    QV_ASSERT(w && w->t == NULL);
    return begin_new(db, name, schema, w, out, err);
}

static int begin_new(st_db *db, const char *name, const qv_schema *schema, st_waiter *w, st_append **out,
                     qv_err *err) {
    *out = NULL;
    if (st_check_name(name, "table", err)) return err->code;
    if (st_check_schema(schema, err)) return qv_err_prefix(err, "table %s", name);
    pthread_mutex_lock(&db->cat_mu);
    int rc = QV_OK;
    if (db->closed) rc = qv_err_set(err, QV_EINVAL, "database is closed");
    else if (st_catalog_find_locked(db, name) >= 0) rc = qv_err_set(err, QV_EEXISTS, "table %s already exists", name);
    for (int i = 0; rc == QV_OK && i < db->npending; i++)
        if (strcmp(db->pending[i]->name, name) == 0) {
            st_table *p = db->pending[i];
            if (!w) {
                rc = qv_err_set(err, QV_EEXISTS, "table %s is being created by another append", name);
                break;
            }
            /* Pending means its creating append has not ended: the release will tell w. */
            pthread_mutex_lock(&p->append_mu);
            waiter_queue_locked(p, w);
            pthread_mutex_unlock(&p->append_mu);
            pthread_mutex_unlock(&db->cat_mu);
            return QV_OK;
        }
    st_table *t = NULL;
    if (rc == QV_OK) {
        t = st_table_new(db, db->next_id++, name, schema, db->rg_rows);
        db->pending = qv_xrealloc(db->pending, sizeof(st_table *) * (size_t)(db->npending + 1));
        db->pending[db->npending++] = t;
    }
    pthread_mutex_unlock(&db->cat_mu);
    if (rc) return rc;
    t->appending = true;
    *out = append_new(t); /* owns the creation ref */
    (*out)->creates = true;
    return QV_OK;
}

/* commit_mu held: put the table's writer state back as it was at begin. */
static void roll_back(st_append *a) {
    st_table *t = a->t;
    int nc = t->schema.nfields;
    char path[ST_PATH_MAX];
    st_filesync_drop(a->sync); /* no fsync of a file being unlinked */
    for (int g = t->nrgs - 1; g >= a->nrgs0; g--) {
        if (t->rgs[g]->map) unlink(st_map_path(t->rgs[g]->map));
        st_rg_free(t->rgs[g], nc);
    }
    t->nrgs = a->nrgs0;
    if (a->tail0) {
        st_rg *rg = t->rgs[a->nrgs0 - 1];
        if (a->sealed0) {
            snprintf(path, sizeof path, "%s", st_map_path(rg->map));
            unlink(path);
            st_map_unref(rg->map);
            rg->map = NULL;
            rg->fno = -1;
            rg->bytes = 0;
            for (int c = 0; c < nc; c++) {
                rg->cols[c].validity = a->seg0[c].validity;
                rg->cols[c].values = a->seg0[c].values;
                rg->cols[c].data = a->seg0[c].data;
                a->seg0[c].validity = a->seg0[c].values = a->seg0[c].data = NULL;
            }
        }
        rg->rows = a->tail0;
        for (int c = 0; c < nc; c++) {
            rg->cols[c].stats = a->seg0[c].stats;
            rg->cols[c].data_len = a->seg0[c].data_len;
        }
    }
    t->rows = a->rows0;
}

static void append_free(st_append *a) {
    st_table *t = a->t;
    st_db *db = t->db;
    if (a->seg0)
        for (int c = 0; c < t->schema.nfields; c++) {
            qv_buffer_unref(a->seg0[c].validity);
            qv_buffer_unref(a->seg0[c].values);
            qv_buffer_unref(a->seg0[c].data);
        }
    free(a->seg0);
    st_filesync_free(a->sync);
    if (a->creates) {
        pthread_mutex_lock(&db->cat_mu);
        st_catalog_pending_remove_locked(db, t);
        pthread_mutex_unlock(&db->cat_mu);
    }
    free(a);
    pthread_mutex_lock(&t->append_mu);
    t->appending = false;
    pthread_cond_signal(&t->append_cv);
    waiters_tell_locked(t);
    pthread_mutex_unlock(&t->append_mu);
    st_table_unref(t);
}

void st_append_abort(st_append *a) {
    if (!a) return;
    pthread_mutex_lock(&a->t->commit_mu);
    roll_back(a);
    pthread_mutex_unlock(&a->t->commit_mu);
    append_free(a);
}

#define BULK_GROUPS 4
#define BULK_BYTES ((int64_t)16 << 20)

/* Bytes of a full anonymous group: what its file write puts through the page
   cache unless it goes direct. */
static int64_t rg_anon_bytes(const st_table *t, const st_rg *rg) {
    int64_t n = 0;
    for (int c = 0; c < t->schema.nfields; c++)
        n += rg->rows * qv_type_width(t->schema.fields[c].type) + (int64_t)rg->cols[c].data_len;
    return n;
}

/* commit_mu held: write full anonymous row groups this append filled. */
static int seal_full(st_append *a, int from, qv_err *err) {
    st_table *t = a->t;
    int nc = t->schema.nfields;
    qv_array **dv = qv_xcalloc((size_t)nc, sizeof(qv_array *));
    qv_array *dvs = qv_xcalloc((size_t)nc, sizeof(qv_array));
    for (int c = 0; c < nc; c++)
        if (t->schema.fields[c].type == QV_T_SYMBOL) {
            st_dict_view(&t->dicts[c], &dvs[c]);
            dv[c] = &dvs[c];
        }
    int rc = QV_OK, full = 0;
    int64_t bytes_full = 0;
    for (int g = from; g < t->nrgs; g++)
        if (!t->rgs[g]->map && t->rgs[g]->rows >= t->rg_cap) full++, bytes_full += rg_anon_bytes(t, t->rgs[g]);
    /* A batch that fills several row groups, or 16 MiB of them, is a bulk
       load: its files skip the page cache (colwrite.c says what that saves
       and costs). A tick writer's commit seals one group at most and, unless
       that group is wide, stays cached for the queries that follow it. */
    bool bulk = full >= BULK_GROUPS || bytes_full >= BULK_BYTES;
    unsigned how = bulk && !t->db->buffered_bulk ? ST_WF_DIRECT : 0;
    for (int g = from; rc == QV_OK && g < t->nrgs; g++) {
        st_rg *rg = t->rgs[g];
        if (rg->map || rg->rows < t->rg_cap) continue;
        char path[ST_PATH_MAX];
        int64_t fno = t->next_fno++, bytes = 0;
        st_col_path(t->db->dir, t->id, fno, path, sizeof path);
        if (!a->sync) a->sync = st_filesync_new();
        /* The old tail holds committed rows that readers reach through the
           file as soon as it is mapped: that file is complete before this
           returns. The others are seen only after the commit, which waits. */
        st_filesync *bg = g == a->nrgs0 - 1 && a->tail0 ? NULL : a->sync;
        if ((rc = st_rg_write_file(rg, &t->schema, dv, path, t->id, fno, how, bg, &bytes, err))) break;
        if (g == a->nrgs0 - 1 && a->tail0) { /* keep what readers see of it, for an abort */
            a->sealed0 = true;
            for (int c = 0; c < nc; c++) {
                a->seg0[c].validity = qv_buffer_ref(rg->cols[c].validity);
                a->seg0[c].values = qv_buffer_ref(rg->cols[c].values);
                a->seg0[c].data = qv_buffer_ref(rg->cols[c].data);
            }
        }
        st_filesync_add(a->sync, path);
        st_rg_to_file(rg, nc, st_map_new(path, t->id, fno, t->rg_cap, &t->schema, true), fno, bytes, &t->spare);
        if (a->first_file < 0) a->first_file = g;
        a->nfiles++;
    }
    for (int c = 0; c < nc; c++) qv_array_free(&dvs[c]);
    free(dvs);
    free(dv);
    return rc;
}

int st_append_batch(st_append *a, const qv_batch *b, qv_err *err) {
    st_table *t = a->t;
    if (!b) return qv_err_set(err, QV_EINVAL, "no batch");
    if (a->broken) return qv_err_set(err, QV_EINVAL, "append to table %s failed earlier; abort it", t->name);
    if (st_check_batch(t, b, err)) return err->code;
    if (b->nrows == 0) return QV_OK;
    pthread_mutex_lock(&t->commit_mu);
    int rc = QV_OK;
    if (atomic_load(&t->dropped)) rc = qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    else rc = st_check_text_room(t, b, 1, err);
    if (rc == QV_OK) {
        int first = st_apply_batch(t, b, !t->db->in_memory); /* seal_full writes what it adopts */
        a->rows += b->nrows;
        if (!t->db->in_memory && (rc = seal_full(a, first, err))) a->broken = true;
    }
    pthread_mutex_unlock(&t->commit_mu);
    return rc;
}

/* The rows of the open tail row group that are this append's, as a batch of views. */
static bool tail_batch(st_append *a, qv_batch *out) {
    st_table *t = a->t;
    if (!t->nrgs || t->rgs[t->nrgs - 1]->map || t->nrgs < a->nrgs0) return false;
    int g = t->nrgs - 1;
    st_rg *rg = t->rgs[g];
    int64_t from = g == a->nrgs0 - 1 ? a->tail0 : 0;
    if (g < a->nrgs0 - 1 || rg->rows <= from) return false;
    qv_batch_init(out, &t->schema);
    out->nrows = rg->rows - from;
    for (int c = 0; c < t->schema.nfields; c++) {
        qv_array *x = &out->cols[c];
        const st_colseg *s = &rg->cols[c];
        x->length = out->nrows;
        x->offset = from;
        x->null_count = -1;
        x->validity = qv_buffer_ref(s->validity);
        x->values = qv_buffer_ref(s->values);
        x->data = qv_buffer_ref(s->data);
        if (t->schema.fields[c].type == QV_T_SYMBOL) {
            x->dict = qv_xmalloc(sizeof(qv_array));
            st_dict_view(&t->dicts[c], x->dict);
        }
    }
    return true;
}

static int sync_files(st_append *a, qv_err *err) {
    if (!a->nfiles) return QV_OK;
    if (st_filesync_wait(a->sync, err)) return err->code; /* most were synced while the put went on */
    return st_fsync_dir(a->t->db->dir, err);
}

/* commit_mu held (and cat_mu when creating): log the append, durable. */
static int log_append(st_append *a, qv_err *err) {
    st_table *t = a->t;
    if (sync_files(a, err)) return err->code;
    qv_str rec;
    qv_str_init(&rec);
    if (a->creates) {
        st_put_u64(&rec, t->id);
        st_put_u64(&rec, (uint64_t)t->rg_cap);
        st_put_name(&rec, t->name);
        st_encode_schema(&rec, &t->schema);
    }
    st_put_u64(&rec, t->id);
    st_put_u32(&rec, (uint32_t)a->nfiles);
    for (int i = 0; i < a->nfiles; i++) st_put_u64(&rec, (uint64_t)t->rgs[a->first_file + i]->fno);
    qv_batch tb;
    bool have = tail_batch(a, &tb);
    st_put_u32(&rec, have ? 1 : 0);
    if (have) {
        st_encode_batch(&rec, &tb);
        qv_batch_free(&tb);
    }
    int rc = st_wal_log(t->db->wal, a->creates ? ST_REC_CREATE_PUT : ST_REC_PUT, &rec, err);
    if (rc == QV_OK) atomic_fetch_add(&t->db->wal_files, a->nfiles);
    qv_str_free(&rec);
    return rc;
}

static int commit(st_append *a, int64_t *rows_committed, bool replicating, qv_err *err);
int st_append_commit(st_append *a, int64_t *rows_committed, qv_err *err) { return commit(a, rows_committed, false, err); }
int st_append_commit_replica(st_append *a, int64_t *rows_committed, qv_err *err) {
    return commit(a, rows_committed, true, err);
}

static int commit(st_append *a, int64_t *rows_committed, bool replicating, qv_err *err) {
    st_table *t = a->t;
    st_db *db = t->db;
    int rc = QV_OK;
    bool creating = a->creates;
    if (rows_committed) *rows_committed = 0;
    if (a->broken) rc = qv_err_set(err, QV_EINVAL, "append to table %s failed earlier", t->name);
    if (rc == QV_OK && a->rows == 0 && !a->creates) {
        append_free(a);
        return QV_OK;
    }
    pthread_mutex_lock(&db->cat_mu);
    if (rc == QV_OK && db->closed) rc = qv_err_set(err, QV_EINVAL, "database is closed; cannot commit to table %s", t->name);
    if (rc == QV_OK && db->read_only && !replicating) rc = qv_err_set(err, QV_EPRECONDITION, "%s", db->read_only);
    if (rc == QV_OK && a->creates && st_catalog_find_locked(db, t->name) >= 0)
        rc = qv_err_set(err, QV_EEXISTS, "table %s was created by someone else meanwhile", t->name);
    if (!creating) pthread_mutex_unlock(&db->cat_mu);
    pthread_mutex_lock(&t->commit_mu);
    if (rc == QV_OK && atomic_load(&t->dropped)) rc = qv_err_set(err, QV_ENOTFOUND, "table %s was dropped", t->name);
    if (rc == QV_OK && !db->in_memory && (rc = log_append(a, err))) qv_err_prefix(err, "commit to table %s", t->name);
    if (rc == QV_OK) {
        int64_t bytes0 = t->pub ? t->pub->bytes : 0; /* pub changes only under commit_mu */
        st_publish(t);
        atomic_fetch_add(&db->st_commits, 1);
        if (db->hooks.committed && a->rows > 0)
            db->hooks.committed(db->hooks.arg, t, a->rows0, a->rows0 + a->rows, t->pub->bytes - bytes0);
        if (rows_committed) *rows_committed = a->rows;
        if (a->creates) {
            st_catalog_pending_remove_locked(db, t);
            atomic_fetch_add(&t->refs, 1);
            st_catalog_insert_locked(db, t);
            a->creates = false;
        }
    } else {
        roll_back(a);
    }
    pthread_mutex_unlock(&t->commit_mu);
    if (creating) pthread_mutex_unlock(&db->cat_mu);
    atomic_fetch_add(&db->refs, 1); /* t (and its db ref) may go with a */
    append_free(a);
    if (rc == QV_OK) st_checkpoint_poke(db);
    st_db_unref(db);
    return rc;
}

/* ---------------- replay (recovery) ---------------- */

/* Install the column files a durable record names. A missing or damaged
   file is fatal: the record was acknowledged. */
static int replay_files(st_table *t, st_rd *r, uint32_t n, const char *dir, bool *fatal, qv_err *err) {
    if (n > (r->n - r->pos) / 8) return qv_err_set(err, QV_ECORRUPT, "put record file count %u", n);
    st_stats *stats = qv_xcalloc((size_t)t->schema.nfields, sizeof(st_stats));
    int rc = QV_OK;
    for (uint32_t i = 0; rc == QV_OK && i < n; i++) {
        int64_t fno = (int64_t)st_get_u64(r);
        char path[ST_PATH_MAX];
        st_col_path(dir, t->id, fno, path, sizeof path);
        int64_t bytes = 0;
        if ((rc = st_colfile_stats(path, t->id, fno, t->rg_cap, &t->schema, stats, &bytes, err))) {
            *fatal = true;
            break;
        }
        st_table_add_file_rg(t, fno, st_map_new(path, t->id, fno, t->rg_cap, &t->schema, false), stats, bytes);
    }
    free(stats);
    return rc;
}

static int replay_batches(st_table *t, st_rd *r, uint32_t nb, qv_err *err) {
    if (nb > r->n - r->pos) return qv_err_set(err, QV_ECORRUPT, "record batch count %u", nb);
    qv_batch *bs = qv_xcalloc(nb ? nb : 1, sizeof *bs);
    uint32_t got = 0;
    int rc = QV_OK;
    for (; got < nb; got++) {
        if ((rc = st_decode_batch(r, &t->schema, &bs[got], err))) break;
        if ((rc = st_check_batch(t, &bs[got], err))) {
            rc = qv_err_set(err, QV_ECORRUPT, "record does not fit: %s", err->msg);
            got++;
            break;
        }
    }
    if (rc == QV_OK && r->pos != r->n) rc = qv_err_set(err, QV_ECORRUPT, "record has trailing bytes");
    if (rc == QV_OK && st_check_text_room(t, bs, (int)nb, err))
        rc = qv_err_set(err, QV_ECORRUPT, "record does not fit: %s", err->msg);
    if (rc == QV_OK)
        for (uint32_t i = 0; i < nb; i++) st_apply_batch(t, &bs[i], false);
    for (uint32_t i = 0; i < got; i++) qv_batch_free(&bs[i]);
    free(bs);
    return rc;
}

int st_replay_put(st_db *db, st_rd *r, bool with_files, bool *fatal, qv_err *err) {
    uint64_t id = st_get_u64(r);
    uint32_t nfiles = with_files ? st_get_u32(r) : 0;
    if (r->bad) return qv_err_set(err, QV_ECORRUPT, "truncated commit record");
    st_table *t = st_catalog_find_id(db, id);
    if (!t) return QV_OK; /* written after a concurrent drop of its table */
    pthread_mutex_lock(&t->commit_mu);
    int rc = replay_files(t, r, nfiles, db->dir, fatal, err);
    uint32_t nb = st_get_u32(r);
    if (rc == QV_OK && r->bad) rc = qv_err_set(err, QV_ECORRUPT, "truncated commit record");
    if (rc == QV_OK) rc = replay_batches(t, r, nb, err);
    st_publish(t);
    pthread_mutex_unlock(&t->commit_mu);
    return rc;
}

/* ---------------- replication: a received column file ---------------- */

int st_append_add_file_replica(st_append *a, int64_t fno, qv_err *err) {
    st_table *t = a->t;
    st_db *db = t->db;
    char part[ST_PATH_MAX], path[ST_PATH_MAX];
    st_col_path(db->dir, t->id, fno, path, sizeof path);
    snprintf(part, sizeof part, "%.*s.part", (int)(sizeof part - 8), path);
    st_stats *stats = qv_xcalloc((size_t)t->schema.nfields, sizeof *stats);
    int64_t bytes = 0;
    int rc = QV_OK;
    pthread_mutex_lock(&t->commit_mu);
    if (a->broken || atomic_load(&t->dropped) || db->in_memory)
        rc = qv_err_set(err, QV_EINVAL, "table %s: cannot take a column file now", t->name);
    else if (t->rows % t->rg_cap != 0 || fno < t->next_fno)
        rc = qv_err_set(err, QV_EINVAL, "table %s: column file %lld does not fit after row %lld here", t->name,
                        (long long)fno, (long long)t->rows);
    else if (rename(part, path) != 0)
        rc = qv_err_set(err, QV_EIO, "cannot rename %s: %m", part);
    else if ((rc = st_colfile_stats(path, t->id, fno, t->rg_cap, &t->schema, stats, &bytes, err)))
        unlink(path); /* nothing names it */
    if (rc == QV_OK) { /* in the append now: a commit names it, an abort removes it */
        st_table_add_file_rg(t, fno, st_map_new(path, t->id, fno, t->rg_cap, &t->schema, false), stats, bytes);
        a->rows += t->rg_cap;
        if (a->first_file < 0) a->first_file = t->nrgs - 1;
        a->nfiles++;
        if (!a->sync) a->sync = st_filesync_new();
        st_filesync_add(a->sync, path);
    }
    pthread_mutex_unlock(&t->commit_mu);
    unlink(part);
    free(stats);
    return rc;
}
