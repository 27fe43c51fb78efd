"""``maxlabel``: the largest label written or mutated at a version, kept as records that
parallel writers add without conflicting (the same scheme as image extents).

A single key would be read and rewritten by every label write that brings a larger id,
so the slabs of one large write (which usually each bring new ids) would all conflict on
it. Instead a write that raises the maximum adds a record under a fresh random key after
the prefix ``KEY_MAXLABEL`` (``0x22``); the maximum is the largest record (``0x22`` alone,
the single key of older stores, is one of them), and a writer that finds
:data:`COMPACT_AT` records or more replaces them with one.
"""

from __future__ import annotations

import os

from voxhub.datatypes.labelmap.keys import KEY_MAXLABEL
from voxhub.versioning.protocols import VersionedReader, VersionedTxn

#: tkey range holding every maxlabel record.
MAXLABEL_RANGE = (bytes([KEY_MAXLABEL]), bytes([KEY_MAXLABEL + 1]))
#: a write finding this many records merges them into one.
COMPACT_AT = 16


def _records(reader: VersionedReader) -> list[tuple[bytes, int]]:
    return [(k, int.from_bytes(v, "big")) for k, v in reader.scan(*MAXLABEL_RANGE) if v]


def read_maxlabel(reader: VersionedReader) -> int:
    """The largest label written or mutated at the reader's version (0 if none)."""
    return max((label for _, label in _records(reader)), default=0)


def raise_maxlabel(txn: VersionedTxn, label: int) -> None:
    """Make maxlabel at least ``label`` (inside the caller's transaction)."""
    records = _records(txn)
    top = max((value for _, value in records), default=0)
    if top >= label:
        return  # nothing written, nothing to conflict on
    if len(records) + 1 >= COMPACT_AT:
        for key, _ in records:
            txn.delete(key)
    txn.put(bytes([KEY_MAXLABEL]) + os.urandom(12), label.to_bytes(8, "big"))
