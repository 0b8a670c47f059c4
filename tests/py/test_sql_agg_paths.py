"""The aggregate's fast paths through a real quiverd, each answer compared
with DuckDB's on the same rows.

GROUP BY a plain utf8 column: the per-row string path (in memory, and the
open tail of a durable table), the dictionary-code path (row groups storage
sealed into column files keeps dictionary-encoded when that is smaller, each
with a dictionary of its own), mixed in one query and across a restart; NULL
strings, long strings, strings sharing prefixes, the empty string.

Time ranges: count/sum/avg over ts ranges whose bounds fall exactly on
row-group edges, duplicate timestamps at the bounds and across an edge, NULL
timestamps, unsorted row groups, deleted rows."""
import datetime
import math

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

RG = 1000  # --rowgroup-rows: the tables below cross many row groups


def put(client, name, t):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema)
    w.write_table(t, max_chunksize=700)  # batches straddle row-group edges
    w.close()


def q(client, sql):
    return client.do_get(fl.Ticket(sql.encode())).read_all().to_pylist()


def norm(v):
    if isinstance(v, float):
        return ("f", v)
    if isinstance(v, datetime.datetime):
        return ("t", v.replace(tzinfo=None))
    return ("v", v)


def same_rows(got, want, sql):
    key = lambda r: tuple((x is None, str(x)) for x in r)  # noqa: E731
    got = sorted((tuple(r.values()) for r in got), key=key)
    want = sorted((tuple(r) for r in want), key=key)
    assert len(got) == len(want), (sql, len(got), len(want))
    for a, b in zip(got, want):
        assert len(a) == len(b), sql
        for x, y in zip(a, b):
            if x is None or y is None:
                assert x is None and y is None, (sql, a, b)
            elif isinstance(x, float) or isinstance(y, float):
                assert math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9), (sql, a, b)
            else:
                assert norm(x)[1] == norm(y)[1], (sql, a, b)


def sym_tables():
    """Row groups of RG rows with different symbol sets (so different
    dictionaries), one with too many distinct values to be encoded, one with
    NULLs, long and prefix-sharing strings; plus a tail for later."""
    rng = np.random.default_rng(7)
    a = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "IBM", "X", "ab"]
    b = ["ORCL", "IBM", "AAPL", "nvda", "a much longer symbol name", "AAPL ", "AAPLx", ""]
    c = ["a much longer symbol name", "a much longer symbol namf", "INTC", "AAPL", None, "abcdefgh", "abcdefghi",
         "abcdefghijklmnop", "abcdefghijklmnopq", "é€", None]
    parts = [
        [a[i] for i in rng.integers(0, len(a), RG)],
        [b[i] for i in rng.integers(0, len(b), RG)],
        ["s%d" % i for i in rng.integers(0, 5000, RG)],  # high cardinality: stays plain
        [c[i] for i in rng.integers(0, len(c), RG)],
        [a[i] for i in rng.integers(0, len(a), RG // 2)],  # the open tail
    ]

    def table(syms, start):
        n = len(syms)
        qty = rng.integers(-50, 1000, n)
        return pa.table({
            "ts": pa.array(np.arange(start, start + n, dtype=np.int64) * 1000, type=pa.timestamp("ns")),
            "sym": pa.array(syms, type=pa.string()),
            "qty": pa.array(qty, type=pa.int64(), mask=rng.random(n) < 0.05),
            "px": pa.array(rng.uniform(1, 100, n)),
        })

    first = table([s for p in parts[:4] for s in p], 0)
    tail = table(parts[4], first.num_rows)
    return first, tail


SYM_QUERIES = [
    "SELECT sym, count(*), count(sym), sum(qty), avg(px), min(qty), max(px), min(sym), max(sym) FROM t GROUP BY sym",
    "SELECT sym, count(*), sum(qty) FROM t WHERE qty > 500 GROUP BY sym",
    "SELECT sym, sum(qty), avg(qty) FROM t WHERE px < 30 AND sym <> 'IBM' GROUP BY sym",
    "SELECT sym, count(DISTINCT qty) FROM t GROUP BY sym",
    "SELECT sym, qty % 3, count(*) FROM t GROUP BY sym, qty % 3",
    "SELECT lower(sym), count(*), sum(px) FROM t GROUP BY lower(sym)",
    "SELECT sym, count(*) FROM t GROUP BY sym HAVING count(*) > 100",
    "SELECT count(*), sum(qty), avg(px), count(qty) FROM t",
]


def check_syms(client, duck):
    for sql in SYM_QUERIES:
        same_rows(q(client, sql), duck.execute(sql).fetchall(), sql)


@pytest.mark.parametrize("durable", [False, True])
def test_group_by_utf8_against_duckdb(start_quiverd, tmp_path, durable):
    first, tail = sym_tables()
    args = ["--data-dir", str(tmp_path / "d")] if durable else ["--in-memory"]
    args += ["--rowgroup-rows", str(RG), "--threads", "2"]
    srv = start_quiverd(*args)
    c = srv.flight()
    put(c, "t", first)
    duck = duckdb.connect()
    duck.execute("SET threads TO 1")
    duck.register("t_all", first)
    duck.execute("CREATE TABLE t AS SELECT * FROM t_all")
    check_syms(c, duck)
    if durable:  # sealed row groups come back from their files, dictionary-encoded where smaller
        assert srv.stop() == 0
        srv = start_quiverd(*args)
        c = srv.flight()
        check_syms(c, duck)
    put(c, "t", tail)  # a plain open tail after the coded row groups
    duck.register("t_tail", tail)
    duck.execute("INSERT INTO t SELECT * FROM t_tail")
    check_syms(c, duck)


def range_tables():
    rng = np.random.default_rng(3)
    n = 6 * RG
    i = np.arange(n, dtype=np.int64)
    qty = rng.integers(0, 1000, n)
    return {
        "uniq": i * 10,                        # row group k holds [10000k, 10000k + 9990] us
        "dups": (i // 4) * 10,                 # four rows per timestamp, edges inside a run
        "tnull": i * 10,                       # with NULL timestamps (below)
        "shuf": rng.permutation(n) * 10,       # unsorted row groups
    }, qty


RANGES = [
    (">=", 10000, "<", 20000),   # exactly row group 1
    (">=", 10000, "<", 40000),   # row groups 1..3, both bounds on edges
    (">", 9990, "<=", 19990),    # the same rows, bounds on the last rows of groups
    (">=", 9990, "<", 10010),    # across an edge
    (">=", 12340, "<", 45670),   # inside groups at both ends
    (">=", 0, "<", 60000),       # everything
    (">=", 60000, "<", 90000),   # nothing (beyond the end)
    (">=", -100, "<", 0),        # nothing (before the start)
    (">=", 2500, "<=", 2500),    # one timestamp (duplicates in dups)
    (">=", 14990, "<", 15000),
]


def test_time_range_aggregates_against_duckdb(start_quiverd):
    cols, qty = range_tables()
    srv = start_quiverd("--in-memory", "--rowgroup-rows", str(RG), "--threads", "2")
    c = srv.flight()
    duck = duckdb.connect()
    duck.execute("SET threads TO 1")
    rng = np.random.default_rng(5)
    for name, ts in cols.items():
        mask = (rng.random(len(ts)) < 0.1) if name == "tnull" else None
        qmask = rng.random(len(ts)) < 0.02
        t = pa.table({"ts": pa.array(ts * 1000, type=pa.int64(), mask=mask).cast(pa.timestamp("ns")),
                      "qty": pa.array(qty, type=pa.int64(), mask=qmask if name == "tnull" else None)})
        put(c, name, t)
        duck.register(name + "_a", t)
        duck.execute("CREATE TABLE %s AS SELECT * FROM %s_a" % (name, name))
    def lit(us):  # timestamps are whole microseconds (DuckDB's resolution)
        return "TIMESTAMP '%s'" % (datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=us))

    # rows deleted inside a covered row group and at a bound
    for sql in ["DELETE FROM uniq WHERE ts >= %s AND ts < %s" % (lit(21000), lit(22000)),
                "DELETE FROM uniq WHERE ts = %s" % lit(10000)]:
        q(c, sql)
        duck.execute(sql)

    for name in cols:
        for op1, lo, op2, hi in RANGES:
            where = "ts %s %s AND ts %s %s" % (op1, lit(lo), op2, lit(hi))
            for sel in ["count(*), sum(qty)", "count(*), count(ts), sum(qty), avg(qty), min(ts), max(ts)"]:
                sql = "SELECT %s FROM %s WHERE %s" % (sel, name, where)
                same_rows(q(c, sql), duck.execute(sql).fetchall(), sql)
        sql = "SELECT count(*), sum(qty) FROM %s WHERE ts BETWEEN %s AND %s" % (name, lit(10000), lit(30000))
        same_rows(q(c, sql), duck.execute(sql).fetchall(), sql)


def test_sum_overflow_is_checked_on_the_result(start_quiverd):
    srv = start_quiverd("--in-memory", "--rowgroup-rows", str(RG))
    c = srv.flight()
    big = 2 ** 62
    put(c, "o", pa.table({"g": pa.array(["a", "a", "a", "b"]), "v": pa.array([big, big, -big, big], type=pa.int64())}))
    # the running sum passes 2^63 but the result fits: DuckDB's answer
    assert q(c, "SELECT g, sum(v) FROM o GROUP BY g ORDER BY g") == [{"g": "a", "sum(v)": big}, {"g": "b", "sum(v)": big}]
    put(c, "o2", pa.table({"v": pa.array([big, big], type=pa.int64())}))
    with pytest.raises((fl.FlightError, pa.ArrowInvalid), match="overflow in sum"):
        q(c, "SELECT sum(v) FROM o2")
