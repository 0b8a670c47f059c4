/* The table scan: reads the row groups of one snapshot (a contiguous share
   of them in parallel plans, or a scoped row range), skips row groups whose
   min/max rule out the pruning predicates or a top-N guard's bound, marks
   chunks of row groups whose min/max satisfy every predicate (all_pass, so a
   covered filter passes them untouched), and hands out chunks whose vectors
   borrow the storage segments where the layout allows (zero copy). The scan
   owns the arrays of the row group it has loaded until it moves on. */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void indent(qv_str *s, int depth) {
    for (int i = 0; i < depth; i++) qv_str_append(s, "  ", 2);
}
typedef struct scan_op {
    op base;
    st_table *t;
    st_snapshot *snap;
    int ncols;       /* table columns */
    bool *need;
    scan_pred *preds;
    int npreds;
    int rg, nrg, pruned, rg_lo;
    int64_t rg_rows, pos;
    qv_array *arrs;
    sym_cache *symc; /* per column */
    const scan_bound *bound; /* owned by a top-N guard above, or NULL */
    int64_t *rg_start;       /* scoped scans: first storage row of each row group, or NULL */
    int64_t row_from, row_to;
    bool loaded;
    const uint8_t *del; /* the loaded row group's deleted rows, or NULL */
    int cur_rg, last_rg; /* the loaded row group; row group and first row of the chunk handed out last */
    int64_t last_pos;
    chunk out;
} scan_op;

/* Storage leaves NaN out of a DOUBLE row group's min/max, and NaN is the
   greatest double: a row group that may hold one (st_stats.has_nan) may
   hold rows above its max that pass `col > v`, `col >= v` and `col = NaN`,
   so those do not prune it. */
static bool nan_may_pass(int op, double v) { return op == OP_GT || op == OP_GE || (op == OP_EQ && v != v); }

static bool bound_prunes(scan_op *s, int rg) {
    const scan_bound *b = s->bound;
    if (!b || !b->active) return false;
    st_stats st;
    st_snapshot_stats(s->snap, rg, b->col, &st);
    if (st.null_count > 0 && b->keep_nulls) return false;
    if (st.null_count >= st_snapshot_rowgroup_rows(s->snap, rg) && st.null_count > 0) return true;
    if (!st.has_minmax) return false;
    int cmin, cmax;
    if (type_pc(b->vtype) == PC_F) {
        if (st.has_nan && nan_may_pass(b->op, b->v.f)) return false;
        cmin = dbl_cmp(st.min.f, b->v.f);
        cmax = dbl_cmp(st.max.f, b->v.f);
    } else {
        cmin = (st.min.i > b->v.i) - (st.min.i < b->v.i);
        cmax = (st.max.i > b->v.i) - (st.max.i < b->v.i);
    }
    switch (b->op) {
    case OP_LT: return cmin >= 0;
    case OP_LE: return cmin > 0;
    case OP_GT: return cmax <= 0;
    case OP_GE: return cmax < 0;
    }
    return false;
}

void op_scan_set_bound(op *o, const scan_bound *b) { ((scan_op *)o)->bound = b; }

static bool rg_pruned(scan_op *s, int rg) {
    if (bound_prunes(s, rg)) return true;
    for (int i = 0; i < s->npreds; i++) {
        scan_pred *p = &s->preds[i];
        st_stats st;
        st_snapshot_stats(s->snap, rg, p->col, &st);
        if (st.null_count >= st_snapshot_rowgroup_rows(s->snap, rg) && st.null_count > 0) return true;
        if (!st.has_minmax) continue;
        int cmin, cmax; /* sign of (min - v), (max - v) */
        if (type_pc(p->vtype) == PC_F) {
            if (st.has_nan && nan_may_pass(p->op, p->v.f)) continue;
            cmin = dbl_cmp(st.min.f, p->v.f);
            cmax = dbl_cmp(st.max.f, p->v.f);
        } else {
            cmin = (st.min.i > p->v.i) - (st.min.i < p->v.i);
            cmax = (st.max.i > p->v.i) - (st.max.i < p->v.i);
        }
        switch (p->op) {
        case OP_EQ: if (cmin > 0 || cmax < 0) return true; break;
        case OP_LT: if (cmin >= 0) return true; break;
        case OP_LE: if (cmin > 0) return true; break;
        case OP_GT: if (cmax <= 0) return true; break;
        case OP_GE: if (cmax < 0) return true; break;
        }
    }
    return false;
}

/* Every pruning predicate holds for every row of the row group (integer classes only). */
static bool rg_all_pass(scan_op *s, int rg) {
    if (!s->npreds) return false;
    for (int i = 0; i < s->npreds; i++) {
        scan_pred *p = &s->preds[i];
        if (type_pc(p->vtype) != PC_I) return false;
        st_stats st;
        st_snapshot_stats(s->snap, rg, p->col, &st);
        if (st.null_count > 0 || !st.has_minmax) return false;
        int64_t v = p->v.i;
        bool ok = false;
        switch (p->op) {
        case OP_EQ: ok = st.min.i == v && st.max.i == v; break;
        case OP_LT: ok = st.max.i < v; break;
        case OP_LE: ok = st.max.i <= v; break;
        case OP_GT: ok = st.min.i > v; break;
        case OP_GE: ok = st.min.i >= v; break;
        }
        if (!ok) return false;
    }
    return true;
}

/* First row of v[lo, hi) (ascending) with v[r] > x (upper) or >= x (lower). */
static int64_t bound_search(const int64_t *v, int64_t lo, int64_t hi, int64_t x, bool upper) {
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (upper ? v[mid] <= x : v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* v[lo, hi) in ascending order; gives up at the first block with an inversion. */
static bool is_sorted(const int64_t *v, int64_t lo, int64_t hi) {
    for (int64_t b = lo; b + 1 < hi; b += 1024) {
        int64_t e = b + 1024 < hi - 1 ? b + 1024 : hi - 1;
        bool bad = false;
        for (int64_t k = b; k < e; k++) bad |= v[k] > v[k + 1];
        if (bad) return false;
    }
    return true;
}

/* A loaded row group the min/max neither pruned nor passed whole: for each
   integer pruning predicate whose column has no nulls and is sorted here,
   the rows that satisfy it are one run found by binary search. The scan
   keeps only the intersection of those runs; when every predicate was
   decided so, the rows left all pass (the covered filter skips them).
   False when no row is left. */
static bool narrow_sorted(scan_op *s) {
    bool all = true;
    int64_t lo = s->pos, hi = s->rg_rows;
    int sorted_col = -1;
    for (int i = 0; i < s->npreds && lo < hi; i++) {
        const scan_pred *p = &s->preds[i];
        const qv_array *a = &s->arrs[p->col];
        if (!s->need[p->col] || type_pc(p->vtype) != PC_I || a->validity || !qv_type_is_i64(a->type)) {
            all = false;
            continue;
        }
        const int64_t *v = (const int64_t *)a->values->data + a->offset;
        if (sorted_col != p->col) {
            if (!is_sorted(v, s->pos, s->rg_rows)) {
                all = false;
                continue;
            }
            sorted_col = p->col;
        }
        int64_t x = p->v.i;
        switch (p->op) {
        case OP_EQ:
            lo = bound_search(v, lo, hi, x, false);
            hi = bound_search(v, lo, hi, x, true);
            break;
        case OP_GE: lo = bound_search(v, lo, hi, x, false); break;
        case OP_GT: lo = bound_search(v, lo, hi, x, true); break;
        case OP_LT: hi = bound_search(v, lo, hi, x, false); break;
        case OP_LE: hi = bound_search(v, lo, hi, x, true); break;
        default: all = false; break;
        }
    }
    s->pos = lo;
    s->rg_rows = hi > lo ? hi : lo;
    s->out.all_pass = all;
    return lo < hi;
}

/* vt: the vector's SQL type (a DECIMAL column's carries its scale). */
static void load_vec(vec *v, const qv_array *a, int64_t off, int n, sym_cache *symc, qv_type vt) {
    qv_type t = a->type;
    if (!a->validity && (qv_type_is_i64(t) || t == QV_T_FLOAT64)) {
        /* same layout as a vector: read the segment in place (the scan holds it) */
        vec view;
        memset(&view, 0, sizeof view);
        view.type = vt;
        view.n = n;
        view.cap = n;
        if (t == QV_T_FLOAT64) view.f = (double *)a->values->data + a->offset + off;
        else view.i = (int64_t *)a->values->data + a->offset + off;
        vec_borrow(v, &view);
        return;
    }
    vec_reset(v, vt, n);
    int64_t base = a->offset + off;
    switch (t) {
    case QV_T_INT32:
    case QV_T_DATE: {
        const int32_t *p = (const int32_t *)a->values->data + base;
        for (int k = 0; k < n; k++) v->i[k] = p[k];
        break;
    }
    case QV_T_INT64:
    case QV_T_TIMESTAMP:
    case QV_T_DECIMAL:
    case QV_T_INTERVAL:
    case QV_T_TIME:
        memcpy(v->i, (const int64_t *)a->values->data + base, sizeof(int64_t) * (size_t)n);
        break;
    case QV_T_FLOAT32: {
        const float *p = (const float *)a->values->data + base;
        for (int k = 0; k < n; k++) v->f[k] = p[k];
        break;
    }
    case QV_T_FLOAT64:
        memcpy(v->f, (const double *)a->values->data + base, sizeof(double) * (size_t)n);
        break;
    case QV_T_BOOL:
        for (int k = 0; k < n; k++) v->i[k] = qv_bit_get(a->values->data, base + k);
        break;
    case QV_T_STRING: {
        const int32_t *o = (const int32_t *)a->values->data + base;
        const char *d = a->data ? (const char *)a->data->data : "";
        for (int k = 0; k < n; k++) v->s[k] = (sv){d + o[k], o[k + 1] - o[k]};
        break;
    }
    case QV_T_SYMBOL:
        /* strings are looked up only for the rows an expression reads (expr.c) */
        v->codes = (const int32_t *)a->values->data + base;
        v->dict = a->dict;
        v->symc = symc;
        break;
    case QV_T_INVALID:
    case QV_T__COUNT: break; /* never a stored column's type */
    }
    if (a->validity) {
        for (int k = 0; k < n; k++)
            if (!qv_bit_get(a->validity->data, base + k)) {
                v->nulls[k] = 1;
                v->has_nulls = true;
            }
    }
}

static void scan_unload(scan_op *s) {
    if (!s->loaded) return;
    for (int c = 0; c < s->ncols; c++)
        if (s->need[c]) qv_array_free(&s->arrs[c]);
    s->loaded = false;
}

static int scan_load(scan_op *s, qv_err *err);

static int scan_next(op *o, chunk **out, qv_err *err) {
    scan_op *s = (scan_op *)o;
    if (qstate_check(o->qs, err)) return err->code;
    for (;;) {
        if (scan_load(s, err)) return err->code;
        if (!s->loaded) { *out = NULL; return 0; }
        int n = (int)(s->rg_rows - s->pos < CHUNK ? s->rg_rows - s->pos : CHUNK);
        s->out.has_sel = false;
        if (s->del) { /* deleted rows leave the selection */
            if (!s->out.sel) s->out.sel = qv_xmalloc(sizeof(int) * CHUNK);
            int ns = 0;
            for (int k = 0; k < n; k++) {
                s->out.sel[ns] = k;
                ns += !qv_bit_get(s->del, s->pos + k);
            }
            if (ns == 0) {
                s->pos += n;
                continue;
            }
            if (ns < n) {
                s->out.nsel = ns;
                s->out.has_sel = true;
            }
        }
        for (int c = 0; c < s->ncols; c++)
            if (s->need[c]) load_vec(&s->out.cols[c], &s->arrs[c], s->pos, n, &s->symc[c], s->base.types[c]);
        s->last_rg = s->cur_rg;
        s->last_pos = s->pos;
        s->pos += n;
        s->out.n = n;
        *out = &s->out;
        return 0;
    }
}

/* Loads the next row group with rows left unless one is loaded (s->loaded false at the end). */
static int scan_load(scan_op *s, qv_err *err) {
    op *o = &s->base;
    while (!s->loaded || s->pos >= s->rg_rows) {
        scan_unload(s);
        if (s->rg >= s->nrg) return 0;
        int rg = s->rg++;
        if (s->rg_start && (s->rg_start[rg + 1] <= s->row_from || s->rg_start[rg] >= s->row_to)) continue;
        if (rg_pruned(s, rg)) { s->pruned++; continue; }
        s->rg_rows = st_snapshot_rowgroup_rows(s->snap, rg);
        int64_t ndel = st_snapshot_rowgroup_deleted(s->snap, rg, &s->del);
        if (ndel > 0 && ndel >= s->rg_rows) continue; /* nothing left of it */
        s->cur_rg = rg;
        s->pos = 0;
        if (s->rg_start) { /* slice the row group to the scope */
            int64_t b0 = s->rg_start[rg];
            if (s->row_from > b0) s->pos = s->row_from - b0;
            if (s->row_to < b0 + s->rg_rows) s->rg_rows = s->row_to - b0;
        }
        int64_t bytes = 0;
        for (int c = 0; c < s->ncols; c++)
            if (s->need[c]) {
                if (st_snapshot_read_codes(s->snap, rg, c, &s->arrs[c], err)) {
                    s->loaded = true; /* scan_unload frees what was read */
                    return err->code;
                }
                bytes += qv_array_bytes(&s->arrs[c]);
            }
        /* rows of the row groups read, whether or not narrow_sorted skips some */
        atomic_fetch_add(&o->qs->rows_read, s->rg_rows - s->pos);
        atomic_fetch_add(&o->qs->bytes_read, bytes);
        s->loaded = true;
        s->out.all_pass = rg_all_pass(s, rg);
        if (!s->out.all_pass && s->npreds && !narrow_sorted(s)) continue;
    }
    return 0;
}

chunk *op_scan_last(op *o, int *rg, int64_t *row) {
    scan_op *s = (scan_op *)o;
    *rg = s->last_rg;
    *row = s->last_pos;
    return &s->out;
}

void op_scan_set_snapshot(op *o, st_snapshot *snap) {
    scan_op *s = (scan_op *)o;
    scan_unload(s);
    s->snap = snap;
    s->rg = s->rg_lo = 0;
    s->nrg = st_snapshot_rowgroups(snap);
}

static void scan_free(op *o) {
    scan_op *s = (scan_op *)o;
    scan_unload(s);
    chunk_free(&s->out);
    free(s->need);
    free(s->preds);
    free(s->arrs);
    free(s->symc);
    free(s->rg_start);
    free(o->types);
    free(s);
}

static void scan_explain(op *o, qv_str *str, int depth) {
    scan_op *s = (scan_op *)o;
    indent(str, depth);
    const qv_schema *sch = st_table_schema(s->t);
    qv_str_appendf(str, "SCAN %s columns=[", st_table_name(s->t));
    bool first = true;
    for (int c = 0; c < s->ncols; c++)
        if (s->need[c]) {
            qv_str_appendf(str, "%s%s", first ? "" : ", ", sch->fields[c].name);
            first = false;
        }
    qv_str_appendf(str, "] rowgroups=%d", s->nrg - s->rg_lo);
    if (s->rg_start) qv_str_appendf(str, " rows=[%lld, %lld)", (long long)s->row_from, (long long)s->row_to);
    if (s->npreds) {
        static const char *ops[] = {"", "", "", "", "", "", "", "", "=", "<>", "<", "<=", ">", ">="};
        qv_str_appendf(str, " prune=[");
        for (int i = 0; i < s->npreds; i++)
            qv_str_appendf(str, "%s%s %s const", i ? ", " : "", sch->fields[s->preds[i].col].name, ops[s->preds[i].op]);
        qv_str_appendf(str, "]");
    }
    qv_str_appendc(str, '\n');
}

void op_scan_set_rows(op *o, int64_t from, int64_t to) {
    scan_op *s = (scan_op *)o;
    int nrg = st_snapshot_rowgroups(s->snap);
    free(s->rg_start);
    s->rg_start = qv_xmalloc(sizeof(int64_t) * (size_t)(nrg + 1));
    s->rg_start[0] = 0;
    for (int i = 0; i < nrg; i++) s->rg_start[i + 1] = s->rg_start[i] + st_snapshot_rowgroup_rows(s->snap, i);
    s->row_from = from < 0 ? 0 : from;
    s->row_to = to < s->row_from ? s->row_from : to;
}

void op_scan_set_range(op *o, int lo, int hi) {
    scan_op *s = (scan_op *)o;
    scan_unload(s);
    s->rg = s->rg_lo = lo;
    s->nrg = hi;
}

op *op_scan_new(qstate *qs, st_table *t, st_snapshot *snap, int ncols, const int *cols,
                const scan_pred *preds, int npreds) {
    scan_op *s = qv_xcalloc(1, sizeof *s);
    const qv_schema *sch = st_table_schema(t);
    s->t = t;
    s->snap = snap;
    s->ncols = sch->nfields;
    s->need = qv_xcalloc((size_t)s->ncols, sizeof(bool));
    for (int i = 0; i < ncols; i++) s->need[cols[i]] = true;
    s->preds = qv_xcalloc((size_t)(npreds ? npreds : 1), sizeof(scan_pred));
    if (npreds) memcpy(s->preds, preds, sizeof(scan_pred) * (size_t)npreds);
    s->npreds = npreds;
    s->nrg = st_snapshot_rowgroups(snap);
    s->arrs = qv_xcalloc((size_t)s->ncols, sizeof(qv_array));
    s->symc = qv_xcalloc((size_t)s->ncols, sizeof(sym_cache));
    s->base.types = qv_xcalloc((size_t)s->ncols, sizeof(qv_type));
    for (int c = 0; c < s->ncols; c++) {
        qv_type ty = sql_field_type(&sch->fields[c]);
        s->base.types[c] = ty == QV_T_SYMBOL ? QV_T_STRING : ty;
    }
    chunk_init(&s->out, s->ncols, s->base.types);
    s->base.name = "scan";
    s->base.ncols = s->ncols;
    s->base.next = scan_next;
    s->base.free = scan_free;
    s->base.explain = scan_explain;
    s->base.qs = qs;
    return &s->base;
}

