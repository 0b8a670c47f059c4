"""TLS on both front ends (--tls-cert/--tls-key) and client certificates
(--tls-client-ca), with certificates made at test time by `cryptography`:
pyarrow.flight (tls_root_certs, cert_chain/private_key), ADBC's Flight SQL
driver logging in over TLS, requests and curl. Plain text against a TLS port
and TLS against a plain port fail cleanly and the server keeps serving."""
import datetime
import ipaddress
import subprocess

import pyarrow.flight as fl
import pytest
import requests

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import Server
from test_auth import hash_password


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca=False, server=False, client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False),
                            critical=True)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem_key(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def _pem_cert(c):
    return c.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("quiver test CA", ca_key, "quiver test CA", ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _cert("localhost", srv_key, "quiver test CA", ca_key, server=True)
    cli_key = ec.generate_private_key(ec.SECP256R1())
    cli = _cert("client", cli_key, "quiver test CA", ca_key, client=True)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_ca = _cert("other CA", other_key, "other CA", other_key, ca=True)
    stray_key = ec.generate_private_key(ec.SECP256R1())
    stray = _cert("stray", stray_key, "other CA", other_key, client=True)
    files = {"ca": _pem_cert(ca), "cert": _pem_cert(srv), "key": _pem_key(srv_key), "client": _pem_cert(cli),
             "client_key": _pem_key(cli_key), "stray": _pem_cert(stray), "stray_key": _pem_key(stray_key),
             "other_ca": _pem_cert(other_ca)}
    paths = {}
    for k, v in files.items():
        (d / (k + ".pem")).write_bytes(v)
        paths[k] = str(d / (k + ".pem"))
    paths["bytes"] = files
    return paths


@pytest.fixture(scope="module")
def tls_srv(pki):
    s = Server(["--in-memory", "--demo-rows", "100", "--tls-cert", pki["cert"], "--tls-key", pki["key"]])
    yield s
    assert s.stop() == 0, "".join(s.log)


def test_flight_over_tls(tls_srv, pki):
    c = fl.connect("grpc+tls://localhost:%d" % tls_srv.flight_port, tls_root_certs=pki["bytes"]["ca"])
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM trades")).read_all()["n"][0].as_py() == 100
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"


def test_flight_plain_against_tls_and_wrong_ca_fail_cleanly(tls_srv, pki):
    plain = fl.connect("grpc://127.0.0.1:%d" % tls_srv.flight_port)
    with pytest.raises(fl.FlightError):
        list(plain.do_action(fl.Action("ping", b""), fl.FlightCallOptions(timeout=5)))
    wrong = fl.connect("grpc+tls://localhost:%d" % tls_srv.flight_port, tls_root_certs=pki["bytes"]["other_ca"])
    with pytest.raises(fl.FlightError):
        list(wrong.do_action(fl.Action("ping", b""), fl.FlightCallOptions(timeout=5)))
    ok = fl.connect("grpc+tls://localhost:%d" % tls_srv.flight_port, tls_root_certs=pki["bytes"]["ca"])
    assert list(ok.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"


def test_tls_client_against_plain_port_fails(quiverd, pki):
    c = fl.connect("grpc+tls://localhost:%d" % quiverd.flight_port, tls_root_certs=pki["bytes"]["ca"])
    with pytest.raises(fl.FlightError):
        list(c.do_action(fl.Action("ping", b""), fl.FlightCallOptions(timeout=5)))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://127.0.0.1:%d/health" % quiverd.http_port, verify=pki["ca"], timeout=5)
    assert requests.get(quiverd.http_url + "/health").status_code == 200


def test_https(tls_srv, pki):
    url = "https://localhost:%d" % tls_srv.http_port
    r = requests.get(url + "/?query=SELECT+count(*)+AS+n+FROM+trades", verify=pki["ca"])
    assert r.status_code == 200 and r.json()["data"][0]["n"] == 100
    out = subprocess.run(["curl", "-s", "--cacert", pki["ca"], url + "/ping"], capture_output=True, text=True)
    assert out.stdout == "Ok.\n", out.stderr
    # plain HTTP against the HTTPS port: no answer that looks like success
    try:
        r = requests.get("http://127.0.0.1:%d/health" % tls_srv.http_port, timeout=5)
        assert r.status_code != 200
    except requests.exceptions.RequestException:
        pass
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url + "/health", timeout=5)  # not our CA
    assert requests.get(url + "/health", verify=pki["ca"]).status_code == 200


@pytest.fixture(scope="module")
def mtls_srv(pki):
    s = Server(["--in-memory", "--tls-cert", pki["cert"], "--tls-key", pki["key"], "--tls-client-ca", pki["ca"]])
    yield s
    assert s.stop() == 0, "".join(s.log)


def test_mtls_flight(mtls_srv, pki):
    b = pki["bytes"]
    uri = "grpc+tls://localhost:%d" % mtls_srv.flight_port
    c = fl.connect(uri, tls_root_certs=b["ca"], cert_chain=b["client"], private_key=b["client_key"])
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    for kw in ({}, {"cert_chain": b["stray"], "private_key": b["stray_key"]}):
        bad = fl.connect(uri, tls_root_certs=b["ca"], **kw)
        with pytest.raises(fl.FlightError):
            list(bad.do_action(fl.Action("ping", b""), fl.FlightCallOptions(timeout=5)))
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"


def test_mtls_https(mtls_srv, pki):
    url = "https://localhost:%d" % mtls_srv.http_port
    r = requests.get(url + "/ping", verify=pki["ca"], cert=(pki["client"], pki["client_key"]))
    assert r.status_code == 200 and r.text == "Ok.\n"
    out = subprocess.run(["curl", "-s", "--cacert", pki["ca"], "--cert", pki["client"], "--key", pki["client_key"],
                          url + "/ping"], capture_output=True, text=True)
    assert out.stdout == "Ok.\n", out.stderr
    for cert in (None, (pki["stray"], pki["stray_key"])):
        with pytest.raises(requests.exceptions.RequestException):
            r = requests.get(url + "/ping", verify=pki["ca"], cert=cert, timeout=5)
            r.raise_for_status()


def test_adbc_logs_in_over_tls(pki, tmp_path):
    adbc = pytest.importorskip("adbc_driver_flightsql.dbapi")
    import adbc_driver_flightsql as af
    users = tmp_path / "users"
    users.write_text("ada:admin:%s\n" % hash_password("ada-pw"))
    s = Server(["--in-memory", "--users", str(users), "--tls-cert", pki["cert"], "--tls-key", pki["key"]])
    try:
        # Opening the connection logs in (Handshake with Basic) over TLS and keeps the bearer token.
        db_kwargs = {af.DatabaseOptions.TLS_ROOT_CERTS.value: pki["bytes"]["ca"].decode(),
                     "username": "ada", "password": "ada-pw"}
        conn = adbc.connect("grpc+tls://localhost:%d" % s.flight_port, db_kwargs=db_kwargs)
        conn.close()
        assert any("user ada logged in" in l for l in s.log)
        db_kwargs["password"] = "wrong"
        with pytest.raises(Exception, match="(?i)unauthenticated|wrong user name"):
            adbc.connect("grpc+tls://localhost:%d" % s.flight_port, db_kwargs=db_kwargs).close()
    finally:
        rc = s.stop()
        assert rc == 0, "quiverd exit code %s; log:\n%s" % (rc, "".join(s.log))


def test_bad_tls_files_fail_start(tmp_path, pki):
    import subprocess as sp
    from conftest import QUIVERD
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    for args in (["--tls-cert", pki["cert"]], ["--tls-cert", str(bad), "--tls-key", pki["key"]],
                 ["--tls-cert", pki["cert"], "--tls-key", str(tmp_path / "missing.pem")],
                 ["--tls-client-ca", pki["ca"]]):
        out = sp.run([QUIVERD, "--in-memory", "--flight-port", "0", "--http-port", "0"] + args,
                     capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, (args, out.stderr)
        assert "tls" in out.stderr.lower() or "pem" in out.stderr.lower() or "cannot open" in out.stderr
