// A second, independent Flight client (Apache Arrow's Go implementation)
// run against quiverd by tests/py/test_flight_interop.py, so the server's
// wire format is checked by something other than pyarrow.
//
// It writes a table with DoPut (every Quiver type, NULLs included), reads it
// back with DoGet and compares value by value, lists it with ListFlights,
// and reads a second table the Python side wrote. On success it prints one
// JSON line with what it saw; any mismatch exits 1 with a message.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "interop: "+format+"\n", args...)
	os.Exit(1)
}

func buildRecord(mem memory.Allocator, nrows int) arrow.Record {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < nrows; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		null := i%7 == 3
		if null {
			for c := 1; c < 7; c++ {
				b.Field(c).AppendNull()
			}
			continue
		}
		b.Field(1).(*array.Int32Builder).Append(int32(i * 3))
		b.Field(2).(*array.Float64Builder).Append(float64(i) * 0.5)
		b.Field(3).(*array.Float32Builder).Append(float32(i) / 4)
		b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
		b.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("name-%d-é", i))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(int64(1700000000000000000) + int64(i)*1000003))
	}
	return b.NewRecord()
}

func readAll(ctx context.Context, c flight.Client, sql string) ([]arrow.Record, *arrow.Schema) {
	stream, err := c.DoGet(ctx, &flight.Ticket{Ticket: []byte(sql)})
	if err != nil {
		fail("DoGet %q: %v", sql, err)
	}
	rdr, err := flight.NewRecordReader(stream)
	if err != nil {
		fail("DoGet %q: reading schema: %v", sql, err)
	}
	defer rdr.Release()
	var recs []arrow.Record
	for rdr.Next() {
		r := rdr.Record()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rdr.Err(); err != nil && err != io.EOF {
		fail("DoGet %q: %v", sql, err)
	}
	return recs, rdr.Schema()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8815", "quiverd Flight address")
	table := flag.String("table", "interop_go", "table the Go client writes")
	rows := flag.Int("rows", 5000, "rows to write")
	pyTable := flag.String("py-table", "", "a table written by pyarrow to read back (optional)")
	garbage := flag.Bool("garbage", false, "send malformed messages instead and print the statuses")
	flag.Parse()
	if *garbage {
		out, _ := json.Marshal(runRaw(*addr, garbageCases(*table)))
		fmt.Println(string(out))
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, err := flight.NewClientWithMiddlewareCtx(ctx, *addr, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("connect %s: %v", *addr, err)
	}
	defer c.Close()
	mem := memory.NewGoAllocator()

	// DoPut: two batches, then half-close and wait for the status.
	rec := buildRecord(mem, *rows)
	defer rec.Release()
	put, err := c.DoPut(ctx)
	if err != nil {
		fail("DoPut: %v", err)
	}
	w := flight.NewRecordWriter(put, ipc.WithSchema(rec.Schema()))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{*table}})
	half := int64(*rows / 2)
	for _, part := range []arrow.Record{rec.NewSlice(0, half), rec.NewSlice(half, int64(*rows))} {
		if err := w.Write(part); err != nil {
			fail("DoPut write: %v", err)
		}
		part.Release()
	}
	if err := w.Close(); err != nil {
		fail("DoPut close: %v", err)
	}
	if err := put.CloseSend(); err != nil {
		fail("DoPut CloseSend: %v", err)
	}
	acks := 0
	for {
		res, err := put.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("DoPut result: %v", err)
		}
		var md struct {
			Rows       *int64 `json:"rows"`
			StreamRows *int64 `json:"stream_rows"`
		}
		if err := json.Unmarshal(res.AppMetadata, &md); err != nil {
			fail("PutResult app_metadata %q is not JSON: %v", res.AppMetadata, err)
		}
		switch {
		case md.Rows != nil:
			acks++
		case md.StreamRows != nil: // the end-of-stream summary
			if *md.StreamRows != int64(*rows) {
				fail("end-of-stream summary says %d rows, sent %d", *md.StreamRows, *rows)
			}
		default:
			fail("PutResult app_metadata %q has neither rows nor stream_rows", res.AppMetadata)
		}
	}

	// DoGet it back and compare every value.
	recs, schema := readAll(ctx, c, "SELECT * FROM "+*table+" ORDER BY id")
	got := int64(0)
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			row := got + int64(i)
			for col := 0; col < int(rec.NumCols()); col++ {
				want := rec.Column(col)
				idx := schema.FieldIndices(rec.Schema().Field(col).Name)
				if len(idx) != 1 {
					fail("DoGet: column %s missing from %s", rec.Schema().Field(col).Name, schema)
				}
				have := r.Column(idx[0])
				if want.IsNull(int(row)) != have.IsNull(i) {
					fail("row %d column %s: null mismatch", row, rec.Schema().Field(col).Name)
				}
				if !want.IsNull(int(row)) && want.ValueStr(int(row)) != have.ValueStr(i) {
					fail("row %d column %s: wrote %s, read %s", row, rec.Schema().Field(col).Name,
						want.ValueStr(int(row)), have.ValueStr(i))
				}
			}
		}
		got += r.NumRows()
		r.Release()
	}
	if got != int64(*rows) {
		fail("DoGet returned %d rows, wrote %d", got, *rows)
	}

	// ListFlights must show the table with its row count.
	lf, err := c.ListFlights(ctx, &flight.Criteria{Expression: []byte(*table)})
	if err != nil {
		fail("ListFlights: %v", err)
	}
	listed := int64(-2)
	for {
		info, err := lf.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail("ListFlights: %v", err)
		}
		if len(info.FlightDescriptor.Path) == 1 && info.FlightDescriptor.Path[0] == *table {
			listed = info.TotalRecords
			if _, err := flight.DeserializeSchema(info.Schema, mem); err != nil {
				fail("ListFlights schema of %s does not parse: %v", *table, err)
			}
		}
	}
	if listed != int64(*rows) {
		fail("ListFlights: %s has total_records %d, want %d", *table, listed, *rows)
	}

	// A table pyarrow wrote, read by Go: the sum of its int64 column "v".
	pySum := int64(0)
	pyRows := int64(0)
	if *pyTable != "" {
		recs, _ := readAll(ctx, c, "SELECT v FROM "+*pyTable)
		for _, r := range recs {
			col := r.Column(0).(*array.Int64)
			for i := 0; i < col.Len(); i++ {
				pySum += col.Value(i)
			}
			pyRows += r.NumRows()
			r.Release()
		}
	}

	out, _ := json.Marshal(map[string]any{
		"rows_written": *rows, "rows_read": got, "batches_read": len(recs), "put_acks": acks,
		"listed_rows": listed, "py_rows": pyRows, "py_sum": pySum,
	})
	fmt.Println(string(out))
}
