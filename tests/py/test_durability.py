"""Acknowledged writes survive kill -9; nothing half-written appears.

A client process streams DoPut calls of K rows each and records, after each
call is acknowledged (writer.close() returned), the running total. We SIGKILL
quiverd at a random moment, restart it on the same data dir and check:
  acked <= count(*) <= acked + K (one stream may have committed unacknowledged)
  count(*) % K == 0                (no partial stream)
  and the values are exactly the ones the acknowledged streams sent.
"""
import random
import signal
import threading
import time

import pyarrow as pa
import pyarrow.flight as fl
import pytest

K = 500


def writer_loop(uri, acked, stop):
    client = fl.connect(uri)
    i = len(acked)
    while not stop.is_set():
        t = pa.table({"seq": pa.array(range(i * K, (i + 1) * K), type=pa.int64()),
                      "batch": pa.array([i] * K, type=pa.int64())})
        try:
            w, _ = client.do_put(fl.FlightDescriptor.for_path("ticks"), t.schema)
            w.write_table(t, max_chunksize=100)  # several batches per stream
            w.close()
        except Exception:
            return
        acked.append(i)
        i += 1


@pytest.mark.parametrize("sync", ["0", "5"])
def test_kill9_mid_ingest_keeps_acknowledged_rows(start_quiverd, tmp_path, sync):
    data = tmp_path / "data"
    acked = []
    rnd = random.Random(1234)
    for round_ in range(5):
        srv = start_quiverd("--data-dir", str(data), "--wal-sync", sync)
        stop = threading.Event()
        th = threading.Thread(target=writer_loop, args=(srv.flight_uri, acked, stop))
        th.start()
        time.sleep(0.2 + rnd.random() * 0.5)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        stop.set()
        th.join(30)
        srv2 = start_quiverd("--data-dir", str(data), "--wal-sync", sync)
        c = srv2.flight()
        n = c.do_get(fl.Ticket("SELECT count(*) AS n FROM ticks")).read_all().column(0)[0].as_py() \
            if any(f.descriptor.path == [b"ticks"] for f in c.list_flights()) else 0
        assert len(acked) * K <= n <= (len(acked) + 1) * K, (round_, len(acked), n)
        assert n % K == 0
        # A stream that committed without its ack counts as acknowledged from now on.
        while len(acked) * K < n:
            acked.append(len(acked))
        if n:
            t = c.do_get(fl.Ticket("SELECT min(seq) AS lo, max(seq) AS hi, count(DISTINCT seq) AS d, "
                                   "sum(seq) AS s FROM ticks")).read_all().to_pylist()[0]
            assert t == {"lo": 0, "hi": n - 1, "d": n, "s": n * (n - 1) // 2}
        assert srv2.stop() == 0
    assert len(acked) > 0, "the writer never got a single acknowledgement"


M, P = 42_200, 211  # preloaded rows; DELETE classes (seq % P)


def delete_loop(uri, classes, acked_del, acked_put, stop):
    """DELETEs of one class of the preloaded rows each, with small puts between
    them so the WAL passes --checkpoint-bytes and checkpoints run meanwhile."""
    client = fl.connect(uri)
    for r in classes:
        if stop.is_set() or r in acked_del:
            continue
        try:
            i = len(acked_put)
            t = pa.table({"seq": pa.array(range(M + i * K, M + (i + 1) * K), type=pa.int64()),
                          "batch": pa.array([i] * K, type=pa.int64())})
            w, _ = client.do_put(fl.FlightDescriptor.for_path("dl"), t.schema)
            w.write_table(t)
            w.close()
            acked_put.append(i)
            got = client.do_get(fl.Ticket("DELETE FROM dl WHERE seq %% %d = %d AND seq < %d" % (P, r, M))).read_all()
        except Exception:
            return
        assert got["rows"][0].as_py() == len(range(r, M, P))
        acked_del.append(r)
        time.sleep(0.005)  # spread the classes over the rounds


def test_kill9_mid_delete_and_checkpoint(start_quiverd, tmp_path):
    """kill -9 while DELETEs commit and checkpoints (forced often) run: every
    acknowledged DELETE stays, the one in flight is all or nothing, and no
    acknowledged put is lost."""
    data = tmp_path / "data"
    flags = ("--data-dir", str(data), "--rowgroup-rows", "1000", "--checkpoint-bytes", "32K")
    srv = start_quiverd(*flags)
    c = srv.flight()
    t = pa.table({"seq": pa.array(range(M), type=pa.int64()), "batch": pa.array([-1] * M, type=pa.int64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("dl"), t.schema)
    w.write_table(t)
    w.close()
    assert srv.stop() == 0
    rnd = random.Random(99)
    classes = list(range(P))
    rnd.shuffle(classes)
    acked_del, acked_put = [], []
    for round_ in range(4):
        srv = start_quiverd(*flags)
        stop = threading.Event()
        th = threading.Thread(target=delete_loop, args=(srv.flight_uri, classes, acked_del, acked_put, stop))
        th.start()
        time.sleep(0.3 + rnd.random() * 0.6)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        stop.set()
        th.join(30)
        srv2 = start_quiverd(*flags)
        c = srv2.flight()
        rows = c.do_get(fl.Ticket("SELECT seq %% %d AS r, count(*) AS n FROM dl WHERE seq < %d GROUP BY r" % (P, M)))
        have = {x["r"]: x["n"] for x in rows.read_all().to_pylist()}
        for r in range(P):
            full = len(range(r, M, P))
            if r in acked_del:
                assert r not in have, (round_, r, have.get(r))
            else:
                assert have.get(r) == full or (r not in have and r not in acked_del), (round_, r, have.get(r))
        gone = [r for r in range(P) if r not in have and r not in acked_del]
        assert len(gone) <= 1, gone  # at most the DELETE in flight committed without its ack
        acked_del.extend(gone)
        n = c.do_get(fl.Ticket("SELECT count(*) AS n FROM dl WHERE seq >= %d" % M)).read_all()["n"][0].as_py()
        assert len(acked_put) * K <= n <= (len(acked_put) + 1) * K and n % K == 0, (round_, len(acked_put), n)
        while len(acked_put) * K < n:
            acked_put.append(len(acked_put))
        assert srv2.stop() == 0
    assert len(acked_del) > 3, "hardly any DELETE was acknowledged"
