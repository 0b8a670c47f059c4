#!/usr/bin/env python3
"""Series and last-row benchmark: `arg_max(price, ts)` per symbol (the last
trade per symbol) on the demo `trades` table (BENCH_SQL_ROWS rows, default
10M, 10 symbols, in time order), a gap-filled 1-minute bar query built on
generate_series, and a plain count over range(); Quiver timed end to end
through Flight DoGet against DuckDB in process on the same data with the
same thread count. Interleaved rounds (BENCH_ROUNDS); prints a markdown
section with median, spread and the ratio to Quiver."""
import os
import statistics
import sys
import time

import duckdb
import pyarrow as pa
import pyarrow.flight as fl

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402
from benchlib import interleaved, vs_duckdb_row  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ROWS = int(os.environ.get("BENCH_SQL_ROWS", "10000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

QUERIES = [
    ("last row per symbol (arg_max)",
     "SELECT symbol, arg_max(price, ts) AS last_price, max(ts) AS last_ts FROM trades GROUP BY symbol ORDER BY symbol"),
    ("arg_min + arg_max per symbol",
     "SELECT symbol, arg_min(price, ts), arg_max(volume, ts) FROM trades GROUP BY symbol ORDER BY symbol"),
    ("count over range(10M) with a filter", "SELECT count(*) FROM range(10000000) WHERE range % 3 = 0"),
    ("1-minute bars, gap-filled (AAPL)",
     "WITH bars AS (SELECT date_trunc('minute', ts) AS minute, arg_max(price, ts) AS close, sum(volume) AS volume "
     "FROM trades WHERE symbol = 'AAPL' GROUP BY 1), "
     "grid AS (SELECT * FROM generate_series((SELECT min(minute) FROM bars), (SELECT max(minute) FROM bars), "
     "INTERVAL 1 MINUTE) g(minute)) "
     "SELECT count(*), count(b.close), sum(coalesce(b.volume, 0)) FROM grid LEFT JOIN bars b ON grid.minute = b.minute"),
]


def main():
    srv = Server(["--in-memory", "--demo-rows", str(ROWS), "--threads", str(THREADS)])
    try:
        run(srv)
    finally:
        srv.stop()


def norm(rows):
    return [tuple(str(v)[:19] if hasattr(v, "year") else (round(v, 6) if isinstance(v, float) else v) for v in r)
            for r in rows]


def run(srv):
    client = fl.connect(srv.flight_uri)
    table = client.do_get(fl.Ticket(b"SELECT * FROM trades")).read_all()
    assert table.num_rows == ROWS
    table = table.set_column(1, "symbol", table.column(1).cast(pa.string()))
    duck = duckdb.connect()
    duck.execute("SET threads TO %d" % THREADS)
    duck.register("trades_arrow", table)
    duck.execute("CREATE TABLE trades AS SELECT * FROM trades_arrow")
    # the same rows with DuckDB's native microsecond TIMESTAMP (Arrow's ns arrive as TIMESTAMP_NS, a slower arg_max key)
    duck_us = duckdb.connect()
    duck_us.execute("SET threads TO %d" % THREADS)
    duck_us.register("trades_arrow", table)
    duck_us.execute("CREATE TABLE trades AS SELECT * REPLACE (CAST(ts AS TIMESTAMP) AS ts) FROM trades_arrow")
    del table
    rows_out = []
    for label, sql in QUERIES:
        engines = [
            ("Quiver", lambda sql=sql: client.do_get(fl.Ticket(sql.encode())).read_all()),
            ("DuckDB", lambda sql=sql: duck.execute(sql).fetchall()),
            ("DuckDB (us ts)", lambda sql=sql: duck_us.execute(sql).fetchall()),
        ]
        q = engines[0][1]()
        d = engines[1][1]()
        assert norm([tuple(r.values()) for r in q.to_pylist()]) == norm(d), (label, q.to_pylist()[:3], d[:3])
        times = interleaved(engines, ROUNDS)
        q_med = statistics.median(times["Quiver"])
        for name, _ in engines:
            ts = times[name]
            med = statistics.median(ts)
            rows_out.append("| %s | %s | %.1f | %.1f..%.1f | %.2f |" % (
                label, name, med * 1000, min(ts) * 1000, max(ts) * 1000, med / q_med))

    print("## Series and last row per symbol (bench_series.py)\n")
    print("%d rows of the demo `trades` table (10 symbols, in time order), %d threads each; Quiver timed end to end "
          "through Flight DoGet, DuckDB in process on the same data (as Arrow gives it: ts is TIMESTAMP_NS), and again with ts "
          "cast to DuckDB's own microsecond TIMESTAMP. %d interleaved rounds.\n" % (ROWS, THREADS, ROUNDS))
    print("| query | engine | median ms | spread ms | time / Quiver |")
    print("|---|---|---|---|---|")
    for r in rows_out:
        print(r)


if __name__ == "__main__":
    main()
