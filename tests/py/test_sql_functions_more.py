"""Differential test of the scalar functions added in func_math_more.c,
func_str_more.c, regexp_full_match and dayname/monthname/last_day, against
DuckDB, on the generated table of test_sql_functions.py (NULLs, empty and
non-ASCII strings, negative and zero numbers, timestamps over decades).
Arguments are shaped so that both engines succeed on every row (for example
chr of a valid code point), since the error cases are in tests/sql/func_more_*.test.
"""
from test_sql_differential import compare
from test_sql_functions import dbs, chunks  # noqa: F401  (dbs is the shared fixture)

SCALAR = [
    # numbers
    "sin(x)", "cos(x)", "tan(x)", "cot(x)", "asin(x / 1000)", "acos(x / 1000)", "atan(x)", "atan2(y, x)",
    "atan2(n, g)", "degrees(x)", "radians(x)", "cbrt(x)", "cbrt(k)", "pi() * n", "mod(k, n * 2 + 1)",
    "mod(x, 3)", "mod(n, 7)", "trunc(x)", "trunc(x, 1)", "trunc(x, n)", "trunc(k, -2)", "trunc(n)",
    "isnan(x)", "isinf(x * 1e306)", "isfinite(x * 1e306)", "signbit(x)", "signbit(n)", "even(x)", "even(n)",
    "factorial(abs(n) % 21)", "gcd(k, n)", "lcm(k, n)", "gcd(n, g)", "lcm(n, g)",
    # strings
    "concat_ws(',', s, n, x)", "concat_ws(s, 'a', NULL, 'b')", "concat_ws('|', s, b, ts)", "strpos(s, 'a')",
    "instr(s, 'é')", "strpos(s, '')", "ascii(s)", "chr(abs(n) + 64)", "chr(abs(n) * 1000 + 160)", "md5(s)",
    "levenshtein(s, 'alpha')", "levenshtein(s, reverse(s))", "translate(s, 'aé日', 'xy')",
    "translate(s, 'lo', 'LØ')", "regexp_full_match(s, '[a-z]+')", "regexp_full_match(s, '.*[0-9]')",
    "regexp_full_match(s, 'ALPHA|beta', 'i')",
    # time
    "dayname(t2)", "monthname(t2)", "CAST(last_day(t2) AS TIMESTAMP)", "dayname(ts)", "monthname(ts)",
]


def test_more_scalar_functions(dbs):  # noqa: F811
    duck, q = dbs
    queries = [("SELECT id, %s FROM t" % ", ".join(c), False) for c in chunks(SCALAR, 6)]
    bad = [m for m in (compare(s, o, duck, q) for s, o in queries) if m]
    assert not bad, "%d of %d queries differ:\n%s" % (len(bad), len(queries), "\n".join(bad[:12]))
