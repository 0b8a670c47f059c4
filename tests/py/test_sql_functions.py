"""Differential test of the scalar functions and aggregates against DuckDB.

Generated data with NULLs, empty and non-ASCII strings, negative and zero
numbers and timestamps over several decades (month ends, leap days) is loaded
into DuckDB and into Quiver; every function and aggregate is evaluated on it
by both and the full result sets compared (floats within 1e-9 relative),
through build/sql_tool (256-row row groups, 2 workers, so the aggregates run
as parallel partial aggregations that are merged) and through a real quiverd
(DoPut in, DoGet out).
"""
import datetime
import os
import random
import subprocess

import duckdb
import pytest

from test_sql_differential import SQL_TOOL, FlightQuiver, Quiver, compare, lit

WORDS = ["alpha", "beta", "", "héllo wörld", "日本語", "a,b,,c", "  padded  ", "x%y_z", "ÉCOLE", "αβγ",
         "O'Brien", "abc123def45", "aaa", "2024-03-05 07:08:09", "Tuesday March 05 2024", "x-y-z"]
NROWS = 1500
BASE = datetime.datetime(2024, 3, 24, 9, 30, 0)


def gen_rows(rnd):
    rows = []
    for i in range(NROWS):
        ts = BASE + datetime.timedelta(seconds=i * 7 + rnd.randint(0, 5), microseconds=rnd.choice([0, 500000, 123456]))
        if rnd.random() < 0.2:  # month ends, leap days, around the epoch
            t2 = rnd.choice([datetime.datetime(2024, 2, 29, 23, 59, 59), datetime.datetime(2023, 12, 31, 12, 0),
                             datetime.datetime(1970, 1, 1), datetime.datetime(1969, 12, 31, 23, 59, 59, 999999),
                             datetime.datetime(2000, 1, 31, 1, 2, 3), datetime.datetime(2021, 1, 3, 6, 0)])
        else:
            t2 = datetime.datetime(1990, 1, 1) + datetime.timedelta(seconds=rnd.randint(0, 40 * 365 * 86400),
                                                                     microseconds=rnd.choice([0, 250000]))
        t2 = t2 if rnd.random() > 0.08 else None
        g = rnd.randint(-3, 3) if rnd.random() > 0.1 else None
        k = rnd.randint(-100000, 100000)
        x = round(rnd.uniform(-1000, 1000), rnd.choice([0, 2, 6])) if rnd.random() > 0.1 else None
        y = round(x * 0.5 + rnd.uniform(-50, 50), 3) if x is not None and rnd.random() > 0.1 else None
        n = rnd.randint(-12, 12) if rnd.random() > 0.15 else None
        s = rnd.choice(WORDS) if rnd.random() > 0.1 else None
        b = rnd.random() > 0.5 if rnd.random() > 0.1 else None
        md = min(int(rnd.expovariate(1.5)), 6)  # skewed: one clear mode per group
        rows.append((i, ts, t2, g, k, x, y, n, s, b, md))
    return rows


SCHEMA = ("(id BIGINT, ts TIMESTAMP, t2 TIMESTAMP, g INTEGER, k BIGINT, x DOUBLE, y DOUBLE, n INTEGER, "
          "s VARCHAR, b BOOLEAN, md INTEGER)")
NAMES = ["id", "ts", "t2", "g", "k", "x", "y", "n", "s", "b", "md"]


def load_duck(rows):
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    duck.execute("CREATE TABLE t " + SCHEMA)
    duck.executemany("INSERT INTO t VALUES (%s)" % ", ".join("?" * len(NAMES)), rows)
    return duck


@pytest.fixture(scope="module")
def dbs():
    rows = gen_rows(random.Random(20261201))
    duck = load_duck(rows)
    q = Quiver()
    q.run("CREATE TABLE t " + SCHEMA)
    for i in range(0, len(rows), 300):
        q.run("INSERT INTO t VALUES " + ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows[i:i + 300]))
    yield duck, q
    q.close()


PARTS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond", "microsecond",
         "dow", "isodow", "doy", "isoyear", "yearweek", "decade", "century", "millennium", "era", "epoch", "julian"]
DIFF_PARTS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond", "microsecond",
              "decade", "century", "millennium", "isoyear"]
SUB_PARTS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond", "microsecond"]
FORMATS = ["%Y-%m-%d %H:%M:%S", "%a %A %b %B %d %-d %m %-m", "%y %j %-j %U %W %w %u %V %G", "%I %-I %p %M %-M %S %-S",
           "%g %f %n", "%c | %x | %X | %%", "%Y%m%dT%H%M%S", "week %V of %G"]

SCALAR = [
    # strings
    "concat(s, '-', n, x)", "s || '|' || n", "concat(s, NULL)", "split_part(s, ',', 1)", "split_part(s, ',', n)",
    "split_part(s, '', 2)", "split_part(s, 'a', -1)", "starts_with(s, 'a')", "ends_with(s, 'c')",
    "contains(s, 'l')", "contains(s, '')", "trim(s)", "ltrim(s)", "rtrim(s)", "trim(s, 'a')", "ltrim(s, ' p')",
    "rtrim(s, 'd ')", "trim(s, 'éÉ')", "replace(s, 'a', 'XY')", "replace(s, 'l', '')", "left(s, n)",
    "right(s, n)", "left(s, 3)", "right(s, 2)", "lpad(s, n, 'xy')", "rpad(s, n, 'é')", "lpad(s, 8, '*')",
    "repeat(s, n % 4)", "reverse(s)", "length(s)", "strlen(s)", "lower(s)", "upper(s)", "substr(s, n, 3)",
    "substring(s, 2)", "s = 'aaa'",
    # regular expressions
    "regexp_matches(s, '[aeiou]{2}')", "regexp_matches(s, '^a')", "regexp_matches(s, 'É', 'i')",
    "regexp_matches(s, 'a.c', 's')", "regexp_matches(s, '.', 'l')", "regexp_replace(s, '[aeiou]', '_')",
    "regexp_replace(s, '[aeiou]', '_', 'g')", "regexp_replace(s, '(\\w)(\\w)', '\\2\\1', 'g')",
    "regexp_replace(s, '', '-', 'g')", "regexp_replace(s, 'L', 'λ', 'gi')", "regexp_extract(s, '[0-9]+')",
    "regexp_extract(s, '([a-z]+)([0-9]+)', 2)", "regexp_extract(s, '(x)?y', 1)", "regexp_extract(s, 'é|ö')",
    # numbers
    "round(x, 2)", "round(x, n)", "round(k, -2)", "round(n, -1)", "round(x)", "log10(abs(x) + 1)",
    "log2(abs(k) + 1)", "log10(x)", "log2(n)", "ln(x)", "sqrt(x)", "sign(x)", "sign(n)", "abs(n)", "floor(x)",
    "ceil(x)", "power(n, 2)", "greatest(n, g, 0)", "least(n, g)", "greatest(x, k)", "least(s, 'b')",
    "greatest(ts, t2)", "nullif(n, 0)", "nullif(s, '')", "ifnull(n, -1)", "ifnull(s, 'none')", "coalesce(x, y, 0)",
    "try_cast(s AS INTEGER)", "try_cast(s AS DOUBLE)", "try_cast(s AS TIMESTAMP)", "try_cast(x AS INTEGER)",
    "typeof(n)", "typeof(k)", "typeof(x)", "typeof(s)", "typeof(b)", "typeof(n + k)", "typeof(x / 2)",
    # time
    "epoch(ts)", "epoch(t2)", "epoch_ms(t2)", "epoch_us(t2)", "epoch_ns(t2)", "epoch_ms(k * 1000000)",
    "make_timestamp(year(t2), month(t2), day(t2), hour(t2), minute(t2), second(t2) + 0.5)",
    "make_timestamp(epoch_us(t2))", "epoch_us(to_timestamp(epoch(t2)))", "epoch_us(to_timestamp(x))",
    "date_add(t2, INTERVAL 1 day)", "date_add(ts, INTERVAL '90 minutes')", "date_trunc('decade', t2)",
    "date_trunc('century', t2)", "date_trunc('isoyear', t2)", "date_trunc('week', t2)",
    "strptime(strftime(t2, '%Y-%m-%d %H:%M:%S'), '%Y-%m-%d %H:%M:%S')",
    "strptime(strftime(t2, '%d/%m/%y %I:%M %p'), '%d/%m/%y %I:%M %p')",
    "strptime(strftime(t2, '%A %B %d %Y %H:%M:%S.%f'), '%A %B %d %Y %H:%M:%S.%f')",
    "try_strptime(s, '%Y-%m-%d %H:%M:%S')", "strftime('%Y/%m/%d', t2)",
] + ["date_part('%s', t2)" % p for p in PARTS] + ["extract(%s FROM t2)" % p for p in ("isodow", "yearweek", "century")] \
  + ["date_diff('%s', t2, ts)" % p for p in DIFF_PARTS] + ["date_diff('%s', ts, t2)" % p for p in DIFF_PARTS[:6]] \
  + ["date_sub('%s', t2, ts)" % p for p in SUB_PARTS] + ["date_sub('%s', ts, t2)" % p for p in SUB_PARTS] \
  + ["strftime(t2, '%s')" % f for f in FORMATS]

AGGS = [
    "median(x)", "median(n)", "median(t2)", "median(s)", "quantile_cont(x, 0.25)", "quantile_cont(n, 0.9)",
    "quantile_cont(k, 0)", "quantile_cont(x, 1)", "quantile_cont(t2, 0.5)", "quantile_disc(x, 0.3)",
    "quantile_disc(n, 0.75)", "quantile_disc(s, 0.5)", "quantile_disc(t2, 0.1)", "quantile(k, 0.5)", "mode(md)",
    "arg_min(s, id)", "arg_max(x, ts)", "min_by(k, ts)", "max_by(t2, id)", "arg_max(s, id)",
    "string_agg(s, ',' ORDER BY id)", "string_agg(s ORDER BY id DESC)", "string_agg(s, ' | ' ORDER BY k DESC, id)",
    "string_agg(CAST(n AS VARCHAR), '' ORDER BY id)", "bool_and(b)", "bool_or(b)", "bool_and(x > -900)",
    "count_if(b)", "count_if(x > 0)", "product(n % 3 + 1)", "product(CAST(n AS DOUBLE) / 4)", "corr(y, x)",
    "covar_pop(y, x)", "covar_samp(y, x)", "regr_slope(y, x)", "regr_intercept(y, x)", "corr(x, n)",
    "covar_samp(k, n)", "regr_slope(k, x)", "count(DISTINCT md)", "median(DISTINCT n)",
]


def chunks(xs, n):
    return [xs[i:i + n] for i in range(0, len(xs), n)]


def scalar_queries():
    return [("SELECT id, %s FROM t" % ", ".join(c), False) for c in chunks(SCALAR, 6)]


def agg_queries():
    qs = []
    for c in chunks(AGGS, 7):
        body = ", ".join(c)
        qs.append(("SELECT %s FROM t" % body, False))
        qs.append(("SELECT g, %s FROM t GROUP BY g" % body, False))
        qs.append(("SELECT s, %s FROM t WHERE n > 0 GROUP BY s" % body, False))
        qs.append(("SELECT %s FROM t WHERE id < 0" % body, False))  # no rows
    return qs


def run_all(duck, q, queries):
    bad = [m for m in (compare(s, o, duck, q) for s, o in queries) if m]
    assert not bad, "%d of %d queries differ:\n%s" % (len(bad), len(queries), "\n".join(bad[:12]))


def test_scalar_functions(dbs):
    duck, q = dbs
    run_all(duck, q, scalar_queries())


def test_aggregates(dbs):
    duck, q = dbs
    run_all(duck, q, agg_queries())


def test_hash_and_distinct_estimate(dbs):
    duck, q = dbs
    # hash: equal values hash equal, different values (almost surely) differ
    _, _, r = q.run("SELECT count(DISTINCT hash(s)), count(DISTINCT s), count(DISTINCT hash(k, s)) FROM t "
                    "WHERE s IS NOT NULL")
    _, _, pairs = q.run("SELECT count(*) FROM (SELECT DISTINCT k, s FROM t WHERE s IS NOT NULL) AS d")
    assert r[0][0] == r[0][1] and r[0][2] == pairs[0][0]
    _, _, r = q.run("SELECT hash(NULL) = hash(NULL), hash(1) = hash(CAST(1 AS BIGINT)), hash('a') <> hash('b')")
    assert r == [(True, True, True)]
    _, _, r = q.run("SELECT approx_count_distinct(k), count(DISTINCT k), approx_count_distinct(s), "
                    "approx_count_distinct(n) FROM t")
    assert abs(r[0][0] - r[0][1]) <= 0.02 * r[0][1], r
    assert r[0][2] == len(set(WORDS)) and r[0][3] == 25  # exact below 1024 distinct values


def test_errors(dbs):
    _, q = dbs
    cases = [
        ("SELECT lenght(s) FROM t", "unknown function 'lenght', did you mean 'length'?"),
        ("SELECT regexp_matches(s, '(') FROM t", "regexp_matches: invalid regular expression '('"),
        ("SELECT regexp_replace(s, 'a', 'b', 'q') FROM t", "unrecognized regex option 'q'"),
        ("SELECT strftime(ts, '%Q') FROM t", "strftime: bad format '%Q': unrecognized format code %Q"),
        ("SELECT strftime(ts, 'abc%') FROM t", "trailing format character"),
        ("SELECT lpad(s) FROM t", "lpad takes 3 arguments, got 1"),
        ("SELECT lpad(s, 'x', 'y') FROM t", "could not convert string 'x'"),
        ("SELECT left(ts, 2) FROM t", "left: argument 1 must be a string, got TIMESTAMP"),
        ("SELECT quantile_cont(x, 1.5) FROM t", "quantile must be between 0 and 1"),
        ("SELECT quantile_cont(s, 0.5) FROM t", "aggregate quantile_cont needs a numeric or TIMESTAMP argument"),
        ("SELECT arg_min(x) FROM t", "aggregate arg_min takes 2 arguments, got 1"),
        ("SELECT median(x ORDER BY id) FROM t", "median does not take ORDER BY"),
        ("SELECT strptime(s, '%Y') FROM t WHERE s = 'alpha'", "could not parse 'alpha' with format '%Y'"),
        ("SELECT date_diff('fortnight', ts, t2) FROM t", "unknown date part 'fortnight'"),
        ("SELECT make_timestamp(2024, 2, 30, 0, 0, 0)", "date out of range: 2024-2-30"),
        ("SELECT lpad('abc', 5, '')", "lpad: insufficient padding"),
    ]
    bad = []
    for sql, want in cases:
        try:
            q.run(sql)
            bad.append("no error: " + sql)
        except RuntimeError as e:
            if want not in str(e):
                bad.append("%s: %s (wanted %r)" % (sql, e, want))
    assert not bad, "\n".join(bad)


def test_holistic_memory_is_charged():
    """A median over more values than the query may hold fails cleanly with RESOURCE_EXHAUSTED."""
    p = subprocess.Popen([SQL_TOOL, "--threads", "2", "--rowgroup-rows", "4096", "--memory", "2000000"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    rows = ", ".join("(%d, 'v%d')" % (i, i) for i in range(5000))
    stmts = ["CREATE TABLE m (k BIGINT, s VARCHAR)"] + ["INSERT INTO m VALUES " + rows] * 8 + \
            ["SELECT median(k), string_agg(s, ',' ORDER BY k) FROM m", "SELECT count(*) FROM m"]
    out, _ = p.communicate("\n".join(stmts) + "\n", timeout=120)
    blocks = out.split("END\n")
    assert "RESOURCE_EXHAUSTED" in blocks[9] and "memory limit" in blocks[9], blocks[9]
    assert blocks[10].startswith("OK") and "40000" in blocks[10]


def test_regex_functions_in_parallel_workers():
    """Eight workers match one constant pattern over 64 row groups at once. Each
    worker's PCRE2 match data must be its own: it once came from the bind arena,
    which workers shared unlocked (UBSan saw a wild offset, ASan a use-after-free).
    DuckDB gives the expected sums; every repetition must equal them."""
    words = ["xy%d", "y\u00e9%d", "ab%d", "y", "%d\u00f6x"]
    rows = [(i, words[i % len(words)] % i if "%" in words[i % len(words)] else words[i % len(words)])
            for i in range(4000)]
    q = "SELECT count(*), sum(length(regexp_extract(s, '(x)?y', 1))), sum(length(regexp_extract(s, '\u00e9|\u00f6')))," \
        " sum(length(regexp_replace(s, '[0-9]', '_', 'g'))), sum(CASE WHEN regexp_matches(s, '^x') THEN 1 ELSE 0 END)," \
        " sum(length(regexp_extract(s, '([a-z]+)([0-9]+)', 2))) FROM t"
    duck = duckdb.connect()
    import pyarrow as pa
    src = pa.table({"id": pa.array([r[0] for r in rows] * 16, pa.int64()), "s": [r[1] for r in rows] * 16})
    duck.register("src", src)
    duck.execute("CREATE TABLE t AS SELECT * FROM src")
    want = "\t".join(str(v) for v in duck.sql(q).fetchall()[0])
    p = subprocess.Popen([SQL_TOOL, "--threads", "8", "--rowgroup-rows", "1000"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ins = "INSERT INTO t VALUES " + ", ".join("(%d, %s)" % (i, lit(s)) for i, s in rows)
    stmts = ["CREATE TABLE t (id BIGINT, s VARCHAR)"] + [ins] * 16 + [q] * 20
    out, _ = p.communicate("\n".join(stmts) + "\n", timeout=300)
    blocks = out.split("END\n")[17:37]
    got = [b.strip().splitlines()[-1] if b.strip() else "(sql_tool died)" for b in blocks]
    assert p.returncode == 0 and len(got) == 20, (p.returncode, got[-1:])
    assert all(g == want for g in got), (want, sorted(set(got)))


def test_functions_through_flight(quiverd):
    import pyarrow as pa
    rnd = random.Random(11)
    rows = gen_rows(rnd)
    duck = load_duck(rows)
    types = [pa.int64(), pa.timestamp("us"), pa.timestamp("us"), pa.int32(), pa.int64(), pa.float64(), pa.float64(),
             pa.int32(), pa.string(), pa.bool_(), pa.int32()]
    cols = [pa.array([r[i] for r in rows], type=t) for i, t in enumerate(types)]
    fq = FlightQuiver(quiverd)
    fq.put("t", pa.Table.from_arrays(cols, names=NAMES))
    queries = scalar_queries()[::3] + agg_queries()[::2]
    run_all(duck, fq, queries)
    # approx_count_distinct beyond the exact range: within 2% of the exact count
    big = pa.table({"v": pa.array([rnd.randrange(1 << 40) for _ in range(200000)], type=pa.int64()),
                    "grp": pa.array([i % 3 for i in range(200000)], type=pa.int32())})
    fq.put("big", big)
    exact = len(set(big.column("v").to_pylist()))
    _, _, r = fq.run("SELECT approx_count_distinct(v), count(DISTINCT v) FROM big")
    assert r[0][1] == exact and abs(r[0][0] - exact) <= 0.02 * exact, r
    _, _, r = fq.run("SELECT grp, approx_count_distinct(v), count(DISTINCT v) FROM big GROUP BY grp")
    for _, est, ex in r:
        assert abs(est - ex) <= 0.02 * ex, r
