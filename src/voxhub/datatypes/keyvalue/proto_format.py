"""DVID's keyvalue protobufs, ``Keys`` in and ``KeyValues`` in and out.

Written from DVID's ``datatype/common/proto/keyvalue.proto``; the messages are built
at import time from a descriptor of our own with DVID's field numbers and types, so
the wire bytes are the same::

    message KeyValue  { string key = 1; bytes value = 2; }
    message KeyRange  { string key = 1; uint64 byte_start = 2; uint64 byte_end = 3; }
    message Keys      { repeated string keys = 1; repeated KeyRange key_ranges = 2; }
    message KeyValues { repeated KeyValue kvs = 1; }

Answers are written by hand, one ``kvs`` entry at a time (tag, length, key, value
pieces), so a big value streams a chunk at a time; the message classes parse request
bodies (and, in the tests, check that a streamed answer parses as ``KeyValues``).

The ``protobuf`` package comes with the ``server`` extra: only routes import this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from voxhub.datatypes.keyvalue.ranges import parse_inclusive
from voxhub.datatypes.keyvalue.sized_pieces import sized_pieces
from voxhub.datatypes.wire.byte_ranges import ByteRange
from voxhub.datatypes.wire.protobuf import FIELD, ProtoFile, parse_message

_F = FIELD


def _classes() -> dict[str, Any]:
    proto = ProtoFile("voxhub/dvid_keyvalue.proto", "voxhub.dvid.keyvalue")
    kv = proto.message("KeyValue")
    proto.field(kv, "key", 1, _F.TYPE_STRING)
    proto.field(kv, "value", 2, _F.TYPE_BYTES)
    kr = proto.message("KeyRange")
    proto.field(kr, "key", 1, _F.TYPE_STRING)
    proto.field(kr, "byte_start", 2, _F.TYPE_UINT64)
    proto.field(kr, "byte_end", 3, _F.TYPE_UINT64)
    keys = proto.message("Keys")
    proto.field(keys, "keys", 1, _F.TYPE_STRING, many=True)
    proto.field(keys, "key_ranges", 2, _F.TYPE_MESSAGE, many=True, type_name="KeyRange")
    kvs = proto.message("KeyValues")
    proto.field(kvs, "kvs", 1, _F.TYPE_MESSAGE, many=True, type_name="KeyValue")
    return proto.classes()


#: the message classes by name (``KeyValue``, ``KeyRange``, ``Keys``, ``KeyValues``)
MESSAGES = _classes()


def _parse(name: str, data: bytes, what: str) -> Any:
    return parse_message(MESSAGES[name], data, what)


def decode_key_values(data: bytes, what: str = "KeyValues body") -> list[tuple[str, bytes]]:
    """The ``(key, value)`` pairs of a ``KeyValues`` body, in order."""
    return [(kv.key, kv.value) for kv in _parse("KeyValues", data, what).kvs]


def decode_keys(data: bytes, what: str = "Keys body") -> list[tuple[str, ByteRange | None]]:
    """The requests of a ``Keys`` body: whole ``keys`` first, then ``key_ranges``
    (inclusive ``byte_start``..``byte_end``), as DVID orders its answer."""
    msg = _parse("Keys", data, what)
    out: list[tuple[str, ByteRange | None]] = [(k, None) for k in msg.keys]
    for r in msg.key_ranges:
        out.append((r.key, parse_inclusive(r.key, int(r.byte_start), int(r.byte_end))))
    return out


def encode_key_values(pairs: list[tuple[str, bytes]]) -> bytes:
    """A ``KeyValues`` message of ``pairs`` (for clients and tests)."""
    msg = MESSAGES["KeyValues"]()
    for key, value in pairs:
        msg.kvs.add(key=key, value=value)
    return bytes(msg.SerializeToString(deterministic=True))


def encode_keys(keys: list[str]) -> bytes:
    msg = MESSAGES["Keys"]()
    msg.keys.extend(keys)
    return bytes(msg.SerializeToString(deterministic=True))


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def entry_head(key: str, size: int) -> bytes:
    """The bytes of one ``kvs`` entry before its value: the entry's tag and length, the
    key field and the value field's tag and length (proto3 leaves an empty value out)."""
    raw = key.encode("utf-8")
    key_field = b"\x0a" + _varint(len(raw)) + raw
    value_head = b"\x12" + _varint(size) if size else b""
    body = len(key_field) + len(value_head) + size
    return b"\x0a" + _varint(body) + key_field + value_head


def stream(entries: Iterator[tuple[str, int, Iterator[bytes]]]) -> Iterator[bytes]:
    """The pieces of a ``KeyValues`` message of ``(key, size, pieces of the value)``."""
    for key, size, pieces in entries:
        yield entry_head(key, size)
        yield from sized_pieces(key, size, pieces)
