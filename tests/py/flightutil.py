"""The two Flight calls most SQL tests make: put a table, run a query."""
import pyarrow.flight as fl


def put(client, name, table):
    """DoPut `table` into `name` (created or appended), one stream."""
    wr, _ = client.do_put(fl.FlightDescriptor.for_path(name), table.schema)
    wr.write_table(table)
    wr.close()


def get(client, sql):
    """DoGet with `sql` as the ticket, the whole result as one table."""
    return client.do_get(fl.Ticket(sql)).read_all()


def same_as_duckdb(client, con, sql, rel=1e-9):
    """Run sql on quiverd (over Flight) and on DuckDB connection con: the same
    column names and, row by row, the same values (floats within rel). At
    least one row, so an empty answer on both sides does not pass."""
    ours = get(client, sql)
    theirs = con.sql(sql)
    assert ours.column_names == theirs.columns, sql
    rows = [tuple(r.values()) for r in ours.to_pylist()]
    expect = theirs.fetchall()
    assert len(rows) == len(expect) and len(rows) > 0, sql
    for a, b in zip(rows, expect):
        assert len(a) == len(b), (sql, a, b)
        for x, y in zip(a, b):
            assert x == y or (isinstance(x, float) and y is not None and abs(x - float(y)) <= rel * max(1.0, abs(x))), \
                (sql, a, b)
    return ours
