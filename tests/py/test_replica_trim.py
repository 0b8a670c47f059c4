"""The trim count (rows ever removed from a table's front by TRUNCATE or a
retention) survives restarts and reaches replicas: a partitioned ticket names
it, so a ticket issued after a truncate still redeems after the primary
restarts (kill -9: WAL replay; clean stop: the MANIFEST), and on a replica;
a ticket issued before the truncate never reads the rows that came after."""
import pyarrow as pa
import pyarrow.flight as fl
import pytest

from test_replicas import Cluster, count, put, table, wait_for

QUERY = b"SELECT id, v FROM tr WHERE id % 2 = 0"


def endpoints(client):
    return client.get_flight_info(fl.FlightDescriptor.for_command(QUERY)).endpoints


def redeem_all(client, eps):
    return pa.concat_tables([client.do_get(ep.ticket).read_all() for ep in eps])


def refused(client, eps):
    with pytest.raises((fl.FlightError, pa.ArrowKeyError, pa.ArrowInvalid)) as ei:
        redeem_all(client, eps)
    return str(ei.value)


@pytest.fixture
def cluster(start_quiverd, tmp_path):
    return Cluster(start_quiverd, tmp_path)


def test_trim_count_survives_restarts_and_reaches_replicas(cluster):
    p = cluster.primary.flight()
    put(p, "tr", table(150_000))
    before = endpoints(p)
    p.do_get(fl.Ticket(b"TRUNCATE TABLE tr")).read_all()
    put(p, "tr", table(150_000, start=1_000_000))
    after = endpoints(p)
    want = redeem_all(p, after)
    assert want.num_rows == 75_000
    assert "truncate" in refused(p, before)
    # The replicas hold the primary's trim count: its tickets redeem there.
    rs = [r.flight() for r in cluster.replicas]
    for r in rs:
        wait_for(lambda: count(r, "tr"), 150_000)
        assert redeem_all(r, after).equals(want)
        assert "truncate" in refused(r, before)
    # kill -9: the count comes back from the WAL.
    p.close()
    cluster.primary.kill()
    cluster.primary = cluster.start_primary()
    p = cluster.primary.flight()
    assert redeem_all(p, after).equals(want)
    assert "truncate" in refused(p, before)
    # A clean stop checkpoints: the count comes back from the MANIFEST.
    p.close()
    assert cluster.primary.stop() == 0
    cluster.primary = cluster.start_primary()
    p = cluster.primary.flight()
    assert redeem_all(p, after).equals(want)
    assert "truncate" in refused(p, before)
    # A replica restarted keeps its count (and its rows) and still redeems.
    rs[0].close()
    cluster.replicas[0].kill()
    cluster.replicas[0] = cluster.start_replica(0)
    rs[0] = cluster.replicas[0].flight()
    wait_for(lambda: count(rs[0], "tr"), 150_000)
    assert redeem_all(rs[0], after).equals(want)
    # More rows after all that still reach both replicas in order.
    put(p, "tr", table(10, start=2_000_000))
    for r in rs:
        wait_for(lambda: count(r, "tr"), 150_010)
        got = r.do_get(fl.Ticket(b"SELECT min(id) AS a, max(id) AS b FROM tr")).read_all().to_pylist()
        assert got == [{"a": 1_000_000, "b": 2_000_009}]
    for c in [p] + rs:
        c.close()
