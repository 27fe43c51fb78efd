"""``maxlabel``: the largest label written or mutated at a version, kept in slotted
records (:mod:`voxhub.datatypes.slots`, the same scheme as image extents) so that the
slabs of one large write, which usually each bring new ids, do not conflict on one key.

A write reads the slot its label hashes to and, when neither it nor any other slot holds
the label or more, raises only that slot; the maximum is the largest of all slots.
"""

from __future__ import annotations

from voxhub.datatypes.labelmap.keys import KEY_MAXLABEL
from voxhub.datatypes.slots import read_slots, slot_of
from voxhub.versioning.protocols import VersionedReader, VersionedTxn

#: the largest maxlabel a client may set (DVID's cap on ``POST maxlabel``)
MAX_SET_MAXLABEL = 2**48


def read_maxlabel(reader: VersionedReader) -> int:
    """The largest label written or mutated at the reader's version (0 if none)."""
    return max((int.from_bytes(v, "big") for v in read_slots(reader, KEY_MAXLABEL)), default=0)


def raise_maxlabel(txn: VersionedTxn, label: int) -> None:
    """Make maxlabel at least ``label`` (inside the caller's transaction)."""
    encoded = label.to_bytes(8, "big")
    slot = slot_of(KEY_MAXLABEL, encoded)
    raw = txn.get(slot)
    if raw and int.from_bytes(raw, "big") >= label:
        return  # nothing written, nothing to conflict on
    if read_maxlabel(txn) >= label:
        return  # another slot already holds a larger id: no key changes
    txn.put(slot, encoded)
