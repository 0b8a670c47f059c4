"""Subscriptions sharing work: subscribers of the same statement take one
evaluation of each commit (the notifier's, left in the shared cache), a
different statement on the same table gets its own, and a slow subscriber
of a shared statement is cut off without the others missing anything.
Each subscriber is compared with the stored table through DuckDB."""
import threading

import duckdb
import pyarrow.flight as fl
import requests

from test_subscribe import SCHEMA, Subscriber, commit_table, put


def metric(srv, name):
    for line in requests.get(srv.http_url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("no metric " + name)


def expected(c, table, select, skip):
    """The rows `select` (over `t`) gives for the table's rows after the first `skip`, in table order."""
    t = c.do_get(fl.Ticket("SELECT * FROM %s" % table)).read_all().slice(skip)
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    con.register("t", t)
    cur = con.execute(select)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def whole_commits(sub):
    """Every (w, seq) commit's rows sit in one batch."""
    seen = {}
    for i, b in enumerate(sub.batches):
        for key in set(zip(b.column("w").to_pylist(), b.column("seq").to_pylist())):
            assert key not in seen, "commit %r split over batches %d and %d" % (key, seen[key], i)
            seen[key] = i


def test_same_statement_shares_and_other_filters_see_their_rows(start_quiverd):
    srv = start_quiverd("--in-memory")
    c = srv.flight()
    put(c, "sub_sh", commit_table(9, 0, 4))  # before: never delivered
    even = "SELECT w, seq, k, v FROM sub_sh WHERE k % 2 = 0"
    third = "SELECT w, seq, k * 10 AS k10 FROM sub_sh WHERE k % 3 = 0"
    subs = [Subscriber(c, "SUBSCRIBE " + sql) for sql in (even, even, even, third, "SELECT * FROM sub_sh")]
    commits, n_per = 30, 6

    def writer(w):
        cw = srv.flight()
        for seq in range(commits):
            put(cw, "sub_sh", commit_table(w, seq, n_per + seq % 4))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(n_per + s % 4 for s in range(commits)) * 2
    subs[4].wait_rows(total)
    want = [expected(c, "sub_sh", sql.replace("sub_sh", "t"), 4) for sql in (even, third)]
    for sub, rows in zip(subs, [want[0], want[0], want[0], want[1]]):
        sub.wait_rows(len(rows))
    for sub in subs:
        sub.cancel()
    stored = c.do_get(fl.Ticket("SELECT * FROM sub_sh")).read_all().to_pylist()[4:]
    assert subs[4].rows() == stored
    for sub, rows in zip(subs, [want[0], want[0], want[0], want[1]]):
        assert sub.rows() == rows  # exactly once, in commit order
    for sub in subs:
        whole_commits(sub)
    evaluations, shared = metric(srv, "quiver_subscription_evaluations_total"), metric(srv, "quiver_subscription_shared_total")
    deliveries = sum(len(s.batches) for s in subs)
    # Five subscribers, three statements: most deliveries take a shared evaluation.
    assert shared > 0 and evaluations < deliveries, (evaluations, shared, deliveries)


def test_slow_subscriber_of_a_shared_statement_is_cut_off_alone(start_quiverd):
    srv = start_quiverd("--in-memory", "--subscriber-buffer", "4M")
    c = srv.flight()
    put(c, "sub_ss", commit_table(0, 0, 1))
    sql = "SUBSCRIBE SELECT w, seq, k FROM sub_ss WHERE k % 2 = 1"
    slow = Subscriber(c, sql, read=False)
    fast = [Subscriber(c, sql), Subscriber(c, sql)]
    commits, n = 80, 8192  # ~330 KB a commit, never read by `slow`
    for seq in range(commits):
        put(c, "sub_ss", commit_table(1, seq, n))
        if seq % 4 == 3:  # the readers keep up (a loaded test machine must not make them slow too)
            for f in fast:
                f.wait_rows((seq + 1) * n // 2, timeout=60)
    for f in fast:
        f.wait_rows(commits * n // 2, timeout=60)
        f.cancel()
    slow.thread.start()
    err = slow.wait_error()
    assert err is not None and "subscriber too slow" in str(err), repr(err)
    want = [(1, seq, k) for seq in range(commits) for k in range(1, n, 2)]
    for f in fast:
        assert f.error is None or isinstance(f.error, fl.FlightCancelledError), repr(f.error)
        assert [(r["w"], r["seq"], r["k"]) for r in f.rows()] == want
        whole_commits(f)
    got = [(r["seq"], r["k"]) for r in slow.rows()]
    assert got == [(seq, k) for seq in range(len(got) // (n // 2)) for k in range(1, n, 2)][:len(got)]
    assert len(got) < len(want)
    assert metric(srv, "quiver_subscriptions_ended_slow_total") == 1
    assert metric(srv, "quiver_subscription_shared_total") > 0


def test_commits_across_small_row_groups_and_a_subscriber_joining_between_commits(start_quiverd):
    """Row groups of 64 rows: commits that fill part of one group, end one and start the next, or span
    several, in a table that grows to hundreds of groups (a subscription's evaluation is scoped to the
    commit's few groups, evaluated serially). Subscribers of the same and of different statements, and
    one that joins between commits, get exactly the rows committed after they subscribed."""
    srv = start_quiverd("--in-memory", "--rowgroup-rows", "64")
    c = srv.flight()
    put(c, "sub_rg", commit_table(9, 0, 100))  # before: never delivered
    odd = "SELECT w, seq, k, v FROM sub_rg WHERE k % 2 = 1"
    proj = "SELECT seq, k + 1 AS k1, v * 2 AS v2 FROM sub_rg WHERE v >= 3"
    early = [Subscriber(c, "SUBSCRIBE " + sql) for sql in (odd, odd, proj, "SELECT * FROM sub_rg")]
    sizes = [1, 63, 64, 65, 10, 130, 200, 7, 300, 64, 1, 129]
    base = 100
    for seq, n in enumerate(sizes):
        put(c, "sub_rg", commit_table(1, seq, n))
    mid = base + sum(sizes)
    early[3].wait_rows(sum(sizes))  # every commit so far reached the subscribers
    late = [Subscriber(c, "SUBSCRIBE " + sql) for sql in (odd, proj)]
    more = [5, 640, 66, 1, 190]
    for seq, n in enumerate(more, start=len(sizes)):
        put(c, "sub_rg", commit_table(2, seq, n))
    total = sum(sizes) + sum(more)
    early[3].wait_rows(total)
    want_early = [expected(c, "sub_rg", sql.replace("sub_rg", "t"), base) for sql in (odd, odd, proj)]
    want_late = [expected(c, "sub_rg", sql.replace("sub_rg", "t"), mid) for sql in (odd, proj)]
    for sub, rows in zip(early[:3] + late, want_early + want_late):
        sub.wait_rows(len(rows))
    for sub in early + late:
        sub.cancel()
    stored = c.do_get(fl.Ticket("SELECT * FROM sub_rg")).read_all().to_pylist()[base:]
    assert early[3].rows() == stored
    for sub, rows in zip(early[:3] + late, want_early + want_late):
        assert sub.rows() == rows  # exactly once, in commit order
    for sub in (early[0], early[1], early[3], late[0]):
        whole_commits(sub)
