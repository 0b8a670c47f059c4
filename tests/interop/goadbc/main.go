// The Go ADBC Flight SQL driver (apache/arrow-adbc, driver/flightsql) run
// against quiverd by tests/py/test_flight_sql_clients.py: a second Flight
// SQL client beside the Python one. It creates a table, binds parameters,
// ingests a record batch, queries it back, reads metadata, and prints one
// JSON line with what it saw; any error exits 1 with a message.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goadbc: "+format+"\n", args...)
	os.Exit(1)
}

func check(err error, what string) {
	if err != nil {
		fail("%s: %v", what, err)
	}
}

// run executes a query and returns its rows as strings plus the schema.
func run(ctx context.Context, cn adbc.Connection, sql string) (*arrow.Schema, [][]string) {
	st, err := cn.NewStatement()
	check(err, "NewStatement")
	defer st.Close()
	check(st.SetSqlQuery(sql), "SetSqlQuery")
	rdr, _, err := st.ExecuteQuery(ctx)
	check(err, "ExecuteQuery "+sql)
	defer rdr.Release()
	var rows [][]string
	for rdr.Next() {
		rec := rdr.Record()
		for r := 0; r < int(rec.NumRows()); r++ {
			var row []string
			for c := 0; c < int(rec.NumCols()); c++ {
				row = append(row, rec.Column(c).ValueStr(r))
			}
			rows = append(rows, row)
		}
	}
	check(rdr.Err(), "reading "+sql)
	return rdr.Schema(), rows
}

func update(ctx context.Context, cn adbc.Connection, sql string) int64 {
	st, err := cn.NewStatement()
	check(err, "NewStatement")
	defer st.Close()
	check(st.SetSqlQuery(sql), "SetSqlQuery")
	n, err := st.ExecuteUpdate(ctx)
	check(err, "ExecuteUpdate "+sql)
	return n
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8815", "quiverd Flight address")
	table := flag.String("table", "go_adbc", "table to create")
	flag.Parse()
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	db, err := flightsql.NewDriver(mem).NewDatabase(map[string]string{adbc.OptionKeyURI: "grpc://" + *addr})
	check(err, "NewDatabase")
	defer db.Close()
	cn, err := db.Open(ctx)
	check(err, "Open")
	defer cn.Close()
	out := map[string]any{}

	out["created"] = update(ctx, cn, fmt.Sprintf("CREATE TABLE %s (id BIGINT, name VARCHAR, v DOUBLE)", *table))
	out["inserted"] = update(ctx, cn, fmt.Sprintf("INSERT INTO %s VALUES (1, 'one', 0.5), (2, 'two', 1.5)", *table))

	// prepared statement with a parameter batch: one row per execution
	st, err := cn.NewStatement()
	check(err, "NewStatement")
	check(st.SetSqlQuery(fmt.Sprintf("INSERT INTO %s VALUES (?, ?, ?)", *table)), "SetSqlQuery")
	check(st.Prepare(ctx), "Prepare")
	ps := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "c", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	rb := array.NewRecordBuilder(mem, ps)
	rb.Field(0).(*array.Int64Builder).AppendValues([]int64{3, 4, 5}, nil)
	rb.Field(1).(*array.StringBuilder).AppendValues([]string{"three", "four", "five"}, nil)
	rb.Field(2).(*array.Float64Builder).AppendValues([]float64{2.5, 3.5, 4.5}, nil)
	params := rb.NewRecord()
	check(st.Bind(ctx, params), "Bind")
	n, err := st.ExecuteUpdate(ctx)
	check(err, "ExecuteUpdate (prepared)")
	out["bound_inserted"] = n
	params.Release()
	st.Close()

	// bulk ingest into a new table
	ing, err := cn.NewStatement()
	check(err, "NewStatement")
	check(ing.SetOption(adbc.OptionKeyIngestTargetTable, *table+"_ing"), "ingest target")
	check(ing.SetOption(adbc.OptionKeyIngestMode, adbc.OptionValueIngestModeCreate), "ingest mode")
	ib := array.NewRecordBuilder(mem, ps)
	ib.Field(0).(*array.Int64Builder).AppendValues([]int64{10, 11}, nil)
	ib.Field(1).(*array.StringBuilder).AppendValues([]string{"x", "y"}, []bool{true, false})
	ib.Field(2).(*array.Float64Builder).AppendValues([]float64{1, 2}, nil)
	irec := ib.NewRecord()
	check(ing.Bind(ctx, irec), "Bind ingest")
	n, err = ing.ExecuteUpdate(ctx)
	check(err, "ingest")
	out["ingested"] = n
	ing.Close()

	_, rows := run(ctx, cn, fmt.Sprintf("SELECT id, name FROM %s ORDER BY id", *table))
	out["rows"] = rows
	_, rows = run(ctx, cn, fmt.Sprintf("SELECT count(*) FROM %s_ing WHERE b IS NULL", *table))
	out["ing_nulls"] = rows[0][0]

	sch, err := cn.GetTableSchema(ctx, nil, nil, *table)
	check(err, "GetTableSchema")
	var cols []string
	for _, f := range sch.Fields() {
		cols = append(cols, f.Name+":"+f.Type.String())
	}
	out["schema"] = cols
	tt, err := cn.GetTableTypes(ctx)
	check(err, "GetTableTypes")
	for tt.Next() {
		out["table_types"] = tt.Record().Column(0).ValueStr(0)
	}
	tt.Release()
	obj, err := cn.GetObjects(ctx, adbc.ObjectDepthTables, nil, nil, table, nil, nil)
	check(err, "GetObjects")
	nobj := 0
	for obj.Next() {
		nobj += int(obj.Record().NumRows())
	}
	obj.Release()
	out["catalogs"] = nobj
	info, err := cn.GetInfo(ctx, []adbc.InfoCode{adbc.InfoVendorName})
	check(err, "GetInfo")
	for info.Next() {
		u := info.Record().Column(1).(*array.DenseUnion)
		out["vendor"] = u.Field(u.ChildID(0)).ValueStr(int(u.ValueOffset(0)))
	}
	info.Release()

	enc, _ := json.Marshal(out)
	fmt.Println(string(enc))
}
