"""Staying in control under load (docs/security.md): admission control
(busy refusals on Flight and HTTP), query timeouts (--query-timeout, the
client's gRPC deadline, HTTP max_execution_time), the DoPut byte budget,
HTTP connection limits, the new /metrics, and cheap calls answering while
heavy queries run. Latency bounds here are generous (a loaded 2-core CI box);
real p99 figures are in bench/bench_load.py and docs/benchmarks.md."""
import socket
import threading
import time

import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

HEAVY = "SELECT ts, count(*) AS n FROM trades GROUP BY ts ORDER BY n DESC LIMIT 1"


def run_heavy(uri, results, i, sql=HEAVY):
    try:
        fl.connect(uri).do_get(fl.Ticket(sql)).read_all()
        results[i] = "ok"
    except pa.ArrowException as e:  # RESOURCE_EXHAUSTED comes as ArrowInvalid in pyarrow
        results[i] = e


def test_busy_refusals(start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "300000", "--max-running-queries", "1",
                      "--max-queued-queries", "1")
    results = [None] * 6
    ts = [threading.Thread(target=run_heavy, args=(s.flight_uri, results, i)) for i in range(6)]
    for t in ts:
        t.start()
    # HTTP meanwhile: refused with 503 and Retry-After while the slot and the queue are taken
    http_busy = None
    deadline = time.time() + 20
    while time.time() < deadline and http_busy is None:
        m = requests.get(s.http_url + "/metrics").text
        if "quiver_queries_running 1" in m and "quiver_queries_queued 1" in m:
            r = requests.get(s.http_url + "/", params={"query": HEAVY})
            if r.status_code == 503:
                http_busy = r
        time.sleep(0.01)
    for t in ts:
        t.join(60)
    busy = [r for r in results if isinstance(r, pa.ArrowException)]
    assert results.count("ok") >= 1
    assert busy, results
    for e in busy:
        assert "resource exhausted" in str(e)
        assert "server busy" in str(e) and "running" in str(e) and "queued" in str(e)
    assert http_busy is not None
    assert "server busy" in http_busy.json()["error"] and http_busy.headers["Retry-After"] == "1"
    m = requests.get(s.http_url + "/metrics").text
    assert 'quiver_refusals_total{reason="busy"}' in m
    assert 'quiver_refusals_total{reason="busy"} 0' not in m
    # everything is usable again afterwards
    assert fl.connect(s.flight_uri).do_get(fl.Ticket("SELECT count(*) AS n FROM trades")).read_all()["n"][0].as_py() \
        == 300000


def test_queued_queries_run_in_turn(start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "100000", "--max-running-queries", "1",
                      "--max-queued-queries", "16")
    results = [None] * 6
    ts = [threading.Thread(target=run_heavy, args=(s.flight_uri, results, i)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert results == ["ok"] * 6


def test_query_timeout_flag(start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "4000000", "--query-timeout", "300ms")
    c = fl.connect(s.flight_uri)
    t0 = time.time()
    with pytest.raises(fl.FlightTimedOutError, match="time limit"):
        c.do_get(fl.Ticket(HEAVY)).read_all()
    assert time.time() - t0 < 30
    r = requests.get(s.http_url + "/", params={"query": HEAVY})
    assert r.status_code == 504 and "time limit" in r.json()["error"]
    # small queries are unaffected
    assert c.do_get(fl.Ticket("SELECT * FROM trades LIMIT 5")).read_all().num_rows == 5
    m = requests.get(s.http_url + "/metrics").text
    assert 'quiver_refusals_total{reason="timeout"} 0' not in m


def test_client_deadline_and_max_execution_time(start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "4000000")
    c = fl.connect(s.flight_uri)
    with pytest.raises(fl.FlightTimedOutError):
        c.do_get(fl.Ticket(HEAVY), fl.FlightCallOptions(timeout=0.2)).read_all()
    r = requests.get(s.http_url + "/", params={"query": HEAVY, "max_execution_time": "0.15"})
    assert r.status_code == 504, r.text
    r = requests.get(s.http_url + "/", params={"query": "SELECT 1", "max_execution_time": "abc"})
    assert r.status_code == 400
    # the stopped queries gave their slots and memory back: the server is idle again
    deadline = time.time() + 20
    while time.time() < deadline:
        m = requests.get(s.http_url + "/metrics").text
        if "quiver_queries_running 0" in m and "quiver_flight_streams_active 0" in m:
            break
        time.sleep(0.1)
    assert "quiver_queries_running 0" in m


def test_max_put_bytes(start_quiverd):
    s = start_quiverd("--in-memory", "--max-put-bytes", "64K")
    c = fl.connect(s.flight_uri)
    small = pa.table({"x": pa.array(range(100), pa.int64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("small"), small.schema)
    w.write_table(small)
    w.close()
    big = pa.table({"x": pa.array(range(100000), pa.int64())})
    with pytest.raises(pa.ArrowException, match="max-put-bytes"):
        w, _ = c.do_put(fl.FlightDescriptor.for_path("big"), big.schema)
        w.write_table(big, max_chunksize=2000)
        w.close()
    names = [f.descriptor.path[0].decode() for f in c.list_flights()]
    assert "small" in names and "big" not in names


def test_http_connection_limit_and_header_timeout(start_quiverd):
    s = start_quiverd("--in-memory", "--max-connections", "4", "--http-header-timeout", "1s")
    socks = []
    for _ in range(4):
        k = socket.create_connection(("127.0.0.1", s.http_port))
        k.sendall(b"GET /health HTTP/1.1\r\nHo")  # a slowloris: never finishes its headers
        socks.append(k)
    time.sleep(0.3)
    # the limit is taken: a new connection is refused or closed at once
    try:
        r = requests.get(s.http_url + "/health", timeout=2)
        over = r.status_code != 200
    except requests.exceptions.RequestException:
        over = True
    assert over
    m = None
    # after the header timeout the slow ones are gone and the server answers again
    deadline = time.time() + 15
    ok = False
    while time.time() < deadline and not ok:
        try:
            ok = requests.get(s.http_url + "/health", timeout=2).status_code == 200
        except requests.exceptions.RequestException:
            time.sleep(0.2)
    assert ok
    m = requests.get(s.http_url + "/metrics").text
    assert 'quiver_refusals_total{reason="connections"} 0' not in m
    for k in socks:
        k.settimeout(2)
        try:
            assert k.recv(100) == b"" or True
        except OSError:
            pass
        k.close()


def test_slowloris_trickling_headers_is_cut(start_quiverd):
    s = start_quiverd("--in-memory", "--http-header-timeout", "1s")
    k = socket.create_connection(("127.0.0.1", s.http_port))
    k.settimeout(0.2)
    t0 = time.time()
    closed = False
    for ch in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 200:
        try:
            k.sendall(bytes([ch]))
            if k.recv(100) == b"":
                closed = True
                break
        except socket.timeout:
            pass
        except OSError:
            closed = True
            break
        if time.time() - t0 > 15:
            break
    k.close()
    assert closed and time.time() - t0 < 10
    assert requests.get(s.http_url + "/health").status_code == 200


def test_cheap_calls_answer_under_heavy_load(start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "400000")
    stop = threading.Event()

    def hammer():
        c = fl.connect(s.flight_uri)
        while not stop.is_set():
            try:
                c.do_get(fl.Ticket(HEAVY)).read_all()
            except pa.ArrowException:
                pass  # busy refusals are fine here

    ts = [threading.Thread(target=hammer) for _ in range(16)]
    for t in ts:
        t.start()
    try:
        time.sleep(1.0)
        c = fl.connect(s.flight_uri)
        lat = {"ping": [], "list_actions": [], "list_flights": [], "info": [], "health": []}
        for _ in range(25):
            t0 = time.perf_counter()
            list(c.do_action(fl.Action("ping", b"")))
            lat["ping"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            list(c.list_actions())
            lat["list_actions"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            list(c.list_flights())
            lat["list_flights"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            c.get_flight_info(fl.FlightDescriptor.for_path("trades"))
            lat["info"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            requests.get(s.http_url + "/health")
            lat["health"].append(time.perf_counter() - t0)
        m = requests.get(s.http_url + "/metrics").text
    finally:
        stop.set()
        for t in ts:
            t.join(60)
    # Generous: before the query runners a ping took seconds here. The 50 ms
    # p99 figure is measured in bench/bench_load.py, not asserted.
    for k, v in lat.items():
        v.sort()
        assert v[len(v) // 2] < 0.5, (k, v)
        assert v[-1] < 3.0, (k, v)
    assert "quiver_queries_running" in m and 'quiver_rpc_duration_seconds_bucket{rpc="DoAction"' in m
