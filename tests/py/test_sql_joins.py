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
