#!/usr/bin/env python3
"""Storage at scale: DoPut throughput and memory, startup, scans of mapped data.

1. DoPut of BENCH_PUT_ROWS (default 10M) rows x 4 eight-byte columns into
   quiverd (durable, --data-dir on the same disk as /tmp unless BENCH_DIR),
   quiverd --in-memory, and pyarrow's own Flight server keeping the batches
   in memory; beside them the disk's own bandwidth writing the same bytes in
   64 MiB pieces with an fdatasync after each. Per run a fresh server; MB/s,
   rows/s, server CPU s/GB (utime+stime of the server process), peak RSS
   (VmHWM). Repeated BENCH_REPEATS (default 3) times: median and min..max.
   BENCH_PUT_ONLY=1 runs this part alone (about a minute at the defaults).
   BENCH_PUT_LOOP=N instead puts N times into one server (durable, then
   --in-memory) and prints each put's server CPU s/GB and MB/s: later puts need memory
   earlier ones did not touch, which is where page-fault costs show.
2. One big durable put (BENCH_BIG_GB, default 2): the server's peak RSS over
   its idle RSS, then a restart: time until it listens and its RssAnon, and
   a full scan (SELECT sum of every column) in MB/s against `cat` of the
   column files to /dev/null.
3. kill -9 in the middle of a second put of that size into the same table:
   the restart's time until listening and RssAnon, the rows visible (only
   the committed ones) and the column files left (the killed put's are
   removed by recovery).
Prints a markdown section on stdout.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.flight as fl  # noqa: E402

from conftest import Server  # noqa: E402

ROWS = int(os.environ.get("BENCH_PUT_ROWS", "10000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
BIG_GB = float(os.environ.get("BENCH_BIG_GB", "2"))
BASE = os.environ.get("BENCH_DIR", tempfile.gettempdir())
PUT_ONLY = os.environ.get("BENCH_PUT_ONLY") == "1"  # part 1 only (the DoPut table)
PUT_LOOP = int(os.environ.get("BENCH_PUT_LOOP", "0"))  # N puts into one server, CPU per put
TICKS = os.sysconf("SC_CLK_TCK")
CHUNK = 1 << 20  # rows per client batch

PEER = textwrap.dedent("""
    import pyarrow.flight as fl
    class Peer(fl.FlightServerBase):
        def __init__(self, *a):
            super().__init__(*a)
            self.tables = {}
        def do_put(self, context, descriptor, reader, writer):
            self.tables[descriptor.path[0]] = reader.read_all()
    s = Peer("grpc://127.0.0.1:0")
    print(s.port, flush=True)
    s.serve()
""")


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def batches(rows, seed=0):
    base = np.arange(min(rows, CHUNK), dtype=np.int64)
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        ids = base[:n] + done
        yield pa.record_batch([pa.array(ids), pa.array(ids * 1000 + 1_700_000_000_000_000_000),
                               pa.array(ids.astype(np.float64) * 0.5), pa.array(ids % 1000)],
                              names=["id", "ts", "price", "qty"])
        done += n


def put(client, name, rows):
    gen = batches(rows)
    first = next(gen)
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), first.schema)
    w.write_batch(first)
    for b in gen:
        w.write_batch(b)
    w.close()


_PREBUILT = {}


def prebuild(rows):
    if rows not in _PREBUILT:
        _PREBUILT.clear()
        _PREBUILT[rows] = list(batches(rows))
    return _PREBUILT[rows]


def put_prebuilt(client, name, rows):
    """The same batches every run, built once, so the client is not the bottleneck."""
    bs = prebuild(rows)
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), bs[0].schema)
    for b in bs:
        w.write_batch(b)
    w.close()


def timed_put(uri, pid, rows, prebuilt=True):
    client = fl.connect(uri)
    if prebuilt:
        prebuild(rows)  # before the clock starts: the first run used to time the building
    c0, t0 = proc_stat(pid), time.perf_counter()
    (put_prebuilt if prebuilt else put)(client, "bench", rows)
    return time.perf_counter() - t0, proc_stat(pid) - c0


def disk_bandwidth(nbytes):
    path = os.path.join(BASE, "qv-bench-disk.bin")
    buf = os.urandom(64 << 20)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.perf_counter()
    left = nbytes
    while left > 0:
        n = min(left, len(buf))
        os.write(fd, buf[:n])
        os.fdatasync(fd)
        left -= n
    dt = time.perf_counter() - t0
    os.close(fd)
    os.unlink(path)
    return dt


def run_quiverd(args, rows):
    d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-")
    srv = Server((["--data-dir", d] if "--in-memory" not in args else []) + args)
    try:
        dt, cpu = timed_put(srv.flight_uri, srv.proc.pid, rows)
        peak = proc_status(srv.proc.pid, "VmHWM")
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)
    return dt, cpu, peak


def run_peer(rows):
    p = subprocess.Popen([sys.executable, "-c", PEER], stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline())
    try:
        dt, cpu = timed_put("grpc://127.0.0.1:%d" % port, p.pid, rows)
        peak = proc_status(p.pid, "VmHWM")
    finally:
        p.kill()
        p.wait()
    return dt, cpu, peak


def cell(xs, fmt="%.0f"):
    return (fmt + " (" + fmt + ".." + fmt + ")") % (statistics.median(xs), min(xs), max(xs))


def big_put():
    rows = int(BIG_GB * (1 << 30) / 32)
    d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-big-")
    out = {}
    try:
        srv = Server(["--data-dir", d])
        idle = proc_status(srv.proc.pid, "VmRSS")
        dt, cpu = timed_put(srv.flight_uri, srv.proc.pid, rows, prebuilt=False)
        out["put_s"], out["put_cpu"] = dt, cpu
        out["growth"] = proc_status(srv.proc.pid, "VmHWM") - idle
        out["rows"], out["bytes"] = rows, rows * 32
        srv.stop()
        t0 = time.perf_counter()
        srv = Server(["--data-dir", d])
        out["startup_s"] = time.perf_counter() - t0
        out["rss_anon"] = proc_status(srv.proc.pid, "RssAnon")
        c = srv.flight()
        scans = []
        for _ in range(3):
            t0 = time.perf_counter()
            c.do_get(fl.Ticket("SELECT sum(id) AS a, max(ts) AS b, sum(price) AS c, sum(qty) AS d "
                               "FROM bench")).read_all()
            scans.append(rows * 32 / (time.perf_counter() - t0) / 1e6)
        out["scan"] = scans
        out["rss_anon_after_scan"] = proc_status(srv.proc.pid, "RssAnon")
        srv.stop()
        files = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".qvc")]
        cats = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(["cat"] + files, stdout=subprocess.DEVNULL, check=True)
            cats.append(sum(os.path.getsize(f) for f in files) / (time.perf_counter() - t0) / 1e6)
        out["cat"] = cats
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return out


def dir_bytes(d, suffix):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(suffix))


def killed_put():
    """A committed table, then kill -9 half way through a put as big again."""
    rows = int(BIG_GB * (1 << 30) / 32)
    d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-kill-")
    out = {"rows": rows}
    try:
        srv = Server(["--data-dir", d])
        put(fl.connect(srv.flight_uri), "bench", rows)
        out["files_before"] = dir_bytes(d, ".qvc")
        client = fl.connect(srv.flight_uri)
        gen = batches(rows)
        first = next(gen)
        w, _ = client.do_put(fl.FlightDescriptor.for_path("bench"), first.schema)
        w.write_batch(first)
        sent = first.num_rows
        for b in gen:
            w.write_batch(b)
            sent += b.num_rows
            if sent >= rows // 2:
                break
        time.sleep(0.5)  # let the server apply what it received
        out["files_at_kill"] = dir_bytes(d, ".qvc")
        srv.kill()
        srv.proc.wait()
        try:
            w.close()
        except Exception:
            pass
        t0 = time.perf_counter()
        srv = Server(["--data-dir", d])
        out["startup_s"] = time.perf_counter() - t0
        out["rss_anon"] = proc_status(srv.proc.pid, "RssAnon")
        n = srv.flight().do_get(fl.Ticket("SELECT count(*) AS n FROM bench")).read_all().column(0)[0].as_py()
        out["visible"] = n
        out["files_after"] = dir_bytes(d, ".qvc")
        srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return out


def strings_vs_symbols():
    """GROUP BY / = on a low-cardinality utf8 column (dictionary-encoded by
    storage per row group) against the same values as a SYMBOL column."""
    n = 4_000_000
    syms = np.array(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "NFLX"])
    idx = np.arange(n)
    vals = syms[(idx * 7) % 8]
    t = pa.table({"s": pa.array(vals), "y": pa.array(vals).dictionary_encode(),
                  "v": pa.array(idx % 1000, type=pa.int64())})
    d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-str-")
    res = {"s": [], "y": [], "s_eq": [], "y_eq": []}
    try:
        srv = Server(["--data-dir", d])
        w, _ = srv.flight().do_put(fl.FlightDescriptor.for_path("q"), t.schema)
        w.write_table(t, max_chunksize=1 << 20)
        w.close()
        srv.stop()
        srv = Server(["--data-dir", d])  # sealed row groups now come from their files
        c = srv.flight()
        for _ in range(REPEATS + 2):
            for col in ["s", "y"]:
                t0 = time.perf_counter()
                c.do_get(fl.Ticket("SELECT %s, count(*), sum(v) FROM q GROUP BY %s" % (col, col))).read_all()
                res[col].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                c.do_get(fl.Ticket("SELECT count(*), sum(v) FROM q WHERE %s = 'GOOG'" % col)).read_all()
                res[col + "_eq"].append(time.perf_counter() - t0)
        srv.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return n, res


def put_loop(n):
    nbytes = ROWS * 32
    for args in ([], ["--in-memory"]):
        d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-")
        srv = Server((["--data-dir", d] if not args else []) + args)
        try:
            runs = [timed_put(srv.flight_uri, srv.proc.pid, ROWS) for _ in range(n)]
        finally:
            srv.stop()
            shutil.rmtree(d, ignore_errors=True)
        print("%s, per put: server CPU s/GB %s; MB/s %s" % (
            " ".join(args) or "durable", " ".join("%.2f" % (c / (nbytes / 1e9)) for _, c in runs),
            " ".join("%.0f" % (nbytes / w / 1e6) for w, _ in runs)))


def main():
    if PUT_LOOP:
        return put_loop(PUT_LOOP)
    nbytes = ROWS * 32
    res = {"durable": [], "memory": [], "peer": [], "disk": []}
    for _ in range(REPEATS):
        res["disk"].append((disk_bandwidth(nbytes), 0, 0))
        res["durable"].append(run_quiverd([], ROWS))
        res["memory"].append(run_quiverd(["--in-memory"], ROWS))
        res["peer"].append(run_peer(ROWS))
    mbs = {k: [nbytes / r[0] / 1e6 for r in v] for k, v in res.items()}
    print("## Storage: DoPut, memory, startup (bench_storage.py)\n")
    print("DoPut of %d rows x 4 int64/float64 columns (%.0f MB), 1M-row batches, fresh server per run, "
          "%d runs: median (min..max).\n" % (ROWS, nbytes / 1e6, REPEATS))
    print("| target | MB/s | rows/s (M) | server CPU s/GB | peak RSS MB |")
    print("|---|---|---|---|---|")
    names = {"durable": "quiverd --data-dir (durable)", "memory": "quiverd --in-memory",
             "peer": "pyarrow Flight server (in memory)", "disk": "disk: write + fdatasync per 64 MiB"}
    for k in ["durable", "memory", "peer", "disk"]:
        v = res[k]
        rows_s = [ROWS / r[0] / 1e6 for r in v]
        cpu = "-" if k == "disk" else cell([r[1] / (nbytes / 1e9) for r in v], "%.2f")
        rss = "-" if k == "disk" else cell([r[2] / 1e6 for r in v])
        print("| %s | %s | %s | %s | %s |" % (names[k], cell(mbs[k]), cell(rows_s, "%.1f"), cpu, rss))
    ratio_disk = [a / b for a, b in zip(mbs["durable"], mbs["disk"])]
    ratio_peer = [a / b for a, b in zip(mbs["memory"], mbs["peer"])]
    # The same transport without the disk: when the disk peer runs faster than
    # a put can arrive over loopback, this is the ceiling the durable put meets.
    ratio_mem = [a / b for a, b in zip(mbs["durable"], mbs["memory"])]
    print("\nDurable DoPut / disk fdatasync bandwidth: %s; in-memory DoPut / pyarrow server: %s; "
          "durable / in-memory DoPut: %s (per-run ratios, median (min..max)).\n"
          % (cell(ratio_disk, "%.2f"), cell(ratio_peer, "%.2f"), cell(ratio_mem, "%.2f")))
    if PUT_ONLY:
        return
    b = big_put()
    print("Big durable put: %d rows (%.2f GB) in %.1f s (%.0f MB/s, %.2f server CPU s/GB); server peak RSS "
          "grew by %.0f MB over idle.\n" % (b["rows"], b["bytes"] / 1e9, b["put_s"], b["bytes"] / b["put_s"] / 1e6,
                                          b["put_cpu"] / (b["bytes"] / 1e9), b["growth"] / 1e6))
    print("Restart on that data: listening after %.2f s (process start included), RssAnon %.0f MB; "
          "after three full scans RssAnon %.0f MB.\n" % (b["startup_s"], b["rss_anon"] / 1e6,
                                                      b["rss_anon_after_scan"] / 1e6))
    print("Full scan (sum of all four columns, page cache warm): %s MB/s; `cat` of the column files to "
          "/dev/null: %s MB/s.\n" % (cell(b["scan"]), cell(b["cat"])))
    k = killed_put()
    print("kill -9 half way through a second %.2f GB put into that table (%.2f GB of column files on disk "
          "at the kill, %.2f GB committed before): restart listening after %.2f s, RssAnon %.0f MB; %d rows "
          "visible (%s the committed %d); column files after recovery %.2f GB.\n"
          % (k["rows"] * 32 / 1e9, k["files_at_kill"] / 1e9, k["files_before"] / 1e9, k["startup_s"],
             k["rss_anon"] / 1e6, k["visible"], "exactly" if k["visible"] == k["rows"] else "NOT",
             k["rows"], k["files_after"] / 1e9))
    n, sr = strings_vs_symbols()
    print("Low-cardinality text, %d rows, 8 values, after a restart (row groups read from their files): "
          "time of the utf8 column / time of the same values as a SYMBOL column, per run: GROUP BY %s, "
          "`= 'GOOG'` %s (1.0 = SYMBOL speed; median (min..max)).\n"
          % (n, cell([a / b for a, b in zip(sr["s"], sr["y"])], "%.2f"),
             cell([a / b for a, b in zip(sr["s_eq"], sr["y_eq"])], "%.2f")))
    print("10 GB of data and a table larger than the server's memory: bench/bench_scale.py "
          "(BENCH_SCALE_GB, BENCH_SCALE_BIG).\n")


if __name__ == "__main__":
    main()
