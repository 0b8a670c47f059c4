"""Differential test of skewness, kurtosis, kurtosis_pop, entropy, geomean,
any_value, bit_and/bit_or/bit_xor, fsum/favg, approx_quantile and
arg_min/arg_max against DuckDB.

Generated data over many small groups (0 to about 30 rows each, so DuckDB's
t-digest still holds every value and approx_quantile is exact there), with
NULLs in every column, all-NULL groups, constant groups and a NULL group key,
is loaded into both engines. Every aggregate runs plain, under GROUP BY
(through sql_tool with 7-row row groups and 2 workers, so partial
aggregations are merged, and with 1 worker), with FILTER, with DISTINCT and
as a window function over frames; results must agree within 1e-9 relative.
"""
import random

import duckdb
import pytest

from test_sql_differential import Quiver, compare, lit

NGROUPS = 70
NROWS = 1100
SCHEMA = "(id BIGINT, g INTEGER, i INTEGER, b BIGINT, x DOUBLE, s VARCHAR, c INTEGER, cs VARCHAR, k BIGINT)"
WORDS = ["a", "b", "c", "", "héllo", "zz", "日本"]


def gen_rows(rnd):
    rows = []
    for rid in range(NROWS):
        g = rnd.randint(0, NGROUPS - 1) if rnd.random() > 0.05 else None
        const = g is not None and g % 7 == 3  # constant groups: one value repeated
        allnull = g is not None and g % 11 == 5
        def maybe(v, p=0.12):
            return None if allnull or rnd.random() < p else v
        i = maybe(7 if const else rnd.randint(-20, 20))
        b = maybe(rnd.choice([rnd.randint(-2**62, 2**62), rnd.randint(-5, 5), -2**63, 2**63 - 1]))
        x = maybe(2.5 if const else round(rnd.uniform(-1000, 1000), rnd.choice([0, 1, 3])))
        s = maybe(rnd.choice(WORDS))
        # any_value is arbitrary in DuckDB: these hold one non-NULL value per group
        c = maybe(None if g is None else g * 3 - 50, 0.3)
        cs = maybe(None if g is None else "grp%d" % g, 0.3)
        k = maybe(rid * 7 % 1009, 0.15)  # unique keys: arg_min/arg_max have no ties
        rows.append((rid, g, i, b, x, s, c, cs, k))
    return rows


@pytest.fixture(scope="module")
def dbs():
    rows = gen_rows(random.Random(20261203))
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    duck.execute("CREATE TABLE t " + SCHEMA)
    duck.executemany("INSERT INTO t VALUES (%s)" % ", ".join("?" * 9), rows)
    qs = [Quiver(threads=2, rowgroup_rows=7), Quiver(threads=1, rowgroup_rows=256)]
    for q in qs:
        q.run("CREATE TABLE t " + SCHEMA)
        for j in range(0, len(rows), 200):
            q.run("INSERT INTO t VALUES " + ", ".join("(" + ", ".join(lit(v) for v in r) + ")" for r in rows[j:j + 200]))
    yield duck, qs
    for q in qs:
        q.close()


AGGS = [
    "skewness(x)", "skewness(i)", "kurtosis(x)", "kurtosis(i)", "kurtosis_pop(x)", "kurtosis_pop(b)",
    "entropy(s)", "entropy(i)", "entropy(x)", "entropy(b)", "geomean(abs(x))", "geometric_mean(x)",
    "any_value(c)", "any_value(cs)", "bit_and(i)", "bit_or(i)", "bit_xor(i)", "bit_and(b)", "bit_or(b)",
    "bit_xor(b)", "fsum(x)", "sumkahan(i)", "kahan_sum(b)", "favg(x)", "favg(b)",
    # approx_quantile not over b: beyond 2^53 DuckDB interpolates through a DOUBLE, Quiver exactly.
    # approx_quantile over non-negative values only: DuckDB 2.0.1's t-digest clamps to a maximum that
    # starts at the smallest positive double, so a group of negative values can answer 2.2e-308 there
    "approx_quantile(i + 20, 0.5)", "approx_quantile(abs(x), 0.25)", "approx_quantile(abs(x), 0.9)",
    "approx_quantile(k, 0.1)", "approx_quantile(i + 20, 0)", "approx_quantile(abs(x), 1)", "approx_quantile(x, 0.5)", "arg_max(i, k)", "arg_min(s, k)", "max_by(x, k)",
    "min_by(k, x)", "arg_max(cs, i)",
]
# arg_max(cs, i): ties on i are possible, but cs is one value per group (or NULL, skipped)


def run_all(dbs, queries):
    duck, qs = dbs
    bad = []
    for q in qs:
        bad += [m for m in (compare(sql, False, duck, q) for sql in queries) if m]
    assert not bad, "\n".join(bad[:10])


def test_grouped(dbs):
    run_all(dbs, ["SELECT g, %s FROM t GROUP BY g" % a for a in AGGS])


def test_plain(dbs):
    # approx_quantile over all 1100 rows: DuckDB's t-digest has merged centroids, Quiver stays exact
    run_all(dbs, ["SELECT %s FROM t" % a for a in AGGS if "approx" not in a] +
            ["SELECT %s FROM t WHERE g = -1" % a for a in AGGS])


def test_filter(dbs):
    run_all(dbs, ["SELECT g, %s FILTER (WHERE id %% 3 <> 0) FROM t GROUP BY g" % a for a in AGGS if "geomean" not in a
                  and "geometric" not in a])


def test_distinct(dbs):
    aggs = ["entropy(DISTINCT s)", "bit_xor(DISTINCT i)", "bit_or(DISTINCT b)", "fsum(DISTINCT x)",
            "favg(DISTINCT i)", "skewness(DISTINCT i)", "kurtosis_pop(DISTINCT x)", "approx_quantile(DISTINCT i + 20, 0.5)",
            "any_value(DISTINCT cs)"]
    run_all(dbs, ["SELECT g, %s FROM t GROUP BY g" % a for a in aggs] + ["SELECT %s FROM t" % a for a in aggs if "approx" not in a])


WIN_AGGS = [a for a in AGGS if "geomean" not in a and "geometric" not in a and "arg_max(cs" not in a]
FRAMES = ["", "ORDER BY id ROWS BETWEEN 3 PRECEDING AND CURRENT ROW",
          "ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
          "ORDER BY id ROWS BETWEEN 2 PRECEDING AND 4 FOLLOWING"]


def test_window(dbs):
    qs = []
    for fr in FRAMES:
        for a in WIN_AGGS:
            qs.append("SELECT id, %s OVER (PARTITION BY g %s) FROM t" % (a, fr))
    run_all(dbs, qs)


def test_errors(dbs):
    _, qs = dbs
    for sql, msg in [("SELECT bit_and(x) FROM t", "INTEGER or BIGINT"), ("SELECT skewness(s) FROM t", "numeric"),
                     ("SELECT approx_quantile(i, 2) FROM t", "between 0 and 1"),
                     ("SELECT approx_quantile(i, x) FROM t", "constant"), ("SELECT entropy() FROM t", "entropy")]:
        with pytest.raises(RuntimeError, match=msg):
            qs[0].run(sql)


def test_window_long_frames(dbs):
    # one 1100-row partition: sliding frames span many segment-tree blocks, so merged states answer
    aggs = ["skewness(x)", "kurtosis(i)", "kurtosis_pop(x)", "fsum(x)", "favg(b)", "bit_xor(b)", "bit_and(i)",
            "bit_or(i)", "entropy(s)", "arg_max(i, k)", "min_by(s, k)"]
    frames = ["ROWS BETWEEN 40 PRECEDING AND 20 FOLLOWING", "ROWS BETWEEN 100 PRECEDING AND 1 PRECEDING",
              "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING"]
    run_all(dbs, ["SELECT id, %s OVER (ORDER BY id %s) FROM t" % (a, f) for a in aggs for f in frames])
