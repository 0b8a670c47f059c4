"""Storage through a real quiverd: every column type survives a clean restart
(checkpointed column files) and a kill -9 (WAL replay); a torn WAL tail is cut
with a warning; a corrupt column file is a clear error at its first scan."""
import glob
import os
import signal

import pyarrow as pa
import pyarrow.flight as fl
import pytest

RG64 = ("--rowgroup-rows", "65536")  # the row counts below are laid out for 65536-row groups

N = 150_000  # more than two 65536-row row groups: sealed groups and a partial one


def wide_table(start, n):
    ids = list(range(start, start + n))
    null = [i % 7 == 3 for i in ids]

    def col(vals, typ):
        return pa.array([None if z else v for v, z in zip(vals, null)], type=typ)

    return pa.table({
        "id": pa.array(ids, type=pa.int64()),
        "ts": col([i * 1000 for i in ids], pa.timestamp("ns", tz="UTC")),
        "i32": col([i - 70000 for i in ids], pa.int32()),
        "f32": col([i * 0.5 for i in ids], pa.float32()),
        "f64": col([i * 0.25 for i in ids], pa.float64()),
        "b": col([i % 2 == 0 for i in ids], pa.bool_()),
        "s": col(["s%d" % (i % 1000) if i % 11 else "" for i in ids], pa.string()),
        "sym": col(["SYM%d" % (i % 5) for i in ids], pa.string()).dictionary_encode(),
    })


def put(client, name, table):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), table.schema)
    w.write_table(table, max_chunksize=40_000)
    w.close()


def read(client, name):
    t = client.do_get(fl.Ticket("SELECT * FROM %s" % name)).read_all()
    return t.sort_by("id")


def same(got, want):
    want = want.set_column(want.schema.get_field_index("sym"), "sym",
                           want.column("sym").cast(pa.string()))
    got = got.set_column(got.schema.get_field_index("sym"), "sym", got.column("sym").cast(pa.string()))
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def test_types_survive_clean_restart_and_kill9(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    first = wide_table(0, N)
    put(c, "wide", first)
    assert srv.stop() == 0  # clean stop: checkpoint to column files
    assert len(glob.glob(os.path.join(data, "t*-*.qvc"))) == 2  # two sealed row groups

    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    same(read(c, "wide"), first)
    second = wide_table(N, 1000)
    put(c, "wide", second)
    srv.kill()  # no checkpoint: the second put lives only in the WAL

    srv = start_quiverd("--data-dir", data, *RG64)
    same(read(srv.flight(), "wide"), pa.concat_tables([first, second]))
    srv.kill()


def test_torn_wal_tail_is_cut_with_a_warning(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, *RG64)
    t = wide_table(0, 500)
    put(srv.flight(), "w", t)
    srv.kill()
    wal = sorted(glob.glob(os.path.join(data, "wal-*.log")))[-1]
    with open(wal, "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage that is no record")
    srv = start_quiverd("--data-dir", data, *RG64)
    same(read(srv.flight(), "w"), t)
    srv.kill()
    log = "".join(srv.log)
    assert "WARN" in log and os.path.basename(wal) in log and "cutting off" in log


def test_corrupt_column_file_is_a_clear_error(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data, *RG64)
    put(srv.flight(), "wide", wide_table(0, 70_000))
    assert srv.stop() == 0
    (col,) = glob.glob(os.path.join(data, "t*-0.qvc"))
    with open(col, "r+b") as f:
        f.seek(100_000)
        b = f.read(1)
        f.seek(100_000)
        f.write(bytes([b[0] ^ 0xFF]))
    # Opening reads no column file (startup does not depend on data size);
    # the first scan of the damaged column fails, naming the file.
    srv = start_quiverd("--data-dir", data, *RG64)
    c = srv.flight()
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM wide")).read_all().column(0)[0].as_py() == 70_000
    with pytest.raises(fl.FlightError) as e:
        c.do_get(fl.Ticket("SELECT * FROM wide")).read_all()
    assert os.path.basename(col) in str(e.value) and "checksum" in str(e.value)
    srv.kill()