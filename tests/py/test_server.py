"""quiverd as a process: flags, ports, signals."""
import os
import signal
import socket
import subprocess

import pytest

from conftest import QUIVERD, Server


def run(*args):
    return subprocess.run([QUIVERD, *args], capture_output=True, text=True, timeout=60)


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0
    for flag in ["--flight-port", "--http-port", "--data-dir", "--in-memory", "--demo-rows",
                 "--threads", "--log-level", "--wal-sync"]:
        assert flag in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("quiverd ")


@pytest.mark.parametrize("args,needle", [
    (["--bogus"], "--bogus"),
    (["--http-port", "99999"], "out of range"),
    (["--threads", "x"], "not an integer"),
    (["--log-level", "loud"], "--log-level"),
    (["--demo-rows"], "needs a value"),
    (["positional"], "unexpected argument"),
])
def test_bad_flags_exit_2_with_one_line(args, needle):
    r = run(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_port_in_use_exits_2(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        for flag in ["--http-port", "--flight-port"]:
            other = "--flight-port" if flag == "--http-port" else "--http-port"
            r = run("--in-memory", flag, str(port), other, "0")
            assert r.returncode == 2, r.stderr
            assert str(port) in r.stderr.strip().splitlines()[-1]
    finally:
        s.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_graceful_exit_0(start_quiverd, sig):
    srv = start_quiverd("--in-memory")
    assert srv.flight_port and srv.http_port
    assert srv.stop(sig) == 0
    assert any("stopped cleanly" in l for l in srv.log)


def test_log_lines_have_time_and_level(start_quiverd):
    srv = start_quiverd("--in-memory", "--log-level", "info")
    srv.stop()
    import re
    for l in srv.log:
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARN|ERROR) ", l), l


def test_data_dir_persists_across_restart(start_quiverd, tmp_path):
    d = tmp_path / "data"
    srv = start_quiverd("--data-dir", str(d), "--demo-rows", "1000")
    assert srv.stop() == 0
    assert d.exists() and any(d.iterdir())
    srv = start_quiverd("--data-dir", str(d))
    import pyarrow.flight as fl
    t = srv.flight().do_get(fl.Ticket(b"SELECT count(*) AS n FROM trades")).read_all()
    assert t.column(0).to_pylist() == [1000]


def test_every_flag_starts_and_stops_cleanly(start_quiverd, tmp_path):
    d = tmp_path / "all-flags"
    srv = start_quiverd("--host", "127.0.0.1", "--data-dir", str(d), "--demo-rows", "2000",
                        "--threads", "1", "--log-level", "debug", "--wal-sync", "5",
                        "--query-memory", "64M", "--max-batch-bytes", "1M", "--max-body-bytes", "10M")
    import pyarrow.flight as fl
    import urllib.request
    t = srv.flight().do_get(fl.Ticket(b"SELECT count(*) AS n FROM trades")).read_all()
    assert t.column(0).to_pylist() == [2000]
    with urllib.request.urlopen(srv.http_url + "/health") as r:
        assert b'"status":"ok"' in r.read()
    assert srv.stop(signal.SIGINT) == 0
    assert any(" DEBUG " in l for l in srv.log)  # --log-level debug took effect


def test_in_memory_touches_no_disk(start_quiverd, tmp_path):
    d = tmp_path / "never"
    srv = start_quiverd("--in-memory", "--data-dir", str(d), "--demo-rows", "100")
    assert srv.stop() == 0
    assert not d.exists()


def test_demo_schema(start_quiverd):
    import pyarrow as pa
    import pyarrow.flight as fl
    srv = start_quiverd("--in-memory", "--demo-rows", "5000")
    t = srv.flight().do_get(fl.Ticket(b"SELECT * FROM trades")).read_all()
    assert t.num_rows == 5000
    assert t.schema.names == ["ts", "symbol", "price", "volume"]
    assert t.schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    assert t.schema.field("symbol").type == pa.utf8()
    assert t.schema.field("price").type == pa.float64()
    assert t.schema.field("volume").type == pa.float64()
    ts = t.column("ts").to_pylist()
    assert ts == sorted(ts)  # ticks arrive in time order
