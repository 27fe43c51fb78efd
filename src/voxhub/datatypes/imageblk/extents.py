"""The extents of an image instance: the scale-0 box of every voxel written, as records
that parallel writers add without touching each other's.

One shared extents key would be read and rewritten by every write that grows the box, so
parallel slabs of one large write (remote clients post them concurrently) would all
conflict on it — on S3 they would serialise on its lock. Instead the extents are the
union of small **records** under the key prefix ``KEY_EXTENTS`` (``0x11``): a write whose
box is not yet covered adds a record of its own, under a fresh random key that nobody
else reads or writes, so concurrent writers never conflict over extents. Reading unions
the records (a short scan; ``0x11`` alone, the single key of older stores, is one of them).
A writer that finds :data:`COMPACT_AT` records or more replaces them all with one, so the
scan stays short however many writes grew the box; only two compactions racing over the
same records conflict, and one of them simply runs again.

Records are versioned keys like any other: a node sees its ancestors' records, and a
merge child gets one record with the parents' union (see :mod:`.merge`).
"""

from __future__ import annotations

import os

from voxhub.datatypes.imageblk.keys import KEY_EXTENTS, decode_extents, encode_extents
from voxhub.geometry import Box
from voxhub.versioning.protocols import VersionedReader, VersionedTxn

#: tkey range holding every extents record.
EXTENTS_RANGE = (bytes([KEY_EXTENTS]), bytes([KEY_EXTENTS + 1]))
#: a write finding this many records merges them into one.
COMPACT_AT = 16


def _records(reader: VersionedReader) -> list[tuple[bytes, Box]]:
    return [(k, decode_extents(v)) for k, v in reader.scan(*EXTENTS_RANGE) if v]


def _union(boxes: list[Box]) -> Box | None:
    out: Box | None = None
    for box in boxes:
        out = box if out is None else out.union(box)
    return out


def read_extents(reader: VersionedReader) -> Box | None:
    """The scale-0 bounding box of everything written (``None`` if nothing was)."""
    return _union([box for _, box in _records(reader)])


def _new_record_key() -> bytes:
    return bytes([KEY_EXTENTS]) + os.urandom(12)


def grow_extents(txn: VersionedTxn, box: Box) -> None:
    """Make the extents cover ``box`` (inside the caller's transaction)."""
    records = _records(txn)
    current = _union([b for _, b in records])
    if current is not None and current.union(box) == current:
        return  # already covered: nothing written, nothing to conflict on
    if len(records) + 1 >= COMPACT_AT:
        for key, _ in records:
            txn.delete(key)
        box = box if current is None else current.union(box)
    txn.put(_new_record_key(), encode_extents(box))


def set_extents(txn: VersionedTxn, box: Box) -> None:
    """Make the extents exactly ``box``: one record replacing all visible ones."""
    for key, _ in _records(txn):
        txn.delete(key)
    txn.put(_new_record_key(), encode_extents(box))
