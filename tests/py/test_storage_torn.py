"""Column files are verified lazily: startup reads none of them (the
MANIFEST holds row counts and stats), and a torn column file (cut short, or
the right length with a page that never reached the disk) is found at its
first use: that query fails with a clear error naming the file, never a
wrong answer, while the other row groups and metadata-only answers stay
available."""
import glob
import os

import pyarrow as pa
import pyarrow.flight as fl
import pytest

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups

ROWS = 200_000  # 3 sealed row groups of 65536 rows + an open tail


def make(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, *RG64)
    ids = pa.array(range(ROWS), pa.int64())
    t = pa.table({"id": ids, "v": pa.array([i * 2 for i in range(ROWS)], pa.int64())})
    w, _ = srv.flight().do_put(fl.FlightDescriptor.for_path("tt"), t.schema)
    w.write_table(t, max_chunksize=50_000)
    w.close()
    assert srv.stop() == 0
    (col,) = glob.glob(os.path.join(data, "t*-1.qvc"))  # the second sealed row group
    return data, col


def scan_fails_naming(c, col, words):
    with pytest.raises(fl.FlightError) as e:
        c.do_get(fl.Ticket("SELECT sum(v) AS s FROM tt")).read_all()
    msg = str(e.value)
    assert os.path.basename(col) in msg and any(w in msg for w in words), msg


def test_truncated_column_file_is_found_at_first_use(start_quiverd, tmp_path):
    data, col = make(start_quiverd, tmp_path)
    size = os.path.getsize(col)
    with open(col, "r+b") as f:
        f.truncate(size - 4096 - 17)  # a write that stopped part way
    srv = start_quiverd("--data-dir", data, *RG64)  # opens without reading the file
    c = srv.flight()
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM tt")).read_all().column(0)[0].as_py() == ROWS
    scan_fails_naming(c, col, ["torn or truncated"])
    scan_fails_naming(c, col, ["torn or truncated"])  # the same answer every time, not a wrong one
    # Row groups other than the torn one still answer (pruned to the first one).
    got = c.do_get(fl.Ticket("SELECT sum(v) AS s FROM tt WHERE id < 1000")).read_all().column(0)[0].as_py()
    assert got == sum(i * 2 for i in range(1000))
    srv.kill()


def test_column_page_that_never_reached_disk_is_a_checksum_error(start_quiverd, tmp_path):
    data, col = make(start_quiverd, tmp_path)
    size = os.path.getsize(col)
    with open(col, "r+b") as f:  # same length, one 4 KiB page of zeros in the last column's values
        f.seek((size - 8192) // 4096 * 4096)
        f.write(b"\0" * 4096)
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    scan_fails_naming(c, col, ["checksum mismatch"])
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM tt")).read_all().column(0)[0].as_py() == ROWS
    srv.kill()
