/*
** Tables in memory: row groups written by the single committer, symbol
** dictionaries, and the immutable st_pub views readers snapshot.
**
** A commit copies rows into the writer-side segments (past every row a view
** covers), then st_publish builds a new st_pub whose views are exact-size
** slices of those segments and swaps it in under t->mu. Readers take a ref
** on the current st_pub under the same mutex, so they see whole commits
** only, and the mutex orders the copied bytes before the new row count.
*/
#include "st_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- dictionaries ---------------- */

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static void dict_init(st_dict *d) {
    memset(d, 0, sizeof *d);
    d->cap = 64;
    d->offsets = qv_buffer_new((size_t)(d->cap + 1) * 4);
    d->data = qv_buffer_new(1024);
    d->nslots = 128;
    d->slots = qv_xcalloc(d->nslots, sizeof(int32_t));
}

static void dict_free(st_dict *d) {
    qv_buffer_unref(d->offsets);
    qv_buffer_unref(d->data);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

static const char *dict_str(const st_dict *d, int32_t code, int32_t *len) {
    const int32_t *off = (const int32_t *)d->offsets->data;
    *len = off[code + 1] - off[code];
    return (const char *)d->data->data + off[code];
}

/* A bigger copy of b: readers holding b keep the old bytes. */
static qv_buffer *regrow(qv_buffer *b, size_t used, size_t need) {
    size_t cap = b->capacity * 2;
    while (cap < need) cap *= 2;
    qv_buffer *nb = qv_buffer_new(cap);
    memcpy(nb->data, b->data, used);
    qv_buffer_unref(b);
    return nb;
}

static int32_t dict_intern(st_dict *d, const char *p, int32_t len) {
    uint64_t h = hash_bytes(p, (size_t)len);
    uint32_t mask = d->nslots - 1, i = (uint32_t)h & mask;
    for (; d->slots[i]; i = (i + 1) & mask) {
        int32_t l;
        const char *s = dict_str(d, d->slots[i] - 1, &l);
        if (l == len && memcmp(s, p, (size_t)len) == 0) return d->slots[i] - 1;
    }
    int32_t code = d->n;
    if (code + 1 > d->cap) {
        d->offsets = regrow(d->offsets, (size_t)(d->n + 1) * 4, (size_t)(d->cap * 2 + 1) * 4);
        d->cap = (int32_t)(d->offsets->capacity / 4 - 1);
    }
    if (d->data_len + (size_t)len > d->data->capacity)
        d->data = regrow(d->data, d->data_len, d->data_len + (size_t)len);
    memcpy(d->data->data + d->data_len, p, (size_t)len);
    d->data_len += (size_t)len;
    ((int32_t *)d->offsets->data)[code + 1] = (int32_t)d->data_len;
    d->n++;
    d->slots[i] = code + 1;
    if ((uint32_t)d->n * 2 > d->nslots) { /* rehash into a table twice as big */
        uint32_t nn = d->nslots * 2;
        int32_t *ns = qv_xcalloc(nn, sizeof(int32_t));
        for (int32_t c = 0; c < d->n; c++) {
            int32_t l;
            const char *s = dict_str(d, c, &l);
            uint32_t j = (uint32_t)hash_bytes(s, (size_t)l) & (nn - 1);
            while (ns[j]) j = (j + 1) & (nn - 1);
            ns[j] = c + 1;
        }
        free(d->slots);
        d->slots = ns;
        d->nslots = nn;
    }
    return code;
}

static void dict_view(const st_dict *d, qv_array *out) {
    qv_array_init(out, QV_T_STRING);
    out->length = d->n;
    out->null_count = 0;
    out->values = qv_buffer_slice(d->offsets, 0, (size_t)(d->n + 1) * 4);
    out->data = qv_buffer_slice(d->data, 0, d->data_len);
}

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
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->append_mu, NULL);
    pthread_cond_init(&t->append_cv, NULL);
    pthread_mutex_init(&t->commit_mu, NULL);
    t->dicts = qv_xcalloc((size_t)schema->nfields, sizeof(st_dict));
    for (int c = 0; c < schema->nfields; c++)
        if (schema->fields[c].type == QV_T_SYMBOL) dict_init(&t->dicts[c]);
    pthread_mutex_lock(&t->commit_mu);
    st_publish(t);
    pthread_mutex_unlock(&t->commit_mu);
    return t;
}

static void rg_free(st_rg *rg, int ncols) {
    for (int c = 0; c < ncols; c++) {
        qv_buffer_unref(rg->cols[c].validity);
        qv_buffer_unref(rg->cols[c].values);
        qv_buffer_unref(rg->cols[c].data);
    }
    free(rg->cols);
    free(rg);
}

void st_table_unref(st_table *t) {
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1) return;
    st_pub_unref(t->pub);
    for (int i = 0; i < t->nrgs; i++) rg_free(t->rgs[i], t->schema.nfields);
    free(t->rgs);
    for (int c = 0; c < t->schema.nfields; c++)
        if (t->dicts[c].offsets) dict_free(&t->dicts[c]);
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
const char *st_table_name(const st_table *t) { return t->name; }
const qv_schema *st_table_schema(const st_table *t) { return &t->schema; }
uint64_t st_table_id(const st_table *t) { return t->id; }

static st_rg *rg_new(const st_table *t) {
    st_rg *rg = qv_xcalloc(1, sizeof *rg);
    int64_t cap = t->rg_cap;
    rg->cols = qv_xcalloc((size_t)t->schema.nfields, sizeof(st_colseg));
    for (int c = 0; c < t->schema.nfields; c++) {
        st_colseg *s = &rg->cols[c];
        qv_type ty = t->schema.fields[c].type;
        s->validity = qv_buffer_new((size_t)(cap + 7) / 8);
        if (ty == QV_T_BOOL) s->values = qv_buffer_new((size_t)(cap + 7) / 8);
        else if (ty == QV_T_STRING) {
            s->values = qv_buffer_new((size_t)(cap + 1) * 4);
            s->data = qv_buffer_new(4096);
        } else s->values = qv_buffer_new((size_t)cap * (size_t)qv_type_width(ty));
    }
    return rg;
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

/* Copy bits [soff, soff+n) of src to [doff, ...) of dst; src NULL = all ones. */
static void bits_copy(uint8_t *dst, int64_t doff, const uint8_t *src, int64_t soff, int64_t n) {
    int64_t i = 0;
    if (!src) {
        for (; i < n && ((doff + i) & 7); i++) qv_bit_set(dst, doff + i, true);
        if (n - i >= 8) {
            memset(dst + (doff + i) / 8, 0xff, (size_t)(n - i) / 8);
            i += (n - i) / 8 * 8;
        }
        for (; i < n; i++) qv_bit_set(dst, doff + i, true);
        return;
    }
    if ((doff & 7) == 0 && (soff & 7) == 0) {
        memcpy(dst + doff / 8, src + soff / 8, (size_t)n / 8);
        i = n / 8 * 8;
    }
    for (; i < n; i++) qv_bit_set(dst, doff + i, qv_bit_get(src, soff + i));
}

static void stats_add_i(st_stats *st, int64_t v) {
    if (!st->has_minmax) {
        st->has_minmax = true;
        st->min.i = st->max.i = v;
    } else if (v < st->min.i) st->min.i = v;
    else if (v > st->max.i) st->max.i = v;
}

static void stats_add_f(st_stats *st, double v) {
    if (isnan(v)) return; /* comparisons with NaN never prune anything */
    if (!st->has_minmax) {
        st->has_minmax = true;
        st->min.f = st->max.f = v;
    } else if (v < st->min.f) st->min.f = v;
    else if (v > st->max.f) st->max.f = v;
}

/* Bitmaps share a byte between the last published row and the next one.
   Rather than rewrite a byte a reader may be reading, start a copy (readers
   keep the old buffer); only needed when d is not on a byte boundary. */
static qv_buffer *bits_cow(qv_buffer *b, int64_t d) {
    if ((d & 7) == 0) return b;
    qv_buffer *nb = qv_buffer_new(b->capacity);
    memcpy(nb->data, b->data, (size_t)(d + 7) / 8);
    qv_buffer_unref(b);
    return nb;
}

/* Rows [so, so+n) of a into segment s at row d. */
static void seg_copy(st_table *t, int c, st_colseg *s, int64_t d, const qv_array *a, int64_t so,
                     int64_t n) {
    qv_type ty = t->schema.fields[c].type;
    const uint8_t *vb = a->validity ? a->validity->data : NULL;
    int64_t ao = a->offset + so;
    s->validity = bits_cow(s->validity, d);
    bits_copy(s->validity->data, d, vb, ao, n);
    int64_t nulls = 0;
    if (vb)
        for (int64_t i = 0; i < n; i++) nulls += !qv_bit_get(vb, ao + i);
    s->stats.null_count += nulls;
#define VALID(i) (!vb || qv_bit_get(vb, ao + (i)))
    switch (ty) {
    case QV_T_BOOL:
        s->values = bits_cow(s->values, d);
        bits_copy(s->values->data, d, a->values->data, ao, n);
        for (int64_t i = 0; i < n; i++)
            if (VALID(i)) stats_add_i(&s->stats, qv_bit_get(a->values->data, ao + i));
        break;
    case QV_T_STRING: {
        const int32_t *so_ = (const int32_t *)a->values->data + ao;
        size_t len = (size_t)(so_[n] - so_[0]);
        if (s->data_len + len > INT32_MAX) {
            /* Unreachable for checked input below 2 GiB per row group. */
            QV_ERROR("table %s column %s: row group text over 2 GiB", t->name, t->schema.fields[c].name);
            abort();
        }
        if (s->data_len + len > s->data->capacity) s->data = regrow(s->data, s->data_len, s->data_len + len);
        if (len) memcpy(s->data->data + s->data_len, a->data->data + so_[0], len);
        int32_t *doff = (int32_t *)s->values->data + d;
        int32_t base = (int32_t)s->data_len - so_[0];
        for (int64_t i = 1; i <= n; i++) doff[i] = so_[i] + base;
        s->data_len += len;
        break;
    }
    case QV_T_SYMBOL: {
        int32_t *codes = (int32_t *)s->values->data + d;
        for (int64_t i = 0; i < n; i++) {
            if (!VALID(i)) {
                codes[i] = 0;
                continue;
            }
            int32_t len;
            const char *p = st_array_str(a, so + i, &len);
            codes[i] = dict_intern(&t->dicts[c], p, len);
        }
        break;
    }
    case QV_T_INT32:
        memcpy((int32_t *)s->values->data + d, (const int32_t *)a->values->data + ao, (size_t)n * 4);
        for (int64_t i = 0; i < n; i++)
            if (VALID(i)) stats_add_i(&s->stats, ((const int32_t *)a->values->data)[ao + i]);
        break;
    case QV_T_INT64:
    case QV_T_TIMESTAMP:
        memcpy((int64_t *)s->values->data + d, (const int64_t *)a->values->data + ao, (size_t)n * 8);
        for (int64_t i = 0; i < n; i++)
            if (VALID(i)) stats_add_i(&s->stats, ((const int64_t *)a->values->data)[ao + i]);
        break;
    case QV_T_FLOAT32:
        memcpy((float *)s->values->data + d, (const float *)a->values->data + ao, (size_t)n * 4);
        for (int64_t i = 0; i < n; i++)
            if (VALID(i)) stats_add_f(&s->stats, ((const float *)a->values->data)[ao + i]);
        break;
    case QV_T_FLOAT64:
        memcpy((double *)s->values->data + d, (const double *)a->values->data + ao, (size_t)n * 8);
        for (int64_t i = 0; i < n; i++)
            if (VALID(i)) stats_add_f(&s->stats, ((const double *)a->values->data)[ao + i]);
        break;
    default: break;
    }
#undef VALID
}

void st_apply_batch(st_table *t, const qv_batch *b) {
    int64_t done = 0;
    while (done < b->nrows) {
        st_rg *rg = t->nrgs ? t->rgs[t->nrgs - 1] : NULL;
        if (!rg || rg->rows == t->rg_cap) {
            if (t->nrgs == t->rgs_cap) {
                t->rgs_cap = t->rgs_cap ? t->rgs_cap * 2 : 8;
                t->rgs = qv_xrealloc(t->rgs, sizeof(st_rg *) * (size_t)t->rgs_cap);
            }
            rg = t->rgs[t->nrgs++] = rg_new(t);
        }
        int64_t n = b->nrows - done;
        if (n > t->rg_cap - rg->rows) n = t->rg_cap - rg->rows;
        for (int c = 0; c < t->schema.nfields; c++)
            seg_copy(t, c, &rg->cols[c], rg->rows, &b->cols[c], done, n);
        rg->rows += n;
        done += n;
        t->rows += n;
    }
}

/* ---------------- published views ---------------- */

static void rgview_unref(st_rgview *v) {
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1) return;
    for (int c = 0; c < v->ncols; c++) {
        qv_buffer_unref(v->cols[c].validity);
        qv_buffer_unref(v->cols[c].values);
        qv_buffer_unref(v->cols[c].data);
    }
    free(v);
}

static int64_t col_bytes(qv_type ty, int64_t rows, const st_colseg *s) {
    int64_t n = s->stats.null_count ? (rows + 7) / 8 : 0;
    if (ty == QV_T_BOOL) return n + (rows + 7) / 8;
    if (ty == QV_T_STRING) return n + (rows + 1) * 4 + (int64_t)s->data_len;
    return n + rows * qv_type_width(ty);
}

static st_rgview *rgview_new(const st_table *t, const st_rg *rg) {
    int nc = t->schema.nfields;
    st_rgview *v = qv_xcalloc(1, sizeof *v + sizeof(st_colview) * (size_t)nc);
    atomic_init(&v->refs, 1);
    v->rows = rg->rows;
    v->ncols = nc;
    for (int c = 0; c < nc; c++) {
        const st_colseg *s = &rg->cols[c];
        st_colview *cv = &v->cols[c];
        qv_type ty = t->schema.fields[c].type;
        cv->stats = s->stats;
        if (s->stats.null_count) cv->validity = qv_buffer_slice(s->validity, 0, (size_t)(rg->rows + 7) / 8);
        size_t vb;
        if (ty == QV_T_BOOL) vb = (size_t)(rg->rows + 7) / 8;
        else if (ty == QV_T_STRING) vb = (size_t)(rg->rows + 1) * 4;
        else vb = (size_t)rg->rows * (size_t)qv_type_width(ty);
        cv->values = qv_buffer_slice(s->values, 0, vb);
        if (ty == QV_T_STRING) cv->data = qv_buffer_slice(s->data, 0, s->data_len);
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

void st_publish(st_table *t) {
    st_pub *old = t->pub;
    st_pub *p = qv_xcalloc(1, sizeof *p);
    atomic_init(&p->refs, 1);
    int nc = t->schema.nfields;
    p->ncols = nc;
    p->rows = t->rows;
    p->nrgs = t->nrgs;
    p->rgs = qv_xcalloc((size_t)(t->nrgs ? t->nrgs : 1), sizeof(st_rgview *));
    for (int i = 0; i < t->nrgs; i++) {
        const st_rg *rg = t->rgs[i];
        /* Views of row groups that did not change are shared. */
        if (old && i < old->nrgs && old->rgs[i]->rows == rg->rows) {
            p->rgs[i] = old->rgs[i];
            atomic_fetch_add(&p->rgs[i]->refs, 1);
        } else {
            p->rgs[i] = rgview_new(t, rg);
        }
        for (int c = 0; c < nc; c++)
            p->bytes += col_bytes(t->schema.fields[c].type, rg->rows, &rg->cols[c]);
    }
    p->dicts = qv_xcalloc((size_t)nc, sizeof(qv_array *));
    for (int c = 0; c < nc; c++) {
        if (t->schema.fields[c].type != QV_T_SYMBOL) continue;
        p->dicts[c] = qv_xmalloc(sizeof(qv_array));
        dict_view(&t->dicts[c], p->dicts[c]);
        p->bytes += (int64_t)(t->dicts[c].n + 1) * 4 + (int64_t)t->dicts[c].data_len;
    }
    pthread_mutex_lock(&t->mu);
    t->pub = p;
    pthread_mutex_unlock(&t->mu);
    st_pub_unref(old);
}

st_pub *st_pub_get(st_table *t) {
    pthread_mutex_lock(&t->mu);
    st_pub *p = t->pub;
    atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&t->mu);
    return p;
}

static void view_column(const st_table *t, const st_pub *p, int rg, int col, qv_array *out) {
    const st_rgview *v = p->rgs[rg];
    const st_colview *cv = &v->cols[col];
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
}

void st_pub_batch(const st_table *t, const st_pub *p, int rg, qv_batch *out) {
    qv_batch_init(out, &t->schema);
    out->nrows = p->rgs[rg]->rows;
    for (int c = 0; c < t->schema.nfields; c++) view_column(t, p, rg, c, &out->cols[c]);
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

void st_snapshot_column(const st_snapshot *s, int rg, int col, qv_array *out) {
    if (rg < 0 || rg >= s->pub->nrgs || col < 0 || col >= s->t->schema.nfields) {
        /* Out of range: an empty array rather than a crash. */
        qv_array_init(out, col >= 0 && col < s->t->schema.nfields ? s->t->schema.fields[col].type
                                                                   : QV_T_INVALID);
        return;
    }
    view_column(s->t, s->pub, rg, col, out);
}

void st_snapshot_stats(const st_snapshot *s, int rg, int col, st_stats *out) {
    memset(out, 0, sizeof *out);
    if (rg < 0 || rg >= s->pub->nrgs || col < 0 || col >= s->t->schema.nfields) return;
    *out = s->pub->rgs[rg]->cols[col].stats;
}
