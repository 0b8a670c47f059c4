"""DELETE FROM t [WHERE ...] through real clients, DuckDB as the oracle.

- the same data in quiverd and DuckDB, the same DELETE statements one after
  another: the same counts returned and the same rows left (scans, the
  zero-copy pass-through with LIMIT/OFFSET, aggregates, GROUP BY on text);
- atomic: concurrent counts see the rows all or none; a stream opened before
  the DELETE still returns them;
- durable: restart (manifest) and kill -9 (WAL replay) keep it; leading row
  groups left empty are dropped;
- Flight SQL (CommandStatementUpdate, prepared update with a parameter),
  HTTP, partitioned tickets issued before a DELETE stop redeeming, and a
  read replica follows.
"""
import threading

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

RG = 1000  # --rowgroup-rows: many row groups from little data
N = 12_345


def source(n=N, start=0):
    ids = np.arange(start, start + n, dtype=np.int64)
    v = (ids * 37 % 1001).astype(np.float64) / 10
    return pa.table({
        "id": ids,
        "ts": pa.array(ids * 1_000_000_000, type=pa.timestamp("ns", tz="UTC")),
        "sym": pa.array(["ABCDEFG"[i % 7] * (1 + i % 3) for i in range(start, start + n)]),
        "v": pa.array([None if i % 11 == 5 else float(x) for i, x in zip(ids, v)], type=pa.float64()),
        "k": pa.array((ids % 13).astype(np.int32)),
    })


def put(client, name, t):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema)
    w.write_table(t, max_chunksize=3000)
    w.close()


def sql(client, q):
    return client.do_get(fl.Ticket(q.encode())).read_all()


def same_rows(client, duck, name):
    got = sql(client, "SELECT * FROM %s ORDER BY id" % name)
    want = duck.sql("SELECT * FROM %s ORDER BY id" % name).to_arrow_table()
    assert got.num_rows == want.num_rows
    for c in ("id", "sym", "v", "k"):
        assert got[c].to_pylist() == want[c].to_pylist(), c
    # the zero-copy pass-through skips deleted rows too, with LIMIT/OFFSET
    pt = sql(client, "SELECT id, sym FROM %s" % name)
    assert sorted(pt["id"].to_pylist()) == want["id"].to_pylist()
    lim = sql(client, "SELECT id FROM %s LIMIT 50 OFFSET 1234" % name)["id"].to_pylist()
    assert lim == sorted(pt["id"].to_pylist())[1234:1284]


DELETES = [
    "DELETE FROM t WHERE k = 3",
    "DELETE FROM t WHERE v IS NULL AND id % 2 = 0",
    "DELETE FROM t WHERE id < 2500",                           # leading row groups emptied: dropped
    "DELETE FROM t WHERE sym IN ('B', 'CC') OR v > 95.5",
    "DELETE FROM t WHERE id BETWEEN 5000 AND 5999",            # one whole row group in the middle
    "DELETE FROM t WHERE ts >= TIMESTAMP '1970-01-01 03:00:00'",
    "DELETE FROM t WHERE v > (SELECT avg(v) FROM t)",
    "DELETE FROM t WHERE k IN (SELECT k FROM t WHERE id = 7001)",
    "DELETE FROM t WHERE id = -1",                             # nothing
    "DELETE FROM t WHERE sym LIKE 'G%' AND k <> 4",
]


def check_deletes(client, duck):
    for q in DELETES:
        want = duck.execute(q).fetchall()[0][0]
        got = sql(client, q)
        assert got.schema.names == ["rows"] and got.num_rows == 1, q
        assert got["rows"][0].as_py() == want, q
        agg = "SELECT count(*) AS n, sum(id) AS s, count(v) AS nv, min(id) AS lo, max(id) AS hi FROM t"
        assert sql(client, agg).to_pylist()[0] == dict(zip(["n", "s", "nv", "lo", "hi"], duck.execute(agg).fetchall()[0])), q
        g = "SELECT sym, count(*) AS n FROM t GROUP BY sym ORDER BY sym"
        assert [tuple(r.values()) for r in sql(client, g).to_pylist()] == duck.execute(g).fetchall(), q
    same_rows(client, duck, "t")


def duck_with(t):
    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.register("src", t)
    duck.execute("CREATE TABLE t AS SELECT * FROM src")
    return duck


def test_delete_matches_duckdb_and_survives_restart_and_kill(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, "--rowgroup-rows", str(RG))
    c = srv.flight()
    t = source()
    put(c, "t", t)
    duck = duck_with(t)
    check_deletes(c, duck)
    # Appends after deletes, then more deletes, reaching into the open row group.
    more = source(2000, N)
    put(c, "t", more)
    duck.register("more", more)
    duck.execute("INSERT INTO t SELECT * FROM more")
    for q in ["DELETE FROM t WHERE id % 5 = 1", "DELETE FROM t WHERE id > %d" % (N + 1900)]:
        assert sql(c, q)["rows"][0].as_py() == duck.execute(q).fetchall()[0][0]
    same_rows(c, duck, "t")
    # Restart (checkpoint: vectors in the manifest), then kill -9 after one more (WAL replay).
    assert srv.stop() == 0
    srv = start_quiverd("--data-dir", data, "--rowgroup-rows", str(RG))
    c = srv.flight()
    same_rows(c, duck, "t")
    q = "DELETE FROM t WHERE k = 7"
    assert sql(c, q)["rows"][0].as_py() == duck.execute(q).fetchall()[0][0]
    srv.kill()
    srv = start_quiverd("--data-dir", data, "--rowgroup-rows", str(RG))
    c = srv.flight()
    same_rows(c, duck, "t")
    # DELETE without WHERE empties the table; it stays usable.
    n = duck.execute("SELECT count(*) FROM t").fetchall()[0][0]
    assert sql(c, "DELETE FROM t")["rows"][0].as_py() == n
    assert sql(c, "SELECT count(*) AS n FROM t")["n"][0].as_py() == 0
    put(c, "t", source(10))
    assert sql(c, "SELECT count(*) AS n FROM t")["n"][0].as_py() == 10
    info = c.get_flight_info(fl.FlightDescriptor.for_path("t"))
    assert info.total_records == 10


def test_delete_errors(quiverd):
    c = quiverd.flight()
    put(c, "e", source(100))
    for q, msg in [("DELETE FROM nope WHERE id = 1", "does not exist"),
                   ("DELETE FROM e WHERE nosuch = 1", "nosuch"),
                   ("DELETE e WHERE id = 1", "expected from"),
                   ("DELETE FROM e WHERE", "syntax error")]:
        with pytest.raises((fl.FlightError, pa.ArrowException), match=msg):
            sql(c, q)
    assert sql(c, "SELECT count(*) AS n FROM e")["n"][0].as_py() == 100
    assert sql(c, "DELETE FROM e AS x WHERE x.id < 10")["rows"][0].as_py() == 10


def test_delete_is_atomic_for_concurrent_readers(quiverd):
    c = quiverd.flight()
    put(c, "a", source(60_000))
    # A stream opened before the DELETE returns every row (its snapshot).
    reader = c.do_get(fl.Ticket(b"SELECT id FROM a"))
    first = reader.read_chunk()
    seen, stop, bad = [], threading.Event(), []

    def counter():
        cc = quiverd.flight()
        while not stop.is_set():
            n = sql(cc, "SELECT count(*) AS n FROM a")["n"][0].as_py()
            seen.append(n)
            if n not in (60_000, 30_000):
                bad.append(n)

    th = threading.Thread(target=counter)
    th.start()
    assert sql(c, "DELETE FROM a WHERE id % 2 = 0")["rows"][0].as_py() == 30_000
    stop.set()
    th.join(30)
    rest = reader.read_all()
    assert first.data.num_rows + rest.num_rows == 60_000
    assert not bad, bad[:5]
    assert sql(c, "SELECT count(*) AS n FROM a")["n"][0].as_py() == 30_000


def test_delete_through_flight_sql_and_http(quiverd):
    import adbc_driver_flightsql.dbapi as flight_sql
    c = quiverd.flight()
    put(c, "f", source(5000))
    duck = duck_with(source(5000))
    cn = flight_sql.connect(quiverd.flight_uri, autocommit=True)
    cur = cn.cursor()
    stmt = cur.adbc_statement
    stmt.set_sql_query("DELETE FROM f WHERE k = 2")  # CommandStatementUpdate
    assert stmt.execute_update() == duck.execute("DELETE FROM t WHERE k = 2").fetchall()[0][0]
    cur.execute("DELETE FROM f WHERE id < ?", parameters=(100,))  # a prepared update with a parameter
    duck.execute("DELETE FROM t WHERE id < 100")
    cur.execute("SELECT count(*) FROM f")
    assert cur.fetchall()[0][0] == duck.execute("SELECT count(*) FROM t").fetchall()[0][0]
    cur.close()
    cn.close()
    r = requests.post(quiverd.http_url + "/", data=b"DELETE FROM f WHERE v > 50", timeout=60)
    assert r.status_code == 200, r.text
    want = duck.execute("DELETE FROM t WHERE v > 50").fetchall()[0][0]
    assert str(want) in r.text
    same_rows(c, duck.execute("ALTER TABLE t RENAME TO f") or duck, "f")


def test_partition_tickets_issued_before_a_delete_stop_redeeming(start_quiverd):
    srv = start_quiverd("--in-memory", "--rowgroup-rows", str(RG), "--partition-rows", "3000")
    c = srv.flight()
    put(c, "p", source(10_000))
    info = c.get_flight_info(fl.FlightDescriptor.for_command(b"SELECT id FROM p"))
    assert len(info.endpoints) > 1
    assert sql(c, "DELETE FROM p WHERE id % 3 = 0")["rows"][0].as_py() == 3334
    with pytest.raises((fl.FlightError, pa.ArrowException), match="new FlightInfo"):
        c.do_get(info.endpoints[0].ticket).read_all()
    info = c.get_flight_info(fl.FlightDescriptor.for_command(b"SELECT id FROM p"))
    ids = []
    for ep in info.endpoints:
        ids += c.do_get(ep.ticket).read_all()["id"].to_pylist()
    assert sorted(ids) == [i for i in range(10_000) if i % 3]
    assert info.total_records == 6666


def test_replica_follows_a_delete(start_quiverd, tmp_path):
    import time
    from test_replicas import free_port
    port = free_port()
    p = start_quiverd("--data-dir", str(tmp_path / "p"), "--flight-port", str(port))
    r = start_quiverd("--data-dir", str(tmp_path / "r"), "--replica-of", "grpc://127.0.0.1:%d" % port)
    pc, rc = p.flight(), r.flight()
    put(pc, "t", source(3000))

    def count():
        try:
            return sql(rc, "SELECT count(*) AS n, sum(id) AS s FROM t").to_pylist()[0]
        except (fl.FlightError, pa.ArrowException):
            return None

    def wait(want):
        deadline = time.time() + 30
        while time.time() < deadline and count() != want:
            time.sleep(0.05)
        assert count() == want

    wait({"n": 3000, "s": sum(range(3000))})
    assert sql(pc, "DELETE FROM t WHERE id >= 1000 AND id < 1500")["rows"][0].as_py() == 500
    wait({"n": 2500, "s": sum(range(3000)) - sum(range(1000, 1500))})
    with pytest.raises((fl.FlightError, pa.ArrowException), match="replica"):
        sql(rc, "DELETE FROM t WHERE id = 1")
    put(pc, "t", source(10, 5000))
    wait({"n": 2510, "s": sum(range(3000)) - sum(range(1000, 1500)) + sum(range(5000, 5010))})
