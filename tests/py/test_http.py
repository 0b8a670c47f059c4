"""The HTTP API with real clients (requests, curl): every output format parsed
back and compared with the Arrow result of the same query (Flight when built
in), ingest in each format, streaming of a large result, concurrent clients,
malformed requests."""
import concurrent.futures
import csv
import io
import json
import math
import subprocess
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups

N = 500


def source_table(n=N):
    ids = np.arange(n, dtype=np.int64)
    f = (ids * 0.1 - 3.7).astype(np.float64)
    f[5], f[6], f[7] = np.nan, np.inf, -np.inf
    f[8] = 0.1 + 0.2
    f[9] = 1e300
    f_mask = ids % 11 == 4
    big = ids + (2 ** 53 + 1)  # not representable as a double: checks exact int64
    strs = ["s%d" % i for i in range(n)]
    strs[1] = 'comma, "quote"\nnewline\ttab \\ back'
    strs[2] = "unicode é 😀"
    strs[3] = ""
    s_mask = ids % 13 == 6
    ts = (np.int64(1_700_000_000_000_000_000) + ids * 1_000_000_007).astype("datetime64[ns]")
    b = ids % 3 == 0
    return pa.table({
        "id": pa.array(ids),
        "big": pa.array(big),
        "f": pa.array(f, mask=f_mask),
        "s": pa.array(strs, mask=s_mask),
        "ts": pa.array(ts, type=pa.timestamp("ns")),
        "b": pa.array(b),
    })


def arrow_bytes(table):
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table, max_chunksize=128)
    return sink.getvalue()


def query(srv, sql, fmt=None, method="post", **kw):
    params = {"format": fmt} if fmt else {}
    if method == "get":
        params["query"] = sql
        return requests.get(srv.http_url + "/", params=params, timeout=120, **kw)
    return requests.post(srv.http_url + "/", params=params, data=sql.encode(), timeout=120, **kw)


def ingest(srv, table, body, ctype=None, fmt=None):
    params = {"table": table}
    if fmt:
        params["format"] = fmt
    headers = {"Content-Type": ctype} if ctype else {}
    return requests.post(srv.http_url + "/ingest", params=params, data=body, headers=headers, timeout=120)


def iso(ns):
    return pd.Timestamp(int(ns), unit="ns").strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % (int(ns) % 10**9)


@pytest.fixture(scope="module")
def loaded(quiverd):
    t = source_table()
    r = ingest(quiverd, "h", arrow_bytes(t), "application/vnd.apache.arrow.stream")
    assert r.status_code == 200, r.text
    assert r.json() == {"table": "h", "rows": N, "format": "arrow"}
    return quiverd, t


SQL = "SELECT id, big, f, s, ts, b FROM h ORDER BY id"


def reference(srv, src):
    """What the query returns through Flight (if built in) — must equal the source."""
    if srv.flight_port:
        import pyarrow.flight as fl
        got = fl.connect(srv.flight_uri).do_get(fl.Ticket(SQL.encode())).read_all()
        assert got.column("id").to_pylist() == src.column("id").to_pylist()
        assert got.column("big").to_pylist() == src.column("big").to_pylist()
        assert got.column("s").to_pylist() == src.column("s").to_pylist()
        return got
    return src


def expected_rows(t):
    cols = {name: t.column(name).to_pylist() for name in t.column_names}
    ts_ns = t.column("ts").cast(pa.int64()).to_pylist()
    rows = []
    for i in range(t.num_rows):
        rows.append({"id": cols["id"][i], "big": cols["big"][i], "f": cols["f"][i], "s": cols["s"][i],
                     "ts": None if ts_ns[i] is None else iso(ts_ns[i]), "b": cols["b"][i]})
    return rows


def same_float(text_or_value, want):
    if want is None:
        return text_or_value is None
    got = float(text_or_value)  # "nan", "inf", "-inf" parse too
    if math.isnan(want):
        return math.isnan(got)
    return got == want


def check_json_row(got, want):
    assert got["id"] == want["id"] and got["big"] == want["big"]
    assert got["s"] == want["s"] and got["ts"] == want["ts"] and got["b"] == want["b"]
    assert same_float(got["f"], want["f"]), (got, want)
    if want["f"] is not None and not math.isfinite(want["f"]):
        assert isinstance(got["f"], str)  # nan/inf are documented strings in JSON


def test_json_default_format(loaded):
    srv, src = loaded
    want = expected_rows(reference(srv, src))
    r = query(srv, SQL)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert doc["meta"] == [{"name": "id", "type": "INT64"}, {"name": "big", "type": "INT64"},
                           {"name": "f", "type": "FLOAT64"}, {"name": "s", "type": "STRING"},
                           {"name": "ts", "type": "TIMESTAMP"}, {"name": "b", "type": "BOOL"}]
    assert doc["rows"] == N and len(doc["data"]) == N
    assert set(doc["statistics"]) == {"elapsed_s", "rows_read", "bytes_read"}
    for g, w in zip(doc["data"], want):
        check_json_row(g, w)
    assert doc["data"][8]["f"] == 0.30000000000000004  # shortest round trip text


def test_statistics_count_rows_scanned(start_quiverd):
    # 200K demo rows are 4 row groups of 64K; ts grows with the row number.
    srv = start_quiverd("--in-memory", "--demo-rows", "200000", *RG64)
    st = query(srv, "SELECT count(*) FROM trades").json()["statistics"]
    assert st["rows_read"] == 200000  # scanned, although one row comes out
    st = query(srv, "SELECT price FROM trades LIMIT 5").json()["statistics"]
    assert st["rows_read"] >= 5 and st["bytes_read"] >= 5 * 8
    # A ts range inside the first row group: min/max pruning skips the other three.
    first = query(srv, "SELECT max(ts) AS m FROM (SELECT ts FROM trades LIMIT 1000) AS x", fmt="JSONCompact").json()
    cutoff = first["data"][0][0]
    doc = query(srv, "SELECT count(*) FROM trades WHERE ts <= TIMESTAMP '%s'" % cutoff.rstrip("Z").replace("T", " ")).json()
    assert doc["data"][0]["count_star()"] == 1000
    assert doc["statistics"]["rows_read"] == 65536


def test_json_each_row_and_compact(loaded):
    srv, src = loaded
    want = expected_rows(reference(srv, src))
    r = query(srv, SQL + " FORMAT JSONEachRow")
    assert r.status_code == 200
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert len(rows) == N
    for g, w in zip(rows, want):
        check_json_row(g, w)
    r = query(srv, SQL, fmt="JSONCompact", method="get")
    doc = r.json()
    names = [m["name"] for m in doc["meta"]]
    for g, w in zip(doc["data"], want):
        check_json_row(dict(zip(names, g)), w)


@pytest.mark.parametrize("fmt", ["CSV", "CSVWithNames", "TSV", "TSVWithNames"])
def test_text_formats(loaded, fmt):
    srv, src = loaded
    want = expected_rows(reference(srv, src))
    r = query(srv, SQL, fmt=fmt)
    assert r.status_code == 200, r.text
    if fmt.startswith("CSV"):
        assert r.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text, newline="")))
    else:
        def unescape(v):
            return v.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r").replace("\\\\", "\\")
        rows = [[unescape(v) for v in line.split("\t")] for line in r.text.split("\n")[:-1]]
    if fmt.endswith("WithNames"):
        assert rows[0] == ["id", "big", "f", "s", "ts", "b"]
        rows = rows[1:]
    assert len(rows) == N
    for g, w in zip(rows, want):
        assert int(g[0]) == w["id"] and int(g[1]) == w["big"]
        assert same_float(g[2] if g[2] != "" else None, w["f"])
        if w["s"] is None:
            assert g[3] == ""
        else:
            assert g[3] == w["s"]
        assert g[4] == w["ts"]
        assert g[5] == ("true" if w["b"] else "false")
    if fmt == "CSV":  # NULL is an empty field; an empty string is ""
        assert '\n3,%d,' % (2**53 + 4) in r.text and ',"",' in r.text


def test_arrow_format_equals_flight(loaded):
    srv, src = loaded
    ref = reference(srv, src)
    r = query(srv, SQL, fmt="Arrow")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    got = pa.ipc.open_stream(r.content).read_all()
    assert got.num_rows == N
    for name in ["id", "big", "s", "b"]:
        assert got.column(name).to_pylist() == ref.column(name).to_pylist()
    assert got.column("ts").cast(pa.int64()).to_pylist() == ref.column("ts").cast(pa.int64()).to_pylist()
    gf, rf = got.column("f").to_pylist(), ref.column("f").to_pylist()
    assert all(same_float(a, b) if b is not None else a is None for a, b in zip(gf, rf))


def test_ingest_csv_then_query(quiverd):
    body = "k,x,flag,when,name\n1,1.5,true,2024-01-02T03:04:05.123456789Z,\"a,b\"\n2,,false,2024-01-03,\n3,-2,true,,c\n"
    r = ingest(quiverd, "csv_t", body.encode(), "text/csv")
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 3
    t = pa.ipc.open_stream(query(quiverd, "SELECT * FROM csv_t ORDER BY k", fmt="Arrow").content).read_all()
    assert t.schema.field("k").type == pa.int64()
    assert t.schema.field("x").type == pa.float64()
    assert t.schema.field("flag").type == pa.bool_()
    assert pa.types.is_timestamp(t.schema.field("when").type)
    assert t.column("x").to_pylist() == [1.5, None, -2.0]
    assert t.column("name").to_pylist() == ["a,b", None, "c"]
    assert t.column("when").cast(pa.int64()).to_pylist() == [1704164645123456789, 1704240000000000000, None]
    # appending converts to the table's types; a bad value names line and column
    r = ingest(quiverd, "csv_t", b"k,x\n4,2.5\n", fmt="csv")
    assert r.status_code == 200 and r.json()["rows"] == 1
    r = ingest(quiverd, "csv_t", b"k,x\n5,1\nsix,1\n", "text/csv")
    assert r.status_code == 400
    assert "line 3" in r.json()["error"] and "'k'" in r.json()["error"]
    assert query(quiverd, "SELECT count(*) AS n FROM csv_t").json()["data"][0]["n"] == 4  # atomic: none of 5/six


def test_ingest_ndjson_then_query(quiverd):
    body = '{"k": 1, "v": "x", "f": 1}\n{"k": 2, "f": 2.5, "ok": true}\n\n{"k": 3, "v": null}\n'
    r = ingest(quiverd, "nd_t", body.encode(), "application/x-ndjson")
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 3
    rows = [json.loads(x) for x in query(quiverd, "SELECT k, v, f, ok FROM nd_t ORDER BY k",
                                        fmt="JSONEachRow").text.splitlines()]
    assert rows == [{"k": 1, "v": "x", "f": 1, "ok": None}, {"k": 2, "v": None, "f": 2.5, "ok": True},
                    {"k": 3, "v": None, "f": None, "ok": None}]


def test_ingest_arrow_appends_and_checks_schema(quiverd):
    t = pa.table({"a": pa.array([1, 2, 3], pa.int64()), "b": pa.array(["x", "y", None])})
    assert ingest(quiverd, "arr_t", arrow_bytes(t), fmt="arrow").json()["rows"] == 3
    assert ingest(quiverd, "arr_t", arrow_bytes(t), "application/vnd.apache.arrow.stream").json()["rows"] == 3
    bad = pa.table({"a": pa.array(["not", "int", "!"])})
    r = ingest(quiverd, "arr_t", arrow_bytes(bad), "application/vnd.apache.arrow.stream")
    assert r.status_code == 400 and "a" in r.json()["error"]
    assert query(quiverd, "SELECT count(*) AS n FROM arr_t").json()["data"][0]["n"] == 6


def test_curl_query_and_ingest(quiverd, tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,x\n2,y\n")
    out = subprocess.run(["curl", "-sS", "-f", "--data-binary", "@%s" % p, "-H", "Content-Type: text/csv",
                          quiverd.http_url + "/ingest?table=curl_t"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["rows"] == 2
    out = subprocess.run(["curl", "-sS", "-f", "--data-binary", "SELECT a, b FROM curl_t ORDER BY a FORMAT CSV",
                          quiverd.http_url + "/"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1,x\n2,y\n"
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE",
                          quiverd.http_url + "/"], capture_output=True, text=True, timeout=60)
    assert out.stdout == "405"


def test_health_tables_metrics(loaded):
    srv, _ = loaded
    h = requests.get(srv.http_url + "/health", timeout=30)
    assert h.status_code == 200 and h.json()["status"] == "ok"
    tables = {t["name"]: t for t in requests.get(srv.http_url + "/tables", timeout=30).json()["tables"]}
    assert tables["h"]["rows"] == N and tables["h"]["bytes"] > 0
    assert [c["name"] for c in tables["h"]["schema"]] == ["id", "big", "f", "s", "ts", "b"]
    one = requests.get(srv.http_url + "/tables/h", timeout=30)
    assert one.status_code == 200 and one.json()["rows"] == N
    assert requests.get(srv.http_url + "/tables/nope", timeout=30).status_code == 404
    m = requests.get(srv.http_url + "/metrics", timeout=30)
    assert m.headers["Content-Type"].startswith("text/plain")
    text = m.text
    for needle in ['quiver_http_requests_total{route="query",code="200"}', "quiver_query_duration_seconds_bucket",
                   'quiver_table_rows{table="h"} %d' % N, "quiver_wal_bytes", "quiver_wal_syncs_total",
                   "quiver_rows_sent_total", "quiver_bytes_sent_total", "quiver_rows_ingested_total",
                   "quiver_flight_streams_active"]:
        assert needle in text, needle
    # every sample line is "name{labels} number"
    for line in text.splitlines():
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


def metric(srv, name):
    for line in requests.get(srv.http_url + "/metrics", timeout=30).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise KeyError(name)


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise KeyError("VmRSS")


def test_large_result_streams_and_hangup_stops_query(quiverd):
    n = 2_000_000
    t = pa.table({"i": pa.array(np.arange(n, dtype=np.int64)), "v": pa.array(np.arange(n) * 0.5)})
    assert ingest(quiverd, "big", arrow_bytes(t), "application/vnd.apache.arrow.stream").json()["rows"] == n
    with requests.post(quiverd.http_url + "/", params={"format": "JSONEachRow"},
                       data=b"SELECT i, v FROM big", stream=True, timeout=300) as r:
        assert r.status_code == 200
        assert r.headers.get("Transfer-Encoding") == "chunked"
        count = total = nbytes = 0
        base = peak = rss(quiverd.proc.pid)
        for line in r.iter_lines(chunk_size=1 << 16):
            row = json.loads(line)
            total += row["i"]
            count += 1
            nbytes += len(line) + 1
            if count % 100_000 == 0:
                peak = max(peak, rss(quiverd.proc.pid))
    assert count == n and total == n * (n - 1) // 2
    # the result is never held whole: the server grows by far less than it sent
    assert nbytes > 40_000_000 and peak - base < nbytes // 4, (base, peak, nbytes)
    # hang up after the first rows: the query must end (its latency gets recorded)
    before = metric(quiverd, "quiver_query_duration_seconds_count")
    r = requests.post(quiverd.http_url + "/", params={"format": "CSV"}, data=b"SELECT i, v FROM big",
                      stream=True, timeout=300)
    chunks = r.iter_content(1 << 12)
    first = next(chunks)
    assert first.startswith(b"0,0.0\n")  # a FLOAT64 keeps its fraction: SQL's CAST(0.0 AS VARCHAR) form
    r.close()
    deadline = time.time() + 30
    while metric(quiverd, "quiver_query_duration_seconds_count") <= before and time.time() < deadline:
        time.sleep(0.05)
    assert metric(quiverd, "quiver_query_duration_seconds_count") > before


def test_concurrent_clients(loaded):
    srv, src = loaded
    want_ids = list(range(N))

    def one(k):
        fmt = ["JSON", "CSV", "Arrow", "JSONEachRow"][k % 4]
        r = query(srv, "SELECT id FROM h ORDER BY id", fmt=fmt)
        assert r.status_code == 200
        if fmt == "JSON":
            return [row["id"] for row in r.json()["data"]]
        if fmt == "CSV":
            return [int(x) for x in r.text.split()]
        if fmt == "Arrow":
            return pa.ipc.open_stream(r.content).read_all().column("id").to_pylist()
        return [json.loads(x)["id"] for x in r.text.splitlines()]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for ids in ex.map(one, range(32)):
            assert ids == want_ids


def test_malformed_requests(loaded):
    srv, _ = loaded
    u = srv.http_url
    r = query(srv, "SELEC id FROM h")
    assert r.status_code == 400
    assert r.json()["code"] == 400 and "column" in r.json()["error"]
    r = query(srv, "SELECT * FROM no_such_table")
    assert r.status_code == 404 and "no_such_table" in r.json()["error"]
    assert query(srv, "SELECT 1", fmt="XML").status_code == 400
    assert requests.get(u + "/", timeout=30).status_code == 400  # no query at all
    assert requests.get(u + "/nope", timeout=30).status_code == 404
    assert requests.put(u + "/", data=b"x", timeout=30).status_code == 405
    r = requests.get(u + "/ingest?table=x", timeout=30)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert requests.post(u + "/health", timeout=30).status_code == 405
    for ctype, body in [("application/x-ndjson", b'{"a": 1}\n{"a": }\n'), ("application/x-ndjson", b"not json"),
                        ("text/csv", b'a,b\n1,2\n3\n'), ("text/csv", b'a,b\n"1,2\n'),
                        ("application/vnd.apache.arrow.stream", b"\xff\xff\xff\xff garbage bytes here"),
                        ("application/vnd.apache.arrow.stream", arrow_bytes(source_table(10))[:-40]),
                        ("application/x-www-form-urlencoded", b"a=1")]:
        r = ingest(srv, "bad_t", body, ctype)
        assert r.status_code == 400, (ctype, body, r.text)
        assert r.json()["code"] == 400
    assert ingest(srv, "", b"a\n1\n", "text/csv").status_code == 400
    tables = [t["name"] for t in requests.get(u + "/tables", timeout=30).json()["tables"]]
    assert "bad_t" not in tables
    # the server is still fine
    assert requests.get(u + "/health", timeout=30).status_code == 200


def test_body_limit_413(start_quiverd):
    srv = start_quiverd("--in-memory", "--max-body-bytes", "2048")
    big_sql = b"SELECT 1 AS x" + b" " * 4000
    r = requests.post(srv.http_url + "/", data=big_sql, timeout=60)
    assert r.status_code == 413 and r.json()["code"] == 413

    def chunks():
        yield b"SELECT 1 AS x"
        for _ in range(200):
            yield b" " * 50

    r = requests.post(srv.http_url + "/", data=chunks(), timeout=60)
    assert r.status_code == 413
    # /ingest bodies stream (Arrow) or spill to a file (CSV, NDJSON): the limit is not theirs
    r = ingest(srv, "t", b"a\n" + b"1\n" * 2000, "text/csv")
    assert r.status_code == 200 and r.json()["rows"] == 2000
    r = requests.post(srv.http_url + "/ingest", params={"table": "t"}, data=(b"a\n" + b"1\n" * 50 for _ in range(40)),
                      headers={"Content-Type": "text/csv"}, timeout=60)
    assert r.status_code == 400  # the header line repeats inside: "a" is not a BIGINT
    assert ingest(srv, "t", b"a\n1\n", "text/csv").status_code == 200


def test_shutdown_with_result_in_flight(start_quiverd):
    srv = start_quiverd("--in-memory", "--demo-rows", "2000000")
    r = requests.post(srv.http_url + "/", params={"format": "CSV"}, data=b"SELECT * FROM trades",
                      stream=True, timeout=300)
    assert r.status_code == 200
    chunks = r.iter_content(1 << 12)  # keep the generator: dropping it makes urllib3 hang up
    next(chunks)  # the stream has started; the client now stops reading
    assert srv.stop() == 0  # waits out the grace period, cancels the query, exits 0
    assert any("still running" in line for line in srv.log)
    r.close()


def test_engine_statuses_map_to_http(start_quiverd):
    srv = start_quiverd("--in-memory", "--demo-rows", "200000", "--query-memory", "1M")
    r = query(srv, "SELECT * FROM trades ORDER BY price")  # a full sort cannot fit in 1 MiB
    assert r.status_code == 507, r.text
    assert r.json()["code"] == 507 and "memory" in r.json()["error"]
    assert query(srv, "CREATE TABLE x (a BIGINT)").status_code == 200
    r = query(srv, "CREATE TABLE x (a BIGINT)")
    assert r.status_code == 409 and "x" in r.json()["error"]
    assert query(srv, "INSERT INTO x VALUES (1), (2)").status_code == 200
    assert query(srv, "SELECT a FROM x ORDER BY a FORMAT TSV").text == "1\n2\n"
