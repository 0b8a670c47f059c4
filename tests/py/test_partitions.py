"""Partitioned results: GetFlightInfo of a scan (filters, projections) returns
one endpoint per range of row groups of about --partition-rows rows; every
endpoint reads the snapshot the FlightInfo saw. Fetched in parallel they give
exactly the rows of one DoGet; aggregates, sorts and limits keep one endpoint
(ordered when sorted); a dropped or recreated table makes old tickets
NOT_FOUND; another server on a copy of the data redeems them; a Dask
LocalCluster reads the endpoints as partitions and agrees with DuckDB."""
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from conftest import Server

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups

N = 1_000_000
PART_ROWS = 200_000


def make_table(n, start=0):
    ids = pa.array(range(start, start + n), type=pa.int64())
    return pa.table({
        "id": ids,
        "ts": pc.cast(pc.add(pc.multiply(ids, 1000), 1700000000000000000), pa.timestamp("ns")),
        "k": pc.cast(pc.bit_wise_and(ids, 15), pa.int32()),
        "v": pc.multiply(pc.cast(pc.bit_wise_and(ids, 1023), pa.float64()), 0.5),
        "s": pc.cast(pc.cast(pc.bit_wise_and(ids, 7), pa.int32()), pa.string()),
    })


def put(client, name, table):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), table.schema)
    w.write_table(table, max_chunksize=100_000)
    w.close()


@pytest.fixture(scope="module")
def srv():
    s = Server(["--in-memory", "--partition-rows", str(PART_ROWS)])
    c = s.flight()
    put(c, "t", make_table(N))
    c.close()
    yield s
    rc = s.stop()
    assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


@pytest.fixture(scope="module")
def client(srv):
    c = srv.flight()
    yield c
    c.close()


def info_of(client, sql):
    return client.get_flight_info(fl.FlightDescriptor.for_command(sql))


def fetch_parallel(uri, endpoints):
    def one(ep):
        c = fl.connect(uri)
        try:
            return c.do_get(ep.ticket).read_all()
        finally:
            c.close()
    with ThreadPoolExecutor(max_workers=4) as ex:
        return list(ex.map(one, endpoints))


def sorted_by_id(t):
    return t.sort_by("id")


@pytest.mark.parametrize("sql", ["SELECT * FROM t",
                                 "SELECT id, v * 2 AS w, s FROM t WHERE k IN (1, 3, 5) AND v > 100",
                                 "SELECT id FROM t WHERE id % 97 = 0"])
def test_endpoints_in_parallel_equal_one_doget(srv, client, sql):
    info = info_of(client, sql)
    assert len(info.endpoints) >= 4
    assert not info.ordered
    parts = fetch_parallel(srv.flight_uri, info.endpoints)
    for ep, part in zip(info.endpoints, parts):
        md = json.loads(ep.app_metadata)
        assert set(md) == {"rows", "bytes"}
        assert part.num_rows <= md["rows"] and md["bytes"] > 0
        assert part.schema.equals(info.schema)
    whole = client.do_get(fl.Ticket(sql.encode())).read_all()
    got = pa.concat_tables(parts)
    assert got.num_rows == whole.num_rows
    assert sorted_by_id(got).equals(sorted_by_id(whole))


def test_partition_sizes_follow_partition_rows(client):
    info = info_of(client, "SELECT * FROM t")
    rows = [json.loads(ep.app_metadata)["rows"] for ep in info.endpoints]
    assert sum(rows) == N == info.total_records
    assert all(PART_ROWS <= r < 2 * PART_ROWS for r in rows[:-1]) and 0 < rows[-1] < 2 * PART_ROWS
    path = client.get_flight_info(fl.FlightDescriptor.for_path("t"))
    assert len(path.endpoints) == len(info.endpoints)


@pytest.mark.parametrize("sql,ordered", [("SELECT k, count(*) FROM t GROUP BY k", False),
                                         ("SELECT * FROM t ORDER BY v DESC, id", True),
                                         ("SELECT * FROM t LIMIT 10", False),
                                         ("SELECT id FROM t ORDER BY id LIMIT 3", True),
                                         ("SELECT DISTINCT k FROM t", False)])
def test_non_scans_keep_one_endpoint(client, sql, ordered):
    info = info_of(client, sql)
    assert len(info.endpoints) == 1
    assert info.ordered == ordered
    got = client.do_get(info.endpoints[0].ticket).read_all()
    assert got.equals(client.do_get(fl.Ticket(sql.encode())).read_all())


def test_endpoints_read_the_planned_snapshot(srv, client):
    put(client, "snap", make_table(300_000))
    info = info_of(client, "SELECT id FROM snap WHERE id >= 0")
    put(client, "snap", make_table(500_000, start=300_000))  # appended after planning
    got = pa.concat_tables(fetch_parallel(srv.flight_uri, info.endpoints))
    assert got.num_rows == 300_000
    assert pc.max(got.column("id")).as_py() == 299_999
    fresh = info_of(client, "SELECT id FROM snap WHERE id >= 0")
    assert sum(client.do_get(e.ticket).read_all().num_rows for e in fresh.endpoints) == 800_000


def test_dropped_or_recreated_table_is_not_found(client):
    put(client, "gone", make_table(1000))
    info = info_of(client, "SELECT * FROM gone")
    client.do_action(fl.Action("drop_table", b"gone"))
    with pytest.raises(pa.ArrowKeyError) as ei:
        client.do_get(info.endpoints[0].ticket).read_all()
    assert "dropped" in str(ei.value)
    put(client, "gone", make_table(5000))  # a new incarnation, more rows than the ticket reads
    with pytest.raises(pa.ArrowKeyError) as ei:
        client.do_get(info.endpoints[0].ticket).read_all()
    assert "recreated" in str(ei.value)
    fresh = info_of(client, "SELECT * FROM gone")
    assert client.do_get(fresh.endpoints[0].ticket).read_all().num_rows == 5000


def test_another_server_on_the_same_data_redeems(start_quiverd, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a = start_quiverd("--data-dir", str(a_dir), "--partition-rows", "100000", *RG64)
    ca = a.flight()
    put(ca, "t", make_table(400_000))
    ca.close()
    assert a.stop() == 0
    shutil.copytree(a_dir, b_dir)
    a = start_quiverd("--data-dir", str(a_dir), "--partition-rows", "100000", *RG64)
    b = start_quiverd("--data-dir", str(b_dir), *RG64)
    ca, cb = a.flight(), b.flight()
    info = info_of(ca, "SELECT id, v FROM t WHERE k = 3")
    assert len(info.endpoints) >= 3
    from_b = pa.concat_tables(fetch_parallel(b.flight_uri, info.endpoints))
    assert sorted_by_id(from_b).equals(sorted_by_id(ca.do_get(fl.Ticket(b"SELECT id, v FROM t WHERE k = 3")).read_all()))
    ca.close()
    cb.close()


def test_stale_snapshot_on_a_server_with_fewer_rows(start_quiverd, tmp_path):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a = start_quiverd("--data-dir", str(a_dir), "--partition-rows", "100000", *RG64)
    ca = a.flight()
    put(ca, "t", make_table(100_000))
    ca.close()
    assert a.stop() == 0
    shutil.copytree(a_dir, b_dir)  # b holds the first 100000 rows only
    a = start_quiverd("--data-dir", str(a_dir), "--partition-rows", "100000", *RG64)
    ca = a.flight()
    put(ca, "t", make_table(200_000, start=100_000))
    info = info_of(ca, "SELECT * FROM t")
    b = start_quiverd("--data-dir", str(b_dir), *RG64)
    cb = b.flight()
    last = info.endpoints[-1]
    with pytest.raises(pa.ArrowKeyError) as ei:
        cb.do_get(last.ticket).read_all()
    assert "snapshot" in str(ei.value)
    assert cb.do_get(fl.Ticket(b"SELECT count(*) FROM t")).read_all().column(0)[0].as_py() == 100_000
    ca.close()
    cb.close()


def _read_endpoint(uri, ticket):
    import pyarrow.flight as fl
    c = fl.connect(uri)
    try:
        return c.do_get(fl.Ticket(ticket)).read_pandas()
    finally:
        c.close()


def test_dask_local_cluster_reads_partitions(srv, client):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    import dask

    sql = "SELECT k, v, id FROM t WHERE id % 3 <> 0"
    info = info_of(client, sql)
    assert len(info.endpoints) >= 4
    meta = info.schema.empty_table().to_pandas()
    parts = [dask.delayed(_read_endpoint)(srv.flight_uri, ep.ticket.ticket) for ep in info.endpoints]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as dc:
        df = dd.from_delayed(parts, meta=meta)
        assert df.npartitions == len(info.endpoints)
        total, count, means = dc.compute([df.v.sum(), df.id.count(), df.groupby("k").v.mean()], sync=True)
    whole = client.do_get(fl.Ticket(b"SELECT * FROM t")).read_all()
    con = duckdb.connect()
    con.register("t", whole)
    want_sum, want_count = con.execute("SELECT sum(v), count(id) FROM t WHERE id % 3 <> 0").fetchone()
    assert count == want_count
    assert total == pytest.approx(want_sum, rel=1e-12)
    want = dict(con.execute("SELECT k, avg(v) FROM t WHERE id % 3 <> 0 GROUP BY k").fetchall())
    assert set(means.index) == set(want)
    for k, m in means.items():
        assert m == pytest.approx(want[k], rel=1e-12)


def test_empty_table_has_one_empty_endpoint(client):
    put(client, "empty_t", make_table(0))
    info = client.get_flight_info(fl.FlightDescriptor.for_path("empty_t"))
    assert len(info.endpoints) == 1
    assert json.loads(info.endpoints[0].app_metadata) == {"rows": 0, "bytes": 0}
    got = client.do_get(info.endpoints[0].ticket).read_all()
    assert got.num_rows == 0 and got.schema.equals(info.schema)


def test_list_flights_endpoints_are_partitioned(client):
    infos = {f.descriptor.path[0]: f for f in client.list_flights()}
    t = infos[b"t"] if b"t" in infos else infos["t"]
    assert len(t.endpoints) >= 4
    assert sum(client.do_get(e.ticket).read_all().num_rows for e in t.endpoints) == N


def test_truncated_table_tickets_are_not_found(client):
    """TRUNCATE drops row groups from the front, shifting row numbers: old tickets must not read the new rows."""
    put(client, "trunc", make_table(200_000))
    info = info_of(client, "SELECT * FROM trunc")
    client.do_get(fl.Ticket(b"TRUNCATE TABLE trunc")).read_all()
    put(client, "trunc", make_table(300_000, start=10_000_000))
    for ep in info.endpoints:
        with pytest.raises(pa.ArrowKeyError) as ei:
            client.do_get(ep.ticket).read_all()
        assert "removed" in str(ei.value)
    fresh = info_of(client, "SELECT * FROM trunc")
    got = pa.concat_tables([client.do_get(e.ticket).read_all() for e in fresh.endpoints])
    assert got.num_rows == 300_000 and pc.min(got.column("id")).as_py() == 10_000_000
