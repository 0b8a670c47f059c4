#!/usr/bin/env python3
"""ASOF JOIN benchmark of issue #12: BENCH_ASOF_ROWS trades and as many
quotes over 8 symbols (both in time order, as tick data arrives; quote times
distinct so every engine must give the same answer), the prevailing quote
at each trade with an aggregate on top. Quiver end to end through Flight
DoGet (the result is 8 rows, so this is query time) against DuckDB in
process on the same data with the same threads; BENCH_ROUNDS interleaved
rounds, median and spread, ratio = Quiver / DuckDB (below 1: Quiver
faster). Also ASOF LEFT JOIN with a plain aggregate, and the same join
over the quotes in random order (Quiver's sort path). Results are checked
equal before timing. Prints a markdown section."""
import os
import statistics
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ROWS = int(os.environ.get("BENCH_ASOF_ROWS", "10000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
os.environ.setdefault("QUIVERD", os.path.join(ROOT, "build", "quiverd"))
from conftest import Server  # noqa: E402
from benchlib import interleaved, vs_duckdb_row  # noqa: E402

SYMS = np.array(["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "IBM"])


def tables():
    rng = np.random.default_rng(12)
    n = ROWS
    qts = np.arange(n, dtype=np.int64) * 1000 + 1_700_000_000_000_000_000
    tts = np.sort(rng.integers(qts[0], qts[-1] + 1000, n))
    ts = pa.timestamp("ns", tz="UTC")
    quotes = pa.table({
        "sym": pa.array(SYMS[rng.integers(0, 8, n)].astype(object), type=pa.string()),
        "ts": pa.array(qts, type=ts),
        "bid": pa.array(np.round(rng.uniform(10, 500, n), 2)),
    })
    trades = pa.table({
        "sym": pa.array(SYMS[rng.integers(0, 8, n)].astype(object), type=pa.string()),
        "ts": pa.array(tts, type=ts),
        "px": pa.array(np.round(rng.uniform(10, 500, n), 2)),
        "qty": pa.array(rng.integers(1, 1000, n), type=pa.int64()),
    })
    perm = rng.permutation(n)
    return trades, quotes, quotes.take(pa.array(perm))


def put(client, name, t):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema)
    w.write_table(t, max_chunksize=65536)
    w.close()


QUERIES = [
    ("ASOF JOIN + GROUP BY symbol",
     "SELECT t.sym, count(*), sum(t.qty), avg(q.bid), max(t.px - q.bid) FROM trades t "
     "ASOF JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts GROUP BY t.sym"),
    ("ASOF LEFT JOIN + count/sum",
     "SELECT count(*), count(q.bid), sum(q.bid) FROM trades t ASOF LEFT JOIN quotes q ON t.sym = q.sym AND t.ts >= q.ts"),
    ("ASOF JOIN, unsorted quotes",
     "SELECT count(*), sum(q.bid) FROM trades t ASOF JOIN quotes_shuffled q ON t.sym = q.sym AND t.ts >= q.ts"),
]


def close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    return a == b


def main():
    trades, quotes, shuffled = tables()
    srv = Server(["--in-memory", "--threads", str(THREADS), "--query-memory", str(8 << 30)])
    try:
        client = fl.connect(srv.flight_uri)
        put(client, "trades", trades)
        put(client, "quotes", quotes)
        put(client, "quotes_shuffled", shuffled)
        duck = duckdb.connect()
        duck.execute("SET threads TO %d" % THREADS)
        for name, t in (("trades", trades), ("quotes", quotes), ("quotes_shuffled", shuffled)):
            duck.register(name + "_a", t)
            duck.execute("CREATE TABLE %s AS SELECT * FROM %s_a" % (name, name))
            duck.unregister(name + "_a")
        del trades, quotes, shuffled
        out = []
        for label, sql in QUERIES:
            engines = [("Quiver", lambda sql=sql: client.do_get(fl.Ticket(sql.encode())).read_all().to_pylist()),
                       ("DuckDB", lambda sql=sql: duck.execute(sql).fetchall())]
            got = {name: fn() for name, fn in engines}
            qv = sorted(tuple(r.values()) for r in got["Quiver"])
            dk = sorted(got["DuckDB"])
            assert len(qv) == len(dk), (label, len(qv), len(dk))
            for a, b in zip(qv, dk):
                assert all(close(x, y) for x, y in zip(a, b)), (label, a, b)
            times = interleaved(engines, ROUNDS)
            out.append(vs_duckdb_row(label, times, 0))
            print(out[-1], file=sys.stderr, flush=True)
    finally:
        srv.stop()
    print("## ASOF JOIN (bench_asof.py)\n")
    print("%d trades and %d quotes over 8 symbols, both in time order (quotes_shuffled: the same quotes in random "
          "order); %d threads each; Quiver through Flight DoGet, DuckDB %s in process; %d interleaved rounds; "
          "median (min..max) ms, ratio = Quiver / DuckDB per round.\n" % (ROWS, ROWS, THREADS, duckdb.__version__, ROUNDS))
    print("| query | Quiver ms | DuckDB ms | ratio |")
    print("|---|---|---|---|")
    for r in out:
        print(r)


if __name__ == "__main__":
    main()
