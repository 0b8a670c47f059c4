"""Window functions, named windows and QUALIFY against DuckDB, ema against pandas.

Generated tick data (several symbols, duplicate timestamps, NULL prices,
rows inserted out of time order, an empty table) goes into DuckDB and into
Quiver (sql_tool with small row groups and two workers, and a real quiverd
through DoPut/DoGet); every window function and frame kind is compared.
Window ORDER BY keys that pick single rows (row_number, lag, ROWS frames)
end with the unique id so both engines see the same order.
"""
import datetime
import random

import duckdb
import pytest

from test_sql_differential import FlightQuiver, Quiver, compare, lit

SYMS = ["AAPL", "MSFT", "GOOG", "IBM", "TSLA"]
BASE = datetime.datetime(2024, 3, 24, 9, 30, 0)
NROWS = 1500
SCHEMA = "(id BIGINT, ts TIMESTAMP, sym {sym}, side VARCHAR, px DOUBLE, qty INTEGER)"


def gen_ticks(rnd):
    rows, t = [], BASE
    for i in range(NROWS):
        if rnd.random() > 0.3:  # else: the same timestamp as the row before
            t = t + datetime.timedelta(seconds=rnd.choice([1, 2, 5, 17, 60]), microseconds=rnd.choice([0, 250000]))
        px = round(100 + rnd.uniform(-20, 20), 2) if rnd.random() > 0.1 else None
        qty = rnd.randint(-50, 300) if rnd.random() > 0.05 else None
        rows.append((i, t, rnd.choice(SYMS), rnd.choice(["B", "S"]), px, qty))
    rnd.shuffle(rows)  # unsorted input
    return rows


@pytest.fixture(scope="module")
def dbs():
    rnd = random.Random(1212)
    rows = gen_ticks(rnd)
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    duck.execute("CREATE TABLE tr " + SCHEMA.format(sym="VARCHAR"))
    duck.executemany("INSERT INTO tr VALUES (?, ?, ?, ?, ?, ?)", rows)
    duck.execute("CREATE TABLE te " + SCHEMA.format(sym="VARCHAR"))
    q = Quiver(threads=2, rowgroup_rows=128)
    q.run("CREATE TABLE tr " + SCHEMA.format(sym="SYMBOL"))
    q.run("CREATE TABLE te " + SCHEMA.format(sym="SYMBOL"))
    for i in range(0, len(rows), 300):
        q.run("INSERT INTO tr VALUES " + ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows[i:i + 300]))
    yield duck, q, rows
    q.close()


PARTS = ["", "PARTITION BY sym", "PARTITION BY sym, side"]
ROW_FUNCS = ["row_number()", "ntile(4)", "ntile(7)", "lag(px)", "lag(px, 2, -1.0)", "lead(qty, 3)",
             "lead(px, 1, 0)", "lag(sym)", "lag(px IGNORE NULLS)", "lead(px IGNORE NULLS)", "lag(ts, 1)"]
PEER_FUNCS = ["rank()", "dense_rank()", "percent_rank()", "cume_dist()"]
FRAME_FUNCS = ["sum(px)", "avg(px)", "min(px)", "max(px)", "count(px)", "count(*)", "sum(qty)", "avg(qty)",
               "min(sym)", "max(ts)", "stddev(px)", "variance(qty)", "first_value(px)", "last_value(px)",
               "nth_value(px, 2)", "first_value(px IGNORE NULLS)", "last_value(px IGNORE NULLS)",
               "nth_value(px, 3 IGNORE NULLS)", "median(px)", "bool_or(qty > 200)", "max(qty)", "min(qty)",
               "quantile_cont(px, 0.25)", "count_if(qty > 100)", "corr(px, qty)", "var_pop(px)"]
ROWS_FRAMES = ["", "ROWS BETWEEN 3 PRECEDING AND CURRENT ROW", "ROWS BETWEEN 1 PRECEDING AND 2 FOLLOWING",
               "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
               "ROWS BETWEEN 5 FOLLOWING AND 10 FOLLOWING", "ROWS BETWEEN 10 PRECEDING AND 5 PRECEDING",
               "ROWS 20 PRECEDING", "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"]
RANGE_FRAMES = ["", "RANGE BETWEEN INTERVAL 5 MINUTE PRECEDING AND CURRENT ROW",
                "RANGE BETWEEN INTERVAL 30 SECOND PRECEDING AND INTERVAL 30 SECOND FOLLOWING",
                "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
                "RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
                "RANGE BETWEEN INTERVAL 1 MINUTE FOLLOWING AND INTERVAL 3 MINUTE FOLLOWING",
                "RANGE BETWEEN INTERVAL 2 MINUTE PRECEDING AND INTERVAL 1 MINUTE PRECEDING"]


def window_queries():
    """Every function with every frame kind; the partitioning cycles through PARTS."""
    qs = []
    for f in ROW_FUNCS:
        for d in ["", " DESC"]:
            qs.append("SELECT id, %s OVER ({p} ORDER BY ts%s, id%s) FROM tr" % (f, d, d))
    for f in PEER_FUNCS:
        qs.append("SELECT id, %s OVER ({p} ORDER BY ts) FROM tr" % f)
        qs.append("SELECT id, %s OVER ({p} ORDER BY qty DESC NULLS FIRST) FROM tr" % f)
        qs.append("SELECT id, %s OVER ({p}) FROM tr" % f)
    for f in FRAME_FUNCS:
        for fr in ROWS_FRAMES:
            qs.append("SELECT id, %s OVER ({p} ORDER BY ts, id %s) FROM tr" % (f, fr))
        if "_value" in f:  # a RANGE frame's order among peers (equal ts) is not defined
            continue
        for fr in RANGE_FRAMES:
            qs.append("SELECT id, %s OVER ({p} ORDER BY ts %s) FROM tr" % (f, fr))
        qs.append("SELECT id, %s OVER ({p} ORDER BY ts DESC RANGE BETWEEN INTERVAL 2 MINUTE PRECEDING AND CURRENT ROW) FROM tr" % f)
        qs.append("SELECT id, %s OVER ({p} ORDER BY qty RANGE BETWEEN 20 PRECEDING AND 10 FOLLOWING) FROM tr" % f)
        qs.append("SELECT id, %s OVER ({p} ORDER BY px DESC NULLS FIRST RANGE BETWEEN 0.5 PRECEDING AND 0.25 FOLLOWING) FROM tr" % f)
    for f in ["sum(px)", "count(*)", "min(sym)", "avg(qty)", "max(px)"]:
        qs.append("SELECT id, %s OVER ({p}) FROM tr" % f)
    return [q.replace("{p}", PARTS[i % len(PARTS)]) for i, q in enumerate(qs)]


FIXED = [
    ("SELECT id, px - lag(px) OVER (PARTITION BY sym ORDER BY ts, id) AS d FROM tr", False),
    ("SELECT sym, ts, id FROM tr QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC, id DESC) = 1", False),
    ("SELECT sym, ts, id, px FROM tr QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC, id DESC) <= 3", False),
    ("SELECT sym, id FROM tr QUALIFY row_number() OVER (PARTITION BY sym, side ORDER BY px NULLS FIRST, id) < 3", False),
    ("SELECT sym, id, row_number() OVER (PARTITION BY sym ORDER BY ts, id) AS rn FROM tr QUALIFY rn = 2", False),
    ("SELECT id FROM tr QUALIFY rank() OVER (PARTITION BY sym ORDER BY ts DESC) <= 2", False),
    ("SELECT id, qty FROM tr WHERE qty > 100 QUALIFY sum(qty) OVER (PARTITION BY sym ORDER BY ts, id) > 2000", False),
    ("SELECT sym, sum(qty), sum(sum(qty)) OVER (), rank() OVER (ORDER BY sum(qty) DESC) FROM tr GROUP BY sym", False),
    ("SELECT sym, side, count(*) AS c, sum(count(*)) OVER (PARTITION BY sym) FROM tr GROUP BY sym, side", False),
    ("SELECT sym, max(px) - min(max(px)) OVER () FROM tr GROUP BY sym HAVING count(*) > 10", False),
    # aggregates that appear only inside a window call
    ("SELECT sym, sum(sum(qty)) OVER (), rank() OVER (ORDER BY max(px) DESC) FROM tr GROUP BY sym", False),
    ("SELECT sym FROM tr GROUP BY sym QUALIFY row_number() OVER (ORDER BY min(ts), sym) <= 2", False),
    ("SELECT id, sum(px) OVER w, avg(px) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), row_number() OVER w "
     "FROM tr WINDOW w AS (PARTITION BY sym ORDER BY ts, id)", False),
    ("SELECT id, count(*) OVER w2 FROM tr WINDOW w1 AS (PARTITION BY sym), w2 AS (w1 ORDER BY ts)", False),
    ("SELECT id, row_number() OVER (ORDER BY ts, id) AS rn FROM tr ORDER BY rn LIMIT 10", True),
    ("SELECT id FROM tr ORDER BY lag(px) OVER (ORDER BY ts, id) DESC NULLS LAST, id LIMIT 7", True),
    ("SELECT id, sum(px) OVER (ORDER BY ts, id) FROM tr WHERE sym = 'IBM' AND qty > 0", False),
    ("SELECT id, row_number() OVER (PARTITION BY sym ORDER BY ts, id), count(*) OVER () FROM te", False),
    ("SELECT count(*) FROM (SELECT sym FROM tr QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC) = 1) AS q", False),
    ("SELECT id, sum(px) FILTER (WHERE side = 'B') OVER (PARTITION BY sym ORDER BY ts, id ROWS 5 PRECEDING) FROM tr", False),
    ("SELECT id, lag(px, 0) OVER (ORDER BY ts, id), lead(px, -2) OVER (ORDER BY ts, id) FROM tr", False),
    ("SELECT id, first_value(sym) OVER (PARTITION BY side ORDER BY ts, id ROWS BETWEEN 3 FOLLOWING AND 1 FOLLOWING) FROM tr", False),
]


def test_window_functions_vs_duckdb(dbs):
    duck, q, _ = dbs
    bad = []
    qs = window_queries()
    for sql in qs:
        m = compare(sql, False, duck, q)
        if m:
            bad.append(m)
    assert not bad, "%d of %d window queries differ:\n%s" % (len(bad), len(qs), "\n".join(bad[:12]))


def test_window_fixed_vs_duckdb(dbs):
    duck, q, _ = dbs
    bad = [m for m in (compare(sql, o, duck, q) for sql, o in FIXED) if m]
    assert not bad, "\n".join(bad)


def test_window_threads_agree(dbs):
    """One worker and four give the same answers (partitions run in parallel)."""
    duck, _, rows = dbs
    q1 = Quiver(threads=1, rowgroup_rows=1000)
    try:
        q1.run("CREATE TABLE tr " + SCHEMA.format(sym="VARCHAR"))
        q1.run("INSERT INTO tr VALUES " + ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows))
        for sql in ["SELECT id, sum(px) OVER (PARTITION BY sym ORDER BY ts RANGE BETWEEN INTERVAL 5 MINUTE PRECEDING AND CURRENT ROW) FROM tr",
                    "SELECT sym, id FROM tr QUALIFY row_number() OVER (PARTITION BY sym ORDER BY ts DESC, id DESC) <= 2"]:
            assert compare(sql, False, duck, q1) is None
    finally:
        q1.close()


def ema_pandas(rows, alpha):
    import pandas as pd
    df = pd.DataFrame(rows, columns=["id", "ts", "sym", "side", "px", "qty"]).sort_values(["sym", "ts", "id"])
    df["px"] = df["px"].astype(float)
    df["e"] = df.groupby("sym")["px"].transform(lambda s: s.ewm(alpha=alpha, adjust=False).mean())
    return {int(i): (None if e != e else float(e)) for i, e in zip(df["id"], df["e"])}


@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0])
def test_ema_matches_pandas(dbs, alpha):
    _, q, rows = dbs
    want = ema_pandas(rows, alpha)
    _, _, got = q.run("SELECT id, ema(px, %r) OVER (PARTITION BY sym ORDER BY ts, id) FROM tr" % alpha)
    assert len(got) == len(want)
    for i, e in got:
        w = want[i]
        assert (e is None) == (w is None), (i, e, w)
        if e is not None:
            assert abs(e - w) <= 1e-9 * max(1.0, abs(w)), (i, e, w)


ERRORS = [
    ("SELECT id FROM tr WHERE row_number() OVER () = 1", "window function row_number is not allowed in WHERE"),
    ("SELECT sym FROM tr GROUP BY sym HAVING rank() OVER () = 1", "not allowed in HAVING"),
    ("SELECT count(*) FROM tr GROUP BY row_number() OVER ()", "not allowed in GROUP BY"),
    ("SELECT sum(row_number() OVER ()) FROM tr", "not allowed in the argument of an aggregate"),
    ("SELECT lag(row_number() OVER ()) OVER () FROM tr", "cannot be nested"),
    ("SELECT sum(px) OVER (ORDER BY qty RANGE BETWEEN INTERVAL 5 MINUTE PRECEDING AND CURRENT ROW) FROM tr",
     "RANGE offset over a numeric ORDER BY key must be a number, got INTERVAL"),
    ("SELECT sum(px) OVER (ORDER BY ts RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) FROM tr",
     "RANGE offset over a TIMESTAMP ORDER BY key must be an INTERVAL"),
    ("SELECT sum(px) OVER (ORDER BY ts ROWS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM tr", "must not be negative"),
    ("SELECT sum(px) OVER (ORDER BY ts, id RANGE BETWEEN INTERVAL 1 MINUTE PRECEDING AND CURRENT ROW) FROM tr",
     "RANGE with an offset needs exactly one ORDER BY key, got 2"),
    ("SELECT sum(px) OVER w FROM tr", "unknown window 'w'"),
    ("SELECT ntile(0) OVER () FROM tr", "ntile: the number of buckets must be positive, got 0"),
    ("SELECT row_number() FROM tr", "row_number is a window function and needs an OVER clause"),
    ("SELECT id FROM tr QUALIFY px", "QUALIFY needs a BOOLEAN expression"),
    ("SELECT sum(px) OVER (ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM tr", "cannot end before it starts"),
    ("SELECT ema(px, 1.5) OVER () FROM tr", "alpha must be a number in (0, 1]"),
    ("SELECT ema(sym, 0.5) OVER () FROM tr", "ema needs a numeric argument"),
    ("SELECT median(DISTINCT px) OVER () FROM tr", "window aggregate median does not support DISTINCT"),
    ("SELECT string_agg(sym ORDER BY ts) OVER () FROM tr", "does not support ORDER BY in its arguments"),
    ("SELECT sum(px) OVER (ORDER BY ts GROUPS BETWEEN INTERVAL 1 MINUTE PRECEDING AND CURRENT ROW) FROM tr",
     "GROUPS frame"),
    ("SELECT sum(px) OVER (ORDER BY ts GROUPS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM tr", "cannot end before it starts"),
    ("SELECT sum(px) OVER (w PARTITION BY side) FROM tr WINDOW w AS (PARTITION BY sym)", "cannot have its own PARTITION BY"),
]


def test_window_errors(dbs):
    _, q, _ = dbs
    for sql, msg in ERRORS:
        with pytest.raises(RuntimeError) as e:
            q.run(sql)
        assert msg in str(e.value), (sql, str(e.value))


def test_window_through_flight(quiverd, dbs):
    import pyarrow as pa
    duck, _, rows = dbs
    names = ["id", "ts", "sym", "side", "px", "qty"]
    types = [pa.int64(), pa.timestamp("ns"), pa.string(), pa.string(), pa.float64(), pa.int32()]
    fq = FlightQuiver(quiverd)
    fq.put("tr", pa.Table.from_arrays([pa.array([r[i] for r in rows], type=t) for i, t in enumerate(types)], names=names))
    rnd = random.Random(5)
    qs = rnd.sample(window_queries(), 60) + [s for s, _ in FIXED if "te" not in s.split()]
    bad = [m for m in (compare(sql, False, duck, fq) for sql in qs) if m]
    assert not bad, "%d of %d differ:\n%s" % (len(bad), len(qs), "\n".join(bad[:10]))


def test_window_memory_limit():
    """The window operator charges what it keeps to --query-memory; the top-k form keeps almost nothing."""
    import subprocess
    from test_sql_differential import SQL_TOOL
    stmts = ["CREATE TABLE a (i BIGINT)", "INSERT INTO a VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
             "CREATE TABLE m (i BIGINT, s VARCHAR)",
             "INSERT INTO m SELECT x.i * 10000 + y.i * 1000 + z.i * 100 + u.i * 10 + v.i, 'sym' || CAST(v.i AS VARCHAR) "
             "FROM a x, a y, a z, a u, a v",
             "SELECT sum(l) FROM (SELECT lag(i) OVER (PARTITION BY s ORDER BY i DESC) AS l FROM m) q",
             "SELECT count(*) FROM (SELECT i FROM m QUALIFY row_number() OVER (PARTITION BY s ORDER BY i DESC) = 1) q"]
    out = subprocess.run([SQL_TOOL, "--memory", "2000000"], input="\n".join(stmts) + "\n", capture_output=True,
                         text=True, timeout=120).stdout.split("END\n")
    assert "RESOURCE_EXHAUSTED query exceeded its memory limit of 2000000 bytes" in out[4], out[4]
    assert out[5].strip().split("\n")[-1] == "10", out[5]
