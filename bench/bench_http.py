#!/usr/bin/env python3
"""The headline comparison: a 1M-row result fetched into a pandas DataFrame
by HTTP JSON, by HTTP Arrow (IPC stream) and by Arrow Flight DoGet, end to
end (request, transfer, parse, DataFrame with a datetime column). The three
run interleaved in a rotating order, ROUNDS times; we report the median, the
spread (min..max), the ratio to Flight, and the server's CPU seconds per run.
Prints a markdown section."""
import os
import statistics
import sys
import time

import pandas as pd
import pyarrow as pa
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402

ROWS = int(os.environ.get("BENCH_HTTP_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SQL = "SELECT * FROM trades LIMIT %d" % ROWS


def server_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    srv = Server(["--in-memory", "--demo-rows", str(ROWS)])
    try:
        run(srv)
    finally:
        srv.stop()


def run(srv):
    sizes = {}

    def http_json():
        r = requests.post(srv.http_url + "/", params={"format": "JSON"}, data=SQL.encode(), timeout=600)
        r.raise_for_status()
        sizes["HTTP JSON"] = len(r.content)
        doc = r.json()
        df = pd.DataFrame.from_records(doc["data"], columns=[m["name"] for m in doc["meta"]])
        df["ts"] = pd.to_datetime(df["ts"])
        return df

    def http_arrow():
        r = requests.post(srv.http_url + "/", params={"format": "Arrow"}, data=SQL.encode(), timeout=600)
        r.raise_for_status()
        sizes["HTTP Arrow"] = len(r.content)
        return pa.ipc.open_stream(r.content).read_all().to_pandas()

    methods = [("HTTP JSON", http_json), ("HTTP Arrow", http_arrow)]
    if srv.flight_port:
        import pyarrow.flight as fl
        client = fl.connect(srv.flight_uri)

        def flight():
            return client.do_get(fl.Ticket(SQL.encode())).read_pandas()

        methods.append(("Flight DoGet", flight))

    wall = {name: [] for name, _ in methods}
    cpu = {name: [] for name, _ in methods}
    for name, fn in methods:  # warm-up, and the result must be right
        df = fn()
        assert len(df) == ROWS and list(df.columns) == ["ts", "symbol", "price", "volume"], (name, df.columns)
    for rnd in range(ROUNDS):
        order = methods[rnd % len(methods):] + methods[:rnd % len(methods)]
        for name, fn in order:
            c0 = server_cpu_s(srv.proc.pid)
            t0 = time.perf_counter()
            df = fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(server_cpu_s(srv.proc.pid) - c0)
            assert len(df) == ROWS
            del df

    ref = statistics.median(wall["Flight DoGet"]) if "Flight DoGet" in wall else None
    print("## HTTP vs Flight: %d-row result into pandas\n" % ROWS)
    print("`SELECT * FROM trades` (ts, symbol, price, volume) fetched and turned into a DataFrame; "
          "%d interleaved rounds after a warm-up. Ratio = median time / Flight's median." % ROUNDS)
    if ref is None:
        print("\nFlight is not built in (stub build): HTTP only, no ratio.")
    print("\n| method | median s | min..max s | ratio vs Flight | server CPU s (median) | bytes on the wire |")
    print("|---|---|---|---|---|---|")
    for name, _ in methods:
        w = wall[name]
        med = statistics.median(w)
        ratio = "%.2fx" % (med / ref) if ref else "n/a"
        wire = "%.1f MB" % (sizes[name] / 1e6) if name in sizes else "(gRPC)"
        print("| %s | %.3f | %.3f..%.3f | %s | %.3f | %s |" % (name, med, min(w), max(w), ratio,
                                                              statistics.median(cpu[name]), wire))
    print()


if __name__ == "__main__":
    main()
