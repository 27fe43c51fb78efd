"""Type keys of labelsz instances: a count per (kind, body) and a rank key per count.

* ``0x01 | kind(1) | body(8)`` → the count (8 bytes big-endian): what ``count`` and
  ``counts`` read, and what a recount compares against.
* ``0x02 | kind(1) | ~count(8) | body(8)`` → a one-byte marker: the bodies of a kind by
  count descending, then body ascending, so ``top/N`` reads the first N keys of one range
  and ``threshold/T`` stops at the first count below T (DVID's key ``97``, size-ordered).

Every key is fixed width (prefix-free). A body with no element of a kind has neither key.
Every key is derived (recounted from the synced annotation), so none ever conflicts at a
merge. Kind codes are DVID's ``IndexType`` values.
"""

from __future__ import annotations

from voxhub.errors import InvalidRequest

KEY_COUNT = 0x01
KEY_RANK = 0x02
_MAX = 2**64 - 1

#: DVID's index types served, by code (``Voxels`` is DVID's planned one: not served)
KINDS: dict[str, int] = {"PostSyn": 1, "PreSyn": 2, "Gap": 3, "Note": 4, "AllSyn": 5}
NAMES = {code: name for name, code in KINDS.items()}
#: the element kinds ``AllSyn`` adds up (DVID's synaptic kinds)
SYNAPTIC = ("PostSyn", "PreSyn", "Gap")
#: a present marker (values must not be empty)
MARK = b"\x01"


def kind_code(kind: str) -> int:
    """The code of index type ``kind``; 400 naming the known ones otherwise."""
    code = KINDS.get(kind)
    if code is None:
        known = ", ".join(KINDS)
        if kind == "Voxels":
            raise InvalidRequest(f"index type 'Voxels' is not counted by labelsz (use {known})")
        raise InvalidRequest(f"unknown index type {kind!r} (use {known})")
    return code


def count_key(kind: int, body: int) -> bytes:
    return bytes([KEY_COUNT, kind]) + body.to_bytes(8, "big")


def count_range(kind: int) -> tuple[bytes, bytes]:
    return bytes([KEY_COUNT, kind]), bytes([KEY_COUNT, kind + 1])


def rank_key(kind: int, count: int, body: int) -> bytes:
    return bytes([KEY_RANK, kind]) + (_MAX - count).to_bytes(8, "big") + body.to_bytes(8, "big")


def rank_range(kind: int, least: int = 1) -> tuple[bytes, bytes]:
    """The rank keys of ``kind`` with counts ``>= least`` (``least`` >= 1)."""
    start = bytes([KEY_RANK, kind])
    return start, start + (_MAX - least + 1).to_bytes(8, "big")


def parse_rank(tkey: bytes) -> tuple[int, int]:
    """``(body, count)`` of a rank key."""
    return int.from_bytes(tkey[10:18], "big"), _MAX - int.from_bytes(tkey[2:10], "big")


def encode_count(count: int) -> bytes:
    return count.to_bytes(8, "big")


def decode_count(value: bytes | None) -> int:
    return 0 if value is None else int.from_bytes(value, "big")


def describe_tkey(tkey: bytes) -> str:
    """A readable name of a type key (diffs and merge reports)."""
    if len(tkey) == 10 and tkey[0] == KEY_COUNT:
        return f"count {NAMES.get(tkey[1], tkey[1])} of body {int.from_bytes(tkey[2:], 'big')}"
    if len(tkey) == 18 and tkey[0] == KEY_RANK:
        body, count = parse_rank(tkey)
        return f"rank {NAMES.get(tkey[1], tkey[1])} of body {body} ({count})"
    return f"labelsz key {tkey.hex()}"


def is_derived(tkey: bytes) -> bool:
    """Every labelsz key is recounted from the synced annotation."""
    return True
