"""Flight DoPut against a real quiverd: create, append, schema mismatch,
PutResult acknowledgements, garbage input, and atomicity (a stream that
fails or whose client is SIGKILLed midway leaves nothing)."""
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

import pyarrow as pa
import pyarrow.flight as fl
import pytest


@pytest.fixture(scope="module")
def client(quiverd):
    c = quiverd.flight()
    yield c
    c.close()


def count(client, table):
    return client.do_get(fl.Ticket("SELECT count(*) AS n FROM %s" % table)).read_all().column(0)[0].as_py()


def exists(client, table):
    return any(f.descriptor.path == [table.encode()] for f in client.list_flights())


def test_create_then_append_with_acks(client):
    t = pa.table({"a": pa.array(range(10), type=pa.int64()), "s": pa.array(["x"] * 10)})
    w, reader = client.do_put(fl.FlightDescriptor.for_path("p_create"), t.schema)
    acks = []
    for b in t.to_batches(max_chunksize=4):
        w.write_batch(b)
        buf = reader.read()
        acks.append(json.loads(buf.to_pybytes()))
    w.done_writing()
    w.close()
    assert acks == [{"rows": 4}, {"rows": 4}, {"rows": 2}]
    assert count(client, "p_create") == 10
    # append; CMD descriptor names the table too
    w, _ = client.do_put(fl.FlightDescriptor.for_command(b"p_create"), t.schema)
    w.write_table(t)
    w.close()
    assert count(client, "p_create") == 20


def test_missing_nullable_column_becomes_null(client):
    t = pa.table({"a": pa.array([1], type=pa.int64()), "b": pa.array([1.5])})
    w, _ = client.do_put(fl.FlightDescriptor.for_path("p_nulls"), t.schema)
    w.write_table(t)
    w.close()
    t2 = pa.table({"a": pa.array([2], type=pa.int64())})
    w, _ = client.do_put(fl.FlightDescriptor.for_path("p_nulls"), t2.schema)
    w.write_table(t2)
    w.close()
    got = client.do_get(fl.Ticket("SELECT * FROM p_nulls")).read_all().sort_by("a")
    assert got.column("b").to_pylist() == [1.5, None]


def test_all_none_pandas_columns_append_as_nulls_of_the_table_type(client):
    """pandas gives an all-None column Arrow type null: an append fills the
    table column's own type with NULLs; a new table cannot take a type from
    it (clear error, nothing created); a NOT NULL column refuses it."""
    import pandas as pd
    typed = pa.table({"k": pa.array([1], pa.int64()), "s": pa.array(["a"]), "sym": pa.array(["X"]).dictionary_encode(),
                      "ts": pa.array([0], pa.timestamp("ns")), "b": pa.array([True]), "i": pa.array([7], pa.int32()),
                      "f": pa.array([1.5], pa.float32())})
    w, _ = client.do_put(fl.FlightDescriptor.for_path("p_nulltype"), typed.schema)
    w.write_table(typed)
    w.close()
    df = pd.DataFrame({"k": [2, 3], "s": [None, None], "sym": [None, None], "ts": [None, None], "b": [None, None],
                       "i": [None, None], "f": [None, None]})
    t = pa.Table.from_pandas(df, preserve_index=False)
    assert all(t.schema.field(n).type == pa.null() for n in ["s", "sym", "ts", "b", "i", "f"])
    w, _ = client.do_put(fl.FlightDescriptor.for_path("p_nulltype"), t.schema)
    w.write_table(t)
    w.close()
    got = client.do_get(fl.Ticket("SELECT * FROM p_nulltype ORDER BY k")).read_all()
    assert got.column("k").to_pylist() == [1, 2, 3]
    for n in ["s", "sym", "ts", "b", "i", "f"]:
        assert got.column(n).to_pylist()[1:] == [None, None], n
    assert pa.types.is_timestamp(got.schema.field("ts").type) and got.schema.field("b").type == pa.bool_()
    assert got.schema.field("f").type == pa.float32() and got.schema.field("s").type == pa.string()

    with pytest.raises(pa.ArrowInvalid, match="Arrow type null.*create the table first"):
        w, _ = client.do_put(fl.FlightDescriptor.for_path("p_nulltype_new"), t.schema)
        w.write_table(t)
        w.close()
    assert not exists(client, "p_nulltype_new")

    list(client.do_get(fl.Ticket("CREATE TABLE p_nulltype_nn (k BIGINT, v DOUBLE NOT NULL)")).read_all())
    nn = pa.table({"k": pa.array([1], pa.int64()), "v": pa.array([None], pa.null())})
    with pytest.raises(pa.ArrowInvalid, match="NOT NULL.*Arrow type null"):
        w, _ = client.do_put(fl.FlightDescriptor.for_path("p_nulltype_nn"), nn.schema)
        w.write_table(nn)
        w.close()
    assert count(client, "p_nulltype_nn") == 0


def test_mismatch_names_the_column_and_applies_nothing(client):
    t = pa.table({"a": pa.array([1, 2], type=pa.int64()), "price": pa.array([1.0, 2.0])})
    w, _ = client.do_put(fl.FlightDescriptor.for_path("p_mis"), t.schema)
    w.write_table(t)
    w.close()
    bad = pa.table({"a": pa.array([3], type=pa.int64()), "price": pa.array(["cheap"])})
    with pytest.raises(pa.ArrowInvalid, match="price"):
        w, _ = client.do_put(fl.FlightDescriptor.for_path("p_mis"), bad.schema)
        w.write_table(bad)
        w.close()
    assert count(client, "p_mis") == 2


def test_stream_failing_midway_leaves_nothing(client):
    """A stream that dies after some acknowledged batches (here: its deadline
    passes before the client finishes) leaves none of its rows."""
    good = pa.table({"a": pa.array(range(100), type=pa.int64())})
    w, _ = client.do_put(fl.FlightDescriptor.for_path("p_mid"), good.schema)
    w.write_table(good)
    w.close()
    opts = fl.FlightCallOptions(timeout=1.0)
    with pytest.raises(Exception):
        w, r = client.do_put(fl.FlightDescriptor.for_path("p_mid"), good.schema, options=opts)
        for _ in range(3):
            w.write_table(good)
            r.read()  # the server has the batch
        time.sleep(1.5)
        w.close()
    assert count(client, "p_mid") == 100


def test_put_without_descriptor_table_or_schema(client):
    with pytest.raises((pa.ArrowInvalid, fl.FlightServerError)):
        w, _ = client.do_put(fl.FlightDescriptor.for_path(""), pa.schema([("a", pa.int64())]))
        w.close()
    with pytest.raises((pa.ArrowInvalid, fl.FlightServerError)):
        w, _ = client.do_put(fl.FlightDescriptor.for_path("a", "b"), pa.schema([("a", pa.int64())]))
        w.close()
    assert list(client.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"


WRITER = textwrap.dedent("""
    import sys, time, pyarrow as pa, pyarrow.flight as fl
    c = fl.connect(sys.argv[1])
    t = pa.table({"a": pa.array(range(1000), type=pa.int64())})
    w, r = c.do_put(fl.FlightDescriptor.for_path(sys.argv[2]), t.schema)
    for i in range(5):
        w.write_table(t)
        r.read()              # acknowledged by the server: it holds the batch
    print("sent", flush=True)
    time.sleep(600)
""")


def wait_streams_idle(server):
    deadline = time.time() + 20
    while True:
        body = urllib.request.urlopen(server.http_url + "/metrics", timeout=10).read().decode()
        if int(re.search(r"^quiver_flight_streams_active (\d+)", body, re.M).group(1)) == 0:
            return
        assert time.time() < deadline, "a Flight stream stayed active"
        time.sleep(0.05)


@pytest.mark.parametrize("preexisting", [False, True])
def test_client_killed_midstream_leaves_no_rows(quiverd, client, preexisting):
    name = "p_killed_%d" % preexisting
    if preexisting:
        t = pa.table({"a": pa.array([7], type=pa.int64())})
        w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema)
        w.write_table(t)
        w.close()
    p = subprocess.Popen([sys.executable, "-c", WRITER, quiverd.flight_uri, name],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "sent"
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
    wait_streams_idle(quiverd)
    if preexisting:
        assert count(client, name) == 1
    else:
        assert not exists(client, name)
