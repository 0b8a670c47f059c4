#!/usr/bin/env python3
"""Compressed DoGet: quiverd with the quiver-compression header (none, lz4,
zstd) against pyarrow's own Flight server streaming the same table with
IpcWriteOptions(compression=...).

The table is the demo `trades` table (timestamps, symbols, prices, volumes)
read from quiverd once; pyarrow's server runs in its own process and sends it
as 64K-row batches. Fetches alternate between the servers and codecs; we
report the median and spread (min..max) of throughput (decoded Arrow MB per
second), server CPU seconds per GB, bytes on the wire (message metadata +
bodies: quiverd's /metrics counter, and for pyarrow the same stream written
with the same options), and the per-pair throughput ratio quiverd / pyarrow.

Env: QUIVERD (default build/quiverd), BENCH_ROWS (default 2000000),
BENCH_REPEATS (default 5). Prints a markdown section on stdout.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))

import pyarrow as pa  # noqa: E402
import pyarrow.flight as fl  # noqa: E402

from conftest import Server  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "2000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
TICKS = os.sysconf("SC_CLK_TCK")
CODECS = ["none", "lz4", "zstd"]
SQL = b"SELECT * FROM trades"

PEER = textwrap.dedent("""
    import sys, pyarrow as pa, pyarrow.flight as fl
    table = pa.ipc.open_file(sys.argv[1]).read_all()
    batches = table.combine_chunks().to_batches(max_chunksize=65536)
    class Peer(fl.FlightServerBase):
        def do_get(self, context, ticket):
            codec = ticket.ticket.decode()
            opts = pa.ipc.IpcWriteOptions(compression=None if codec == "none" else codec)
            return fl.RecordBatchStream(pa.Table.from_batches(batches, schema=table.schema), options=opts)
    s = Peer("grpc://127.0.0.1:0")
    print(s.port, flush=True)
    s.serve()
""")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def bytes_sent(srv):
    for line in urllib.request.urlopen(srv.http_url + "/metrics").read().decode().splitlines():
        if line.startswith("quiver_bytes_sent_total "):
            return int(line.split()[1])
    raise RuntimeError("no quiver_bytes_sent_total")


def peer_wire_bytes(table, codec):
    sink = pa.BufferOutputStream()
    opts = pa.ipc.IpcWriteOptions(compression=None if codec == "none" else codec)
    with pa.ipc.new_stream(sink, table.schema, options=opts) as w:
        for b in table.combine_chunks().to_batches(max_chunksize=65536):
            w.write_batch(b)
    return sink.getvalue().size


def fetch(client, ticket, pid, options=None):
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    t = client.do_get(fl.Ticket(ticket), options=options).read_all()
    return t, time.perf_counter() - t0, cpu_seconds(pid) - c0


def main():
    srv = Server(["--in-memory", "--demo-rows", str(ROWS)])
    peer = None
    res = {(s, c): [] for s in ("quiver", "pyarrow") for c in CODECS}
    cpu = {k: [] for k in res}
    wire = {}
    try:
        qc = srv.flight()
        served = qc.do_get(fl.Ticket(SQL)).read_all()
        nbytes = served.nbytes
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.arrow")
            with pa.ipc.new_file(path, served.schema) as f:
                f.write_table(served)
            peer = subprocess.Popen([sys.executable, "-c", PEER, path], stdout=subprocess.PIPE, text=True)
            port = int(peer.stdout.readline())
            pc_ = fl.connect("grpc://127.0.0.1:%d" % port)
            opts = {c: fl.FlightCallOptions(headers=[(b"quiver-compression", c.encode())]) for c in CODECS}
            for c in CODECS:  # warm-up, and the wire bytes of each
                b0 = bytes_sent(srv)
                got, _, _ = fetch(qc, SQL, srv.proc.pid, opts[c])
                assert got.equals(served)
                wire[("quiver", c)] = bytes_sent(srv) - b0
                wire[("pyarrow", c)] = peer_wire_bytes(served, c)
                fetch(pc_, c.encode(), peer.pid)
            for _ in range(REPEATS):
                for c in CODECS:
                    for name, client, ticket, pid, o in (("quiver", qc, SQL, srv.proc.pid, opts[c]),
                                                         ("pyarrow", pc_, c.encode(), peer.pid, None)):
                        got, dt, dc = fetch(client, ticket, pid, o)
                        assert got.num_rows == ROWS
                        res[(name, c)].append(nbytes / dt / 1e6)
                        cpu[(name, c)].append(dc / (nbytes / 1e9))
    finally:
        if peer:
            peer.kill()
            peer.wait()
        srv.stop()

    def cell(xs, fmt="%.0f"):
        return (fmt + " (" + fmt + " .. " + fmt + ")") % (statistics.median(xs), min(xs), max(xs))

    print("## Compressed DoGet (bench_compression.py)\n")
    print("%d rows of the demo `trades` table (%.0f MB of Arrow data), `SELECT * FROM trades` to a pyarrow "
          "client on loopback; quiverd compresses on the `quiver-compression` header, pyarrow's server with "
          "`IpcWriteOptions(compression=...)`; %d interleaved repeats after one warm-up each; median (min .. max). "
          "MB/s counts decoded Arrow bytes.\n" % (ROWS, nbytes / 1e6, REPEATS))
    print("| server | codec | MB/s | server CPU s per GB | wire MB | wire / uncompressed |")
    print("|---|---|---|---|---|---|")
    for name in ("quiver", "pyarrow"):
        for c in CODECS:
            k = (name, c)
            print("| %s | %s | %s | %s | %.1f | %.2f |" % (
                "quiverd" if name == "quiver" else "pyarrow FlightServerBase", c, cell(res[k]),
                cell(cpu[k], "%.2f"), wire[k] / 1e6, wire[k] / wire[(name, "none")]))
    print()
    for c in CODECS:
        ratios = [q / p for q, p in zip(res[("quiver", c)], res[("pyarrow", c)])]
        print("- %s: throughput ratio quiverd / pyarrow per interleaved pair %s; quiverd wire bytes / pyarrow's "
              "%.2f." % (c, cell(ratios, "%.2f"), wire[("quiver", c)] / wire[("pyarrow", c)]))
    print()


if __name__ == "__main__":
    main()
