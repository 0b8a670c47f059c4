/* The logical plan tree (planner/logical.h): its shape for a join + filter +
   aggregate + order + limit query, where the planner put each predicate,
   the join's keys and build side against the scans' row estimates, and the
   printer's table covering every node kind. */
#include "qtest.h"
#include "sql_int.h"

#include <string.h>

static int run(sql_ctx *c, const char *sql, qv_err *err) {
    sql_query *q;
    int rc = sql_query_prepare(c, sql, strlen(sql), &q, err);
    if (rc) return rc;
    for (;;) {
        qv_batch b;
        bool eos;
        if ((rc = sql_query_next(q, &b, &eos, err)) || eos) break;
        qv_batch_free(&b);
    }
    sql_query_free(q);
    return rc;
}

typedef struct planned {
    arena ar;
    qstate qs;
    plan p;
} planned;

static int plan_of(sql_ctx *c, planned *pl, const char *sql, qv_err *err) {
    memset(pl, 0, sizeof *pl);
    arena_init(&pl->ar);
    atomic_init(&pl->qs.cancelled, 0);
    atomic_init(&pl->qs.mem, 0);
    atomic_init(&pl->qs.rows_read, 0);
    atomic_init(&pl->qs.bytes_read, 0);
    pl->qs.ctx = c;
    stmt *st;
    int rc = parse_stmt(&pl->ar, sql, strlen(sql), &st, err);
    if (!rc) rc = plan_select(c, &pl->qs, &pl->ar, st->sel, true, &pl->p, err);
    if (!rc) stmt_free(st);
    return rc;
}

static void planned_free(planned *pl) {
    plan_free(&pl->p);
    qstate_free_inits(&pl->qs);
    arena_free(&pl->ar);
}

static sql_ctx *make_ctx(st_db **db, qv_err *err) {
    st_options o = {.in_memory = true, .rowgroup_rows = 1024};
    sql_ctx *c = NULL;
    if (st_db_open(&o, db, err) || sql_ctx_new(*db, 2, 0, &c, err)) return NULL;
    if (run(c, "CREATE TABLE small (id BIGINT, k STRING, v DOUBLE)", err) ||
        run(c, "CREATE TABLE big (id BIGINT, w DOUBLE)", err) ||
        run(c, "INSERT INTO small SELECT i, 'k' || (i % 3), i FROM range(10) r(i)", err) ||
        run(c, "INSERT INTO big SELECT i % 10, i FROM range(5000) r(i)", err))
        return NULL;
    return c;
}

QTEST(logical_join_filter_aggregate_order_limit) {
    qv_err err = {0};
    st_db *db;
    sql_ctx *c = make_ctx(&db, &err);
    QCHECK(c != NULL);
    planned pl;
    QCHECK_OK(plan_of(c, &pl, "SELECT s.k, sum(b.w) FROM small s JOIN big b ON s.id = b.id "
                              "WHERE s.v > 2 AND b.w < 4000 AND s.v + b.w > 10 "
                              "GROUP BY s.k ORDER BY 2 DESC LIMIT 2", &err), &err);
    /* the operators top down */
    static const lg_kind want[] = {LG_LIMIT, LG_TOP_N, LG_PROJECT, LG_AGGREGATE, LG_JOIN};
    const lnode *n = pl.p.logical;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        QCHECK(n != NULL);
        QCHECK_STR(lg_kind_name(n->kind), lg_kind_name(want[i]));
        if (n->kind != LG_JOIN) QCHECK_EQ(n->nkids, 1);
        if (n->kind != LG_JOIN) n = n->kids[0];
    }
    const lnode *lim = pl.p.logical, *top = lim->kids[0], *agg = top->kids[0]->kids[0];
    QCHECK_EQ(lim->limit, 2);
    QCHECK_EQ(lim->offset, 0);
    QCHECK_EQ(top->norder, 1);
    QCHECK(top->order[0].desc);
    QCHECK_EQ(agg->nexprs, 1);
    QCHECK_EQ(agg->naggs, 1);
    /* the conjunct over both sides and the equality went onto the inner
       join, the equality as its one hash key; each side's conjunct went
       into its scan */
    QCHECK_EQ(n->kind, LG_JOIN);
    QCHECK_EQ(n->jt, JT_INNER);
    QCHECK_EQ(n->nexprs, 2);
    QCHECK_STR(ast_to_name(&pl.ar, n->exprs[0]), "((v + w) > 10)");
    QCHECK_STR(ast_to_name(&pl.ar, n->exprs[1]), "(id = id)");
    QCHECK_EQ(n->nkeys, 1);
    QCHECK_EQ(n->nkids, 2);
    const lnode *l = n->kids[0], *r = n->kids[1];
    QCHECK_EQ(l->kind, LG_SCAN);
    QCHECK_EQ(r->kind, LG_SCAN);
    QCHECK_STR(l->name, "small");
    QCHECK_STR(l->alias, "s");
    QCHECK_STR(r->name, "big");
    QCHECK(l->pred != NULL && r->pred != NULL);
    QCHECK_STR(ast_to_name(&pl.ar, l->pred), "(v > 2)");
    QCHECK_STR(ast_to_name(&pl.ar, r->pred), "(w < 4000)");
    QCHECK_EQ(l->nkids, 0);
    /* the hash table is built on the side with fewer expected rows */
    QCHECK(l->est >= 0 && r->est >= 0);
    QCHECK(l->est < r->est);
    QCHECK(n->build_left);
    /* and the printer shows the same tree */
    qv_str s;
    qv_str_init(&s);
    plan_logical_print(pl.p.logical, &pl.ar, &s, 0);
    QCHECK(strstr(s.data, "LIMIT 2 OFFSET 0\n  TOP_N [2 DESC]\n    PROJECT [k, sum(w)]\n"
                          "      AGGREGATE keys=[k] aggregates=[sum(w)]\n") != NULL);
    QCHECK(strstr(s.data, "        INNER JOIN ON ((v + w) > 10), (id = id) (build left)\n"
                          "          SCAN small AS s filter=[(v > 2)]\n"
                          "          SCAN big AS b filter=[(w < 4000)]\n") != NULL);
    qv_str_free(&s);
    planned_free(&pl);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(logical_set_operations_and_sources) {
    qv_err err = {0};
    st_db *db;
    sql_ctx *c = make_ctx(&db, &err);
    QCHECK(c != NULL);
    planned pl;
    QCHECK_OK(plan_of(c, &pl, "SELECT id FROM small EXCEPT ALL SELECT i FROM range(3) r(i)", &err), &err);
    const lnode *n = pl.p.logical;
    QCHECK_EQ(n->kind, LG_EXCEPT);
    QCHECK(n->all);
    QCHECK_EQ(n->nkids, 2);
    QCHECK_EQ(n->kids[0]->kind, LG_PROJECT);
    QCHECK_EQ(n->kids[0]->kids[0]->kind, LG_SCAN);
    /* FROM range(3) r(i) is the subquery SELECT * FROM range(3) */
    const lnode *sq = n->kids[1]->kids[0];
    QCHECK_EQ(sq->kind, LG_SUBQUERY);
    QCHECK_STR(sq->alias, "r");
    const lnode *tf = sq->kids[0]->kids[0];
    QCHECK_EQ(tf->kind, LG_TABLE_FUNC);
    QCHECK_STR(tf->name, "range");
    QCHECK_EQ(tf->est, 3);
    planned_free(&pl);
    QCHECK_OK(plan_of(c, &pl, "SELECT 1", &err), &err);
    QCHECK_EQ(pl.p.logical->kind, LG_PROJECT);
    QCHECK_EQ(pl.p.logical->kids[0]->kind, LG_VALUES);
    planned_free(&pl);
    sql_ctx_free(c);
    st_db_close(db);
}

QTEST(logical_kind_table) {
    /* every kind has a name (the printer's table is checked against the enum at compile time) */
    for (int k = 0; k < LG__COUNT; k++) QCHECK(strcmp(lg_kind_name((lg_kind)k), "?") != 0);
}

