"""The extents of an image instance: the scale-0 box of every voxel written, kept in
slotted records (:mod:`voxhub.datatypes.slots`) so that parallel writers do not conflict.

A write reads the slot its box hashes to and, when neither that slot nor the union of all
slots covers the box yet, rewrites only that slot with the union; the extents are the
union of all slots. (Writing the slot whenever *it* fell short would change an extents
key on most writes inside the extents: diffs would list "extents" and parallel slabs
would conflict for nothing.) Records
are versioned keys like any other: a node sees its ancestors' slots, and a merge child
gets the parents' union in one slot (see :mod:`.merge`).
"""

from __future__ import annotations

from voxhub.datatypes.imageblk.keys import KEY_EXTENTS, decode_extents, encode_extents
from voxhub.datatypes.slots import read_slots, replace_slots, slot_of
from voxhub.geometry import Box
from voxhub.versioning.protocols import VersionedReader, VersionedTxn


def read_extents(reader: VersionedReader) -> Box | None:
    """The scale-0 bounding box of everything written (``None`` if nothing was)."""
    out: Box | None = None
    for raw in read_slots(reader, KEY_EXTENTS):
        box = decode_extents(raw)
        out = box if out is None else out.union(box)
    return out


def grow_extents(txn: VersionedTxn, box: Box) -> None:
    """Make the extents cover ``box`` (inside the caller's transaction)."""
    slot = slot_of(KEY_EXTENTS, encode_extents(box))
    raw = txn.get(slot)
    current = decode_extents(raw) if raw else None
    if current is not None and current.union(box) == current:
        return  # already covered: nothing written, nothing to conflict on
    whole = read_extents(txn)  # (one batched lookup, only when the slot falls short)
    if whole is not None and whole.union(box) == whole:
        return  # covered by other slots: a write inside the extents changes no key
    txn.put(slot, encode_extents(box if current is None else current.union(box)))


def set_extents(txn: VersionedTxn, box: Box) -> None:
    """Make the extents exactly ``box``."""
    replace_slots(txn, KEY_EXTENTS, encode_extents(box))
