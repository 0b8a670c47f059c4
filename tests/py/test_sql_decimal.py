"""DECIMAL in SQL: the same data and queries in quiver's SQL engine (sql_tool)
and in DuckDB, the oracle; the same values and, where DuckDB's types fit 18
digits, the same types.

Where they differ by design (docs/sql.md, DECIMAL): sum() is DECIMAL(18, s)
here (DuckDB: 38 digits), median/quantile_cont are DOUBLE (DuckDB: DECIMAL),
BIGINT widens to DECIMAL(18, 0) (DuckDB: 19); those compare values only.
"""
import decimal
import math
import random

import duckdb
import pytest

D = decimal.Decimal


def rows(seed=7, n=300):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        px = None if rnd.random() < 0.08 else D(rnd.randint(-99999, 999999)) / 100
        fee = None if rnd.random() < 0.08 else D(rnd.randint(-5000, 5000)) / 10000
        q = None if rnd.random() < 0.05 else rnd.randint(-50, 500)
        sym = rnd.choice(["AAPL", "MSFT", "IBM", None])
        out.append((i, px, fee, q, sym))
    return out


DDL = "CREATE TABLE t (id INTEGER, px DECIMAL(10,2), fee DECIMAL(8,4), q INTEGER, sym VARCHAR)"


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return "'%s'" % v
    return str(v)


@pytest.fixture(scope="module")
def both():
    import sys, os
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_sql_differential import Quiver
    q = Quiver()
    con = duckdb.connect()
    data = rows()
    values = ", ".join("(%s)" % ", ".join(lit(v) for v in r) for r in data)
    for s in (DDL, "INSERT INTO t VALUES " + values):
        q.run(s)
        con.execute(s)
    yield q, con
    q.close()


def qv_value(v, t):
    if v is None:
        return None
    if t.startswith("DECIMAL"):
        return D(v)
    return v


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, D) or isinstance(b, D):
        return D(str(a)) == D(str(b))
    return a == b


def check(both, sql, types=True):
    q, con = both
    names, qtypes, qrows = q.run(sql)
    qrows = [tuple(qv_value(v, t) for v, t in zip(r, qtypes)) for r in qrows]
    rel = con.sql(sql)
    drows = rel.fetchall()
    assert len(qrows) == len(drows), sql
    for qr, dr in zip(qrows, drows):
        assert all(same(a, b) for a, b in zip(qr, dr)), (sql, qr, dr)
    if types:
        dtypes = [str(t) for t in rel.types]
        for qt, dt in zip(qtypes, dtypes):
            if types == "decimal" and not qt.startswith("DECIMAL"):
                continue  # literal-only arithmetic is DOUBLE here (1.5 * 2), DECIMAL in DuckDB
            if dt.startswith("DECIMAL"):
                assert qt == dt.replace(" ", ""), (sql, qtypes, dtypes)
    return qrows


SAME_TYPES = [
    "SELECT px, fee FROM t ORDER BY id",
    "SELECT px + fee, px - fee, px * q, px * fee, -px, abs(px), px + 1, fee - 2 FROM t ORDER BY id",
    "SELECT px * 1.1, px + 0.5, fee * 2, px % 0.3, fee % 0.0003 FROM t ORDER BY id",
    "SELECT round(px, 1), round(px), round(fee, 2), round(px, -2), trunc(fee, 1), trunc(px), floor(px), ceil(fee), "
    "ceiling(px) FROM t ORDER BY id",
    "SELECT px > 1.5, px = fee, px >= 100, px BETWEEN -1 AND 10, px IN (1.25, 2.50, 3), px < fee FROM t ORDER BY id",
    "SELECT px::VARCHAR, px::INTEGER, px::BIGINT, px::DOUBLE, fee::DECIMAL(6,2), q::DECIMAL(12,2), "
    "CAST('1.005' AS DECIMAL(5,2)), ' -3.14159 '::DECIMAL(6,3), 1.005::DECIMAL(5,2) FROM t ORDER BY id",
    "SELECT min(px), max(px), count(px), min(fee), max(fee), arg_max(id, px), arg_min(px, id) FROM t",
    "SELECT sym, min(px), max(fee), count(*) FROM t GROUP BY sym ORDER BY sym",
    "SELECT px, count(*) FROM t GROUP BY px HAVING count(*) > 1 ORDER BY px",
    "SELECT DISTINCT fee FROM t ORDER BY fee NULLS LAST LIMIT 20",
    "SELECT id, px FROM t ORDER BY px DESC NULLS LAST, id LIMIT 25",
    "SELECT id, lag(px) OVER (ORDER BY id), max(px) OVER (PARTITION BY sym ORDER BY id) FROM t ORDER BY id",
    "SELECT a.id, b.id FROM t a JOIN t b ON a.px = b.px AND a.id < b.id ORDER BY 1, 2",
    "SELECT CASE WHEN px > 0 THEN px ELSE fee END, coalesce(px, 0), greatest(px, fee), least(px, 1) FROM t ORDER BY id",
    "SELECT id FROM t WHERE px > (SELECT avg(px) FROM t) ORDER BY id",
    "SELECT id, px FROM t WHERE px = 1.5 OR fee = -0.25 OR px < -990 ORDER BY id",
]

VALUES_ONLY = [
    "SELECT sum(px), sum(fee), avg(px), avg(fee), stddev(px), median(px), quantile_cont(fee, 0.3) FROM t",
    "SELECT sym, sum(px), avg(fee) FROM t GROUP BY sym ORDER BY sym",
    "SELECT id, sum(px) OVER (ORDER BY id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW), "
    "avg(px) OVER (PARTITION BY sym) FROM t ORDER BY id",
    "SELECT px / fee, px // 3, px / 2, sqrt(abs(px)), px + 1.5::DOUBLE FROM t WHERE fee <> 0 ORDER BY id",
    "SELECT px * 100000000::BIGINT FROM t ORDER BY id",
]


@pytest.mark.parametrize("sql", SAME_TYPES)
def test_decimal_matches_duckdb(both, sql):
    check(both, sql)


@pytest.mark.parametrize("sql", VALUES_ONLY)
def test_decimal_values_match_duckdb(both, sql):
    check(both, sql, types=False)


def test_decimal_types_where_they_differ(both):
    q, _ = both
    _, types, _ = q.run("SELECT sum(px), median(px), px * 2::BIGINT, avg(px) FROM t GROUP BY px LIMIT 1")
    assert types == ["DECIMAL(18,2)", "FLOAT64", "DECIMAL(18,2)", "FLOAT64"]


ERRORS = [
    ("SELECT 12345::DECIMAL(4,0)", "value 12345 does not fit DECIMAL(4,0)"),
    ("SELECT '99.995'::DECIMAL(4,2)", "could not convert string '99.995' to DECIMAL(4,2)"),
    ("SELECT 'abc'::DECIMAL(4,2)", "could not convert string 'abc'"),
    ("SELECT 1::DECIMAL(19,2)", "DECIMAL precision must be between 1 and 18"),
    ("SELECT 1::DECIMAL(4,5)", "DECIMAL scale must be between 0 and the precision"),
    ("SELECT 999999999999999999::DECIMAL(18,0) + 1::DECIMAL(18,0)", "does not fit 18 digits"),
    ("SELECT 999999999::DECIMAL(18,0) * 9999999999::DECIMAL(18,0)", "does not fit 18 digits"),
    ("SELECT 1.5::DECIMAL(18,10) * 1.5::DECIMAL(18,10)", "scale 20"),
    ("SELECT round(px, q) FROM t", "needs a constant number of digits"),
    ("SELECT px::TIMESTAMP FROM t", "cannot cast DECIMAL(10,2) to TIMESTAMP"),
    ("SELECT sum(x) FROM (SELECT 999999999999999999::DECIMAL(18,0) AS x UNION ALL SELECT 1::DECIMAL(18,0))",
     "overflow in sum()"),
]


@pytest.mark.parametrize("sql,msg", ERRORS)
def test_decimal_errors(both, sql, msg):
    q, _ = both
    with pytest.raises(RuntimeError) as e:
        q.run(sql)
    assert msg in str(e.value), str(e.value)


def test_decimal_create_insert_describe(sqltool):
    sqltool.run("CREATE TABLE d (a DECIMAL, b DECIMAL(5), c NUMERIC(12,4))")
    sqltool.run("INSERT INTO d VALUES (1.0005, 12345.4, '3.14159'), (NULL, -2, 7)")
    _, types, rows_ = sqltool.run("SELECT * FROM d")
    assert types == ["DECIMAL(18,3)", "DECIMAL(5,0)", "DECIMAL(12,4)"]
    assert rows_ == [("1.001", "12345", "3.1416"), (None, "-2", "7.0000")]
    _, _, desc = sqltool.run("DESCRIBE d")
    assert [r[1] for r in desc] == ["DECIMAL(18,3)", "DECIMAL(5,0)", "DECIMAL(12,4)"]
    with pytest.raises(RuntimeError, match="does not fit DECIMAL.5,0."):
        sqltool.run("INSERT INTO d VALUES (1, 123456, 1)")
    _, _, n = sqltool.run("SELECT count(*) FROM d")
    assert n == [(2,)]


def gen_expr(rnd, depth=0):
    """A random expression over the DECIMAL, INTEGER and literal operands."""
    leaves = ["px", "fee", "q", "1.5", "0.25", "3", "-2", "0.001", "7.125"]
    if depth >= 2 or rnd.random() < 0.3:
        return rnd.choice(leaves)
    k = rnd.random()
    a, b = gen_expr(rnd, depth + 1), gen_expr(rnd, depth + 1)
    if k < 0.55:
        return "(%s %s %s)" % (a, rnd.choice(["+", "-", "*", "+", "-"]), b)
    if k < 0.7:
        return "round(%s, %d)" % (a, rnd.randint(-1, 3))
    if k < 0.8:
        return "abs(%s)" % a
    if k < 0.9:
        return "CASE WHEN %s > %s THEN %s ELSE %s END" % (a, b, a, b)
    return "greatest(%s, %s)" % (a, b)


def test_decimal_random_expressions_match_duckdb(both):
    q, con = both
    rnd = random.Random(11)
    checked = 0
    for _ in range(150):
        e = gen_expr(rnd)
        sql = "SELECT id, %s AS v FROM t ORDER BY id" % e
        try:
            con.sql(sql).fetchall()
            rel = con.sql(sql)
        except duckdb.Error:
            continue
        dt = str(rel.types[1])
        if dt.startswith("DECIMAL"):
            p = int(dt[8:].split(",")[0])
            if p > 18:  # DuckDB widened past what DECIMAL holds here
                continue
        try:
            check(both, sql, types="decimal")
        except RuntimeError as err:
            if "overflow" in str(err) or "scale" in str(err):
                continue
            raise
        checked += 1
    assert checked > 100, checked
