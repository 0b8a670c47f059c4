"""WITH RECURSIVE against a real quiverd over Flight, with DuckDB on the same
data as the oracle: counters, Fibonacci, strings, a graph's reachable set
(UNION ends the cycle), an org chart's depth and path, the CTE used twice
and beside plain CTEs; and the clear errors of what stays out (a step that
never ends, an anchor that reads the CTE, mismatched columns, subqueries)."""
import random

import duckdb
import pyarrow as pa
import pytest

from flightutil import get, put


@pytest.fixture(scope="module")
def both(quiverd):
    client = quiverd.flight()
    rnd = random.Random(3)
    edges = pa.table({"src": pa.array([rnd.randint(1, 60) for _ in range(150)], pa.int64()),
                      "dst": pa.array([rnd.randint(1, 60) for _ in range(150)], pa.int64())})
    emp = pa.table({"id": pa.array(list(range(1, 41)), pa.int64()),
                    "boss": pa.array([None] + [rnd.randint(1, i) for i in range(1, 40)], pa.int64()),
                    "name": pa.array(["e%d" % i for i in range(1, 41)], pa.string())})
    put(client, "edges", edges)
    put(client, "emp", emp)
    con = duckdb.connect()
    con.register("edges", edges)
    con.register("emp", emp)
    yield client, con
    client.close()


ORACLE = [
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100) SELECT count(*), sum(n) FROM r",
    "WITH RECURSIVE fib(a, b, i) AS (SELECT 0::BIGINT, 1::BIGINT, 1 UNION ALL SELECT b, a + b, i + 1 FROM fib "
    "WHERE i < 60) SELECT i, a FROM fib ORDER BY i",
    "WITH RECURSIVE r(s) AS (SELECT 'a' UNION ALL SELECT s || 'b' FROM r WHERE length(s) < 6) SELECT s FROM r ORDER BY s",
    "WITH RECURSIVE reach(node) AS (SELECT 1::BIGINT UNION SELECT e.dst FROM reach JOIN edges e ON e.src = reach.node) "
    "SELECT node FROM reach ORDER BY node",
    "WITH RECURSIVE chain(id, depth, path) AS (SELECT id, 0, name FROM emp WHERE boss IS NULL UNION ALL "
    "SELECT e.id, c.depth + 1, c.path || '/' || e.name FROM emp e JOIN chain c ON e.boss = c.id) "
    "SELECT id, depth, path FROM chain ORDER BY id",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10), sq AS (SELECT n, n * n AS s FROM r) "
    "SELECT a.n, b.s FROM r a JOIN sq b ON a.n = b.n ORDER BY a.n",
    "WITH RECURSIVE c AS (SELECT 1 AS x UNION ALL SELECT 2) SELECT * FROM c ORDER BY x",
    "WITH RECURSIVE t(k, v) AS (SELECT 1, 1.5::DOUBLE UNION ALL SELECT k + 1, v * 2 FROM t WHERE k < 20) "
    "SELECT k, v FROM t ORDER BY k",
    "WITH RECURSIVE r(n) AS (SELECT 3 UNION SELECT (n * 7) % 10 FROM r) SELECT n FROM r ORDER BY n",
]


@pytest.mark.parametrize("sql", ORACLE)
def test_recursive_matches_duckdb(both, sql):
    client, con = both
    ours = [tuple(r.values()) for r in get(client, sql).to_pylist()]
    theirs = con.sql(sql).fetchall()
    assert len(ours) == len(theirs) and len(ours) > 0, sql
    assert ours == theirs, (sql, ours[:5], theirs[:5])


@pytest.mark.parametrize("sql,msg", [
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r", "did not end after 10000 rounds"),
    ("WITH RECURSIVE r(n) AS (SELECT n FROM r UNION ALL SELECT 1) SELECT * FROM r", "is read in its anchor"),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n, n FROM r WHERE n < 3) SELECT * FROM r",
     "its step returns 2 columns, its anchor 1"),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + (SELECT 1) FROM r WHERE n < 3) SELECT * FROM r",
     "a subquery in its anchor or step is not supported"),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3 ORDER BY 1) SELECT * FROM r",
     "without ORDER BY or LIMIT"),
])
def test_recursive_errors(both, sql, msg):
    client, _ = both
    with pytest.raises(pa.ArrowException, match=msg):
        get(client, sql)
    assert get(client, "SELECT count(*) AS n FROM emp").column("n").to_pylist() == [40]  # still serving
