"""Concurrent writers to one table (docs/flight.md, "Concurrent puts"): a put
whose table's writer slot is taken waits for it (bounded by the client's
deadline) instead of failing, holds no completion-queue thread and no data
meanwhile (nothing more is read: gRPC flow control holds the client back),
and its commit, like Flight SQL updates and DDL, runs through admission
control as a query does."""
import threading
import time
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import flightsql_wire as w
from conftest import Server


@pytest.fixture
def srv():
    # 2 completion-queue threads: a put that waited on one (the old way) starved the rest
    s = Server(["--in-memory", "--threads", "2", "--demo-rows", "1000"])
    yield s
    assert s.stop() == 0, "".join(s.log)


def count(s, table):
    r = s.flight().do_get(fl.Ticket(("SELECT count(*) AS n FROM %s" % table).encode())).read_all()
    return r["n"][0].as_py()


def batch(lo, n):
    return pa.table({"v": pa.array(range(lo, lo + n), pa.int64())})


def open_put(s, table, timeout=None):
    opts = fl.FlightCallOptions(timeout=timeout) if timeout else fl.FlightCallOptions()
    c = s.flight()
    wr, rd = c.do_put(fl.FlightDescriptor.for_path(table), pa.schema([("v", pa.int64())]), options=opts)
    return c, wr, rd


def finish(wr):
    wr.done_writing()
    wr.close()


def ping(s, timeout=10):
    return list(s.flight().do_action(fl.Action("ping", b""), options=fl.FlightCallOptions(timeout=timeout)))


def health(s):
    with urllib.request.urlopen(s.http_url + "/health", timeout=10) as r:
        return r.status


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new-table"])
def test_sixteen_puts_behind_a_slow_one_into_one_table_all_succeed(srv, existing):
    """A slow put holds the table (or is creating it) while 16 others stream
    theirs and end; the slow one must still be read to its end (it needs a
    completion-queue thread), then every put commits."""
    table = "pw_many_%s" % ("e" if existing else "n")
    if existing:
        c, wr, _ = open_put(srv, table)
        finish(wr)
    c, holder, _ = open_put(srv, table, timeout=60)
    holder.write_table(batch(0, 100))
    time.sleep(0.3)
    errors, n, rows = [], 16, 500

    def one(i):
        try:
            c, wr, _ = open_put(srv, table, timeout=60)
            wr.write_table(batch(1000 + i * rows, rows // 2))
            time.sleep(0.1)
            wr.write_table(batch(1000 + i * rows + rows // 2, rows - rows // 2))
            finish(wr)
        except Exception as e:  # noqa: BLE001 - every failure is the test's finding
            errors.append("put %d: %r" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    time.sleep(1.0)
    holder.write_table(batch(100, 100))  # read only if a completion-queue thread is free
    finish(holder)
    for t in ts:
        t.join(90)
    assert not any(t.is_alive() for t in ts), "puts did not finish"
    assert errors == [], errors
    assert count(srv, table) == 200 + n * rows
    got = srv.flight().do_get(fl.Ticket(("SELECT count(DISTINCT v) AS d FROM %s" % table).encode())).read_all()
    assert got["d"][0].as_py() == 200 + n * rows


def test_waiting_put_hits_its_deadline_and_applies_nothing(srv):
    c, holder, _ = open_put(srv, "pw_dl")
    holder.write_table(batch(0, 10))  # holds the table's writer slot, stream open
    time.sleep(0.3)
    c2, wr, _ = open_put(srv, "pw_dl", timeout=1.5)
    with pytest.raises(fl.FlightTimedOutError):
        wr.write_table(batch(100, 5))
        finish(wr)
    # the server answers while one put holds the slot and another waited
    assert ping(srv) and health(srv) == 200
    finish(holder)
    time.sleep(0.3)
    assert count(srv, "pw_dl") == 10


def test_health_answers_while_puts_wait_and_a_waiting_put_is_not_read(srv):
    c0, wr0, _ = open_put(srv, "pw_h")
    finish(wr0)  # the table exists, empty
    c, holder, _ = open_put(srv, "pw_h")
    holder.write_table(batch(0, 10))
    time.sleep(0.3)
    done = []

    def small(i):
        c2, wr, _ = open_put(srv, "pw_h", timeout=60)
        wr.write_table(batch(1000 + i * 10, 10))
        finish(wr)  # waits until the holder is done
        done.append(i)

    # a big put while the slot is taken: the server must not read (and hold) it
    big_rows, nbig = 1 << 20, 6  # 48 MiB of int64
    wrote = []

    def big():
        c3, wr, _ = open_put(srv, "pw_h", timeout=60)
        for k in range(nbig):
            wr.write_table(batch(10_000_000 + k * big_rows, big_rows))
            wrote.append(k)
        finish(wr)
        done.append("big")

    ts = [threading.Thread(target=small, args=(i,)) for i in range(4)] + [threading.Thread(target=big)]
    for t in ts:
        t.start()
    time.sleep(2.0)
    # every completion-queue thread would be stuck if the waiting puts held them
    for _ in range(3):
        assert ping(srv, timeout=5)
        assert health(srv) == 200
    assert count(srv, "pw_h") == 0
    assert done == [], done
    assert len(wrote) < nbig, "the server read a whole 48 MiB put while its table was busy"
    finish(holder)
    for t in ts:
        t.join(90)
    assert sorted(map(str, done)) == sorted(["0", "1", "2", "3", "big"])
    assert count(srv, "pw_h") == 10 + 4 * 10 + nbig * big_rows


def test_flight_sql_ingest_overlapping_appends_succeed(srv):
    cn = flight_sql.connect(srv.flight_uri, autocommit=True)
    cn.cursor().adbc_ingest("pw_sql", batch(0, 1), mode="create")
    cn.close()
    errors = []

    def one(i):
        try:
            cn = flight_sql.connect(srv.flight_uri, autocommit=True)
            cn.cursor().adbc_ingest("pw_sql", batch(100 + i * 100, 100), mode="append")
            cn.close()
        except Exception as e:  # noqa: BLE001
            errors.append("ingest %d: %r" % (i, e))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    assert errors == [], errors
    assert count(srv, "pw_sql") == 1 + 8 * 100


def test_puts_updates_and_ddl_are_admitted_as_queries(start_quiverd):
    """One query slot, no queue: while a DoGet holds the slot, a DoPut, a
    Flight SQL INSERT run at GetFlightInfo, a CommandStatementUpdate and an
    ingest are refused as busy (RESOURCE_EXHAUSTED), and nothing is applied;
    once the slot is free they all run."""
    s = start_quiverd("--in-memory", "--demo-rows", "300000", "--max-running-queries", "1",
                      "--max-queued-queries", "0")
    c = s.flight()
    c2, wr, _ = open_put(s, "pw_adm")
    finish(wr)  # the table exists, empty
    # An endless stream: the DoGet holds the only slot until it is cancelled
    # (300k demo rows could all be produced into the send queue and free it
    # before the last refusal was tried, which made this test flaky).
    reader = c.do_get(fl.Ticket(b"SELECT * FROM range(1000000000000)"))
    reader.read_chunk()

    def update(sql):
        d = fl.FlightDescriptor.for_command(w.any_pack("CommandStatementUpdate", w.field_bytes(1, sql.encode())))
        wr, rd = s.flight().do_put(d, pa.schema([]))
        wr.done_writing()
        rd.read()
        wr.close()

    def put():
        c3, wr, _ = open_put(s, "pw_adm")
        wr.write_table(batch(0, 3))
        finish(wr)

    changes = [
        ("DoPut", put),
        ("GetFlightInfo INSERT", lambda: s.flight().get_flight_info(
            fl.FlightDescriptor.for_command(w.statement_query("INSERT INTO pw_adm VALUES (7)")))),
        ("CommandStatementUpdate", lambda: update("INSERT INTO pw_adm VALUES (8)")),
    ]
    for what, fn in changes:  # RESOURCE_EXHAUSTED (pyarrow raises it as ArrowInvalid)
        with pytest.raises(pa.ArrowException, match="server busy"):
            fn()
    cn = flight_sql.connect(s.flight_uri, autocommit=True)
    with pytest.raises(adbc_driver_manager.Error, match="server busy"):
        cn.cursor().adbc_ingest("pw_adm", batch(50, 2), mode="append")
    reader.cancel()
    del reader
    deadline = time.time() + 30
    while True:  # the cancelled DoGet gives its slot back
        try:
            put()
            break
        except pa.ArrowException as e:
            assert "server busy" in str(e) and time.time() < deadline, e
            time.sleep(0.2)
    s.flight().get_flight_info(fl.FlightDescriptor.for_command(w.statement_query("INSERT INTO pw_adm VALUES (7)")))
    update("INSERT INTO pw_adm VALUES (8)")
    assert cn.cursor().adbc_ingest("pw_adm", batch(50, 2), mode="append") == 2
    cn.close()
    assert count(s, "pw_adm") == 3 + 1 + 1 + 2
