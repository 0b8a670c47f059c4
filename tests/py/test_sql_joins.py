"""Joins through the real server: a join whose hash table outgrows
--query-memory fails with RESOURCE_EXHAUSTED naming the join, and the server
keeps answering (the next join, on the same connection, is right)."""
import pyarrow as pa
import pyarrow.flight as fl
import pytest


def test_join_memory_limit_through_flight(start_quiverd):
    srv = start_quiverd("--in-memory", "--demo-rows", "200000", "--query-memory", "6M", "--threads", "2")
    c = fl.connect(srv.flight_uri)
    with pytest.raises((fl.FlightError, pa.ArrowException)) as e:
        c.do_get(fl.Ticket(b"SELECT count(*) FROM trades a JOIN trades b ON a.symbol = b.symbol")).read_all()
    msg = str(e.value)
    assert "RESOURCE_EXHAUSTED" in msg or "resource" in msg.lower() or "memory limit" in msg, msg
    assert "JOIN at line 1" in msg, msg
    t = c.do_get(fl.Ticket(b"SELECT count(*) AS n FROM trades a JOIN (SELECT DISTINCT symbol FROM trades) s "
                           b"ON a.symbol = s.symbol")).read_all()
    assert t.column("n").to_pylist() == [200000]
    w, _ = c.do_put(fl.FlightDescriptor.for_path("ref"), pa.schema([("symbol", pa.string()), ("sector", pa.string())]))
    w.write_table(pa.table({"symbol": ["AAPL", "MSFT", "NOPE"], "sector": ["tech", "tech", "none"]}))
    w.close()
    t = c.do_get(fl.Ticket(b"SELECT r.sector, count(*) AS n FROM trades t JOIN ref r USING (symbol) GROUP BY ALL")).read_all()
    rows = dict(zip(t.column("sector").to_pylist(), t.column("n").to_pylist()))
    assert list(rows) == ["tech"] and 0 < rows["tech"] < 200000


def test_join_memory_limit_parallel_build(start_quiverd):
    """A build side that fits --query-memory while it is drained but whose
    table (built in parallel on 4 threads) does not: RESOURCE_EXHAUSTED naming
    the join; then joins on the same server still answer, equal to DuckDB."""
    import duckdb
    import numpy as np
    srv = start_quiverd("--in-memory", "--query-memory", "14M", "--threads", "4")
    c = fl.connect(srv.flight_uri)
    rng = np.random.default_rng(7)
    n = 300000
    big = pa.table({"k": pa.array(rng.integers(0, n // 2, n), type=pa.int64()),
                    "v": pa.array(rng.integers(0, 100, n), type=pa.int64())})
    small = pa.table({"k": pa.array(np.arange(0, 5000, dtype=np.int64)),
                      "w": pa.array(rng.integers(0, 10, 5000), type=pa.int64())})
    for name, t in (("big", big), ("small", small)):
        w, _ = c.do_put(fl.FlightDescriptor.for_path(name), t.schema)
        w.write_table(t)
        w.close()
    with pytest.raises((fl.FlightError, pa.ArrowException)) as e:
        c.do_get(fl.Ticket(b"SELECT count(*) FROM big a JOIN big b ON a.k = b.k")).read_all()
    msg = str(e.value)
    assert "RESOURCE_EXHAUSTED" in msg or "memory limit" in msg, msg
    assert "INNER JOIN at line 1" in msg and "hash table" in msg, msg
    duck = duckdb.connect()
    duck.execute("SET threads TO 1")
    duck.register("big", big)
    duck.register("small", small)
    for q in ("SELECT count(*), sum(b.v * s.w) FROM big b JOIN small s ON b.k = s.k",
              "SELECT count(*), sum(b.v) FROM big b LEFT JOIN small s ON b.k = s.k WHERE s.k IS NULL"):
        got = c.do_get(fl.Ticket(q.encode())).read_all().to_pylist()
        assert [tuple(r.values()) for r in got] == duck.execute(q).fetchall(), q


PRUNE_QUERIES = [
    # a column read only by the residual, by a filter above an outer join, by a later join's keys
    "SELECT count(*) FROM a JOIN b ON a.k = b.k AND a.x < b.y",
    "SELECT count(*), sum(a.x) FROM a LEFT JOIN b ON a.k = b.k WHERE b.y IS NULL OR b.y > 3",
    "SELECT sum(c.z) FROM a JOIN b ON a.k = b.k JOIN c ON b.y = c.y",
    "SELECT a.k, count(*) FROM a JOIN b ON a.k = b.k JOIN c ON c.y = b.y AND c.z > a.x GROUP BY a.k ORDER BY a.k",
    "SELECT b.y, max(a.x) FROM a FULL JOIN b USING (k) GROUP BY b.y HAVING count(*) > 1 ORDER BY b.y NULLS LAST",
    "SELECT k, count(*) FROM a RIGHT JOIN b USING (k) GROUP BY k ORDER BY k NULLS FIRST",
    "SELECT a.x FROM a JOIN b ON a.k = b.k WHERE EXISTS (SELECT 1 FROM c WHERE c.y = b.y) ORDER BY a.x LIMIT 5",
    "SELECT count(*) FROM a JOIN b ON a.k = b.k WHERE a.x + b.y > 10",
    # a column read only by a window's PARTITION BY
    "SELECT c.z, count(*) OVER (PARTITION BY b.k) FROM b JOIN c ON b.y = c.y",
]


def test_join_output_pruning_against_duckdb(start_quiverd):
    """The join fills only the output columns something above it reads; the
    answers stay DuckDB's where columns are read only by residuals, filters
    above outer joins, later joins' keys, USING, GROUP BY/HAVING/ORDER BY and
    correlated subqueries."""
    import duckdb
    import numpy as np
    srv = start_quiverd("--in-memory", "--threads", "2")
    c = fl.connect(srv.flight_uri)
    rng = np.random.default_rng(3)
    def col(n, hi, nulls=True):
        v = rng.integers(0, hi, n)
        return pa.array(v, type=pa.int64(), mask=(rng.random(n) < 0.1) if nulls else None)
    tabs = {"a": pa.table({"k": col(3000, 400), "x": col(3000, 50)}),
            "b": pa.table({"k": col(800, 400), "y": col(800, 20)}),
            "c": pa.table({"y": col(300, 20), "z": col(300, 90)})}
    duck = duckdb.connect()
    duck.execute("SET threads TO 1")
    for name, t in tabs.items():
        w, _ = c.do_put(fl.FlightDescriptor.for_path(name), t.schema)
        w.write_table(t)
        w.close()
        duck.register(name, t)
    for q in PRUNE_QUERIES:
        got = [tuple(r.values()) for r in c.do_get(fl.Ticket(q.encode())).read_all().to_pylist()]
        want = duck.execute(q).fetchall()
        if "ORDER BY" not in q:
            got, want = sorted(got, key=repr), sorted(want, key=repr)
        assert got == want, q
