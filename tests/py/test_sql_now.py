"""now() / current_timestamp / get_current_timestamp(): the statement's start
time, one value for every row and every part of the statement, read anew
for each statement (through sql_tool, as the differential tests do).
DuckDB's now() is the same instant as a TIMESTAMP WITH TIME ZONE; Quiver
returns a TIMESTAMP whose field carries the time zone UTC."""
import datetime
import time



def parse_ts(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)


def test_now_is_the_statement_start(sqltool):
    q = sqltool
    before = datetime.datetime.now(datetime.timezone.utc)
    _, types, rows = q.run("SELECT now(), current_timestamp, get_current_timestamp()")
    after = datetime.datetime.now(datetime.timezone.utc)
    assert types == ["TIMESTAMP"] * 3
    a, b, c = (parse_ts(v) for v in rows[0])
    assert a == b == c
    # both clocks are read to the microsecond, truncated
    assert before <= a <= after, (before, a, after)


def test_now_is_one_value_per_statement(sqltool):
    q = sqltool
    _, _, rows = q.run("SELECT count(DISTINCT now()), count(DISTINCT current_timestamp), count(*) FROM range(200000)")
    assert rows == [(1, 1, 200000)]
    # subqueries and UNION branches are bound separately but share the statement's time
    _, _, rows = q.run("SELECT count(DISTINCT t) FROM (SELECT now() AS t FROM range(3) "
                       "UNION ALL SELECT (SELECT max(now()) FROM range(5)) FROM range(2))")
    assert rows == [(1,)]
    _, _, rows = q.run("SELECT now() = now(), now() = current_timestamp")
    assert rows == [(True, True)]


def test_now_moves_between_statements(sqltool):
    q = sqltool
    q.run("CREATE TABLE seen (t TIMESTAMP)")
    q.run("INSERT INTO seen SELECT now()")
    time.sleep(0.01)
    q.run("INSERT INTO seen SELECT now()")
    _, _, rows = q.run("SELECT count(DISTINCT t), max(t) > min(t), max(t) <= now() FROM seen")
    assert rows == [(2, True, True)]
