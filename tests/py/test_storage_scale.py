"""Storage at scale through a real quiverd, kept modest for a shared machine:

- a durable DoPut streams to disk: the server's peak resident memory grows by
  far less than the put (bounded, not proportional), and the rows are there;
- after a restart sealed row groups are read through mappings of their
  column files: anonymous memory (RssAnon) stays small however much data
  there is, and a full scan still gives the right answer;
- a low-cardinality utf8 column (pushed as plain strings) is stored
  dictionary-encoded per row group; GROUP BY / = on it answer as DuckDB does
  and clients get utf8 back;
- kill -9 in the middle of a put far larger than the WAL checkpoint
  threshold loses no acknowledged commit, shows none of the killed put, and
  the files it had written are removed at the next start.
Not timing tests: memory is compared with the data size, not with a clock.
"""
import glob
import os
import signal
import threading
import time

import numpy as np
import pytest
import pyarrow as pa
import pyarrow.flight as fl

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups

ROWS = 12_000_000  # x 4 int64 columns = 384 MB


def sanitized():
    """A sanitizer's shadow memory (and ASan's quarantine) make RSS meaningless."""
    from conftest import QUIVERD
    with open(QUIVERD, "rb") as f:
        exe = f.read()
    return b"__asan_init" in exe or b"__tsan_init" in exe
CHUNK = 500_000


def status(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no " + key)


def batch(at, n):
    ids = np.arange(at, at + n, dtype=np.int64)
    return pa.record_batch([pa.array(ids), pa.array(ids * 3), pa.array(ids % 1000), pa.array(ids * 7)],
                           names=["id", "a", "b", "c"])


def put(client, name, rows, at=0):
    first = batch(at, min(CHUNK, rows))
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), first.schema)
    w.write_batch(first)
    done = first.num_rows
    while done < rows:
        n = min(CHUNK, rows - done)
        w.write_batch(batch(at + done, n))
        done += n
    w.close()


def check_sums(client, name, rows):
    t = client.do_get(fl.Ticket("SELECT count(*) AS n, sum(id) AS s, sum(a) AS a, max(c) AS c FROM %s"
                                % name)).read_all().to_pylist()[0]
    s = rows * (rows - 1) // 2
    assert t == {"n": rows, "s": s, "a": 3 * s, "c": 7 * (rows - 1)}


def test_durable_put_memory_bounded_and_restart_maps(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data)
    c = srv.flight()
    put(c, "warm", 100_000)  # allocator arenas and threads warmed up
    idle = status(srv.proc.pid, "VmRSS")
    put(c, "big", ROWS)
    growth = status(srv.proc.pid, "VmHWM") - idle
    assert sanitized() or growth < 192 << 20, "peak RSS grew %d MB for a %d MB put" % (growth >> 20, ROWS * 32 >> 20)
    check_sums(c, "big", ROWS)
    assert srv.stop() == 0
    srv = start_quiverd("--data-dir", data)
    c = srv.flight()
    check_sums(c, "big", ROWS)
    c.do_get(fl.Ticket("SELECT * FROM big WHERE id % 1000000 = 7")).read_all()
    anon = status(srv.proc.pid, "RssAnon")
    assert sanitized() or anon < 96 << 20, "RssAnon %d MB after scanning %d MB of data" % (anon >> 20, ROWS * 32 >> 20)
    assert srv.stop() == 0


def test_kill9_during_put_larger_than_wal_threshold(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    put(c, "t", 300_000)
    errors = []

    def big():
        try:
            put(srv.flight(), "t", 6_000_000, at=300_000)  # 192 MB: 3x the 64 MiB threshold
        except Exception as e:  # the server dies under it
            errors.append(e)

    th = threading.Thread(target=big)
    th.start()
    deadline = time.time() + 30
    # Kill once the put has written several column files of its own.
    while time.time() < deadline and len(glob.glob(os.path.join(data, "t*-*.qvc"))) < 20:
        time.sleep(0.02)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    th.join(60)
    assert errors, "the put finished before the kill; nothing was tested"
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    check_sums(c, "t", 300_000)
    # Only the committed row groups' files are left (300k rows: 4 sealed + an open one in the WAL).
    assert len(glob.glob(os.path.join(data, "t*-*.qvc"))) == 300_000 // 65536
    put(c, "t", 100_000, at=300_000)
    check_sums(c, "t", 400_000)
    assert srv.stop() == 0


def test_low_cardinality_strings_group_and_filter(start_quiverd, tmp_path):
    import duckdb
    n = 300_000
    syms = np.array(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"])
    idx = np.arange(n)
    t = pa.table({"sym": pa.array(syms[(idx * 7) % 5]),
                  "px": pa.array(idx % 1000, type=pa.int64())})
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data)
    w, _ = srv.flight().do_put(fl.FlightDescriptor.for_path("q"), t.schema)
    w.write_table(t, max_chunksize=50_000)
    w.close()
    assert srv.stop() == 0
    srv = start_quiverd("--data-dir", data)
    c = srv.flight()
    for sql in ["SELECT sym, count(*) AS n, sum(px) AS s FROM q GROUP BY sym ORDER BY sym",
                "SELECT count(*) AS n, sum(px) AS s FROM q WHERE sym = 'GOOG'",
                "SELECT sym, px FROM q WHERE sym IN ('TSLA', 'AAPL') AND px < 3 ORDER BY sym, px LIMIT 20"]:
        got = c.do_get(fl.Ticket(sql)).read_all()
        want = duckdb.sql(sql.replace("FROM q", "FROM t")).to_arrow_table()
        assert got.to_pylist() == want.to_pylist(), sql
    got = c.do_get(fl.Ticket("SELECT * FROM q")).read_all()
    assert got.schema.field("sym").type == pa.string()
    assert got.column("sym").to_pylist() == t.column("sym").to_pylist()
    assert srv.stop() == 0


def sql(c, q):
    return c.do_get(fl.Ticket(q)).read_all().to_pylist()


def describe(c, name):
    import json
    r = list(c.do_action(fl.Action("describe_table", name.encode())))
    return json.loads(r[0].body.to_pybytes())


def test_truncate_and_retention(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    now = time.time_ns()
    n = 200_000
    old = pa.table({"ts": pa.array(np.arange(n, dtype=np.int64) * 1000 + now - 400 * 86400 * 10**9,
                                   type=pa.timestamp("ns", tz="UTC")),
                    "v": pa.array(np.arange(n, dtype=np.int64))})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("hist"), old.schema)
    w.write_table(old)
    w.close()
    assert describe(c, "hist")["retention"] is None
    assert sql(c, "ALTER TABLE hist SET RETENTION INTERVAL '30 days'") == [{"ok": True}]
    assert describe(c, "hist")["retention"] == {"column": "ts", "interval_s": 30 * 86400}
    # The background task drops the whole sealed row groups (all older than 30 days);
    # the open one stays.
    deadline = time.time() + 20
    while time.time() < deadline and sql(c, "SELECT count(*) AS n FROM hist")[0]["n"] == n:
        time.sleep(0.1)
    left = sql(c, "SELECT count(*) AS n, min(v) AS lo FROM hist")[0]
    assert left == {"n": n % 65536, "lo": n - n % 65536}
    srv.proc.send_signal(signal.SIGKILL)  # the drop is durable before it is visible
    srv.proc.wait()
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    assert sql(c, "SELECT count(*) AS n, min(v) AS lo FROM hist")[0] == left
    assert describe(c, "hist")["retention"]["column"] == "ts"
    assert sql(c, "TRUNCATE hist") == [{"rows": left["n"]}]
    assert sql(c, "SELECT count(*) AS n FROM hist") == [{"n": 0}]
    assert sql(c, "ALTER TABLE hist SET RETENTION NONE") == [{"ok": True}]
    with pytest.raises(pa.ArrowInvalid, match="TIMESTAMP"):
        sql(c, "ALTER TABLE hist SET RETENTION INTERVAL '1 day' ON v")
    assert srv.stop() == 0
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    assert sql(c, "SELECT count(*) AS n FROM hist") == [{"n": 0}]
    assert describe(c, "hist")["retention"] is None
    assert not glob.glob(os.path.join(data, "t*-*.qvc"))  # freed at the checkpoints
    assert srv.stop() == 0


def test_two_streams_create_the_same_table(start_quiverd):
    srv = start_quiverd("--in-memory")
    t = pa.table({"x": pa.array(range(1000), type=pa.int64())})
    a, _ = srv.flight().do_put(fl.FlightDescriptor.for_path("both"), t.schema)
    a.write_table(t)  # a creates the table when it commits
    b, _ = srv.flight().do_put(fl.FlightDescriptor.for_path("both"), t.schema)
    b.write_table(t)  # b holds its batches: a owns the table-to-be
    done = []
    th = threading.Thread(target=lambda: (b.close(), done.append(1)))
    th.start()  # b's commit waits for a
    time.sleep(0.3)
    a.write_table(t)
    a.close()
    th.join(30)
    assert done
    n = srv.flight().do_get(fl.Ticket("SELECT count(*) AS n FROM both")).read_all().to_pylist()
    assert n == [{"n": 3000}]
