"""The DATE type (int32 days, Arrow date32) end to end against a real quiverd:
Flight DoPut/DoGet ingest of date32/date64/pandas/polars, SQL checked against
DuckDB on the same Arrow data, errors, the HTTP API, Flight SQL over ADBC and
a restart with a data dir."""
import csv
import datetime as dt
import io

import adbc_driver_flightsql.dbapi as flight_sql
import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.flight as fl
import pytest
import requests

INVALID = pa.ArrowInvalid  # how pyarrow raises gRPC INVALID_ARGUMENT
D = dt.date


def put(client, name, table):
    wr, _ = client.do_put(fl.FlightDescriptor.for_path(name), table.schema)
    wr.write_table(table)
    wr.close()


def get(client, sql):
    return client.do_get(fl.Ticket(sql.encode())).read_all()


def source(n=80):
    """DATEs over decades (some before 1970), NULLs, a second DATE, a TIMESTAMP."""
    base = D(2024, 1, 1)
    days = [None if i % 9 == 4 else base + dt.timedelta(days=(i * 37) % 113 - 40) for i in range(n)]
    days[1], days[2], days[3] = D(1969, 12, 31), D(1900, 3, 1), D(1700, 1, 1)
    d2 = [None if i % 7 == 5 else base + dt.timedelta(days=i % 17) for i in range(n)]
    ts = [None if i % 11 == 6 else dt.datetime(2023, 12, 20) + dt.timedelta(hours=13 * i) for i in range(n)]
    return pa.table({
        "id": pa.array(range(n), pa.int64()), "d": pa.array(days, pa.date32()),
        "d2": pa.array(d2, pa.date32()), "ts": pa.array(ts, pa.timestamp("ns")),
        "n": pa.array([i % 5 for i in range(n)], pa.int64()),
    })


def dim():
    return pa.table({"k": pa.array([D(2024, 1, 1) + dt.timedelta(days=i) for i in range(-5, 20, 2)], pa.date32()),
                     "label": pa.array(["L%d" % i for i in range(13)])})


@pytest.fixture(scope="module")
def dbs(quiverd):
    c = quiverd.flight()
    t, m = source(), dim()
    put(c, "dt", t)
    put(c, "dim", m)
    duck = duckdb.connect()
    duck.register("dt", t)
    duck.register("dim", m)
    yield quiverd, c, duck
    c.close()
    duck.close()


def kind(t):
    for k, f in [("date", pa.types.is_date32), ("ts", pa.types.is_timestamp), ("int", pa.types.is_integer),
                 ("float", pa.types.is_floating), ("str", pa.types.is_string), ("bool", pa.types.is_boolean)]:
        if f(t):
            return k
    return str(t)


def norm(v):
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    return v


def rows(table, ordered):
    r = [tuple(norm(v) for v in row.values()) for row in table.to_pylist()]
    return r if ordered else sorted(r, key=repr)


def same_as_duck(dbs, sql, ordered=True):
    _, c, duck = dbs
    want = duck.sql(sql).to_arrow_table()
    got = get(c, sql)
    assert [kind(f.type) for f in got.schema] == [kind(f.type) for f in want.schema], (sql, got.schema, want.schema)
    assert rows(got, ordered) == rows(want, ordered), sql
    return got


# ---- ingest ----

def test_date32_round_trip_with_extremes(quiverd):
    c = quiverd.flight()
    vals = [D(2024, 1, 2), None, D(1969, 12, 31), D(1, 1, 1), D(9999, 12, 31), D(1970, 1, 1), D(1582, 10, 4)]
    t = pa.table({"i": pa.array(range(len(vals)), pa.int64()), "d": pa.array(vals, pa.date32())})
    put(c, "ext", t)
    got = get(c, "SELECT i, d FROM ext ORDER BY i")
    assert got.schema.field("d").type == pa.date32()
    assert got.column("d").to_pylist() == vals
    assert get(c, "SELECT DISTINCT typeof(d) AS t FROM ext").column("t").to_pylist() == ["DATE"]
    assert get(c, "SELECT count(*) AS n FROM ext WHERE d < DATE '1970-01-01'").column("n").to_pylist() == [3]


def test_date64_becomes_the_day(quiverd):
    c = quiverd.flight()
    day = 86_400_000
    ms = [19724 * day, 19724 * day + day // 2, -day, -day // 2, None]  # 2024-01-02, its noon, 1969-12-31, its noon
    put(c, "d64", pa.table({"i": pa.array(range(5), pa.int64()), "d": pa.array(ms, pa.date64())}))
    got = get(c, "SELECT d, typeof(d) AS t FROM d64 ORDER BY i")
    assert got.schema.field("d").type == pa.date32()
    assert got.column("d").to_pylist() == [D(2024, 1, 2), D(2024, 1, 2), D(1969, 12, 31), D(1969, 12, 31), None]
    assert set(got.column("t").to_pylist()) == {"DATE"}


def test_pandas_and_polars_dates_round_trip(quiverd):
    c = quiverd.flight()
    df = pd.DataFrame({"i": [1, 2, 3], "d": [D(2024, 1, 2), None, D(1950, 6, 30)]})
    t = pa.Table.from_pandas(df, preserve_index=False)
    assert t.schema.field("d").type == pa.date32()
    put(c, "pd_t", t)
    back = get(c, "SELECT i, d FROM pd_t ORDER BY i").to_pandas()
    assert back["d"].tolist() == [D(2024, 1, 2), None, D(1950, 6, 30)]
    pf = pl.DataFrame({"i": [1, 2, 3], "d": [D(2000, 2, 29), D(1899, 12, 31), None]}, schema={"i": pl.Int64, "d": pl.Date})
    put(c, "pl_t", pf.to_arrow())
    got = pl.from_arrow(get(c, "SELECT i, d FROM pl_t ORDER BY i"))
    assert got.schema["d"] == pl.Date
    assert got.equals(pf)


def test_timestamp_column_accepts_date32(quiverd):
    c = quiverd.flight()
    put(c, "tsd", pa.table({"ts": pa.array([dt.datetime(2024, 1, 2, 3, 4)], pa.timestamp("ns"))}))
    put(c, "tsd", pa.table({"ts": pa.array([D(2024, 1, 3), None, D(1969, 7, 20)], pa.date32())}))
    got = get(c, "SELECT ts, typeof(ts) AS t FROM tsd ORDER BY ts NULLS LAST")
    assert pa.types.is_timestamp(got.schema.field("ts").type)
    assert [norm(v) for v in got.column("ts").to_pylist()] == [
        dt.datetime(1969, 7, 20), dt.datetime(2024, 1, 2, 3, 4), dt.datetime(2024, 1, 3), None]
    assert set(got.column("t").to_pylist()) == {"TIMESTAMP"}
    with pytest.raises(pa.ArrowException) as e:
        put(c, "tsd", pa.table({"ts": pa.array([D(2024, 5, 5), D(3000, 1, 1)], pa.date32())}))
    assert "3000-01-01" in str(e.value) or "range" in str(e.value).lower(), str(e.value)
    assert get(c, "SELECT count(*) AS n FROM tsd").column("n").to_pylist() == [4]  # nothing of it applied


# ---- SQL against DuckDB ----

def test_create_insert_typeof(dbs):
    _, c, _ = dbs
    get(c, "CREATE TABLE ci (d DATE, x BIGINT)")
    get(c, "INSERT INTO ci VALUES ('2024-01-02', 1), (DATE '1999-12-31', 2), (NULL, 3)")
    get(c, "INSERT INTO ci SELECT d + 1, x + 10 FROM ci WHERE x = 1")
    got = get(c, "SELECT d, typeof(d) AS t FROM ci ORDER BY x")
    assert got.schema.field("d").type == pa.date32()
    assert got.column("d").to_pylist() == [D(2024, 1, 2), D(1999, 12, 31), None, D(2024, 1, 3)]
    assert got.column("t").to_pylist() == ["DATE"] * 4


QUERIES = [
    "SELECT id, d, d2, d < d2, d = d2, d >= d2 FROM dt ORDER BY id",
    "SELECT id, d > ts, d <= ts, d = CAST(ts AS DATE) FROM dt ORDER BY id",
    "SELECT id FROM dt WHERE d > '2024-01-15' ORDER BY id",
    "SELECT id FROM dt WHERE d = '1969-12-31' OR d <> DATE '2024-01-10' AND d < '2023-12-01' ORDER BY id",
    "SELECT id FROM dt WHERE d BETWEEN DATE '2023-12-01' AND '2024-02-01' ORDER BY id",
    "SELECT id FROM dt WHERE d IN (DATE '2024-01-07', '1900-03-01', DATE '2024-03-05') ORDER BY id",
    "SELECT id, d FROM dt ORDER BY d DESC NULLS LAST, id",
    "SELECT id, d FROM dt ORDER BY d NULLS FIRST, id",
    "SELECT d, count(*) AS c, max(n) AS s FROM dt GROUP BY d ORDER BY d NULLS FIRST",
    "SELECT DISTINCT d2 FROM dt ORDER BY d2 NULLS LAST",
    "SELECT dt.id, dim.label FROM dt JOIN dim ON dt.d = dim.k ORDER BY dt.id",
    "SELECT d FROM dt WHERE id < 10 UNION SELECT k FROM dim ORDER BY 1 NULLS LAST",
    "SELECT id, d + 1, 1 + d, d - 1, d - d2, d2 - d FROM dt ORDER BY id",
    "SELECT id, d + INTERVAL '36 hours', d - INTERVAL '2 days', d + INTERVAL '-90 minutes' FROM dt ORDER BY id",
    "SELECT id, CAST(ts AS DATE), ts::DATE, CAST(d AS TIMESTAMP), CAST(d AS VARCHAR) FROM dt ORDER BY id",
    "SELECT CAST('2024/1/2' AS DATE), CAST('0001-01-01' AS DATE), CAST(' 2024-03-04 ' AS DATE)",
    "SELECT id, year(d), month(d), day(d), extract(year FROM d), extract(doy FROM d), date_part('dow', d) FROM dt ORDER BY id",
    "SELECT id, dayname(d), monthname(d), strftime(d, '%Y/%m/%d %A %j') FROM dt ORDER BY id",
    "SELECT id, date_trunc('month', d), date_trunc('year', d), last_day(d) FROM dt ORDER BY id",
    "SELECT id, time_bucket(INTERVAL '7 days', d), time_bucket(INTERVAL '3 days', d2) FROM dt ORDER BY id",
    "SELECT id, make_date(2000 + n, n + 1, n * 5 + 1), date_diff('day', d, d2), date_diff('month', d2, d) FROM dt ORDER BY id",
    "SELECT min(d), max(d), count(d), arg_min(id, d), arg_max(id, d), arg_min(d, id), quantile_disc(d, 0.5) FROM dt",
    "SELECT median(d2), min(d2), max(d2) FROM dt",
    "SELECT n, min(d), max(d), count(DISTINCT d) FROM dt GROUP BY n ORDER BY n",
    "SELECT id, lag(d) OVER (ORDER BY id), lead(d, 2) OVER (ORDER BY id) FROM dt ORDER BY id",
    "SELECT id, count(*) OVER (ORDER BY d RANGE BETWEEN 3 PRECEDING AND CURRENT ROW) FROM dt WHERE d IS NOT NULL ORDER BY id",
    "SELECT id, min(id) OVER (ORDER BY d2 RANGE BETWEEN INTERVAL '2 days' PRECEDING AND CURRENT ROW) FROM dt "
    "WHERE d2 IS NOT NULL ORDER BY id",
    "SELECT id, coalesce(d, d2), greatest(d, d2), least(d, d2), CASE WHEN n > 2 THEN d ELSE d2 END FROM dt ORDER BY id",
    "SELECT id, epoch(d), quarter(d), isodow(d), dayofweek(d), week(d) FROM dt ORDER BY id",
    "SELECT d FROM dt WHERE id < 5 UNION ALL SELECT ts FROM dt WHERE id < 5 ORDER BY 1 NULLS LAST",
    "SELECT id FROM dt WHERE d NOT IN (DATE '2024-02-02', NULL) OR d IS NULL ORDER BY id",
    "SELECT CAST('2024-01-02 05:06:07' AS DATE), CAST('2024-01-02T05:06:07Z' AS DATE), CAST('2024-1-2' AS DATE)",
    "SELECT d, CAST(d AS VARCHAR) FROM (VALUES (DATE '2024-02-29'), (DATE '1969-01-01'), (NULL)) v(d) ORDER BY d",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_sql_matches_duckdb(dbs, sql):
    same_as_duck(dbs, sql)


def test_result_types(dbs):
    _, c, _ = dbs
    t = get(c, "SELECT d + 1 AS a, d - d2 AS b, d + INTERVAL '36 hours' AS c, date_trunc('month', d) AS e, "
               "last_day(d) AS f, time_bucket(INTERVAL '7 days', d) AS g, make_date(2024, 1, 2) AS h FROM dt WHERE id = 0")
    assert [f.type for f in t.schema][:2] == [pa.date32(), pa.int64()]
    assert [kind(f.type) for f in t.schema][2:] == ["ts", "ts", "date", "date", "date"]
    assert get(c, "SELECT median(d) AS m FROM dt").schema.field("m").type.unit in ("ns", "us")
    assert get(c, "SELECT quantile_disc(d, 0.5) AS q FROM dt").schema.field("q").type == pa.date32()


def test_current_date_is_utc_today(dbs):
    _, c, _ = dbs
    before = dt.datetime.now(dt.timezone.utc).date()
    t = get(c, "SELECT current_date AS a, today() AS b, typeof(current_date) AS t")
    after = dt.datetime.now(dt.timezone.utc).date()
    assert t.schema.field("a").type == pa.date32() and t.column("t").to_pylist() == ["DATE"]
    assert t.column("a").to_pylist()[0] in (before, after)
    assert t.column("b").to_pylist() == t.column("a").to_pylist()


def test_where_over_many_row_groups(start_quiverd):
    srv = start_quiverd("--in-memory", "--rowgroup-rows", "1000")
    n = 10_000
    days = [None if i % 97 == 3 else D(2020, 1, 1) + dt.timedelta(days=(i * 7919) % 3000 if i % 2 else i // 3)
            for i in range(n)]
    t = pa.table({"id": pa.array(range(n), pa.int64()), "d": pa.array(days, pa.date32())})
    c = srv.flight()
    put(c, "big", t)
    duck = duckdb.connect()
    duck.register("big", t)
    for sql in ["SELECT id, d FROM big WHERE d >= DATE '2021-06-01' ORDER BY id",
                "SELECT id FROM big WHERE d < '2020-02-01' ORDER BY id",
                "SELECT count(*), min(d), max(d) FROM big WHERE d BETWEEN DATE '2020-03-01' AND DATE '2020-03-31'"]:
        assert rows(get(c, sql), True) == rows(duck.sql(sql).to_arrow_table(), True), sql


# ---- errors ----

ERRORS = [  # (query, a part of Quiver's message that says what is wrong)
    ("SELECT DATE '2024-02-30'", "2024-02-30"), ("SELECT CAST(1 AS DATE)", "DATE"), ("SELECT d * 2 FROM dt", "DATE"),
    ("SELECT sum(d) FROM dt", "DATE"), ("SELECT make_date(2023, 2, 29)", "2023-2-29"),
    ("SELECT DATE '5881580-07-10' + 1", "range"), ("SELECT CAST('2024-01-02x' AS DATE)", "2024-01-02x"),
    ("SELECT d + d2 FROM dt", "DATE"), ("SELECT make_date(2024, 13, 1)", "range"),
    ("SELECT id FROM dt WHERE d = '2024-01-02x'", "2024-01-02x"),
]


@pytest.mark.parametrize("sql,part", ERRORS)
def test_errors_are_invalid_argument(dbs, sql, part):
    srv, c, duck = dbs
    with pytest.raises(duckdb.Error):
        duck.sql(sql).fetchall()
    with pytest.raises(INVALID) as e:
        get(c, sql)
    assert part in str(e.value), str(e.value)
    assert get(c, "SELECT count(*) AS n FROM dt").column("n").to_pylist() == [80]  # still serving


def test_timestamp_range_edges(dbs):
    """Inside 1677-09-22 .. 2262-04-11 a DATE is a TIMESTAMP as in DuckDB; outside it is a clear error."""
    _, c, _ = dbs
    same_as_duck(dbs, "SELECT CAST(DATE '1677-09-22' AS TIMESTAMP), CAST(DATE '2262-04-11' AS TIMESTAMP), "
                      "year(DATE '1677-09-22'), dayname(DATE '2262-04-11'), DATE '9999-12-31' - DATE '0001-01-01'")
    for d in ["1677-09-21", "2262-04-12"]:
        with pytest.raises(INVALID, match="TIMESTAMP range"):
            get(c, "SELECT CAST(DATE '%s' AS TIMESTAMP)" % d)


# ---- HTTP ----

def http_query(srv, sql, fmt=None):
    return requests.post(srv.http_url + "/", params={"format": fmt} if fmt else {}, data=sql.encode(), timeout=60)


def http_ingest(srv, table, body, ctype):
    return requests.post(srv.http_url + "/ingest", params={"table": table}, data=body,
                         headers={"Content-Type": ctype}, timeout=60)


def test_http_json_and_csv_output(dbs):
    srv, _, _ = dbs
    sql = "SELECT id, d FROM dt WHERE id IN (0, 1, 4) ORDER BY id"
    doc = http_query(srv, sql).json()
    assert doc["meta"] == [{"name": "id", "type": "INT64"}, {"name": "d", "type": "DATE"}]
    assert [r["d"] for r in doc["data"]] == ["2023-11-22", "1969-12-31", None]
    text = http_query(srv, sql, "CSVWithNames").text
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["id", "d"], ["0", "2023-11-22"], ["1", "1969-12-31"], ["4", ""]]
    assert http_query(srv, sql + " FORMAT JSONEachRow").text.splitlines()[1] == '{"id":1,"d":"1969-12-31"}'
    arrow = pa.ipc.open_stream(http_query(srv, sql, "Arrow").content).read_all()
    assert arrow.schema.field("d").type == pa.date32() and arrow.column("d").to_pylist() == [D(2023, 11, 22), D(1969, 12, 31), None]


def test_http_ingest_into_date_column(dbs):
    srv, c, _ = dbs
    get(c, "CREATE TABLE hd (k BIGINT, d DATE)")
    r = http_ingest(srv, "hd", b"k,d\n1,2024-01-02\n2,\n3,1960-02-29\n", "text/csv")
    assert r.status_code == 200, r.text
    r = http_ingest(srv, "hd", b'{"k": 4, "d": "2024-12-31"}\n{"k": 5, "d": null}\n', "application/x-ndjson")
    assert r.status_code == 200, r.text
    got = get(c, "SELECT k, d FROM hd ORDER BY k")
    assert got.schema.field("d").type == pa.date32()
    assert got.column("d").to_pylist() == [D(2024, 1, 2), None, D(1960, 2, 29), D(2024, 12, 31), None]


def test_http_csv_infers_date(dbs):
    srv, c, _ = dbs
    r = http_ingest(srv, "inf_d", b"k,a,b\n1,2024-01-02,2024-01-02\n2,1999-12-31,2024-01-03T04:05:06Z\n3,,\n", "text/csv")
    assert r.status_code == 200, r.text
    t = get(c, "SELECT a, b, typeof(a) AS ta, typeof(b) AS tb FROM inf_d ORDER BY k")
    assert t.schema.field("a").type == pa.date32()
    assert pa.types.is_timestamp(t.schema.field("b").type)
    assert t.column("a").to_pylist() == [D(2024, 1, 2), D(1999, 12, 31), None]
    assert t.column("ta").to_pylist()[0] == "DATE" and t.column("tb").to_pylist()[0].startswith("TIMESTAMP")


def test_http_bad_date_cell(dbs):
    srv, c, _ = dbs
    get(c, "CREATE TABLE bad_d (k BIGINT, d DATE)")
    for body in [b"k,d\n1,2024-01-02\n2,2024-02-30\n", b"k,d\n1,2024-01-02\n2,yesterday\n"]:
        r = http_ingest(srv, "bad_d", body, "text/csv")
        assert 400 <= r.status_code < 500, r.text
        assert "line 3" in r.json()["error"] and "'d'" in r.json()["error"], r.text
    assert get(c, "SELECT count(*) AS n FROM bad_d").column("n").to_pylist() == [0]


# ---- Flight SQL (ADBC) ----

def test_adbc_dates(dbs):
    srv, _, duck = dbs
    with flight_sql.connect(srv.flight_uri, autocommit=True) as cn:
        cur = cn.cursor()
        cur.execute("SELECT id, d FROM dt WHERE id < 6 ORDER BY id")
        tab = cur.fetch_arrow_table()
        assert tab.schema.field("d").type == pa.date32()
        cur.execute("SELECT id, d FROM dt WHERE id < 6 ORDER BY id")
        want_rows = duck.sql("SELECT id, d FROM dt WHERE id < 6 ORDER BY id").fetchall()
        assert cur.fetchall() == want_rows
        cur.execute("SELECT id FROM dt WHERE d = ? ORDER BY id", (D(2024, 2, 2),))
        want = duck.sql("SELECT id FROM dt WHERE d = DATE '2024-02-02' ORDER BY id").fetchall()
        assert want and cur.fetchall() == want
        cur.execute("SELECT id FROM dt WHERE d BETWEEN ? AND ? ORDER BY id", (D(1800, 1, 1), D(2000, 1, 1)))
        assert cur.fetchall() == [(1,), (2,)]
        df = pd.read_sql("SELECT id, d FROM dt WHERE id < 6 ORDER BY id", cn)
        assert df["d"].tolist() == [d for _, d in want_rows]
        assert pl.read_database("SELECT d FROM dt", cn).schema["d"] == pl.Date
        schema = cn.adbc_get_table_schema("dt")
        assert schema.field("d").type == pa.date32() and schema.field("d2").type == pa.date32()
        cur.close()


def test_adbc_date_parameters_insert_and_metadata(dbs):
    srv, _, _ = dbs
    with flight_sql.connect(srv.flight_uri, autocommit=True) as cn:
        cur = cn.cursor()
        cur.execute("CREATE TABLE pin (d DATE, k BIGINT)")
        cur.execute("INSERT INTO pin VALUES (?, ?)", (D(2024, 1, 2), 1))
        cur.executemany("INSERT INTO pin VALUES (?, ?)", [(None, 2), (D(1960, 2, 29), 3)])
        cur.execute("SELECT d, k FROM pin ORDER BY k")
        assert cur.fetchall() == [(D(2024, 1, 2), 1), (None, 2), (D(1960, 2, 29), 3)]
        cur.execute("SELECT k FROM pin WHERE d < ? ORDER BY k", (D(2000, 1, 1),))
        assert cur.fetchall() == [(3,)]
        objs = cn.adbc_get_objects(depth="columns", table_name_filter="pin").read_all().to_pylist()
        cols = [col for cat in objs for sch in cat["catalog_db_schemas"] for t in sch["db_schema_tables"]
                for col in t["table_columns"]]
        assert [(col["column_name"], col["xdbc_data_type"]) for col in cols] == [("d", 91), ("k", -5)]
        cur.close()


def test_xdbc_type_info_lists_date(dbs):
    import flightsql_wire as w
    _, c, _ = dbs
    info = c.get_flight_info(fl.FlightDescriptor.for_command(w.any_pack("CommandGetXdbcTypeInfo")))
    x = c.do_get(info.endpoints[0].ticket).read_all()
    row = [r for r in x.to_pylist() if r["type_name"] == "DATE"]
    assert len(row) == 1 and row[0]["data_type"] == 91, x.to_pylist()


# ---- durability ----

def test_dates_survive_restart(start_quiverd, tmp_path):
    data = str(tmp_path / "data")
    srv = start_quiverd("--data-dir", data)
    c = srv.flight()
    t = pa.table({"i": pa.array([1, 2, 3], pa.int64()), "d": pa.array([D(2024, 1, 2), None, D(1, 1, 1)], pa.date32())})
    put(c, "dur", t)
    get(c, "CREATE TABLE dur2 (d DATE)")
    get(c, "INSERT INTO dur2 VALUES ('1969-12-31')")
    c.close()
    assert srv.stop() == 0
    srv2 = start_quiverd("--data-dir", data)
    c = srv2.flight()
    got = get(c, "SELECT i, d, typeof(d) AS t FROM dur ORDER BY i")
    assert got.schema.field("d").type == pa.date32()
    assert got.column("d").to_pylist() == t.column("d").to_pylist()
    assert set(got.column("t").to_pylist()) == {"DATE"}
    assert get(c, "SELECT d FROM dur2").column("d").to_pylist() == [D(1969, 12, 31)]
    c.close()


def test_dates_survive_a_crash_over_row_groups(start_quiverd, tmp_path):
    data, rg = str(tmp_path / "data"), ("--rowgroup-rows", "1000")
    n = 3500
    days = [None if i % 13 == 0 else D(1990, 1, 1) + dt.timedelta(days=(i * 31) % 9000) for i in range(n)]
    t = pa.table({"i": pa.array(range(n), pa.int64()), "d": pa.array(days, pa.date32())})
    srv = start_quiverd("--data-dir", data, *rg)
    c = srv.flight()
    put(c, "crash", t)
    c.close()
    srv.kill()  # no clean shutdown: what was acknowledged must come back
    c = start_quiverd("--data-dir", data, *rg).flight()
    duck = duckdb.connect()
    duck.register("crash", t)
    for sql in ["SELECT i, d FROM crash WHERE d >= DATE '2010-01-01' ORDER BY i",
                "SELECT count(*), count(d), min(d), max(d), typeof(min(d)) FROM crash"]:
        assert rows(get(c, sql), True) == rows(duck.sql(sql).to_arrow_table(), True), sql
    c.close()
