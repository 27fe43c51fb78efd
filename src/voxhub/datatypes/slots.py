"""Slotted records: one small summary value (extents, maxlabel) spread over a fixed set of
keys, so that parallel writers rarely touch the same key and reads never grow with history.

A single summary key would be read and rewritten by every write that changes it, so the
slabs of one large write (remote clients post them concurrently) would all conflict on it;
on an object store they would serialise on its lock. Instead the summary is the
combination (union, maximum) of :data:`SLOTS` records under ``prefix | slot``. A writer
reads and, if needed, rewrites only the slot its own data hashes to, so two writers
conflict only when they hash to the same slot; a reader combines all slots.

The slots are ordinary versioned keys: each is resolved like any block (the visible
version from keys alone, one value read), so the cost of a read is :data:`SLOTS` key
lookups however many versions grew the summary. An earlier design added a record under a
fresh random key per write and compacted them; its key range then held every record and
tombstone of every version, and reads slowed down with history (29 s spent over 1,400
growing writes in the versions benchmark).
"""

from __future__ import annotations

import zlib

from voxhub.versioning.protocols import VersionedReader, VersionedTxn

#: keys a summary is spread over; 16 keeps a full read at 16 key lookups.
SLOTS = 16


def slot_keys(prefix: int) -> list[bytes]:
    """The tkeys of every slot of the summary stored under the one-byte ``prefix``."""
    return [bytes([prefix, slot]) for slot in range(SLOTS)]


def slot_of(prefix: int, token: bytes) -> bytes:
    """The slot tkey a writer described by ``token`` (e.g. its box) reads and writes."""
    return bytes([prefix, zlib.crc32(token) % SLOTS])


def read_slots(reader: VersionedReader, prefix: int) -> list[bytes]:
    """The stored values of every written slot (one batched lookup)."""
    return [v for v in reader.get_many(slot_keys(prefix)) if v]


def replace_slots(txn: VersionedTxn, prefix: int, value: bytes) -> None:
    """Make ``value`` the whole summary: slot 0 holds it, every other slot is cleared."""
    keys = slot_keys(prefix)
    for key, old in zip(keys[1:], txn.get_many(keys[1:]), strict=True):
        if old is not None:
            txn.delete(key)
    txn.put(keys[0], value)
