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
