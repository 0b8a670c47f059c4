"""NaN in DOUBLE and REAL columns against DuckDB: NaN is greater than every other number (+inf too)
and equal to every NaN, in comparisons and filters (also the typed filter loops and row-group
pruning, whose min/max leave NaN out), ORDER BY and top-N (with its row-group bound), window
ORDER BY, peers and RANGE frames (ASC and DESC), PARTITION BY, GROUP BY / DISTINCT / set
operations, IN lists and IN (subquery), hash join keys, min / max / arg_min / arg_max, median and
quantiles, greatest / least / nullif and CASE. Runs over one big row group and over row groups of
one and two rows (pruning and the parallel plans cross them)."""
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sql_differential import Quiver  # noqa: E402
from test_sql_differential_more import compare  # noqa: E402

NAN, NNAN, INF, NINF = (f"CAST('{v}' AS DOUBLE)" for v in ("nan", "-nan", "inf", "-inf"))
SETUP = [
    "CREATE TABLE t (id INTEGER, f DOUBLE, r REAL, g INTEGER)",
    f"INSERT INTO t VALUES (1, 5.0, 5.0, 1), (2, 1.0, 1.0, 2), (3, {NAN}, CAST('nan' AS REAL), 1), (4, 3.0, 3.0, 2), "
    f"(5, {NINF}, 2.0, 1), (6, {NAN}, CAST('nan' AS REAL), 2), (7, {INF}, 4.0, 1), (8, -0.0, -0.0, 2), "
    f"(9, NULL, NULL, 1), (10, 0.0, 0.0, 2), (11, {NNAN}, 1.0, 1)",
    "CREATE TABLE u (k DOUBLE)",
    f"INSERT INTO u VALUES ({NAN}), (1.0), (NULL), (0.0)",
]
# (query, ordered)
QUERIES = [
    ("SELECT id FROM t ORDER BY f, id", True),
    ("SELECT id FROM t ORDER BY f DESC NULLS LAST, id", True),
    ("SELECT f FROM t ORDER BY f LIMIT 8", True),
    ("SELECT f FROM t ORDER BY f DESC LIMIT 3", True),
    ("SELECT f, id FROM t ORDER BY f DESC, id LIMIT 3", True),
    ("SELECT f, id FROM t ORDER BY f, id DESC LIMIT 9", True),
    (f"SELECT id FROM t WHERE f = {NAN} ORDER BY id", True),
    (f"SELECT id FROM t WHERE f <> {NAN} ORDER BY id", True),
    ("SELECT id FROM t WHERE f > 1e308 ORDER BY id", True),
    (f"SELECT id FROM t WHERE f >= {INF} ORDER BY id", True),
    (f"SELECT id FROM t WHERE f < {NAN} ORDER BY id", True),
    (f"SELECT id FROM t WHERE {NAN} <= f ORDER BY id", True),
    (f"SELECT id FROM t WHERE f BETWEEN 1 AND {NAN} ORDER BY id", True),
    (f"SELECT id FROM t WHERE f IN ({NAN}, 1) ORDER BY id", True),
    ("SELECT id FROM t WHERE r = CAST('nan' AS REAL) ORDER BY id", True),
    ("SELECT id FROM t WHERE r > 4 ORDER BY id", True),
    ("SELECT a.id, b.id, a.f = b.f, a.f < b.f, a.f >= b.f FROM t a, t b WHERE a.id IN (3, 7, 8) AND b.id IN (6, 10, 11)", False),
    ("SELECT DISTINCT f FROM t", False),
    ("SELECT f, count(*) FROM t GROUP BY f", False),
    ("SELECT count(DISTINCT f), approx_count_distinct(f) FROM t", False),
    ("SELECT f FROM t UNION SELECT k FROM u", False),
    ("SELECT f FROM t INTERSECT SELECT k FROM u", False),
    ("SELECT f FROM t EXCEPT SELECT k FROM u", False),
    ("SELECT id FROM t WHERE f IN (SELECT k FROM u)", False),
    ("SELECT id FROM t WHERE f NOT IN (SELECT k FROM u WHERE k IS NOT NULL)", False),
    (f"SELECT id, greatest(f, 1.0), least(f, 1.0), nullif(f, {NAN}) FROM t", False),
    (f"SELECT id, CASE f WHEN {NAN} THEN 'nan' WHEN 0 THEN 'zero' ELSE 'other' END FROM t", False),
    ("SELECT min(r), max(r), min(f), max(f), arg_max(id, f), arg_min(id, f) FROM t", False),
    ("SELECT g, min(f), max(f), arg_max(id, f), arg_min(id, f) FROM t GROUP BY g", False),
    ("SELECT median(f), quantile_disc(f, 0.9), quantile_cont(f, 0.25), mode(f) FROM t", False),
    ("SELECT id, rank() OVER (ORDER BY f), rank() OVER (ORDER BY f DESC), dense_rank() OVER (ORDER BY r) FROM t", False),
    ("SELECT id, row_number() OVER (PARTITION BY f ORDER BY id) FROM t", False),
    ("SELECT id, count(*) OVER (ORDER BY f RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t", False),
    ("SELECT id, count(*) OVER (ORDER BY f DESC RANGE BETWEEN 1 PRECEDING AND 2 FOLLOWING) FROM t", False),
    ("SELECT id, count(*) OVER (ORDER BY f RANGE BETWEEN 2 FOLLOWING AND 3 FOLLOWING) FROM t", False),
    ("SELECT id, sum(id) OVER (ORDER BY r RANGE BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM t", False),
    ("SELECT id, min(f) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), "
     "max(f) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM t", False),
    ("SELECT id, max(f) OVER (PARTITION BY g), min(f) OVER (PARTITION BY g) FROM t", False),
    ("SELECT * FROM (SELECT id, f FROM t QUALIFY row_number() OVER (ORDER BY f DESC) <= 2)", False),
    ("SELECT a.id, b.k FROM t a JOIN u b ON a.f = b.k", False),
    ("SELECT a.id, b.k FROM t a LEFT JOIN u b ON a.f = b.k", False),
    ("SELECT a.id, b.id FROM t a JOIN t b ON a.f = b.f AND a.g = b.g WHERE a.id < b.id", False),
    ("SELECT a.id, b.id FROM t a JOIN t b ON a.f < b.f WHERE b.id = 3", False),
]


@pytest.fixture(scope="module", params=[(1, 64), (2, 2), (4, 1)], ids=lambda p: "threads%d-rg%d" % p)
def engines(request):
    threads, rg = request.param
    duck, q = duckdb.connect(), Quiver(threads=threads, rowgroup_rows=rg)
    for st in SETUP:
        duck.execute(st)
        q.run(st)
    yield duck, q
    q.close()


@pytest.mark.parametrize("sql,ordered", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_nan_like_duckdb(engines, sql, ordered):
    duck, q = engines
    m = compare(sql, ordered, duck, q)
    assert m is None, m


def _stats(srv, sql):
    doc = requests.post(srv.http_url + "/", data=sql.encode(), timeout=60).json()
    return [list(r.values()) if isinstance(r, dict) else r for r in doc["data"]], doc["statistics"]["rows_read"]


def test_pruning_skips_nan_free_row_groups_and_keeps_those_with_nan(start_quiverd, tmp_path):
    """Row groups record whether they may hold a NaN: `> v`, `>= v` and the DESC top-N bound skip
    the NaN-free ones on min/max, never one holding a NaN (which is above its max); the flag
    survives a restart (column files and manifest)."""
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, "--rowgroup-rows", "1000")
    c = srv.flight()
    for b in range(4):  # four NaN-free row groups, x descending: 3999 .. 0
        xs = [float(3999 - (b * 1000 + i)) for i in range(1000)]
        tb = pa.table({"x": pa.array(xs, pa.float64())})
        w, _ = c.do_put(fl.FlightDescriptor.for_path("p"), tb.schema)
        w.write_table(tb)
        w.close()
    rows, read = _stats(srv, "SELECT x FROM p WHERE x > 3990 ORDER BY x")
    assert [r[0] for r in rows] == [float(v) for v in range(3991, 4000)] and read == 1000, read
    rows, _ = _stats(srv, "SELECT x FROM p ORDER BY x DESC LIMIT 3")
    assert [r[0] for r in rows] == [3999.0, 3998.0, 3997.0]
    tb = pa.table({"x": pa.array([float("nan")] + [float(i) for i in range(999)], pa.float64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("p"), tb.schema)
    w.write_table(tb)
    w.close()
    for run in range(2):  # then again after a restart
        rows, read = _stats(srv, "SELECT CAST(x AS VARCHAR) FROM p WHERE x > 3990 ORDER BY x")
        assert rows[-1][0] == "nan" and len(rows) == 10 and read == 2000, (run, read)
        rows, read = _stats(srv, "SELECT count(*) FROM p WHERE x >= 1000 AND x < 3000")
        assert rows == [[2000]] and read == 3000, (run, read)  # groups 2 and 3, and the NaN one (its NaN passes >= 1000)
        rows, _ = _stats(srv, "SELECT CAST(x AS VARCHAR) FROM p ORDER BY x DESC LIMIT 2")
        assert [r[0] for r in rows] == ["nan", "3999.0"], run
        if run == 0:
            assert srv.stop() == 0
            srv = start_quiverd("--data-dir", data, "--rowgroup-rows", "1000")
