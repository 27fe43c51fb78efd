"""The two small records of an S3 transaction: its per-key locks and its intent.

A **lock** (``<hex key>~``) is JSON ``{"txn": id, "expires": unix time}``: which
transaction holds the key and until when its lease runs.

An **intent** (``~txn/<id>``) is the commit record. Its creation (``If-None-Match: *``)
is the commit point: ``committed`` carries the whole write set — every key with the ETag
it is expected to have before the write (``None``: absent) and its new value (``None``:
delete) — plus every key the transaction locked and the end of the writer's lease, so
anyone can finish (roll forward) the commit, and release its locks once the lease is
over. ``aborted`` is written by a *different* party that found
the transaction's locks expired: the owner's own commit then fails, as the name is taken.

Binary layout: ``VXI1``, a 4-byte big-endian header length, the JSON header, then the
values concatenated in header order (they are block data: no base64 or hex inflation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from voxhub.errors import StorageError

MAGIC = b"VXI1"


@dataclass(frozen=True)
class Write:
    """One key of a committed write set."""

    key: bytes
    expected_etag: str | None  # the ETag before the write; None = the key was absent
    value: bytes | None  # None = delete


@dataclass(frozen=True)
class Intent:
    """A decoded intent record."""

    state: str  # "committed" or "aborted"
    at: float  # when it was written (unix time)
    writes: list[Write] = field(default_factory=list)
    locked: list[bytes] = field(default_factory=list)
    expires: float = 0.0  # the writer's lease end: until then only it releases its locks

    @property
    def committed(self) -> bool:
        return self.state == "committed"


def encode_intent(intent: Intent) -> bytes:
    """The object body of ``intent``."""
    header = {
        "state": intent.state,
        "at": intent.at,
        "writes": [
            [w.key.hex(), w.expected_etag, -1 if w.value is None else len(w.value)]
            for w in intent.writes
        ],
        "locked": [k.hex() for k in intent.locked],
        "expires": intent.expires,
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    values = [w.value for w in intent.writes if w.value is not None]
    return b"".join([MAGIC, len(head).to_bytes(4, "big"), head, *values])


def decode_intent(body: bytes) -> Intent:
    """The intent stored as ``body``; a damaged record is a :class:`StorageError`."""
    try:
        if body[:4] != MAGIC:
            raise ValueError("bad magic")
        size = int.from_bytes(body[4:8], "big")
        header = json.loads(body[8 : 8 + size])
        offset, writes = 8 + size, []
        for key_hex, etag, length in header["writes"]:
            value = None if length < 0 else body[offset : offset + length]
            offset += max(length, 0)
            writes.append(Write(bytes.fromhex(key_hex), etag, value))
        if offset != len(body):
            raise ValueError("values do not fill the record")
        locked = [bytes.fromhex(k) for k in header["locked"]]
        expires = float(header.get("expires", 0.0))
        return Intent(str(header["state"]), float(header["at"]), writes, locked, expires)
    except (ValueError, KeyError, TypeError) as e:
        raise StorageError(f"damaged S3 transaction intent record: {e}") from e


def aborted_intent(at: float) -> bytes:
    """The body that marks a transaction as aborted by someone else (at time ``at``)."""
    return encode_intent(Intent("aborted", at))


@dataclass(frozen=True)
class Lock:
    """A decoded lock: the holder's transaction id and lease end."""

    txn: str
    expires: float

    def expired(self, now: float) -> bool:
        return now >= self.expires


def encode_lock(lock: Lock) -> bytes:
    return json.dumps({"txn": lock.txn, "expires": lock.expires}).encode()


def decode_lock(body: bytes) -> Lock | None:
    """The lock stored as ``body``, or ``None`` if it is not one (treated as stale)."""
    try:
        raw = json.loads(body)
        return Lock(str(raw["txn"]), float(raw["expires"]))
    except (ValueError, KeyError, TypeError):
        return None
