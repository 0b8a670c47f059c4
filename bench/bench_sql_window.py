#!/usr/bin/env python3
"""Window benchmarks of issue #12, Quiver (end to end through Flight DoGet;
each query returns a few rows, so this is query time) against DuckDB in
process on the same data with the same threads; BENCH_ROUNDS interleaved
rounds, median and spread, ratio = Quiver / DuckDB (below 1: Quiver faster).

BENCH_WINDOW_ROWS trades (default 2M, so a run stays within a few minutes; the
issue's figures are at BENCH_WINDOW_ROWS=10000000) over 8 symbols, sorted by a unique ts:
- lag per symbol (the price change since the symbol's previous trade), summed;
- a 100-row moving average per symbol (ROWS BETWEEN 99 PRECEDING AND CURRENT ROW), summed;
- a 5-minute RANGE moving sum of qty per symbol, summed;
- the last trade per symbol: QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) = 1;
- the last trade per symbol by arg_max(px, ts) ... GROUP BY sym;
- a 100-row moving median per symbol (a holistic aggregate over a sliding ROWS frame), summed;
- a 5-minute RANGE moving 0.9-quantile of px per symbol, summed.
Prints a markdown section."""
import os
import statistics
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ROWS = int(os.environ.get("BENCH_WINDOW_ROWS", "2000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402
from benchlib import interleaved, vs_duckdb_row  # noqa: E402

SYMS = np.array(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "IBM"])

QUERIES = [
    ("lag per symbol",
     "SELECT count(d), sum(d) FROM (SELECT px - lag(px) OVER (PARTITION BY sym ORDER BY ts) AS d FROM trades) AS q"),
    ("100-row moving avg per symbol",
     "SELECT sum(m) FROM (SELECT avg(px) OVER (PARTITION BY sym ORDER BY ts ROWS BETWEEN 99 PRECEDING AND CURRENT ROW)"
     " AS m FROM trades) AS q"),
    ("5-minute RANGE moving sum",
     "SELECT sum(s) FROM (SELECT sum(qty) OVER (PARTITION BY sym ORDER BY ts RANGE BETWEEN INTERVAL 5 MINUTE PRECEDING"
     " AND CURRENT ROW) AS s FROM trades) AS q"),
    ("last row per symbol (QUALIFY)",
     "SELECT sym, ts, px FROM trades QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) = 1"),
    ("last row per symbol (arg_max)",
     "SELECT sym, max(ts), arg_max(px, ts) FROM trades GROUP BY sym"),
    ("100-row moving median per symbol",
     "SELECT sum(m) FROM (SELECT median(px) OVER (PARTITION BY sym ORDER BY ts ROWS BETWEEN 99 PRECEDING AND CURRENT ROW)"
     " AS m FROM trades) AS q"),
    ("5-minute RANGE moving 0.9-quantile",
     "SELECT sum(m) FROM (SELECT quantile_cont(px, 0.9) OVER (PARTITION BY sym ORDER BY ts RANGE BETWEEN INTERVAL 5 MINUTE"
     " PRECEDING AND CURRENT ROW) AS m FROM trades) AS q"),
]
ONLY = [o for o in os.environ.get("BENCH_WINDOW_ONLY", "").split("|") if o]  # substrings of the labels to run, "|" between


def trades():
    rng = np.random.default_rng(12)
    ts = np.cumsum(rng.integers(1, 20_000, ROWS, dtype=np.int64)) * 1000  # unique, time-sorted, whole microseconds
    return pa.table({
        "ts": pa.array(ts + 1_700_000_000 * 10**9, type=pa.timestamp("ns", tz="UTC")),
        "sym": pa.array(SYMS[rng.integers(0, len(SYMS), ROWS)].astype(object), type=pa.string()),
        "px": pa.array(100 + np.cumsum(rng.normal(0, 0.01, ROWS))),
        "qty": pa.array(rng.integers(1, 1000, ROWS), type=pa.int64()),
    })


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    return a == b


def main():
    t = trades()
    srv = Server(["--in-memory", "--threads", str(THREADS), "--query-memory", str(8 << 30)])
    out = []
    try:
        client = fl.connect(srv.flight_uri)
        w, _ = client.do_put(fl.FlightDescriptor.for_path("trades"), t.schema)
        w.write_table(t, max_chunksize=65536)
        w.close()
        duck = duckdb.connect()
        duck.execute("SET threads TO %d" % THREADS)
        duck.register("trades_a", t)
        duck.execute("CREATE TABLE trades AS SELECT * FROM trades_a ORDER BY ts")
        for label, sql in QUERIES:
            if ONLY and not any(o in label for o in ONLY):
                continue
            engines = [("Quiver", lambda sql=sql: client.do_get(fl.Ticket(sql.encode())).read_all().to_pylist()),
                       ("DuckDB", lambda sql=sql: duck.execute(sql).fetchall())]
            got, first = {}, []
            for name, fn in engines:
                t0 = time.perf_counter()
                got[name] = fn()
                first.append(time.perf_counter() - t0)
            qv = sorted(tuple(str(v) if hasattr(v, "tzinfo") else v for v in r.values()) for r in got["Quiver"])
            dk = sorted(tuple(str(v) if hasattr(v, "tzinfo") else v for v in r) for r in got["DuckDB"])
            assert len(qv) == len(dk), (label, qv, dk)
            for a, b in zip(qv, dk):
                assert all(close(x, y) for x, y in zip(a, b)), (label, a, b)
            # a query that takes DuckDB minutes (its moving quantiles over long frames) runs fewer rounds
            rounds = ROUNDS if sum(first) < 8 else max(1, min(ROUNDS, int(40 / sum(first))))
            times = interleaved(engines, rounds)
            out.append(vs_duckdb_row(label + ("" if rounds == ROUNDS else " (%d rounds)" % rounds), times, 1))
            print(out[-1], file=sys.stderr, flush=True)
    finally:
        srv.stop()
    print("## Window functions (bench_sql_window.py)\n")
    print("trades: %d rows over %d symbols, sorted by a unique ts; %d threads each; Quiver through Flight DoGet, "
          "DuckDB in process; %d interleaved rounds; median (min..max) ms, ratio = Quiver / DuckDB per round.\n"
          % (ROWS, len(SYMS), THREADS, ROUNDS))
    print("| query | Quiver ms | DuckDB ms | ratio |")
    print("|---|---|---|---|")
    for r in out:
        print(r)


if __name__ == "__main__":
    main()
