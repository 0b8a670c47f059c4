"""Shared fixtures: a real quiverd on free loopback ports.

`quiverd` starts one per test module (in-memory unless asked otherwise);
`start_quiverd(**flags)` starts extra ones (data dirs, restarts). The server
prints the ports it chose on one log line; we read them from there.
"""
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

QUIVERD = os.environ.get("QUIVERD", os.path.join(os.path.dirname(__file__), "..", "..", "build", "quiverd"))
PORTS_RE = re.compile(r"listening flight=(?:[\d.]+:(\d+)|off) http=[\d.]+:(\d+)")


class Server:
    def __init__(self, args, env=None):
        self.args = [QUIVERD, "--flight-port", "0", "--http-port", "0", "--threads", "2"] + args
        self.proc = subprocess.Popen(self.args, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.log = []
        deadline = time.time() + 60
        while True:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("quiverd exited before listening (code %s):\n%s"
                                   % (self.proc.wait(), "".join(self.log)))
            self.log.append(line)
            m = PORTS_RE.search(line)
            if m:
                self.flight_port = int(m.group(1)) if m.group(1) else None
                self.http_port = int(m.group(2))
                break
            if time.time() > deadline:
                raise RuntimeError("quiverd did not start:\n" + "".join(self.log))
        # Keep draining stderr so the server never blocks on a full pipe.
        import threading
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self):
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def flight_uri(self):
        return "grpc://127.0.0.1:%d" % self.flight_port

    @property
    def http_url(self):
        return "http://127.0.0.1:%d" % self.http_port

    def flight(self):
        import pyarrow.flight as fl
        return fl.connect(self.flight_uri)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("quiverd did not stop within %ss" % timeout)
        self._drain.join(5)
        return self.proc.returncode

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self._drain.join(5)


@pytest.fixture
def start_quiverd():
    servers = []

    def start(*args, **kw):
        s = Server(list(args), **kw)
        servers.append(s)
        return s

    yield start
    for s in servers:
        if s.proc.poll() is None:
            rc = s.stop()
            assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


@pytest.fixture(scope="module")
def quiverd():
    s = Server(["--in-memory"])
    yield s
    rc = s.stop()
    assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


@pytest.fixture
def sqltool():
    """One sql_tool process (the SQL engine without a server), closed after the test."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_sql_differential import Quiver
    q = Quiver()
    yield q
    q.close()
