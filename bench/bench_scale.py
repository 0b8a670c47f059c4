#!/usr/bin/env python3
"""Storage at scale: startup, anonymous memory and full scans of tables read
through mappings of their column files, up to a table larger than the
memory the server may use.

Per size (BENCH_SCALE_GB, comma separated GiB, default "1" so `make bench`
stays bounded; "1,10" for the issue's 10 GiB figure):
  1. write: DoPut of 4 eight-byte columns (id, ts, price, qty) in 1M-row
     batches, one put (one commit) per GiB, into quiverd --data-dir;
     write time and MB/s; then a clean stop.
  2. restart with the table's files evicted from the page cache
     (posix_fadvise DONTNEED on each file: only these files, nothing global):
     time from exec to listening, RssAnon right after.
  3. a full scan (sum/max of all four columns), cold then warm, and a
     GROUP BY qty aggregate (1000 groups), answers checked; RssAnon after
     them and the most RssAnon seen while they ran (sampled every 20 ms).
  4. `cat` of the same column files to /dev/null, cold then warm, in MB/s.

Larger than memory (BENCH_SCALE_BIG=1, opt-in: heavy, never in CI): the
same steps with quiverd (and the `cat` peer) inside a child memory cgroup
of this process's own cgroup, limited to BENCH_SCALE_MEM_MB (default 2048)
of memory including the page cache charged to it, for a table of
BENCH_SCALE_BIG_GB (default 2.25 x the limit). The kernel must evict the
table's pages while quiverd writes, restarts, scans and aggregates it.
cgroup v1 (memory.limit_in_bytes) and v2 (memory.max) are both handled; if
no memory cgroup can be made the case is skipped and says so (it does not
fall back to filling the machine's memory).

Disk: before each size the free space must be at least 15 GB plus twice the
size, or the size is skipped; while writing, a watchdog stops the server and
the run if the free space falls under 15 GB. Data is deleted after each size.
Prints a markdown section on stdout.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.flight as fl  # noqa: E402

from conftest import PORTS_RE, QUIVERD  # noqa: E402

SIZES = [float(x) for x in os.environ.get("BENCH_SCALE_GB", "1").split(",") if x.strip()]
BIG = os.environ.get("BENCH_SCALE_BIG", "") not in ("", "0")
MEM_MB = int(os.environ.get("BENCH_SCALE_MEM_MB", "2048"))
BIG_GB = float(os.environ.get("BENCH_SCALE_BIG_GB", str(2.25 * MEM_MB / 1024)))
BASE = os.environ.get("BENCH_DIR", tempfile.gettempdir())
MIN_FREE = 15e9
CHUNK = 1 << 20            # rows per client batch
PUT_ROWS = (1 << 30) // 32  # rows per put (one commit per GiB)


def status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def free_bytes():
    s = os.statvfs(BASE)
    return s.f_bavail * s.f_frsize


# ---------------- memory cgroup ----------------

class Cgroup:
    """A child memory cgroup of our own, limited to `limit` bytes (page cache included)."""

    def __init__(self, limit):
        self.path = None
        self.why = ""
        v1 = v2 = None
        for line in open("/proc/self/cgroup"):
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                v1 = path
            elif hid == "0" and ctrls == "":
                v2 = path
        try:
            if v1 is not None and os.path.isdir("/sys/fs/cgroup/memory"):
                self.path = "/sys/fs/cgroup/memory%s/qv-bench-scale-%d" % (v1.rstrip("/"), os.getpid())
                os.mkdir(self.path)
                self._write("memory.limit_in_bytes", limit)
                self.kind = "cgroup v1 memory.limit_in_bytes"
            elif v2 is not None and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
                self.path = "/sys/fs/cgroup%s/qv-bench-scale-%d" % (v2.rstrip("/"), os.getpid())
                os.mkdir(self.path)
                self._write("memory.max", limit)
                self._write("memory.swap.max", 0)
                self.kind = "cgroup v2 memory.max"
            else:
                self.why = "no memory cgroup controller mounted"
        except OSError as e:
            self.why = "cannot make a memory cgroup: %s" % e
            self.remove()

    def _write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(str(value))

    def enter(self):  # preexec_fn: runs in the child before exec
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def stat(self, key):
        for name in ("memory.stat",):
            try:
                for line in open(os.path.join(self.path, name)):
                    k, v = line.split()
                    if k == key:
                        return int(v)
            except OSError:
                pass
        return 0

    def remove(self):
        if self.path and os.path.isdir(self.path):
            for _ in range(50):
                try:
                    os.rmdir(self.path)
                    break
                except OSError:
                    time.sleep(0.1)
        self.path = None


# ---------------- the server ----------------

class Quiverd:
    def __init__(self, data, cg=None):
        args = [QUIVERD, "--flight-port", "0", "--http-port", "0", "--threads", "2", "--data-dir", data]
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                     preexec_fn=cg.enter if cg else None)
        self.log = []
        while True:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("quiverd exited (code %s):\n%s" % (self.proc.wait(), "".join(self.log[-20:])))
            self.log.append(line)
            m = PORTS_RE.search(line)
            if m:
                self.port = int(m.group(1))
                break
        self.startup_s = time.perf_counter() - t0
        threading.Thread(target=lambda: [self.log.append(x) for x in self.proc.stderr], daemon=True).start()
        self.client = fl.connect("grpc://127.0.0.1:%d" % self.port)

    @property
    def pid(self):
        return self.proc.pid

    def query(self, sql):
        return self.client.do_get(fl.Ticket(sql)).read_all()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(300)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Sampler:
    """The most RssAnon the server had while something ran."""

    def __init__(self, pid):
        self.pid, self.peak, self.run = pid, 0, True
        self.t = threading.Thread(target=self._loop, daemon=True)
        self.t.start()

    def _loop(self):
        while self.run:
            try:
                self.peak = max(self.peak, status(self.pid, "RssAnon"))
            except OSError:
                return
            time.sleep(0.02)

    def stop(self):
        self.run = False
        self.t.join()
        return self.peak


# ---------------- data ----------------

def batches(at, rows):
    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        ids = np.arange(at + done, at + done + n, dtype=np.int64)
        yield pa.record_batch([pa.array(ids), pa.array(ids * 1000 + 1_700_000_000_000_000_000),
                               pa.array(ids.astype(np.float64) * 0.5), pa.array(ids % 1000)],
                              names=["id", "ts", "price", "qty"])
        done += n


def write(srv, rows, stop_flag):
    at = 0
    while at < rows and not stop_flag.is_set():
        n = min(PUT_ROWS, rows - at)
        gen = batches(at, n)
        first = next(gen)
        w, _ = srv.client.do_put(fl.FlightDescriptor.for_path("big"), first.schema)
        w.write_batch(first)
        for b in gen:
            if stop_flag.is_set():
                break
            w.write_batch(b)
        w.close()
        at += n


def disk_watchdog(srv, stop_flag, done):
    while not done.is_set():
        if free_bytes() < MIN_FREE:
            stop_flag.set()
            srv.proc.kill()
            return
        time.sleep(0.5)


def column_files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".qvc"))


def evict(files):
    """Drop these files' pages from the page cache (clean pages only, nothing else touched)."""
    for p in files:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fdatasync(fd)  # dirty pages are not dropped
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cat_mbs(files, cg):
    total = sum(os.path.getsize(f) for f in files)
    t0 = time.perf_counter()
    for i in range(0, len(files), 500):  # argument lists stay short
        subprocess.run(["cat"] + files[i:i + 500], stdout=subprocess.DEVNULL, check=True,
                       preexec_fn=cg.enter if cg else None)
    return total / (time.perf_counter() - t0) / 1e6


SCAN = "SELECT count(*) AS n, sum(id) AS a, max(ts) AS b, sum(price) AS c, sum(qty) AS d FROM big"
GROUP = "SELECT qty, count(*) AS n, sum(price) AS p FROM big GROUP BY qty"


def check_scan(t, rows):
    r = t.to_pylist()[0]
    assert r["n"] == rows and r["a"] == rows * (rows - 1) // 2, r


def check_group(t, rows):
    assert t.num_rows == min(rows, 1000) and sum(t.column("n").to_pylist()) == rows


def run_size(gib, cg=None):
    rows = int(gib * (1 << 30)) // 32
    nbytes = rows * 32
    out = {"gib": gib, "rows": rows, "bytes": nbytes}
    if free_bytes() < MIN_FREE + 2 * nbytes:
        out["skipped"] = "%.0f GB free on %s, %.0f GB needed" % (free_bytes() / 1e9, BASE,
                                                                (MIN_FREE + 2 * nbytes) / 1e9)
        return out
    d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-scale-")
    try:
        srv = Quiverd(d, cg)
        stop_flag, done = threading.Event(), threading.Event()
        threading.Thread(target=disk_watchdog, args=(srv, stop_flag, done), daemon=True).start()
        t0 = time.perf_counter()
        try:
            write(srv, rows, stop_flag)
        finally:
            done.set()
        if stop_flag.is_set():
            out["skipped"] = "stopped: the disk's free space fell under %.0f GB while writing" % (MIN_FREE / 1e9)
            srv.stop()
            return out
        out["write_s"] = time.perf_counter() - t0
        out["write_peak_anon"] = status(srv.pid, "VmHWM")
        t0 = time.perf_counter()
        rc = srv.stop()
        out["stop_s"] = time.perf_counter() - t0
        assert rc == 0, "quiverd exit %s:\n%s" % (rc, "".join(srv.log[-20:]))
        files = column_files(d)
        out["files"], out["file_bytes"] = len(files), sum(os.path.getsize(f) for f in files)
        evict(files)
        srv = Quiverd(d, cg)
        out["startup_s"] = srv.startup_s
        time.sleep(0.2)
        out["anon_start"] = status(srv.pid, "RssAnon")
        samp = Sampler(srv.pid)
        for key, q, check in (("scan_cold", SCAN, check_scan), ("scan_warm", SCAN, check_scan),
                              ("group", GROUP, check_group)):
            t0 = time.perf_counter()
            check(srv.query(q), rows)
            out[key] = nbytes / (time.perf_counter() - t0) / 1e6
            if key == "scan_cold":
                out["cached_after_scan"] = cg.stat("cache") if cg else None
        out["anon_peak"] = samp.stop()
        out["anon_after"] = status(srv.pid, "RssAnon")
        out["file_rss_after"] = status(srv.pid, "RssFile")
        assert srv.stop() == 0
        evict(files)
        out["cat_cold"] = cat_mbs(files, cg)
        out["cat_warm"] = cat_mbs(files, cg)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return out


def many_groups(n_groups=20000, rg_rows=256, restarts=5):
    """Startup against the number of row groups (files), not bytes: a table of n_groups tiny row groups."""
    d = tempfile.mkdtemp(dir=BASE, prefix="qv-bench-scale-rg-")
    try:
        args = [QUIVERD, "--flight-port", "0", "--http-port", "0", "--threads", "2", "--data-dir", d,
                "--rowgroup-rows", str(rg_rows)]
        p = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        for line in p.stderr:
            m = PORTS_RE.search(line)
            if m:
                break
        threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
        c = fl.connect("grpc://127.0.0.1:%d" % int(m.group(1)))
        t = pa.table({"id": pa.array(np.arange(n_groups * rg_rows, dtype=np.int64))})
        w, _ = c.do_put(fl.FlightDescriptor.for_path("m"), t.schema)
        w.write_table(t, max_chunksize=1 << 20)
        w.close()
        p.terminate()
        p.wait(120)
        times = []
        for _ in range(restarts):
            srv = Quiverd(d)
            times.append(srv.startup_s)
            srv.stop()
        return len(column_files(d)), times
    finally:
        shutil.rmtree(d, ignore_errors=True)


def row(r, label):
    if "skipped" in r:
        return "| %s | skipped: %s |||||||||" % (label, r["skipped"])
    mb = 1 << 20
    return ("| %s | %.0f s (%.0f MB/s) | %.2f s | %.0f | %.0f / %.0f | %.0f / %.0f | %.0f | %.0f / %.0f | %.2f / %.2f |"
            % (label, r["write_s"], r["bytes"] / r["write_s"] / 1e6, r["startup_s"], r["anon_start"] / mb,
               r["anon_peak"] / mb, r["anon_after"] / mb, r["scan_cold"], r["scan_warm"], r["group"],
               r["cat_cold"], r["cat_warm"], r["scan_cold"] / r["cat_cold"], r["scan_warm"] / r["cat_warm"]))


def mem_available():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


MEM_AVAILABLE = mem_available()


def main():
    results = []
    for g in SIZES:
        results.append(("%g GiB" % g, run_size(g), None))
    cg_note = None
    if BIG:
        cg = Cgroup(MEM_MB << 20)
        if cg.path:
            try:
                results.append(("%g GiB, server in a %d MB memory cgroup" % (BIG_GB, MEM_MB), run_size(BIG_GB, cg),
                                cg.kind))
            finally:
                cg.remove()
        else:
            cg_note = cg.why
    print("## Storage at scale: startup, memory, scans of mapped data (bench_scale.py)\n")
    print("4 eight-byte columns (id, ts, price, qty), written by DoPut (1M-row batches, one commit per GiB) into "
          "quiverd --data-dir on %s, stopped, restarted with the table's files evicted from the page cache "
          "(posix_fadvise DONTNEED on those files only). Startup = exec to listening. RssAnon in MiB: right "
          "after the restart; the most seen while scanning / after. Scans: `SELECT count, sum, max of all four "
          "columns` cold then warm, then `GROUP BY qty` (1000 groups), MB/s of table data; `cat` of the same "
          "column files to /dev/null cold / warm. One run per size; MemAvailable at the start %.1f GB.\n"
          % (BASE, MEM_AVAILABLE / 1e9))
    print("| data | write | startup | RssAnon at start | RssAnon peak / after | scan MB/s cold / warm "
          "| GROUP BY MB/s | cat MB/s cold / warm | scan / cat cold / warm |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r, _ in results:
        print(row(r, label))
    print()
    for label, r, kind in results:
        if "skipped" in r:
            continue
        print("- %s: %d rows, %d column files (%.2f GB), clean stop %.1f s, server VmHWM while writing %.0f MiB, "
              "RssFile after the scans %.0f MiB%s." % (
                  label, r["rows"], r["files"], r["file_bytes"] / 1e9, r["stop_s"], r["write_peak_anon"] / (1 << 20),
                  r["file_rss_after"] / (1 << 20),
                  "; memory limit by %s, page cache charged to the cgroup after the cold scan %.0f MiB"
                  % (kind, (r["cached_after_scan"] or 0) / (1 << 20)) if kind else ""))
    nfiles, times = many_groups()
    times.sort()
    print("\nStartup against the number of row groups: a table of %d column files (--rowgroup-rows 256), %d "
          "restarts: %.2f s median (%.2f..%.2f)." % (nfiles, len(times), times[len(times) // 2], times[0], times[-1]))
    if not BIG:
        print("\nThe larger-than-memory case is opt-in (BENCH_SCALE_BIG=1): not run here.")
    elif cg_note:
        print("\nThe larger-than-memory case was skipped: %s." % cg_note)
    print()


if __name__ == "__main__":
    main()
