"""Correlated subqueries over equality correlations, decorrelated into joins,
against a real quiverd over Flight with DuckDB as the oracle: scalar ones
that aggregate (`(SELECT max(px) FROM t i WHERE i.sym = o.sym)`, a LEFT JOIN
of a grouped derived table) or look one value up (more than one row is
DuckDB's error), in the select list, WHERE and ORDER BY, several correlation
keys, extra inner conditions, counts over no rows (0), NULL keys, joins on
either side; `x [NOT] IN (SELECT ...)` AND-ed into WHERE (a SEMI or, with
NOT IN's NULL rules, an ANTI JOIN, also under GROUP BY); EXISTS as a value;
and the forms that stay unsupported keep a clear error."""
import random

import duckdb
import pyarrow as pa
import pytest

from flightutil import get, put


@pytest.fixture(scope="module")
def both(quiverd):
    client = quiverd.flight()
    rnd = random.Random(8)
    n = 500
    trades = pa.table({"id": pa.array(range(n), pa.int64()),
                       "sym": pa.array([rnd.choice(["A", "B", "C", "D", None]) for _ in range(n)], pa.string()),
                       "venue": pa.array([rnd.choice([1, 2, 3, None]) for _ in range(n)], pa.int32()),
                       "px": pa.array([None if rnd.random() < 0.05 else round(rnd.uniform(1, 100), 2) for _ in range(n)],
                                      pa.float64()),
                       "qty": pa.array([rnd.randint(1, 1000) for _ in range(n)], pa.int64())})
    syms = pa.table({"sym": pa.array(["A", "B", "C", "E"], pa.string()),
                     "sector": pa.array(["tech", "tech", "energy", "energy"], pa.string())})
    put(client, "trades", trades)
    put(client, "syms", syms)
    con = duckdb.connect()
    con.register("trades", trades)
    con.register("syms", syms)
    yield client, con
    client.close()


ORACLE = [
    "SELECT id, (SELECT max(px) FROM trades i WHERE i.sym = o.sym) AS mx FROM trades o ORDER BY id",
    "SELECT id, px FROM trades o WHERE px > (SELECT avg(px) FROM trades i WHERE i.sym = o.sym) ORDER BY id",
    "SELECT id, (SELECT count(*) FROM trades i WHERE i.sym = o.sym AND i.venue = o.venue AND i.qty > 500) AS n "
    "FROM trades o ORDER BY id",
    "SELECT id, (SELECT count(px) FROM trades i WHERE i.venue = o.venue AND i.px > 50) AS n FROM trades o ORDER BY id",
    "SELECT s.sym, (SELECT sum(qty) FROM trades t WHERE t.sym = s.sym) AS vol FROM syms s ORDER BY s.sym",
    "SELECT s.sym, s.sector, (SELECT min(t.px) FROM trades t JOIN syms x ON t.sym = x.sym WHERE x.sector = s.sector) AS lo "
    "FROM syms s ORDER BY s.sym",
    "SELECT o.id, s.sector FROM trades o JOIN syms s ON o.sym = s.sym "
    "WHERE o.qty >= (SELECT max(qty) FROM trades i WHERE i.sym = s.sym) ORDER BY o.id",
    "SELECT id, px - (SELECT min(px) FROM trades i WHERE i.sym = o.sym) AS above_low FROM trades o "
    "ORDER BY (SELECT max(qty) FROM trades i WHERE i.venue = o.venue) DESC NULLS LAST, id",
    "SELECT id, (SELECT string_agg(DISTINCT sym, ',' ORDER BY sym) FROM trades i WHERE i.venue = o.venue) AS syms "
    "FROM trades o WHERE id < 40 ORDER BY id",
    "SELECT * FROM syms s WHERE (SELECT count(*) FROM trades t WHERE t.sym = s.sym) > 100 ORDER BY sym",
    "SELECT id, (SELECT max(px) FROM trades i WHERE i.sym = o.sym) AS a, (SELECT count(*) FROM trades i WHERE "
    "i.venue = o.venue) AS b FROM trades o ORDER BY id",
    "SELECT id, (SELECT s.sector FROM syms s WHERE s.sym = o.sym) AS sector FROM trades o ORDER BY id",
    "SELECT venue, count(*) AS n, sum(qty) AS q FROM trades o WHERE px > (SELECT avg(px) FROM trades i "
    "WHERE i.sym = o.sym) GROUP BY venue ORDER BY venue NULLS FIRST",
    "SELECT count(*) AS n FROM trades o WHERE (SELECT s.sector FROM syms s WHERE s.sym = o.sym) = 'tech'",
    "SELECT sym, count(*) AS n, (SELECT s.sector FROM syms s WHERE s.sym = o.sym) AS sector FROM trades o "
    "GROUP BY sym ORDER BY sym NULLS FIRST",
    "SELECT sym, venue, sum(qty) AS q, (SELECT max(i.px) FROM trades i WHERE i.sym = o.sym AND i.venue = o.venue) AS hi "
    "FROM trades o GROUP BY sym, venue HAVING (SELECT count(*) FROM trades i WHERE i.sym = o.sym) > 100 "
    "ORDER BY sym NULLS FIRST, venue NULLS FIRST",
    "SELECT sym, max(px) AS m FROM trades o GROUP BY sym "
    "ORDER BY (SELECT s.sector FROM syms s WHERE s.sym = o.sym) NULLS LAST, sym NULLS LAST",
    "SELECT id FROM trades o WHERE venue NOT IN (SELECT i.venue FROM trades i WHERE i.sym = o.sym AND i.px > 90) "
    "ORDER BY id",
    "SELECT id FROM trades o WHERE px NOT IN (SELECT i.px FROM trades i WHERE i.venue = o.venue AND i.qty > 990) "
    "ORDER BY id",
    "SELECT id, EXISTS (SELECT 1 FROM trades i WHERE i.sym = o.sym AND i.venue = o.venue AND i.qty > 900) AS big, "
    "NOT EXISTS (SELECT 1 FROM syms s WHERE s.sym = o.sym) AS unknown FROM trades o ORDER BY id",
    "SELECT id, (SELECT i.qty FROM trades i WHERE i.id = o.id + 1 AND i.venue = 2) AS next_qty FROM trades o ORDER BY id",
    "SELECT id FROM trades o WHERE qty IN (SELECT i.qty FROM trades i WHERE i.sym = o.sym "
    "AND i.venue = 1) ORDER BY id",
    "SELECT id FROM trades o WHERE sym IN (SELECT s.sym FROM syms s WHERE s.sector = 'tech' AND s.sym = o.sym) AND qty > 500 "
    "ORDER BY id",
    "SELECT sym, count(*) AS n, sum(qty) AS q FROM trades o WHERE venue IN (SELECT i.venue FROM trades i WHERE "
    "i.sym = o.sym AND i.px > 95) GROUP BY sym ORDER BY sym NULLS FIRST",
]


@pytest.mark.parametrize("sql", ORACLE)
def test_correlated_scalar_subqueries_match_duckdb(both, sql):
    client, con = both
    ours = get(client, sql)
    theirs = con.sql(sql)
    rows = [tuple(r.values()) for r in ours.to_pylist()]
    expect = theirs.fetchall()
    assert len(rows) == len(expect) and len(rows) > 0, sql
    for a, b in zip(rows, expect):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x == y or (isinstance(x, float) and isinstance(y, float) and abs(x - y) <= 1e-9 * max(1, abs(y))), \
                (sql, a, b)
    assert ours.column_names[-1] == theirs.columns[-1] or "SELECT" in theirs.columns[-1], sql


def test_select_star_does_not_show_the_derived_table(both):
    client, _ = both
    t = get(client, "SELECT *, (SELECT max(qty) FROM trades i WHERE i.sym = s.sym) AS mq FROM syms s ORDER BY sym")
    assert t.column_names == ["sym", "sector", "mq"]


def test_plan_is_a_join_not_a_loop(both):
    client, _ = both
    plan = "\n".join(get(client, "EXPLAIN SELECT id, (SELECT max(px) FROM trades i WHERE i.sym = o.sym) FROM trades o")
                     .column(0).to_pylist())
    assert "LEFT JOIN" in plan and "HASH_AGGREGATE" in plan, plan


def test_a_lookup_with_several_rows_is_an_error(both):
    client, con = both
    sql = "SELECT id, (SELECT i.px FROM trades i WHERE i.sym = o.sym) FROM trades o"
    with pytest.raises(duckdb.Error, match="More than one row"):
        con.sql(sql).fetchall()
    with pytest.raises(pa.ArrowException, match="more than one row returned by a scalar subquery"):
        get(client, sql)


@pytest.mark.parametrize("sql", [
    "SELECT sym, (SELECT max(px) FROM trades i WHERE i.venue = o.venue) FROM trades o GROUP BY sym",  # not a group key
    "SELECT id, (SELECT max(px) FROM trades i WHERE i.qty < o.qty) FROM trades o",     # not an equality
    "SELECT id, (SELECT max(px) + o.qty FROM trades i WHERE i.sym = o.sym) FROM trades o",  # outer column in the item
])
def test_other_correlated_forms_keep_a_clear_error(both, sql):
    client, _ = both
    with pytest.raises(pa.ArrowException, match="correlated scalar subquery is not supported"):
        get(client, sql)


def test_a_non_equality_not_in_stays_an_error(both):
    client, _ = both
    with pytest.raises(pa.ArrowException, match="correlated IN subquery is not supported"):
        get(client, "SELECT id FROM trades o WHERE qty NOT IN (SELECT i.qty FROM trades i WHERE i.id < o.id)")
