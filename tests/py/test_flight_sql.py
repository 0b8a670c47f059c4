"""Arrow Flight SQL against quiverd with real clients: Python ADBC
(adbc-driver-flightsql, the Go driver underneath), pandas.read_sql and
polars over ADBC, plus pyarrow.flight with hand-encoded Flight SQL messages
for what the drivers do not expose (schemas of every command, sessions,
cancel, bad input). Raw SQL tickets keep working beside all of it."""
import threading
import time

import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import flightsql_wire as w

UNIMPLEMENTED = pa.ArrowNotImplementedError  # how pyarrow raises gRPC UNIMPLEMENTED
NOT_FOUND = pa.ArrowKeyError                 # ... and NOT_FOUND
INVALID = pa.ArrowInvalid                    # ... and INVALID_ARGUMENT

ALL_TYPES = pa.schema([
    pa.field("i32", pa.int32()), pa.field("i64", pa.int64(), nullable=False), pa.field("f32", pa.float32()),
    pa.field("f64", pa.float64()), pa.field("b", pa.bool_()), pa.field("s", pa.string()),
    pa.field("ts", pa.timestamp("ns", tz="UTC")), pa.field("tsn", pa.timestamp("ns")),
])


def all_types_table(n=50):
    return pa.table({
        "i32": pa.array([None if i % 7 == 3 else i - 20 for i in range(n)], pa.int32()),
        "i64": pa.array([i * 1_000_000_007 for i in range(n)], pa.int64()),
        "f32": pa.array([None if i % 5 == 1 else i / 4 for i in range(n)], pa.float32()),
        "f64": pa.array([i * 0.5 for i in range(n)], pa.float64()),
        "b": pa.array([None if i % 6 == 0 else i % 2 == 0 for i in range(n)], pa.bool_()),
        "s": pa.array([None if i % 9 == 4 else "s-%d-é" % i for i in range(n)], pa.string()),
        "ts": pa.array([1_700_000_000_000_000_000 + i * 1000 for i in range(n)], pa.timestamp("ns", tz="UTC")),
        "tsn": pa.array([None if i % 4 == 2 else i for i in range(n)], pa.timestamp("ns")),
    }, schema=ALL_TYPES)


def put(client, name, table):
    wr, _ = client.do_put(fl.FlightDescriptor.for_path(name), table.schema)
    wr.write_table(table)
    wr.close()


@pytest.fixture(scope="module")
def srv(quiverd):
    c = quiverd.flight()
    put(c, "alltypes", all_types_table())
    c.close()
    return quiverd


@pytest.fixture
def conn(srv):
    cn = flight_sql.connect(srv.flight_uri, autocommit=True)
    yield cn
    cn.close()


def sql_info(client, cmd):
    info = client.get_flight_info(fl.FlightDescriptor.for_command(cmd))
    reader = client.do_get(info.endpoints[0].ticket)
    table = reader.read_all()
    return info, client.get_schema(fl.FlightDescriptor.for_command(cmd)).schema, table


# ---- statements ----

def test_adbc_query_matches_raw_doget(srv, conn):
    raw = srv.flight().do_get(fl.Ticket("SELECT * FROM alltypes")).read_all()
    cur = conn.cursor()
    cur.execute("SELECT * FROM alltypes")
    got = cur.fetch_arrow_table()
    assert got.schema.equals(raw.schema)  # nullability too
    assert got.equals(raw)
    cur.execute("SELECT i64, s FROM alltypes WHERE i64 < 3000000021 ORDER BY i64")
    assert cur.fetchall() == [(0, "s-0-é"), (1_000_000_007, "s-1-é"), (2_000_000_014, "s-2-é")]
    cur.execute("SELECT count(*) AS n FROM alltypes")
    df = cur.fetch_df()
    assert df["n"].tolist() == [50]
    cur.close()


def test_flight_info_schema_is_the_stream_schema_for_every_command(srv):
    c = srv.flight()
    cmds = [w.statement_query("SELECT * FROM alltypes"), w.statement_query("SELECT i32 + 1 AS x, s FROM alltypes"),
            w.any_pack("CommandGetCatalogs"), w.any_pack("CommandGetDbSchemas"), w.get_tables(),
            w.get_tables(include_schema=True), w.any_pack("CommandGetTableTypes"),
            w.any_pack("CommandGetSqlInfo"), w.any_pack("CommandGetXdbcTypeInfo"),
            w.any_pack("CommandGetPrimaryKeys", w.field_bytes(3, "alltypes")),
            w.any_pack("CommandGetExportedKeys", w.field_bytes(3, "alltypes")),
            w.any_pack("CommandGetImportedKeys", w.field_bytes(3, "alltypes")),
            w.any_pack("CommandGetCrossReference", w.field_bytes(3, "a") + w.field_bytes(6, "b"))]
    for cmd in cmds:
        info, schema, table = sql_info(c, cmd)
        assert info.schema.equals(table.schema), cmd
        assert schema.equals(table.schema), cmd
    c.close()


def test_metadata_schemas_follow_the_spec(srv):
    c = srv.flight()
    _, _, t = sql_info(c, w.get_tables(include_schema=True, table_pattern="all%"))
    assert t.schema.names == ["catalog_name", "db_schema_name", "table_name", "table_type", "table_schema"]
    assert [f.nullable for f in t.schema] == [True, True, False, False, False]
    assert t.column("table_name").to_pylist() == ["alltypes"]
    assert pa.ipc.read_schema(pa.py_buffer(t.column("table_schema")[0].as_py())).equals(ALL_TYPES)
    _, _, t = sql_info(c, w.get_tables(table_pattern="alltype_"))
    assert t.column("table_name").to_pylist() == ["alltypes"]
    _, _, t = sql_info(c, w.get_tables(table_pattern="alltype"))
    assert t.num_rows == 0
    _, _, t = sql_info(c, w.get_tables(types=["VIEW"]))
    assert t.num_rows == 0
    _, _, t = sql_info(c, w.get_tables(catalog="nope"))
    assert t.num_rows == 0
    _, _, info = sql_info(c, w.any_pack("CommandGetSqlInfo", w.field_bytes(1, w.varint(0) + w.varint(504) + w.varint(508))))
    assert info.schema.field("info_name").type == pa.uint32()
    assert pa.types.is_union(info.schema.field("value").type)
    vals = dict(zip(info.column("info_name").to_pylist(), info.column("value").to_pylist()))
    assert vals == {0: "Quiver", 504: '"', 508: vals[508]} and "LIMIT" in vals[508]
    _, _, info = sql_info(c, w.any_pack("CommandGetSqlInfo", w.field_bytes(1, w.varint(100))))
    assert info.column("value").to_pylist() == [1800 * 1000]  # handles expire after --prepared-idle
    _, _, x = sql_info(c, w.any_pack("CommandGetXdbcTypeInfo"))
    assert x.column("type_name").to_pylist()[:2] == ["BOOLEAN", "BIGINT"]
    assert x.column("data_type").to_pylist() == sorted(x.column("data_type").to_pylist())
    _, _, k = sql_info(c, w.any_pack("CommandGetExportedKeys", w.field_bytes(3, "alltypes")))
    assert k.num_rows == 0 and k.schema.field("update_rule").type == pa.uint8()
    c.close()


def test_ddl_and_dml_through_statements(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE fsql_ddl (a BIGINT, b VARCHAR)")
    cur.execute("INSERT INTO fsql_ddl VALUES (1, 'x'), (2, 'y')")
    cur.execute("SELECT * FROM fsql_ddl ORDER BY a")
    assert cur.fetchall() == [(1, "x"), (2, "y")]
    assert cur.adbc_statement is not None
    # ad-hoc update through CommandStatementUpdate (executeUpdate)
    stmt = cur.adbc_statement
    stmt.set_sql_query("INSERT INTO fsql_ddl VALUES (3, 'z')")
    assert stmt.execute_update() == 1
    cur.execute("DROP TABLE fsql_ddl")
    cur.execute("SHOW TABLES")
    assert "fsql_ddl" not in [r[0] for r in cur.fetchall()]
    cur.close()


def test_raw_sql_tickets_still_work(srv):
    c = srv.flight()
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM alltypes")).read_all().column("n").to_pylist() == [50]
    info = c.get_flight_info(fl.FlightDescriptor.for_command("SELECT i32 FROM alltypes"))
    assert c.do_get(info.endpoints[0].ticket).read_all().num_rows == 50
    c.close()


# ---- prepared statements ----

def test_parameters_and_executemany(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE fsql_p (id BIGINT, name VARCHAR, v DOUBLE)")
    cur.executemany("INSERT INTO fsql_p VALUES (?, ?, ?)", [(i, "n%d" % i, i / 2) for i in range(20)])
    assert cur.rowcount == 20
    cur.execute("SELECT name FROM fsql_p WHERE id = ?", (7,))
    assert cur.fetchall() == [("n7",)]
    cur.execute("SELECT count(*) FROM fsql_p WHERE v > $1 AND name <> $2", (4.0, "n9"))
    assert cur.fetchall() == [(10,)]
    # one result set per bound row, one after the other
    cur.execute("SELECT id FROM fsql_p WHERE id = ?", pa.record_batch({"p": pa.array([1, 2, 3], pa.int64())}))
    assert sorted(r[0] for r in cur.fetchall()) == [1, 2, 3]
    with pytest.raises(Exception, match="parameter"):
        cur.execute("SELECT * FROM fsql_p WHERE id = ?", (1, 2))  # one too many
    with pytest.raises(Exception, match="parameter"):
        cur.executemany("INSERT INTO fsql_p VALUES (?, ?, ?)",
                        pa.record_batch({"a": ["100", "no"], "b": ["a", "b"], "c": [1.0, 2.0]}))
    cur.execute("SELECT count(*) FROM fsql_p")
    assert cur.fetchall() == [(20,)]  # the bad executemany applied nothing
    # None binds as an Arrow null-type column: NULL in any parameter position
    cur.executemany("INSERT INTO fsql_p VALUES (?, ?, ?)", [(100, None, None), (101, None, None)])
    cur.execute("SELECT id, name, v FROM fsql_p WHERE id >= 100 ORDER BY id")
    assert cur.fetchall() == [(100, None, None), (101, None, None)]
    cur.execute("SELECT count(*) FROM fsql_p WHERE name = ? OR ? IS NULL", (None, None))
    assert cur.fetchall() == [(22,)]
    cur.execute("DELETE FROM fsql_p WHERE id >= 100")
    cur.close()


def _prepare(client, sql, options=None):
    res = list(client.do_action(fl.Action("CreatePreparedStatement", w.create_prepared(sql)), options))
    name, body = w.unpack_any(res[0].body.to_pybytes())
    assert name.endswith("ActionCreatePreparedStatementResult")
    f = w.parse_fields(body)
    return f[1][0], pa.ipc.read_schema(pa.py_buffer(f[2][0])), pa.ipc.read_schema(pa.py_buffer(f[3][0]))


def test_prepared_handles_are_per_session_and_die_with_it(srv):
    c = srv.flight()
    a = fl.FlightCallOptions(headers=[(b"cookie", b"arrow_flight_session_id=aaaa")])
    b = fl.FlightCallOptions(headers=[(b"cookie", b"arrow_flight_session_id=bbbb")])
    h, ds, ps = _prepare(c, "SELECT i64 FROM alltypes WHERE i32 = $1", a)
    assert ds.names == ["i64"] and ps.types == [pa.int32()]
    desc = fl.FlightDescriptor.for_command(w.prepared_query(h))
    with pytest.raises(NOT_FOUND, match="unknown"):
        c.get_flight_info(desc, b)  # another session's handle
    with pytest.raises(NOT_FOUND, match="unknown"):
        c.get_flight_info(desc)  # no session
    # unbound parameter: a clear error naming it
    with pytest.raises(INVALID, match=r"\$1"):
        c.do_get(c.get_flight_info(desc, a).endpoints[0].ticket, a).read_all()
    c.do_action(fl.Action("CloseSession", b""), a)
    with pytest.raises(NOT_FOUND, match="unknown"):
        c.get_flight_info(desc, a)
    c.close()


def test_closed_and_expired_handles_are_not_found(start_quiverd):
    s = start_quiverd("--in-memory", "--prepared-idle", "1")
    c = s.flight()
    h, _, _ = _prepare(c, "SELECT 1 AS x")
    desc = fl.FlightDescriptor.for_command(w.prepared_query(h))
    assert c.do_get(c.get_flight_info(desc).endpoints[0].ticket).read_all().column("x").to_pylist() == [1]
    list(c.do_action(fl.Action("ClosePreparedStatement", w.close_prepared(h))))
    with pytest.raises(NOT_FOUND, match="unknown"):
        c.get_flight_info(desc)
    h, _, _ = _prepare(c, "SELECT 1 AS x")
    time.sleep(2.2)
    with pytest.raises(NOT_FOUND, match="expired"):
        c.get_flight_info(fl.FlightDescriptor.for_command(w.prepared_query(h)))
    c.close()


# ---- ingest ----

def test_adbc_ingest_modes(conn):
    cur = conn.cursor()
    t = pa.table({"id": pa.array([1, 2], pa.int64()), "s": pa.array(["a", None], pa.large_string())})
    assert cur.adbc_ingest("fsql_ing", t, mode="create") == 2
    with pytest.raises(Exception, match="already exists"):
        cur.adbc_ingest("fsql_ing", t, mode="create")
    assert cur.adbc_ingest("fsql_ing", t, mode="append") == 2
    assert cur.adbc_ingest("fsql_ing", t, mode="create_append") == 2
    with pytest.raises(Exception, match="does not exist"):
        cur.adbc_ingest("fsql_missing", t, mode="append")
    t2 = pa.table({"other": pa.array([1.5], pa.float64())})
    assert cur.adbc_ingest("fsql_ing", t2, mode="replace") == 1
    cur.execute("SELECT * FROM fsql_ing")
    assert cur.fetchall() == [(1.5,)]
    assert cur.adbc_ingest("fsql_ing2", t, mode="create_append") == 2
    assert cur.adbc_ingest("fsql_ing3", t, mode="replace") == 2
    with pytest.raises(Exception, match="temporary"):
        cur.adbc_ingest("fsql_tmp", t, mode="create", temporary=True)
    with pytest.raises(Exception, match="catalog"):
        cur.adbc_ingest("fsql_cat", t, mode="create", catalog_name="elsewhere")
    cur.execute("SHOW TABLES")
    names = [r[0] for r in cur.fetchall()]
    assert "fsql_tmp" not in names and "fsql_cat" not in names and "fsql_missing" not in names
    cur.close()


def test_ingest_accepts_the_layouts_clients_send(conn):
    cur = conn.cursor()
    t = pa.table({
        "lu": pa.array(["x", None, "zz"], pa.large_string()),
        "uv": pa.array(["p", "q", None], pa.string_view()),
        "d": pa.array(["a", "b", "a"]).dictionary_encode(),
        "ms": pa.array([1, 2, None], pa.timestamp("ms", tz="UTC")),
        "us": pa.array([1, 2, 3], pa.timestamp("us")),
        "s": pa.array([1, 2, 3], pa.timestamp("s")),
        "lb": pa.array([b"x", None, b"\xc3\xa9"], pa.large_binary()),
        "bn": pa.array([b"", b"q", None], pa.binary()),
    })
    assert cur.adbc_ingest("fsql_layouts", t, mode="create") == 3
    cur.execute("SELECT * FROM fsql_layouts")
    got = cur.fetch_arrow_table()
    assert got.column("lu").to_pylist() == ["x", None, "zz"]
    assert got.column("uv").to_pylist() == ["p", "q", None]
    assert got.column("d").to_pylist() == ["a", "b", "a"]
    assert got.schema.field("ms").type == pa.timestamp("ns", tz="UTC")
    assert got.column("ms").cast(pa.int64()).to_pylist() == [1_000_000, 2_000_000, None]
    assert got.column("us").cast(pa.int64()).to_pylist() == [1000, 2000, 3000]
    assert got.column("s").cast(pa.int64()).to_pylist() == [10**9, 2 * 10**9, 3 * 10**9]
    assert got.column("lb").to_pylist() == ["x", None, "é"] and got.column("bn").to_pylist() == ["", "q", None]
    # binary that is not UTF-8 has no Quiver type: refused, nothing created
    with pytest.raises(Exception, match="UTF-8"):
        cur.adbc_ingest("fsql_badbin", pa.table({"b": pa.array([b"\xff"], pa.binary())}), mode="create")
    cur.execute("SHOW TABLES")
    assert "fsql_badbin" not in [r[0] for r in cur.fetchall()]
    cur.close()


def test_plain_doput_accepts_the_same_layouts(srv):
    c = srv.flight()
    t = pa.table({"lb": pa.array([b"a", None], pa.large_binary()), "uv": pa.array(["x", "y"], pa.string_view()),
                  "us": pa.array([5, None], pa.timestamp("us", tz="UTC"))})
    put(c, "fsql_doput_layouts", t)
    got = c.do_get(fl.Ticket("SELECT * FROM fsql_doput_layouts")).read_all()
    assert got.column("lb").to_pylist() == ["a", None] and got.column("uv").to_pylist() == ["x", "y"]
    assert got.column("us").cast(pa.int64()).to_pylist() == [5000, None]
    c.close()


# ---- DataFrame libraries over ADBC ----

def test_pandas_and_polars(conn):
    df = pd.read_sql("SELECT i64, s FROM alltypes ORDER BY i64 LIMIT 3", conn)
    assert df["i64"].tolist() == [0, 1_000_000_007, 2_000_000_014]
    p = pl.read_database("SELECT f64 FROM alltypes ORDER BY f64 DESC LIMIT 2", conn)
    assert p["f64"].to_list() == [24.5, 24.0]
    out = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})  # polars sends utf8_view strings
    out.write_database("fsql_polars", conn, engine="adbc", if_table_exists="replace")
    back = pl.read_database("SELECT * FROM fsql_polars ORDER BY a", conn)
    assert back["b"].to_list() == ["x", "y", None]


def test_adbc_metadata(conn):
    assert conn.adbc_get_table_types() == ["TABLE"]
    assert conn.adbc_get_table_schema("alltypes").equals(ALL_TYPES)
    objs = conn.adbc_get_objects(table_name_filter="alltyp%").read_all().to_pylist()
    assert objs[0]["catalog_name"] == "quiver"
    tables = objs[0]["catalog_db_schemas"][0]["db_schema_tables"]
    assert [t["table_name"] for t in tables] == ["alltypes"]
    assert [col["column_name"] for col in tables[0]["table_columns"]] == ALL_TYPES.names
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "Quiver"


# ---- sessions, cancel, transactions ----

class _Cookies(fl.ClientMiddlewareFactory):
    def __init__(self):
        self.seen = []

    def start_call(self, info):
        f = self

        class M(fl.ClientMiddleware):
            def received_headers(self, headers):
                f.seen.extend(headers.get("set-cookie", []))

        return M()


def _opt_string(name, value):
    val = w.field_bytes(1, value)  # SessionOptionValue.string_value
    return w.field_bytes(1, w.field_bytes(1, name) + w.field_bytes(2, val))


def test_session_options(srv):
    mw = _Cookies()
    c = fl.connect(srv.flight_uri, middleware=[mw])
    res = list(c.do_action(fl.Action("SetSessionOptions", _opt_string("catalog", "quiver") + _opt_string("bogus", "x"))))
    errors = w.parse_fields(res[0].body.to_pybytes()).get(1, [])
    assert len(errors) == 1 and b"bogus" in errors[0]  # INVALID_NAME for the unknown one
    assert mw.seen and mw.seen[0].startswith("arrow_flight_session_id=")
    sid = mw.seen[0].split("=", 1)[1].split(";")[0]
    opts = fl.FlightCallOptions(headers=[(b"cookie", ("arrow_flight_session_id=" + sid).encode())])
    got = list(c.do_action(fl.Action("GetSessionOptions", b""), opts))[0].body.to_pybytes()
    assert b"catalog" in got and b"quiver" in got
    closed = list(c.do_action(fl.Action("CloseSession", b""), opts))[0].body.to_pybytes()
    assert w.parse_fields(closed)[1] == [1]  # CLOSED
    c.close()


def test_transactions_are_unsupported_and_unknown_commands_unimplemented(srv):
    c = srv.flight()
    for action in ["BeginTransaction", "EndTransaction", "BeginSavepoint", "EndSavepoint"]:
        with pytest.raises(UNIMPLEMENTED, match="transactions"):
            list(c.do_action(fl.Action(action, w.any_pack("ActionBeginTransactionRequest"))))
    with pytest.raises(UNIMPLEMENTED, match="CommandStatementSubstraitPlan"):
        c.get_flight_info(fl.FlightDescriptor.for_command(w.any_pack("CommandStatementSubstraitPlan")))
    with pytest.raises(UNIMPLEMENTED, match="transaction"):
        c.get_flight_info(fl.FlightDescriptor.for_command(
            w.any_pack("CommandStatementQuery", w.field_bytes(1, "SELECT 1") + w.field_bytes(2, b"tx"))))
    # the raw interface is unchanged: ListActions shows Quiver's own actions only
    assert sorted(a.type for a in c.list_actions()) == ["describe_table", "drop_table", "healthcheck", "ping"]
    c.close()


def test_cancel_flight_info_stops_the_running_query(srv):
    c = srv.flight()
    big = pa.table({"v": pa.array(range(2_000_000), pa.int64())})
    put(c, "fsql_big", big)
    info = c.get_flight_info(fl.FlightDescriptor.for_command(w.statement_query("SELECT v FROM fsql_big")))
    reader = c.do_get(info.endpoints[0].ticket)
    reader.read_chunk()
    body = w.field_bytes(1, info.serialize())
    res = list(c.do_action(fl.Action("CancelFlightInfo", body)))
    assert w.parse_fields(res[0].body.to_pybytes())[1] == [1]  # CANCELLED
    # gRPC CANCELLED: pyarrow raises it as KeyboardInterrupt (its mapping of a Cancelled status)
    with pytest.raises((fl.FlightCancelledError, KeyboardInterrupt)):
        reader.read_all()
    assert c.do_get(fl.Ticket("SELECT count(*) AS n FROM fsql_big")).read_all().column("n").to_pylist() == [2_000_000]
    c.close()


# ---- bad input ----

def test_bad_flight_sql_input_gets_clear_statuses(srv):
    c = srv.flight()
    cases = [
        (fl.FlightDescriptor.for_command(w.field_bytes(1, w.PREFIX + "CommandGetTables") + b"\xff\xff"), "Any"),
        (fl.FlightDescriptor.for_command(w.any_pack("CommandNoSuchThing")), "CommandNoSuchThing"),
        (fl.FlightDescriptor.for_command(w.any_pack("CommandGetTables", b"\x0a\xff")), "malformed"),
        (fl.FlightDescriptor.for_command(w.any_pack("CommandStatementUpdate", w.field_bytes(1, "SELECT 1"))), "DoPut"),
        (fl.FlightDescriptor.for_command(w.any_pack("CommandPreparedStatementQuery", w.field_bytes(1, b"qvps-nope"))),
         "unknown"),
        (fl.FlightDescriptor.for_command(w.statement_query("SELEC nonsense")), "syntax"),
    ]
    for desc, msg in cases:
        with pytest.raises(pa.ArrowException, match=msg):
            c.get_flight_info(desc)
    for ticket in [w.any_pack("TicketStatementQuery", w.field_bytes(1, b"nope")),
                   w.any_pack("TicketStatementQuery", w.field_bytes(1, b"qvt1Znope")),
                   w.any_pack("TicketStatementQuery", w.field_bytes(1, b"qvt1M" + b"\x0a\x02zz")),
                   w.any_pack("TicketStatementQuery", w.field_bytes(1, b"qvt1Rgarbage")),
                   w.any_pack("TicketStatementQuery", w.field_bytes(1, b"qvt1M" + w.statement_query("SELECT 1")))]:
        with pytest.raises(pa.ArrowException):
            c.do_get(fl.Ticket(ticket)).read_all()
    for action, body in [("CreatePreparedStatement", b"\x01\x02"), ("CreatePreparedStatement", w.any_pack("Wrong")),
                         ("ClosePreparedStatement", w.close_prepared(b"stale")),
                         ("SetSessionOptions", b"\xff"), ("CancelFlightInfo", b"\x0a\x05zz")]:
        with pytest.raises(pa.ArrowException):
            list(c.do_action(fl.Action(action, body)))
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    c.close()


def test_bad_parameter_batches_apply_nothing(srv, conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE fsql_bad (id BIGINT)")
    with pytest.raises(Exception, match="parameter"):
        cur.executemany("INSERT INTO fsql_bad VALUES (?)", pa.record_batch({"p": ["1", "2", "x"]}))
    huge = pa.record_batch({"p": pa.array(range(1_200_000), pa.int64())})
    with pytest.raises(Exception, match="parameters"):
        cur.executemany("INSERT INTO fsql_bad VALUES (?)", huge)
    cur.execute("SELECT count(*) FROM fsql_bad")
    assert cur.fetchall() == [(0,)]
    cur.close()
    c = srv.flight()
    assert list(c.do_action(fl.Action("ping", b"")))[0].body.to_pybytes() == b"pong"
    c.close()


def test_concurrent_adbc_clients(srv):
    errors = []

    def work(i):
        try:
            cn = flight_sql.connect(srv.flight_uri, autocommit=True)
            cur = cn.cursor()
            for _ in range(5):
                cur.execute("SELECT count(*) FROM alltypes WHERE i64 > ?", (i,))
                assert cur.fetchall() == [(49,)] or i > 0
            cur.close()
            cn.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_get_schema_runs_nothing(srv):
    c = srv.flight()
    c.do_get(fl.Ticket("CREATE TABLE fsql_gs (a BIGINT)")).read_all()
    h, ds, _ = _prepare(c, "INSERT INTO fsql_gs VALUES (1)")
    assert len(ds) == 0  # a change statement has no result set
    for cmd in (w.prepared_query(h), w.statement_query("INSERT INTO fsql_gs VALUES (2)")):
        s = c.get_schema(fl.FlightDescriptor.for_command(cmd)).schema
        assert s.names == ["rows"]
    count = lambda: c.do_get(fl.Ticket("SELECT count(*) AS n FROM fsql_gs")).read_all().column("n").to_pylist()
    assert count() == [0]
    info = c.get_flight_info(fl.FlightDescriptor.for_command(w.prepared_query(h)))  # runs it
    assert info.schema.names == ["rows"]
    assert c.do_get(info.endpoints[0].ticket).read_all().column("rows").to_pylist() == [1]
    assert count() == [1]
    c.close()


KILLED_WRITER = r"""
import os, signal, sys, pyarrow as pa, adbc_driver_flightsql.dbapi as fs
conn = fs.connect(sys.argv[1], autocommit=True)
schema = pa.schema([("v", pa.int64())])
def batches():
    for i in range(1000):
        if i == 5:
            os.kill(os.getpid(), signal.SIGKILL)  # dies mid-stream
        yield pa.record_batch([pa.array(range(i * 1000, (i + 1) * 1000), pa.int64())], schema=schema)
conn.cursor().adbc_ingest("fsql_killed", pa.RecordBatchReader.from_batches(schema, batches()), mode="create")
"""


def test_ingest_from_a_killed_client_applies_nothing(srv):
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-c", KILLED_WRITER, srv.flight_uri], capture_output=True, timeout=120)
    assert p.returncode == -9, p.stderr
    c = srv.flight()
    time.sleep(0.5)
    names = c.do_get(fl.Ticket("SHOW TABLES")).read_all().column(0).to_pylist()
    assert "fsql_killed" not in names
    c.close()
