"""A replica starting a table from row 0 (a new replica, a re-sync after a
truncate) copies the primary's checkpointed column files instead of
re-encoding their rows: after the sync its data directory holds the same
`t<id>-<n>.qvc` files, byte for byte, before any checkpoint of its own; the
rows after the last full row group come as rows. A replica restarted (kill -9)
recovers those files from its WAL; an in-memory replica takes rows only."""
import os

import pyarrow.flight as fl

from test_replicas import Cluster, count, put, table, wait_for

ROWS = 65536 * 3 + 1000  # three full row groups and a partial one


def col_files(d):
    return {n: open(os.path.join(d, n), "rb").read() for n in os.listdir(d) if n.endswith(".qvc")}


def same_files(cluster, i):
    p = col_files(str(cluster.tmp / "p"))
    r = col_files(str(cluster.tmp / ("r%d" % i)))
    return sorted(p) if p and all(r.get(n) == b for n, b in p.items()) else ("primary", sorted(p), "replica", sorted(r))


def test_initial_sync_and_resync_copy_column_files(start_quiverd, tmp_path):
    cluster = Cluster.__new__(Cluster)
    cluster.start, cluster.tmp = start_quiverd, tmp_path
    from test_replicas import free_port
    cluster.pport, cluster.rports = free_port(), [free_port(), free_port()]
    cluster.primary = cluster.start_primary()
    p = cluster.primary.flight()
    put(p, "f", table(ROWS))  # a put writes its full row groups straight to column files
    # Every column type, SYMBOL (its own dictionary per file) and nulls included.
    p.do_get(fl.Ticket(b"CREATE TABLE g (ts TIMESTAMP, sym SYMBOL, x DOUBLE, b BOOLEAN, i INT, s VARCHAR)")).read_all()
    import pyarrow as pa
    n = 65536 + 5
    g = pa.table({"ts": pa.array(range(n), pa.timestamp("us")),
                  "sym": pa.array(["k%d" % (i % 11) for i in range(n)]),
                  "x": pa.array([None if i % 13 == 0 else i * 0.5 for i in range(n)]),
                  "b": pa.array([i % 3 == 0 for i in range(n)]),
                  "i": pa.array([i % 1000 for i in range(n)], pa.int32()),
                  "s": pa.array([None if i % 17 == 0 else "v%d" % i for i in range(n)])})
    put(p, "g", g)
    want_g = p.do_get(fl.Ticket(b"SELECT * FROM g")).read_all()
    want = p.do_get(fl.Ticket(b"SELECT * FROM f")).read_all()
    cluster.replicas = [cluster.start_replica(0)]
    r = cluster.replicas[0].flight()
    wait_for(lambda: count(r, "f"), ROWS)
    assert r.do_get(fl.Ticket(b"SELECT * FROM f")).read_all().equals(want)
    wait_for(lambda: count(r, "g"), 65536 + 5)
    assert r.do_get(fl.Ticket(b"SELECT * FROM g")).read_all().equals(want_g)
    assert r.do_get(fl.Ticket(b"SELECT sym, count(*) AS n FROM g GROUP BY sym ORDER BY sym")).read_all().equals(
        p.do_get(fl.Ticket(b"SELECT sym, count(*) AS n FROM g GROUP BY sym ORDER BY sym")).read_all())
    files = sorted(n for n in os.listdir(str(tmp_path / "p")) if n.endswith(".qvc"))
    assert len(files) == 4, files
    assert same_files(cluster, 0) == files
    # Restarted with kill -9: the adopted files come back from the replica's WAL.
    r.close()
    cluster.replicas[0].kill()
    cluster.replicas[0] = cluster.start_replica(0)
    r = cluster.replicas[0].flight()
    assert count(r, "f") == ROWS
    put(p, "f", table(10, start=ROWS))
    wait_for(lambda: count(r, "f"), ROWS + 10)
    # A truncate re-syncs the table: its new files are copied too.
    p.do_get(fl.Ticket(b"TRUNCATE TABLE f")).read_all()
    put(p, "f", table(65536 * 2, start=10_000_000))
    wait_for(lambda: count(r, "f"), 65536 * 2)
    assert r.do_get(fl.Ticket(b"SELECT sum(id) AS s FROM f")).read_all()["s"][0].as_py() == \
        sum(range(10_000_000, 10_000_000 + 65536 * 2))
    new = sorted(n for n in os.listdir(str(tmp_path / "p")) if n.endswith(".qvc") and n not in files)
    got = col_files(str(tmp_path / "r0"))
    prim = col_files(str(tmp_path / "p"))
    assert new and all(got.get(n) == prim[n] for n in new), (new, sorted(got))
    # An in-memory replica cannot take files: rows, same answer.
    mem = start_quiverd("--in-memory", "--replica-of", "grpc://127.0.0.1:%d" % cluster.pport)
    m = mem.flight()
    wait_for(lambda: count(m, "f"), 65536 * 2)
    assert m.do_get(fl.Ticket(b"SELECT sum(id) AS s FROM f")).read_all()["s"][0].as_py() == \
        sum(range(10_000_000, 10_000_000 + 65536 * 2))
    for c in (p, r, m):
        c.close()
