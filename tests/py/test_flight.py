"""Arrow Flight against a real quiverd with real pyarrow.flight clients:
DoGet, GetFlightInfo, GetSchema, ListFlights, DoAction, ListActions,
Handshake, the unimplemented RPCs, bad input, cancellation, restart."""
import json
import math
import re
import threading
import time
import urllib.request

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from conftest import Server

N_DEMO = 20000


@pytest.fixture(scope="module")
def demo():
    s = Server(["--in-memory", "--demo-rows", str(N_DEMO)])
    yield s
    rc = s.stop()
    assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


@pytest.fixture(scope="module")
def client(demo):
    c = demo.flight()
    yield c
    c.close()


def put(client, name, table, **kw):
    w, r = client.do_put(fl.FlightDescriptor.for_path(name), table.schema)
    w.write_table(table, **kw)
    w.close()


def get(client, sql):
    return client.do_get(fl.Ticket(sql)).read_all()


def metric(server, name):
    body = urllib.request.urlopen(server.http_url + "/metrics", timeout=10).read().decode()
    m = re.search(r"^%s (\d+)" % name, body, re.M)
    assert m, body
    return int(m.group(1))


def wait_streams_idle(server):
    # Not a timing assertion: waits (bounded) for the server to notice a gone client.
    deadline = time.time() + 20
    while metric(server, "quiver_flight_streams_active") != 0:
        assert time.time() < deadline, "a Flight stream stayed active"
        time.sleep(0.05)


def test_issue_example(client):
    import duckdb
    import polars as pl
    t = pa.table({"symbol": pa.array([1, 1, 2, 2], type=pa.int64()),
                  "price": pa.array([150.25, 150.30, 42.10, 42.15], type=pa.float64()),
                  "volume": pa.array([100, 200, 50, 75], type=pa.float64())})
    writer, _ = client.do_put(fl.FlightDescriptor.for_path("ticks"), t.schema)
    writer.write_table(t)
    writer.close()
    result = client.do_get(fl.Ticket("SELECT * FROM ticks LIMIT 10")).read_all()
    assert result.equals(t)
    df = result.to_pandas()
    assert list(df["price"]) == [150.25, 150.30, 42.10, 42.15]
    pl_df = pl.from_arrow(result)
    assert pl_df["volume"].sum() == 425
    assert duckdb.sql("SELECT sum(volume) FROM result").fetchall()[0][0] == 425
    info = client.get_flight_info(fl.FlightDescriptor.for_command("SELECT count(*) FROM trades"))
    assert len(info.schema) == 1 and pa.types.is_integer(info.schema.field(0).type)
    assert info.total_records in (1, -1)
    count = client.do_get(info.endpoints[0].ticket).read_all().column(0)[0].as_py()
    assert count == N_DEMO
    flights = {tuple(f.descriptor.path): f for f in client.list_flights()}
    assert flights[(b"ticks",)].total_records == 4
    assert flights[(b"trades",)].total_records == N_DEMO
    assert list(client.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    actions = {a.type: a.description for a in client.list_actions()}
    assert set(actions) == {"ping", "healthcheck", "drop_table", "describe_table"}
    assert all(actions.values())


def test_every_type_round_trips_with_nulls(client):
    t = pa.table({
        "i32": pa.array([1, None, -2147483648, 2147483647], type=pa.int32()),
        "i64": pa.array([None, 2**62, -2**63, 0], type=pa.int64()),
        "f32": pa.array([1.5, None, float("inf"), -0.0], type=pa.float32()),
        "f64": pa.array([math.pi, float("nan"), None, 1e-300], type=pa.float64()),
        "b": pa.array([True, False, None, True], type=pa.bool_()),
        "s": pa.array(["", None, "héllo wörld ✓", "x" * 10000], type=pa.string()),
        "ts": pa.array([0, None, 1700000000123456789, -1], type=pa.timestamp("ns", tz="UTC")),
        "naive": pa.array([None, 1, 2, 3], type=pa.timestamp("ns")),
    })
    put(client, "alltypes", t)
    got = get(client, "SELECT * FROM alltypes")
    assert got.schema == t.schema
    for name in t.column_names:
        a, b = t.column(name).to_pylist(), got.column(name).to_pylist()
        if name == "f64":
            assert math.isnan(b[1]) and a[:1] + a[2:] == b[:1] + b[2:]
        else:
            assert a == b, name
    assert got.column("f32").to_pylist()[3] == 0.0 and math.copysign(1, got.column("f32")[3].as_py()) == -1


def test_schema_identical_across_flight_info_get_schema_and_do_get(client):
    t = pa.table({"a": pa.array([1, 2], type=pa.int64()), "s": pa.array(["x", None])})
    put(client, "schema_t", t)
    for desc in (fl.FlightDescriptor.for_path("schema_t"),
                 fl.FlightDescriptor.for_command("SELECT * FROM schema_t")):
        info = client.get_flight_info(desc)
        reader = client.do_get(info.endpoints[0].ticket)
        streamed = reader.read_all()
        assert info.schema.serialize().to_pybytes() == streamed.schema.serialize().to_pybytes()
        assert client.get_schema(desc).schema == streamed.schema
        assert info.total_records == 2
        assert streamed.num_rows == 2
    # the demo table (symbols, timestamps) too
    info = client.get_flight_info(fl.FlightDescriptor.for_path("trades"))
    streamed = client.do_get(info.endpoints[0].ticket).read_all()
    assert info.schema.serialize().to_pybytes() == streamed.schema.serialize().to_pybytes()
    assert info.total_records == streamed.num_rows == N_DEMO


def test_large_result_arrives_in_bounded_batches_with_exact_checksum(start_quiverd):
    srv = start_quiverd("--in-memory", "--max-batch-bytes", "1M")
    c = srv.flight()
    n = 1_000_000
    t = pa.table({"id": pa.array(range(n), type=pa.int64()),
                  "x": pc.multiply(pa.array(range(n), type=pa.float64()), 0.25),
                  "s": pa.array([("k%d" % (i % 100)) for i in range(n)])})
    put(c, "big", t, max_chunksize=200_000)
    rows0, bytes0 = metric(srv, "quiver_rows_sent_total"), metric(srv, "quiver_bytes_sent_total")
    reader = c.do_get(fl.Ticket("SELECT * FROM big"))
    batches = []
    for chunk in reader:
        assert chunk.data.nbytes <= 1 << 20, chunk.data.nbytes
        batches.append(chunk.data)
    assert len(batches) >= 16
    got = pa.Table.from_batches(batches)
    assert got.num_rows == n
    assert metric(srv, "quiver_rows_sent_total") - rows0 == n
    assert metric(srv, "quiver_bytes_sent_total") - bytes0 >= got.nbytes
    assert pc.sum(got.column("id")).as_py() == n * (n - 1) // 2
    assert pc.sum(got.column("x")).as_py() == pc.sum(t.column("x")).as_py()
    assert got.sort_by("id").equals(t)
    # pandas / polars / duckdb see the same thing
    import duckdb
    import polars as pl
    assert got.to_pandas()["id"].sum() == n * (n - 1) // 2
    assert pl.from_arrow(got)["s"].n_unique() == 100
    assert duckdb.sql("SELECT count(DISTINCT id) FROM got").fetchall()[0][0] == n
    c.close()


def test_reader_that_stops_after_one_batch_leaves_server_healthy(start_quiverd):
    srv = start_quiverd("--in-memory", "--max-batch-bytes", "64K")
    c = srv.flight()
    n = 300_000
    put(c, "t", pa.table({"v": pa.array(range(n), type=pa.int64())}))
    for _ in range(3):
        reader = c.do_get(fl.Ticket("SELECT * FROM t"))
        first = reader.read_chunk()
        assert first.data.num_rows > 0
        reader.cancel()
        del reader
    c2 = srv.flight()  # another client, another connection, also gone midway
    r2 = c2.do_get(fl.Ticket("SELECT * FROM t"))
    r2.read_chunk()
    c2.close()
    wait_streams_idle(srv)
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    assert get(c, "SELECT count(*) AS n FROM t").column(0)[0].as_py() == n
    c.close()


@pytest.mark.parametrize("ticket", [b"", b"\x00\x01\x02\xff", b"SELECT " + b"x" * (1 << 20) + b" FROM t",
                                    b"SELEKT * FROM nowhere", b"SELECT * FROM no_such_table"])
def test_bad_tickets_fail_cleanly(client, ticket):
    with pytest.raises((fl.FlightServerError, pa.ArrowInvalid, fl.FlightUnavailableError,
                        pa.ArrowKeyError, KeyError)) as ei:
        client.do_get(fl.Ticket(ticket)).read_all()
    assert str(ei.value)
    assert list(client.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"


def test_status_codes(client):
    with pytest.raises(pa.ArrowInvalid, match="ticket"):
        client.do_get(fl.Ticket(b"")).read_all()
    with pytest.raises(pa.ArrowInvalid):
        client.get_flight_info(fl.FlightDescriptor.for_command("SELEKT 1"))  # invalid SQL fails here
    with pytest.raises((pa.ArrowKeyError, KeyError)):  # NOT_FOUND
        client.get_flight_info(fl.FlightDescriptor.for_path("no_such_table"))
    with pytest.raises(pa.ArrowInvalid, match="valid actions: ping"):
        list(client.do_action(fl.Action("launch", b"")))


def test_ddl_and_dml_tickets_return_one_row(client):
    r = get(client, "CREATE TABLE ddl_t (a BIGINT, b VARCHAR)")
    assert r.num_rows == 1
    r = get(client, "INSERT INTO ddl_t VALUES (1, 'x'), (2, 'y')")
    assert r.num_rows == 1
    assert get(client, "SELECT count(*) AS n FROM ddl_t").column(0)[0].as_py() == 2
    r = get(client, "DROP TABLE ddl_t")
    assert r.num_rows == 1
    with pytest.raises((pa.ArrowKeyError, KeyError)):
        get(client, "SELECT * FROM ddl_t")


def test_list_flights_criteria_is_a_name_prefix(client):
    for name in ("pfx_one", "pfx_two", "other_pfx"):
        put(client, name, pa.table({"a": pa.array([1, 2, 3], type=pa.int64())}))
    names = sorted(f.descriptor.path[0] for f in client.list_flights(b"pfx_"))
    assert names == [b"pfx_one", b"pfx_two"]
    f = next(iter(client.list_flights(b"pfx_one")))
    assert f.total_records == 3 and f.total_bytes > 0
    assert f.schema == pa.schema([("a", pa.int64())])
    assert client.do_get(f.endpoints[0].ticket).read_all().num_rows == 3
    # GetFlightInfo on the same PATH knows the same size; a CMD query does not say.
    info = client.get_flight_info(fl.FlightDescriptor.for_path("pfx_one"))
    assert (info.total_records, info.total_bytes) == (3, f.total_bytes)
    assert client.get_flight_info(fl.FlightDescriptor.for_command("SELECT a FROM pfx_one")).total_bytes == -1


def test_actions(client):
    put(client, "act_t", pa.table({"a": pa.array([1, 2], type=pa.int64())}))
    h = json.loads(list(client.do_action(fl.Action("healthcheck", b"")))[0].body.to_pybytes())
    assert h["status"] == "ok" and h["tables"] >= 1 and "version" in h and "uptime_s" in h
    d = json.loads(list(client.do_action(fl.Action("describe_table", b"act_t")))[0].body.to_pybytes())
    assert "a" in json.dumps(d)
    with pytest.raises((pa.ArrowKeyError, KeyError)):
        list(client.do_action(fl.Action("describe_table", b"nope")))
    list(client.do_action(fl.Action("drop_table", b"act_t")))
    assert not any(f.descriptor.path == [b"act_t"] for f in client.list_flights())
    with pytest.raises((pa.ArrowKeyError, KeyError)):
        list(client.do_action(fl.Action("drop_table", b"act_t")))


def test_handshake_and_unimplemented(client, demo):
    # Handshake without credentials succeeds.
    class NoAuth(fl.ClientAuthHandler):
        def authenticate(self, outgoing, incoming):
            outgoing.write(b"hello")
            assert incoming.read() == b"hello"

        def get_token(self):
            return b""
    c = demo.flight()
    c.authenticate(NoAuth())
    assert c.authenticate_basic_token("anyone", "anything") == (b"", b"")
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    with pytest.raises(NotImplementedError, match="DoExchange"):
        w, r = c.do_exchange(fl.FlightDescriptor.for_command(b"x"))
        r.read_all()
    if hasattr(c, "poll_flight_info"):
        with pytest.raises(NotImplementedError, match="PollFlightInfo"):
            c.poll_flight_info(fl.FlightDescriptor.for_command(b"SELECT 1"))
    c.close()


def test_concurrent_readers_and_writers(start_quiverd):
    srv = start_quiverd("--in-memory")
    c = srv.flight()
    K = 1000
    put(c, "conc", pa.table({"w": pa.array([-1] * K, type=pa.int64()), "v": pa.array(range(K), type=pa.int64())}))
    errors, seen = [], []

    def writer(wid):
        try:
            cl = srv.flight()
            for i in range(5):
                t = pa.table({"w": pa.array([wid] * K, type=pa.int64()), "v": pa.array(range(K), type=pa.int64())})
                put(cl, "conc", t, max_chunksize=250)
            cl.close()
        except Exception as e:  # reported below
            errors.append(e)

    def reader():
        try:
            cl = srv.flight()
            for _ in range(8):
                got = get(cl, "SELECT * FROM conc")
                seen.append(got.num_rows)
                assert got.num_rows % K == 0  # whole streams or nothing
                assert pc.sum(got.column("v")).as_py() == (got.num_rows // K) * K * (K - 1) // 2
            cl.close()
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)] + \
              [threading.Thread(target=reader) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert get(c, "SELECT count(*) AS n FROM conc").column(0)[0].as_py() == K * 16
    assert len(seen) == 32
    c.close()


def test_restart_keeps_data(start_quiverd, tmp_path):
    d = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", d)
    c = srv.flight()
    t = pa.table({"k": pa.array(range(5000), type=pa.int64()), "s": pa.array(["v%d" % i for i in range(5000)])})
    put(c, "kept", t)
    c.close()
    assert srv.stop() == 0
    srv2 = start_quiverd("--data-dir", d)
    c2 = srv2.flight()
    assert get(c2, "SELECT * FROM kept").sort_by("k").equals(t)
    assert [f.total_records for f in c2.list_flights(b"kept")] == [5000]
    c2.close()


def test_sigterm_with_stalled_reader_and_open_put(start_quiverd, tmp_path):
    """Shutdown waits out its grace period, cancels what still runs, exits 0;
    the DoPut that never finished left nothing behind."""
    d = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", d, "--max-batch-bytes", "64K")
    c = srv.flight()
    put(c, "t", pa.table({"v": pa.array(range(500_000), type=pa.int64())}))
    reader = c.do_get(fl.Ticket("SELECT * FROM t"))
    assert reader.read_chunk().data.num_rows > 0  # then never read again
    w, r = c.do_put(fl.FlightDescriptor.for_path("unfinished"), pa.schema([("a", pa.int64())]))
    w.write_table(pa.table({"a": pa.array([1, 2, 3], type=pa.int64())}))
    r.read()
    assert srv.stop() == 0
    c.close()
    srv2 = start_quiverd("--data-dir", d)
    c2 = srv2.flight()
    names = [f.descriptor.path for f in c2.list_flights()]
    assert [b"t"] in names and [b"unfinished"] not in names
    c2.close()
