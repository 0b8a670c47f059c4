/*
** Ingest (Flight DoPut, HTTP /ingest): one eng_put per stream.
**
** States: begun (schema checked against the table, or the table is to be
** created; a storage append opened) -> batches converted to the table's
** column order and streamed into the append one by one (storage copies
** them into row groups and column files at once, so memory stays bounded
** for a put of any size) -> commit (one WAL-durable record, all rows
** visible at once; a created table appears with them) or abort (nothing
** left, not even the table). When another put holds the table's writer slot
** at begin: an async put (eng_put_begin_async, Flight) queues a storage
** waiter and reports not ready until the slot is free (the front end reads
** nothing meanwhile); a blocking one (eng_put_begin, HTTP) holds its batches
** (refs, no copy) and waits for the slot, bounded, at commit.
** Flight SQL ingest modes (eng_put_begin_mode) may refuse a missing or an
** existing table at begin; a replacing put always holds its batches and
** drops the old table only at commit, after the whole stream arrived.
*/
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct eng_put {
    eng *e;
    char *table;
    qv_schema in;       /* the stream's schema */
    qv_schema target;   /* the table's schema (or the one to create) */
    bool create;        /* table did not exist at begin (or is to be replaced) */
    eng_put_mode mode;
    bool replace;       /* drop the existing table at commit, then create */
    int *map;           /* target column -> stream column, -1 = fill with NULL */
    st_append *app;     /* streaming; NULL: holding batches until commit */
    bool failed;        /* a batch failed: only abort */
    bool warm;          /* holds a qv_heap_warm_begin (released in eng_put_abort) */
    int64_t bytes;      /* of the batches fed so far */
    qv_batch *held;
    int nheld, capheld;
    int64_t rows;
    bool async;         /* eng_put_begin_async: wait for the slot in `slot`, not with held batches */
    st_waiter slot;
    void (*wake)(void *arg);
    void *wake_arg;
};

static bool types_compatible(qv_type table, qv_type stream) {
    if (table == stream) return true;
    /* A ticker column is text either way; storage dictionary-encodes it. A
       date goes into a TIMESTAMP column as its midnight: before DATE existed,
       tables created from Arrow dates got TIMESTAMP columns. */
    return (table == QV_T_SYMBOL && stream == QV_T_STRING) || (table == QV_T_STRING && stream == QV_T_SYMBOL) ||
           (table == QV_T_TIMESTAMP && stream == QV_T_DATE);
}


/* Fill p->map from p->target and p->in; QV_EINVAL naming the first bad column. */
static int build_map(eng_put *p, qv_err *err) {
    free(p->map);
    p->map = qv_xcalloc((size_t)(p->target.nfields + 1), sizeof(int));
    for (int i = 0; i < p->in.nfields; i++)
        if (qv_schema_find(&p->target, p->in.fields[i].name) < 0) {
            char *cols = qv_schema_to_string(&p->target);
            qv_err_set(err, QV_EINVAL, "column '%s' is not in table '%s' (%.300s)", p->in.fields[i].name,
                       p->table, cols);
            free(cols);
            return QV_EINVAL;
        }
    for (int j = 0; j < p->target.nfields; j++) {
        const qv_field *tf = &p->target.fields[j];
        int k = qv_schema_find(&p->in, tf->name);
        p->map[j] = k;
        if (k < 0) {
            if (!tf->nullable)
                return qv_err_set(err, QV_EINVAL, "column '%s' of table '%s' is NOT NULL but missing from the stream",
                                  tf->name, p->table);
            continue;
        }
        if (p->in.fields[k].all_null) { /* NULLs of whatever type the table column has */
            if (p->create)
                return qv_err_set(err, QV_EINVAL, "column '%s' has Arrow type null (every value NULL), so table '%s' "
                                  "cannot take a type from it: create the table first or send the column typed",
                                  tf->name, p->table);
            if (!tf->nullable)
                return qv_err_set(err, QV_EINVAL, "column '%s' of table '%s' is NOT NULL but the stream's is all "
                                  "NULL (Arrow type null)", tf->name, p->table);
            continue;
        }
        if (!types_compatible(tf->type, p->in.fields[k].type)) {
            char st[32], tt[32];
            return qv_err_set(err, QV_EINVAL, "column '%s': stream has type %s, table '%s' has %s", tf->name,
                              qv_field_type_name(&p->in.fields[k], st, sizeof st), p->table,
                              qv_field_type_name(tf, tt, sizeof tt));
        }
    }
    return QV_OK;
}

static int load_target(eng_put *p, qv_err *err) {
    st_table *t;
    int rc = st_table_open(p->e->db, p->table, &t, err);
    if (rc == QV_ENOTFOUND && p->mode.fail_if_missing)
        return qv_err_set(err, QV_ENOTFOUND, "table '%s' does not exist (ingest mode: append only)", p->table);
    if (rc == QV_OK && p->mode.if_exists != ENG_IF_EXISTS_APPEND) {
        st_table_release(t);
        if (p->mode.if_exists == ENG_IF_EXISTS_FAIL)
            return qv_err_set(err, QV_EEXISTS, "table '%s' already exists (ingest mode: create only)", p->table);
        p->replace = true;
        rc = QV_ENOTFOUND; /* build the new table from the stream's schema */
    }
    if (rc == QV_ENOTFOUND) {
        qv_err_clear(err);
        p->create = true;
        qv_schema_free(&p->target);
        qv_schema_copy(&p->target, &p->in);
        return build_map(p, err);
    }
    if (rc) return rc;
    p->create = false;
    qv_schema_free(&p->target);
    qv_schema_copy(&p->target, st_table_schema(t));
    st_table_release(t);
    return build_map(p, err);
}

/* How long a held put's commit waits for another stream's append to the same table. */
#define ENG_PUT_SLOT_WAIT_MS 10000

/* Open the storage append now if the table's writer slot is free. */
static int start_stream(eng_put *p, qv_err *err) {
    if (p->replace) return QV_OK; /* the old table stays until commit: hold */
    if (p->create) {
        int rc = st_append_begin_new(p->e->db, p->table, &p->target, &p->app, err);
        return rc == QV_EEXISTS ? QV_OK : rc; /* being created by another put: hold, decide at commit */
    }
    st_table *t;
    if (st_table_open(p->e->db, p->table, &t, err)) return err->code;
    if (qv_schema_equal(st_table_schema(t), &p->target)) st_append_try_begin(t, &p->app);
    st_table_release(t);
    return QV_OK;
}

static int put_begin(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode, bool async,
                     eng_put **out, qv_err *err);

static void slot_ready(st_waiter *w) {
    eng_put *p = w->arg;
    p->wake(p->wake_arg);
}

/* Async: take the writer slot (or the right to create the table) now, or
   queue p->slot to be told when it frees; p->app stays NULL meanwhile. The
   table may be created, dropped or recreated between tries: look again. */
static int start_async(eng_put *p, qv_err *err) {
    for (int tries = 0; tries < 16; tries++) {
        if (p->replace) return QV_OK; /* holds its batches (the old table goes at commit) */
        st_waiter_done(&p->slot);
        int rc;
        if (p->create) {
            rc = st_append_begin_new_async(p->e->db, p->table, &p->target, &p->slot, &p->app, err);
            if (rc != QV_EEXISTS) return rc; /* begun, queued, or an error */
            qv_err_clear(err);
            if ((rc = load_target(p, err))) return rc; /* listed meanwhile: append to it if the stream fits */
            continue;
        }
        st_table *t;
        rc = st_table_open(p->e->db, p->table, &t, err);
        if (rc == QV_OK && qv_schema_equal(st_table_schema(t), &p->target)) {
            rc = st_append_begin_async(t, &p->slot, &p->app, err);
            st_table_release(t);
            return rc;
        }
        if (rc == QV_OK) st_table_release(t);
        else if (rc != QV_ENOTFOUND) return rc;
        qv_err_clear(err);
        if ((rc = load_target(p, err))) return rc; /* dropped or recreated: match the stream again */
    }
    return qv_err_set(err, QV_EBUSY, "ingest into '%s': the table keeps being dropped and recreated; retry", p->table);
}

int eng_put_begin_async(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode,
                        void (*wake)(void *arg), void *arg, eng_put **out, qv_err *err) {
    int rc = put_begin(e, table, schema, mode, true, out, err);
    if (rc) return rc;
    eng_put *p = *out;
    p->wake = wake;
    p->wake_arg = arg;
    p->slot.ready = slot_ready;
    p->slot.arg = p;
    if ((rc = start_async(p, err))) {
        eng_put_abort(p);
        *out = NULL;
    }
    return rc;
}

int eng_put_ready(eng_put *p, bool *ready, qv_err *err) {
    *ready = true;
    if (!p->async || p->app || p->replace || p->nheld > 0 || p->rows > 0) return QV_OK;
    int rc = start_async(p, err);
    *ready = rc == QV_OK && (p->app || p->replace);
    return rc;
}

int eng_put_begin(eng *e, const char *table, const qv_schema *schema, eng_put **out, qv_err *err) {
    static const eng_put_mode create_or_append = {false, ENG_IF_EXISTS_APPEND};
    return eng_put_begin_mode(e, table, schema, &create_or_append, out, err);
}

int eng_put_begin_mode(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode,
                       eng_put **out, qv_err *err) {
    return put_begin(e, table, schema, mode, false, out, err);
}

static int put_begin(eng *e, const char *table, const qv_schema *schema, const eng_put_mode *mode, bool async,
                     eng_put **out, qv_err *err) {
    if (!table || !*table) return qv_err_set(err, QV_EINVAL, "no table name given for ingest");
    if (schema->nfields == 0) return qv_err_set(err, QV_EINVAL, "ingest into '%s': the stream's schema has no columns", table);
    for (int i = 0; i < schema->nfields; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(schema->fields[i].name, schema->fields[j].name) == 0)
                return qv_err_set(err, QV_EINVAL, "ingest into '%s': column '%s' appears twice in the stream",
                                  table, schema->fields[i].name);
    eng_put *p = qv_xcalloc(1, sizeof *p);
    p->e = e;
    p->table = qv_xstrdup(table);
    p->mode = *mode;
    qv_schema_copy(&p->in, schema);
    qv_schema_init(&p->target);
    p->async = async;
    if (load_target(p, err) || (!async && start_stream(p, err))) {
        eng_put_abort(p);
        return err->code;
    }
    *out = p;
    return QV_OK;
}

/* An all-NULL array of type t with n rows (for table columns the stream lacks). */
static void null_array(qv_array *a, qv_type t, int64_t n) {
    qv_builder b;
    qv_builder_init(&b, t == QV_T_SYMBOL ? QV_T_STRING : t, n);
    for (int64_t i = 0; i < n; i++) qv_builder_append_null(&b);
    qv_builder_finish(&b, a);
    qv_builder_free(&b);
}

/* A DATE array as the TIMESTAMPs of its midnights; QV_EINVAL when one is
   outside the TIMESTAMP range. */
static int dates_to_ts(const qv_array *in, const char *col, qv_array *out, qv_err *err) {
    qv_builder b;
    qv_builder_init(&b, QV_T_TIMESTAMP, in->length);
    for (int64_t i = 0; i < in->length; i++) {
        int64_t ns;
        if (!qv_array_is_valid(in, i)) {
            qv_builder_append_null(&b);
        } else if (qv_date_to_ts(qv_array_get_i32(in, i), &ns)) {
            qv_builder_append_i64(&b, ns);
        } else {
            qv_builder_free(&b);
            char d[QV_DATE_TEXT_MAX];
            qv_date_format(qv_array_get_i32(in, i), d, sizeof d);
            return qv_err_set(err, QV_EINVAL, "column '%s': date %s at row %lld is outside the TIMESTAMP range",
                              col, d, (long long)i);
        }
    }
    qv_builder_finish(&b, out);
    qv_builder_free(&b);
    return QV_OK;
}

/* A DECIMAL array of field from as values of field to: a ref when every
   value of from fits to unchanged, else each value rescaled exactly. A value
   that would lose digits (a smaller scale and a non-zero remainder) or not
   fit to's precision refuses the put: a silently rounded price is worse than
   an error. row0 is the stream row of in's first row, for the message. */
static int decimals_rescale(const qv_array *in, const qv_field *from, const qv_field *to, int64_t row0,
                            qv_array *out, qv_err *err) {
    if (from->scale == to->scale && from->precision <= to->precision) {
        qv_array_copy_ref(out, in);
        return QV_OK;
    }
    int64_t unit = from->scale > to->scale ? qv_dec_pow10(from->scale - to->scale) : 1;
    qv_builder b;
    qv_builder_init(&b, QV_T_DECIMAL, in->length);
    for (int64_t i = 0; i < in->length; i++) {
        if (!qv_array_is_valid(in, i)) {
            qv_builder_append_null(&b);
            continue;
        }
        int64_t v = qv_array_get_i64(in, i), r;
        bool exact = v % unit == 0;
        if (!exact || !qv_dec_rescale(v, from->scale, to->scale, to->precision, &r)) {
            qv_builder_free(&b);
            char val[QV_DEC_TEXT_MAX], tn[32];
            qv_dec_format(v, from->scale, val, sizeof val);
            qv_dec_type_name(to->precision, to->scale, tn, sizeof tn);
            return qv_err_set(err, QV_EINVAL, "column '%s': value %s at row %lld does not fit the table's %s (%s)",
                              to->name, val, (long long)(row0 + i), tn,
                              exact ? "too many digits" : "digits past its scale would be lost");
        }
        qv_builder_append_i64(&b, r);
    }
    qv_builder_finish(&b, out);
    qv_builder_free(&b);
    return QV_OK;
}

/* Convert one stream batch into the target layout: refs, no copies, except
   NULL filling, SYMBOL->STRING materialisation, DATE->TIMESTAMP and DECIMAL
   rescaling. */
static int convert(eng_put *p, const qv_batch *in, qv_batch *out, qv_err *err) {
    qv_batch_init(out, &p->target);
    out->nrows = in->nrows;
    for (int j = 0; j < p->target.nfields; j++) {
        qv_array *dst = &out->cols[j];
        qv_type tt = p->target.fields[j].type;
        int k = p->map[j];
        if (k < 0 || (p->in.fields[k].all_null && tt != QV_T_INT32)) {
            null_array(dst, tt, in->nrows);
        } else if (tt == QV_T_STRING && in->cols[k].type == QV_T_SYMBOL) {
            qv_builder b;
            qv_builder_init(&b, QV_T_STRING, in->nrows);
            for (int64_t i = 0; i < in->nrows; i++) qv_builder_append_from(&b, &in->cols[k], i);
            qv_builder_finish(&b, dst);
            qv_builder_free(&b);
        } else if (tt == QV_T_TIMESTAMP && in->cols[k].type == QV_T_DATE) {
            if (dates_to_ts(&in->cols[k], p->target.fields[j].name, dst, err)) {
                qv_batch_free(out);
                return err->code;
            }
        } else if (tt == QV_T_DECIMAL) {
            if (decimals_rescale(&in->cols[k], &p->in.fields[k], &p->target.fields[j], p->rows, dst, err)) {
                qv_batch_free(out);
                return err->code;
            }
        } else {
            qv_array_copy_ref(dst, &in->cols[k]);
        }
        /* The schema slot follows the array actually held (STRING for a SYMBOL table column). */
        out->schema.fields[j].type = dst->type;
    }
    return QV_OK;
}

/* The heap is kept warm (base.c) only for a put big enough to stream many
   large messages; the trim at its end costs a walk of the heap and the
   faults that refill it, which a small commit (a tick writer's 20k rows)
   would pay each time for nothing: measured at a fifth of the server's CPU
   with ten subscribers reading such commits. */
#define PUT_WARM_BYTES ((int64_t)8 << 20)

static void put_heap_warm(eng_put *p, const qv_batch *b) {
    if (p->warm) return;
    p->bytes += qv_batch_bytes(b);
    if (p->bytes < PUT_WARM_BYTES) return;
    qv_heap_warm_begin(); /* until eng_put_abort */
    p->warm = true;
}

int eng_put_batch(eng_put *p, const qv_batch *b, qv_err *err) {
    if (b->schema.nfields != p->in.nfields)
        return qv_err_set(err, QV_EINVAL, "ingest into '%s': batch has %d columns, the stream's schema %d",
                          p->table, b->schema.nfields, p->in.nfields);
    if (qv_batch_validate(b, err)) return qv_err_prefix(err, "ingest into '%s'", p->table);
    for (int j = 0; j < p->target.nfields; j++) {
        int k = p->map[j];
        if (k >= 0 && !p->target.fields[j].nullable && qv_array_null_count(&b->cols[k]) > 0)
            return qv_err_set(err, QV_EINVAL, "column '%s' of table '%s' is NOT NULL but the stream has nulls in it",
                              p->target.fields[j].name, p->table);
    }
    if (p->failed) return qv_err_set(err, QV_EINVAL, "ingest into '%s' failed earlier", p->table);
    put_heap_warm(p, b);
    if (p->app) {
        qv_batch cb;
        int rc = convert(p, b, &cb, err);
        if (!rc) {
            rc = st_append_batch(p->app, &cb, err);
            qv_batch_free(&cb);
        }
        if (rc) {
            p->failed = true;
            return qv_err_prefix(err, "ingest into '%s'", p->table);
        }
        p->rows += b->nrows;
        return QV_OK;
    }
    if (p->nheld == p->capheld) {
        p->capheld = p->capheld ? p->capheld * 2 : 16;
        p->held = qv_xrealloc(p->held, sizeof(qv_batch) * (size_t)p->capheld);
    }
    if (convert(p, b, &p->held[p->nheld], err)) {
        p->failed = true;
        return qv_err_prefix(err, "ingest into '%s'", p->table);
    }
    p->nheld++;
    p->rows += b->nrows;
    return QV_OK;
}

/* Held batches (the writer slot was busy at begin): create or append now. */
static int commit_held(eng_put *p, qv_err *err) {
    int rc = QV_OK;
    st_table *t = NULL;
    if (p->create) {
        rc = st_append_begin_new(p->e->db, p->table, &p->target, &p->app, err);
        /* Another stream is creating it: wait (bounded) for that one to end. */
        for (int waited = 0; rc == QV_EEXISTS && waited < 6000; waited++) {
            st_table *x;
            qv_err ignore;
            if (st_table_open(p->e->db, p->table, &x, &ignore) == QV_OK) {
                st_table_release(x);
                break;
            }
            usleep(10000);
            rc = st_append_begin_new(p->e->db, p->table, &p->target, &p->app, err);
        }
        if (rc == QV_EEXISTS) {
            /* Someone created it since begin: append to theirs if it matches. */
            qv_schema want;
            qv_schema_copy(&want, &p->target);
            rc = load_target(p, err);
            if (!rc && p->create)
                rc = qv_err_set(err, QV_EEXISTS, "table '%s' is being created by another stream at the same time; retry",
                                p->table);
            else if (!rc && !qv_schema_equal(&want, &p->target))
                /* Held batches were converted for our schema; refuse rather than reshape. */
                rc = qv_err_set(err, QV_EINVAL, "table '%s' was created concurrently with a different schema", p->table);
            qv_schema_free(&want);
        }
    }
    if (!rc && !p->app) {
        rc = st_table_open(p->e->db, p->table, &t, err);
        if (!rc && !qv_schema_equal(st_table_schema(t), &p->target))
            rc = qv_err_set(err, QV_EINVAL, "table '%s' changed while the stream was open", p->table);
        /* This runs on the front end's thread (a Flight completion-queue
           thread): the stream holding the slot may need that very thread
           to finish, so the wait is bounded (ENG_PUT_SLOT_WAIT_MS). */
        if (!rc) rc = st_append_begin_wait(t, ENG_PUT_SLOT_WAIT_MS, &p->app, err);
        if (t) st_table_release(t);
    }
    for (int i = 0; !rc && i < p->nheld; i++)
        if (p->held[i].nrows > 0) rc = st_append_batch(p->app, &p->held[i], err);
    return rc;
}

int eng_put_commit(eng_put *p, int64_t *rows, qv_err *err) {
    int rc = p->failed ? qv_err_set(err, QV_EINVAL, "ingest into '%s' failed earlier", p->table) : QV_OK;
    if (!rc && p->replace) {
        /* Everything arrived and was checked: only now does the old table go. */
        rc = st_table_drop(p->e->db, p->table, err);
        if (rc == QV_ENOTFOUND) {
            rc = QV_OK;
            qv_err_clear(err);
        }
    }
    if (!rc && !p->app) rc = commit_held(p, err);
    if (!rc) {
        int64_t n = 0;
        rc = st_append_commit(p->app, &n, err); /* frees the append */
        p->app = NULL;
    }
    if (!rc) {
        atomic_fetch_add(&p->e->metrics.rows_ingested, p->rows);
        if (rows) *rows = p->rows;
    }
    eng_put_abort(p);
    return rc;
}

void eng_put_abort(eng_put *p) {
    if (!p) return;
    st_waiter_done(&p->slot); /* after this, no wake comes */
    if (p->app) st_append_abort(p->app);
    for (int i = 0; i < p->nheld; i++) qv_batch_free(&p->held[i]);
    free(p->held);
    free(p->map);
    qv_schema_free(&p->in);
    qv_schema_free(&p->target);
    free(p->table);
    if (p->warm) qv_heap_warm_end();
    free(p);
}
