/*
** Writer-side row groups: segments allocated at full capacity that commits
** copy rows into (past every row a reader can see), per-segment stats, and
** the append-only symbol dictionaries. A sealed row group is written to its
** column file straight from these buffers (st_rg_write_file), then turned
** file-backed (st_rg_to_file): its memory goes once readers let go of it.
** Not thread-safe by itself: the table's commit_mu guards all of it.
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

void st_dict_init(st_dict *d) {
    memset(d, 0, sizeof *d);
    d->cap = 64;
    d->offsets = qv_buffer_new((size_t)(d->cap + 1) * 4);
    d->data = qv_buffer_new(1024);
    d->nslots = 128;
    d->slots = qv_xcalloc(d->nslots, sizeof(int32_t));
}

void st_dict_free(st_dict *d) {
    qv_buffer_unref(d->offsets);
    qv_buffer_unref(d->data);
    free(d->slots);
    memset(d, 0, sizeof *d);
}

const char *st_dict_str(const st_dict *d, int32_t code, int32_t *len) {
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
        const char *s = st_dict_str(d, d->slots[i] - 1, &l);
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
            const char *s = st_dict_str(d, c, &l);
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

void st_dict_view(const st_dict *d, qv_array *out) {
    qv_array_init(out, QV_T_STRING);
    out->length = d->n;
    out->null_count = 0;
    out->values = qv_buffer_slice(d->offsets, 0, (size_t)(d->n + 1) * 4);
    out->data = qv_buffer_slice(d->data, 0, d->data_len);
}

/* ---------------- copying rows in ---------------- */

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
    if (isnan(v)) { /* kept out of min/max; the scan knows it may lie above max */
        st->has_nan = true;
        return;
    }
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
void st_rg_copy(st_rg *rg, const qv_field *f, st_dict *dict, int c, const qv_array *a, int64_t so, int64_t n) {
    st_colseg *s = &rg->cols[c];
    int64_t d = rg->rows;
    qv_type ty = f->type;
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
            QV_ERROR("column %s: row group text over 2 GiB", f->name);
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
            codes[i] = dict_intern(dict, p, len);
        }
        break;
    }
    case QV_T_INT32:
    case QV_T_DATE:
        memcpy((int32_t *)s->values->data + d, (const int32_t *)a->values->data + ao, (size_t)n * 4);
        if (!nulls) st_minmax_merge(&s->stats, ty, (const int32_t *)a->values->data + ao, n);
        else
            for (int64_t i = 0; i < n; i++)
                if (VALID(i)) stats_add_i(&s->stats, ((const int32_t *)a->values->data)[ao + i]);
        break;
    case QV_T_INT64:
    case QV_T_TIMESTAMP:
    case QV_T_INTERVAL:
    case QV_T_TIME:
    case QV_T_DECIMAL: /* its int64s order as its values do (one scale per column) */
        memcpy((int64_t *)s->values->data + d, (const int64_t *)a->values->data + ao, (size_t)n * 8);
        if (!nulls) st_minmax_merge(&s->stats, ty, (const int64_t *)a->values->data + ao, n);
        else
            for (int64_t i = 0; i < n; i++)
                if (VALID(i)) stats_add_i(&s->stats, ((const int64_t *)a->values->data)[ao + i]);
        break;
    case QV_T_FLOAT32:
        memcpy((float *)s->values->data + d, (const float *)a->values->data + ao, (size_t)n * 4);
        if (!nulls) st_minmax_merge(&s->stats, ty, (const float *)a->values->data + ao, n);
        else
            for (int64_t i = 0; i < n; i++)
                if (VALID(i)) stats_add_f(&s->stats, ((const float *)a->values->data)[ao + i]);
        break;
    case QV_T_FLOAT64:
        memcpy((double *)s->values->data + d, (const double *)a->values->data + ao, (size_t)n * 8);
        if (!nulls) st_minmax_merge(&s->stats, ty, (const double *)a->values->data + ao, n);
        else
            for (int64_t i = 0; i < n; i++)
                if (VALID(i)) stats_add_f(&s->stats, ((const double *)a->values->data)[ao + i]);
        break;
    default: break;
    }
#undef VALID
}


/* ---------------- adopting a batch's buffers ---------------- */

static void adopt_stats(st_colseg *s, qv_type ty, const uint8_t *vals, const uint8_t *vb, int64_t n, bool sealing) {
    st_stats *st = &s->stats;
    memset(st, 0, sizeof *st);
    if (vb) {
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) st->null_count += 8 - __builtin_popcount(vb[i / 8]);
        for (; i < n; i++) st->null_count += !qv_bit_get(vb, i);
    }
    if (vb && st->null_count) { /* rare: row by row */
        for (int64_t i = 0; i < n; i++) {
            if (!qv_bit_get(vb, i)) continue;
            if (ty == QV_T_INT32 || ty == QV_T_DATE) stats_add_i(st, ((const int32_t *)vals)[i]);
            else if (qv_type_is_i64(ty)) stats_add_i(st, ((const int64_t *)vals)[i]);
            else if (ty == QV_T_FLOAT32) stats_add_f(st, ((const float *)vals)[i]);
            else stats_add_f(st, ((const double *)vals)[i]);
        }
        return;
    }
    if (sealing) s->minmax_pending = true; /* st_rg_write_file */
    else st_minmax_merge(st, ty, vals, n);
}

static bool adoptable(qv_type ty) {
    return ty == QV_T_INT32 || ty == QV_T_DATE || qv_type_is_i64(ty) || ty == QV_T_FLOAT32 || ty == QV_T_FLOAT64;
}

st_rg *st_rg_adopt(const qv_schema *schema, int64_t cap, const qv_batch *b, int64_t from, bool sealing) {
    int nc = schema->nfields;
    if (b->nrows - from < cap) return NULL;
    for (int c = 0; c < nc; c++) {
        const qv_array *a = &b->cols[c];
        size_t w = (size_t)qv_type_width(schema->fields[c].type);
        if (!adoptable(schema->fields[c].type) || a->type != schema->fields[c].type || a->dict || !a->values ||
            ((uintptr_t)(a->values->data + (size_t)(a->offset + from) * w) & 7))
            return NULL;
    }
    st_rg *rg = qv_xcalloc(1, sizeof *rg);
    rg->fno = -1;
    rg->rows = cap;
    rg->views = true;
    rg->cols = qv_xcalloc((size_t)nc, sizeof(st_colseg));
    for (int c = 0; c < nc; c++) {
        const qv_array *a = &b->cols[c];
        st_colseg *s = &rg->cols[c];
        qv_type ty = schema->fields[c].type;
        size_t w = (size_t)qv_type_width(ty);
        int64_t ao = a->offset + from;
        s->validity = qv_buffer_new((size_t)(cap + 7) / 8);
        bits_copy(s->validity->data, 0, a->validity ? a->validity->data : NULL, ao, cap);
        s->values = qv_buffer_slice(a->values, (size_t)ao * w, (size_t)cap * w);
        adopt_stats(s, ty, s->values->data, a->validity ? s->validity->data : NULL, cap, sealing);
    }
    return rg;
}

/* ---------------- row groups ---------------- */

st_rg *st_rg_new(const qv_schema *schema, int64_t cap, st_colseg **spare) {
    st_rg *rg = qv_xcalloc(1, sizeof *rg);
    rg->fno = -1;
    if (spare && *spare) { /* buffers of a group just written to its file: no page faults */
        rg->cols = *spare;
        *spare = NULL;
        for (int c = 0; c < schema->nfields; c++) {
            st_colseg *s = &rg->cols[c];
            memset(&s->stats, 0, sizeof s->stats);
            s->data_len = 0;
            if (schema->fields[c].type == QV_T_STRING) ((int32_t *)s->values->data)[0] = 0;
        }
        return rg;
    }
    rg->cols = qv_xcalloc((size_t)schema->nfields, sizeof(st_colseg));
    for (int c = 0; c < schema->nfields; c++) {
        st_colseg *s = &rg->cols[c];
        qv_type ty = schema->fields[c].type;
        s->validity = qv_buffer_new((size_t)(cap + 7) / 8);
        if (ty == QV_T_BOOL) s->values = qv_buffer_new((size_t)(cap + 7) / 8);
        else if (ty == QV_T_STRING) {
            s->values = qv_buffer_new((size_t)(cap + 1) * 4);
            s->data = qv_buffer_new(4096);
        } else s->values = qv_buffer_new((size_t)cap * (size_t)qv_type_width(ty));
    }
    return rg;
}

static void seg_drop(st_colseg *s) {
    qv_buffer_unref(s->validity);
    qv_buffer_unref(s->values);
    qv_buffer_unref(s->data);
    s->validity = s->values = s->data = NULL;
}

void st_rg_free(st_rg *rg, int ncols) {
    if (!rg) return;
    for (int c = 0; c < ncols; c++) seg_drop(&rg->cols[c]);
    free(rg->cols);
    st_map_unref(rg->map);
    qv_buffer_unref(rg->del);
    free(rg);
}

static bool sole(const qv_buffer *b) { return !b || atomic_load(&b->refs) == 1; }

void st_rg_to_file(st_rg *rg, int ncols, st_map *map, int64_t fno, int64_t file_bytes, st_colseg **spare) {
    for (int c = 0; c < ncols && rg->cols; c++) QV_ASSERT(!rg->cols[c].minmax_pending);
    bool keep = spare && !*spare && !rg->views;
    for (int c = 0; keep && c < ncols; c++)
        keep = sole(rg->cols[c].validity) && sole(rg->cols[c].values) && sole(rg->cols[c].data);
    if (keep) { /* nobody else sees these buffers: the next row group reuses them */
        *spare = rg->cols;
        rg->cols = qv_xcalloc((size_t)ncols, sizeof(st_colseg));
        for (int c = 0; c < ncols; c++) rg->cols[c].stats = (*spare)[c].stats;
    } else {
        for (int c = 0; c < ncols; c++) seg_drop(&rg->cols[c]);
    }
    st_map_unref(rg->map);
    rg->map = map;
    rg->fno = fno;
    rg->bytes = file_bytes;
}

void st_rg_spare_free(st_colseg *spare, int ncols) {
    if (!spare) return;
    for (int c = 0; c < ncols; c++) seg_drop(&spare[c]);
    free(spare);
}

int64_t st_rg_col_bytes(qv_type ty, int64_t rows, const st_colseg *s) {
    int64_t n = s->stats.null_count ? (rows + 7) / 8 : 0;
    if (ty == QV_T_BOOL) return n + (rows + 7) / 8;
    if (ty == QV_T_STRING) return n + (rows + 1) * 4 + (int64_t)s->data_len;
    return n + rows * qv_type_width(ty);
}

/* A SYMBOL segment's codes renumbered into a dictionary of its own, so the
   column file never depends on the table's dictionary. */
typedef struct local_dict {
    int32_t *codes, *off;
    int32_t n;
    qv_str data;
} local_dict;

static void local_dict_build(local_dict *ld, const st_colseg *s, const qv_array *d, int64_t rows) {
    int64_t dn = d ? d->length : 0;
    int32_t *map = qv_xmalloc(sizeof(int32_t) * (size_t)(dn ? dn : 1));
    for (int64_t i = 0; i < dn; i++) map[i] = -1;
    ld->codes = qv_alloc_aligned((size_t)rows * 4);
    ld->off = qv_xmalloc(sizeof(int32_t) * (size_t)(rows + 2));
    ld->off[0] = 0;
    qv_str_init(&ld->data);
    int32_t n = 0;
    const int32_t *g = (const int32_t *)s->values->data;
    const uint8_t *vb = s->stats.null_count ? s->validity->data : NULL;
    for (int64_t r = 0; r < rows; r++) {
        if ((vb && !qv_bit_get(vb, r)) || g[r] < 0 || g[r] >= dn) {
            ld->codes[r] = 0;
            continue;
        }
        if (map[g[r]] < 0) {
            int32_t len;
            const char *p = st_array_str(d, g[r], &len);
            qv_str_append(&ld->data, p, (size_t)len);
            map[g[r]] = n++;
            ld->off[n] = (int32_t)ld->data.len;
        }
        ld->codes[r] = map[g[r]];
    }
    if (n == 0) ld->off[++n] = 0; /* all null: one empty entry, so code 0 is valid */
    ld->n = n;
    free(map);
}

/* A STRING segment as codes into a dictionary of its distinct values, when
   that is smaller than offsets + bytes (low-cardinality text such as
   tickers). Gives up (false) past rows/4 distinct values. */
static bool string_dict_build(local_dict *ld, const st_colseg *s, int64_t rows) {
    int64_t limit = rows / 4 + 1;
    uint32_t nslots = 64;
    while (nslots < (uint64_t)limit * 2) nslots *= 2;
    int32_t *slots = qv_xcalloc(nslots, sizeof(int32_t)); /* code + 1 */
    ld->codes = qv_alloc_aligned((size_t)rows * 4);
    ld->off = qv_xmalloc(sizeof(int32_t) * (size_t)(limit + 2));
    ld->off[0] = 0;
    qv_str_init(&ld->data);
    const int32_t *o = (const int32_t *)s->values->data;
    const char *d = s->data ? (const char *)s->data->data : "";
    const uint8_t *vb = s->stats.null_count ? s->validity->data : NULL;
    int32_t n = 0;
    bool ok = true;
    for (int64_t r = 0; r < rows && ok; r++) {
        if (vb && !qv_bit_get(vb, r)) {
            ld->codes[r] = 0;
            continue;
        }
        const char *p = d + o[r];
        int32_t len = o[r + 1] - o[r];
        uint32_t i = (uint32_t)hash_bytes(p, (size_t)len) & (nslots - 1);
        for (; slots[i]; i = (i + 1) & (nslots - 1)) {
            int32_t c = slots[i] - 1;
            if (ld->off[c + 1] - ld->off[c] == len && !memcmp(ld->data.data + ld->off[c], p, (size_t)len)) break;
        }
        if (!slots[i]) {
            if (n == limit) {
                ok = false;
                break;
            }
            qv_str_append(&ld->data, p, (size_t)len);
            slots[i] = ++n;
            ld->off[n] = (int32_t)ld->data.len;
        }
        ld->codes[r] = slots[i] - 1;
    }
    free(slots);
    if (ok && n == 0) ld->off[++n] = 0;
    ld->n = n;
    size_t plain = (size_t)(rows + 1) * 4 + s->data_len, coded = (size_t)rows * 4 + (size_t)(n + 1) * 4 + ld->data.len;
    if (ok && coded < plain) return true;
    qv_free_aligned(ld->codes);
    free(ld->off);
    qv_str_free(&ld->data);
    memset(ld, 0, sizeof *ld);
    return false;
}

int st_rg_write_file(st_rg *rg, const qv_schema *schema, qv_array *const *dicts, const char *path,
                     uint64_t table_id, int64_t rgi, unsigned flags, st_filesync *bg, int64_t *file_bytes,
                     qv_err *err) {
    int nc = schema->nfields;
    st_colsrc *cs = qv_xcalloc((size_t)nc, sizeof *cs);
    local_dict *lds = qv_xcalloc((size_t)nc, sizeof *lds);
    st_stats *mm = qv_xcalloc((size_t)nc, sizeof *mm);
    int64_t rows = rg->rows;
    for (int c = 0; c < nc; c++) {
        const st_colseg *s = &rg->cols[c];
        qv_type ty = schema->fields[c].type;
        st_colsrc *x = &cs[c];
        x->type = ty;
        x->stats = s->stats;
        if (s->minmax_pending) x->minmax_out = &mm[c];
        x->validity = s->stats.null_count ? s->validity->data : NULL;
        x->values = s->values->data;
        x->values_buf = s->values;
        if (ty == QV_T_BOOL) x->values_len = (size_t)(rows + 7) / 8;
        else if (ty == QV_T_STRING) {
            x->values_len = (size_t)(rows + 1) * 4;
            x->data = s->data->data;
            x->data_len = s->data_len;
        } else x->values_len = (size_t)rows * (size_t)qv_type_width(ty);
        if (ty == QV_T_STRING && string_dict_build(&lds[c], s, rows)) {
            x->dict_encoded = true;
            x->values_buf = NULL;
            x->data = NULL;
            x->data_len = 0;
            x->values_len = (size_t)rows * 4;
        }
        if (ty == QV_T_SYMBOL) local_dict_build(&lds[c], s, dicts ? dicts[c] : NULL, rows);
        if (lds[c].codes) {
            x->values = (const uint8_t *)lds[c].codes;
            x->values_buf = NULL;
            x->dict_off = (const uint8_t *)lds[c].off;
            x->dict_off_len = (size_t)(lds[c].n + 1) * 4;
            x->dict_data = (const uint8_t *)lds[c].data.data;
            x->dict_data_len = lds[c].data.len;
        }
    }
    int rc = st_colfile_write(path, table_id, rgi, rows, nc, cs, flags, bg, file_bytes, err);
    for (int c = 0; c < nc && rc == QV_OK; c++)
        if (rg->cols[c].minmax_pending) {
            st_stats *st = &rg->cols[c].stats;
            st->has_minmax = mm[c].has_minmax;
            st->has_nan = mm[c].has_nan;
            st->min = mm[c].min;
            st->max = mm[c].max;
            rg->cols[c].minmax_pending = false;
        }
    free(mm);
    for (int c = 0; c < nc; c++)
        if (lds[c].codes) {
            qv_free_aligned(lds[c].codes);
            free(lds[c].off);
            qv_str_free(&lds[c].data);
        }
    free(lds);
    free(cs);
    return rc;
}
