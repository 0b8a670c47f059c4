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
