#!/usr/bin/env python3
"""Query benchmark: the first queries a tick-database user writes, on the
demo `trades` table (BENCH_SQL_ROWS rows, default 10M), timed in Quiver
(end to end through Flight DoGet; the results are a few rows, so this is
query time) against DuckDB and Polars on the same data (fetched from Quiver
as Arrow) with the same thread count. Runs interleaved in a rotating order,
BENCH_ROUNDS times; reports median, spread and the ratio to Quiver.
Prints a markdown section."""
import os
import statistics
import sys
import time

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
os.environ["POLARS_MAX_THREADS"] = str(THREADS)  # before polars is imported

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.flight as fl  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402
from benchlib import interleaved, vs_duckdb_row  # noqa: E402

ROWS = int(os.environ.get("BENCH_SQL_ROWS", "10000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

QUERIES = [
    ("filtered count",
     "SELECT count(*) FROM trades WHERE symbol = 'AAPL' AND price > 180",
     lambda df: df.lazy().filter((pl.col("symbol") == "AAPL") & (pl.col("price") > 180)).select(pl.len()).collect()),
    ("sum/avg by symbol",
     "SELECT symbol, sum(volume), avg(price) FROM trades GROUP BY symbol",
     lambda df: df.lazy().group_by("symbol").agg(pl.col("volume").sum(), pl.col("price").mean()).collect()),
    ("top 10 by volume",
     "SELECT ts, symbol, price, volume FROM trades ORDER BY volume DESC LIMIT 10",
     lambda df: df.lazy().sort("volume", descending=True).head(10).collect()),
]

# The function and aggregate tables (src/sql/functions): holistic, sketch,
# regexp and strftime work per row; DuckDB only (no Polars peer).
QUERIES += [
    ("median/quantile by symbol",
     "SELECT symbol, median(price), quantile_cont(volume, 0.9) FROM trades GROUP BY symbol", None),
    ("approx_count_distinct", "SELECT approx_count_distinct(volume), approx_count_distinct(price) FROM trades", None),
    ("regexp + string filter",
     "SELECT count(*) FROM trades WHERE regexp_matches(symbol, '^[A-G]') AND NOT contains(lower(symbol), 'x')", None),
    ("strftime group", "SELECT strftime(ts, '%Y-%m-%d %H'), count(*) FROM trades GROUP BY 1", None),
]


def main():
    srv = Server(["--in-memory", "--demo-rows", str(ROWS), "--threads", str(THREADS)])
    try:
        run(srv)
    finally:
        srv.stop()


def run(srv):
    client = fl.connect(srv.flight_uri)
    table = client.do_get(fl.Ticket(b"SELECT * FROM trades")).read_all()
    assert table.num_rows == ROWS
    # plain strings for the peers (Quiver keeps symbol as a dictionary)
    table = table.set_column(1, "symbol", table.column(1).cast(pa.string()))
    duck = duckdb.connect()
    duck.execute("SET threads TO %d" % THREADS)
    duck.register("trades_arrow", table)
    duck.execute("CREATE TABLE trades AS SELECT * FROM trades_arrow")
    df = pl.from_arrow(table)

    rows_out = []
    for label, sql, polars_fn in QUERIES:
        engines = [
            ("Quiver", lambda sql=sql: client.do_get(fl.Ticket(sql.encode())).read_all()),
            ("DuckDB", lambda sql=sql: duck.execute(sql).fetchall()),
            ("Polars", lambda fn=polars_fn: fn(df)),
        ]
        if polars_fn is None:
            engines = engines[:2]
        # warm-up, and the answers must agree on the row count
        results = {name: fn() for name, fn in engines}
        counts = {name: (r.num_rows if hasattr(r, "num_rows") else len(r)) for name, r in results.items()}
        assert len(set(counts.values())) == 1, counts
        if label == "filtered count":
            vals = {results["Quiver"].column(0)[0].as_py(), results["DuckDB"][0][0], results["Polars"].item()}
            assert len(vals) == 1, vals
        times = interleaved(engines, ROUNDS)
        q_med = statistics.median(times["Quiver"])
        for name, _ in engines:
            ts = times[name]
            med = statistics.median(ts)
            rows_out.append("| %s | %s | %.1f | %.1f..%.1f | %.2f |" % (
                label, name, med * 1000, min(ts) * 1000, max(ts) * 1000, med / q_med))

    print("## SQL queries (bench_sql.py)\n")
    print("%d rows of the demo `trades` table, %d threads each; Quiver timed end to end through Flight DoGet, "
          "DuckDB and Polars in process on the same data. %d interleaved rounds.\n" % (ROWS, THREADS, ROUNDS))
    print("| query | engine | median ms | spread ms | time / Quiver |")
    print("|---|---|---|---|---|")
    for r in rows_out:
        print(r)


if __name__ == "__main__":
    main()
