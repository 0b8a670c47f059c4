"""The perfect-hash join (one integer key whose build values span a range no
wider than the table's buckets: probe = bounds check + one load) and its
special cases, through the real server on 2 threads, each query compared in
full with DuckDB: a dense key stored in order (no table at all), a dense key
shuffled (identity), a key with gaps (unique, not identity), repeated keys
(direct but not unique: the chained path), NULL keys on either side,
negative keys, probe keys just outside the range on both edges, a range too
wide to qualify, int32 and timestamp keys, and every join kind through it:
INNER, LEFT, RIGHT, FULL, SEMI, ANTI, with a residual and with a filter on
the probe side."""
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.flight as fl
import pytest

N = 150000  # the probe side: two row groups, so the parallel probe runs


def _put(c, name, t):
    w, _ = c.do_put(fl.FlightDescriptor.for_path(name), t.schema)
    w.write_table(t, max_chunksize=40000)
    w.close()


def _dims(rng):
    m = 5000
    base = -2500  # negative keys
    dense = np.arange(base, base + m, dtype=np.int64)
    shuffled = rng.permutation(dense)
    gaps = np.sort(rng.choice(np.arange(base, base + 3 * m), m, replace=False)).astype(np.int64)
    dups = rng.integers(base, base + m // 2, m).astype(np.int64)
    wide = dense.copy()
    wide[-1] = 1 << 40  # one far key: the range is too wide for direct buckets
    nulls = pa.array(shuffled, mask=rng.random(m) < 0.05)
    w = rng.integers(0, 100, m)
    out = {}
    for name, k in (("d_dense", pa.array(dense)), ("d_shuf", pa.array(shuffled)), ("d_gaps", pa.array(gaps)),
                    ("d_dups", pa.array(dups)), ("d_wide", pa.array(wide)), ("d_null", nulls)):
        out[name] = pa.table({"k": k, "w": pa.array(w, type=pa.int64()), "tag": pa.array(np.arange(m) % 7, type=pa.int64())})
    return out


@pytest.fixture(scope="module")
def env(request):
    from conftest import Server
    rng = np.random.default_rng(2026)
    # probe keys: inside the range, just outside both edges, far outside, and NULLs
    k = rng.integers(-2510, 2510 + 5000, N).astype(np.int64)
    k[:5] = [-2501, -2500, 2499, 2500, 7499]
    fact = pa.table({
        "k": pa.array(k, mask=rng.random(N) < 0.03),
        "q": pa.array(rng.integers(1, 1000, N), type=pa.int64()),
        "px": pa.array(rng.uniform(0, 100, N)),
    })
    dims = _dims(rng)
    srv = Server(["--in-memory", "--threads", "2"])
    c = fl.connect(srv.flight_uri)
    duck = duckdb.connect()
    _put(c, "fact", fact)
    duck.register("fact", fact)
    for name, t in dims.items():
        _put(c, name, t)
        duck.register(name, t)
    # int32 and timestamp keys over the same values
    f32 = pa.table({"k": pa.compute.cast(fact["k"], pa.int32()), "q": fact["q"]})
    d32 = pa.table({"k": pa.compute.cast(dims["d_shuf"]["k"], pa.int32()), "w": dims["d_shuf"]["w"]})
    # microseconds one apart: a dense range of timestamps
    kts = pa.compute.cast(pa.compute.add(fact["k"], 10**15), pa.timestamp("us"))
    dts = pa.compute.cast(pa.compute.add(dims["d_gaps"]["k"], 10**15), pa.timestamp("us"))
    fts = pa.table({"t": kts, "q": fact["q"]})
    dtt = pa.table({"t": dts, "w": dims["d_gaps"]["w"]})
    for name, t in (("f32", f32), ("d32", d32), ("fts", fts), ("dts", dtt)):
        _put(c, name, t)
        duck.register(name, t)
    yield c, duck
    srv.stop()


def _same(env, sql):
    c, duck = env
    got = c.do_get(fl.Ticket(sql.encode())).read_all()
    want = duck.execute(sql).fetchall()
    rows = list(zip(*[col.to_pylist() for col in got.columns]))  # by position: names may repeat
    key = lambda r: tuple((x is None, x) for x in r)  # noqa: E731
    assert sorted(rows, key=key) == sorted(want, key=key), sql


DIMS = ["d_dense", "d_shuf", "d_gaps", "d_dups", "d_wide", "d_null"]


@pytest.mark.parametrize("dim", DIMS)
def test_perfect_inner_aggregate(env, dim):
    _same(env, f"SELECT count(*), sum(f.q * d.w), min(d.k), max(d.k) FROM fact f JOIN {dim} d ON f.k = d.k WHERE f.px > 40")


@pytest.mark.parametrize("dim", DIMS)
def test_perfect_outer_and_semi(env, dim):
    for q in (
        f"SELECT d.tag, count(*), count(d.k), sum(f.q) FROM fact f LEFT JOIN {dim} d ON f.k = d.k GROUP BY d.tag",
        f"SELECT count(*), count(f.k), count(d.k), sum(d.w) FROM fact f RIGHT JOIN {dim} d ON f.k = d.k AND f.px < 1",
        f"SELECT count(*), count(f.k), count(d.k), sum(coalesce(d.w, 0) + coalesce(f.q, 0)) FROM fact f FULL JOIN {dim} d ON f.k = d.k AND f.px < 2",
        f"SELECT count(*), sum(q) FROM fact WHERE k IN (SELECT k FROM {dim})",
        f"SELECT count(*), sum(q) FROM fact f WHERE EXISTS (SELECT 1 FROM {dim} d WHERE d.k = f.k AND d.tag < 3)",
        f"SELECT count(*), sum(q) FROM fact f WHERE NOT EXISTS (SELECT 1 FROM {dim} d WHERE d.k = f.k)",
        f"SELECT count(*), sum(f.q) FROM fact f JOIN {dim} d ON f.k = d.k AND f.q > d.w * 5",
    ):
        _same(env, q)


def test_perfect_rows_and_edges(env):
    # full rows, including the edge keys (-2501 and 2500 just outside d_dense, -2500 and 2499 inside)
    _same(env, "SELECT f.k, f.q, d.w, d.tag FROM fact f JOIN d_dense d ON f.k = d.k WHERE f.q < 40")
    _same(env, "SELECT f.k, d.k, d.w FROM fact f LEFT JOIN d_gaps d ON f.k = d.k WHERE f.q < 30")
    _same(env, "SELECT d.k, count(f.k) FROM d_null d LEFT JOIN fact f ON f.k = d.k GROUP BY d.k")


def test_perfect_int32_and_timestamp_keys(env):
    _same(env, "SELECT count(*), sum(f.q * d.w) FROM f32 f JOIN d32 d ON f.k = d.k")
    _same(env, "SELECT count(*), sum(f.q), count(d.k) FROM f32 f LEFT JOIN d32 d ON f.k = d.k")
    _same(env, "SELECT count(*), sum(f.q * d.w), min(d.t), max(d.t) FROM fts f JOIN dts d ON f.t = d.t")
    _same(env, "SELECT count(*) FROM fts f WHERE NOT EXISTS (SELECT 1 FROM dts d WHERE d.t = f.t)")
