"""random(), uuid() and gen_random_uuid(): a new value per row, never folded
to one constant at bind time. No fixed values can be expected, so these check
the properties instead: the range, distinctness over many rows, a mean near
0.5, the version-4 text form of a UUID. DuckDB's uuid() returns its UUID
type; Quiver returns the same text as a VARCHAR."""
import re


UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_random_range_distinct_and_mean(sqltool):
    q = sqltool
    _, types, rows = q.run("SELECT random() AS r FROM range(10000)")
    assert types == ["FLOAT64"]
    vals = [r[0] for r in rows]
    assert len(vals) == 10000
    assert all(0.0 <= v < 1.0 for v in vals)
    # 53 random bits per value: a repeat among 10000 is vanishingly unlikely
    assert len(set(vals)) == 10000
    mean = sum(vals) / len(vals)
    # the standard error of the mean is 0.29 / 100 = 0.003; 0.03 is ten of them
    assert abs(mean - 0.5) < 0.03, mean
    # both halves of the range are hit (a constant or a stuck generator is not)
    assert min(vals) < 0.01 and max(vals) > 0.99


def test_random_is_not_one_constant(sqltool):
    q = sqltool
    # two calls in one row differ; so do the rows of a FROM-less query run twice
    _, _, rows = q.run("SELECT random() = random(), random() <> random()")
    assert rows == [(False, True)]
    _, _, a = q.run("SELECT random()")
    _, _, b = q.run("SELECT random()")
    assert a != b
    # the value a filter tests is the value the query returns
    _, _, rows = q.run("SELECT count(*), max(r) FROM (SELECT random() AS r FROM range(10000)) WHERE r < 0.5")
    n, mx = rows[0]
    assert 4000 < n < 6000 and mx < 0.5
    _, _, rows = q.run("SELECT count(DISTINCT random()) FROM range(10000)")
    assert rows == [(10000,)]


def test_uuid_format_and_uniqueness(sqltool):
    q = sqltool
    _, types, rows = q.run("SELECT uuid(), gen_random_uuid() FROM range(10000)")
    assert types == ["STRING", "STRING"]
    vals = [v for r in rows for v in r]
    assert all(UUID4.match(v) for v in vals), [v for v in vals if not UUID4.match(v)][:3]
    assert len(set(vals)) == 20000
    # every hex digit appears in the random positions (not a stuck nibble)
    assert set("".join(v.replace("-", "") for v in vals)) == set("0123456789abcdef")
    _, _, rows = q.run("SELECT typeof(uuid()), length(uuid()), uuid() = uuid()")
    assert rows == [("VARCHAR", 36, False)]


def test_random_takes_no_arguments(sqltool):
    q = sqltool
    for sql, msg in [("SELECT random(1)", "random takes 0 arguments, got 1"),
                     ("SELECT uuid('x')", "uuid takes 0 arguments, got 1")]:
        try:
            q.run(sql)
        except RuntimeError as e:  # Quiver.run raises with the error line
            assert msg in str(e), str(e)
        else:
            raise AssertionError(sql + " should fail")
