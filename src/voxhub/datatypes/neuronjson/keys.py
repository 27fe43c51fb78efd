"""Type keys of neuronjson instances.

* ``0x40 | body``: the JSON document of one body (big-endian uint64, so key order is
  numeric body order, which ``keys``, ``keyrange`` and every listing answer in);
* ``0x41 | kind``: one stored schema document, ``kind`` the index of its name in
  :data:`SCHEMA_KINDS` (``json_schema``, neutu/neu3's ``schema`` and ``schema_batch``).

Every key is the user's own data: none is derived, so a body or schema changed on both
sides of a merge is a conflict named by :func:`describe_tkey` (``"123"``, ``"schema"``).
"""

from __future__ import annotations

import struct

from voxhub.errors import InvalidRequest

KEY_DOC = 0x40
KEY_SCHEMA = 0x41
#: DVID's schema documents, by the route (and key) name that serves each
SCHEMA_KINDS = ("json_schema", "schema", "schema_batch")

_DOC = struct.Struct(">BQ")
UINT64_MAX = 2**64 - 1


def doc_key(body: int) -> bytes:
    return _DOC.pack(KEY_DOC, body)


def body_of(tkey: bytes) -> int:
    """The body id of a :func:`doc_key`."""
    return int(_DOC.unpack(tkey)[1])


def doc_range(first: int = 0, last: int = UINT64_MAX) -> tuple[bytes, bytes]:
    """Half-open tkey range of the documents of bodies ``first..last`` (inclusive)."""
    end = doc_key(last + 1) if last < UINT64_MAX else bytes([KEY_DOC + 1])
    return doc_key(first), end


def schema_key(kind: str) -> bytes:
    """The key of the schema document ``kind`` (one of :data:`SCHEMA_KINDS`)."""
    if kind not in SCHEMA_KINDS:
        raise InvalidRequest(f"schema kind {kind!r} is not one of {', '.join(SCHEMA_KINDS)}")
    return bytes([KEY_SCHEMA, SCHEMA_KINDS.index(kind)])


def describe_tkey(tkey: bytes) -> str:
    """A body's key as its id (``"123"``), a schema's as its name, as DVID's keys read."""
    if len(tkey) == _DOC.size and tkey[0] == KEY_DOC:
        return str(body_of(tkey))
    if len(tkey) == 2 and tkey[0] == KEY_SCHEMA and tkey[1] < len(SCHEMA_KINDS):
        return SCHEMA_KINDS[tkey[1]]
    return f"unknown:{tkey.hex()}"
