#!/usr/bin/env python3
"""Flight DoGet throughput: quiverd against pyarrow's own Flight server.

Both serve the same table (read from quiverd once, so the bytes are the same)
to the same pyarrow client on loopback; pyarrow's server runs in its own
process and streams the table as 64K-row batches. Fetches alternate between
the two servers, repeated; we report the median and the spread (min..max) of
throughput, the ratio, and each server's CPU seconds per GB sent
(utime+stime from /proc/<pid>/stat around each fetch).

Env: QUIVERD (default build/quiverd), BENCH_ROWS (default 4000000),
BENCH_REPEATS (default 7). Prints a markdown section on stdout.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))

import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.flight as fl  # noqa: E402

from conftest import Server  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "4000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
TICKS = os.sysconf("SC_CLK_TCK")

PEER = textwrap.dedent("""
    import sys, pyarrow as pa, pyarrow.flight as fl
    table = pa.ipc.open_file(sys.argv[1]).read_all()
    batches = table.combine_chunks().to_batches(max_chunksize=65536)
    class Peer(fl.FlightServerBase):
        def do_get(self, context, ticket):
            return fl.RecordBatchStream(pa.Table.from_batches(batches, schema=table.schema))
    s = Peer("grpc://127.0.0.1:0")
    print(s.port, flush=True)
    s.serve()
""")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def fetch(client, ticket, pid):
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    t = client.do_get(fl.Ticket(ticket)).read_all()
    dt, dc = time.perf_counter() - t0, cpu_seconds(pid) - c0
    return t, dt, dc


def make_table(n):
    ids = pa.array(range(n), type=pa.int64())
    return pa.table({
        "ts": pc.cast(pc.add(pc.multiply(ids, 1000000), 1700000000000000000), pa.timestamp("ns", tz="UTC")),
        "id": ids,
        "price": pc.multiply(pc.cast(ids, pa.float64()), 0.01),
        "volume": pc.cast(pc.bit_wise_and(ids, 1023), pa.float64()),
        "venue": pc.cast(pc.bit_wise_and(ids, 7), pa.int32()),
    })


def main():
    srv = Server(["--in-memory"])
    peer = None
    try:
        qc = srv.flight()
        t = make_table(ROWS)
        w, _ = qc.do_put(fl.FlightDescriptor.for_path("bench"), t.schema)
        w.write_table(t, max_chunksize=262144)
        w.close()
        served = qc.do_get(fl.Ticket("SELECT * FROM bench")).read_all()
        assert served.num_rows == ROWS
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.arrow")
            with pa.ipc.new_file(path, served.schema) as f:
                f.write_table(served)
            peer = subprocess.Popen([sys.executable, "-c", PEER, path], stdout=subprocess.PIPE, text=True)
            port = int(peer.stdout.readline())
            pc_ = fl.connect("grpc://127.0.0.1:%d" % port)
            nbytes = served.nbytes
            res = {"quiver": [], "pyarrow": []}
            cpu = {"quiver": [], "pyarrow": []}
            # warm-up, one each
            fetch(qc, "SELECT * FROM bench", srv.proc.pid)
            fetch(pc_, b"x", peer.pid)
            for _ in range(REPEATS):
                for name, client, ticket, pid in (("quiver", qc, "SELECT * FROM bench", srv.proc.pid),
                                                  ("pyarrow", pc_, b"x", peer.pid)):
                    got, dt, dc = fetch(client, ticket, pid)
                    assert got.num_rows == ROWS
                    res[name].append(nbytes / dt / 1e6)
                    cpu[name].append(dc / (nbytes / 1e9))
    finally:
        if peer:
            peer.kill()
            peer.wait()
        srv.stop()

    def cell(xs, fmt="%.0f"):
        return (fmt + " (" + fmt + " .. " + fmt + ")") % (statistics.median(xs), min(xs), max(xs))

    ratios = [q / p for q, p in zip(res["quiver"], res["pyarrow"])]
    print("## Flight DoGet throughput (bench_flight.py)\n")
    print("%d rows x %d columns (%.0f MB of Arrow data), SELECT * streamed to a pyarrow client on loopback; "
          "%d interleaved repeats after one warm-up each; median (min .. max).\n"
          % (ROWS, served.num_columns, nbytes / 1e6, REPEATS))
    print("| server | MB/s | server CPU s per GB |")
    print("|---|---|---|")
    print("| quiverd DoGet | %s | %s |" % (cell(res["quiver"]), cell(cpu["quiver"], "%.2f")))
    print("| pyarrow FlightServerBase (64K-row batches) | %s | %s |" % (cell(res["pyarrow"]), cell(cpu["pyarrow"], "%.2f")))
    print("\nThroughput ratio quiverd / pyarrow, per interleaved pair: %s.\n" % cell(ratios, "%.2f"))


if __name__ == "__main__":
    main()
