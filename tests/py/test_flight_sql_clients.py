"""Flight SQL clients beside Python's ADBC: the Go ADBC Flight SQL driver
(tests/interop/goadbc) and the Arrow Flight SQL JDBC driver run by a small
Java program (tests/interop/jdbc). Each skips only when its toolchain is
missing (and says so). Downloads are cached: Go modules in ~/go/pkg/mod, the
JDBC jar in ~/.m2, so reruns are quick."""
import json
import os
import shutil
import subprocess

import pyarrow.flight as fl
import pytest

from conftest import Server
from test_auth import hash_password
from test_flight_sql import all_types_table, put
from test_tls import pki  # noqa: F401 (fixture)

HERE = os.path.dirname(__file__)
GO_DIR = os.path.join(HERE, "..", "interop", "goadbc")
JAVA_SRC = os.path.join(HERE, "..", "interop", "jdbc", "QuiverJdbc.java")
JDBC_VERSION = "18.3.0"
JDBC_JAR = os.path.expanduser("~/.m2/repository/org/apache/arrow/flight-sql-jdbc-driver/%s/"
                              "flight-sql-jdbc-driver-%s.jar" % (JDBC_VERSION, JDBC_VERSION))


@pytest.fixture(scope="module")
def go_adbc(tmp_path_factory):
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go toolchain not installed: the Go ADBC Flight SQL driver test does not run")
    out = str(tmp_path_factory.mktemp("goadbc") / "goadbc")
    r = subprocess.run([go, "build", "-o", out, "."], cwd=GO_DIR, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return out


def test_go_adbc_driver(go_adbc, quiverd):
    r = subprocess.run([go_adbc, "-addr", "127.0.0.1:%d" % quiverd.flight_port, "-table", "from_go_adbc"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["inserted"] == 2 and res["bound_inserted"] == 3 and res["ingested"] == 2
    assert [row[0] for row in res["rows"]] == ["1", "2", "3", "4", "5"]
    assert res["rows"][2] == ["3", "three"]
    assert res["ing_nulls"] == "1"
    assert res["schema"] == ["id:int64", "name:utf8", "v:float64"]
    assert res["table_types"] == "TABLE" and res["catalogs"] == 1 and res["vendor"] == "Quiver"
    c = quiverd.flight()
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM from_go_adbc")).read_all().column("n").to_pylist() == [5]
    c.close()


@pytest.fixture(scope="module")
def jdbc_jar():
    java, mvn = shutil.which("java"), shutil.which("mvn")
    if java is None:
        pytest.skip("Java not installed: the Flight SQL JDBC driver test does not run")
    if not os.path.exists(JDBC_JAR):
        if mvn is None:
            pytest.skip("Maven not installed: cannot fetch the Flight SQL JDBC driver")
        r = subprocess.run([mvn, "-q", "dependency:get",
                            "-Dartifact=org.apache.arrow:flight-sql-jdbc-driver:%s" % JDBC_VERSION],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
    return java, JDBC_JAR


def test_jdbc_driver(jdbc_jar, start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "100")
    c = s.flight()
    put(c, "alltypes", all_types_table())
    java, jar = jdbc_jar
    r = subprocess.run([java, "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, JAVA_SRC,
                        str(s.flight_port)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = dict(line.split("\t", 1) for line in r.stdout.splitlines() if "\t" in line)
    assert got["done"] == "ok"
    assert got["rows"] == "5"
    # every Quiver type through its getter, NULLs through wasNull
    expect = all_types_table().sort_by("i64").slice(0, 5).to_pylist()
    for i, row in enumerate(expect):
        assert got["r%d.i32" % i] == ("null" if row["i32"] is None else str(row["i32"]))
        assert got["r%d.i64" % i] == str(row["i64"])
        assert got["r%d.f32" % i] == ("null" if row["f32"] is None else repr(float(row["f32"])))
        assert float(got["r%d.f64" % i]) == row["f64"]
        assert got["r%d.b" % i] == ("null" if row["b"] is None else str(row["b"]).lower())
        assert got["r%d.s" % i] == ("null" if row["s"] is None else row["s"])
        ns = row["ts"].value
        assert got["r%d.ts" % i] == "%d/%d" % (ns // 10**9 * 1000, ns % 10**9)  # ms of the second, nanos
        assert got["r%d.tsn" % i] == ("null" if row["tsn"] is None else str(row["tsn"].value % 10**9))
    assert got["col.ts"].startswith("TIMESTAMP_WITH_TIMEZONE") and got["col.tsn"].startswith("TIMESTAMP/")
    assert got["prepared.s"] == "s-3-é" and got["prepared.s2"] == "null"
    assert got["symbol"].endswith("/VARCHAR") and len(got["symbol"]) > len("/VARCHAR")
    assert got["update.insert"] == "2" and got["update.prepared"] == "1" and got["jdbc_t.count"] == "3"
    assert got["meta.product"] == "Quiver"
    assert got["meta.catalogs"] == "[quiver]" and got["meta.schemas"] == "[main]"
    assert "alltypes" in got["meta.tables"] and "jdbc_t" in got["meta.tables"]
    assert got["meta.columns"] == "[i32:4, i64:-5, f32:6, f64:8, b:16, s:12, ts:2014, tsn:93]"
    assert got["meta.table_types"] == "[TABLE]" and got["meta.quote"] == '"'
    c.close()


def test_jdbc_with_users_and_tls(jdbc_jar, pki, tmp_path):  # noqa: F811
    """One JVM run against a quiverd with --users and TLS: user/password properties,
    useEncryption=true with a trust store made now from the test CA."""
    keytool = shutil.which("keytool")
    if keytool is None:
        pytest.skip("keytool (JDK) not installed: the JDBC TLS test does not run")
    store = str(tmp_path / "trust.jks")
    subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "quiverca", "-file", pki["ca"], "-keystore", store,
                    "-storepass", "changeit", "-storetype", "JKS"], check=True, capture_output=True, timeout=120)
    users = tmp_path / "users"
    users.write_text("wes:write:%s\n" % hash_password("wes-pw"))
    s = Server(["--in-memory", "--demo-rows", "100", "--users", str(users), "--tls-cert", pki["cert"],
                "--tls-key", pki["key"]])
    try:
        java, jar = jdbc_jar
        props = ("useEncryption=true&useSystemTrustStore=false&trustStore=%s&trustStorePassword=changeit"
                 "&user=wes&password=wes-pw" % store)
        r = subprocess.run([java, "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, JAVA_SRC,
                            str(s.flight_port), props], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        got = dict(line.split("\t", 1) for line in r.stdout.splitlines() if "\t" in line)
        assert got["done"] == "ok" and got["secure.count"] == "100" and got["secure.insert"] == "2"
        assert "permission denied" in got["secure.drop"] and "DROP" in got["secure.drop"], got["secure.drop"]
    finally:
        assert s.stop() == 0
