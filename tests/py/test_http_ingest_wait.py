"""HTTP /ingest into a table another stream is writing: the request waits
for the table's writer slot without holding its body (woken by storage when
the slot frees, as Flight DoPut is), bounded by ?lock_acquire_timeout=
(seconds, default 10): past it a 503 with Retry-After and nothing applied.
Also EXPLAIN DELETE through Flight and HTTP (prints the plan, deletes
nothing)."""
import io
import threading
import time

import pyarrow as pa
import pyarrow.flight as fl
import requests


def arrow_body(t):
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return sink.getvalue()


def count(c, table):
    return c.do_get(fl.Ticket("SELECT count(*) AS n FROM %s" % table)).read_all().column(0)[0].as_py()


def hold_writer(c, table, rows=10):
    """An open DoPut into `table`: it holds the table's writer slot until closed."""
    t = pa.table({"id": pa.array(range(rows), pa.int64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path(table), t.schema)
    w.write_table(t)
    return w


def wait_until_busy(srv, table):
    """Until the server has begun the holder's put (its first message may still be in flight): a probe
    whose body fails only after the writer slot is taken (a key twice on one NDJSON line), so it is a
    503 while the slot is held and a 400 applying nothing once the slot is free."""
    deadline = time.time() + 30
    while True:
        r = requests.post(srv.http_url + "/ingest?table=%s&lock_acquire_timeout=0.2" % table,
                          data=b'{"id": 1, "id": 2}\n', headers={"Content-Type": "application/x-ndjson"})
        if r.status_code == 503:
            return
        assert r.status_code == 400 and "appears twice" in r.text, r.text
        assert time.time() < deadline, "the holding put never took the table's writer slot"
        time.sleep(0.05)


def wait_rows(c, table, n):
    deadline = time.time() + 30
    while count(c, table) != n:
        assert time.time() < deadline, "table %s never reached %d rows" % (table, n)
        time.sleep(0.05)


def test_ingest_into_busy_table_times_out_with_503_and_nothing_applied(start_quiverd):
    srv = start_quiverd("--in-memory")
    c = srv.flight()
    base = pa.table({"id": pa.array([1, 2, 3], pa.int64())})
    r = requests.post(srv.http_url + "/ingest?table=b", data=arrow_body(base),
                      headers={"Content-Type": "application/vnd.apache.arrow.stream"})
    assert r.status_code == 200, r.text
    w = hold_writer(c, "b")
    wait_until_busy(srv, "b")
    for body, ctype in [(arrow_body(base), "application/vnd.apache.arrow.stream"), (b"id\n7\n8\n", "text/csv"),
                        (b'{"id": 9}\n', "application/x-ndjson")]:
        t0 = time.time()
        r = requests.post(srv.http_url + "/ingest?table=b&lock_acquire_timeout=0.5", data=body,
                          headers={"Content-Type": ctype}, timeout=30)
        assert r.status_code == 503, r.text
        assert r.headers.get("Retry-After") == "1"
        assert "being written by another stream" in r.json()["error"] and "nothing was ingested" in r.json()["error"]
        assert time.time() - t0 >= 0.4
    w.close()
    assert count(c, "b") == 3 + 10  # the three refused ingests left nothing
    r = requests.post(srv.http_url + "/ingest?table=b", data=b'{"id": 1, "id": 2}\n',
                      headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and "appears twice" in r.text  # the probe, slot free: refused, nothing applied
    assert count(c, "b") == 3 + 10
    r = requests.post(srv.http_url + "/ingest?table=b&lock_acquire_timeout=x", data=b"id\n1\n",
                      headers={"Content-Type": "text/csv"})
    assert r.status_code == 400 and "lock_acquire_timeout" in r.text


def test_ingest_waiting_for_busy_table_goes_in_when_the_writer_finishes(start_quiverd):
    srv = start_quiverd("--in-memory")
    c = srv.flight()
    w = hold_writer(c, "q", rows=5)  # creates q: the HTTP ingests below wait for it to be listed
    wait_until_busy(srv, "q")
    res = {}

    def ingest(key, body, ctype):
        res[key] = requests.post(srv.http_url + "/ingest?table=q", data=body, headers={"Content-Type": ctype},
                                 timeout=60)

    ths = [threading.Thread(target=ingest, args=("arrow", arrow_body(pa.table({"id": pa.array([100, 101],
                                                                                             pa.int64())})),
                                                 "application/vnd.apache.arrow.stream")),
           threading.Thread(target=ingest, args=("csv", b"id\n200\n201\n202\n", "text/csv"))]
    for t in ths:
        t.start()
    time.sleep(0.5)
    assert not res, "an ingest finished while the table's writer was still open"
    # Another HTTP request is served meanwhile: the waiting ingests block no shared thread.
    assert requests.get(srv.http_url + "/ping", timeout=5).status_code == 200
    w.close()
    for t in ths:
        t.join(30)
    assert res["arrow"].status_code == 200, res["arrow"].text
    assert res["csv"].status_code == 200, res["csv"].text
    assert res["arrow"].json()["rows"] == 2 and res["csv"].json()["rows"] == 3
    wait_rows(c, "q", 10)
    got = sorted(c.do_get(fl.Ticket("SELECT id FROM q")).read_all().column(0).to_pylist())
    assert got == [0, 1, 2, 3, 4, 100, 101, 200, 201, 202]


def test_explain_delete_prints_the_plan_and_deletes_nothing(start_quiverd):
    srv = start_quiverd("--in-memory")
    c = srv.flight()
    t = pa.table({"ts": pa.array(range(200_000), pa.int64()), "v": pa.array(range(200_000), pa.int64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("d"), t.schema)
    w.write_table(t)
    w.close()
    plan = c.do_get(fl.Ticket("EXPLAIN DELETE FROM d WHERE ts < 1000 AND v % 2 = 0")).read_all()
    lines = plan.column("plan").to_pylist()
    assert lines[0].startswith("DELETE FROM d")
    text = "\n".join(lines)
    assert "FILTER" in text and "SCAN d" in text and "prune=[ts < const]" in text, text
    whole = c.do_get(fl.Ticket("EXPLAIN DELETE FROM d")).read_all().column("plan").to_pylist()
    assert whole[0].startswith("DELETE FROM d: every row")
    r = requests.post(srv.http_url + "/", data="EXPLAIN DELETE FROM d WHERE ts > 199990")
    assert r.status_code == 200, r.text
    http_lines = [x["plan"] for x in r.json()["data"]]
    assert http_lines[0].startswith("DELETE FROM d") and any("prune=[ts > const]" in x for x in http_lines)
    assert count(c, "d") == 200_000
    for bad in ["EXPLAIN DELETE FROM nosuch WHERE ts < 1", "EXPLAIN DELETE FROM d WHERE nosuch < 1",
                "EXPLAIN DELETE d", "EXPLAIN INSERT INTO d VALUES (1, 2)"]:
        try:
            c.do_get(fl.Ticket(bad)).read_all()
            raise AssertionError("accepted: " + bad)
        except pa.ArrowException as e:
            assert "does not exist" in str(e) or "unknown column" in str(e) or "expected" in str(e).lower(), str(e)
    assert count(c, "d") == 200_000
