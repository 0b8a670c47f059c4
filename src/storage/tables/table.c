/*
** Tables: row groups written by the single writer (anonymous, or file-backed
** once sealed and written), and the immutable st_pub views readers snapshot.
**
** A commit copies rows into the writer-side segments (past every row a view
** covers), then st_publish builds a new st_pub whose views are exact-size
** slices of those segments and swaps it in under t->mu. Readers take a ref
** on the current st_pub under the same mutex, so they see whole commits
** only, and the mutex orders the copied bytes before the new row count.
*/
#include "st_int.h"

#include <stdlib.h>
#include <string.h>

/* ---------------- tables ---------------- */

st_table *st_table_new(st_db *db, uint64_t id, const char *name, const qv_schema *schema,
                       int64_t rg_cap) {
    st_table *t = qv_xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    atomic_init(&t->dropped, false);
    t->db = db;
    atomic_fetch_add(&db->refs, 1);
    t->id = id;
    t->name = qv_xstrdup(name);
    qv_schema_copy(&t->schema, schema);
    t->rg_cap = rg_cap;
    t->ret_col = -1;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->append_mu, NULL);
    pthread_cond_init(&t->append_cv, NULL);
    pthread_mutex_init(&t->commit_mu, NULL);
    t->dicts = qv_xcalloc((size_t)schema->nfields, sizeof(st_dict));
    for (int c = 0; c < schema->nfields; c++)
        if (schema->fields[c].type == QV_T_SYMBOL) st_dict_init(&t->dicts[c]);
    pthread_mutex_lock(&t->commit_mu);
    st_publish(t);
    pthread_mutex_unlock(&t->commit_mu);
    return t;
}

void st_table_unref(st_table *t) {
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1) return;
    st_pub_unref(t->pub);
    for (int i = 0; i < t->nrgs; i++) st_rg_free(t->rgs[i], t->schema.nfields);
    st_rg_spare_free(t->spare, t->schema.nfields);
    free(t->rgs);
    for (int c = 0; c < t->schema.nfields; c++)
        if (t->dicts[c].offsets) st_dict_free(&t->dicts[c]);
    free(t->dicts);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->append_mu);
    pthread_cond_destroy(&t->append_cv);
    pthread_mutex_destroy(&t->commit_mu);
    st_db *db = t->db;
    qv_schema_free(&t->schema);
    free(t->name);
    free(t);
    st_db_unref(db);
}

void st_table_release(st_table *t) { st_table_unref(t); }

/* The retention is set under both commit_mu and mu, so readers (listing
   tables) need only mu and never wait for a commit's fsyncs. */
void st_table_get_retention(st_table *t, const char **column, int64_t *interval_ns) {
    pthread_mutex_lock(&t->mu);
    *column = t->ret_col >= 0 ? t->schema.fields[t->ret_col].name : NULL;
    *interval_ns = t->ret_col >= 0 ? t->ret_ns : 0;
    pthread_mutex_unlock(&t->mu);
}
const char *st_table_name(const st_table *t) { return t->name; }
const qv_schema *st_table_schema(const st_table *t) { return &t->schema; }
uint64_t st_table_id(const st_table *t) { return t->id; }
int64_t st_table_removed_rows(st_table *t) {
    pthread_mutex_lock(&t->commit_mu);
    int64_t n = t->removed_rows + t->ndel;
    pthread_mutex_unlock(&t->commit_mu);
    return n;
}
int64_t st_table_trim_rows(st_table *t) {
    pthread_mutex_lock(&t->commit_mu);
    int64_t n = t->removed_rows;
    pthread_mutex_unlock(&t->commit_mu);
    return n;
}

int st_check_batch(const st_table *t, const qv_batch *b, qv_err *err) {
    const qv_schema *s = &t->schema;
    if (b->schema.nfields != s->nfields)
        return qv_err_set(err, QV_EINVAL, "table %s has %d columns, batch has %d", t->name,
                          s->nfields, b->schema.nfields);
    if (b->nrows < 0) return qv_err_set(err, QV_EINVAL, "batch has a negative row count");
    for (int c = 0; c < s->nfields; c++) {
        const qv_field *f = &s->fields[c];
        qv_type bt = b->cols[c].type;
        bool ok = bt == f->type || (f->type == QV_T_SYMBOL && bt == QV_T_STRING);
        if (!ok || b->schema.fields[c].type != bt)
            return qv_err_set(err, QV_EINVAL, "table %s column %s is %s, batch column %d is %s",
                              t->name, f->name, qv_type_name(f->type), c + 1, qv_type_name(bt));
    }
    if (qv_batch_validate(b, err))
        return qv_err_prefix(err, "batch for table %s", t->name);
    for (int c = 0; c < s->nfields; c++) {
        const qv_field *f = &s->fields[c];
        qv_array *a = &b->cols[c];
        if (!f->nullable && a->validity && qv_array_null_count(a) > 0)
            return qv_err_set(err, QV_EINVAL, "table %s column %s is NOT NULL, batch has %lld nulls",
                              t->name, f->name, (long long)qv_array_null_count(a));
        if (a->type == QV_T_STRING && a->length > 0) {
            const int32_t *off = (const int32_t *)a->values->data + a->offset;
            if (off[a->length] - off[0] > (1 << 30))
                return qv_err_set(err, QV_EINVAL, "table %s column %s: more than 1 GiB of text in one batch",
                                  t->name, f->name);
        }
    }
    return QV_OK;
}

int st_apply_batch(st_table *t, const qv_batch *b, bool sealing) {
    int64_t done = 0;
    int first = -1;
    while (done < b->nrows) {
        st_rg *rg = t->nrgs ? t->rgs[t->nrgs - 1] : NULL;
        if (!rg || rg->rows == t->rg_cap) {
            if (t->nrgs == t->rgs_cap) {
                t->rgs_cap = t->rgs_cap ? t->rgs_cap * 2 : 8;
                t->rgs = qv_xrealloc(t->rgs, sizeof(st_rg *) * (size_t)t->rgs_cap);
            }
            rg = st_rg_adopt(&t->schema, t->rg_cap, b, done, sealing); /* a whole row group: views, no copy */
            if (rg) {
                t->rgs[t->nrgs++] = rg;
                if (first < 0) first = t->nrgs - 1;
                done += t->rg_cap;
                t->rows += t->rg_cap;
                continue;
            }
            rg = t->rgs[t->nrgs++] = st_rg_new(&t->schema, t->rg_cap, &t->spare);
        }
        if (first < 0) first = t->nrgs - 1;
        int64_t n = b->nrows - done;
        if (n > t->rg_cap - rg->rows) n = t->rg_cap - rg->rows;
        for (int c = 0; c < t->schema.nfields; c++)
            st_rg_copy(rg, &t->schema.fields[c], &t->dicts[c], c, &b->cols[c], done, n);
        rg->rows += n;
        done += n;
        t->rows += n;
    }
    return first < 0 ? t->nrgs : first;
}

void st_table_add_file_rg(st_table *t, int64_t fno, st_map *map, const st_stats *stats, int64_t file_bytes) {
    int last = t->nrgs - 1;
    qv_buffer *del = NULL; /* the partial tail's deletion vector carries over */
    int64_t ndel = 0;
    if (last >= 0 && !t->rgs[last]->map && t->rgs[last]->rows < t->rg_cap) { /* the partial tail it completes */
        t->rows -= t->rgs[last]->rows;
        del = t->rgs[last]->del;
        ndel = t->rgs[last]->ndel;
        t->rgs[last]->del = NULL;
        st_rg_free(t->rgs[last], t->schema.nfields);
        t->nrgs--;
    }
    if (t->nrgs == t->rgs_cap) {
        t->rgs_cap = t->rgs_cap ? t->rgs_cap * 2 : 8;
        t->rgs = qv_xrealloc(t->rgs, sizeof(st_rg *) * (size_t)t->rgs_cap);
    }
    st_rg *rg = qv_xcalloc(1, sizeof *rg);
    rg->cols = qv_xcalloc((size_t)t->schema.nfields, sizeof(st_colseg));
    for (int c = 0; c < t->schema.nfields; c++) rg->cols[c].stats = stats[c];
    rg->rows = t->rg_cap;
    rg->map = map;
    rg->fno = fno;
    rg->bytes = file_bytes;
    rg->del = del;
    rg->ndel = ndel;
    if (fno >= t->next_fno) t->next_fno = fno + 1;
    t->rgs[t->nrgs++] = rg;
    t->rows += t->rg_cap;
}

void st_table_drop_leading(st_table *t, int n) {
    if (n > t->nrgs) n = t->nrgs;
    for (int i = 0; i < n; i++) {
        t->rows -= t->rgs[i]->rows;
        t->removed_rows += t->rgs[i]->rows;
        t->ndel -= t->rgs[i]->ndel;
        st_rg_free(t->rgs[i], t->schema.nfields);
    }
    memmove(t->rgs, t->rgs + n, sizeof(st_rg *) * (size_t)(t->nrgs - n));
    t->nrgs -= n;
    t->nckpt = t->nckpt > n ? t->nckpt - n : 0;
}

/* ---------------- published views ---------------- */

static void rgview_unref(st_rgview *v) {
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1) return;
    for (int c = 0; c < v->ncols; c++) {
        qv_buffer_unref(v->cols[c].validity);
        qv_buffer_unref(v->cols[c].values);
        qv_buffer_unref(v->cols[c].data);
    }
    st_map_unref(v->map);
    qv_buffer_unref(v->del);
    free(v);
}

static st_rgview *rgview_new(const st_table *t, const st_rg *rg, int64_t rows) {
    int nc = t->schema.nfields;
    st_rgview *v = qv_xcalloc(1, sizeof *v + sizeof(st_colview) * (size_t)nc);
    atomic_init(&v->refs, 1);
    v->rows = rows;
    v->ncols = nc;
    v->map = st_map_ref(rg->map);
    v->del = qv_buffer_ref(rg->del);
    v->ndel = rg->del ? st_bits_count(rg->del->data, rows) : 0;
    for (int c = 0; c < nc; c++) {
        const st_colseg *s = &rg->cols[c];
        st_colview *cv = &v->cols[c];
        qv_type ty = t->schema.fields[c].type;
        cv->stats = s->stats;
        if (rg->map || !s->values) continue; /* file-backed, or a tombstone */
        if (s->stats.null_count) cv->validity = qv_buffer_slice(s->validity, 0, (size_t)(rows + 7) / 8);
        size_t vb;
        if (ty == QV_T_BOOL) vb = (size_t)(rows + 7) / 8;
        else if (ty == QV_T_STRING) vb = (size_t)(rows + 1) * 4;
        else vb = (size_t)rows * (size_t)qv_type_width(ty);
        cv->values = qv_buffer_slice(s->values, 0, vb);
        if (ty == QV_T_STRING) {
            size_t dl = (size_t)((const int32_t *)s->values->data)[rows];
            cv->data = qv_buffer_slice(s->data, 0, dl);
        }
    }
    return v;
}

void st_pub_unref(st_pub *p) {
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
    for (int i = 0; i < p->nrgs; i++) rgview_unref(p->rgs[i]);
    free(p->rgs);
    for (int c = 0; c < p->ncols; c++)
        if (p->dicts[c]) {
            qv_array_free(p->dicts[c]);
            free(p->dicts[c]);
        }
    free(p->dicts);
    free(p);
}

void st_publish_upto(st_table *t, int nrgs, int64_t last_rows) {
    st_pub *old = t->pub;
    st_pub *p = qv_xcalloc(1, sizeof *p);
    atomic_init(&p->refs, 1);
    int nc = t->schema.nfields;
    p->ncols = nc;
    p->nrgs = nrgs;
    p->rgs = qv_xcalloc((size_t)(nrgs ? nrgs : 1), sizeof(st_rgview *));
    for (int i = 0; i < nrgs; i++) {
        const st_rg *rg = t->rgs[i];
        int64_t rows = i == nrgs - 1 ? last_rows : rg->rows;
        /* Views of row groups that did not change are shared. A partial view
           stays as it was even when an open append has since filled the
           group and written it to its file (the file holds rows past it). */
        bool same = old && i < old->nrgs && old->rgs[i]->rows == rows && old->rgs[i]->del == rg->del;
        if (same && (old->rgs[i]->map == rg->map || rows < t->rg_cap)) {
            p->rgs[i] = old->rgs[i];
            atomic_fetch_add(&p->rgs[i]->refs, 1);
        } else {
            p->rgs[i] = rgview_new(t, rg, rows);
        }
        p->rows += rows;
        p->ndel += p->rgs[i]->ndel;
        if (rg->map) p->bytes += rg->bytes;
        else if (!st_rg_is_tomb(rg))
            for (int c = 0; c < nc; c++) p->bytes += st_rg_col_bytes(t->schema.fields[c].type, rows, &rg->cols[c]);
    }
    p->dicts = qv_xcalloc((size_t)nc, sizeof(qv_array *));
    for (int c = 0; c < nc; c++) {
        if (t->schema.fields[c].type != QV_T_SYMBOL) continue;
        p->dicts[c] = qv_xmalloc(sizeof(qv_array));
        st_dict_view(&t->dicts[c], p->dicts[c]);
        p->bytes += (int64_t)(t->dicts[c].n + 1) * 4 + (int64_t)t->dicts[c].data_len;
    }
    pthread_mutex_lock(&t->mu);
    t->pub = p;
    pthread_mutex_unlock(&t->mu);
    st_pub_unref(old);
}

void st_publish(st_table *t) {
    st_publish_upto(t, t->nrgs, t->nrgs ? t->rgs[t->nrgs - 1]->rows : 0);
}

st_pub *st_pub_get(st_table *t) {
    pthread_mutex_lock(&t->mu);
    st_pub *p = t->pub;
    atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&t->mu);
    return p;
}

static int view_column(const st_table *t, const st_pub *p, int rg, int col, bool codes_ok, qv_array *out,
                       qv_err *err) {
    const st_rgview *v = p->rgs[rg];
    const st_colview *cv = &v->cols[col];
    if (v->map) {
        if (st_map_column(v->map, col, codes_ok, out, err)) return err ? err->code : QV_ECORRUPT;
        return QV_OK;
    }
    if (!cv->values && v->rows > 0) { /* a tombstone */
        st_tomb_column(t, p, col, v->rows, out);
        return QV_OK;
    }
    qv_array_init(out, t->schema.fields[col].type);
    out->length = v->rows;
    out->null_count = cv->stats.null_count;
    out->validity = qv_buffer_ref(cv->validity);
    out->values = qv_buffer_ref(cv->values);
    out->data = qv_buffer_ref(cv->data);
    if (p->dicts[col]) {
        out->dict = qv_xmalloc(sizeof(qv_array));
        qv_array_copy_ref(out->dict, p->dicts[col]);
    }
    return QV_OK;
}

int st_pub_batch(const st_table *t, const st_pub *p, int rg, qv_batch *out, qv_err *err) {
    qv_batch_init(out, &t->schema);
    out->nrows = p->rgs[rg]->rows;
    for (int c = 0; c < t->schema.nfields; c++) {
        qv_array_free(&out->cols[c]);
        if (view_column(t, p, rg, c, false, &out->cols[c], err)) {
            qv_batch_free(out);
            return err ? err->code : QV_ECORRUPT;
        }
    }
    return QV_OK;
}

/* ---------------- snapshots ---------------- */

int st_snapshot_open(st_table *t, st_snapshot **out) {
    st_snapshot *s = qv_xmalloc(sizeof *s);
    atomic_fetch_add(&t->refs, 1);
    s->t = t;
    s->pub = st_pub_get(t);
    *out = s;
    return QV_OK;
}

void st_snapshot_close(st_snapshot *s) {
    if (!s) return;
    st_pub_unref(s->pub);
    st_table_unref(s->t);
    free(s);
}

int64_t st_snapshot_rows(const st_snapshot *s) { return s->pub->rows; }
int st_snapshot_rowgroups(const st_snapshot *s) { return s->pub->nrgs; }

int64_t st_snapshot_rowgroup_rows(const st_snapshot *s, int rg) {
    if (rg < 0 || rg >= s->pub->nrgs) return 0;
    return s->pub->rgs[rg]->rows;
}

static int snapshot_read(const st_snapshot *s, int rg, int col, bool codes_ok, qv_array *out, qv_err *err) {
    if (rg < 0 || rg >= s->pub->nrgs || col < 0 || col >= s->t->schema.nfields) {
        /* Out of range: an empty array rather than a crash. */
        qv_array_init(out, col >= 0 && col < s->t->schema.nfields ? s->t->schema.fields[col].type
                                                                   : QV_T_INVALID);
        return QV_OK;
    }
    return view_column(s->t, s->pub, rg, col, codes_ok, out, err);
}

int st_snapshot_read(const st_snapshot *s, int rg, int col, qv_array *out, qv_err *err) {
    return snapshot_read(s, rg, col, false, out, err);
}

int st_snapshot_read_codes(const st_snapshot *s, int rg, int col, qv_array *out, qv_err *err) {
    return snapshot_read(s, rg, col, true, out, err);
}

void st_snapshot_column(const st_snapshot *s, int rg, int col, qv_array *out) {
    qv_err e;
    if (st_snapshot_read(s, rg, col, out, &e)) {
        QV_ERROR("%s", e.msg);
        qv_array_init(out, s->t->schema.fields[col].type);
    }
}

void st_snapshot_stats(const st_snapshot *s, int rg, int col, st_stats *out) {
    memset(out, 0, sizeof *out);
    if (rg < 0 || rg >= s->pub->nrgs || col < 0 || col >= s->t->schema.nfields) return;
    *out = s->pub->rgs[rg]->cols[col].stats;
}
/* String offsets are int32: refuse (before logging anything) an append whose
   text could push a row group's string data or a dictionary past 2 GiB.
   Conservative: counts all of the append's text against the current group. */
int st_check_text_room(st_table *t, const qv_batch *bs, int nb, qv_err *err) {
    for (int c = 0; c < t->schema.nfields; c++) {
        qv_type ty = t->schema.fields[c].type;
        if (ty != QV_T_STRING && ty != QV_T_SYMBOL) continue;
        int64_t have = 0, add = 0;
        if (ty == QV_T_SYMBOL) have = (int64_t)t->dicts[c].data_len;
        else if (t->nrgs && t->rgs[t->nrgs - 1]->rows < t->rg_cap)
            have = (int64_t)t->rgs[t->nrgs - 1]->cols[c].data_len;
        for (int i = 0; i < nb; i++) {
            const qv_array *x = &bs[i].cols[c];
            if (x->type != QV_T_STRING || x->length == 0) continue;
            const int32_t *off = (const int32_t *)x->values->data + x->offset;
            add += off[x->length] - off[0];
        }
        if (have + add > INT32_MAX - 1)
            return qv_err_set(err, QV_ERESOURCE,
                              "table %s column %s: append of %lld text bytes would pass the 2 GiB "
                              "limit per row group or dictionary; split it", t->name,
                              t->schema.fields[c].name, (long long)add);
    }
    return QV_OK;
}
