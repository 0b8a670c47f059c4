"""Hand-encoded Flight SQL messages for the tests: protobuf wire format by
hand (varints and length-delimited fields), so the tests need no protobuf
runtime and can also send deliberately broken messages."""

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint((num << 3) | 2) + varint(len(b)) + b


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def any_pack(name, body=b""):
    return field_bytes(1, PREFIX + name) + field_bytes(2, body)


def statement_query(sql):
    return any_pack("CommandStatementQuery", field_bytes(1, sql))


def get_tables(catalog=None, schema_pattern=None, table_pattern=None, types=(), include_schema=False):
    b = b""
    if catalog is not None:
        b += field_bytes(1, catalog)
    if schema_pattern is not None:
        b += field_bytes(2, schema_pattern)
    if table_pattern is not None:
        b += field_bytes(3, table_pattern)
    for t in types:
        b += field_bytes(4, t)
    if include_schema:
        b += field_varint(5, 1)
    return any_pack("CommandGetTables", b)


def create_prepared(sql):
    return any_pack("ActionCreatePreparedStatementRequest", field_bytes(1, sql))


def prepared_query(handle):
    return any_pack("CommandPreparedStatementQuery", field_bytes(1, handle))


def close_prepared(handle):
    return any_pack("ActionClosePreparedStatementRequest", field_bytes(1, handle))


def parse_fields(b):
    """Top-level fields of a message: {num: [value, ...]} (bytes or int)."""
    out, i = {}, 0
    while i < len(b):
        key, i = _read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(b, i)
        elif wt == 2:
            n, i = _read_varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def _read_varint(b, i):
    shift = v = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def unpack_any(b):
    f = parse_fields(b)
    return f[1][0].decode(), f.get(2, [b""])[0]
