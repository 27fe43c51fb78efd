"""Type keys of keyvalue instances, and what a key may be.

A key is a non-empty UTF-8 string without NUL of at most :data:`MAX_KEY_BYTES` bytes.
Its type keys:

* ``0x01 | key | 0x00``: the key's value (inline, or the manifest of a chunked value;
  :mod:`.values`). The 0x00 terminator keeps tkeys prefix-free (a key cannot hold NUL)
  and makes tkey order the byte order of the UTF-8 keys, shorter prefixes first, which
  is DVID's order (``NewTKey`` appends the same 0x00).
* ``0x02 | key | 0x00 | upload (16) | chunk (4)``: chunk ``chunk`` of the value that
  upload ``upload`` wrote under ``key`` (big values are stored in chunks; an upload
  id is random, so chunks of two uploads never share a key, and an unfinished upload
  writes nothing a reader can reach).
* ``0x03 | node (16) | time (8) | nonce (4)``: a mutation record (:mod:`.mutlog`).

The key limit comes from the stores: LMDB keys are at most 511 bytes and S3 object
names 1,024 characters of hex; a chunk's physical key is the key plus 32 bytes.
"""

from __future__ import annotations

import struct

from voxhub.errors import InvalidRequest, TooLarge

KEY_VALUE = 0x01
KEY_CHUNK = 0x02
#: the longest key, in UTF-8 bytes
MAX_KEY_BYTES = 400
UPLOAD_BYTES = 16
_CHUNK = struct.Struct(">I")
_CHUNK_SUFFIX = UPLOAD_BYTES + _CHUNK.size


def key_bytes(key: str) -> bytes:
    """``key`` as UTF-8, refused (naming it) if it cannot be a key."""
    if not isinstance(key, str):
        raise InvalidRequest(f"a key must be a string, got {type(key).__name__}")
    if not key:
        raise InvalidRequest("a key must not be empty")
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"key {key!r} is not valid UTF-8 (a lone surrogate)") from None
    if len(raw) > MAX_KEY_BYTES:
        raise TooLarge(
            f"key {key[:40]!r}... has {len(raw)} bytes (UTF-8); keys are at most "
            f"{MAX_KEY_BYTES} bytes"
        )
    if b"\x00" in raw:
        raise InvalidRequest(f"key {key!r} contains NUL, which keys may not")
    return raw


def value_tkey(key: str) -> bytes:
    """The tkey holding the value of ``key``."""
    return bytes([KEY_VALUE]) + key_bytes(key) + b"\x00"


def chunk_tkey(key: str, upload: bytes, index: int) -> bytes:
    """The tkey of chunk ``index`` of upload ``upload`` of ``key``."""
    return chunk_prefix(key, upload) + _CHUNK.pack(index)


def chunk_prefix(key: str, upload: bytes) -> bytes:
    """The common prefix of the chunk tkeys of one upload."""
    if len(upload) != UPLOAD_BYTES:
        raise InvalidRequest(f"an upload id has {UPLOAD_BYTES} bytes, not {len(upload)}")
    return bytes([KEY_CHUNK]) + key_bytes(key) + b"\x00" + upload


def value_range(first: str | None = None, last: str | None = None) -> tuple[bytes, bytes]:
    """Half-open tkey range of the values of keys ``first <= key <= last`` (DVID's
    inclusive ``keyrange``); ``None``: unbounded on that side."""
    start = bytes([KEY_VALUE]) if first is None else value_tkey(first)
    # 0x01 | last | 0x01: no tkey lies between it and last's own (keys hold no NUL), and
    # it is no extension of last's tkey, whose stored versions (tkey | version | marker)
    # would otherwise sort after the end of the scan
    end = bytes([KEY_VALUE + 1]) if last is None else value_tkey(last)[:-1] + b"\x01"
    return start, end


def value_range_open(start: str | None, stop: str | None) -> tuple[bytes, bytes]:
    """Half-open tkey range of the values of keys ``start <= key < stop`` (Python's
    convention, for the numpy-side API)."""
    lo = bytes([KEY_VALUE]) if start is None else value_tkey(start)
    hi = bytes([KEY_VALUE + 1]) if stop is None else value_tkey(stop)
    return lo, hi


def key_of(tkey: bytes) -> str:
    """The key a value or chunk tkey belongs to."""
    if not tkey or tkey[0] not in (KEY_VALUE, KEY_CHUNK):
        raise InvalidRequest(f"{tkey.hex()} is not a keyvalue type key")
    body = tkey[1:-1] if tkey[0] == KEY_VALUE else tkey[1 : -_CHUNK_SUFFIX - 1]
    return body.decode("utf-8", errors="replace")


def is_value_tkey(tkey: bytes) -> bool:
    return bool(tkey) and tkey[0] == KEY_VALUE


def describe_tkey(tkey: bytes) -> str:
    """The key's name (a chunk of a big value is described by its key too, so a diff
    or a merge report names keys, never chunks)."""
    from voxhub.datatypes.keyvalue.mutlog import describe_record, is_record

    if is_record(tkey):
        return describe_record(tkey)
    try:
        return key_of(tkey)
    except InvalidRequest:
        return f"unknown keyvalue key {tkey.hex()}"
