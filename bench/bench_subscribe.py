#!/usr/bin/env python3
"""Subscriptions: latency from a DoPut commit acknowledged to the
subscriber's batch in hand, and ingest throughput with 10 subscribers
attached against none.

Latency: one pyarrow subscriber thread (Flight DoGet `SUBSCRIBE SELECT *`)
and, separately, one HTTP Server-Sent Events reader; a writer thread in the
same process commits a small table (100 rows, a sequence number in it) every
few milliseconds; latency = time the subscriber has the batch - time the
writer's DoPut returned (its commit acknowledged). It can be negative: the
server wakes subscribers as soon as the commit is durable and visible, before
the writer has read its status. The peer: a Flight `ping` round trip on the
same loopback in the same run.

Throughput: one writer process commits COMMIT_ROWS-row tables back to back;
rows/s with no subscription against 10 subscriber processes attached
(`SUBSCRIBE SELECT ts, price FROM t WHERE venue = 3`, each reading what it
gets), plain, at nice 19, and under SCHED_IDLE (subscribers that cannot take
the writer's or the server's CPU), on a server that publishes every commit at
once (--subscriber-interval 0, the default) and on one pacing publishes 5 ms
apart. Rounds alternate the configs; median and spread of the ratio, and the
server CPU each config adds per subscriber and commit.

Env: QUIVERD, BENCH_COMMITS (default 600 latency samples), BENCH_ROUNDS (5),
BENCH_PACED (the paced server's --subscriber-interval, 5ms), BENCH_ROUND_COMMITS (300).
Prints a markdown section on stdout.
"""
import json
import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))

import pyarrow as pa  # noqa: E402
import pyarrow.flight as fl  # noqa: E402
import requests  # noqa: E402

from conftest import Server  # noqa: E402

SAMPLES = int(os.environ.get("BENCH_COMMITS", "600"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
COMMIT_ROWS = 20000
# 300 commits (~0.4 s with none): 60-commit rounds (0.07 s) were within a few of /proc's 10 ms CPU ticks
# and swung from run to run by more than the effects measured.
COMMITS_PER_ROUND = int(os.environ.get("BENCH_ROUND_COMMITS", "300"))
TS = pa.timestamp("ns", tz="UTC")
TICKS = os.sysconf("SC_CLK_TCK")
# Two servers run side by side: "0" publishes every commit at once (--subscriber-interval 0, the
# default), "5ms" paces publishes 5 ms apart (commits closer together go out as one batch).
PACED = os.environ.get("BENCH_PACED", "5ms")
SERVERS = {"0": ["--subscriber-interval", "0"], PACED: ["--subscriber-interval", PACED]}
# name -> (subscriber processes, how they are scheduled: "" plain, "nice" nice 19, "idle" SCHED_IDLE, server).
# SCHED_IDLE subscribers run only on CPU nobody else wants: on this shared 2-core box that stands for
# subscribers on other cores or machines, so what is left of the slowdown is the server's own work.
CONFIGS = {"none": (0, "", "0"), "10": (10, "", "0"), "10 at nice 19": (10, "nice", "0"),
           "10 at SCHED_IDLE": (10, "idle", "0"),
           "none, paced " + PACED: (0, "", PACED), "10, paced " + PACED: (10, "", PACED),
           "10 at SCHED_IDLE, paced " + PACED: (10, "idle", PACED)}
BASE = {"0": "none", PACED: "none, paced " + PACED}  # each server's own round without subscribers


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def small(seq, n=100):
    return pa.table({"seq": pa.array([seq] * n, pa.int64()), "ts": pa.array(range(n), TS),
                     "price": pa.array([float(i) for i in range(n)])})


def put(c, table, t):
    w, _ = c.do_put(fl.FlightDescriptor.for_path(table), t.schema)
    w.write_table(t)
    w.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def latency(srv):
    c = srv.flight()
    put(c, "lat", small(-1))
    arrived = {}
    sse_arrived = {}
    reader = c.do_get(fl.Ticket(b"SUBSCRIBE SELECT seq FROM lat"))

    def flight_reader():
        try:
            for chunk in reader:  # one batch may carry several commits (--subscriber-interval)
                now = time.perf_counter()
                for seq in set(chunk.data.column(0).to_pylist()):
                    arrived.setdefault(seq, now)
        except Exception:
            pass

    resp = requests.get(srv.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT seq FROM lat"},
                        headers={"Accept": "text/event-stream"}, stream=True, timeout=600)

    def sse_reader():
        try:
            for line in resp.iter_lines(decode_unicode=True):
                if line.startswith("data: ["):
                    now = time.perf_counter()
                    for row in json.loads(line[6:]):
                        sse_arrived.setdefault(row[0], now)
        except Exception:
            pass

    threads = [threading.Thread(target=flight_reader, daemon=True), threading.Thread(target=sse_reader, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    acked, pings = {}, []
    for seq in range(SAMPLES):
        t = small(seq)
        w, _ = c.do_put(fl.FlightDescriptor.for_path("lat"), t.schema)
        w.write_table(t)
        w.close()
        acked[seq] = time.perf_counter()
        t0 = time.perf_counter()
        list(c.do_action(fl.Action("ping", b"")))
        pings.append(time.perf_counter() - t0)
        time.sleep(0.003)
    time.sleep(0.5)
    reader.cancel()
    resp.close()
    fl_ms = [(arrived[s] - acked[s]) * 1000 for s in acked if s in arrived]
    sse_ms = [(sse_arrived[s] - acked[s]) * 1000 for s in acked if s in sse_arrived]
    return fl_ms, sse_ms, [p * 1000 for p in pings]


WRITER = textwrap.dedent("""
    import sys, time, pyarrow as pa, pyarrow.flight as fl
    c = fl.connect(sys.argv[1]); n = int(sys.argv[2]); rows = int(sys.argv[3])
    ts = pa.timestamp("ns", tz="UTC")
    t = pa.table({"ts": pa.array(range(rows), ts), "price": pa.array([i * 0.5 for i in range(rows)]),
                  "venue": pa.array([i % 8 for i in range(rows)], pa.int32()),
                  "volume": pa.array(range(rows), pa.int64())})
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        w, _ = c.do_put(fl.FlightDescriptor.for_path("ing"), t.schema); w.write_table(t); w.close()
    wall = time.perf_counter() - t0
    print(n * rows / wall, time.process_time() - c0, wall, flush=True)
""")

SUBSCRIBER = textwrap.dedent("""
    import os, sys
    if sys.argv[2] == "idle":  # before pyarrow starts its threads: they inherit it
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    import threading, pyarrow.flight as fl
    c = fl.connect(sys.argv[1])
    r = c.do_get(fl.Ticket(b"SUBSCRIBE SELECT ts, price FROM ing WHERE venue = 3"))
    got = [0, 0]  # messages, rows
    def report():  # stdin closed: say what arrived and go
        sys.stdin.read()
        print(got[0], got[1], flush=True)
        os._exit(0)
    threading.Thread(target=report, daemon=True).start()
    print("ready", flush=True)
    try:
        for chunk in r:  # nothing else: a real client would do its own work here
            got[0] += 1
            got[1] += chunk.data.num_rows
    except Exception:
        pass
    threading.Event().wait()
""")


def ingest_round(srv, subscribers, sched=""):
    procs = []
    pre = ["nice", "-n", "19"] if sched == "nice" else []
    for _ in range(subscribers):
        p = subprocess.Popen(pre + [sys.executable, "-c", SUBSCRIBER, srv.flight_uri, sched or "plain"],
                             stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    c0, s0 = [cpu_seconds(p.pid) for p in procs], cpu_seconds(srv.proc.pid)
    out = subprocess.run([sys.executable, "-c", WRITER, srv.flight_uri, str(COMMITS_PER_ROUND), str(COMMIT_ROWS)],
                         capture_output=True, text=True, check=True).stdout
    server = cpu_seconds(srv.proc.pid) - s0
    clients = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, c0))
    time.sleep(0.3)  # the last commits reach them
    msgs = []
    for p in procs:
        p.stdin.close()
        line = p.stdout.readline().split()
        msgs.append(int(line[0]) if line else 0)
        p.wait()
    rate, writer, wall = (float(x) for x in out.split())
    return {"rate": rate, "server": server, "clients": clients, "writer": writer, "wall": wall,
            "msgs": statistics.median(msgs) if msgs else 0}


def main():
    srvs = {}
    try:
        lat = {}
        for key, args in SERVERS.items():
            srvs[key] = Server(["--in-memory"] + args)
            lat[key] = latency(srvs[key])
            put(srvs[key].flight(), "ing", pa.table({"ts": pa.array([0], TS), "price": [0.0],
                                                     "venue": pa.array([0], pa.int32()),
                                                     "volume": pa.array([0], pa.int64())}))
            ingest_round(srvs[key], 0)  # warm-up
        runs = {k: [] for k in CONFIGS}
        for _ in range(ROUNDS):
            for k, (n, sched, key) in CONFIGS.items():
                runs[k].append(ingest_round(srvs[key], n, sched))
    finally:
        for srv in srvs.values():
            srv.stop()
    print("## Subscriptions (bench_subscribe.py)\n")
    print("Latency from a DoPut commit acknowledged to the subscriber's batch in hand, %d commits of 100 rows "
          "on loopback (one every ~4 ms), one Flight subscriber and one HTTP SSE reader, on a server with "
          "`--subscriber-interval 0` (the default) and one with `%s`; peer: a Flight ping round trip in the "
          "same run. Negative: the subscriber had the rows before the writer had its acknowledgement.\n"
          % (SAMPLES, PACED))
    print("| path | --subscriber-interval | samples | p50 ms | p99 ms | max ms | p99 / ping p99 |")
    print("|---|---|---|---|---|---|---|")
    for key in SERVERS:
        fl_ms, sse_ms, ping_ms = lat[key]
        pp99 = pct(ping_ms, 99)
        for name, xs in (("Flight DoGet SUBSCRIBE", fl_ms), ("HTTP /subscribe SSE", sse_ms),
                         ("Flight ping (peer)", ping_ms)):
            print("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f |" % (name, key, len(xs), pct(xs, 50), pct(xs, 99),
                                                                 max(xs), pct(xs, 99) / pp99))
    print("\nIngest throughput: one writer process, %d commits of %d rows (4 columns) per round; %d rounds, "
          "each running, in turn, no subscription / 10 subscriber processes "
          "(`SUBSCRIBE SELECT ts, price FROM ing WHERE venue = 3`, a pyarrow client each, reading and counting) / "
          "the same 10 at `nice 19` / the same 10 under SCHED_IDLE (they get only CPU time nothing else wants: "
          "subscribers that cannot take the writer's or the server's CPU, as on other cores or machines), and "
          "the same on a second server with `--subscriber-interval %s`; ratios are against the same server's "
          "round with none. Everything shares the machine's %d cores. CPU: seconds per round "
          "(median); server CPU added: per subscriber and commit, against none (mean of the rounds); messages: what one "
          "subscriber received in the round (median), against %d commits.\n"
          % (COMMITS_PER_ROUND, COMMIT_ROWS, ROUNDS, PACED, os.cpu_count(), COMMITS_PER_ROUND))
    print("| subscribers | rows/s median | min..max | ratio to none (per round) | server CPU | server CPU added "
          "per subscriber-commit | writer CPU | subscribers' CPU | messages per subscriber |")
    print("|---|---|---|---|---|---|---|---|---|")
    med = lambda k, f: statistics.median(r[f] for r in runs[k])  # noqa: E731
    mean = lambda k, f: statistics.mean(r[f] for r in runs[k])  # noqa: E731

    def per_sub_commit(k):  # the mean over all rounds: /proc's CPU times come in 10 ms ticks
        return (mean(k, "server") - mean(BASE[CONFIGS[k][2]], "server")) / (CONFIGS[k][0] * COMMITS_PER_ROUND)
    ratios = {}
    for k in CONFIGS:
        base = [r["rate"] for r in runs[BASE[CONFIGS[k][2]]]]
        rates = [r["rate"] for r in runs[k]]
        ratios[k] = [b / a for a, b in zip(base, rates)]
        n = CONFIGS[k][0]
        added = "%.0f us" % (per_sub_commit(k) * 1e6) if n else ""
        print("| %s | %.0f | %.0f..%.0f | %.2f (%.2f .. %.2f) | %.3f | %s | %.3f | %s | %s |" % (
            k, statistics.median(rates), min(rates), max(rates), statistics.median(ratios[k]), min(ratios[k]),
            max(ratios[k]), med(k, "server"), added, med(k, "writer"),
            "%.3f" % med(k, "clients") if CONFIGS[k][0] else "", "%.0f" % med(k, "msgs") if CONFIGS[k][0] else ""))
    print()
    for k, (n, _, key) in CONFIGS.items():
        if not n:
            continue
        r = ratios[k]
        extra_srv = mean(k, "server") - mean(BASE[key], "server")
        print("- %s: throughput ratio to none, per interleaved pair: %.2f (%.2f .. %.2f); server CPU added "
              "(mean of the rounds): %.3f s per round (%.0f us per subscriber and commit); the subscribers' own "
              "processes: %.3f s." % (k, statistics.median(r), min(r), max(r), extra_srv,
                                       per_sub_commit(k) * 1e6, med(k, "clients")))
    print("\nA round with none takes %.3f s of wall time, i.e. %.3f core-seconds of this machine, of which the "
          "server uses %.3f s and the writer %.3f s.\n" % (med("none", "wall"), med("none", "wall") * os.cpu_count(),
                                                          med("none", "server"), med("none", "writer")))


if __name__ == "__main__":
    main()
