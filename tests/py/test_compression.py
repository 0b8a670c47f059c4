"""Compressed result streams: DoGet with the quiver-compression call header
and HTTP Arrow output (quiver-compression / Accept-Encoding) carry Arrow IPC
BodyCompression (LZ4_FRAME, ZSTD) that pyarrow reads back; unknown names are
refused and the server keeps serving."""
import urllib.request

import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

from conftest import Server

N_DEMO = 50000


@pytest.fixture(scope="module")
def demo():
    s = Server(["--in-memory", "--demo-rows", str(N_DEMO)])
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


def status_of(exc):
    if isinstance(exc, pa.ArrowInvalid):
        return "INVALID_ARGUMENT"
    if isinstance(exc, pa.ArrowKeyError):
        return "NOT_FOUND"
    return type(exc).__name__


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_compressed_doget_reads_back(client, codec):
    sql = "SELECT * FROM trades ORDER BY ts"
    plain = read_all(client, fl.Ticket(sql.encode()))
    opts = fl.FlightCallOptions(headers=[(b"quiver-compression", codec.encode())])
    packed = read_all(client, fl.Ticket(sql.encode()), options=opts)
    assert packed.equals(plain)
    info = info_of(client, sql)
    assert read_all(client, info.endpoints[0].ticket, options=opts).equals(plain)


def bytes_sent(server):
    text = urllib.request.urlopen(server.http_url + "/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith("quiver_bytes_sent_total "):
            return int(line.split()[1])
    raise AssertionError("no quiver_bytes_sent_total in /metrics")


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_compressed_stream_sends_fewer_bytes(demo, client, codec):
    """Message bytes the server wrote (metadata + body) shrink with compression."""
    sql = b"SELECT * FROM trades"
    b0 = bytes_sent(demo)
    plain = read_all(client, fl.Ticket(sql))
    b1 = bytes_sent(demo)
    opts = fl.FlightCallOptions(headers=[(b"quiver-compression", codec.encode())])
    packed = read_all(client, fl.Ticket(sql), options=opts)
    b2 = bytes_sent(demo)
    assert packed.equals(plain)
    assert 0 < b2 - b1 < 0.8 * (b1 - b0), (b1 - b0, b2 - b1)


def test_unknown_compression_is_invalid(client):
    opts = fl.FlightCallOptions(headers=[(b"quiver-compression", b"brotli")])
    with pytest.raises(Exception) as ei:
        read_all(client, fl.Ticket(b"SELECT 1"), options=opts)
    assert status_of(ei.value) == "INVALID_ARGUMENT"
    assert "brotli" in str(ei.value) and "lz4" in str(ei.value)
    assert read_all(client, fl.Ticket(b"SELECT 1")).num_rows == 1


def http_arrow(server, sql, headers):
    r = requests.post(server.http_url + "/", params={"format": "Arrow"}, data=sql.encode(), headers=headers, timeout=120)
    return r


@pytest.mark.parametrize("how", [{"quiver-compression": "zstd"}, {"quiver-compression": "LZ4"},
                                 {"Accept-Encoding": "gzip, zstd"}, {"Accept-Encoding": "br, lz4;q=0.5"}])
def test_http_arrow_compressed(demo, how):
    sql = "SELECT * FROM trades ORDER BY ts"
    plain = http_arrow(demo, sql, {"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "X-Quiver-Compression" not in plain.headers
    packed = http_arrow(demo, sql, how)
    assert packed.status_code == 200, packed.text
    want = list(how.values())[0].lower().split(",")[-1].split(";")[0].strip()
    assert packed.headers["X-Quiver-Compression"] == want
    assert "Content-Encoding" not in packed.headers
    assert len(packed.content) < 0.8 * len(plain.content)
    a = pa.ipc.open_stream(plain.content).read_all()
    b = pa.ipc.open_stream(packed.content).read_all()
    assert a.equals(b) and a.num_rows == N_DEMO


def test_http_arrow_refused_codec_and_unknown_name(demo):
    r = http_arrow(demo, "SELECT 1", {"Accept-Encoding": "zstd;q=0, gzip"})
    assert r.status_code == 200 and "X-Quiver-Compression" not in r.headers
    r = http_arrow(demo, "SELECT 1", {"quiver-compression": "snappy"})
    assert r.status_code == 400 and "lz4" in r.text
    assert http_arrow(demo, "SELECT 1", {}).status_code == 200


def test_concurrent_compressed_streams(demo):
    """Streams share the compression helpers: several at once all decode right."""
    from concurrent.futures import ThreadPoolExecutor
    sql = b"SELECT * FROM trades WHERE volume > 10"
    c0 = demo.flight()
    want = c0.do_get(fl.Ticket(sql)).read_all()
    c0.close()

    def one(i):
        c = demo.flight()
        try:
            codec = [b"lz4", b"zstd"][i % 2]
            opts = fl.FlightCallOptions(headers=[(b"quiver-compression", codec)])
            return c.do_get(fl.Ticket(sql), options=opts).read_all()
        finally:
            c.close()
    with ThreadPoolExecutor(max_workers=6) as ex:
        for got in ex.map(one, range(12)):
            assert got.equals(want)
