"""DVID's ``Keys`` and ``KeyValues`` protobuf messages, the default bodies of neuronjson's
``keyvalues`` and ``keyrangevalues`` (``datatype/common/proto``)::

    message KeyValue  { string key = 1; bytes value = 2; }
    message KeyValues { repeated KeyValue kvs = 1; }
    message Keys      { repeated string keys = 1; }

Three length-delimited fields need no protobuf runtime: this module writes and reads them
directly (unknown fields are skipped, as protobuf does; truncated or malformed input is
an :class:`~voxhub.errors.InvalidRequest` naming what was cut short).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from voxhub.errors import InvalidRequest

_LEN = 2  # wire type of length-delimited fields
_VARINT, _I64, _I32 = 0, 1, 5


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(len(payload)) + payload


def encode_key_values(items: Iterable[tuple[str, bytes]]) -> bytes:
    """``KeyValues`` holding each ``(key, value)`` in order."""
    return b"".join(
        _field(1, _field(1, key.encode()) + (_field(2, value) if value else b""))
        for key, value in items
    )


def encode_keys(keys: Iterable[str]) -> bytes:
    """``Keys`` holding ``keys`` in order."""
    return b"".join(_field(1, k.encode()) for k in keys)


def _read_varint(data: bytes, pos: int, what: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise InvalidRequest(f"{what}: truncated or overlong varint at byte {pos}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes, what: str) -> Iterator[tuple[int, bytes]]:
    """``(field number, payload)`` of each length-delimited field (others skipped)."""
    pos = 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos, what)
        number, wire = tag >> 3, tag & 7
        if wire == _LEN:
            size, pos = _read_varint(data, pos, what)
            if pos + size > len(data):
                raise InvalidRequest(f"{what}: field {number} runs past the end of the body")
            yield number, data[pos : pos + size]
            pos += size
        elif wire == _VARINT:
            _, pos = _read_varint(data, pos, what)
        elif wire in (_I64, _I32):
            pos += 8 if wire == _I64 else 4
            if pos > len(data):
                raise InvalidRequest(f"{what}: a fixed-width field runs past the end")
        else:
            raise InvalidRequest(f"{what}: unsupported protobuf wire type {wire}")


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise InvalidRequest(f"{what}: a key is not UTF-8") from None


def decode_keys(data: bytes, what: str = "Keys body") -> list[str]:
    return [_text(p, what) for n, p in _fields(data, what) if n == 1]


def decode_key_values(data: bytes, what: str = "KeyValues body") -> list[tuple[str, bytes]]:
    out = []
    for number, payload in _fields(data, what):
        if number != 1:
            continue
        key, value = "", b""
        for n, p in _fields(payload, what):
            if n == 1:
                key = _text(p, what)
            elif n == 2:
                value = p
        out.append((key, value))
    return out
