"""Writes the golden Arrow IPC stream files in this directory with pyarrow.

Run from the repo root: .venv/bin/python tests/golden/gen_golden.py
The files are checked in; tests/c/ipc/test_ipc.c and tests/py/test_ipc.py
decode them and check the values listed here (keep them in sync).
"""
import os

import pyarrow as pa

HERE = os.path.dirname(os.path.abspath(__file__))


def plain_table():
    return pa.table({
        "i32": pa.array([1, None, -3, 2**31 - 1], pa.int32()),
        "i64": pa.array([None, 2**40, -(2**63), 7], pa.int64()),
        "f32": pa.array([1.5, 2.25, None, -0.0], pa.float32()),
        "f64": pa.array([3.125, None, 1e300, -2.5], pa.float64()),
        "b": pa.array([True, False, None, True], pa.bool_()),
        "s": pa.array(["alpha", None, "", "x" * 100], pa.string()),
        "ts": pa.array([0, 1_700_000_000_123_456_789, None, -1], pa.timestamp("ns", "UTC")),
        "nn": pa.array([10, 20, 30, 40], pa.int64()),
    }, schema=pa.schema([
        pa.field("i32", pa.int32()), pa.field("i64", pa.int64()), pa.field("f32", pa.float32()),
        pa.field("f64", pa.float64()), pa.field("b", pa.bool_()), pa.field("s", pa.string()),
        pa.field("ts", pa.timestamp("ns", "UTC")), pa.field("nn", pa.int64(), nullable=False)]))


def widen_table():
    return pa.table({
        "i8": pa.array([-128, None, 127], pa.int8()),
        "i16": pa.array([-32768, 5, None], pa.int16()),
        "u8": pa.array([255, 0, None], pa.uint8()),
        "u16": pa.array([65535, None, 1], pa.uint16()),
        "u32": pa.array([4294967295, 0, None], pa.uint32()),
        "u64": pa.array([9223372036854775807, None, 0], pa.uint64()),
        "ls": pa.array(["large", None, "utf8"], pa.large_string()),
        "sv": pa.array(["short", "a string longer than twelve", None], pa.string_view()),
        "d32": pa.array([1, None, -1], pa.date32()),
        "d64": pa.array([86_400_000, -86_400_000, None], pa.date64()),
        "t_s": pa.array([1, None, -2], pa.timestamp("s", "UTC")),
        "t_ms": pa.array([1, 2, None], pa.timestamp("ms")),
        "t_us": pa.array([None, 1, 2], pa.timestamp("us", "UTC")),
    })


def dict_batches():
    sch = pa.schema([pa.field("sym", pa.dictionary(pa.int16(), pa.string())), pa.field("v", pa.int32())])
    b1 = pa.record_batch([pa.DictionaryArray.from_arrays(pa.array([0, 1, None, 0], pa.int16()),
                                                         pa.array(["AAPL", "MSFT"])),
                          pa.array([1, 2, 3, 4], pa.int32())], schema=sch)
    b2 = pa.record_batch([pa.DictionaryArray.from_arrays(pa.array([2, 1], pa.int16()),
                                                         pa.array(["AAPL", "MSFT", "GOOG"])),
                          pa.array([5, 6], pa.int32())], schema=sch)
    return sch, [b1, b2]


def write(name, schema, batches, **opts):
    with pa.OSFile(os.path.join(HERE, name), "wb") as f:
        with pa.ipc.new_stream(f, schema, options=pa.ipc.IpcWriteOptions(**opts)) as w:
            for b in batches:
                w.write_batch(b)


def main():
    t = plain_table()
    batches = t.to_batches(max_chunksize=2)
    write("plain.arrows", t.schema, batches)
    write("plain_lz4.arrows", t.schema, batches, compression="lz4")
    write("plain_zstd.arrows", t.schema, batches, compression="zstd")
    write("empty.arrows", t.schema, [])
    write("zero_rows.arrows", t.schema,
          [pa.record_batch([pa.array([], f.type) for f in t.schema], schema=t.schema)])
    w = widen_table()
    write("widen.arrows", w.schema, w.to_batches())
    sch, db = dict_batches()
    write("dict_delta.arrows", sch, db, emit_dictionary_deltas=True)
    write("refuse_uint64.arrows", pa.schema([("u", pa.uint64())]),
          [pa.record_batch([pa.array([2**64 - 1], pa.uint64())], names=["u"])])
    write("refuse_list.arrows", pa.schema([("l", pa.list_(pa.int32()))]),
          [pa.record_batch([pa.array([[1, 2]], pa.list_(pa.int32()))], names=["l"])])


if __name__ == "__main__":
    main()
