"""DECIMAL at every boundary outside SQL, against a real quiverd: Arrow
decimal128 through Flight DoPut (pyarrow, pandas, polars) and HTTP ingest,
the precision and scale a table keeps (across restarts and crashes), exact
rescaling of later puts, refusals that name column and row and apply
nothing, the HTTP output formats and Flight SQL's XDBC type list.

What a table holds is read without SQL where it can be (HTTP /tables and
Flight SQL GetTables give the stored schema and row count), so these tests
do not depend on the SQL module; reading the values back is a SELECT."""
import decimal
import io
import re

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

import flightsql_wire as w

from flightutil import get, put

D = decimal.Decimal


def tables(srv):
    """{name: (rows, [(column, type text, nullable)])} from HTTP /tables (no SQL involved)."""
    r = requests.get(srv.http_url + "/tables", timeout=30)
    assert r.status_code == 200, r.text
    return {t["name"]: (t["rows"], [(c["name"], c["type"], c["nullable"]) for c in t["schema"]])
            for t in r.json()["tables"]}


def stored_schema(client, name):
    """The table's Arrow schema as Flight SQL GetTables(include_schema) gives it (the storage schema)."""
    cmd = w.get_tables(table_pattern=name, include_schema=True)
    info = client.get_flight_info(fl.FlightDescriptor.for_command(cmd))
    t = client.do_get(info.endpoints[0].ticket).read_all()
    assert t.column("table_name").to_pylist() == [name]
    return pa.ipc.read_schema(pa.py_buffer(t.column("table_schema")[0].as_py()))


def arrow_bytes(table):
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as wr:
        wr.write_table(table)
    return sink.getvalue()


def ingest(srv, table, body, ctype):
    return requests.post(srv.http_url + "/ingest", params={"table": table}, data=body,
                         headers={"Content-Type": ctype}, timeout=60)


PRICES = [D("1.25"), None, D("-3.10"), D("99999999.99"), D("-99999999.99"), D("0.01"), D("-0.05"), D("0.00")]


def prices_table():
    return pa.table({"k": pa.array(range(len(PRICES)), pa.int64()), "p": pa.array(PRICES, pa.decimal128(10, 2))})


@pytest.fixture(scope="module")
def client(quiverd):
    c = quiverd.flight()
    yield c
    c.close()


# ---- DoPut: the table keeps the stream's precision and scale ----

def test_doput_decimal128_creates_a_decimal_column(quiverd, client):
    put(client, "dp", prices_table())
    rows, cols = tables(quiverd)["dp"]
    assert rows == len(PRICES)
    assert cols == [("k", "INT64", True), ("p", "DECIMAL(10,2)", True)]
    assert stored_schema(client, "dp").field("p").type == pa.decimal128(10, 2)
    put(client, "dp", prices_table())  # same (p, s): appended as is
    assert tables(quiverd)["dp"][0] == 2 * len(PRICES)


def test_doget_gives_back_the_exact_decimals(client):
    put(client, "dp_get", prices_table())
    got = get(client, "SELECT * FROM dp_get ORDER BY k")
    assert got.schema.field("p").type == pa.decimal128(10, 2)
    assert got.column("p").to_pylist() == PRICES
    assert get(client, "SELECT p FROM dp_get").column("p").type == pa.decimal128(10, 2)


def test_pandas_decimal_objects(quiverd, client):
    df = pd.DataFrame({"k": [1, 2, 3], "amount": [D("12.50"), D("-0.75"), None]})
    t = pa.Table.from_pandas(df, preserve_index=False)
    assert t.schema.field("amount").type == pa.decimal128(4, 2)  # what pyarrow infers from the objects
    put(client, "pd_dec", t)
    assert tables(quiverd)["pd_dec"] == (3, [("k", "INT64", True), ("amount", "DECIMAL(4,2)", True)])
    assert stored_schema(client, "pd_dec").field("amount").type == pa.decimal128(4, 2)


def test_polars_decimal_38_is_stored_as_18_digits(quiverd, client):
    df = pl.DataFrame({"k": [1, 2, 3], "v": [D("1.25"), D("-9999999999999999.99"), None]},
                      schema={"k": pl.Int64, "v": pl.Decimal(38, 2)})
    t = df.to_arrow()
    assert t.schema.field("v").type == pa.decimal128(38, 2)  # what polars sends
    put(client, "pl_dec", t)
    assert tables(quiverd)["pl_dec"] == (3, [("k", "INT64", True), ("v", "DECIMAL(18,2)", True)])
    assert stored_schema(client, "pl_dec").field("v").type == pa.decimal128(18, 2)


def test_polars_values_come_back(client):
    df = pl.DataFrame({"k": [1, 2, 3], "v": [D("1.25"), D("-9999999999999999.99"), None]},
                      schema={"k": pl.Int64, "v": pl.Decimal(38, 2)})
    put(client, "pl_dec_get", df.to_arrow())
    got = get(client, "SELECT * FROM pl_dec_get ORDER BY k")
    assert got.schema.field("v").type == pa.decimal128(18, 2)
    assert got.column("v").to_pylist() == [D("1.25"), D("-9999999999999999.99"), None]


# ---- refusals: named column and row, nothing applied ----

def test_more_than_18_digits_is_refused_and_nothing_applied(quiverd, client):
    put(client, "big", pa.table({"v": pa.array([D(1)], pa.decimal128(38, 0))}))
    bad = pa.table({"v": pa.array([D(5), D(-999999999999999999), D(10) ** 19, D(7)], pa.decimal128(38, 0))})
    with pytest.raises(pa.ArrowInvalid, match=r"column v: .*row 2 does not fit DECIMAL\(18,0\)"):
        put(client, "big", bad)
    assert tables(quiverd)["big"][0] == 1
    with pytest.raises(pa.ArrowInvalid, match=r"column v: .*row 0 does not fit DECIMAL\(18,0\)"):
        put(client, "big_new", pa.table({"v": pa.array([-D(10) ** 18], pa.decimal128(19, 0))}))
    assert "big_new" not in tables(quiverd)


def test_decimal256_and_odd_scales_are_refused(quiverd, client):
    with pytest.raises(pa.ArrowNotImplementedError, match=r"column w: Arrow type decimal256\(40, 2\) is not supported"):
        put(client, "d256", pa.table({"w": pa.array([D("1.5")], pa.decimal256(40, 2))}))
    with pytest.raises(pa.ArrowNotImplementedError, match=r"column s: decimal scale 20 is not supported"):
        put(client, "d256", pa.table({"s": pa.array([D(1)], pa.decimal128(30, 20))}))
    with pytest.raises(pa.ArrowNotImplementedError, match=r"column s: decimal scale -2 is not supported"):
        put(client, "d256", pa.table({"s": pa.array([D(100)], pa.decimal128(5, -2))}))
    assert "d256" not in tables(quiverd)


def test_decimal_into_a_double_column_is_refused(quiverd, client):
    put(client, "dbl", pa.table({"x": pa.array([1.5], pa.float64())}))
    with pytest.raises(pa.ArrowInvalid, match=r"column 'x': stream has type DECIMAL\(10,2\), table 'dbl' has FLOAT64"):
        put(client, "dbl", pa.table({"x": pa.array([D("1.5")], pa.decimal128(10, 2))}))
    assert tables(quiverd)["dbl"][0] == 1


# ---- a later put with another (p, s): rescaled exactly, or refused ----

def test_other_scales_are_rescaled_exactly_or_refused(quiverd, client):
    put(client, "rs", pa.table({"p": pa.array([D("1.25")], pa.decimal128(10, 2))}))
    put(client, "rs", pa.table({"p": pa.array([D("2.5000"), D("-0.0100"), None], pa.decimal128(12, 4))}))
    put(client, "rs", pa.table({"p": pa.array([D("3.5"), D("-99999999.9")], pa.decimal128(9, 1))}))
    put(client, "rs", pa.table({"p": pa.array([D(4)], pa.decimal128(18, 0))}))
    assert tables(quiverd)["rs"] == (7, [("p", "DECIMAL(10,2)", True)])
    with pytest.raises(pa.ArrowInvalid, match=r"column 'p': value 1.2345 at row 1 does not fit the table's "
                                              r"DECIMAL\(10,2\) \(digits past its scale would be lost\)"):
        put(client, "rs", pa.table({"p": pa.array([D("1.2300"), D("1.2345")], pa.decimal128(12, 4))}))
    with pytest.raises(pa.ArrowInvalid, match=r"column 'p': value 100000000.00 at row 0 does not fit the table's "
                                              r"DECIMAL\(10,2\) \(too many digits\)"):
        put(client, "rs", pa.table({"p": pa.array([D("100000000.00")], pa.decimal128(18, 2))}))
    with pytest.raises(pa.ArrowInvalid, match=r"row 2 does not fit"):  # the stream's row, across batches
        wr, _ = client.do_put(fl.FlightDescriptor.for_path("rs"), pa.schema([("p", pa.decimal128(11, 3))]))
        wr.write_table(pa.table({"p": pa.array([D("1.000"), D("2.000")], pa.decimal128(11, 3))}))
        wr.write_table(pa.table({"p": pa.array([D("1.001")], pa.decimal128(11, 3))}))
        wr.close()
    assert tables(quiverd)["rs"][0] == 7


def test_rescaled_values_come_back(client):
    put(client, "rs_get", pa.table({"k": pa.array([0], pa.int64()), "p": pa.array([D("1.25")], pa.decimal128(10, 2))}))
    put(client, "rs_get", pa.table({"k": pa.array([1, 2], pa.int64()),
                                    "p": pa.array([D("2.5000"), D("-0.0100")], pa.decimal128(12, 4))}))
    got = get(client, "SELECT * FROM rs_get ORDER BY k")
    assert got.schema.field("p").type == pa.decimal128(10, 2)
    assert got.column("p").to_pylist() == [D("1.25"), D("2.50"), D("-0.01")]


# ---- persistence ----

def test_precision_and_scale_survive_restart_and_crash(start_quiverd, tmp_path):
    data, rg = str(tmp_path / "data"), ("--rowgroup-rows", "1000")
    n = 2500  # over row groups: sealed column files plus a WAL tail
    vals = [None if i % 11 == 0 else D(i * 37 - 40000).scaleb(-3) for i in range(n)]
    t = pa.table({"i": pa.array(range(n), pa.int64()), "amt": pa.array(vals, pa.decimal128(9, 3))})
    srv = start_quiverd("--data-dir", data, *rg)
    c = srv.flight()
    put(c, "dur", t)
    c.close()
    assert srv.stop() == 0
    srv = start_quiverd("--data-dir", data, *rg)
    assert tables(srv)["dur"] == (n, [("i", "INT64", True), ("amt", "DECIMAL(9,3)", True)])
    c = srv.flight()
    put(c, "dur", pa.table({"i": pa.array([n], pa.int64()), "amt": pa.array([D("1.5")], pa.decimal128(5, 1))}))
    c.close()
    srv.kill()  # SIGKILL, no clean shutdown: what was acknowledged must come back
    srv = start_quiverd("--data-dir", data, *rg)
    assert tables(srv)["dur"] == (n + 1, [("i", "INT64", True), ("amt", "DECIMAL(9,3)", True)])
    c = srv.flight()
    assert stored_schema(c, "dur").field("amt").type == pa.decimal128(9, 3)
    c.close()


def test_values_survive_restart(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data)
    c = srv.flight()
    put(c, "dur", prices_table())
    c.close()
    srv.kill()
    c = start_quiverd("--data-dir", data).flight()
    got = get(c, "SELECT * FROM dur ORDER BY k")
    assert got.schema.field("p").type == pa.decimal128(10, 2)
    assert got.column("p").to_pylist() == PRICES
    c.close()


# ---- HTTP ----

def test_http_json_and_csv_print_exact_digits(quiverd, client):
    put(client, "hq", pa.table({"k": pa.array([1, 2, 3], pa.int64()),
                                "p": pa.array([D("1.25"), None, D("-0.50")], pa.decimal128(10, 2))}))
    r = requests.get(quiverd.http_url + "/", params={"query": "SELECT * FROM hq ORDER BY k", "format": "JSONCompact"})
    assert r.status_code == 200, r.text
    assert '"type":"DECIMAL(10,2)"' in r.text
    assert '"data":[[1,1.25],[2,null],[3,-0.50]]' in r.text  # JSON numbers, unquoted, every digit
    r = requests.get(quiverd.http_url + "/", params={"query": "SELECT k, p FROM hq ORDER BY k", "format": "CSV"})
    assert r.text == "1,1.25\n2,\n3,-0.50\n"


def test_http_ingest_into_a_decimal_column(quiverd, client):
    put(client, "hi", pa.table({"k": pa.array([0], pa.int64()), "p": pa.array([D("1.25")], pa.decimal128(10, 2))}))
    r = ingest(quiverd, "hi", b"k,p\n1,2.5\n2,\n3,-0.125\n4,1e2\n", "text/csv")  # -0.125 rounds half away: -0.13
    assert r.status_code == 200 and r.json()["rows"] == 4, r.text
    r = ingest(quiverd, "hi", b'{"k":5,"p":0.1}\n{"k":6,"p":"7.005"}\n{"k":7,"p":null}\n', "application/x-ndjson")
    assert r.status_code == 200 and r.json()["rows"] == 3, r.text
    r = ingest(quiverd, "hi", arrow_bytes(pa.table({"k": pa.array([8], pa.int64()),
                                                    "p": pa.array([D("3.1")], pa.decimal128(3, 1))})),
               "application/vnd.apache.arrow.stream")
    assert r.status_code == 200 and r.json()["rows"] == 1, r.text
    assert tables(quiverd)["hi"] == (9, [("k", "INT64", True), ("p", "DECIMAL(10,2)", True)])
    for body, ctype, want in [
            (b"k,p\n9,1.5\n10,abc\n", "text/csv", "line 3, column 'p': 'abc' is not a DECIMAL"),
            (b"k,p\n9,123456789.1\n", "text/csv", r"line 2, column 'p': '123456789.1' does not fit DECIMAL\(10,2\)"),
            (b'{"k":9,"p":1}\n{"k":10,"p":true}\n', "application/x-ndjson", "line 2, column 'p': 'true' is not a DECIMAL"),
            (b'{"k":9,"p":1e9}\n', "application/x-ndjson", r"line 1, column 'p': '1e9' does not fit DECIMAL\(10,2\)")]:
        r = ingest(quiverd, "hi", body, ctype)
        assert r.status_code == 400, r.text
        assert re.search(want, r.json()["error"]), r.text
    assert tables(quiverd)["hi"][0] == 9


def test_http_ingest_never_infers_decimal(quiverd):
    r = ingest(quiverd, "hinf", b"a,b\n1.25,3\n2.50,4\n", "text/csv")
    assert r.status_code == 200, r.text
    assert tables(quiverd)["hinf"][1] == [("a", "FLOAT64", True), ("b", "INT64", True)]


def test_http_ingested_values_come_back(quiverd, client):
    put(client, "hi_get", pa.table({"k": pa.array([0], pa.int64()), "p": pa.array([D("1.25")], pa.decimal128(10, 2))}))
    assert ingest(quiverd, "hi_get", b"k,p\n1,2.5\n2,-0.125\n", "text/csv").status_code == 200
    assert ingest(quiverd, "hi_get", b'{"k":3,"p":0.1}\n', "application/x-ndjson").status_code == 200
    got = get(client, "SELECT * FROM hi_get ORDER BY k")
    assert got.column("p").to_pylist() == [D("1.25"), D("2.50"), D("-0.13"), D("0.10")]


# ---- Flight SQL ----

def test_xdbc_type_info_lists_decimal(client):
    info = client.get_flight_info(fl.FlightDescriptor.for_command(w.any_pack("CommandGetXdbcTypeInfo")))
    x = client.do_get(info.endpoints[0].ticket).read_all().to_pylist()
    dec = [r for r in x if r["type_name"] == "DECIMAL"]
    assert len(dec) == 1, x
    d = dec[0]
    assert (d["data_type"], d["column_size"], d["literal_prefix"], d["create_params"]) == (3, 18, None,
                                                                                            ["precision", "scale"])
    assert (d["minimum_scale"], d["maximum_scale"], d["num_prec_radix"], d["unsigned_attribute"]) == (0, 18, 10, False)
    assert [r["data_type"] for r in x if r["type_name"] == "NUMERIC"] == [2]
    assert [r["data_type"] for r in x] == sorted(r["data_type"] for r in x)
    only = client.get_flight_info(fl.FlightDescriptor.for_command(
        w.any_pack("CommandGetXdbcTypeInfo", w.field_varint(1, 3))))
    assert [r["type_name"] for r in client.do_get(only.endpoints[0].ticket).read_all().to_pylist()] == ["DECIMAL"]


# ---- replication ----

def test_replica_keeps_precision_and_scale(start_quiverd, tmp_path):
    from test_replicas import free_port, wait_for
    pport, rport = free_port(), free_port()
    primary = start_quiverd("--data-dir", str(tmp_path / "p"), "--flight-port", str(pport),
                            "--advertise", "127.0.0.1:%d" % pport)
    replica = start_quiverd("--data-dir", str(tmp_path / "r"), "--flight-port", str(rport),
                            "--replica-of", "grpc://127.0.0.1:%d" % pport, "--advertise", "127.0.0.1:%d" % rport)
    c = primary.flight()
    put(c, "rep", prices_table())
    c.close()
    want = (len(PRICES), [("k", "INT64", True), ("p", "DECIMAL(10,2)", True)])
    wait_for(lambda: tables(replica).get("rep"), want)
    rc = replica.flight()
    assert stored_schema(rc, "rep").field("p").type == pa.decimal128(10, 2)
    rc.close()


# ---- SQL results and parameters over Flight and Flight SQL (ADBC) ----

def test_query_results_are_decimal128_with_their_types(client):
    put(client, "qd", pa.table({"px": pa.array([D("1.25"), D("-0.05"), None], pa.decimal128(10, 2)),
                                "n": pa.array([2, 3, 4], pa.int32())}))
    t = client.do_get(fl.Ticket("SELECT px * 1.1 AS a, px + n AS b, sum(px) OVER () AS s, round(px, 1) AS r, "
                                "px / 2 AS h FROM qd")).read_all()
    assert [f.type for f in t.schema] == [pa.decimal128(12, 3), pa.decimal128(13, 2), pa.decimal128(18, 2),
                                          pa.decimal128(10, 1), pa.float64()]
    assert t.column("a").to_pylist() == [D("1.375"), D("-0.055"), None]
    assert t.column("b").to_pylist() == [D("3.25"), D("2.95"), None]
    assert t.column("s").to_pylist() == [D("1.20")] * 3
    assert t.column("r").to_pylist() == [D("1.3"), D("-0.1"), None]
    assert t.column("h").to_pylist() == [0.625, -0.025, None]


def test_adbc_decimal_results_parameters_and_insert(quiverd):
    import adbc_driver_flightsql.dbapi as flight_sql
    with flight_sql.connect(quiverd.flight_uri, autocommit=True) as cn:
        cur = cn.cursor()
        cur.execute("CREATE TABLE ad (k BIGINT, px DECIMAL(10,2))")
        cur.execute("INSERT INTO ad VALUES (?, ?)", (1, D("1.25")))
        cur.executemany("INSERT INTO ad VALUES (?, ?)", [(2, D("-0.5")), (3, None), (4, D("2.675"))])
        cur.execute("SELECT k, px FROM ad ORDER BY k")
        assert cur.fetchall() == [(1, D("1.25")), (2, D("-0.50")), (3, None), (4, D("2.68"))]
        cur.execute("SELECT k FROM ad WHERE px > ? ORDER BY k", (D("1.25"),))
        assert cur.fetchall() == [(4,)]
        cur.execute("SELECT k FROM ad WHERE px = ? ORDER BY k", ("-0.5",))
        assert cur.fetchall() == [(2,)]
        cur.execute("SELECT sum(px) AS s FROM ad")
        tab = cur.fetch_arrow_table()
        assert tab.schema.field("s").type == pa.decimal128(18, 2) and tab.column("s").to_pylist() == [D("3.43")]
        assert cn.adbc_get_table_schema("ad").field("px").type == pa.decimal128(10, 2)
        with pytest.raises(Exception, match="does not fit DECIMAL.10,2."):
            cur.execute("INSERT INTO ad VALUES (?, ?)", (5, D("123456789.5")))
        cur.execute("SELECT count(*) FROM ad")
        assert cur.fetchall() == [(4,)]
        cur.close()
