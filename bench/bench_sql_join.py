#!/usr/bin/env python3
"""Relational benchmarks of issue #11, Quiver (end to end through Flight
DoGet; results are a few rows, so this is query time) against DuckDB in
process on the same data with the same threads; BENCH_ROUNDS interleaved
rounds, median and spread, ratio = Quiver / DuckDB (below 1: Quiver faster).

- hash join BENCH_JOIN_ROWS x BENCH_JOIN_ROWS/10 on an int64 key and on a
  string key, with a filter on the probe side and an aggregate on top;
- GROUP BY a plain utf8 symbol column (pushed from pandas, not SYMBOL);
- correlated subqueries (an aggregate per symbol compared with each row;
  IN with a correlation), which Quiver decorrelates into joins;
- count/sum over a time range covering a third of a time-sorted table.
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
ROWS = int(os.environ.get("BENCH_JOIN_ROWS", "10000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402
from benchlib import interleaved, vs_duckdb_row  # noqa: E402

SYMS = np.array(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "IBM", "ORCL", "INTC"] * 10)


def tables():
    rng = np.random.default_rng(11)
    n, m = ROWS, max(ROWS // 10, 1)
    fact = pa.table({
        "ts": pa.array(np.arange(n, dtype=np.int64) * 1_000_000, type=pa.timestamp("ns", tz="UTC")),
        "k": pa.array(rng.integers(0, m, n), type=pa.int64()),
        "sk": pa.array(np.char.add("key", rng.integers(0, m, n).astype(str)).astype(object)),
        "sym": pa.array(SYMS[rng.integers(0, len(SYMS), n)].astype(object), type=pa.string()),
        "qty": pa.array(rng.integers(1, 1000, n), type=pa.int64()),
        "px": pa.array(rng.uniform(10, 500, n)),
    })
    dim = pa.table({
        "k": pa.array(np.arange(m, dtype=np.int64)),
        "sk": pa.array(np.char.add("key", np.arange(m).astype(str)).astype(object)),
        "w": pa.array(rng.uniform(0, 1, m)),
    })
    return fact, dim


def put(client, name, t):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema)
    w.write_table(t, max_chunksize=65536)
    w.close()


def main():
    fact, dim = tables()
    lo = int(ROWS // 3) * 1_000_000
    hi = int(2 * ROWS // 3) * 1_000_000
    t_lo = "TIMESTAMP '1970-01-01 00:00:00' + INTERVAL '%d microseconds'"
    queries = [
        ("hash join int64 key", "SELECT count(*), sum(f.qty * d.w) FROM fact f JOIN dim d ON f.k = d.k WHERE f.px > 250"),
        ("hash join string key", "SELECT count(*), sum(f.qty * d.w) FROM fact f JOIN dim d ON f.sk = d.sk WHERE f.px > 250"),
        ("GROUP BY utf8 symbol", "SELECT sym, sum(qty), avg(px) FROM fact GROUP BY sym"),
        ("correlated scalar subquery", "SELECT count(*), sum(qty) FROM fact f WHERE f.px > "
                                       "(SELECT avg(i.px) FROM fact i WHERE i.sym = f.sym AND i.qty > 500)"),
        ("correlated IN", "SELECT count(*), sum(qty) FROM fact f WHERE f.k IN "
                          "(SELECT d.k FROM dim d WHERE d.sk = f.sk AND d.w > 0.5)"),
        ("time-range count/sum",
         "SELECT count(*), sum(qty) FROM fact WHERE ts >= epoch_placeholder_lo AND ts < epoch_placeholder_hi"),
    ]
    import datetime
    def ts_lit(ns):
        return "TIMESTAMP '%s'" % (datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=ns // 1000))
    queries[-1] = (queries[-1][0], queries[-1][1].replace("epoch_placeholder_lo", ts_lit(lo)).replace("epoch_placeholder_hi", ts_lit(hi)))
    del t_lo
    srv = Server(["--in-memory", "--threads", str(THREADS), "--query-memory", str(8 << 30)])
    try:
        client = fl.connect(srv.flight_uri)
        put(client, "fact", fact)
        put(client, "dim", dim)
        duck = duckdb.connect()
        duck.execute("SET threads TO %d" % THREADS)
        duck.register("fact_a", fact)
        duck.register("dim_a", dim)
        duck.execute("CREATE TABLE fact AS SELECT * FROM fact_a")
        duck.execute("CREATE TABLE dim AS SELECT * FROM dim_a")
        out = []
        for label, sql in queries:
            engines = [("Quiver", lambda sql=sql: client.do_get(fl.Ticket(sql.encode())).read_all().to_pylist()),
                       ("DuckDB", lambda sql=sql: duck.execute(sql).fetchall())]
            got = {name: fn() for name, fn in engines}
            qv = sorted(tuple(r.values()) for r in got["Quiver"])
            dk = sorted(got["DuckDB"])
            assert len(qv) == len(dk), (label, len(qv), len(dk))
            for a, b in zip(qv, dk):
                for x, y in zip(a, b):
                    assert (x == y) or (isinstance(x, float) and abs(x - float(y)) <= 1e-6 * max(1.0, abs(x))), (label, a, b)
            times = interleaved(engines, ROUNDS)
            out.append(vs_duckdb_row(label, times, 1))
    finally:
        srv.stop()
    print("## Joins, utf8 GROUP BY, time ranges (bench_sql_join.py)\n")
    print("fact: %d rows (int64 key and string key into dim, utf8 symbol, time-sorted ts), dim: %d rows; "
          "%d threads each; Quiver through Flight DoGet, DuckDB in process; %d interleaved rounds; "
          "median (min..max) ms, ratio = Quiver / DuckDB per round.\n" % (ROWS, max(ROWS // 10, 1), THREADS, ROUNDS))
    print("| query | Quiver ms | DuckDB ms | ratio |")
    print("|---|---|---|---|")
    for r in out:
        print(r)


if __name__ == "__main__":
    main()
