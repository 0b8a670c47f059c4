"""Users, roles and tokens (docs/security.md) with real clients: pyarrow.flight
(authenticate_basic_token, bearer and Basic headers), requests and curl.

One server per module with three users (admin, writer, reader); tests that
need their own flags (token TTL, reload, throttle) start their own."""
import base64
import os
import signal
import subprocess
import time

import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

from conftest import QUIVERD, Server

PASSWORDS = {"ada": "ada-pw", "wes": "wes pw:with colon", "rita": "rita-pw"}
ROLES = {"ada": "admin", "wes": "write", "rita": "read"}


def hash_password(pw):
    out = subprocess.run([QUIVERD, "hash-password"], input=pw + "\n", capture_output=True, text=True, check=True)
    return out.stdout.strip()


_HASHES = {}


def users_text(users):
    lines = []
    for name, (role, pw) in users.items():
        if pw not in _HASHES:
            _HASHES[pw] = hash_password(pw)
        lines.append("%s:%s:%s" % (name, role, _HASHES[pw]))
    return "# quiver users\n\n" + "\n".join(lines) + "\n"


def write_users(path, users):
    with open(path, "w") as f:
        f.write(users_text(users))


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("auth") / "users"
    write_users(p, {n: (ROLES[n], PASSWORDS[n]) for n in PASSWORDS})
    return str(p)


@pytest.fixture(scope="module")
def srv(users_file):
    s = Server(["--in-memory", "--users", users_file, "--demo-rows", "1000"])
    yield s
    assert s.stop() == 0, "".join(s.log)


def login(s, user):
    c = fl.connect(s.flight_uri)
    k, v = c.authenticate_basic_token(user, PASSWORDS[user])
    return c, fl.FlightCallOptions(headers=[(k, v)]), v.decode()


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def test_hash_password_is_argon2id_and_salted():
    a, b = hash_password("same"), hash_password("same")
    assert a.startswith("$argon2id$") and b.startswith("$argon2id$")
    assert a != b


def test_no_credentials_is_unauthenticated(srv):
    c = fl.connect(srv.flight_uri)
    with pytest.raises(fl.FlightUnauthenticatedError, match="authentication required"):
        list(c.do_action(fl.Action("ping", b"")))
    with pytest.raises(fl.FlightUnauthenticatedError):
        list(c.list_flights())
    with pytest.raises(fl.FlightUnauthenticatedError):
        c.do_get(fl.Ticket("SELECT 1")).read_all()
    with pytest.raises(fl.FlightUnauthenticatedError, match="wrong user name or password"):
        c.authenticate_basic_token("rita", "nope")
    with pytest.raises(fl.FlightUnauthenticatedError):
        c.authenticate_basic_token("nobody", "x")


def test_handshake_gives_a_bearer_token(srv):
    c, opts, tok = login(srv, "rita")
    assert tok.startswith("Bearer ") and len(tok) == 7 + 43
    assert list(c.do_action(fl.Action("ping", b""), opts))[0].body.to_pybytes() == b"pong"
    # a new connection with only the header works too
    c2 = fl.connect(srv.flight_uri)
    assert c2.do_get(fl.Ticket("SELECT count(*) AS n FROM trades"), opts).read_all()["n"][0].as_py() == 1000
    # the token is never logged
    time.sleep(0.2)
    assert tok[7:] not in "".join(srv.log)


def test_basic_credentials_on_each_call(srv):
    c = fl.connect(srv.flight_uri)
    opts = fl.FlightCallOptions(headers=[(b"authorization", basic("wes", PASSWORDS["wes"]).encode())])
    assert len(list(c.list_flights(options=opts))) >= 1
    bad = fl.FlightCallOptions(headers=[(b"authorization", basic("wes", "bad").encode())])
    with pytest.raises(fl.FlightUnauthenticatedError):
        list(c.list_flights(options=bad))


def test_forged_and_malformed_tokens(srv):
    c = fl.connect(srv.flight_uri)
    _, _, tok = login(srv, "rita")
    forged = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
    for t in [forged, "Bearer x", "Bearer " + "A" * 43, "Token abc", "Bearer "]:
        opts = fl.FlightCallOptions(headers=[(b"authorization", t.encode())])
        with pytest.raises(fl.FlightUnauthenticatedError):
            list(c.do_action(fl.Action("ping", b""), opts))


def _put(c, opts, name, n=3):
    t = pa.table({"x": pa.array(range(n), pa.int64())})
    w, _ = c.do_put(fl.FlightDescriptor.for_path(name), t.schema, opts)
    w.write_table(t)
    w.close()


def test_read_role(srv):
    c, opts, _ = login(srv, "rita")
    assert len(list(c.list_flights(options=opts))) >= 1
    info = c.get_flight_info(fl.FlightDescriptor.for_path("trades"), opts)
    assert info.total_records == 1000
    c.get_schema(fl.FlightDescriptor.for_command("SELECT * FROM trades"), opts)
    assert len(list(c.list_actions(opts))) >= 4
    for a in ("ping", "healthcheck"):
        list(c.do_action(fl.Action(a, b""), opts))
    list(c.do_action(fl.Action("describe_table", b"trades"), opts))
    c.do_get(fl.Ticket("SHOW TABLES"), opts).read_all()
    c.do_get(fl.Ticket("DESCRIBE trades"), opts).read_all()
    with pytest.raises(fl.FlightUnauthorizedError, match=r"rita.*DoPut.*write"):
        _put(c, opts, "rita_t")
    for sql, verb, need in [("CREATE TABLE r1 (x BIGINT)", "CREATE TABLE", "write"),
                            ("INSERT INTO trades SELECT * FROM trades", "INSERT", "write"),
                            ("DELETE FROM trades WHERE true", "DELETE", "write"),
                            ("DROP TABLE trades", "DROP TABLE", "admin")]:
        with pytest.raises(fl.FlightUnauthorizedError, match="may not run %s.*%s" % (verb, need)):
            c.do_get(fl.Ticket(sql), opts).read_all()
        with pytest.raises(fl.FlightUnauthorizedError):
            c.get_flight_info(fl.FlightDescriptor.for_command(sql), opts)
    with pytest.raises(fl.FlightUnauthorizedError, match="drop_table"):
        list(c.do_action(fl.Action("drop_table", b"trades"), opts))
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM trades"), opts).read_all()["n"][0].as_py() == 1000


def test_write_role(srv):
    c, opts, _ = login(srv, "wes")
    _put(c, opts, "wes_t")
    c.do_get(fl.Ticket("CREATE TABLE wes_c (x BIGINT)"), opts).read_all()
    c.do_get(fl.Ticket("INSERT INTO wes_c VALUES (1), (2)"), opts).read_all()
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM wes_c"), opts).read_all()["n"][0].as_py() == 2
    assert c.do_get(fl.Ticket("DELETE FROM wes_c WHERE x = 1"), opts).read_all()["rows"][0].as_py() == 1
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM wes_c"), opts).read_all()["n"][0].as_py() == 1
    with pytest.raises(fl.FlightUnauthorizedError, match="DROP TABLE"):
        c.do_get(fl.Ticket("DROP TABLE wes_c"), opts).read_all()
    with pytest.raises(fl.FlightUnauthorizedError, match="TRUNCATE.*admin"):
        c.do_get(fl.Ticket("TRUNCATE wes_c"), opts).read_all()
    with pytest.raises(fl.FlightUnauthorizedError, match="drop_table"):
        list(c.do_action(fl.Action("drop_table", b"wes_t"), opts))


def test_admin_role(srv):
    c, opts, _ = login(srv, "ada")
    _put(c, opts, "ada_t")
    c.do_get(fl.Ticket("DROP TABLE ada_t"), opts).read_all()
    _put(c, opts, "ada_t2")
    list(c.do_action(fl.Action("drop_table", b"ada_t2"), opts))


def test_http_auth(srv):
    url = srv.http_url
    r = requests.get(url + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    for path in ["/", "/tables", "/metrics", "/ping", "/?query=SELECT+1"]:
        r = requests.get(url + path)
        assert r.status_code == 401, path
        assert "Basic" in r.headers["WWW-Authenticate"] and "Bearer" in r.headers["WWW-Authenticate"]
        assert "authentication required" in r.json()["error"]
    r = requests.get(url + "/?query=SELECT+count(*)+AS+n+FROM+trades", auth=("rita", PASSWORDS["rita"]))
    assert r.status_code == 200 and r.json()["data"][0]["n"] == 1000
    assert requests.get(url + "/tables", auth=("rita", "bad")).status_code == 401
    # a Flight token works over HTTP
    _, _, tok = login(srv, "rita")
    r = requests.get(url + "/tables", headers={"Authorization": tok})
    assert r.status_code == 200
    r = requests.post(url + "/", data="DROP TABLE trades", headers={"Authorization": tok})
    assert r.status_code == 403 and "DROP TABLE" in r.json()["error"]
    r = requests.post(url + "/ingest?table=h1", data="x\n1\n", headers={"Authorization": tok, "Content-Type": "text/csv"})
    assert r.status_code == 403 and "ingest" in r.json()["error"]
    r = requests.post(url + "/ingest?table=h1", data="x\n1\n", auth=("wes", PASSWORDS["wes"]),
                      headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    r = requests.post(url + "/", data="CREATE TABLE h2 (x BIGINT)", auth=("wes", PASSWORDS["wes"]))
    assert r.status_code == 200, r.text
    m = requests.get(url + "/metrics", auth=("rita", PASSWORDS["rita"])).text
    assert "quiver_auth_failures_total" in m
    assert 'quiver_refusals_total{reason="permission"}' in m


def test_curl_basic(srv):
    out = subprocess.run(["curl", "-s", "-u", "rita:" + PASSWORDS["rita"], srv.http_url + "/ping"],
                         capture_output=True, text=True)
    assert out.stdout == "Ok.\n"
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", srv.http_url + "/ping"],
                         capture_output=True, text=True)
    assert out.stdout == "401"


def test_tokens_expire(start_quiverd, users_file):
    s = start_quiverd("--in-memory", "--users", users_file, "--token-ttl", "700ms")
    c, opts, _ = login(s, "rita")
    list(c.do_action(fl.Action("ping", b""), opts))
    time.sleep(1.0)
    with pytest.raises(fl.FlightUnauthenticatedError, match="expired"):
        list(c.do_action(fl.Action("ping", b""), opts))


def test_sighup_reload_revokes(start_quiverd, tmp_path):
    p = tmp_path / "users"
    write_users(p, {"ada": ("admin", "ada-pw"), "rita": ("read", "rita-pw")})
    s = start_quiverd("--in-memory", "--users", str(p))
    c = fl.connect(s.flight_uri)
    ka, va = c.authenticate_basic_token("ada", "ada-pw")
    kr, vr = c.authenticate_basic_token("rita", "rita-pw")
    ada, rita = fl.FlightCallOptions(headers=[(ka, va)]), fl.FlightCallOptions(headers=[(kr, vr)])
    list(c.do_action(fl.Action("ping", b""), ada))
    list(c.do_action(fl.Action("ping", b""), rita))
    # rita removed, ada's password changed, a new user
    write_users(p, {"ada": ("admin", "ada-new"), "nia": ("read", "nia-pw")})
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while not any("SIGHUP: reloaded" in l for l in s.log) and time.time() < deadline:
        time.sleep(0.05)
    assert any("2 token(s) revoked" in l for l in s.log), "".join(s.log)
    for o in (ada, rita):
        with pytest.raises(fl.FlightUnauthenticatedError, match="revoked|unknown"):
            list(c.do_action(fl.Action("ping", b""), o))
    with pytest.raises(fl.FlightUnauthenticatedError):
        c.authenticate_basic_token("ada", "ada-pw")
    c.authenticate_basic_token("ada", "ada-new")
    c.authenticate_basic_token("nia", "nia-pw")
    # a broken file keeps the users that work
    p.write_text("garbage line\n")
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while not any("kept the old users" in l for l in s.log) and time.time() < deadline:
        time.sleep(0.05)
    assert any("line 1" in l for l in s.log if "kept the old users" in l)
    c.authenticate_basic_token("nia", "nia-pw")


def test_failed_logins_are_slowed_down(start_quiverd, users_file):
    s = start_quiverd("--in-memory", "--users", users_file)
    c = fl.connect(s.flight_uri)
    good, good_opts, tok = login(s, "rita")
    refused_fast = 0
    for _ in range(8):
        try:
            c.authenticate_basic_token("rita", "guess")
        except fl.FlightUnauthenticatedError as e:
            refused_fast += "too many failed logins" in str(e)
    assert refused_fast >= 3
    # even the right password waits now...
    with pytest.raises(fl.FlightUnauthenticatedError, match="retry in"):
        c.authenticate_basic_token("rita", PASSWORDS["rita"])
    # ...while callers with a token are served at once
    t0 = time.time()
    for _ in range(20):
        list(good.do_action(fl.Action("ping", b""), good_opts))
    assert time.time() - t0 < 10
    r = requests.get(s.http_url + "/ping", auth=("rita", "guess"))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    m = requests.get(s.http_url + "/metrics", headers={"Authorization": tok}).text
    assert "quiver_auth_throttled_total" in m and "quiver_auth_throttled_total 0" not in m


def test_non_loopback_needs_users_or_insecure(tmp_path, users_file):
    out = subprocess.run([QUIVERD, "--in-memory", "--host", "0.0.0.0", "--flight-port", "0", "--http-port", "0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert "--users" in out.stderr and "--insecure" in out.stderr
    for extra in (["--insecure"], ["--users", users_file]):
        s = Server(["--in-memory", "--host", "0.0.0.0"] + extra)
        try:
            assert requests.get("http://127.0.0.1:%d/health" % s.http_port).status_code == 200
        finally:
            assert s.stop() == 0


def test_bad_users_file_fails_start(tmp_path):
    p = tmp_path / "users"
    p.write_text("alice:root:$argon2id$v=19$whatever\n")
    out = subprocess.run([QUIVERD, "--in-memory", "--users", str(p), "--flight-port", "0", "--http-port", "0"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "line 1" in out.stderr and "root" in out.stderr
