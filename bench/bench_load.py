#!/usr/bin/env python3
"""Staying responsive under load (docs/security.md), on loopback, bounded.

Part 1, cheap calls beside heavy queries: the latency of ping, healthcheck,
ListActions, ListFlights, GetFlightInfo on a table and HTTP /health, first on
an idle server (the peer), then while 16 clients loop a heavy GROUP BY ts on
a 1M-row table. Reported: p50/p99 and the ratio loaded/idle of p99.

Part 2, a mixed load: 200 clients (4 processes x 50 threads) for
BENCH_LOAD_SECONDS (default 60) mixing Flight DoGet (small and medium
queries), DoPut (a small batch), GetFlightInfo, a Flight SQL statement query
(ADBC, one connection per client thread), HTTP queries and HTTP /health. Reported: throughput, p50/p99 per operation, errors other than the
designed refusals (server busy; goal 0), refusals, and the server's peak RSS.

Part 3, writers contending for one table: PUT_CLIENTS clients loop DoPut of
100 rows into the same table (one writer at a time: the others wait, parked,
for its writer slot) while a probe measures ping, healthcheck and HTTP
/health; the peer is the idle probe. Reported: puts/s, put p50/p99, errors
other than the designed refusals (goal 0), rows in the table = rows acked,
and the probes' p50/p99.
Prints a markdown section."""
import multiprocessing as mp
import os
import random
import statistics
import sys
import threading
import time

import pyarrow as pa
import pyarrow.flight as fl
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402

ROWS = int(os.environ.get("BENCH_LOAD_ROWS", "1000000"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
PROBE_SECONDS = float(os.environ.get("BENCH_PROBE_SECONDS", "20"))
HEAVY = "SELECT ts, count(*) AS n FROM trades GROUP BY ts ORDER BY n DESC LIMIT 1"
PROCS, THREADS = 4, 50


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")


def probes(srv, seconds):
    c = fl.connect(srv.flight_uri)
    sess = requests.Session()
    ops = {
        "ping": lambda: list(c.do_action(fl.Action("ping", b""))),
        "healthcheck": lambda: list(c.do_action(fl.Action("healthcheck", b""))),
        "ListActions": lambda: list(c.list_actions()),
        "ListFlights": lambda: list(c.list_flights()),
        "GetFlightInfo(table)": lambda: c.get_flight_info(fl.FlightDescriptor.for_path("trades")),
        "HTTP /health": lambda: sess.get(srv.http_url + "/health").raise_for_status(),
    }
    lat = {k: [] for k in ops}
    end = time.time() + seconds
    while time.time() < end:
        for k, f in ops.items():
            t0 = time.perf_counter()
            f()
            lat[k].append(time.perf_counter() - t0)
        time.sleep(0.01)
    return lat


def part1(srv):
    idle = probes(srv, min(5.0, PROBE_SECONDS))
    stop = threading.Event()
    done = [0]

    def hammer():
        c = fl.connect(srv.flight_uri)
        while not stop.is_set():
            try:
                c.do_get(fl.Ticket(HEAVY)).read_all()
                done[0] += 1
            except pa.ArrowException:
                pass

    ts = [threading.Thread(target=hammer, daemon=True) for _ in range(16)]
    for t in ts:
        t.start()
    time.sleep(1.0)
    loaded = probes(srv, PROBE_SECONDS)
    stop.set()
    for t in ts:
        t.join(120)
    print("## Cheap calls beside 16 heavy queries\n")
    print("%d-row demo table, `--threads 2` on %d cores; 16 clients loop `%s` (%d finished during the probe, "
          "the rest queued by admission control). Each probe runs its calls in turn every 10 ms: first %.0f s "
          "idle (the peer), then %.0f s loaded. Ratio = loaded p99 / idle p99.\n"
          % (ROWS, os.cpu_count(), HEAVY, done[0], min(5.0, PROBE_SECONDS), PROBE_SECONDS))
    print("| call | idle p50 ms | idle p99 ms | loaded p50 ms | loaded p99 ms | loaded max ms | ratio p99 |")
    print("|---|---|---|---|---|---|---|")
    for k in idle:
        i50, i99 = pct(idle[k], .5) * 1e3, pct(idle[k], .99) * 1e3
        l50, l99, lmax = pct(loaded[k], .5) * 1e3, pct(loaded[k], .99) * 1e3, max(loaded[k]) * 1e3
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.1f | %.1fx |" % (k, i50, i99, l50, l99, lmax, l99 / i99))
    print()


# ---- part 2: the mixed load, in worker processes ----

def worker(flight_uri, http_url, seconds, seed, q):
    rnd = random.Random(seed)
    stats = {}
    lock = threading.Lock()
    small = pa.table({"k": pa.array(range(100), pa.int64()), "v": pa.array([1.5] * 100)})

    def rec(op, dt, outcome):
        with lock:
            s = stats.setdefault(op, {"lat": [], "ok": 0, "busy": 0, "err": 0, "errs": {}})
            s[outcome] += 1
            if outcome == "ok":
                s["lat"].append(dt)

    def client(tid):
        c = fl.connect(flight_uri)
        sess = requests.Session()
        sql_conn = None
        end = time.time() + seconds
        while time.time() < end:
            r = rnd.random()
            t0 = time.perf_counter()
            try:
                if r < 0.30:
                    op = "DoGet small"
                    c.do_get(fl.Ticket("SELECT * FROM trades WHERE volume > 995 LIMIT 100")).read_all()
                elif r < 0.40:
                    op = "DoGet 10k rows"
                    c.do_get(fl.Ticket("SELECT symbol, avg(price) FROM trades GROUP BY symbol")).read_all()
                elif r < 0.55:
                    op = "DoPut 100 rows"
                    w, _ = c.do_put(fl.FlightDescriptor.for_path("load_%d" % (tid % 8)), small.schema)
                    w.write_table(small)
                    w.close()
                elif r < 0.70:
                    op = "Flight SQL query (ADBC)"
                    if sql_conn is None:
                        import adbc_driver_flightsql.dbapi as flight_sql
                        sql_conn = flight_sql.connect(flight_uri, autocommit=True)
                    with sql_conn.cursor() as cur:
                        cur.execute("SELECT * FROM trades WHERE volume > 995 LIMIT 100")
                        cur.fetch_arrow_table()
                elif r < 0.75:
                    op = "GetFlightInfo"
                    c.get_flight_info(fl.FlightDescriptor.for_path("trades"))
                elif r < 0.90:
                    op = "HTTP query"
                    h = sess.get(http_url + "/", params={"query": "SELECT count(*) FROM trades WHERE price > 180"})
                    if h.status_code == 503:
                        raise BusyError()
                    h.raise_for_status()
                else:
                    op = "HTTP /health"
                    sess.get(http_url + "/health").raise_for_status()
                rec(op, time.perf_counter() - t0, "ok")
            except BusyError:
                rec(op, 0, "busy")
            except Exception as e:  # noqa: BLE001 - counted and reported
                msg = str(e)
                if "server busy" in msg:
                    rec(op, 0, "busy")
                else:
                    rec(op, 0, "err")
                    with lock:
                        errs = stats[op]["errs"]
                        key = msg[:80]
                        errs[key] = errs.get(key, 0) + 1
        if sql_conn is not None:
            sql_conn.close()

    ts = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    q.put(stats)


class BusyError(Exception):
    pass


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def part2(srv):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [ctx.Process(target=worker, args=(srv.flight_uri, srv.http_url, SECONDS, i, q)) for i in range(PROCS)]
    t0 = time.time()
    for p in ps:
        p.start()
    parts = [q.get(timeout=SECONDS + 300) for _ in ps]
    for p in ps:
        p.join(60)
    wall = time.time() - t0
    stats = {}
    for part in parts:
        for op, s in part.items():
            d = stats.setdefault(op, {"lat": [], "ok": 0, "busy": 0, "err": 0, "errs": {}})
            d["lat"] += s["lat"]
            for k in ("ok", "busy", "err"):
                d[k] += s[k]
            for k, v in s["errs"].items():
                d["errs"][k] = d["errs"].get(k, 0) + v
    total_ok = sum(s["ok"] for s in stats.values())
    total_err = sum(s["err"] for s in stats.values())
    total_busy = sum(s["busy"] for s in stats.values())
    print("## Mixed load: %d clients for %.0f s\n" % (PROCS * THREADS, SECONDS))
    print("%d processes x %d threads on the same %d-core machine as the server (so clients and server share "
          "the CPUs); default limits (`--max-running-queries` 2 x threads, queue 4 x that). Busy = designed "
          "refusals (RESOURCE_EXHAUSTED / HTTP 503 \"server busy\"); errors = anything else.\n"
          % (PROCS, THREADS, os.cpu_count()))
    print("| operation | ok | ok/s | p50 ms | p99 ms | busy | errors |")
    print("|---|---|---|---|---|---|---|")
    for op in sorted(stats):
        s = stats[op]
        print("| %s | %d | %.1f | %.1f | %.1f | %d | %d |" % (op, s["ok"], s["ok"] / wall, pct(s["lat"], .5) * 1e3,
                                                           pct(s["lat"], .99) * 1e3, s["busy"], s["err"]))
    print("\nTotal: %d ok (%.0f/s), %d busy refusals, %d errors; server peak RSS %.0f MB (VmHWM, includes the "
          "%d-row demo table).\n" % (total_ok, total_ok / wall, total_busy, total_err, peak_rss_mb(srv.proc.pid), ROWS))
    for op, s in sorted(stats.items()):
        for k, v in sorted(s["errs"].items(), key=lambda x: -x[1])[:3]:
            print("- error in %s (%d): `%s`" % (op, v, k.replace("`", "'")))
    print()


PUT_CLIENTS = int(os.environ.get("BENCH_PUT_CLIENTS", "16"))
PUT_SECONDS = float(os.environ.get("BENCH_PUT_SECONDS", "20"))


def part3(srv):
    small = pa.table({"k": pa.array(range(100), pa.int64()), "v": pa.array([1.5] * 100)})
    lat, busy, errs, acked = [], [0], {}, [0]
    lock = threading.Lock()
    stop = time.time() + PUT_SECONDS

    def client():
        c = fl.connect(srv.flight_uri)
        while time.time() < stop:
            t0 = time.perf_counter()
            try:
                w, _ = c.do_put(fl.FlightDescriptor.for_path("hot"), small.schema,
                                options=fl.FlightCallOptions(timeout=60))
                w.write_table(small)
                w.close()
                with lock:
                    lat.append(time.perf_counter() - t0)
                    acked[0] += small.num_rows
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    if "server busy" in str(e):
                        busy[0] += 1
                    else:
                        errs[str(e)[:80]] = errs.get(str(e)[:80], 0) + 1

    idle = probes3(srv, 5)
    ts = [threading.Thread(target=client) for _ in range(PUT_CLIENTS)]
    t0 = time.time()
    for t in ts:
        t.start()
    time.sleep(1)
    loaded = probes3(srv, PUT_SECONDS - 2)
    for t in ts:
        t.join(120)
    wall = time.time() - t0
    rows = fl.connect(srv.flight_uri).do_get(fl.Ticket(b"SELECT count(*) AS n FROM hot")).read_all()["n"][0].as_py()
    print("## Writers contending for one table\n")
    print("%d clients loop DoPut of 100 rows into one table for %.0f s (one writer at a time; the others wait "
          "for its writer slot without a thread), `--threads 2`, default limits; probes as in part 1 "
          "(idle 5 s = the peer).\n" % (PUT_CLIENTS, PUT_SECONDS))
    print("| puts ok | puts/s | put p50 ms | put p99 ms | busy | errors | rows in table = rows acked |")
    print("|---|---|---|---|---|---|---|")
    print("| %d | %.1f | %.1f | %.1f | %d | %d | %s (%d / %d) |" % (
        len(lat), len(lat) / wall, pct(lat, .5) * 1e3, pct(lat, .99) * 1e3, busy[0], sum(errs.values()),
        "yes" if rows == acked[0] else "NO", rows, acked[0]))
    print("\n| call | idle p50 ms | idle p99 ms | loaded p50 ms | loaded p99 ms | ratio p99 |")
    print("|---|---|---|---|---|---|")
    for k in idle:
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.1fx |" % (k, pct(idle[k], .5) * 1e3, pct(idle[k], .99) * 1e3,
                                                          pct(loaded[k], .5) * 1e3, pct(loaded[k], .99) * 1e3,
                                                          pct(loaded[k], .99) / pct(idle[k], .99)))
    for k, v in sorted(errs.items(), key=lambda x: -x[1])[:3]:
        print("- error (%d): `%s`" % (v, k.replace("`", "'")))
    print()


def probes3(srv, seconds):
    c = fl.connect(srv.flight_uri)
    sess = requests.Session()
    ops = {
        "ping": lambda: list(c.do_action(fl.Action("ping", b""))),
        "healthcheck": lambda: list(c.do_action(fl.Action("healthcheck", b""))),
        "HTTP /health": lambda: sess.get(srv.http_url + "/health").raise_for_status(),
    }
    lat = {k: [] for k in ops}
    end = time.time() + seconds
    while time.time() < end:
        for k, f in ops.items():
            t0 = time.perf_counter()
            f()
            lat[k].append(time.perf_counter() - t0)
        time.sleep(0.01)
    return lat


def main():
    srv = Server(["--in-memory", "--demo-rows", str(ROWS)])
    try:
        if os.environ.get("BENCH_LOAD_PARTS", "123") != "3":
            part1(srv)
            part2(srv)
        part3(srv)
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
