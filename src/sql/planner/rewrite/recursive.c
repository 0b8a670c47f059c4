/* WITH RECURSIVE c AS (anchor UNION [ALL] step): materialized while the
   statement is planned. The anchor runs; then the step runs again and again
   with its reference to c reading the rows of the round before (rc->work),
   each round's rows added to the result, until a round adds none. With
   UNION (not ALL) a row already in the result, or twice in a round, is
   dropped, which also ends cycles. The result is a rowset the plan streams
   (exec/rowset.c); each use of c in the statement materializes it again, as
   every CTE is planned at its use. Bounds, each a clear error: 10000 rounds,
   the query's memory limit for the rows held. The anchor and the step may
   not use placeholders or subqueries (they would run before those have
   values). The step's columns take the anchor's types, as UNION does. */
#include "plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_MAX_ROUNDS 10000

/* ---- the rows already produced (UNION): a set of row encodings ---- */
typedef struct row_set {
    qv_str keys;         /* the encodings, back to back */
    int64_t *off;        /* per slot: 1 + offset of its encoding in keys, 0 empty */
    uint32_t *len;
    uint64_t *hash;
    int64_t cap, n;
} row_set;

static void row_key(const chunk *c, int r, qv_str *out) {
    out->len = 0;
    for (int j = 0; j < c->ncols; j++) {
        const vec *v = &c->cols[j];
        bool null = v->type == T_NULL || vec_null(v, r);
        qv_str_appendc(out, null ? 0 : 1);
        if (null) continue;
        switch (type_pc(v->type)) {
        case PC_I: qv_str_append(out, (const char *)&v->i[r], 8); break;
        case PC_F: {
            double d = v->f[r];
            uint64_t b = dbl_key_bits(d); /* NaNs one key, -0.0 = 0.0, as DISTINCT compares */
            qv_str_append(out, (const char *)&b, 8);
            break;
        }
        case PC_S: {
            sv s = vec_str_at(v, r);
            qv_str_append(out, (const char *)&s.n, 4);
            qv_str_append(out, s.p, (size_t)s.n);
            break;
        }
        }
    }
}

static void set_grow(row_set *s) {
    int64_t nc = s->cap ? s->cap * 2 : 1024;
    int64_t *off = qv_xcalloc((size_t)nc, sizeof *off);
    uint32_t *len = qv_xcalloc((size_t)nc, sizeof *len);
    uint64_t *hash = qv_xcalloc((size_t)nc, sizeof *hash);
    for (int64_t i = 0; i < s->cap; i++) {
        if (!s->off[i]) continue;
        int64_t k = (int64_t)(s->hash[i] & (uint64_t)(nc - 1));
        while (off[k]) k = (k + 1) & (nc - 1);
        off[k] = s->off[i], len[k] = s->len[i], hash[k] = s->hash[i];
    }
    free(s->off), free(s->len), free(s->hash);
    s->off = off, s->len = len, s->hash = hash, s->cap = nc;
}

/* Adds the encoding; false when it was there. */
static bool set_add(row_set *s, const qv_str *key) {
    if (2 * (s->n + 1) > s->cap) set_grow(s);
    uint64_t h = hash_bytes(key->data, key->len, 0x5eed);
    int64_t k = (int64_t)(h & (uint64_t)(s->cap - 1));
    for (; s->off[k]; k = (k + 1) & (s->cap - 1))
        if (s->hash[k] == h && s->len[k] == key->len && !memcmp(s->keys.data + s->off[k] - 1, key->data, key->len))
            return false;
    s->off[k] = (int64_t)s->keys.len + 1, s->len[k] = (uint32_t)key->len, s->hash[k] = h;
    qv_str_append(&s->keys, key->data, key->len);
    s->n++;
    return true;
}

static void set_free(row_set *s) {
    qv_str_free(&s->keys);
    free(s->off), free(s->len), free(s->hash);
}

/* ---- running one side ---- */

/* Plans q (its columns coerced to types when given) and runs it: its rows
   into out (and, with seen, only the ones not seen before). */
static int run_side(sql_ctx *ctx, qstate *qs, arena *ar, const rec_cte *rc, select_stmt *q, const qv_type *types,
                    rowset **out, plan *shape, row_set *seen, qv_err *err) {
    int ninits = qs->ninits;
    plan pl;
    if (plan_select(ctx, qs, ar, q, false, &pl, err)) return err->code;
    int rc_ = 0;
    if (qs->ninits != ninits)
        rc_ = qv_err_set(err, QV_EUNSUPPORTED, "recursive CTE %s: a subquery in its anchor or step is not supported",
                         rc->name);
    if (!rc_ && types && pl.schema.nfields != (*out)->ncols)
        rc_ = qv_err_set(err, QV_EINVAL, "recursive CTE %s: its step returns %d columns, its anchor %d", rc->name,
                         pl.schema.nfields, (*out)->ncols);
    if (!rc_ && types) { /* the step's columns as the anchor's types */
        bool same = true;
        for (int j = 0; j < pl.schema.nfields; j++) same &= pl.root->types[j] == types[j];
        if (!same) {
            scope none = {0};
            binder b = {.ar = ar, .err = err, .in = &none};
            bexpr **pe = arena_alloc(ar, sizeof(bexpr *) * (size_t)(pl.schema.nfields + 1));
            for (int j = 0; j < pl.schema.nfields && !rc_; j++) {
                pe[j] = mk_col(ar, j, pl.root->types[j], pl.schema.fields[j].tz);
                if (pl.root->types[j] != T_NULL && !castable_to(pl.root->types[j], types[j]))
                    rc_ = qv_err_set(err, QV_EINVAL, "recursive CTE %s: its step's column %d is %s, its anchor's %s",
                                     rc->name, j + 1, type_name(pl.root->types[j]), type_name(types[j]));
                else if (!(pe[j] = bind_coerce(&b, pe[j], types[j]))) rc_ = err->code;
            }
            if (!rc_) pl.root = op_project_new(qs, pl.root, pl.schema.nfields, pe);
        }
    }
    if (!rc_ && !types) {
        qv_type *t = qv_xmalloc(sizeof(qv_type) * (size_t)(pl.schema.nfields + 1));
        for (int j = 0; j < pl.schema.nfields; j++) t[j] = pl.root->types[j] == T_NULL ? QV_T_INT32 : pl.root->types[j];
        *out = rowset_new(pl.schema.nfields, t);
        free(t);
    }
    qv_str key;
    qv_str_init(&key);
    int *keep = qv_xmalloc(sizeof(int) * CHUNK);
    while (!rc_) {
        chunk *c;
        if ((rc_ = pl.root->next(pl.root, &c, err)) || !c) break;
        int m = chunk_active(c), nk = 0;
        for (int k = 0; k < m; k++) {
            int r = chunk_row(c, k);
            if (seen) {
                row_key(c, r, &key);
                if (!set_add(seen, &key)) continue;
            }
            keep[nk++] = r;
        }
        rowset_add(*out, c, keep, nk);
    }
    free(keep);
    qv_str_free(&key);
    if (!rc_ && shape) { /* the anchor's names and time zones for the CTE's schema */
        qv_schema_init(&shape->schema);
        qv_schema_copy(&shape->schema, &pl.schema);
    }
    plan_free(&pl);
    return rc_;
}

static void merge(rowset *into, rowset *from) {
    for (int i = 0; i < from->n; i++) rowset_add(into, &from->chunks[i], NULL, from->chunks[i].n);
}

static int fill_plan(arena *ar, qstate *qs, const rec_cte *rc, rowset *rs, const qv_schema *shape, plan *p) {
    memset(p, 0, sizeof *p);
    qv_schema_init(&p->schema);
    for (int j = 0; j < rs->ncols; j++) {
        sql_schema_add(&p->schema, rc->names[j], rs->types[j], true);
        memcpy(p->schema.fields[j].tz, shape->fields[j].tz, sizeof p->schema.fields[j].tz);
    }
    p->total_rows = rs->rows;
    p->root = op_rowset_new(qs, rs, true);
    lnode *n = lg_node(ar, LG_TABLE_FUNC, NULL, NULL);
    n->name = arena_strdup(ar, "WITH RECURSIVE");
    n->alias = rc->name;
    n->est = rs->rows;
    p->logical = n;
    return 0;
}

int plan_recursive(sql_ctx *ctx, qstate *qs, arena *ar, select_stmt *s, plan *p, qv_err *err) {
    rec_cte *rc = s->rec;
    if (qs->params && qs->params->n)
        return qv_err_set(err, QV_EUNSUPPORTED, "WITH RECURSIVE cannot read placeholders (%s is computed while the "
                          "statement is planned)", rc->name);
    row_set seen = {0};
    qv_str_init(&seen.keys);
    rowset *all = NULL, *work = NULL;
    plan shape = {0};
    qv_schema_init(&shape.schema);
    int rc_ = run_side(ctx, qs, ar, rc, rc->anchor, NULL, &all, &shape, rc->all ? NULL : &seen, err);
    if (!rc_) {
        work = rowset_new(all->ncols, all->types);
        merge(work, all);
        rc->names = arena_alloc(ar, sizeof(char *) * (size_t)(all->ncols + 1));
        for (int j = 0; j < all->ncols; j++)
            rc->names[j] = j < rc->ncols ? rc->cols[j] : arena_strdup(ar, shape.schema.fields[j].name);
    }
    for (int round = 0; !rc_ && work->rows > 0; round++) {
        if (round == REC_MAX_ROUNDS) {
            rc_ = qv_err_set(err, QV_EINVAL, "recursive CTE %s did not end after %d rounds (a step that always adds rows?)",
                             rc->name, REC_MAX_ROUNDS);
            break;
        }
        rowset *next = rowset_new(all->ncols, all->types);
        rc->work = work;
        rc_ = run_side(ctx, qs, ar, rc, rc->step, all->types, &next, NULL, rc->all ? NULL : &seen, err);
        rc->work = NULL;
        rowset_free(work);
        work = next;
        if (rc_) break;
        merge(all, work);
        if (rowset_bytes(all) > qs->mem_limit)
            rc_ = qv_err_set(err, QV_ERESOURCE, "recursive CTE %s holds more than the query's memory limit (%lld bytes)",
                             rc->name, (long long)qs->mem_limit);
    }
    rowset_free(work);
    set_free(&seen);
    if (!rc_) rc_ = fill_plan(ar, qs, rc, all, &shape.schema, p);
    else rowset_free(all);
    qv_schema_free(&shape.schema);
    return rc_;
}

int plan_rec_ref(qstate *qs, arena *ar, select_stmt *s, plan *p, qv_err *err) {
    rec_cte *rc = s->rec_ref;
    rowset *w = rc->work;
    if (!w)
        return qv_err_set(err, QV_EINVAL, "recursive CTE %s is read in its anchor (line %d, column %d); only its step "
                          "may read it", rc->name, rc->line, rc->col);
    memset(p, 0, sizeof *p);
    qv_schema_init(&p->schema);
    for (int j = 0; j < w->ncols; j++) sql_schema_add(&p->schema, rc->names[j], w->types[j], true);
    p->total_rows = w->rows;
    p->root = op_rowset_new(qs, w, false);
    lnode *n = lg_node(ar, LG_TABLE_FUNC, NULL, NULL);
    n->name = arena_strdup(ar, "WITH RECURSIVE");
    n->alias = rc->name;
    p->logical = n;
    return 0;
}
