"""ADBC partitions over Flight SQL: cursor.adbc_execute_partitions on one
connection, then adbc_read_partition of each partition from separate
processes; together they are exactly the rows of the query."""
import json
import subprocess
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from conftest import Server

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups

N = 600_000

READER = r"""
import sys, json
import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.compute as pc
with flight_sql.connect(sys.argv[1]) as conn, conn.cursor() as cur:
    cur.adbc_read_partition(bytes.fromhex(sys.argv[2]))
    t = cur.fetch_arrow_table()
print(json.dumps({"rows": t.num_rows, "sum": pc.sum(t.column("id")).as_py() or 0,
                  "min": pc.min(t.column("id")).as_py(), "max": pc.max(t.column("id")).as_py()}))
"""


@pytest.fixture(scope="module")
def srv():
    s = Server(["--in-memory", "--partition-rows", "150000", *RG64])
    c = s.flight()
    ids = pa.array(range(N), type=pa.int64())
    t = pa.table({"id": ids, "v": pc.multiply(pc.cast(ids, pa.float64()), 0.25)})
    w, _ = c.do_put(fl.FlightDescriptor.for_path("pt"), t.schema)
    w.write_table(t)
    w.close()
    c.close()
    yield s
    rc = s.stop()
    assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


def test_adbc_partitions_read_in_separate_processes(srv):
    with flight_sql.connect(srv.flight_uri) as conn, conn.cursor() as cur:
        partitions, schema = cur.adbc_execute_partitions("SELECT id, v FROM pt WHERE id % 2 = 0")
    assert len(partitions) >= 4
    assert schema.names == ["id", "v"]
    procs = [subprocess.Popen([sys.executable, "-c", READER, srv.flight_uri, p.hex()], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for p in partitions]
    results = []
    for p in procs:
        out, errs = p.communicate(timeout=120)
        assert p.returncode == 0, errs
        results.append(json.loads(out))
    assert sum(r["rows"] for r in results) == N // 2
    assert sum(r["sum"] for r in results) == sum(range(0, N, 2))
    spans = sorted((r["min"], r["max"]) for r in results)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # disjoint row ranges


def test_adbc_non_scan_keeps_one_partition(srv):
    with flight_sql.connect(srv.flight_uri) as conn, conn.cursor() as cur:
        partitions, _ = cur.adbc_execute_partitions("SELECT count(*) AS n FROM pt")
        assert len(partitions) == 1
        cur.adbc_read_partition(partitions[0])
        assert cur.fetch_arrow_table().column(0)[0].as_py() == N
