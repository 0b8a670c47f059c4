"""SUBSCRIBE over Flight DoGet and HTTP /subscribe against a real quiverd:
exactly the committed rows of concurrent writers, each commit whole and in
order; aborted puts never seen; projections and filters (DuckDB checks the
rows); refused statements; a slow subscriber cut off; a restart ending
subscriptions with UNAVAILABLE and SINCE resuming without gaps; NDJSON and
Server-Sent Events."""
import json
import threading
import time

import duckdb
import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

TS = pa.timestamp("ns", tz="UTC")
SCHEMA = pa.schema([("w", pa.int64()), ("seq", pa.int64()), ("k", pa.int64()), ("ts", TS), ("v", pa.float64())])


@pytest.fixture(scope="module")
def client(quiverd):
    c = quiverd.flight()
    yield c
    c.close()


def commit_table(w, seq, n, ts0=None):
    ts0 = ts0 if ts0 is not None else (w * 1000000 + seq) * 1000
    return pa.table({"w": [w] * n, "seq": [seq] * n, "k": list(range(n)),
                     "ts": pa.array([ts0 + i for i in range(n)], TS), "v": [seq + i / 8 for i in range(n)]},
                    schema=SCHEMA)


def put(client, table, t):
    wr, _ = client.do_put(fl.FlightDescriptor.for_path(table), t.schema)
    wr.write_table(t)
    wr.close()


class Subscriber:
    """Reads a SUBSCRIBE DoGet on a thread; chunks and the ending error are kept."""

    def __init__(self, client, sql, read=True):
        self.reader = client.do_get(fl.Ticket(sql.encode()))
        self.schema = self.reader.schema
        self.batches, self.error = [], None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        if read:
            self.thread.start()

    def _run(self):
        try:
            for chunk in self.reader:
                with self.cond:
                    self.batches.append(chunk.data)
                    self.cond.notify_all()
        except Exception as e:  # the ending status
            with self.cond:
                self.error = e
                self.cond.notify_all()

    def rows(self):
        with self.cond:
            return [r for b in self.batches for r in b.to_pylist()]

    def wait_rows(self, n, timeout=30):
        deadline = time.time() + timeout
        with self.cond:
            while sum(b.num_rows for b in self.batches) < n and self.error is None:
                left = deadline - time.time()
                assert left > 0, "subscriber got %d of %d rows" % (sum(b.num_rows for b in self.batches), n)
                self.cond.wait(left)
            n_got = sum(b.num_rows for b in self.batches)
        assert n_got >= n, "subscription ended after %d of %d rows: %r" % (n_got, n, self.error)

    def wait_error(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "subscription did not end"
        return self.error

    def cancel(self):
        self.reader.cancel()
        self.thread.join(10)


def test_three_concurrent_writers_exactly_once_in_commit_order(client):
    put(client, "sub_w", commit_table(9, 0, 5))  # before the subscription: not delivered
    sub = Subscriber(client, "SUBSCRIBE SELECT * FROM sub_w")
    assert sub.schema == SCHEMA
    commits, n_per = 40, 7

    def writer(w):
        for seq in range(commits):
            put(client, "sub_w", commit_table(w, seq, n_per + (seq % 3)))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(n_per + (s % 3) for s in range(commits)) * 3
    sub.wait_rows(total)
    time.sleep(0.2)
    got = sub.rows()
    sub.cancel()
    assert len(got) == total  # nothing twice, nothing from before
    # In the table's own order (which is commit order), after the 5 old rows.
    stored = client.do_get(fl.Ticket("SELECT * FROM sub_w")).read_all().to_pylist()[5:]
    assert got == stored
    # Each commit whole and contiguous; each writer's commits in its order.
    runs = []
    for r in got:
        key = (r["w"], r["seq"])
        if not runs or runs[-1][0] != key:
            runs.append([key, []])
        runs[-1][1].append(r["k"])
    assert len(runs) == 3 * commits
    for (w, seq), ks in runs:
        assert ks == list(range(n_per + (seq % 3)))
    for w in range(3):
        assert [seq for (ww, seq), _ in runs if ww == w] == list(range(commits))


def test_batches_coalesce_commits_and_respect_max_batch_bytes(client):
    put(client, "sub_big", commit_table(0, 0, 1))
    sub = Subscriber(client, "SUBSCRIBE SELECT * FROM sub_big")
    big = commit_table(1, 1, 400000)  # ~16 MB: more than one 4 MiB batch
    put(client, "sub_big", big)
    sub.wait_rows(400000)
    sub.cancel()
    ks = pa.concat_arrays([b.column(2) for b in sub.batches]).to_pylist()
    assert ks == list(range(400000))
    assert len(sub.batches) > 1


def test_paced_commits_come_together_whole_and_in_order(start_quiverd):
    """--subscriber-interval: a commit after a quiet spell goes at once; the
    commits that follow within the interval come together at the next round,
    each whole, in commit order, none twice."""
    srv = start_quiverd("--in-memory", "--subscriber-interval", "1s")
    c = srv.flight()
    put(c, "sub_pace", commit_table(0, 0, 1))
    sub = Subscriber(c, "SUBSCRIBE SELECT * FROM sub_pace")
    put(c, "sub_pace", commit_table(1, 0, 3))
    sub.wait_rows(3)
    t_first = time.time()
    for seq in range(1, 7):
        put(c, "sub_pace", commit_table(1, seq, 3 + seq))
    total = 3 + sum(3 + seq for seq in range(1, 7))
    sub.wait_rows(total)
    t_rest = time.time()
    time.sleep(0.2)
    got, batches = sub.rows(), list(sub.batches)
    sub.cancel()
    c.close()
    assert [(r["seq"], r["k"]) for r in got] == [(seq, k) for seq in range(7) for k in range(3 + seq)]
    assert t_rest - t_first >= 0.5  # held for the next round, an interval after the first
    assert 2 <= len(batches) <= 3  # not one message per commit (7)
    where = {}
    for i, b in enumerate(batches):
        for seq in set(b.column("seq").to_pylist()):
            assert where.setdefault(seq, i) == i, "commit %d split across batches" % seq


KILLED_WRITER = """
import sys, time, pyarrow as pa, pyarrow.flight as fl
c = fl.connect(sys.argv[1])
ts = pa.timestamp("ns", tz="UTC")
t = pa.table({"w": [7] * 100, "seq": [7] * 100, "k": list(range(100)),
              "ts": pa.array(list(range(100)), ts), "v": [0.5] * 100})
w, r = c.do_put(fl.FlightDescriptor.for_path(sys.argv[2]), t.schema)
for i in range(3):
    w.write_table(t)
    r.read()   # the server holds the batch
print("sent", flush=True)
time.sleep(600)
"""


def test_aborted_put_is_never_seen(quiverd, client):
    import signal
    import subprocess
    import sys
    put(client, "sub_ab", commit_table(0, 0, 1))
    sub = Subscriber(client, "SUBSCRIBE SELECT * FROM sub_ab")
    # A writer killed midway, after the server acknowledged its batches.
    p = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, quiverd.flight_uri, "sub_ab"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "sent"
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
    # A put the server refuses (a column of the wrong type) applies nothing.
    bad = pa.table({"w": pa.array(["x"]), "v": [1.0]})
    with pytest.raises((fl.FlightError, pa.ArrowException)):
        wr, _ = client.do_put(fl.FlightDescriptor.for_path("sub_ab"), bad.schema)
        wr.write_table(bad)
        wr.close()
    deadline = time.time() + 20
    while "quiver_flight_streams_active 1\n" not in requests.get(quiverd.http_url + "/metrics").text:
        assert time.time() < deadline  # only the subscription is left
        time.sleep(0.05)
    put(client, "sub_ab", commit_table(4, 4, 3))
    sub.wait_rows(3)
    time.sleep(0.3)
    got = sub.rows()
    sub.cancel()
    assert [(r["w"], r["k"]) for r in got] == [(4, 0), (4, 1), (4, 2)]


@pytest.mark.parametrize("sql, what", [
    ("SUBSCRIBE SELECT count(*) FROM sub_w", "aggregate count()"),
    ("SUBSCRIBE SELECT w, sum(v) FROM sub_w GROUP BY w", "sum()"),
    ("SUBSCRIBE SELECT * FROM sub_w ORDER BY ts", "ORDER BY"),
    ("SUBSCRIBE SELECT * FROM sub_w LIMIT 3", "LIMIT"),
    ("SUBSCRIBE SELECT * FROM sub_w a JOIN sub_w b ON a.w = b.w", "JOIN"),
    ("SUBSCRIBE SELECT * FROM sub_w, sub_ab", "joins"),
    ("SUBSCRIBE SELECT DISTINCT w FROM sub_w", "DISTINCT"),
    ("SUBSCRIBE SELECT * FROM (SELECT * FROM sub_w)", "subqueries"),
    ("SUBSCRIBE SELECT * FROM sub_w SINCE yesterday", "SINCE must be followed by TIMESTAMP"),
    ("SUBSCRIBE DELETE FROM sub_w", "SUBSCRIBE SELECT"),
])
def test_refused_with_invalid_argument_naming_what(client, sql, what):
    with pytest.raises((fl.FlightError, pa.ArrowException)) as ei:
        client.do_get(fl.Ticket(sql.encode())).read_all()
    assert "invalid argument" in str(ei.value)
    assert what in str(ei.value)


def test_unknown_table_and_bad_sql(client):
    with pytest.raises((fl.FlightError, pa.ArrowException)) as ei:
        client.do_get(fl.Ticket(b"SUBSCRIBE SELECT * FROM no_such_table")).read_all()
    assert "no_such_table" in str(ei.value)
    with pytest.raises((fl.FlightError, pa.ArrowException)) as ei:
        client.do_get(fl.Ticket(b"SUBSCRIBE SELECT nope FROM sub_w")).read_all()
    assert "nope" in str(ei.value)


def test_cancel_frees_the_subscription(quiverd, client):
    put(client, "sub_c", commit_table(0, 0, 1))
    subs = [Subscriber(client, "SUBSCRIBE SELECT * FROM sub_c") for _ in range(5)]
    put(client, "sub_c", commit_table(1, 1, 2))
    for s in subs:
        s.wait_rows(2)
        s.cancel()
    deadline = time.time() + 10
    while time.time() < deadline:
        m = requests.get(quiverd.http_url + "/metrics").text
        if "quiver_subscriptions_active 0" in m or "quiver_subscriptions_active" not in m:
            break
        time.sleep(0.1)
    assert "quiver_flight_streams_active 0" in requests.get(quiverd.http_url + "/metrics").text
    put(client, "sub_c", commit_table(2, 2, 2))  # commits after the cancels are fine


def test_slow_subscriber_is_cut_off_and_writer_not_slowed(start_quiverd):
    srv = start_quiverd("--in-memory", "--subscriber-buffer", "4M")
    c = srv.flight()
    put(c, "sub_slow", commit_table(0, 0, 1))
    slow = Subscriber(c, "SUBSCRIBE SELECT * FROM sub_slow", read=False)
    fast = Subscriber(c, "SUBSCRIBE SELECT * FROM sub_slow")
    for seq in range(100):  # ~330 KB a commit, 33 MB in all, never read by `slow`
        put(c, "sub_slow", commit_table(1, seq, 8192))
    fast.wait_rows(100 * 8192, timeout=60)
    fast.cancel()
    slow.thread.start()
    err = slow.wait_error()
    assert err is not None and "subscriber too slow" in str(err)
    assert "RESOURCE_EXHAUSTED" in str(err) or "resource" in str(err).lower()
    # What it did get is whole commits in order, a prefix of the stream.
    seqs = [b.column(1).to_pylist() for b in slow.batches]
    seqs = [x for b in seqs for x in b]
    assert seqs == sorted(seqs) and len(seqs) < 100 * 8192
    m = requests.get(srv.http_url + "/metrics").text
    assert "quiver_subscriptions_ended_slow_total 1\n" in m, [l for l in m.splitlines() if "subscri" in l]


def test_restart_ends_with_unavailable(start_quiverd, tmp_path):
    d = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", d)
    c = srv.flight()
    put(c, "sub_r", commit_table(0, 0, 3))
    sub = Subscriber(c, "SUBSCRIBE SELECT * FROM sub_r")
    put(c, "sub_r", commit_table(0, 1, 3))
    sub.wait_rows(3)
    assert srv.stop() == 0
    err = sub.wait_error()
    assert isinstance(err, fl.FlightUnavailableError), repr(err)
    assert "shutting down" in str(err)


def test_http_ndjson_and_sse(quiverd, client):
    put(client, "sub_h", commit_table(0, 0, 2))
    lines, events = [], []
    ready = threading.Barrier(3)

    def nd():
        r = requests.get(quiverd.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT * FROM sub_h"},
                         stream=True, timeout=30)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        ready.wait()
        for line in r.iter_lines():
            if line:
                lines.append(json.loads(line))
            if len(lines) >= 5:
                break
        r.close()

    def sse():
        r = requests.get(quiverd.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT * FROM sub_h"},
                         headers={"Accept": "text/event-stream"}, stream=True, timeout=30)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        ready.wait()
        ev = {}
        for line in r.iter_lines(decode_unicode=True):
            if line == "":
                if ev:
                    events.append(ev)
                ev = {}
                if sum(len(e["data"]) for e in events if e["event"] == "rows") >= 5:
                    break
                continue
            if line.startswith(":"):
                continue
            k, _, v = line.partition(": ")
            ev[k] = json.loads(v) if k == "data" else v
        r.close()

    ts = [threading.Thread(target=nd), threading.Thread(target=sse)]
    for t in ts:
        t.start()
    ready.wait()
    time.sleep(0.2)
    put(client, "sub_h", commit_table(1, 1, 2))
    put(client, "sub_h", commit_table(1, 2, 3))
    for t in ts:
        t.join(30)
    assert [(r["seq"], r["k"]) for r in lines] == [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)]
    assert lines[0]["ts"].endswith("Z") and lines[1]["v"] == 1.125
    assert events[0]["event"] == "schema"
    assert [m["name"] for m in events[0]["data"]["meta"]] == ["w", "seq", "k", "ts", "v"]
    rows = [r for e in events[1:] for r in e["data"]]
    assert [(r[1], r[2]) for r in rows] == [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)]
    # one event per commit here (the two commits came apart in time or were coalesced whole)
    for e in events[1:]:
        assert len({r[1] for r in e["data"]}) >= 1
        assert e["event"] == "rows"


def test_http_errors_before_streaming(quiverd):
    r = requests.get(quiverd.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT * FROM sub_w LIMIT 1"})
    assert r.status_code == 400 and "LIMIT" in r.json()["error"]
    r = requests.get(quiverd.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT * FROM nope_tbl"})
    assert r.status_code == 404
    r = requests.get(quiverd.http_url + "/subscribe")
    assert r.status_code == 400
    r = requests.get(quiverd.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT * FROM sub_w",
                                                               "format": "CSV"})
    assert r.status_code == 400


@pytest.mark.parametrize("interval", ["0", "1s"])  # paced: the end is not held for the next round
def test_http_sse_end_event_on_shutdown(start_quiverd, interval):
    srv = start_quiverd("--in-memory", "--subscriber-interval", interval)
    c = srv.flight()
    put(c, "sub_e", commit_table(0, 0, 1))
    r = requests.get(srv.http_url + "/subscribe", params={"query": "SUBSCRIBE SELECT * FROM sub_e", "format": "sse"},
                     stream=True, timeout=30)
    it = r.iter_lines(decode_unicode=True)
    assert next(it) == "event: schema"
    put(c, "sub_e", commit_table(0, 1, 1))  # a round now: the end comes within the interval of it
    while next(it) != "event: rows":
        pass
    stopper = threading.Thread(target=srv.stop)
    stopper.start()
    rest = list(it)
    stopper.join(30)
    assert "event: end" in rest
    end = json.loads(rest[rest.index("event: end") + 1][len("data: "):])
    assert end == {"error": "server shutting down", "code": 503}




def duck(sql, **tables):
    con = duckdb.connect()
    for name, t in tables.items():
        con.register(name, t)
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def test_projection_and_filter_match_duckdb(client):
    put(client, "sub_pf", commit_table(0, 0, 4))
    # (DuckDB keeps microseconds, so the nanosecond ts column is left out of the comparison)
    sql = ("SELECT w, seq, k, v * 2 + k AS x, CASE WHEN k % 2 = 0 THEN 'even' ELSE 'odd' END AS parity "
           "FROM sub_pf WHERE v > 2.3 AND w <> 1")
    sub = Subscriber(client, "SUBSCRIBE " + sql)
    assert [f.name for f in sub.schema] == ["w", "seq", "k", "x", "parity"]
    committed = []
    for seq in range(1, 12):
        t = commit_table(seq % 3, seq, 6)
        put(client, "sub_pf", t)
        committed.append(t)
    want = duck(sql.replace("sub_pf", "t") + " ORDER BY seq, k", t=pa.concat_tables(committed))
    sub.wait_rows(len(want))
    time.sleep(0.2)
    got = sub.rows()
    sub.cancel()
    assert got == want  # commit order is seq order here


def test_since_replays_then_goes_live(client):
    base = 1_700_000_000_000_000_000
    old = pa.concat_tables([commit_table(0, s, 5, ts0=base + s * 10) for s in range(6)])
    put(client, "sub_since", old)
    cut = base + 23  # seq 2, k 3 onwards
    sub = Subscriber(client, "SUBSCRIBE SELECT seq, k, ts FROM sub_since WHERE k <> 4 "
                             "SINCE TIMESTAMP '2023-11-14 22:13:20.000000023'")
    # 2023-11-14 22:13:20 UTC is `base`; nanoseconds matter, so the expectation is computed here
    replay = [r for r in old.to_pylist() if r["k"] != 4 and pa.scalar(r["ts"], TS).value >= cut]
    assert (replay[0]["seq"], replay[0]["k"]) == (2, 3)
    sub.wait_rows(len(replay))
    put(client, "sub_since", commit_table(0, 99, 5, ts0=base))  # live: old timestamps still delivered
    sub.wait_rows(len(replay) + 4)
    time.sleep(0.2)
    got = sub.rows()
    sub.cancel()
    assert [(r["seq"], r["k"]) for r in got] == [(r["seq"], r["k"]) for r in replay] + [(99, k) for k in range(4)]
    with pytest.raises((fl.FlightError, pa.ArrowException)) as ei:
        client.do_get(fl.Ticket(b"SUBSCRIBE SELECT a FROM sub_nots SINCE TIMESTAMP '2024-01-01'")).read_all()
    assert "sub_nots" in str(ei.value)


def test_since_resumes_after_restart_without_gaps(start_quiverd, tmp_path):
    d = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", d, "--max-batch-bytes", "64K")
    c = srv.flight()
    base = 1_700_000_000_000_000_000
    put(c, "sub_rs", commit_table(0, 0, 10, ts0=base))
    sub = Subscriber(c, "SUBSCRIBE SELECT seq, k, ts FROM sub_rs", read=False)
    for seq in range(1, 30):
        put(c, "sub_rs", commit_table(0, seq, 2000, ts0=base + seq * 10000))
    assert srv.stop() == 0
    sub.thread.start()  # reads what reached it, then the status
    err = sub.wait_error()
    assert isinstance(err, fl.FlightUnavailableError), repr(err)
    first = sub.rows()
    srv2 = start_quiverd("--data-dir", d)
    c2 = srv2.flight()
    since = first[-1]["ts"] if first else pa.scalar(base, TS).as_py()
    lit = since.strftime("%Y-%m-%d %H:%M:%S.%f") + "%03d" % getattr(since, "nanosecond", 0)
    sub2 = Subscriber(c2, "SUBSCRIBE SELECT seq, k, ts FROM sub_rs SINCE TIMESTAMP '%s'" % lit)
    put(c2, "sub_rs", commit_table(0, 30, 5, ts0=base + 30 * 10000))
    everything = c2.do_get(fl.Ticket("SELECT seq, k, ts FROM sub_rs")).read_all().to_pylist()
    after = [r for r in everything if r["seq"] > 0]  # committed after the first subscription began
    n_dup = sum(1 for r in first if r["ts"] == since)
    sub2.wait_rows(len(after) - len(first) + n_dup)
    time.sleep(0.2)
    second = sub2.rows()
    sub2.cancel()
    assert second[:n_dup] == [r for r in first if r["ts"] == since]  # the boundary, again
    assert first + second[n_dup:] == after  # nothing lost, nothing else twice


def test_http_since_over_sse(quiverd, client):
    base = 1_700_000_000_000_000_000
    put(client, "sub_hs", commit_table(0, 0, 5, ts0=base))
    r = requests.get(quiverd.http_url + "/subscribe",
                     params={"query": "SUBSCRIBE SELECT k FROM sub_hs SINCE TIMESTAMP '2023-11-14 22:13:20.000000002'"},
                     headers={"Accept": "text/event-stream"}, stream=True, timeout=30)
    it = r.iter_lines(decode_unicode=True)
    lines = [next(it) for _ in range(6)]
    r.close()
    assert lines[0] == "event: schema" and lines[3] == "event: rows"
    assert json.loads(lines[4][len("data: "):]) == [[2], [3], [4]]
