"""Abandoned and cancelled readers give their memory back.

Clients that read one batch of a large result and go away (cancel, or drop the
connection) must not leave the query's memory behind. We abandon many computed
queries (each producing new column memory, not storage views) and check the
server's resident memory plateaus instead of growing with every abandoned
query. Not a timing test: it waits (bounded) for the server to notice.
"""
import pyarrow.flight as fl

from test_flight import wait_streams_idle

ROWS = 500_000
# A full sort materialises the whole result (~18 MB) before the first batch goes out.
SQL = "SELECT ts, symbol, price * 2 AS p2, volume + 1 AS v1 FROM trades ORDER BY p2 DESC, ts"


def rss_mb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def abandon(srv, how):
    c = srv.flight()
    r = c.do_get(fl.Ticket(SQL))
    r.read_chunk()
    if how == "cancel":
        r.cancel()
    c.close()


def test_abandoned_readers_give_memory_back(start_quiverd):
    srv = start_quiverd("--in-memory", "--demo-rows", str(ROWS))
    c = srv.flight()
    full = c.do_get(fl.Ticket(SQL)).read_all()
    assert full.num_rows == ROWS
    for i in range(4):  # warm up the allocator's arenas
        abandon(srv, "cancel" if i % 2 else "close")
    wait_streams_idle(srv)
    base = rss_mb(srv.proc.pid)
    for i in range(24):
        abandon(srv, "cancel" if i % 2 else "close")
    wait_streams_idle(srv)
    grown = rss_mb(srv.proc.pid) - base
    # 24 leaked results would be over 400 MB; a plateau is a few MB of allocator slack.
    assert grown < 100, "resident memory grew by %.0f MB over 24 abandoned queries" % grown
    # and the server still answers
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM trades")).read_all().column(0)[0].as_py() == ROWS
