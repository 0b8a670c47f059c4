#!/usr/bin/env python3
"""Flight SQL over ADBC against raw Flight DoGet, the same quiverd, the same
table, the same run: `cursor.execute(sql); cursor.fetch_arrow_table()` with
adbc-driver-flightsql (CreatePreparedStatement, GetFlightInfo, DoGet) versus
pyarrow.flight `do_get(Ticket(sql)).read_all()`. Fetches alternate; we report
the median and spread (min..max) of each and of the per-pair time ratio.
Flight SQL should add round trips, not copies: the ratio should stay near 1.

Env: QUIVERD (default build/quiverd), BENCH_ROWS (default 10000000),
BENCH_REPEATS (default 7). Prints a markdown section on stdout.
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))

import adbc_driver_flightsql.dbapi as flight_sql  # noqa: E402
import pyarrow.flight as fl  # noqa: E402

from conftest import Server  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "10000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
SQL = "SELECT * FROM trades"


def main():
    srv = Server(["--in-memory", "--demo-rows", str(ROWS)])
    try:
        raw = srv.flight()
        conn = flight_sql.connect(srv.flight_uri, autocommit=True)
        cur = conn.cursor()

        def via_raw():
            return raw.do_get(fl.Ticket(SQL)).read_all()

        def via_adbc():
            cur.execute(SQL)
            return cur.fetch_arrow_table()

        t = via_raw()
        nbytes, ncols = t.nbytes, t.num_columns
        assert t.num_rows == ROWS and via_adbc().num_rows == ROWS  # and one warm-up each
        del t
        times = {"raw": [], "adbc": []}
        for _ in range(REPEATS):
            for name, fn in (("raw", via_raw), ("adbc", via_adbc)):
                t0 = time.perf_counter()
                got = fn()
                times[name].append(time.perf_counter() - t0)
                assert got.num_rows == ROWS
                del got
        cur.close()
        conn.close()
        raw.close()
    finally:
        srv.stop()

    def cell(xs, fmt="%.3f"):
        return (fmt + " (" + fmt + " .. " + fmt + ")") % (statistics.median(xs), min(xs), max(xs))

    ratios = [a / r for a, r in zip(times["adbc"], times["raw"])]
    print("## Flight SQL (ADBC) vs raw Flight DoGet (bench_flight_sql.py)\n")
    print("`%s`: %d rows x %d columns (%.0f MB of Arrow data) into a pyarrow Table on loopback, the same "
          "quiverd; %d interleaved repeats after one warm-up each; median (min .. max).\n"
          % (SQL, ROWS, ncols, nbytes / 1e6, REPEATS))
    print("| client | seconds | MB/s (median) |")
    print("|---|---|---|")
    print("| pyarrow.flight DoGet, SQL ticket | %s | %.0f |" % (cell(times["raw"]), nbytes / statistics.median(times["raw"]) / 1e6))
    print("| ADBC Flight SQL `fetch_arrow_table` | %s | %.0f |" % (cell(times["adbc"]), nbytes / statistics.median(times["adbc"]) / 1e6))
    print("\nTime ratio ADBC / raw DoGet, per interleaved pair: %s.\n" % cell(ratios, "%.2f"))


if __name__ == "__main__":
    main()
