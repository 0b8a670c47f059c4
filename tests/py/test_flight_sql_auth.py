"""Flight SQL through the security layer (docs/security.md, docs/flight-sql.md):
ADBC (adbc-driver-flightsql) logging in with username/password db_kwargs and
with a bearer `adbc.flight.sql.authorization_header`, as read, write and admin
users. Every statement kind is checked before anything runs; refusals are
PERMISSION_DENIED naming what was refused. Also: a busy server refuses a
Flight SQL query as it does a raw DoGet."""
import base64
import threading

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import flightsql_wire as w
from conftest import Server
from test_auth import write_users

PASSWORDS = {"ada": "ada-pw", "wes": "wes-pw", "rita": "rita-pw"}
ROLES = {"ada": "admin", "wes": "write", "rita": "read"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    p = tmp_path_factory.mktemp("fsqlauth") / "users"
    write_users(p, {n: (ROLES[n], PASSWORDS[n]) for n in PASSWORDS})
    s = Server(["--in-memory", "--users", str(p), "--demo-rows", "1000"])
    yield s
    assert s.stop() == 0, "".join(s.log)


def connect(s, user, pw=None):
    return flight_sql.connect(s.flight_uri, autocommit=True,
                              db_kwargs={"username": user, "password": PASSWORDS[user] if pw is None else pw})


def refused(cn, what, fn):
    with pytest.raises(adbc_driver_manager.Error) as e:
        fn(cn.cursor())
    msg = str(e.value)
    # the Go driver sends statements it takes for updates as DoPut CommandStatementUpdate,
    # which a read user may not call at all
    assert "permission denied" in msg and any(x in msg for x in what.split("|")), msg
    return msg


def query(cn, sql):
    with cn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def test_read_user_queries_and_lists_but_changes_nothing(srv):
    admin = connect(srv, "ada")
    admin.cursor().execute("CREATE TABLE fa_t (v BIGINT)")
    admin.cursor().execute("INSERT INTO fa_t VALUES (1), (2)")
    cn = connect(srv, "rita")
    assert query(cn, "SELECT count(*) AS n FROM trades")["n"][0].as_py() == 1000
    names = [t["table_name"] for c in cn.adbc_get_objects().read_all().to_pylist()
             for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]]
    assert "trades" in names and "fa_t" in names
    assert cn.adbc_get_table_schema("fa_t").names == ["v"]
    cur = cn.cursor()
    cur.execute("SELECT v FROM fa_t WHERE v >= 1 ORDER BY v")
    assert cur.fetch_arrow_table()["v"].to_pylist() == [1, 2]
    refused(cn, "run INSERT|call DoPut", lambda c: c.execute("INSERT INTO fa_t VALUES (3)"))
    refused(cn, "run CREATE|call DoPut", lambda c: c.execute("CREATE TABLE fa_no (v BIGINT)"))
    refused(cn, "run DROP|call DoPut", lambda c: c.execute("DROP TABLE fa_t"))
    refused(cn, "call DoPut", lambda c: c.adbc_ingest("fa_t", pa.table({"v": pa.array([5], pa.int64())}),
                                                       mode="append"))
    refused(cn, "call DoPut", lambda c: c.executemany("INSERT INTO fa_t VALUES (?)", [(7,)]))
    assert query(admin, "SELECT count(*) AS n FROM fa_t")["n"][0].as_py() == 2
    cn.close()
    admin.close()


def test_read_user_binds_the_parameters_of_a_prepared_query(srv):
    """Binding parameters is a DoPut (CommandPreparedStatementQuery), but for a
    prepared query it is a read: a read user may; for a prepared change not."""
    admin = connect(srv, "ada")
    admin.cursor().execute("CREATE TABLE fa_p (v BIGINT)")
    admin.cursor().execute("INSERT INTO fa_p VALUES (1), (2), (3)")
    cn = connect(srv, "rita")
    cur = cn.cursor()
    cur.execute("SELECT v FROM fa_p WHERE v >= ? ORDER BY v", parameters=(2,))
    assert cur.fetch_arrow_table()["v"].to_pylist() == [2, 3]
    cur.execute("SELECT count(*) AS n FROM fa_p WHERE v < ?", parameters=(3,))
    assert cur.fetch_arrow_table()["n"].to_pylist() == [2]
    refused(cn, "run INSERT|call DoPut", lambda c: c.execute("INSERT INTO fa_p VALUES (?)", parameters=(9,)))
    refused(cn, "run DELETE|run INSERT|call DoPut", lambda c: c.executemany("INSERT INTO fa_p VALUES (?)", [(8,)]))
    assert query(admin, "SELECT count(*) AS n FROM fa_p")["n"][0].as_py() == 3
    cn.close()
    admin.close()


def test_write_user_ingests_and_inserts_but_does_not_drop(srv):
    cn = connect(srv, "wes")
    t = pa.table({"v": pa.array([1, 2, 3], pa.int64())})
    cur = cn.cursor()
    assert cur.adbc_ingest("fa_w", t, mode="create") == 3
    assert cur.adbc_ingest("fa_w", t, mode="append") == 3
    cur.execute("INSERT INTO fa_w VALUES (9)")
    assert query(cn, "SELECT count(*) AS n FROM fa_w")["n"][0].as_py() == 7
    cur.execute("CREATE TABLE fa_w2 (v BIGINT)")
    # replace drops the table's rows: admin, like DROP; refused before anything is read or applied
    refused(cn, "ingest into fa_w replacing it", lambda c: c.adbc_ingest("fa_w", t, mode="replace"))
    refused(cn, "run DROP", lambda c: c.execute("DROP TABLE fa_w"))
    # a prepared DROP is checked when it runs (GetFlightInfo), not when it is prepared
    refused(cn, "run DROP", lambda c: (c.adbc_prepare("DROP TABLE fa_w2"), c.execute("DROP TABLE fa_w2")))
    assert query(cn, "SELECT count(*) AS n FROM fa_w")["n"][0].as_py() == 7
    assert query(cn, "SELECT count(*) AS n FROM fa_w2")["n"][0].as_py() == 0
    cn.close()
    admin = connect(srv, "ada")
    assert admin.cursor().adbc_ingest("fa_w", t, mode="replace") == 3
    admin.cursor().execute("DROP TABLE fa_w2")
    admin.close()


def test_updates_through_do_put_are_checked_by_statement_kind(srv):
    """CommandStatementUpdate by hand (the drivers send DDL as statement queries)."""
    def client(user):
        c = fl.connect(srv.flight_uri)
        tok = c.authenticate_basic_token(user, PASSWORDS[user])
        return c, fl.FlightCallOptions(headers=[tok])

    def update(user, sql):
        c, opts = client(user)
        desc = fl.FlightDescriptor.for_command(w.any_pack("CommandStatementUpdate", w.field_bytes(1, sql.encode())))
        wr, rd = c.do_put(desc, pa.schema([]), options=opts)
        wr.done_writing()
        buf = rd.read()
        wr.close()
        return buf

    connect(srv, "ada").cursor().execute("CREATE TABLE fa_u (v BIGINT)")
    update("wes", "INSERT INTO fa_u VALUES (1)")
    with pytest.raises(fl.FlightUnauthorizedError, match="run DROP"):
        update("wes", "DROP TABLE fa_u")
    with pytest.raises(fl.FlightUnauthorizedError, match="call DoPut"):
        update("rita", "INSERT INTO fa_u VALUES (2)")
    assert query(connect(srv, "rita"), "SELECT count(*) AS n FROM fa_u")["n"][0].as_py() == 1
    update("ada", "DROP TABLE fa_u")


def test_get_flight_info_checks_a_change_before_running_it(srv):
    """Flight SQL runs DDL/DML sent as CommandStatementQuery at GetFlightInfo."""
    c = fl.connect(srv.flight_uri)
    opts = fl.FlightCallOptions(headers=[c.authenticate_basic_token("rita", PASSWORDS["rita"])])
    connect(srv, "ada").cursor().execute("CREATE TABLE fa_g (v BIGINT)")
    for sql, what in [("DROP TABLE fa_g", "run DROP"), ("INSERT INTO fa_g VALUES (1)", "run INSERT")]:
        with pytest.raises(fl.FlightUnauthorizedError, match=what):
            c.get_flight_info(fl.FlightDescriptor.for_command(w.statement_query(sql)), options=opts)
    assert query(connect(srv, "rita"), "SELECT count(*) AS n FROM fa_g")["n"][0].as_py() == 0


def test_bearer_header_and_bad_password(srv):
    c = fl.connect(srv.flight_uri)
    key, val = c.authenticate_basic_token("rita", PASSWORDS["rita"])
    cn = flight_sql.connect(srv.flight_uri, autocommit=True,
                            db_kwargs={"adbc.flight.sql.authorization_header": val.decode()})
    assert query(cn, "SELECT 1 AS one")["one"][0].as_py() == 1
    refused(cn, "run CREATE|call DoPut", lambda c: c.execute("CREATE TABLE fa_b (v BIGINT)"))
    cn.close()
    basic = "Basic " + base64.b64encode(b"wes:wes-pw").decode()
    cn = flight_sql.connect(srv.flight_uri, autocommit=True,
                            db_kwargs={"adbc.flight.sql.authorization_header": basic})
    assert query(cn, "SELECT 2 AS two")["two"][0].as_py() == 2
    cn.close()
    with pytest.raises(adbc_driver_manager.Error) as e:
        query(connect(srv, "wes", pw="nope"), "SELECT 1")
    assert "Unauthenticated" in str(e.value) or "UNAUTHENTICATED" in str(e.value).upper(), str(e.value)
    with pytest.raises(adbc_driver_manager.Error) as e:
        query(flight_sql.connect(srv.flight_uri, autocommit=True), "SELECT 1")
    assert "UNAUTHENTICATED" in str(e.value).upper(), str(e.value)


def test_flight_sql_queries_get_busy_refusals(start_quiverd):
    s = start_quiverd("--in-memory", "--demo-rows", "300000", "--max-running-queries", "1",
                      "--max-queued-queries", "0")
    heavy = "SELECT ts, count(*) AS n FROM trades GROUP BY ts ORDER BY n DESC LIMIT 1"
    results = [None] * 4

    def run(i):
        try:
            cn = flight_sql.connect(s.flight_uri, autocommit=True)
            query(cn, heavy)
            cn.close()
            results[i] = "ok"
        except adbc_driver_manager.Error as e:
            results[i] = str(e)

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    busy = [r for r in results if r != "ok"]
    assert "ok" in results and busy, results
    assert all("server busy" in r for r in busy), results
