"""Replicas of a primary that runs with --users: `--replication-user NAME` logs
in as an admin user there, the password from --replication-password-file or
$QUIVER_REPLICATION_PASSWORD (never the command line). A wrong password, a
user that is not an admin, or no login at all: a clear error in the replica's
log and healthcheck, the replica keeps serving and keeps retrying (a user
promoted to admin on the primary with SIGHUP is followed without a restart)."""
import json
import os
import signal
import time

import pyarrow.flight as fl
import pytest

from conftest import Server
from test_auth import write_users
from test_replicas import count, free_port, table

USERS = {"ada": ("admin", "ada-pw"), "rita": ("read", "rita-pw")}


def admin_client(srv):
    c = fl.connect(srv.flight_uri)
    return c, fl.FlightCallOptions(headers=[c.authenticate_basic_token("ada", "ada-pw")])


def put(client, opts, name, t):
    w, _ = client.do_put(fl.FlightDescriptor.for_path(name), t.schema, options=opts)
    w.write_table(t)
    w.close()


def health(srv):
    c = srv.flight()
    try:
        return json.loads(bytes(list(c.do_action(fl.Action("healthcheck", b"")))[0].body))
    finally:
        c.close()


def wait_log(srv, text, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in "".join(srv.log):
            return
        time.sleep(0.05)
    raise AssertionError("no %r in the log:\n%s" % (text, "".join(srv.log)))


@pytest.fixture
def primary(start_quiverd, tmp_path):
    users = tmp_path / "users"
    write_users(users, USERS)
    port = free_port()
    srv = start_quiverd("--data-dir", str(tmp_path / "p"), "--flight-port", str(port), "--users", str(users))
    srv.users = users
    return srv


def replica(start_quiverd, tmp_path, primary, name, *flags, env=None):
    return start_quiverd("--data-dir", str(tmp_path / name), "--replica-of", primary.flight_uri, *flags,
                         env=dict(os.environ, **env) if env else None)


def test_replica_logs_in_as_admin(start_quiverd, tmp_path, primary):
    pw = tmp_path / "repl-pw"
    pw.write_text("ada-pw\n")
    r_file = replica(start_quiverd, tmp_path, primary, "r1", "--replication-user", "ada",
                     "--replication-password-file", str(pw))
    r_env = replica(start_quiverd, tmp_path, primary, "r2", "--replication-user", "ada",
                    env={"QUIVER_REPLICATION_PASSWORD": "ada-pw"})
    p, opts = admin_client(primary)
    put(p, opts, "t", table(70_000))
    for r in (r_file, r_env):
        rc = r.flight()
        wait_for_count(rc, "t", 70_000)
        got = rc.do_get(fl.Ticket(b"SELECT sum(id) AS s FROM t")).read_all()["s"][0].as_py()
        assert got == sum(range(70_000))
        rc.close()
        h = health(r)
        assert "replica_error" not in h and "replica_lag_ms" in h
        assert "as user ada" in "".join(r.log)
    put(p, opts, "t", table(5, start=70_000))
    for r in (r_file, r_env):
        rc = r.flight()
        wait_for_count(rc, "t", 70_005)
        rc.close()
    # The password never shows up in a log line.
    for s in (primary, r_file, r_env):
        assert "ada-pw" not in "".join(s.log)
    p.close()


def wait_for_count(client, name, want, timeout=20):
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        got = count(client, name)
        if got == want:
            return
        time.sleep(0.05)
    raise AssertionError("waited for %d rows of %s, saw %r" % (want, name, got))


def test_bad_logins_are_reported_and_retried(start_quiverd, tmp_path, primary):
    p, opts = admin_client(primary)
    put(p, opts, "t", table(10))
    wrong = replica(start_quiverd, tmp_path, primary, "r1", "--replication-user", "ada",
                    env={"QUIVER_REPLICATION_PASSWORD": "not-it"})
    reader = replica(start_quiverd, tmp_path, primary, "r2", "--replication-user", "rita",
                     env={"QUIVER_REPLICATION_PASSWORD": "rita-pw"})
    anonymous = replica(start_quiverd, tmp_path, primary, "r3")
    wait_log(wrong, "refused the login of --replication-user ada")
    wait_log(reader, "--replication-user rita is not an admin there")
    wait_log(anonymous, "requires a login (it runs with --users)")
    assert "refused the login of --replication-user ada" in health(wrong)["replica_error"]
    assert "not an admin" in health(reader)["replica_error"]
    assert "--replication-user" in health(anonymous)["replica_error"]
    for r in (wrong, reader, anonymous):
        c = r.flight()
        assert count(c, "t") is None  # nothing applied
        assert c.do_get(fl.Ticket(b"SELECT 1 AS x")).read_all()["x"][0].as_py() == 1
        c.close()
    assert "not-it" not in "".join(wrong.log + primary.log)
    # Still retrying: rita made an admin on the primary (SIGHUP) is followed.
    write_users(primary.users, {"ada": USERS["ada"], "rita": ("admin", "rita-pw")})
    primary.proc.send_signal(signal.SIGHUP)
    rc = reader.flight()
    wait_for_count(rc, "t", 10)
    rc.close()
    deadline = time.time() + 10
    while "replica_error" in health(reader) and time.time() < deadline:
        time.sleep(0.05)
    assert "replica_error" not in health(reader)
    wait_log(reader, "following primary %s again" % primary.flight_uri.replace("grpc://", ""))
    p.close()


def test_replication_flags_are_checked(tmp_path):
    import subprocess
    from conftest import QUIVERD
    cases = [
        (["--replication-user", "ada"], "need --replica-of"),
        (["--replica-of", "127.0.0.1:1", "--replication-user", "ada"], "needs a password"),
        (["--replica-of", "127.0.0.1:1", "--replication-password-file", str(tmp_path / "x")], "needs --replication-user"),
        (["--replica-of", "127.0.0.1:1", "--replication-user", "a:b"], "is not a user name"),
        (["--replica-of", "127.0.0.1:1", "--replication-user", "ada", "--replication-password-file",
          str(tmp_path / "missing")], "--replication-password-file"),
    ]
    env = {k: v for k, v in os.environ.items() if k != "QUIVER_REPLICATION_PASSWORD"}
    for args, want in cases:
        out = subprocess.run([QUIVERD, "--in-memory", "--flight-port", "0", "--http-port", "0"] + args,
                             capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 2 and want in out.stderr, (args, out.stderr)
