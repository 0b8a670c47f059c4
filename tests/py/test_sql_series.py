"""Table functions range() / generate_series(), arg_min / arg_max per symbol,
and the gap-filled 1-minute bars recipe of docs/sql.md, differential against
DuckDB: every form through build/sql_tool, and again through the server
(Flight DoGet; placeholders through Flight SQL), plus the errors a user meets
and a huge series that streams, stops at LIMIT and is cancelled by
--query-timeout."""
import datetime
import os
import random
import re
import time

import duckdb
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from test_sql_differential import Quiver

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
DAY = datetime.datetime(2024, 1, 2)
SYMS = ["AAPL", "MSFT", "GOOG"]
TS1, TS2 = "TIMESTAMP '2024-01-01 00:00:00'", "TIMESTAMP '2024-01-01 05:00:00'"

# (query, row order fixed by the query)
QUERIES = [
    ("SELECT * FROM range(5)", True),
    ("SELECT * FROM range(2, 7)", True),
    ("SELECT * FROM range(10, 0, -3)", True),
    ("SELECT * FROM range(0, 10, -1)", True),
    ("SELECT * FROM range(-3)", True),
    ("SELECT * FROM range(1, 1)", True),
    ("SELECT * FROM generate_series(5)", True),
    ("SELECT * FROM generate_series(2, 7)", True),
    ("SELECT * FROM generate_series(10, 0, -3)", True),
    ("SELECT * FROM generate_series(10, 1, -3)", True),
    ("SELECT * FROM generate_series(1, 1)", True),
    ("SELECT * FROM generate_series(5, 1)", True),
    ("SELECT * FROM range(NULL)", True),
    ("SELECT * FROM generate_series(1, NULL)", True),
    ("SELECT * FROM range(1, 10, NULL)", True),
    ("SELECT * FROM range(NULL, NULL, NULL)", True),
    ("SELECT * FROM range('4')", True),
    ("SELECT * FROM range(CAST(3 AS INTEGER))", True),
    ("SELECT * FROM range(1 + 1, 3 * 3, 7 - 5)", True),
    ("SELECT * FROM range(9223372036854775800, 9223372036854775807, 3)", True),
    ("SELECT * FROM generate_series(9223372036854775805, 9223372036854775807)", True),
    ("SELECT * FROM generate_series(-9223372036854775807, -9223372036854775808, -1)", True),
    ("SELECT * FROM range(-9223372036854775808, 9223372036854775807, 9223372036854775807)", True),
    ("SELECT * FROM generate_series(-9223372036854775808, 9223372036854775807, 9223372036854775807)", True),
    # timestamps by INTERVAL steps
    ("SELECT * FROM range(%s, %s, INTERVAL 1 HOUR)" % (TS1, TS2), True),
    ("SELECT * FROM generate_series(%s, %s, INTERVAL 1 HOUR)" % (TS1, TS2), True),
    ("SELECT * FROM generate_series(%s, %s, INTERVAL '90 minutes')" % (TS1, TS2), True),
    ("SELECT * FROM generate_series(%s, %s, -INTERVAL 1 HOUR)" % (TS2, TS1), True),
    ("SELECT * FROM range(%s, %s, INTERVAL '-1 hour')" % (TS2, TS1), True),
    ("SELECT * FROM generate_series(%s, %s, INTERVAL 1 HOUR)" % (TS2, TS1), True),
    ("SELECT * FROM range(%s, %s, INTERVAL 1 HOUR)" % (TS1, TS1), True),
    ("SELECT * FROM range(TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-01 00:00:01', INTERVAL 300 MILLISECOND)", True),
    ("SELECT * FROM generate_series(%s, NULL, INTERVAL 1 HOUR)" % TS1, True),
    ("SELECT * FROM generate_series(%s, %s, NULL)" % (TS1, TS2), True),
    ("SELECT * FROM range(DATE '2024-01-01', DATE '2024-01-05', INTERVAL 1 DAY)", True),
    ("SELECT count(*), min(m), max(m) FROM range(TIMESTAMP '2024-01-02', TIMESTAMP '2024-01-03', INTERVAL 1 MINUTE) g(m)",
     True),
    ("SELECT date_trunc('hour', m) AS h, count(*) FROM generate_series(%s, TIMESTAMP '2024-01-01 05:59:00', "
     "INTERVAL 1 MINUTE) g(m) GROUP BY h ORDER BY h" % TS1, True),
    # names and aliases
    ("SELECT * FROM range(3) t(i)", True),
    ("SELECT * FROM range(3) AS t(i)", True),
    ("SELECT t.i FROM range(3) t(i)", True),
    ("SELECT * FROM range(3) t", True),
    ("SELECT t.t FROM range(3) t", True),
    ("SELECT range.range FROM range(3)", True),
    ("SELECT generate_series + 1 AS x FROM generate_series(2)", True),
    ("SELECT * FROM range(3) a, generate_series(1, 2) b ORDER BY ALL", True),
    # WHERE / GROUP BY / ORDER BY / LIMIT on top
    ("SELECT * FROM range(1, 10, 2) WHERE range > 4", True),
    ("SELECT i % 3 AS g, count(*), sum(i) FROM range(100) t(i) WHERE i > 10 GROUP BY g ORDER BY g", True),
    ("SELECT * FROM range(1000) t(i) ORDER BY i DESC LIMIT 3", True),
    ("SELECT * FROM range(1000000000000) LIMIT 3", True),
    ("SELECT * FROM generate_series(1, 1000000000000) LIMIT 2 OFFSET 5", True),
    ("SELECT count(*) AS n, min(range) AS lo, max(range) AS hi, sum(range) AS s FROM range(100000)", True),
    ("SELECT DISTINCT range % 4 AS m FROM range(50) ORDER BY m", True),
    # subqueries, CTEs, set operations
    ("SELECT max(i) FROM (SELECT * FROM range(10) t(i)) s", True),
    ("WITH s AS (SELECT * FROM generate_series(1, 5) g(x)) SELECT sum(x) FROM s", True),
    ("WITH s AS (SELECT * FROM range(4) r(x)) SELECT a.x, b.x FROM s a JOIN s b ON a.x = b.x + 1 ORDER BY 1", True),
    ("SELECT * FROM range(3) UNION ALL SELECT * FROM generate_series(5, 6) ORDER BY 1", True),
    ("SELECT * FROM range((SELECT count(*) FROM t))", True),
    ("SELECT * FROM range(10) r(i) WHERE i IN (SELECT k FROM t) ORDER BY i", True),
    ("SELECT * FROM range(10) r(i) WHERE EXISTS (SELECT 1 FROM t WHERE t.k = r.i) ORDER BY i", True),
    ("SELECT * FROM t WHERE k IN (SELECT * FROM range(3)) ORDER BY k, v", True),
    # joins with tables, on both sides
    ("SELECT t.k, t.v, r.i FROM t JOIN range(5) r(i) ON t.k = r.i ORDER BY ALL", True),
    ("SELECT r.i, t.v FROM range(6) r(i) JOIN t ON t.k = r.i ORDER BY r.i, t.v", True),
    ("SELECT r.i, t.v FROM range(6) r(i) LEFT JOIN t ON t.k = r.i ORDER BY r.i, t.v", True),
    ("SELECT t.k, t.v, r.i FROM t LEFT JOIN range(3) r(i) ON t.k = r.i ORDER BY t.k, t.v", True),
    ("SELECT r.i, t.v FROM t RIGHT JOIN generate_series(0, 5) r(i) ON t.k = r.i ORDER BY r.i, t.v", True),
    ("SELECT a.x, b.y FROM range(5) a(x) FULL JOIN generate_series(3, 8) b(y) ON a.x = b.y ORDER BY 1, 2", True),
    ("SELECT count(*), sum(r.i) AS s FROM range(100000) r(i) JOIN t ON t.k = r.i % 7", True),
    ("SELECT count(*), sum(r.i) AS s FROM t JOIN range(100000) r(i) ON r.i = t.k * 1000", True),
    ("SELECT t.v, count(*) FROM t, range(4) GROUP BY t.v ORDER BY t.v", True),
    ("SELECT tr.symbol, count(*) FROM generate_series(TIMESTAMP '2024-01-02 10:00:00', TIMESTAMP '2024-01-02 10:59:00', "
     "INTERVAL 1 MINUTE) m(minute) JOIN trades tr ON date_trunc('minute', tr.ts) = m.minute GROUP BY 1 ORDER BY 1", True),
    # the last row per symbol
    ("SELECT symbol, arg_max(price, ts), arg_min(price, ts), max(ts), min(ts) FROM trades GROUP BY symbol ORDER BY symbol",
     True),
    ("SELECT symbol, arg_max(volume, ts), arg_min(volume, ts) FROM trades GROUP BY symbol ORDER BY symbol", True),
    ("SELECT arg_max(symbol, ts), arg_min(symbol, ts), arg_max(ts, ts) FROM trades", True),
    ("SELECT symbol, arg_max(price, ts) FROM trades WHERE ts < TIMESTAMP '2024-01-02 12:00:00' GROUP BY symbol "
     "ORDER BY symbol", True),
]

ERRORS = [
    ("SELECT * FROM range(1, 10, 0)", "the step must not be 0"),
    ("SELECT * FROM generate_series(%s, %s, INTERVAL 0 SECOND)" % (TS1, TS2), "the step must not be 0"),
    ("SELECT * FROM range(1.5)", "arguments must be BIGINT"),
    ("SELECT * FROM range(true)", "arguments must be BIGINT"),
    ("SELECT * FROM range(%s, %s)" % (TS1, TS2), "a start, a stop and an INTERVAL step"),
    ("SELECT * FROM range(%s, %s, 1)" % (TS1, TS2), "the step between timestamps must be an INTERVAL"),
    ("SELECT * FROM range(1, %s, INTERVAL 1 HOUR)" % TS2, "the start must be a TIMESTAMP"),
    ("SELECT * FROM range(1, 5, INTERVAL 1 HOUR)", "must be a TIMESTAMP"),
    ("SELECT * FROM t, range(t.k)", "not column references ('t.k'"),
    ("SELECT * FROM range(k)", "not column references ('k'"),
    ("SELECT * FROM range()", "takes 1 to 3 arguments, got 0"),
    ("SELECT * FROM generate_series(1, 2, 3, 4)", "takes 1 to 3 arguments, got 4"),
    ("SELECT range(3)", "range() is a table function"),
    ("SELECT generate_series(1, 3)", "generate_series() is a table function"),
    ("SELECT * FROM nosuch(1)", "unknown table function 'nosuch'"),
    ("SELECT * FROM range(count(*))", "not allowed in the arguments of range()"),
    ("SELECT * FROM range(1, 'abc')", "could not convert string 'abc'"),
    ("SELECT * FROM generate_series(%s, %s, INTERVAL '1 month -40 days')" % (TS1, TS2), "different signs is not supported"),
    ("SELECT * FROM t x(a, b, c)", "x has 2 columns but 3 column aliases were given"),
]


def recipe_sql():
    """The documented gap-filling query, exactly as docs/sql.md shows it."""
    text = open(os.path.join(ROOT, "docs", "sql.md")).read()
    m = re.search(r"<!-- recipe: gap-filled-bars -->\s*```sql\n(.*?)```", text, re.S)
    assert m, "docs/sql.md lost its gap-filled-bars recipe"
    return m.group(1).strip()


def gen_trades():
    rnd = random.Random(12)
    rows = []
    for sym in SYMS:
        # trading in two sessions with quiet minutes; distinct timestamps per symbol (arg_max has no ties)
        secs = rnd.sample(range(9 * 3600 + 1800, 12 * 3600), 700) + rnd.sample(range(14 * 3600, 16 * 3600), 300)
        for s in sorted(secs):
            ts = DAY + datetime.timedelta(seconds=s, microseconds=rnd.choice([0, 250000, 500000]))
            price = round(rnd.uniform(90, 110), 2) if rnd.random() > 0.05 else None
            rows.append((ts, sym, price, rnd.randint(1, 500)))
    rows.append((DAY - datetime.timedelta(hours=1), "AAPL", 1.0, 1))  # the day before: outside the recipe's day
    rows.append((DAY + datetime.timedelta(days=1, minutes=5), "AAPL", 2.0, 1))
    rnd.shuffle(rows)  # not in time order
    return rows


T_ROWS = [(1, "one"), (2, "two"), (2, "deux"), (4, "four"), (None, "null"), (6, None)]


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, datetime.datetime):
        return "'%s'" % v
    if isinstance(v, str):
        return "'%s'" % v
    return repr(v)


def norm(v):
    if isinstance(v, datetime.datetime):
        return str(v.replace(tzinfo=None))
    if hasattr(v, "isoformat") and hasattr(v, "tz_localize"):  # pandas Timestamp
        return str(v.to_pydatetime().replace(tzinfo=None))
    if isinstance(v, float):
        return round(v, 9)
    if hasattr(v, "as_tuple"):
        return round(float(v), 9)
    return v


def norm_rows(rows, ordered):
    out = [tuple(norm(v) for v in r) for r in rows]
    return out if ordered else sorted(out, key=repr)


@pytest.fixture(scope="module")
def duck():
    d = duckdb.connect()
    d.execute("SET threads TO 1")  # arg_max ties aside, one thread keeps DuckDB's answers deterministic
    d.execute("CREATE TABLE trades (ts TIMESTAMP, symbol VARCHAR, price DOUBLE, volume BIGINT)")
    d.executemany("INSERT INTO trades VALUES (?, ?, ?, ?)", gen_trades())
    d.execute("CREATE TABLE t (k BIGINT, v VARCHAR)")
    d.executemany("INSERT INTO t VALUES (?, ?)", T_ROWS)
    return d


@pytest.fixture(scope="module")
def quiver():
    q = Quiver(threads=2, rowgroup_rows=256)
    q.run("CREATE TABLE trades (ts TIMESTAMP, symbol SYMBOL, price DOUBLE, volume BIGINT)")
    rows = gen_trades()
    for i in range(0, len(rows), 400):
        q.run("INSERT INTO trades VALUES " + ", ".join("(%s)" % ", ".join(lit(v) for v in r) for r in rows[i:i + 400]))
    q.run("CREATE TABLE t (k BIGINT, v VARCHAR)")
    q.run("INSERT INTO t VALUES " + ", ".join("(%s, %s)" % (lit(k), lit(v)) for k, v in T_ROWS))
    yield q
    q.close()


def duck_answer(duck, sql):
    cur = duck.execute(sql)
    return [c[0] for c in cur.description], cur.fetchall()


@pytest.mark.parametrize("sql,ordered", QUERIES + [(None, True)])
def test_series_matches_duckdb_through_sql_tool(quiver, duck, sql, ordered):
    sql = sql or recipe_sql()
    names, rows = duck_answer(duck, sql)
    qnames, _, qrows = quiver.run(sql)
    assert qnames == names, sql
    assert norm_rows(qrows, ordered) == norm_rows(rows, ordered), sql


@pytest.mark.parametrize("sql,msg", ERRORS)
def test_series_errors_name_the_problem(quiver, sql, msg):
    with pytest.raises(RuntimeError) as e:
        quiver.run(sql)
    assert msg in str(e.value), (sql, str(e.value))


def test_recipe_has_every_minute(quiver, duck):
    names, _, rows = quiver.run(recipe_sql())
    assert names == ["minute", "open", "high", "low", "close", "volume", "trades"]
    assert len(rows) == 1440 and rows[0][0] == "2024-01-02 00:00:00" and rows[-1][0] == "2024-01-02 23:59:00"
    filled = [r for r in rows if r[6] > 0]
    assert 0 < len(filled) < 1440 and all(r[5] == 0 and r[1] is None for r in rows if r[6] == 0)


def test_insert_select_from_series(quiver):
    quiver.run("CREATE TABLE grid (ts TIMESTAMP, n BIGINT)")
    _, _, rows = quiver.run("INSERT INTO grid SELECT m, 1 FROM range(TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-02', "
                            "INTERVAL 1 MINUTE) g(m)")
    assert rows == [(1440,)]
    _, _, rows = quiver.run("SELECT count(*), min(ts), max(ts) FROM grid")
    assert rows == [(1440, "2024-01-01 00:00:00", "2024-01-01 23:59:00")]


def test_explain_shows_the_table_function(quiver):
    _, _, rows = quiver.run("EXPLAIN SELECT * FROM range(10) t(i) WHERE i > 3")
    text = "\n".join(r[0] for r in rows)
    assert "TABLE FUNCTION range(10) AS t" in text and "TABLE FUNCTION range (INT64, streamed)" in text


# ---- through the server ----

@pytest.fixture(scope="module")
def server():
    from conftest import Server
    s = Server(["--in-memory", "--threads", "2", "--query-timeout", "2s"])
    c = s.flight()
    rows = gen_trades()
    tab = pa.table({"ts": pa.array([r[0] for r in rows], pa.timestamp("ns")),
                    "symbol": pa.array([r[1] for r in rows], pa.string()),
                    "price": pa.array([r[2] for r in rows], pa.float64()),
                    "volume": pa.array([r[3] for r in rows], pa.int64())})
    for name, t in [("trades", tab), ("t", pa.table({"k": pa.array([r[0] for r in T_ROWS], pa.int64()),
                                                     "v": pa.array([r[1] for r in T_ROWS], pa.string())}))]:
        w, _ = c.do_put(fl.FlightDescriptor.for_path(name), t.schema)
        w.write_table(t)
        w.close()
    c.close()
    yield s
    assert s.stop() == 0


def doget(c, sql):
    t = c.do_get(fl.Ticket(sql.encode())).read_all()
    return t.column_names, list(zip(*[col.to_pylist() for col in t.columns]))


def test_series_matches_duckdb_through_the_server(server, duck):
    c = server.flight()
    for sql, ordered in QUERIES + [(recipe_sql(), True)]:
        names, rows = duck_answer(duck, sql)
        qnames, qrows = doget(c, sql)
        assert qnames == names, sql
        assert norm_rows(qrows, ordered) == norm_rows(rows, ordered), sql
    for sql, msg in ERRORS:
        with pytest.raises(pa.ArrowException, match=re.escape(msg)):
            doget(c, sql)
    c.close()


def test_huge_series_streams_stops_and_is_cancelled(server):
    c = server.flight()
    # streams: the first batch of a trillion rows arrives at once, and the reader may walk away
    r = c.do_get(fl.Ticket(b"SELECT * FROM range(1000000000000)"))
    first = r.read_chunk().data
    assert first.num_rows > 0 and first.column(0).to_pylist()[:3] == [0, 1, 2]
    r.cancel()
    # LIMIT stops it
    assert doget(c, "SELECT * FROM range(1000000000000) t(i) WHERE i % 1000 = 7 LIMIT 2")[1] == [(7,), (1007,)]
    # a query that would never end is stopped by --query-timeout between chunks
    t0 = time.monotonic()
    with pytest.raises(pa.ArrowException) as e:
        doget(c, "SELECT count(*) FROM range(1000000000000)")
    assert time.monotonic() - t0 < 30
    assert "cancel" in str(e.value).lower() or "timeout" in str(e.value).lower() or "deadline" in str(e.value).lower()
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    assert doget(c, "SELECT count(*) AS n FROM range(10)")[1] == [(10,)]
    c.close()


def test_placeholders_through_flight_sql(server, duck):
    import adbc_driver_flightsql.dbapi as flight_sql
    conn = flight_sql.connect("grpc://127.0.0.1:%d" % server.flight_port, autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT * FROM range(?, ?, ?)", (1, 20, 4))
    assert cur.fetchall() == duck.execute("SELECT * FROM range(1, 20, 4)").fetchall()
    cur.execute("SELECT count(*) FROM generate_series($1) g(i) JOIN t ON t.k = g.i", (5,))
    assert cur.fetchall() == duck.execute("SELECT count(*) FROM generate_series(5) g(i) JOIN t ON t.k = g.i").fetchall()
    with pytest.raises(Exception, match="the step must not be 0"):
        cur.execute("SELECT * FROM range(1, 5, ?)", (0,))
        cur.fetchall()
    cur.close()
    conn.close()
