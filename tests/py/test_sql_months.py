"""Calendar intervals (months, quarters, years) against a real quiverd over
Flight, checked against DuckDB on the same data: a TIMESTAMP or DATE plus or
minus months (the day clamped to the month's end), date_add, time_bucket by
months, generate_series/range with month steps, and the filters quants write
(`ts >= now() - INTERVAL 1 MONTH`). Quiver's INTERVAL value has no months, so
an INTERVAL with months anywhere else is a clear error (checked here too)."""
import datetime
import random

import duckdb
import pyarrow as pa
import pytest

from flightutil import get, put

DT = datetime.datetime


def stamps(seed=11, n=400):
    """Month ends, leap days, the epoch's neighbours and random instants
    (microsecond precision: DuckDB's TIMESTAMP resolution)."""
    rnd = random.Random(seed)
    edges = [DT(2024, 1, 31, 10), DT(2024, 2, 29), DT(2023, 2, 28, 23, 59, 59, 500000), DT(1999, 12, 31, 12),
             DT(1969, 12, 31, 23, 59, 59, 999999), DT(1970, 1, 1), DT(2000, 2, 29, 6), DT(1900, 3, 31),
             DT(2100, 2, 28), DT(1700, 8, 31, 1, 2, 3)]
    out = list(edges)
    while len(out) < n:
        d = DT(rnd.randint(1750, 2200), rnd.randint(1, 12), 1) + datetime.timedelta(days=rnd.choice([0, 27, 28, 29, 30, rnd.randint(0, 30)]))
        out.append(d + datetime.timedelta(microseconds=rnd.randint(0, 86400 * 10 ** 6 - 1)))
    return [None if i % 37 == 5 else t for i, t in enumerate(out)]


@pytest.fixture(scope="module")
def both(quiverd):
    client = quiverd.flight()
    ts = stamps()
    t = pa.table({"k": pa.array(range(len(ts)), pa.int64()),
                  "ts": pa.array(ts, pa.timestamp("ns")),
                  "d": pa.array([None if x is None else x.date() for x in ts], pa.date32())})
    put(client, "ev", t)
    con = duckdb.connect()
    con.register("ev_src", t)
    con.execute("CREATE TABLE ev AS SELECT k, ts::TIMESTAMP AS ts, d FROM ev_src")
    yield client, con
    client.close()


ORACLE = [
    "SELECT k, ts + INTERVAL 1 MONTH AS a, ts - INTERVAL 1 MONTH AS b FROM ev ORDER BY k",
    "SELECT k, ts + INTERVAL '1 year 2 months 3 days 04:05:06' AS a FROM ev ORDER BY k",
    "SELECT k, ts - INTERVAL '13 months 1 day' AS a, INTERVAL 1 QUARTER + ts AS b FROM ev ORDER BY k",
    "SELECT k, ts + INTERVAL '1.5 months' AS a, ts + INTERVAL '-2.25 months' AS b FROM ev ORDER BY k",
    "SELECT k, ts + INTERVAL 3 YEAR AS a, ts - INTERVAL '1 decade' AS b FROM ev ORDER BY k",
    "SELECT k, d + INTERVAL 1 MONTH AS a, d - INTERVAL '2 years' AS b FROM ev ORDER BY k",
    "SELECT k, ts + INTERVAL 1 MONTH * 7 AS a, ts + (INTERVAL 1 MONTH + INTERVAL 2 DAY) AS b FROM ev ORDER BY k",
    "SELECT k, date_add(ts, INTERVAL 5 MONTH) AS a, date_add(d, INTERVAL '1 year') AS b FROM ev ORDER BY k",
    "SELECT k, ts + '1 month' AS a FROM ev ORDER BY k",
    "SELECT k, ts - (k % 25) * INTERVAL 1 MONTH AS a, INTERVAL '1 year 2 days' * (k % 7 - 3) + d AS b FROM ev ORDER BY k",
    "SELECT k FROM ev WHERE ts >= TIMESTAMP '2100-01-15' - INTERVAL 6 MONTH ORDER BY k",
    "SELECT k FROM ev WHERE ts + INTERVAL 1 MONTH < d + INTERVAL 29 DAY ORDER BY k",
    "SELECT time_bucket(INTERVAL 1 MONTH, ts) AS m, count(*) AS n FROM ev GROUP BY m ORDER BY m NULLS LAST",
    "SELECT time_bucket(INTERVAL 5 MONTH, ts) AS m, count(*) AS n FROM ev GROUP BY m ORDER BY m NULLS LAST",
    "SELECT time_bucket(INTERVAL '1 year', d) AS y, count(*) AS n FROM ev GROUP BY y ORDER BY y NULLS LAST",
    "SELECT k, ts + INTERVAL 1 MONTH - INTERVAL 1 MONTH = ts AS same FROM ev ORDER BY k",
    "SELECT k, sum(k) OVER (ORDER BY ts RANGE BETWEEN INTERVAL 1 MONTH PRECEDING AND CURRENT ROW) AS s FROM ev ORDER BY k",
    "SELECT k, count(*) OVER (ORDER BY ts DESC RANGE BETWEEN INTERVAL '1 year' PRECEDING AND INTERVAL '2 months 3 days' "
    "FOLLOWING) AS s FROM ev ORDER BY k",
    "SELECT k, max(k) OVER (ORDER BY d RANGE BETWEEN INTERVAL '3 months' PRECEDING AND INTERVAL 1 QUARTER FOLLOWING) AS s "
    "FROM ev ORDER BY k",
    "SELECT k, min(k) OVER (ORDER BY d DESC RANGE BETWEEN CURRENT ROW AND INTERVAL '1 month 36 hours' FOLLOWING) AS s "
    "FROM ev ORDER BY k",
    "SELECT * FROM generate_series(TIMESTAMP '2024-01-31', TIMESTAMP '2026-01-31', INTERVAL 1 MONTH) s(m)",
    "SELECT * FROM range(TIMESTAMP '1999-08-31 12:00', TIMESTAMP '1998-01-01', -INTERVAL '1 month') s(m)",
    "SELECT * FROM generate_series(TIMESTAMP '2000-02-29', TIMESTAMP '2030-03-01', INTERVAL '1 year 1 day') s(m)",
    "SELECT * FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-12-31', INTERVAL '1 quarter') s(m)",
]


@pytest.mark.parametrize("sql", ORACLE)
def test_months_match_duckdb(both, sql):
    client, con = both
    ours = [tuple(r.values()) for r in get(client, sql).to_pylist()]
    theirs = con.sql(sql).fetchall()
    assert len(ours) == len(theirs) and len(ours) > 0, sql
    assert ours == theirs, (sql, [(a, b) for a, b in zip(ours, theirs) if a != b][:3])


def test_monthly_gap_filled_bars(both):
    """A month series joined to monthly buckets: every month once, empty ones NULL."""
    client, con = both
    sql = ("SELECT s.m, b.n FROM generate_series(TIMESTAMP '1990-01-01', TIMESTAMP '2010-12-01', INTERVAL 1 MONTH) s(m) "
           "LEFT JOIN (SELECT time_bucket(INTERVAL 1 MONTH, ts) AS m, count(*) AS n FROM ev GROUP BY m) b ON b.m = s.m "
           "ORDER BY s.m")
    ours = [tuple(r.values()) for r in get(client, sql).to_pylist()]
    assert len(ours) == 252 and ours == con.sql(sql).fetchall()


def test_now_minus_a_month_is_a_constant_filter(both):
    client, _ = both
    t = get(client, "SELECT now() - INTERVAL 1 MONTH AS a, now() AS b")
    a, b = t.column("a")[0].as_py(), t.column("b")[0].as_py()
    assert 28 <= (b - a).days <= 31


@pytest.mark.parametrize("sql,msg", [
    ("SELECT INTERVAL 1 MONTH", "an INTERVAL with months or years has no fixed length"),
    ("SELECT k FROM ev WHERE ts - d < INTERVAL '1 year'", "has no fixed length"),
    ("SELECT k + INTERVAL 1 MONTH FROM ev", "added to or subtracted from a TIMESTAMP or DATE, not"),
    ("SELECT INTERVAL 1 MONTH - ts FROM ev", "has no fixed length"),
    ("SELECT time_bucket(INTERVAL '1 month 1 day', ts) FROM ev", "cannot also have days or a time part"),
    ("SELECT TIMESTAMP '2262-04-01' + INTERVAL '1 month'", "outside the TIMESTAMP range"),
    ("SELECT * FROM generate_series(TIMESTAMP '2024-01-01', TIMESTAMP '2024-06-01', INTERVAL '1 month -40 days')",
     "different signs is not supported"),
    ("SELECT ts + INTERVAL '3000000000 months' FROM ev", "bad INTERVAL literal"),
    ("SELECT ts + INTERVAL 2147483647 YEAR FROM ev", "out of range"),
    ("SELECT sum(k) OVER (ORDER BY k RANGE BETWEEN INTERVAL 1 MONTH PRECEDING AND CURRENT ROW) FROM ev",
     "needs one TIMESTAMP or DATE ORDER BY key"),
    ("SELECT sum(k) OVER (ORDER BY ts RANGE BETWEEN -INTERVAL 1 MONTH PRECEDING AND CURRENT ROW) FROM ev",
     "must not be negative"),
])
def test_months_errors_are_clear(both, sql, msg):
    client, _ = both
    with pytest.raises(pa.ArrowException, match=msg):
        get(client, sql)
    assert get(client, "SELECT count(*) AS n FROM ev").column("n").to_pylist() == [400]  # still serving


def test_a_month_back_from_now_prunes_row_groups(both):
    client, _ = both
    plan = "\n".join(get(client, "EXPLAIN SELECT k FROM ev WHERE ts >= now() - INTERVAL 1 MONTH").column(0).to_pylist())
    assert "prune=[ts >= const]" in plan, plan
