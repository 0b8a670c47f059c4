"""PIVOT and UNPIVOT (DuckDB's statements) against a real quiverd over
Flight, with DuckDB on the same data as the oracle: the columns (names,
order, types' values) and rows of PIVOT ... ON ... [IN (...)] [USING ...]
[GROUP BY ...] over tables, subqueries and CTEs, on strings, integers, dates
and a column with NULLs, and of UNPIVOT ... ON ... [INTO NAME n VALUE v];
into pandas; and their errors."""
import datetime
import random

import duckdb
import pyarrow as pa
import pytest

from flightutil import get, put, same_as_duckdb


@pytest.fixture(scope="module")
def both(quiverd):
    client = quiverd.flight()
    rnd = random.Random(21)
    n = 2000
    base = datetime.datetime(2024, 5, 1)
    t = pa.table({"ts": pa.array([base + datetime.timedelta(minutes=rnd.randint(0, 7 * 1440)) for _ in range(n)],
                                 pa.timestamp("ns")),
                  "sym": pa.array([rnd.choice(["AAPL", "MSFT", "NVDA", None]) for _ in range(n)], pa.string()),
                  "venue": pa.array([rnd.randint(1, 4) for _ in range(n)], pa.int32()),
                  "px": pa.array([round(rnd.uniform(10, 99), 2) for _ in range(n)], pa.float64()),
                  "qty": pa.array([rnd.randint(1, 500) for _ in range(n)], pa.int64())})
    put(client, "trades", t)
    con = duckdb.connect()
    con.register("src", t)
    con.execute("CREATE TABLE trades AS SELECT ts::TIMESTAMP AS ts, sym, venue, px, qty FROM src")
    yield client, con
    client.close()


ORACLE = [
    "PIVOT trades ON sym USING sum(qty) GROUP BY venue ORDER BY venue",
    "PIVOT trades ON sym IN ('AAPL', 'NVDA') USING avg(px) AS p, count(*) AS n GROUP BY venue ORDER BY venue",
    "PIVOT trades ON venue USING max(px) GROUP BY sym ORDER BY sym NULLS FIRST",
    "PIVOT (SELECT date_trunc('day', ts)::DATE AS d, sym, qty FROM trades WHERE sym IS NOT NULL) ON sym USING sum(qty) "
    "ORDER BY d",
    "WITH t AS (SELECT venue, sym, px FROM trades) PIVOT t ON venue IN (1, 3) USING min(px) GROUP BY sym ORDER BY sym",
    "SELECT * FROM (PIVOT trades ON sym USING count(*) GROUP BY venue) p WHERE p.AAPL > 100 ORDER BY venue",
    "PIVOT (SELECT sym, venue FROM trades) ON venue GROUP BY sym ORDER BY sym NULLS LAST",
    "PIVOT trades ON sym USING sum(qty) GROUP BY venue ORDER BY venue DESC LIMIT 2",
    "PIVOT (SELECT venue, sym, qty FROM trades) ON sym USING sum(qty) ORDER BY venue",
    "PIVOT (SELECT date_trunc('day', ts)::DATE AS d, venue, qty FROM trades) ON d USING sum(qty) ORDER BY venue",
    "PIVOT (SELECT px > 50 AS hi, venue, qty FROM trades) ON hi USING sum(qty) ORDER BY venue",
    "UNPIVOT (SELECT venue, min(px) AS lo, max(px) AS hi, avg(px) AS mean FROM trades GROUP BY venue) ON lo, hi, mean "
    "INTO NAME stat VALUE px ORDER BY ALL",
    "UNPIVOT (SELECT sym, venue, qty, px FROM trades WHERE qty < 20) ON qty, px ORDER BY ALL",
    "SELECT name, count(*) AS n, sum(value) AS s FROM (UNPIVOT (PIVOT trades ON sym USING sum(qty) GROUP BY venue) ON AAPL, MSFT) "
    "GROUP BY name ORDER BY name",
]


@pytest.mark.parametrize("sql", ORACLE)
def test_pivot_matches_duckdb(both, sql):
    client, con = both
    same_as_duckdb(client, con, sql)


def test_pivot_into_pandas(both):
    client, _ = both
    df = get(client, "PIVOT trades ON sym IN ('AAPL', 'MSFT') USING sum(qty) GROUP BY venue ORDER BY venue").to_pandas()
    assert list(df.columns) == ["venue", "AAPL", "MSFT"] and len(df) == 4


def test_explain_pivot_is_a_grouped_aggregate(both):
    client, _ = both
    plan = "\n".join(get(client, "EXPLAIN PIVOT trades ON sym USING sum(qty) GROUP BY venue").column(0).to_pylist())
    assert "HASH_AGGREGATE" in plan, plan


@pytest.mark.parametrize("sql,msg", [
    ("PIVOT trades ON sym USING qty", "PIVOT USING needs aggregates"),
    ("PIVOT trades ON sym, venue USING sum(qty)", "PIVOT ON takes one column or expression"),
    ("PIVOT nope ON sym", "nope"),
    ("PIVOT trades ON ts USING count(*) GROUP BY venue", "more than 1000 columns"),
    ("UNPIVOT trades ON qty + 1", "UNPIVOT ON takes column names"),
    ("UNPIVOT trades ON nope", "unknown column 'nope'"),
])
def test_pivot_errors(both, sql, msg):
    client, _ = both
    with pytest.raises(pa.ArrowException, match=msg):
        get(client, sql)


def test_summarize_matches_duckdb(both):
    client, con = both
    for sql in ["SUMMARIZE trades", "SUMMARIZE SELECT venue, px, qty FROM trades WHERE qty < 100"]:
        ours = get(client, sql)
        theirs = con.sql(sql)
        assert ours.column_names == theirs.columns
        exact = ["column_name", "min", "max", "count", "null_percentage"]
        idx = [theirs.columns.index(c) for c in exact]
        want = [tuple(str(r[i]) if r[i] is not None else None for i in idx) for r in theirs.fetchall()]
        got = [tuple(str(r[c]) if r[c] is not None else None for c in exact) for r in ours.to_pylist()]
        got = [(g[0], g[1].replace(".000000000", "") if g[1] else g[1], g[2].replace(".000000000", "") if g[2] else g[2],
                g[3], g[4]) for g in got]
        assert got == want, (sql, got, want)
        types = dict(zip(ours.column("column_name").to_pylist(), ours.column("column_type").to_pylist()))
        assert types["px"] == "DOUBLE" and types["qty"] == "BIGINT" and types["venue"] == "INTEGER"
        num = {r["column_name"]: r for r in ours.to_pylist()}
        ref = {r[0]: r for r in theirs.fetchall()} or {r[0]: r for r in con.sql(sql).fetchall()}
        assert float(num["px"]["avg"]) == pytest.approx(float(ref["px"][5]))
        assert float(num["qty"]["std"]) == pytest.approx(float(ref["qty"][6]))
