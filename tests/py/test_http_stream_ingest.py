"""HTTP /ingest of an Arrow stream is decoded and appended as the body
arrives: a ~320 MB chunked upload (from a generator, so the client holds
one batch at a time) is not limited by --max-body-bytes, the server's
anonymous memory grows by far less than the upload, and the rows are all
there; an upload cut off mid-stream leaves nothing, not even the table; a
CSV body over --max-body-bytes is spilled to a file as it arrives.
Memory is compared with the data size, not timed."""
import socket
import threading

import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

ROWS_PER_BATCH = 1_000_000  # x 4 int64 = 32 MB per message
BATCHES = 10


def sanitized():
    from conftest import QUIVERD
    with open(QUIVERD, "rb") as f:
        return b"__asan_init" in f.read()


def batch(i):
    ids = np.arange(i * ROWS_PER_BATCH, (i + 1) * ROWS_PER_BATCH, dtype=np.int64)
    return pa.record_batch([pa.array(ids), pa.array(ids * 3), pa.array(ids % 1000), pa.array(ids * 7)],
                           names=["id", "a", "b", "c"])


def stream_pieces(n_batches):
    """The IPC stream in pieces: schema, then each batch message in odd-sized
    pieces (as a network would hand them over), then end-of-stream."""
    yield batch(0).schema.serialize().to_pybytes()
    for i in range(n_batches):
        body = batch(i).serialize().to_pybytes()
        for k in range(0, len(body), 7_000_001):
            yield body[k:k + 7_000_001]
    yield b"\xff\xff\xff\xff\x00\x00\x00\x00"


def status(pid, key):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no " + key)


def test_streamed_arrow_upload_bounded_memory(start_quiverd, tmp_path):
    srv = start_quiverd("--data-dir", str(tmp_path / "d"), "--max-body-bytes", "64M")
    pid = srv.proc.pid
    base = status(pid, "RssAnon")
    peak = [base]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], status(pid, "RssAnon"))
            stop.wait(0.02)

    th = threading.Thread(target=watch)
    th.start()
    try:
        r = requests.post(srv.http_url + "/ingest", params={"table": "big", "format": "arrow"},
                          data=stream_pieces(BATCHES), timeout=600)
    finally:
        stop.set()
        th.join()
    print("RssAnon grew by %d MB for a %d MB upload" % ((peak[0] - base) >> 20, (BATCHES * ROWS_PER_BATCH * 32) >> 20))
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == BATCHES * ROWS_PER_BATCH
    c = fl.connect(srv.flight_uri)
    got = c.do_get(fl.Ticket(b"SELECT count(*) AS n, sum(id) AS s FROM big")).read_all().to_pylist()[0]
    n = BATCHES * ROWS_PER_BATCH
    assert got == {"n": n, "s": n * (n - 1) // 2}
    upload = n * 32
    if not sanitized():
        assert peak[0] - base < 256 << 20, (peak[0] - base, upload)
        assert peak[0] - base < upload // 2


def test_cut_off_upload_leaves_nothing(start_quiverd, tmp_path):
    srv = start_quiverd("--data-dir", str(tmp_path / "d"))
    # A raw chunked request that stops in the middle of the third batch and hangs up.
    s = socket.create_connection(("127.0.0.1", srv.http_port))
    s.sendall(b"POST /ingest?table=cut&format=arrow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent = 0
    for piece in stream_pieces(3):
        s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        sent += len(piece)
        if sent > 2 * 32 * ROWS_PER_BATCH + 5_000_000:
            break
    s.close()
    c = fl.connect(srv.flight_uri)
    import time
    deadline = time.time() + 20
    while time.time() < deadline:  # the server notices the hang-up and aborts
        names = [f.descriptor.path[0] for f in c.list_flights()]
        if b"cut" not in names:
            break
        time.sleep(0.1)
    assert b"cut" not in [f.descriptor.path[0] for f in c.list_flights()]
    # A truncated body that does end (no EOS, a message cut short) is refused.
    body = b"".join(stream_pieces(1))[:-100]
    r = requests.post(srv.http_url + "/ingest", params={"table": "cut2", "format": "arrow"}, data=body, timeout=60)
    assert r.status_code == 400 and "truncated" in r.text
    assert b"cut2" not in [f.descriptor.path[0] for f in c.list_flights()]
    # and a small streamed body still works (schema only: an empty table)
    r = requests.post(srv.http_url + "/ingest", params={"table": "empty", "format": "arrow"},
                      data=next(stream_pieces(0)), timeout=60)
    assert r.status_code == 200 and r.json()["rows"] == 0, r.text


def test_streamed_csv_upload_is_spilled_not_held(start_quiverd, tmp_path):
    """A CSV body larger than --max-body-bytes is spilled as it arrives and read
    through a mapping: accepted, every row there, anonymous memory far below it."""
    srv = start_quiverd("--data-dir", str(tmp_path / "d"), "--max-body-bytes", "8M")
    pid = srv.proc.pid
    base = status(pid, "RssAnon")
    rows_per_piece, pieces = 200_000, 20

    def body():
        yield b"id,v,s\n"
        for p in range(pieces):
            lo = p * rows_per_piece
            yield "".join("%d,%d.5,s%d\n" % (i, i % 1000, i % 7) for i in range(lo, lo + rows_per_piece)).encode()

    peak, stop = [base], threading.Event()

    def watch():
        while not stop.is_set():
            peak[0] = max(peak[0], status(pid, "RssAnon"))
            stop.wait(0.02)

    th = threading.Thread(target=watch)
    th.start()
    try:
        r = requests.post(srv.http_url + "/ingest", params={"table": "csvbig", "format": "csv"}, data=body(),
                          timeout=600)
    finally:
        stop.set()
        th.join()
    assert r.status_code == 200, r.text
    print("RssAnon grew by %d MB for a CSV upload" % ((peak[0] - base) >> 20))
    n = rows_per_piece * pieces
    assert r.json()["rows"] == n
    c = fl.connect(srv.flight_uri)
    got = c.do_get(fl.Ticket(b"SELECT count(*) AS n, sum(id) AS s, count(DISTINCT s) AS d FROM csvbig")).read_all()
    assert got.to_pylist()[0] == {"n": n, "s": n * (n - 1) // 2, "d": 7}
    if not sanitized():
        assert peak[0] - base < 256 << 20, peak[0] - base
