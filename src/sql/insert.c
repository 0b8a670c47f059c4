/* INSERT INTO t [(cols)] VALUES ... | SELECT ...: bound and planned at
   prepare (so placeholders get their types and bad literals fail early),
   run on the first next() as one atomic storage append. The query owns
   ins_map, ins_vals (arena) and ins_pl.
   CREATE TABLE t AS SELECT ...: the query is planned the same way; at run
   the table is made by the append that holds its rows (st_append_begin_new),
   so it is listed with all of them or not at all (a failed or cancelled
   query leaves no table). */
#include "query_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int target_map(sql_query *q, const qv_schema *ts, int *map, int *nsrc, qv_err *err) {
    stmt *st = q->st;
    for (int i = 0; i < ts->nfields; i++) map[i] = -1;
    if (!st->ncols) {
        for (int i = 0; i < ts->nfields; i++) map[i] = i;
        *nsrc = ts->nfields;
        return 0;
    }
    for (int j = 0; j < st->ncols; j++) {
        int f = qv_schema_find(ts, st->cols[j]);
        if (f < 0)
            for (int i = 0; i < ts->nfields; i++)
                if (!strcasecmp(ts->fields[i].name, st->cols[j])) f = i;
        if (f < 0) return qv_err_set(err, QV_EINVAL, "table '%s' has no column '%s'", st->table, st->cols[j]);
        if (map[f] >= 0) return qv_err_set(err, QV_EINVAL, "column '%s' is listed twice", st->cols[j]);
        map[f] = j;
    }
    *nsrc = st->ncols;
    return 0;
}

/* The SQL type values for a table column are made in (SYMBOL takes strings). */
static qv_type store_type(const qv_field *f) { return f->type == QV_T_SYMBOL ? QV_T_STRING : sql_field_type(f); }

static int open_target(sql_query *q, st_table **t, qv_err *err) {
    if (sql_table_open(q->ctx->db, q->st->table, t, err)) {
        if (err->code == QV_ENOTFOUND) qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist", q->st->table);
        return err->code;
    }
    return 0;
}

static int bind_values(sql_query *q, binder *b, const qv_schema *ts, qv_err *err) {
    stmt *st = q->st;
    int nf = ts->nfields;
    q->ins_vals = arena_alloc(&q->ar, sizeof(bexpr *) * (size_t)(st->nrows * nf + 1));
    for (int i = 0; i < nf; i++) {
        qv_type tt = store_type(&ts->fields[i]);
        for (int r = 0; r < st->nrows; r++) {
            if (q->ins_map[i] < 0) continue;
            ast *a = st->rows[r][q->ins_map[i]];
            bexpr *e = bind_expr(b, a);
            if (!e) return err->code;
            if ((e->type == T_INTERVAL && tt != T_INTERVAL) || (e->type != T_NULL && !castable_to(e->type, tt)))
                return qv_err_set(err, QV_EINVAL, "cannot insert %s into column '%s' of type %s (line %d, column %d)",
                                  type_name(e->type), ts->fields[i].name, type_name(tt), a->line, a->col);
            if (!(e = bind_coerce(b, e, tt))) return err->code;
            q->ins_vals[r * nf + i] = e;
        }
    }
    return 0;
}

static int plan_source(sql_query *q, binder *b, const qv_schema *ts, int nsrc, qv_err *err) {
    plan *pl = &q->ins_pl;
    if (plan_select(q->ctx, &q->qs, &q->ar, q->st->sel, false, pl, err)) return err->code;
    q->ins_has_plan = true;
    if (pl->schema.nfields != nsrc)
        return qv_err_set(err, QV_EINVAL, "INSERT has %d target columns but the SELECT returns %d", nsrc, pl->schema.nfields);
    bexpr **pe = arena_alloc(&q->ar, sizeof(bexpr *) * (size_t)(ts->nfields + 1));
    for (int i = 0; i < ts->nfields; i++) {
        qv_type tt = store_type(&ts->fields[i]);
        if (q->ins_map[i] < 0) {
            pe[i] = arena_alloc(&q->ar, sizeof(bexpr));
            pe[i]->kind = B_CONST;
            pe[i]->type = tt;
            pe[i]->cval.null = true;
            continue;
        }
        qv_type st2 = pl->root->types[q->ins_map[i]];
        if ((st2 == T_INTERVAL && tt != T_INTERVAL) || (st2 != T_NULL && st2 != tt && type_pc(st2) != PC_S && tt != QV_T_STRING &&
                                  !castable_to(st2, tt)))
            return qv_err_set(err, QV_EINVAL, "cannot insert %s into column '%s' of type %s", type_name(st2),
                              ts->fields[i].name, type_name(tt));
        pe[i] = bind_coerce(b, mk_col(&q->ar, q->ins_map[i], st2, NULL), tt);
    }
    pl->root = op_project_new(&q->qs, pl->root, ts->nfields, pe);
    return 0;
}

int sql_insert_prepare(sql_query *q, qv_err *err) {
    stmt *st = q->st;
    st_table *t;
    if (open_target(q, &t, err)) return err->code;
    const qv_schema *ts = st_table_schema(t);
    q->ins_ncols = ts->nfields;
    q->ins_map = qv_xmalloc(sizeof(int) * (size_t)(ts->nfields + 1));
    int nsrc = 0, rc;
    scope empty = {0};
    binder b = {.ar = &q->ar, .err = err, .in = &empty, .clause = "VALUES", .params = q->qs.params};
    if ((rc = target_map(q, ts, q->ins_map, &nsrc, err))) goto out;
    if (st->rows && st->rowlen != nsrc) {
        rc = qv_err_set(err, QV_EINVAL, "INSERT has %d target columns but VALUES rows have %d values", nsrc, st->rowlen);
        goto out;
    }
    rc = st->rows ? bind_values(q, &b, ts, err) : plan_source(q, &b, ts, nsrc, err);
out:
    st_table_release(t);
    return rc;
}

void sql_insert_free(sql_query *q) {
    if (q->ins_has_plan) plan_free(&q->ins_pl);
    q->ins_has_plan = false;
    free(q->ins_map);
    q->ins_map = NULL;
}

static int values_batch(sql_query *q, const qv_schema *bs, qv_batch *batch, qv_err *err) {
    stmt *st = q->st;
    int nf = bs->nfields, rc = 0;
    qv_batch_init(batch, bs);
    for (int i = 0; i < nf && !rc; i++) {
        qv_type tt = bs->fields[i].type;
        qv_builder bld;
        qv_builder_init(&bld, tt, st->nrows);
        for (int r = 0; r < st->nrows && !rc; r++) {
            bexpr *e = q->ins_vals[r * nf + i];
            if (!e) { qv_builder_append_null(&bld); continue; }
            vec v;
            vec_init(&v, tt);
            if (!(rc = expr_eval_const(e, &v, err))) sql_append_vec(&bld, tt, &v, 0);
            vec_free(&v);
        }
        qv_array_free(&batch->cols[i]);
        qv_builder_finish(&bld, &batch->cols[i]);
        qv_builder_free(&bld);
    }
    batch->nrows = st->nrows;
    return rc;
}

/* Every chunk of root into append ap, as batches of schema bs. */
static int append_rows(op *root, const qv_schema *bs, st_append *ap, qv_err *err) {
    for (;;) {
        chunk *c;
        int rc = root->next(root, &c, err);
        if (rc || !c) return rc;
        qv_batch batch;
        sql_chunk_to_batch(c, bs, &batch);
        rc = st_append_batch(ap, &batch, err);
        qv_batch_free(&batch);
        if (rc) return rc;
    }
}

int sql_insert_run(sql_query *q, int64_t *rows, qv_err *err) {
    stmt *st = q->st;
    st_table *t;
    if (open_target(q, &t, err)) return err->code;
    const qv_schema *ts = st_table_schema(t);
    int rc = 0;
    st_append *ap = NULL;
    qv_schema bs;
    qv_schema_init(&bs);
    if (ts->nfields != q->ins_ncols) {
        rc = qv_err_set(err, QV_EINVAL, "table '%s' changed since the INSERT was prepared", st->table);
        goto out;
    }
    for (int i = 0; i < ts->nfields; i++) {
        sql_schema_add(&bs, ts->fields[i].name, store_type(&ts->fields[i]), ts->fields[i].nullable);
        memcpy(bs.fields[i].tz, ts->fields[i].tz, sizeof bs.fields[i].tz);
    }
    if ((rc = st_append_begin(t, &ap, err))) goto out;
    if (st->rows) {
        qv_batch batch;
        rc = values_batch(q, &bs, &batch, err);
        if (!rc) rc = st_append_batch(ap, &batch, err);
        qv_batch_free(&batch);
    } else {
        rc = append_rows(q->ins_pl.root, &bs, ap, err);
    }
    if (rc) {
        st_append_abort(ap);
        goto out;
    }
    rc = st_append_commit(ap, rows, err);
out:
    qv_schema_free(&bs);
    st_table_release(t);
    return rc;
}

int sql_ctas_prepare(sql_query *q, qv_err *err) {
    plan *pl = &q->ins_pl;
    if (plan_select(q->ctx, &q->qs, &q->ar, q->st->sel, false, pl, err)) return err->code;
    q->ins_has_plan = true;
    int nf = pl->schema.nfields;
    bool untyped = false;
    for (int i = 0; i < nf; i++) {
        for (int j = 0; j < i; j++)
            if (!strcasecmp(pl->schema.fields[i].name, pl->schema.fields[j].name))
                return qv_err_set(err, QV_EINVAL, "CREATE TABLE %s AS: the query has two columns named '%s'; give them "
                                  "distinct aliases", q->st->table, pl->schema.fields[i].name);
        untyped |= pl->root->types[i] == T_NULL;
    }
    if (!untyped) return 0;
    /* a column that is only NULLs (SELECT NULL AS x) is an INTEGER: a table column needs a type
       (DuckDB 2 keeps a NULL-typed column) */
    scope empty = {0};
    binder b = {.ar = &q->ar, .err = err, .in = &empty, .params = q->qs.params};
    bexpr **pe = arena_alloc(&q->ar, sizeof(bexpr *) * (size_t)(nf + 1));
    for (int i = 0; i < nf; i++) {
        qv_type t = pl->root->types[i];
        pe[i] = mk_col(&q->ar, i, t, pl->schema.fields[i].tz);
        if (t == T_NULL && !(pe[i] = bind_coerce(&b, pe[i], QV_T_INT32))) return err->code;
    }
    pl->root = op_project_new(&q->qs, pl->root, nf, pe);
    return 0;
}

int sql_ctas_run(sql_query *q, int64_t *rows, qv_err *err) {
    stmt *st = q->st;
    *rows = 0;
    st_table *t;
    qv_err tmp = {0};
    if (sql_table_open(q->ctx->db, st->table, &t, &tmp) == 0) {
        st_table_release(t);
        if (st->if_flag) return 0; /* IF NOT EXISTS: the table there stays as it is */
        return qv_err_set(err, QV_EEXISTS, "table '%s' already exists", st->table);
    }
    const plan *pl = &q->ins_pl;
    qv_schema bs;
    qv_schema_init(&bs);
    for (int i = 0; i < pl->schema.nfields; i++) {
        sql_schema_add(&bs, pl->schema.fields[i].name, pl->root->types[i], true);
        memcpy(bs.fields[i].tz, pl->schema.fields[i].tz, sizeof bs.fields[i].tz);
    }
    st_append *ap = NULL;
    int rc = st_append_begin_new(q->ctx->db, st->table, &bs, &ap, err);
    if (rc == QV_EINVAL && strstr(err->msg, "column name")) { /* an expression's name: '(k / 0)' */
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        rc = qv_err_set(err, QV_EINVAL, "CREATE TABLE %s AS: %s; name the query's columns with AS", st->table, m);
    }
    if (!rc && (rc = append_rows(q->ins_pl.root, &bs, ap, err))) st_append_abort(ap);
    else if (!rc) rc = st_append_commit(ap, rows, err);
    qv_schema_free(&bs);
    return rc;
}
