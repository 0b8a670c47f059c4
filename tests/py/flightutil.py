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
