"""Spark reads Quiver in parallel: pyspark in local mode, its JDBC source over
the Arrow Flight SQL JDBC driver (the same 18.3.0 jar test_flight_sql_clients
fetches into ~/.m2), partitioned on the TIMESTAMP column ts
(partitionColumn/lowerBound/upperBound/numPartitions). Spark plans one query
per partition (`SELECT "id","ts",... FROM t WHERE "ts" >= '...' AND "ts" <
'...'`, the first and last open-ended, nulls in the first), after a `WHERE
1=0` schema probe; the row count and sums must equal DuckDB's on the same
data. One SparkSession, local[2], a small table. Skips only when Java is
missing (or pyspark is not installed), and says so."""
import datetime
import os
import shutil
import subprocess

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as fl
import pytest

from test_flight_sql_clients import JDBC_JAR, JDBC_VERSION

ROWS = 20_000
T0 = datetime.datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def spark():
    if shutil.which("java") is None:
        pytest.skip("Java not installed: the Spark JDBC test does not run")
    pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (requirements.txt pins it)")
    if not os.path.exists(JDBC_JAR):
        mvn = shutil.which("mvn")
        if mvn is None:
            pytest.skip("Maven not installed: cannot fetch the Flight SQL JDBC driver")
        r = subprocess.run([mvn, "-q", "dependency:get",
                            "-Dartifact=org.apache.arrow:flight-sql-jdbc-driver:%s" % JDBC_VERSION],
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stdout + r.stderr
    from pyspark.sql import SparkSession
    opens = "--add-opens=java.base/java.nio=ALL-UNNAMED"
    s = (SparkSession.builder.master("local[2]").appName("quiver-jdbc")
         .config("spark.jars", JDBC_JAR)
         .config("spark.driver.extraJavaOptions", opens)
         .config("spark.executor.extraJavaOptions", opens)
         .config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.shuffle.partitions", "2")
         .getOrCreate())
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def data():
    ids = pa.array(range(ROWS), type=pa.int64())
    ts = pa.array([T0 + datetime.timedelta(seconds=i) for i in range(ROWS)], type=pa.timestamp("us"))
    return pa.table({"id": ids, "ts": ts, "v": pc.multiply(pc.cast(ids, pa.float64()), 0.25),
                     "sym": pc.cast(pc.cast(pc.bit_wise_and(ids, 3), pa.int32()), pa.string())})


def test_spark_jdbc_partitioned_read(spark, start_quiverd):
    import duckdb
    from pyspark.sql import functions as F
    srv = start_quiverd("--in-memory")
    t = data()
    c = srv.flight()
    w, _ = c.do_put(fl.FlightDescriptor.for_path("sp"), t.schema)
    w.write_table(t)
    w.close()
    c.close()
    url = "jdbc:arrow-flight-sql://127.0.0.1:%d/?useEncryption=false" % srv.flight_port
    df = (spark.read.format("jdbc")
          .option("driver", "org.apache.arrow.driver.jdbc.ArrowFlightJdbcDriver")
          .option("url", url).option("dbtable", "sp")
          .option("partitionColumn", "ts")
          .option("lowerBound", "2026-01-01 00:00:00").option("upperBound", "2026-01-01 05:00:00")
          .option("numPartitions", "4")
          # The driver reports integers as unsigned without Flight SQL's IS_SIGNED
          # column metadata, which Spark maps to DECIMAL(20,0): name the type.
          .option("customSchema", "id BIGINT")
          .load())
    assert df.rdd.getNumPartitions() == 4
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == \
        [("id", "bigint"), ("ts", "timestamp"), ("v", "double"), ("sym", "string")]
    # One job: per Spark partition (one ts range each) its rows and sums.
    parts = (df.groupBy(F.spark_partition_id().alias("p"))
             .agg(F.count("*").alias("n"), F.sum("id").alias("s"), F.sum("v").alias("sv"),
                  F.min("ts").alias("lo"), F.max("ts").alias("hi")).collect())
    assert len(parts) == 4 and all(r["n"] > 0 for r in parts)  # every range read something
    con = duckdb.connect()
    con.register("sp", t)
    n, s, sv = con.execute("SELECT count(*), sum(id), sum(v) FROM sp").fetchone()
    assert sum(r["n"] for r in parts) == n and sum(r["s"] for r in parts) == s
    assert sum(r["sv"] for r in parts) == pytest.approx(sv, rel=1e-12)
    assert min(r["lo"] for r in parts) == T0 and max(r["hi"] for r in parts) == T0 + datetime.timedelta(seconds=ROWS - 1)
    # The ranges do not overlap: sorted by start, each ends before the next begins.
    spans = sorted((r["lo"], r["hi"]) for r in parts)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    # A filter Spark pushes into every partition's WHERE, then a group-by.
    got = {r["sym"]: (r["n"], r["sv"]) for r in df.filter("id % 7 = 3").groupBy("sym")
           .agg(F.count("*").alias("n"), F.sum("v").alias("sv")).collect()}
    want = con.execute("SELECT sym, count(*), sum(v) FROM sp WHERE id % 7 = 3 GROUP BY sym").fetchall()
    assert {k: (cnt, pytest.approx(x, rel=1e-12)) for k, cnt, x in want} == got
