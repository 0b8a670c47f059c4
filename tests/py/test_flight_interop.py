"""A second, independent Flight implementation against quiverd: Apache
Arrow's Go client (tests/interop/go) runs DoPut, DoGet and ListFlights and
compares values, reads a table pyarrow wrote, and sends malformed raw gRPC
messages. Skips only when the Go toolchain is not installed."""
import json
import os
import shutil
import subprocess

import pyarrow as pa
import pyarrow.flight as fl
import pytest

GO_DIR = os.path.join(os.path.dirname(__file__), "..", "interop", "go")


@pytest.fixture(scope="module")
def go_client(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go toolchain not installed")
    out = str(tmp_path_factory.mktemp("interop") / "quiver-interop")
    # Module and build caches are the user's (~/go, ~/.cache/go-build): a rebuild is quick.
    r = subprocess.run([go, "build", "-o", out, "."], cwd=GO_DIR, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return out


def run(go_client, server, *args):
    r = subprocess.run([go_client, "-addr", "127.0.0.1:%d" % server.flight_port, *args],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_go_client_put_get_list(go_client, quiverd):
    c = quiverd.flight()
    n = 30000
    t = pa.table({"v": pa.array(range(n), type=pa.int64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("from_python"), t.schema)
    w.write_table(t, max_chunksize=7000)
    w.close()
    res = run(go_client, quiverd, "-table", "from_go", "-rows", "5000", "-py-table", "from_python")
    assert res["rows_written"] == res["rows_read"] == res["listed_rows"] == 5000
    assert res["put_acks"] == 2
    assert res["py_rows"] == n and res["py_sum"] == n * (n - 1) // 2
    # and what Go wrote, pyarrow reads with the exact types Go declared
    got = c.do_get(fl.Ticket("SELECT * FROM from_go")).read_all().sort_by("id")
    assert got.schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    assert got.column("name")[1].as_py() == "name-1-é"
    assert got.column("i32").null_count == len([i for i in range(5000) if i % 7 == 3])
    c.close()


def test_go_raw_garbage_gets_clear_statuses(go_client, quiverd):
    res = run(go_client, quiverd, "-garbage", "-table", "garbage_t")
    for case in res:
        assert case["code"] == "InvalidArgument", case
        assert case["message"], case
    c = quiverd.flight()
    assert not any(f.descriptor.path == [b"garbage_t"] for f in c.list_flights())
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    c.close()
