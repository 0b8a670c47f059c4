"""Sealed GetFlightInfo tickets against a real quiverd: expiry (NOT_FOUND),
forged/garbled/foreign tickets (INVALID_ARGUMENT), the key kept in the data
directory (a restarted server redeems old tickets), endpoint expiration_time
and app_metadata."""
import datetime
import json
import time

import pyarrow as pa
import pyarrow.flight as fl
import pytest

from conftest import Server

N_DEMO = 30000


@pytest.fixture(scope="module")
def demo():
    s = Server(["--in-memory", "--demo-rows", str(N_DEMO), "--ticket-ttl", "1500ms"])
    yield s
    rc = s.stop()
    assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


@pytest.fixture(scope="module")
def client(demo):
    c = demo.flight()
    yield c
    c.close()


def info_of(client, sql):
    return client.get_flight_info(fl.FlightDescriptor.for_command(sql))


def read_all(client, ticket, **kw):
    return client.do_get(ticket, **kw).read_all()


def test_endpoints_expire_and_carry_counts(client):
    before = datetime.datetime.now(datetime.timezone.utc)
    info = info_of(client, "SELECT count(*) FROM trades")
    assert len(info.endpoints) == 1
    ep = info.endpoints[0]
    left = (ep.expiration_time.as_py() - before).total_seconds()
    assert 0.5 < left < 5
    md = json.loads(ep.app_metadata)
    assert set(md) == {"rows", "bytes"} and md["rows"] == 1
    assert read_all(client, ep.ticket).column(0)[0].as_py() == N_DEMO


def test_expired_ticket_is_not_found_and_server_keeps_serving(client):
    info = info_of(client, "SELECT count(*) FROM trades")
    time.sleep(1.7)
    with pytest.raises(pa.ArrowKeyError) as ei:  # NOT_FOUND
        read_all(client, info.endpoints[0].ticket)
    assert "expired" in str(ei.value) and "GetFlightInfo" in str(ei.value)
    fresh = info_of(client, "SELECT count(*) FROM trades")
    assert read_all(client, fresh.endpoints[0].ticket).num_rows == 1


def status_of(exc):
    """The gRPC status a pyarrow Flight exception stands for."""
    if isinstance(exc, pa.ArrowInvalid):
        return "INVALID_ARGUMENT"
    if isinstance(exc, pa.ArrowKeyError):
        return "NOT_FOUND"
    return type(exc).__name__


def test_expired_status_is_not_found(client):
    info = info_of(client, "SELECT 1")
    time.sleep(1.7)
    with pytest.raises(Exception) as ei:
        read_all(client, info.endpoints[0].ticket)
    assert status_of(ei.value) == "NOT_FOUND", repr(ei.value)


def test_forged_and_garbled_tickets_are_invalid(client):
    t = info_of(client, "SELECT count(*) FROM trades").endpoints[0].ticket.ticket
    sql_at = t.index(b"SELECT")
    altered = t[:sql_at] + b"select" + t[sql_at + 6:]  # same length, other SQL: the tag must not match
    cases = [altered, t[:-1], t[:20], t + b"x", t[:8] + bytes([t[8] ^ 1]) + t[9:], b"\x00QVT", b"\x00QVT\x02" + t[5:]]
    for bad in cases:
        with pytest.raises(Exception) as ei:
            read_all(client, fl.Ticket(bad))
        assert status_of(ei.value) == "INVALID_ARGUMENT", (bad, repr(ei.value))
    assert read_all(client, fl.Ticket(t)).num_rows == 1


def test_ticket_from_another_server_is_invalid(client, start_quiverd):
    other = start_quiverd("--in-memory", "--demo-rows", "100")
    oc = other.flight()
    t = info_of(oc, "SELECT count(*) FROM trades").endpoints[0].ticket
    with pytest.raises(Exception) as ei:
        read_all(client, t)
    assert status_of(ei.value) == "INVALID_ARGUMENT"
    assert "not issued by this server" in str(ei.value)
    assert read_all(oc, t).column(0)[0].as_py() == 100
    oc.close()


def test_key_lives_in_the_data_directory(start_quiverd, tmp_path):
    data = tmp_path / "data"
    s1 = start_quiverd("--data-dir", str(data), "--demo-rows", "500")
    c1 = s1.flight()
    t = info_of(c1, "SELECT count(*) FROM trades").endpoints[0].ticket
    c1.close()
    assert s1.stop() == 0
    assert (data / "ticket.key").stat().st_mode & 0o077 == 0
    s2 = start_quiverd("--data-dir", str(data))
    c2 = s2.flight()
    assert read_all(c2, t).column(0)[0].as_py() == 500
    c2.close()


def test_plain_sql_tickets_still_work(client):
    assert read_all(client, fl.Ticket(b"SELECT 42 AS x")).column(0)[0].as_py() == 42
