"""Read replicas on loopback: one primary and two `--replica-of` replicas,
each with its own data directory. Writes on the primary show up on both;
replicas refuse writes with FAILED_PRECONDITION naming the primary; the
primary's partitioned endpoints list the replicas (round-robin, primary last)
and their tickets redeem there; a replica killed -9 and restarted catches up;
the primary killed -9 and restarted, the replicas continue; a replica pointed
at itself or at a non-Quiver server says so and keeps serving."""
import random
import socket
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from conftest import Server

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A free port below the kernel's ephemeral range. A port bound to 0 comes from that range, so
    after it is closed the kernel may hand it to the next port-0 listener (another server's HTTP
    port) or an outgoing connection before our server binds it: CI saw "address in use" that way.
    Ports below the range are only ever taken by explicit binds."""
    low = max(_ephemeral_low(), 12000)
    rnd = random.Random()
    for _ in range(200):
        port = rnd.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # nothing free below the range: fall back to the kernel's pick
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def table(n, start=0):
    ids = pa.array(range(start, start + n), type=pa.int64())
    return pa.table({"id": ids, "v": pc.multiply(pc.cast(ids, pa.float64()), 0.5),
                     "s": pc.cast(pc.cast(pc.bit_wise_and(ids, 7), pa.int32()), pa.string())})


def put(client, name, t):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema)
    w.write_table(t)
    w.close()


def count(client, name):
    try:
        return client.do_get(fl.Ticket(("SELECT count(*) AS n FROM %s" % name).encode())).read_all()["n"][0].as_py()
    except (pa.ArrowKeyError, fl.FlightError):
        return None


def wait_for(fn, want, timeout=20):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = fn()
        if got == want:
            return
        time.sleep(0.05)
    raise AssertionError("waited %ss for %r, last saw %r" % (timeout, want, got))


class Cluster:
    def __init__(self, start_quiverd, tmp_path):
        self.start = start_quiverd
        self.tmp = tmp_path
        self.pport, self.rports = free_port(), [free_port(), free_port()]
        self.primary = self.start_primary()
        self.replicas = [self.start_replica(i) for i in range(2)]

    def start_primary(self):
        return self.start("--data-dir", str(self.tmp / "p"), "--flight-port", str(self.pport),
                          "--advertise", "127.0.0.1:%d" % self.pport, "--partition-rows", "100000", *RG64)

    def start_replica(self, i):
        return self.start("--data-dir", str(self.tmp / ("r%d" % i)), "--flight-port", str(self.rports[i]),
                          "--replica-of", "grpc://127.0.0.1:%d" % self.pport,
                          "--advertise", "127.0.0.1:%d" % self.rports[i], *RG64)


@pytest.fixture
def cluster(start_quiverd, tmp_path):
    return Cluster(start_quiverd, tmp_path)


def test_writes_reach_replicas_and_replicas_refuse_writes(cluster):
    p = cluster.primary.flight()
    put(p, "t", table(300_000))
    rs = [r.flight() for r in cluster.replicas]
    for r in rs:
        wait_for(lambda: count(r, "t"), 300_000)
    want = p.do_get(fl.Ticket(b"SELECT * FROM t")).read_all()
    for r in rs:
        assert r.do_get(fl.Ticket(b"SELECT * FROM t")).read_all().equals(want)
    # Lag is reported on replicas only.
    import json
    import urllib.request
    wait_for(lambda: "replica_lag_ms" in json.loads(bytes(list(rs[0].do_action(fl.Action("healthcheck", b"")))[0].body)), True)
    health = json.loads(bytes(list(rs[0].do_action(fl.Action("healthcheck", b"")))[0].body))
    assert 0 <= health["replica_lag_ms"] < 10000
    assert "replica_lag_ms" not in json.loads(bytes(list(p.do_action(fl.Action("healthcheck", b"")))[0].body))
    metrics = urllib.request.urlopen(cluster.replicas[0].http_url + "/metrics").read().decode()
    assert "quiver_replica_lag_seconds " in metrics
    for bad in [b"CREATE TABLE x (a BIGINT)", b"INSERT INTO t VALUES (1, 1.0, 'a')", b"DROP TABLE t"]:
        with pytest.raises((fl.FlightError, pa.ArrowInvalid)) as ei:  # FAILED_PRECONDITION
            rs[0].do_get(fl.Ticket(bad)).read_all()
        assert "read replica of grpc://127.0.0.1:%d" % cluster.pport in str(ei.value)
        assert "precondition" in str(ei.value).lower()
    t10 = table(10)
    w, _ = rs[0].do_put(fl.FlightDescriptor.for_path("t"), t10.schema)
    with pytest.raises((fl.FlightError, pa.ArrowInvalid)) as ei:
        w.write_table(t10)
        w.done_writing()
        w.close()
    assert "primary" in str(ei.value)
    try:
        w.close()
    except Exception:
        pass
    assert count(rs[0], "t") == 300_000  # nothing applied
    # Drop and re-create on the primary: the replicas follow the new incarnation.
    p.do_action(fl.Action("drop_table", b"t"))
    for r in rs:
        wait_for(lambda: count(r, "t"), None)
    put(p, "t", table(5))
    for r in rs:
        wait_for(lambda: count(r, "t"), 5)
    for c in [p] + rs:
        c.close()


def test_endpoints_list_replicas_and_redeem_there(cluster):
    p = cluster.primary.flight()
    put(p, "t", table(400_000))
    rs = [r.flight() for r in cluster.replicas]
    for r in rs:
        wait_for(lambda: count(r, "t"), 400_000)
    info = p.get_flight_info(fl.FlightDescriptor.for_command("SELECT id, v FROM t WHERE id % 5 = 0"))
    assert len(info.endpoints) >= 3
    replica_uris = {"grpc://127.0.0.1:%d" % port for port in cluster.rports}
    primary_uri = "grpc://127.0.0.1:%d" % cluster.pport
    firsts = set()
    parts = []
    for ep in info.endpoints:
        uris = [loc.uri.decode() for loc in ep.locations]
        assert len(uris) == 2 and uris[0] in replica_uris and uris[1] == primary_uri
        firsts.add(uris[0])
        c = fl.connect(uris[0])
        parts.append(c.do_get(ep.ticket).read_all())
        c.close()
    assert firsts == replica_uris  # spread over both replicas
    want = p.do_get(fl.Ticket(b"SELECT id, v FROM t WHERE id % 5 = 0")).read_all()
    assert pa.concat_tables(parts).sort_by("id").equals(want.sort_by("id"))
    for c in [p] + rs:
        c.close()


def test_replica_and_primary_restarts_catch_up(cluster):
    p = cluster.primary.flight()
    put(p, "t", table(100_000))
    r1 = cluster.replicas[1].flight()
    wait_for(lambda: count(r1, "t"), 100_000)
    put(p, "gone", table(3))
    r0 = cluster.replicas[0].flight()
    wait_for(lambda: count(r0, "gone"), 3)
    r0.close()
    cluster.replicas[0].kill()
    put(p, "t", table(50_000, start=100_000))
    put(p, "u", table(7))
    p.do_action(fl.Action("drop_table", b"gone"))  # dropped while the replica is down
    cluster.replicas[0] = cluster.start_replica(0)
    r0 = cluster.replicas[0].flight()
    wait_for(lambda: count(r0, "t"), 150_000)
    wait_for(lambda: count(r0, "u"), 7)
    wait_for(lambda: count(r0, "gone"), None)
    assert r0.do_get(fl.Ticket(b"SELECT sum(id) AS s FROM t")).read_all()["s"][0].as_py() == sum(range(150_000))
    # The primary dies; the replicas keep serving reads, then follow the restarted primary.
    p.close()
    cluster.primary.kill()
    assert count(r0, "t") == 150_000 and count(r1, "t") == 150_000
    cluster.primary = cluster.start_primary()
    p = cluster.primary.flight()
    put(p, "t", table(25_000, start=150_000))
    for r in (r0, r1):
        wait_for(lambda: count(r, "t"), 175_000)
    for c in (p, r0, r1):
        c.close()


PEER = textwrap.dedent("""
    import pyarrow.flight as fl
    class Peer(fl.FlightServerBase):
        def do_get(self, context, ticket):
            raise fl.FlightServerError("not a Quiver server")
    s = Peer("grpc://127.0.0.1:0")
    print(s.port, flush=True)
    s.serve()
""")


def test_bad_primaries_are_reported_and_the_replica_serves(start_quiverd):
    port = free_port()
    me = start_quiverd("--in-memory", "--flight-port", str(port), "--replica-of", "127.0.0.1:%d" % port)
    peer = subprocess.Popen([sys.executable, "-c", PEER], stdout=subprocess.PIPE, text=True)
    try:
        other = start_quiverd("--in-memory", "--replica-of", "127.0.0.1:%s" % peer.stdout.readline().strip())
        deadline = time.time() + 20
        while time.time() < deadline and not ("itself" in "".join(me.log) and "not a Quiver" in "".join(other.log)):
            time.sleep(0.05)
        assert "pointed at itself" in "".join(me.log)
        assert "not a Quiver server" in "".join(other.log)
        for s in (me, other):
            c = s.flight()
            assert c.do_get(fl.Ticket(b"SELECT 1 AS x")).read_all()["x"][0].as_py() == 1
            c.close()
    finally:
        peer.kill()
        peer.wait()


def _read_at(uri, ticket):
    import pyarrow.flight as fl
    c = fl.connect(uri)
    try:
        return c.do_get(fl.Ticket(ticket)).read_pandas()
    finally:
        c.close()


def test_dask_reads_spread_over_primary_and_replicas(cluster):
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    import dask
    import duckdb

    p = cluster.primary.flight()
    put(p, "t", table(500_000))
    for r in cluster.replicas:
        rc = r.flight()
        wait_for(lambda: count(rc, "t"), 500_000)
        rc.close()
    info = p.get_flight_info(fl.FlightDescriptor.for_command("SELECT id, v, s FROM t WHERE id % 3 = 1"))
    # Each endpoint at its first location: the two replicas in turn; the primary for the rest.
    uris = [ep.locations[0].uri.decode() for ep in info.endpoints]
    uris = [u if i % 3 else "grpc://127.0.0.1:%d" % cluster.pport for i, u in enumerate(uris)]
    assert len(set(uris)) == 3
    parts = [dask.delayed(_read_at)(u, ep.ticket.ticket) for u, ep in zip(uris, info.endpoints)]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as dc:
        df = dd.from_delayed(parts, meta=info.schema.empty_table().to_pandas())
        total, means = dc.compute([df.v.sum(), df.groupby("s").v.mean()], sync=True)
    con = duckdb.connect()
    con.register("t", p.do_get(fl.Ticket(b"SELECT * FROM t")).read_all())
    assert total == pytest.approx(con.execute("SELECT sum(v) FROM t WHERE id % 3 = 1").fetchone()[0], rel=1e-12)
    want = dict(con.execute("SELECT s, avg(v) FROM t WHERE id % 3 = 1 GROUP BY s").fetchall())
    assert {k: pytest.approx(v, rel=1e-12) for k, v in want.items()} == dict(means.items())
    p.close()


def test_catch_up_cut_midway_applies_all_or_nothing(cluster):
    """A commit larger than one replication message, the primary killed while a
    replica catches up on it: the replica has none of it or all of it, never part."""
    p = cluster.primary.flight()
    put(p, "big", table(1_000_000))  # one commit, ~16 replication messages
    p.close()
    cluster.replicas[0].kill()
    cluster.replicas[0] = cluster.start_replica(0)
    r0 = cluster.replicas[0].flight()
    time.sleep(0.05)
    cluster.primary.kill()
    seen = {count(r0, "big") for _ in range(20)}
    assert seen <= {None, 0, 1_000_000}, seen
    cluster.primary = cluster.start_primary()
    wait_for(lambda: count(r0, "big"), 1_000_000)
    r0.close()


def test_replicas_follow_a_truncate(cluster):
    p = cluster.primary.flight()
    put(p, "tr", table(150_000))
    rs = [r.flight() for r in cluster.replicas]
    for r in rs:
        wait_for(lambda: count(r, "tr"), 150_000)
    p.do_get(fl.Ticket(b"TRUNCATE TABLE tr")).read_all()
    put(p, "tr", table(1000, start=5_000_000))
    for r in rs:
        wait_for(lambda: count(r, "tr"), 1000)
        assert r.do_get(fl.Ticket(b"SELECT min(id) AS m FROM tr")).read_all()["m"][0].as_py() == 5_000_000
    with pytest.raises((fl.FlightError, pa.ArrowInvalid)):
        rs[0].do_get(fl.Ticket(b"TRUNCATE TABLE tr")).read_all()
    for c in [p] + rs:
        c.close()


def test_a_table_with_deleted_rows_is_read_from_the_primary_only(cluster):
    # A replica's copy of a table with DELETEd rows holds its live rows only,
    # so it numbers them otherwise: the primary lists no replica for such a
    # table, and a replica refuses its tickets rather than read other rows.
    p = cluster.primary.flight()
    put(p, "t", table(300_000))
    rs = [r.flight() for r in cluster.replicas]
    for r in rs:
        wait_for(lambda: count(r, "t"), 300_000)
    q = fl.FlightDescriptor.for_command("SELECT id FROM t")
    before = p.get_flight_info(q)
    assert all(len(ep.locations) == 2 for ep in before.endpoints)
    p.do_get(fl.Ticket(b"DELETE FROM t WHERE id < 150000")).read_all()
    for r in rs:
        wait_for(lambda: count(r, "t"), 150_000)
    info = p.get_flight_info(q)
    assert len(info.endpoints) >= 2
    assert all(len(ep.locations) == 0 for ep in info.endpoints)
    rows = pa.concat_tables([p.do_get(ep.ticket).read_all() for ep in info.endpoints])
    assert sorted(rows["id"].to_pylist()) == list(range(150_000, 300_000))
    for r in rs:
        for ep in info.endpoints:
            with pytest.raises((fl.FlightError, pa.ArrowKeyError), match="removed|snapshot|new FlightInfo"):
                r.do_get(ep.ticket).read_all()
    for c in [p] + rs:
        c.close()
