"""Differential test of the SQL engine against DuckDB.

Generated data (NULLs, negative numbers, a few and many groups) is loaded
into DuckDB and into Quiver (through build/sql_tool, which runs statements on
an in-memory database and prints results as text), then a few hundred
generated queries run on both and their results are compared: exactly for
integers, strings, booleans and timestamps, within a tight relative tolerance
for floats. Row order is compared only when the query fixes it.
"""
import datetime
import math
import os
import random
import subprocess

import duckdb
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
QUIVERD = os.environ.get("QUIVERD", os.path.join(HERE, "..", "..", "build", "quiverd"))
SQL_TOOL = os.path.join(os.path.dirname(os.path.abspath(QUIVERD)), "sql_tool")

SYMS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "nvda", "Meta", "IBM"]
WORDS = ["alpha", "beta", "gamma", "delta", "", "Epsilon", "zeta eta", "theta_1", "x%y"]
BASE = datetime.datetime(2024, 3, 24, 9, 30, 0)
NROWS = 3000


class Quiver:
    """One sql_tool process; statements go in one per line."""

    def __init__(self, threads=2, rowgroup_rows=256):
        # small row groups: scans, pruning and the parallel plans cross many of them
        assert os.path.exists(SQL_TOOL), "build sql_tool first (it is built with quiverd): %s" % SQL_TOOL
        self.p = subprocess.Popen([SQL_TOOL, "--threads", str(threads), "--rowgroup-rows", str(rowgroup_rows)],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def run(self, sql):
        self.p.stdin.write(sql.replace("\n", " ") + "\n")
        self.p.stdin.flush()
        head = self.p.stdout.readline()
        assert head, "sql_tool died on: " + sql
        if head.startswith("ERROR"):
            assert self.p.stdout.readline() == "END\n"
            raise RuntimeError(head.strip())
        _, ncols, nrows = head.split()
        names = self.p.stdout.readline().rstrip("\n").split("\t")
        types = self.p.stdout.readline().rstrip("\n").split("\t")
        rows = []
        for _ in range(int(nrows)):
            vals = self.p.stdout.readline().rstrip("\n").split("\t")
            rows.append(tuple(conv(v, t) for v, t in zip(vals, types)))
        assert self.p.stdout.readline() == "END\n"
        return names, types, rows

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def conv(v, t):
    if v == "NULL":
        return None
    if t in ("INT32", "INT64"):
        return int(v)
    if t in ("FLOAT32", "FLOAT64"):
        return float(v)
    if t == "BOOL":
        return v == "true"
    if t in ("STRING", "SYMBOL"):
        return "" if v == "(empty)" else v
    return v  # TIMESTAMP: compared as text


def norm_duck(v):
    if isinstance(v, datetime.datetime):
        return str(v)
    if hasattr(v, "as_tuple"):  # Decimal
        return float(v)
    return v


def gen_rows(rnd):
    rows = []
    for i in range(NROWS):
        ts = BASE + datetime.timedelta(seconds=i * 7 + rnd.randint(0, 5), microseconds=rnd.choice([0, 0, 500000, 123456]))
        sym = rnd.choice(SYMS) if rnd.random() > 0.05 else None
        g = rnd.randint(-3, 3) if rnd.random() > 0.1 else None
        k = rnd.randint(-100000, 100000)
        x = round(rnd.uniform(-1000, 1000), rnd.choice([0, 2, 6])) if rnd.random() > 0.1 else None
        n = rnd.randint(-50, 50) if rnd.random() > 0.15 else None
        s = rnd.choice(WORDS) if rnd.random() > 0.1 else None
        b = rnd.random() > 0.5 if rnd.random() > 0.1 else None
        rows.append((i, ts, sym, g, k, x, n, s, b))
    return rows


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return "TIMESTAMP '%s'" % v
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, float):
        return repr(v)
    return str(v)


SCHEMA = "(id BIGINT, ts TIMESTAMP, sym {sym}, g INTEGER, k BIGINT, x DOUBLE, n INTEGER, s VARCHAR, b BOOLEAN)"


@pytest.fixture(scope="module")
def dbs():
    rnd = random.Random(20240324)
    rows = gen_rows(rnd)
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    duck.execute("CREATE TABLE t " + SCHEMA.format(sym="VARCHAR"))
    duck.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    q = Quiver()
    q.run("CREATE TABLE t " + SCHEMA.format(sym="SYMBOL"))
    for i in range(0, len(rows), 500):
        vals = ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows[i:i + 500])
        q.run("INSERT INTO t VALUES " + vals)
    yield duck, q, rnd
    q.close()


# ---- query generator ----
NUM_COLS = ["g", "k", "x", "n", "id"]
INT_COLS = ["g", "k", "n", "id"]


def num_expr(rnd, depth=0):
    r = rnd.random()
    if depth > 1 or r < 0.4:
        return rnd.choice(NUM_COLS)
    if r < 0.55:
        return "(%s %s %s)" % (num_expr(rnd, depth + 1), rnd.choice(["+", "-", "*"]), rnd.choice(["2", "3", "-1", "0.5", "n", "g"]))
    if r < 0.65:
        return "(%s / (abs(%s) + 1))" % (num_expr(rnd, depth + 1), rnd.choice(INT_COLS))
    if r < 0.7:
        return "(%s // (abs(%s) + 1))" % (rnd.choice(INT_COLS), rnd.choice(["g", "n"]))
    if r < 0.75:
        return "(%s %% (abs(%s) + 1))" % (rnd.choice(INT_COLS), rnd.choice(["g", "n"]))
    if r < 0.85:
        f = rnd.choice(["abs(%s)", "round(%s, 2)", "floor(%s)", "ceil(%s)", "round(%s)", "sqrt(abs(%s))",
                        "ln(abs(%s) + 1)", "power(%s, 2)", "exp(%s / 1000.0)", "CAST(%s AS DOUBLE)"])
        return f % num_expr(rnd, depth + 1)
    if r < 0.9:
        return "coalesce(%s, %s)" % (rnd.choice(["n", "g", "x"]), rnd.choice(["0", "-1", "k"]))
    if r < 0.95:
        return "CASE WHEN %s THEN %s ELSE %s END" % (pred(rnd, depth + 1), rnd.choice(NUM_COLS), rnd.choice(["0", "n", "x"]))
    return "length(%s)" % rnd.choice(["s", "sym"])


def str_expr(rnd):
    return rnd.choice(["s", "sym", "lower(sym)", "upper(s)", "substr(s, 2, 3)", "coalesce(s, 'none')",
                       "s || '-' || sym", "CAST(g AS VARCHAR)"])


def pred(rnd, depth=0):
    r = rnd.random()
    if depth < 2 and r < 0.2:
        return "(%s %s %s)" % (pred(rnd, depth + 1), rnd.choice(["AND", "OR"]), pred(rnd, depth + 1))
    if depth < 2 and r < 0.25:
        return "NOT (%s)" % pred(rnd, depth + 1)
    r = rnd.random()
    if r < 0.35:
        return "%s %s %s" % (num_expr(rnd, depth + 1), rnd.choice(["=", "<>", "<", "<=", ">", ">="]),
                             rnd.choice(["0", "1", "-2", "10", "100.5", "-500", "n", "g"]))
    if r < 0.45:
        return "%s IS %sNULL" % (rnd.choice(["x", "n", "g", "s", "sym", "b"]), rnd.choice(["", "NOT "]))
    if r < 0.55:
        return "%s %sIN (%s)" % (rnd.choice(["g", "n"]), rnd.choice(["", "NOT "]),
                                  ", ".join(str(rnd.randint(-5, 5)) for _ in range(rnd.randint(1, 4))))
    if r < 0.6:
        return "sym IN ('AAPL', 'MSFT', 'nvda')"
    if r < 0.7:
        lo = rnd.randint(-600, 400)
        return "x %sBETWEEN %d AND %d" % (rnd.choice(["", "NOT "]), lo, lo + rnd.randint(0, 600))
    if r < 0.8:
        return "%s %sLIKE '%s'" % (rnd.choice(["s", "sym"]), rnd.choice(["", "NOT "]),
                                    rnd.choice(["a%", "%a", "%et%", "_e%", "%", "A%L", "x%%"]))
    if r < 0.9:
        t = BASE + datetime.timedelta(seconds=rnd.randint(0, NROWS * 7))
        return "ts %s TIMESTAMP '%s'" % (rnd.choice(["<", ">=", ">"]), t)
    if r < 0.95:
        return "b" if rnd.random() < 0.5 else "NOT b"
    return "%s %s %s" % (str_expr(rnd), rnd.choice(["=", "<", ">="]), rnd.choice(["'beta'", "'MSFT'", "'m'"]))


AGGS = ["count(*)", "count(x)", "count(DISTINCT n)", "count(DISTINCT sym)", "sum(n)", "sum(k)", "sum(x)",
        "avg(x)", "avg(n)", "min(x)", "max(n)", "min(s)", "max(sym)", "min(ts)", "max(ts)", "stddev(x)",
        "variance(n)", "sum(x * 2 + n)", "avg(abs(k))", "count(b)"]


def gen_query(rnd):
    kind = rnd.random()
    where = " WHERE " + pred(rnd) if rnd.random() < 0.7 else ""
    if kind < 0.3:  # projection + filter
        cols = [rnd.choice([num_expr(rnd), str_expr(rnd), "ts", "b", "id"]) for _ in range(rnd.randint(1, 4))]
        return "SELECT %s FROM t%s" % (", ".join(cols), where), False
    if kind < 0.45:  # scalar aggregates
        aggs = rnd.sample(AGGS, rnd.randint(1, 4))
        return "SELECT %s FROM t%s" % (", ".join(aggs), where), False
    if kind < 0.75:  # group by
        key = rnd.choice(["g", "sym", "k % 50", "b", "s", "date_trunc('hour', ts)", "g, sym", "extract(minute FROM ts)",
                          "time_bucket(INTERVAL '5 minutes', ts)"])
        aggs = rnd.sample(AGGS, rnd.randint(1, 3))
        having = ""
        if rnd.random() < 0.3:
            having = " HAVING count(*) > %d" % rnd.randint(0, 60)
        return "SELECT %s, %s FROM t%s GROUP BY %s%s" % (key, ", ".join(aggs), where, key, having), False
    if kind < 0.9:  # top-N, fully ordered by a unique tiebreaker
        e = rnd.choice(NUM_COLS + ["s", "sym", "ts"])
        d = rnd.choice(["ASC", "DESC"])
        nl = rnd.choice(["", " NULLS FIRST", " NULLS LAST"])
        lim = rnd.choice([1, 5, 10, 100])
        off = rnd.choice(["", " OFFSET 3"])
        return "SELECT id, %s, x FROM t%s ORDER BY %s %s%s, id LIMIT %d%s" % (e, where, e, d, nl, lim, off), True
    if kind < 0.93:
        return "SELECT DISTINCT %s FROM t%s" % (rnd.choice(["g", "sym", "g, b", "lower(sym)", "n % 3"]), where), False
    if kind < 0.96:  # aggregates ordered by an aggregate, ties broken by the unique group key
        key = rnd.choice(["g", "sym", "s"])
        agg = rnd.choice(["count(*)", "sum(n)", "avg(x)", "max(k)"])
        return ("SELECT %s, %s AS a FROM t%s GROUP BY %s ORDER BY a %s NULLS LAST, %s NULLS LAST LIMIT %d"
                % (key, agg, where, key, rnd.choice(["ASC", "DESC"]), key, rnd.randint(1, 5))), True
    if kind < 0.98:  # aggregate over an aggregating subquery
        return ("SELECT count(*), sum(c), max(m) FROM (SELECT g, count(*) AS c, max(x) AS m FROM t%s GROUP BY g) AS q"
                % where), False
    return ("SELECT c, count(*) FROM (SELECT sym AS c, x FROM t%s) AS q GROUP BY c" % where), False


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        a, b = float(a), float(b)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or abs(a - b) < 1e-9
    return a == b


def sort_key(row):
    return tuple((v is None, round(v, 6) if isinstance(v, float) else v if not isinstance(v, bool) else int(v))
                 if not isinstance(v, str) else (v is None, v) for v in row)


def compare(sql, ordered, duck, q):
    """q: a Quiver (sql_tool) or any object whose run(sql) returns (names, types, rows)."""
    try:
        exp = [tuple(norm_duck(v) for v in r) for r in duck.execute(sql).fetchall()]
    except duckdb.Error as e:
        return "duckdb refused %s: %s" % (sql, e)
    try:
        _, _, got = q.run(sql)
    except Exception as e:  # noqa: BLE001 - any failure is reported with its query
        return "quiver failed: %s\n  query: %s" % (e, sql)
    if not ordered:
        key = lambda r: tuple((v is None, str(type(v) is str), round(v, 6) if isinstance(v, float) else v) for v in r)
        try:
            exp.sort(key=lambda r: repr(key(r)))
            got.sort(key=lambda r: repr(key(r)))
        except TypeError:
            pass
    if len(exp) != len(got):
        return "row count %d (quiver) != %d (duckdb)\n  query: %s" % (len(got), len(exp), sql)
    for re_, rg in zip(exp, got):
        if len(re_) != len(rg) or not all(same(x, y) for x, y in zip(rg, re_)):
            return "row mismatch: quiver %r, duckdb %r\n  query: %s" % (rg, re_, sql)
    return None


def test_differential_fixed(dbs):
    duck, q, _ = dbs
    fixed = [
        ("SELECT count(*), sum(n), avg(x), min(ts), max(ts) FROM t", False),
        ("SELECT sym, count(*), sum(k), avg(x), stddev(x) FROM t GROUP BY sym", False),
        ("SELECT g, count(DISTINCT sym), variance(x) FROM t WHERE x > 0 GROUP BY g HAVING count(*) > 10", False),
        ("SELECT id, x FROM t ORDER BY x DESC NULLS LAST, id LIMIT 10", True),
        ("SELECT date_trunc('minute', ts) AS m, count(*) FROM t GROUP BY m", False),
        ("SELECT * FROM t WHERE ts BETWEEN TIMESTAMP '2024-03-24 10:00:00' AND TIMESTAMP '2024-03-24 10:30:00'", False),
        ("SELECT id, CASE WHEN n > 0 THEN 'pos' WHEN n < 0 THEN 'neg' ELSE 'zero' END FROM t", False),
        ("SELECT extract(hour FROM ts), extract(second FROM ts), count(*) FROM t GROUP BY 1, 2", False),
    ]
    bad = [m for m in (compare(s, o, duck, q) for s, o in fixed) if m]
    assert not bad, "\n".join(bad)
    # without ORDER BY a filtered scan still returns rows in table order (parallel workers included)
    ids = [r[0] for r in q.run("SELECT id, x * 2 FROM t WHERE n > 0 OR x < 0")[2]]
    assert len(ids) > 100 and ids == sorted(ids)


def test_differential_generated(dbs):
    duck, q, rnd = dbs
    bad = []
    n = 0
    for _ in range(400):
        sql, ordered = gen_query(rnd)
        m = compare(sql, ordered, duck, q)
        n += 1
        if m:
            bad.append(m)
    assert not bad, "%d of %d queries differ:\n%s" % (len(bad), n, "\n".join(bad[:15]))


class FlightQuiver:
    """The same queries through a real quiverd: data in with DoPut, results out with DoGet."""

    def __init__(self, server):
        self.c = server.flight()

    def put(self, name, table):
        import pyarrow.flight as fl
        w, _ = self.c.do_put(fl.FlightDescriptor.for_path(name), table.schema)
        w.write_table(table, max_chunksize=700)
        w.close()

    def run(self, sql):
        import pyarrow as pa
        import pyarrow.flight as fl
        t = self.c.do_get(fl.Ticket(sql)).read_all()
        cols = []
        for col in t.columns:
            if pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("us"))
                cols.append([None if v is None else str(v) for v in col.to_pylist()])
            else:
                if pa.types.is_dictionary(col.type):
                    col = col.cast(col.type.value_type)
                cols.append(col.to_pylist())
        return t.column_names, [str(c.type) for c in t.columns], list(zip(*cols)) if cols else []


def test_differential_through_flight(quiverd):
    """A smaller run through the real server, so the Arrow path (DoPut in, DoGet out) is compared too."""
    import pyarrow as pa
    rnd = random.Random(7)
    rows = gen_rows(rnd)
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    duck.execute("CREATE TABLE t " + SCHEMA.format(sym="VARCHAR"))
    duck.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    names = ["id", "ts", "sym", "g", "k", "x", "n", "s", "b"]
    types = [pa.int64(), pa.timestamp("ns"), pa.string(), pa.int32(), pa.int64(), pa.float64(), pa.int32(),
             pa.string(), pa.bool_()]
    cols = [pa.array([r[i] for r in rows], type=t) for i, t in enumerate(types)]
    fq = FlightQuiver(quiverd)
    fq.put("t", pa.Table.from_arrays(cols, names=names))
    assert fq.run("SELECT count(*) FROM t")[2] == [(NROWS,)]
    bad = []
    for _ in range(150):
        sql, ordered = gen_query(rnd)
        m = compare(sql, ordered, duck, fq)
        if m:
            bad.append(m)
    assert not bad, "%d queries differ:\n%s" % (len(bad), "\n".join(bad[:15]))


# ---- several tables: joins, subqueries, CTEs, set operations ----
MT_SCHEMAS = {
    "ta": "(id BIGINT, k INTEGER, s VARCHAR, x DOUBLE, ts TIMESTAMP)",
    "tb": "(id BIGINT, k BIGINT, s VARCHAR, y DOUBLE, b BOOLEAN)",
    "tc": "(k INTEGER, name VARCHAR)",
    "te": "(k INTEGER, z DOUBLE)",  # empty
}


def gen_multi(rnd):
    """Skewed keys (a third are 0), duplicates, NULL keys, an empty table."""
    def key(hi):
        r = rnd.random()
        return None if r < 0.08 else 0 if r < 0.35 else rnd.randint(-3, hi)
    ta = [(i, key(40), rnd.choice(WORDS) if rnd.random() > 0.1 else None,
           round(rnd.uniform(-100, 100), 2) if rnd.random() > 0.1 else None,
           BASE + datetime.timedelta(seconds=i * 13)) for i in range(600)]
    tb = [(i, key(60), rnd.choice(WORDS) if rnd.random() > 0.1 else None,
           round(rnd.uniform(-100, 100), 2) if rnd.random() > 0.1 else None,
           rnd.random() > 0.5 if rnd.random() > 0.1 else None) for i in range(450)]
    tc = [(k, "c%d" % k) for k in range(-2, 30)] + [(k, "dup%d" % k) for k in range(0, 30, 7)] + [(None, "cnull")]
    return {"ta": ta, "tb": tb, "tc": tc, "te": []}


def load_multi(duck, run, data):
    for name, schema in MT_SCHEMAS.items():
        duck.execute("CREATE TABLE %s %s" % (name, schema))
        run("CREATE TABLE %s %s" % (name, schema))
        rows = data[name]
        if rows:
            duck.executemany("INSERT INTO %s VALUES (%s)" % (name, ", ".join("?" * len(rows[0]))), rows)
            for i in range(0, len(rows), 300):
                run("INSERT INTO %s VALUES %s" % (name, ", ".join("(" + ", ".join(lit(v) for v in r) + ")"
                                                                    for r in rows[i:i + 300])))


JOIN_KINDS = ["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "INNER JOIN"]
MT_PREDS = ["ta.x > 0", "tb.y < 10", "ta.s LIKE '%a%'", "tb.b", "ta.k IS NOT NULL", "tb.s = ta.s",
            "coalesce(tb.y, 0) > coalesce(ta.x, 0)", "ta.id % 3 = 0", "tc.name <> 'c3'"]


def gen_multi_query(rnd):
    r = rnd.random()
    if r < 0.45:  # 2-4 table join with projection or aggregate on top
        n = rnd.randint(2, 4)
        tabs = ["ta", "tb", "tc", "te"][:n] if rnd.random() < 0.8 else ["ta", "tb", "tc"][:max(2, n - 1)]
        frm = tabs[0]
        for t in tabs[1:]:
            on = "%s.k = %s.k" % (t, rnd.choice(tabs[:tabs.index(t)]))
            if rnd.random() < 0.2 and t == "tb":
                on += " AND tb.y > %d" % rnd.randint(-50, 50)
            frm += " %s %s ON %s" % (rnd.choice(JOIN_KINDS), t, on)
        where = ""
        usable = [p for p in MT_PREDS if all(x + "." not in p or x in tabs for x in ("ta", "tb", "tc"))]
        if usable and rnd.random() < 0.6:
            where = " WHERE " + rnd.choice(usable)
        if rnd.random() < 0.5:
            cols = ", ".join("%s.%s" % (t, rnd.choice({"ta": ["id", "k", "s", "x"], "tb": ["id", "k", "y", "b"],
                                                       "tc": ["k", "name"], "te": ["k", "z"]}[t])) for t in tabs)
            return "SELECT %s FROM %s%s" % (cols, frm, where), False
        key = rnd.choice(["%s.k" % tabs[0], "%s.k" % tabs[-1]])
        return "SELECT %s, count(*), count(%s.k) FROM %s%s GROUP BY %s" % (key, tabs[1], frm, where, key), False
    if r < 0.55:  # comma join, condition in WHERE
        return ("SELECT ta.id, tb.id, tc.name FROM ta, tb, tc WHERE ta.k = tb.k AND tc.k = tb.k AND ta.x > %d"
                % rnd.randint(-100, 90)), False
    if r < 0.62:  # self join and USING
        if rnd.random() < 0.5:
            return "SELECT a1.id, a2.id FROM ta a1 JOIN ta a2 ON a1.k = a2.k AND a1.id < a2.id WHERE a1.k <> 0", False
        return "SELECT k, ta.id, tb.id FROM ta %s tb USING (k) WHERE k > %d" % (rnd.choice(JOIN_KINDS[:2]), rnd.randint(-3, 20)), False
    if r < 0.75:  # IN / NOT IN / EXISTS / NOT EXISTS
        f = rnd.choice(["ta.k IN (SELECT k FROM tb WHERE y > %d)", "ta.k NOT IN (SELECT k FROM tc WHERE k > %d)",
                        "ta.k NOT IN (SELECT k FROM tb WHERE k IS NOT NULL AND y > %d)",
                        "EXISTS (SELECT 1 FROM tb WHERE tb.k = ta.k AND tb.y > %d)",
                        "NOT EXISTS (SELECT 1 FROM tb WHERE tb.k = ta.k AND tb.y < %d)",
                        "EXISTS (SELECT 1 FROM te WHERE te.k = ta.k OR %d > 0)"])
        return "SELECT ta.id, ta.k FROM ta WHERE %s" % (f % rnd.randint(-60, 60)), False
    if r < 0.8:  # scalar subqueries
        return "SELECT id, x - (SELECT avg(y) FROM tb WHERE k = %d) FROM ta WHERE k = %d" % (rnd.randint(-3, 5), rnd.randint(-3, 5)), False
    if r < 0.9:  # set operations
        op = rnd.choice(["UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"])
        a, b = rnd.sample(["SELECT k FROM ta", "SELECT k FROM tb", "SELECT k FROM tc", "SELECT k FROM te",
                           "SELECT k FROM ta WHERE x > 0", "SELECT CAST(k AS INTEGER) FROM tb WHERE b"], 2)
        if rnd.random() < 0.5:
            return "%s %s %s ORDER BY 1 NULLS FIRST" % (a, op, b), True
        return "%s %s %s" % (a, op, b), False
    # CTEs used twice
    return ("WITH q AS (SELECT k, count(*) AS n, sum(x) AS sx FROM ta GROUP BY k), "
            "r AS (SELECT k, max(y) AS my FROM tb WHERE y > %d GROUP BY k) "
            "SELECT q.k, q.n, r.my, q2.sx FROM q JOIN r ON q.k = r.k LEFT JOIN q q2 ON q2.k = r.k + 1" % rnd.randint(-50, 50)), False


def test_differential_multi_table():
    rnd = random.Random(11)
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    q = Quiver(threads=2, rowgroup_rows=64)
    try:
        load_multi(duck, q.run, gen_multi(rnd))
        bad = []
        for _ in range(250):
            sql, ordered = gen_multi_query(rnd)
            m = compare(sql, ordered, duck, q)
            if m:
                bad.append(m)
        assert not bad, "%d queries differ:\n%s" % (len(bad), "\n".join(bad[:15]))
    finally:
        q.close()


def test_differential_multi_table_through_flight(quiverd):
    import pyarrow as pa
    rnd = random.Random(12)
    data = gen_multi(rnd)
    duck = duckdb.connect()
    fq = FlightQuiver(quiverd)
    types = {"ta": [pa.int64(), pa.int32(), pa.string(), pa.float64(), pa.timestamp("ns")],
             "tb": [pa.int64(), pa.int64(), pa.string(), pa.float64(), pa.bool_()],
             "tc": [pa.int32(), pa.string()], "te": [pa.int32(), pa.float64()]}
    names = {"ta": ["id", "k", "s", "x", "ts"], "tb": ["id", "k", "s", "y", "b"], "tc": ["k", "name"], "te": ["k", "z"]}
    for name, schema in MT_SCHEMAS.items():
        duck.execute("CREATE TABLE %s %s" % (name, schema))
        rows = data[name]
        if rows:
            duck.executemany("INSERT INTO %s VALUES (%s)" % (name, ", ".join("?" * len(rows[0]))), rows)
            cols = [pa.array([r[i] for r in rows], type=t) for i, t in enumerate(types[name])]
            fq.put(name, pa.Table.from_arrays(cols, names=names[name]))
        else:
            list(fq.c.do_get(__import__("pyarrow.flight", fromlist=["Ticket"]).Ticket(
                "CREATE TABLE te (k INTEGER, z DOUBLE)")).read_all().to_pylist())
    bad = []
    for _ in range(80):
        sql, ordered = gen_multi_query(rnd)
        m = compare(sql, ordered, duck, fq)
        if m:
            bad.append(m)
    assert not bad, "%d queries differ:\n%s" % (len(bad), "\n".join(bad[:15]))
