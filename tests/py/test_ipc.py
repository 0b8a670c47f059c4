"""Arrow IPC codec round trips against pyarrow.

pyarrow writes a stream -> ipc_tool (built from src/ipc) decodes it into
Quiver batches and re-encodes it -> pyarrow reads it back, and the result
must equal what was written (values bit for bit, schema including field
nullability and timezone), or the expected widened table, or the tool must
refuse with a message naming the column and the type.
"""
import decimal
import os
import subprocess

import numpy as np
import pyarrow as pa
import pytest

import conftest

TOOL = os.path.join(os.path.dirname(conftest.QUIVERD), "ipc_tool")
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden")

COMPRESSIONS = [None, "lz4", "zstd"]


def write_stream(schema, batches, compression=None, **opts):
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression, **opts)
    with pa.ipc.new_stream(sink, schema, options=options) as w:
        for b in batches:
            w.write_batch(b)
    return sink.getvalue().to_pybytes()


def run_tool(data, *args):
    assert os.path.exists(TOOL), "ipc_tool not built at %s (cmake --build <dir> --target ipc_tool)" % TOOL
    return subprocess.run([TOOL, *args], input=data, capture_output=True, timeout=120)


def through_tool(data, *args):
    p = run_tool(data, *args)
    assert p.returncode == 0, p.stderr.decode()
    return pa.ipc.open_stream(p.stdout).read_all(), p.stdout


def bits(col):
    """A column as comparable raw values: floats by their bit patterns."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_float64(col.type):
        return col.view(pa.int64()).to_pylist()
    if pa.types.is_float32(col.type):
        return col.view(pa.int32()).to_pylist()
    return col.to_pylist()


def assert_same(got, want):
    assert got.schema.equals(want.schema, check_metadata=True), "%s\n!=\n%s" % (got.schema, want.schema)
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        g, w = got.column(name), want.column(name)
        if not pa.types.is_floating(w.type):  # NaN != NaN in equals(); floats compare by bits
            assert g.equals(w), name
        assert bits(g) == bits(w), name


def quiver_types_table(n=1000):
    long = "ü" * 40000  # 80 KB of utf8 in one value
    rows = range(n)
    schema = pa.schema([
        pa.field("i32", pa.int32()), pa.field("i64", pa.int64()), pa.field("f32", pa.float32()),
        pa.field("f64", pa.float64()), pa.field("b", pa.bool_()), pa.field("s", pa.string()),
        pa.field("ts", pa.timestamp("ns", "UTC")), pa.field("ts_naive", pa.timestamp("ns")),
        pa.field("ts_tz", pa.timestamp("ns", "America/New_York")),
        pa.field("req", pa.int64(), nullable=False), pa.field("dec", pa.decimal128(18, 4))])
    return pa.table([
        pa.array([None if i % 7 == 1 else i * 31 - 2**31 + 5 for i in rows], pa.int32()),
        pa.array([None if i % 5 == 2 else (i << 40) - 2**63 + 1 for i in rows], pa.int64()),
        pa.array([None if i % 3 == 0 else (float("nan") if i == 4 else -0.0 if i == 5 else i / 8) for i in rows],
                 pa.float32()),
        pa.array([None if i % 11 == 3 else (float("-inf") if i == 7 else i * 1.1e300 / n) for i in rows],
                 pa.float64()),
        pa.array([None if i % 4 == 3 else i % 3 == 0 for i in rows], pa.bool_()),
        pa.array([None if i % 6 == 5 else (long if i == 10 else "s%d" % i * (i % 4)) for i in rows], pa.string()),
        pa.array([None if i % 9 == 8 else 1_700_000_000_000_000_000 + i * 999 for i in rows], pa.timestamp("ns", "UTC")),
        pa.array([None if i % 2 else -i for i in rows], pa.timestamp("ns")),
        pa.array([i for i in rows], pa.timestamp("ns", "America/New_York")),
        pa.array([i * 3 for i in rows], pa.int64()),
        pa.array([None if i % 8 == 6 else decimal.Decimal((i - 500) * 10**13 + i).scaleb(-4) for i in rows],
                 pa.decimal128(18, 4)),
    ], schema=schema)


@pytest.mark.parametrize("src_comp", COMPRESSIONS)
@pytest.mark.parametrize("out_comp", COMPRESSIONS)
def test_every_type_round_trips(src_comp, out_comp):
    t = quiver_types_table()
    data = write_stream(t.schema, t.to_batches(max_chunksize=300), compression=src_comp)
    args = ["--compress", out_comp] if out_comp else []
    got, _ = through_tool(data, *args)
    assert_same(got, t)


def test_compression_shrinks_output():
    t = pa.table({"x": pa.array([i // 100 for i in range(100000)], pa.int64()),
                  "s": pa.array(["same string"] * 100000)})
    data = write_stream(t.schema, t.to_batches())
    _, plain = through_tool(data)
    for codec in ("lz4", "zstd"):
        got, packed = through_tool(data, "--compress", codec)
        assert len(packed) < len(plain) / 5, codec
        assert_same(got, t)


def test_incompressible_buffers_are_sent_raw():
    import random
    rnd = random.Random(7)
    t = pa.table({"x": pa.array([rnd.getrandbits(63) for _ in range(5000)], pa.int64())})
    got, out = through_tool(write_stream(t.schema, t.to_batches()), "--compress", "zstd")
    assert_same(got, t)
    assert len(out) < 5000 * 8 + 1000  # raw (-1 length prefix) rather than a larger frame


def test_sliced_arrays():
    t = quiver_types_table(200)
    for off, length in [(3, 50), (13, 187), (64, 9), (199, 1), (5, 0)]:
        s = t.slice(off, length)
        data = write_stream(s.schema, s.to_batches())
        got, _ = through_tool(data, "--compress", "lz4")
        assert_same(got, s)
        # batches sliced on the pyarrow side without re-materialising
        rb = t.to_batches()[0].slice(off, length)
        got, _ = through_tool(write_stream(t.schema, [rb]))
        assert_same(got, pa.Table.from_batches([rb]))


def test_empty_batches_and_zero_row_tables():
    t = quiver_types_table(10)
    empty = t.slice(0, 0).combine_chunks()
    batches = [t.to_batches()[0].slice(0, 0), t.to_batches()[0], t.to_batches()[0].slice(0, 0)]
    for comp in COMPRESSIONS:
        got, _ = through_tool(write_stream(t.schema, batches, compression=comp))
        assert_same(got, t)
    got, out = through_tool(write_stream(t.schema, []))  # schema only, no batch at all
    assert_same(got, empty)
    reader = pa.ipc.open_stream(out)
    assert reader.schema.equals(t.schema)


def test_non_nullable_field_with_nulls_is_refused():
    schema = pa.schema([pa.field("x", pa.int32(), nullable=False)])
    rb = pa.RecordBatch.from_arrays([pa.array([1, None], pa.int32())], schema=schema)
    p = run_tool(write_stream(schema, [rb]))
    assert p.returncode == 2
    assert b"column x" in p.stderr and b"not nullable" in p.stderr


def test_every_float16_widens_exactly():
    halves = np.arange(65536, dtype=np.uint16).view(np.float16)
    src = pa.table({"h": pa.array(halves, pa.float16())})
    got, _ = through_tool(write_stream(src.schema, src.to_batches()))
    vals = got.column("h").to_numpy()
    want = halves.astype(np.float32)
    assert got.schema.field("h").type == pa.float32()
    nan = np.isnan(want)
    assert nan.sum() == 2046 and np.array_equal(np.isnan(vals), nan)
    assert np.array_equal(vals[~nan].view(np.uint32), want[~nan].view(np.uint32))  # -0.0 kept too


def test_widening_is_lossless():
    src = pa.table({
        "i8": pa.array([-128, None, 127], pa.int8()),
        "i16": pa.array([-32768, 1, None], pa.int16()),
        "u8": pa.array([255, None, 0], pa.uint8()),
        "u16": pa.array([65535, 0, None], pa.uint16()),
        "u32": pa.array([2**32 - 1, None, 0], pa.uint32()),
        "u64": pa.array([2**63 - 1, 0, None], pa.uint64()),
        "ls": pa.array(["a" * 1000, None, ""], pa.large_string()),
        "sv": pa.array(["tiny", "longer than twelve bytes", None], pa.string_view()),
        "d32": pa.array([0, -36500, None], pa.date32()),
        "d64": pa.array([86_400_000, None, -86_400_000 * 365], pa.date64()),
        "t_s": pa.array([1, -2, None], pa.timestamp("s", "UTC")),
        "t_ms": pa.array([1, None, 3], pa.timestamp("ms", "Europe/Berlin")),
        "t_us": pa.array([None, 1, -7], pa.timestamp("us")),
        "f16": pa.array(np.array([1.5, -0.0, 65504], dtype=np.float16), pa.float16()),
        # more than 18 digits declared: DECIMAL(18, s) when every value fits
        "dec38": pa.array([decimal.Decimal("-999999999999999.999"), None, decimal.Decimal("0.001")],
                          pa.decimal128(38, 3)),
        "dec64": pa.array([decimal.Decimal("-1.5"), None, decimal.Decimal("12345678.9")], pa.decimal64(9, 1)),
        "dec32": pa.array([decimal.Decimal("0.05"), decimal.Decimal("-0.99"), None], pa.decimal32(2, 2)),
    })
    want_types = {"i8": pa.int32(), "i16": pa.int32(), "u8": pa.int32(), "u16": pa.int32(),
                  "u32": pa.int64(), "u64": pa.int64(), "ls": pa.string(), "sv": pa.string(),
                  "d32": pa.date32(), "d64": pa.date32(),
                  "t_s": pa.timestamp("ns", "UTC"), "t_ms": pa.timestamp("ns", "Europe/Berlin"),
                  "t_us": pa.timestamp("ns"), "f16": pa.float32(),
                  "dec38": pa.decimal128(18, 3), "dec64": pa.decimal128(9, 1), "dec32": pa.decimal128(2, 2)}
    want = pa.table({name: src.column(name).cast(typ) for name, typ in want_types.items()})
    for comp in COMPRESSIONS:
        got, _ = through_tool(write_stream(src.schema, src.to_batches(), compression=comp))
        assert_same(got, want)


@pytest.mark.parametrize("arr,words", [
    (pa.array([2**63], pa.uint64()), [b"uint64", b"does not fit"]),
    (pa.array([2**62], pa.timestamp("s")), [b"overflows"]),
    (pa.array([2**62], pa.timestamp("ms")), [b"overflows"]),
    (pa.array([-(2**62)], pa.timestamp("us")), [b"overflows"]),
    (pa.array([2**62], pa.date64()), [b"date64", b"outside the DATE range"]),
    (pa.array([[1, 2]], pa.list_(pa.int32())), [b"list", b"not supported"]),
    (pa.array([b"\xff"], pa.binary()), [b"UTF-8"]),          # binary lands as STRING only when UTF-8
    (pa.array([b"ok", b"\xfe"], pa.large_binary()), [b"UTF-8"]),
    (pa.array([1], pa.decimal256(10, 2)), [b"decimal256", b"not supported"]),
    (pa.array([1, 10**19], pa.decimal128(38, 0)), [b"row 1", b"does not fit DECIMAL(18,0)"]),
    (pa.array([decimal.Decimal(-10**18)], pa.decimal128(19, 0)), [b"row 0", b"does not fit DECIMAL(18,0)"]),
    (pa.array([decimal.Decimal(1)], pa.decimal128(30, 20)), [b"scale 20", b"not supported"]),
    (pa.array([decimal.Decimal(100)], pa.decimal128(5, -2)), [b"scale -2", b"not supported"]),
    (pa.array([{"a": 1}]), [b"struct", b"not supported"]),
    (pa.array([2**62], pa.duration("s")), [b"duration", b"overflows a nanosecond duration"]),
    (pa.array([1], pa.int32()).dictionary_encode(), [b"dictionary<int32>", b"not supported"]),
])
def test_refusals_name_column_and_type(arr, words):
    schema = pa.schema([pa.field("bad_col", arr.type)])
    data = write_stream(schema, [pa.RecordBatch.from_arrays([arr], schema=schema)])
    p = run_tool(data)
    assert p.returncode == 2, p.stdout
    assert b"column bad_col" in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr, p.stderr


def dict_batches(index_type=pa.int8()):
    schema = pa.schema([pa.field("sym", pa.dictionary(index_type, pa.string())), pa.field("v", pa.int64())])
    def rb(idx, words, vals):
        return pa.RecordBatch.from_arrays(
            [pa.DictionaryArray.from_arrays(pa.array(idx, index_type), pa.array(words)), pa.array(vals, pa.int64())],
            schema=schema)
    return schema, [rb([0, 1, None, 0], ["AAPL", "MSFT"], [1, 2, 3, 4]),
                    rb([2, 2, 1], ["AAPL", "MSFT", "GOOG"], [5, 6, 7]),        # delta
                    rb([0, None], ["ZZZ"], [8, 9]),                            # replacement
                    rb([], ["ZZZ"], [])]


@pytest.mark.parametrize("comp", COMPRESSIONS)
@pytest.mark.parametrize("index_type", [pa.int8(), pa.uint16(), pa.int32(), pa.int64()])
def test_dictionaries_land_as_strings_or_symbols(comp, index_type):
    schema, batches = dict_batches(index_type)
    values = ["AAPL", "MSFT", None, "AAPL", "GOOG", "GOOG", "MSFT", "ZZZ", None]
    # pyarrow's file-less stream: delta for batch 2 if asked, replacement for batch 3
    data = write_stream(schema, batches, compression=comp, emit_dictionary_deltas=True)
    got, _ = through_tool(data)
    assert got.schema.field("sym").type == pa.string()
    assert got.column("sym").to_pylist() == values
    assert got.column("v").to_pylist() == list(range(1, 10))
    args = ["--dict-as-symbol", "--symbol-dict"] + (["--compress", comp] if comp else [])
    got, _ = through_tool(data, *args)
    assert got.schema.field("sym").type == pa.dictionary(pa.int32(), pa.string())
    assert got.column("sym").to_pylist() == values
    # SYMBOL without --symbol-dict goes out as plain utf8
    got, _ = through_tool(data, "--dict-as-symbol")
    assert got.schema.field("sym").type == pa.string()
    assert got.column("sym").to_pylist() == values


def test_symbol_dictionary_round_trip_is_exact():
    schema = pa.schema([pa.field("sym", pa.dictionary(pa.int32(), pa.string()), nullable=False)])
    d = pa.array(["b", "a", "c"])
    rbs = [pa.RecordBatch.from_arrays([pa.DictionaryArray.from_arrays(pa.array([0, 2, 1], pa.int32()), d)],
                                      schema=schema)] * 3
    data = write_stream(schema, rbs)
    got, out = through_tool(data, "--dict-as-symbol", "--symbol-dict")
    assert_same(got, pa.Table.from_batches(rbs))
    # the unchanged dictionary is sent once, not per batch
    reader = pa.ipc.open_stream(out)
    for _ in reader:
        pass
    assert reader.stats.num_dictionary_batches == 1
    assert reader.stats.num_dictionary_deltas == 0


def test_dictionary_index_out_of_range_is_refused():
    schema = pa.schema([pa.field("sym", pa.dictionary(pa.int8(), pa.string()))])
    good = write_stream(schema, [pa.RecordBatch.from_arrays(
        [pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int8()), pa.array(["a", "b"]))], schema=schema)])
    # patch the second index (value 1) to 9 inside the record batch body
    pos = good.rfind(bytes([0, 1]))
    assert pos > 0
    bad = good[:pos + 1] + bytes([9]) + good[pos + 2:]
    p = run_tool(bad)
    assert p.returncode == 2
    assert b"column sym" in p.stderr and b"dictionary index" in p.stderr


def test_garbage_is_refused_not_crashed():
    t = quiver_types_table(20)
    good = write_stream(t.schema, t.to_batches(), compression="lz4")
    for cut in range(0, len(good), 97):
        p = run_tool(good[:cut])
        assert p.returncode in (0, 2), p.stderr
        if p.returncode:
            assert p.stderr.startswith(b"ipc_tool: ")
    p = run_tool(b"\xff\xff\xff\xff\x10\x00\x00\x00" + b"\x01" * 16)
    assert p.returncode == 2
    assert b"DATA_LOSS" in p.stderr and b"Message" in p.stderr and b"outside" in p.stderr, p.stderr


# ---- golden files written by pyarrow (tests/golden/gen_golden.py) ----

def read_golden(name):
    with open(os.path.join(GOLDEN, name), "rb") as f:
        return f.read()


@pytest.mark.parametrize("name", ["plain.arrows", "plain_lz4.arrows", "plain_zstd.arrows",
                                  "empty.arrows", "zero_rows.arrows"])
def test_golden_plain(name):
    data = read_golden(name)
    want = pa.ipc.open_stream(data).read_all()
    got, _ = through_tool(data)
    assert_same(got, want)
    if name.startswith("plain"):
        assert want.num_rows == 4 and want.schema.field("nn").nullable is False


def test_golden_widen_and_dict():
    data = read_golden("widen.arrows")
    src = pa.ipc.open_stream(data).read_all()
    got, _ = through_tool(data)
    assert got.column_names == src.column_names
    for name in src.column_names:
        assert got.column(name).to_pylist() == src.column(name).to_pylist() or \
            got.column(name).to_pylist() == src.column(name).cast(got.schema.field(name).type).to_pylist(), name
    data = read_golden("dict_delta.arrows")
    got, _ = through_tool(data, "--dict-as-symbol", "--symbol-dict")
    assert got.column("sym").to_pylist() == ["AAPL", "MSFT", None, "AAPL", "GOOG", "MSFT"]


@pytest.mark.parametrize("name,word", [("refuse_uint64.arrows", b"uint64"), ("refuse_list.arrows", b"list")])
def test_golden_refusals(name, word):
    p = run_tool(read_golden(name))
    assert p.returncode == 2 and word in p.stderr


def test_invalid_utf8_is_refused():
    bad = pa.array([b"ok", b"\xff\xfe"], pa.binary()).view(pa.string())
    schema = pa.schema([pa.field("txt", pa.string())])
    p = run_tool(write_stream(schema, [pa.RecordBatch.from_arrays([bad], schema=schema)]))
    assert p.returncode == 2
    assert b"column txt" in p.stderr and b"UTF-8" in p.stderr and b"row 1" in p.stderr, p.stderr


@pytest.mark.parametrize("value_type", [pa.large_string(), pa.string_view()])
def test_dictionaries_of_large_and_view_strings(value_type):
    schema = pa.schema([pa.field("d", pa.dictionary(pa.int32(), value_type))])
    words = pa.array(["a", "a value longer than twelve bytes", None], value_type)
    rb = pa.RecordBatch.from_arrays(
        [pa.DictionaryArray.from_arrays(pa.array([1, 0, None, 2], pa.int32()), words)], schema=schema)
    want = ["a value longer than twelve bytes", "a", None, None]
    got, _ = through_tool(write_stream(schema, [rb]))
    assert got.schema.field("d").type == pa.string() and got.column("d").to_pylist() == want
    got, _ = through_tool(write_stream(schema, [rb]), "--dict-as-symbol", "--symbol-dict")
    assert got.schema.field("d").type == pa.dictionary(pa.int32(), pa.string())
    assert got.column("d").to_pylist() == want


def test_schema_message_alone():
    """FlightInfo.schema style: one framed Schema message, both directions."""
    schema = pa.schema([pa.field("ts", pa.timestamp("ns", "UTC"), nullable=False), pa.field("x", pa.float64()),
                        pa.field("s", pa.string()), pa.field("b", pa.bool_()), pa.field("i", pa.int32()),
                        pa.field("sym", pa.dictionary(pa.int32(), pa.string()))])
    p = run_tool(schema.serialize().to_pybytes(), "--schema")
    assert p.returncode == 0, p.stderr
    got = pa.ipc.read_schema(pa.py_buffer(p.stdout))
    assert got.equals(schema.set(5, pa.field("sym", pa.string())))
    p = run_tool(schema.serialize().to_pybytes(), "--schema", "--symbol-dict")
    assert p.returncode == 0, p.stderr
    assert pa.ipc.read_schema(pa.py_buffer(p.stdout)).field("sym").type == pa.string()  # STRING, not SYMBOL
    p = run_tool(schema.serialize().to_pybytes()[:-12], "--schema")
    assert p.returncode == 2 and b"DATA_LOSS" in p.stderr


@pytest.mark.parametrize("value_type", [pa.binary(), pa.large_binary()])
def test_binary_dictionaries_land_as_strings(value_type):
    # The dictionary batch of a binary dictionary is decoded with the string
    # layout; before, it was taken for a fixed-width column and divided by a
    # zero width (found by fuzz_ipc).
    schema = pa.schema([pa.field("sym", pa.dictionary(pa.int32(), value_type))])
    arr = pa.DictionaryArray.from_arrays(pa.array([1, 0, None, 1], pa.int32()), pa.array([b"x", b"yz"], value_type))
    data = write_stream(schema, [pa.RecordBatch.from_arrays([arr], schema=schema)])
    got, _ = through_tool(data)
    assert got.schema.field("sym").type == pa.string()
    assert got.column("sym").to_pylist() == ["yz", "x", None, "yz"]
    bad = pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array([b"\xff"], value_type))
    p = run_tool(write_stream(schema, [pa.RecordBatch.from_arrays([bad], schema=schema)]))
    assert p.returncode == 2 and b"UTF-8" in p.stderr, p.stderr
