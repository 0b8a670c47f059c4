"""Column aliases on FROM items and CTEs (`(q) v(a, b)`, `t AS x(a)`,
`WITH c(a, b) AS (...)`, `(VALUES ... UNION ALL VALUES ...) v(a, b)`) and
NATURAL [LEFT | RIGHT | FULL] JOIN, against a real quiverd over Flight, with
DuckDB on the same data as the oracle."""
import random

import duckdb
import pyarrow as pa
import pytest

from flightutil import get, put, same_as_duckdb


@pytest.fixture(scope="module")
def both(quiverd):
    client = quiverd.flight()
    rnd = random.Random(5)
    n = 300
    trades = pa.table({"sym": pa.array([rnd.choice(["A", "B", "C", None]) for _ in range(n)], pa.string()),
                       "day": pa.array([rnd.randint(1, 20) for _ in range(n)], pa.int64()),
                       "px": pa.array([round(rnd.uniform(1, 100), 2) for _ in range(n)], pa.float64())})
    refs = pa.table({"sym": pa.array(["A", "B", "D"], pa.string()), "day": pa.array([3, 7, 1], pa.int64()),
                     "name": pa.array(["alpha", "beta", "delta"], pa.string())})
    put(client, "trades", trades)
    put(client, "refs", refs)
    con = duckdb.connect()
    con.register("trades", trades)
    con.register("refs", refs)
    yield client, con
    client.close()


ORACLE = [
    "SELECT * FROM (SELECT sym, count(*) FROM trades GROUP BY sym) g(s, n) ORDER BY s NULLS FIRST",
    "SELECT s, d FROM trades AS t(s, d) WHERE d > 15 ORDER BY s NULLS LAST, d, px",
    "SELECT t.s, r.name FROM trades t(s) JOIN refs r ON t.s = r.sym ORDER BY t.s, r.name, t.day, t.px",
    "WITH daily(d, hi, lo) AS (SELECT day, max(px), min(px) FROM trades GROUP BY day) "
    "SELECT d, hi - lo AS range FROM daily ORDER BY d",
    "WITH c(k) AS (SELECT DISTINCT day FROM trades) SELECT a.k, b.k2 FROM c a(k), c b(k2) "
    "WHERE a.k + 1 = b.k2 ORDER BY a.k",
    "SELECT * FROM (VALUES (1, 'x') UNION ALL VALUES (2, 'y')) v(id, s) ORDER BY id",
    "SELECT * FROM (VALUES ('A', 1), ('B', 2)) v(sym, rank) JOIN refs USING (sym) ORDER BY rank",
    "SELECT * FROM trades NATURAL JOIN refs ORDER BY sym, day, px",
    "SELECT sym, day, px, name FROM trades NATURAL LEFT JOIN refs ORDER BY sym NULLS FIRST, day, px",
    "SELECT sym, day, name FROM trades NATURAL RIGHT JOIN refs ORDER BY sym, day",
    "SELECT sym, day, px, name FROM trades NATURAL FULL JOIN refs ORDER BY sym NULLS FIRST, day, px",
    "SELECT count(*), sum(px) FROM trades NATURAL JOIN (SELECT sym FROM refs) r",
    "SELECT * FROM (SELECT sym, day FROM refs) a NATURAL JOIN refs b NATURAL JOIN (SELECT name, 1 AS one FROM refs) c "
    "ORDER BY sym",
]


@pytest.mark.parametrize("sql", ORACLE)
def test_aliases_and_natural_joins_match_duckdb(both, sql):
    client, con = both
    same_as_duckdb(client, con, sql, rel=0)


@pytest.mark.parametrize("sql,msg", [
    ("SELECT * FROM trades x(a, b, c, d)", "x has 3 columns but 4 column aliases were given"),
    ("SELECT * FROM trades NATURAL JOIN (SELECT 1 AS q) z", "no column name in common; use CROSS JOIN"),
    ("SELECT * FROM trades NATURAL JOIN refs USING (sym)", "a NATURAL JOIN takes no ON or USING"),
    ("SELECT * FROM trades NATURAL CROSS JOIN refs", "NATURAL cannot be combined with CROSS JOIN"),
    ("SELECT * FROM trades NATURAL refs", "expected JOIN"),
])
def test_alias_and_natural_errors(both, sql, msg):
    client, _ = both
    with pytest.raises(pa.ArrowException, match=msg):
        get(client, sql)
