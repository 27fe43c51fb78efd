"""The physical key layout of versioned data, write sets and metadata in one ``KVStore``.

This follows DVID's idea (``storage/keyvalue.go``): the version id comes *after* the type
key, so every stored version of one logical key is adjacent in byte order and a single
short scan finds them all.

Layout (all integers big-endian, fixed width)::

    metadata  : 0x00 | ascii path                   e.g. b"\\x00node/<uuid>"
    data      : 0x01 | instance_id (4) | tkey | MAX_ID - version_id (4) | marker (1)
    write set : 0x02 | instance_id (4) | version_id (4) | tkey      (empty value)

Descending versions (layout 3): a data key stores ``MAX_ID - version_id``, so the
versions of one tkey sort **newest first**. Versions only have ancestors with lower ids
(children get higher ids than their parents), so everything a node can see of a tkey lies
in the range that starts at the node's own version (:func:`versions_from`), and at a
chain's leaf the visible version is the first key listed. Object stores list ascending
only, in pages of 1,000 names: with ascending versions (layout 2) a read at the leaf of a
long chain needed the end of the range, i.e. a second LIST page. Build and parse the
version bytes only through :func:`data_key`, :func:`version_bytes`, :func:`version_of`
and :func:`split_data_key`.

Markers — DVID's choice, adopted in layout 2. The last byte says what the key holds:
:data:`MARK_DATA` (the value) or :data:`MARK_TOMBSTONE` ("deleted at this version",
empty value); since layout 3 the data marker is the lower byte, so if a version ever
held both (it should not: writes are transactions) a newest-first walk meets the data
first. A read therefore resolves the visible version of a key **from keys alone** (one
keys-only scan of the tkey's versions) and then reads one value, whatever the number
of stored versions; layout 1 stored a tombstone as an empty value under the data key, so
every read had to fetch the values of every version to tell tombstones apart (a block
edited in 200 versions read 86x slower). The price: one (tkey, version) may own two
physical keys, so a write puts one marker's key and deletes the other's in the same
transaction (:mod:`voxhub.versioning.view`).

Write sets: every versioned write also records, in the same transaction, that its version
wrote the tkey (``0x02`` keys). Diff, merge conflict checks and merge recompute read the
write sets of the versions that separate two nodes instead of scanning the instance
(:mod:`voxhub.versioning.writesets`). The version comes before the tkey so one short
prefix scan lists what one version wrote.

Metadata paths used by :mod:`voxhub.versioning.catalog` are listed in
:mod:`voxhub.versioning.nodes`. ``layout`` holds :data:`LAYOUT_VERSION`; a store without
it but with repos was written by layout 1, and any other layout is refused.

Ordering contract (tested with Hypothesis): byte order of data keys equals the order of
the tuples ``(instance_id, tkey, -version_id, marker)`` (data marker before tombstone).
This needs tkeys to be *prefix-free* within an instance (fixed width per key class, or
terminated), which datatypes guarantee. Consequently :func:`tkey_range` holds exactly
the versions of one tkey, and all metadata sorts before all data, which sorts before all write sets.
"""

from __future__ import annotations

import struct

from voxhub.errors import InvalidRequest
from voxhub.storage.base import prefix_end

META_PREFIX = b"\x00"
DATA_PREFIX = b"\x01"
WRITES_PREFIX = b"\x02"
#: the last byte of a data key holding a value.
MARK_DATA = b"\x00"
#: the last byte of a data key meaning "deleted at this version" (its value is empty).
MARK_TOMBSTONE = b"\x01"
#: the value stored under tombstone keys and write-set keys.
TOMBSTONE = b""
#: bumped when the physical layout changes incompatibly (stored under ``0x00layout``).
LAYOUT_VERSION = 3

VERSION_WIDTH = 4
INSTANCE_WIDTH = 4
SUFFIX_WIDTH = VERSION_WIDTH + 1  # version id and marker after the tkey
MAX_ID = 0xFFFFFFFF
_U32 = struct.Struct(">I")
_HEADER = len(DATA_PREFIX) + INSTANCE_WIDTH
_MARKS = (MARK_DATA, MARK_TOMBSTONE)


def _u32(value: int, what: str) -> bytes:
    if not 0 <= value <= MAX_ID:
        raise InvalidRequest(f"{what} {value} does not fit in 4 bytes")
    return _U32.pack(value)


def meta_key(path: str) -> bytes:
    """The metadata key of an ASCII ``path`` such as ``"node/<uuid>"``."""
    try:
        return META_PREFIX + path.encode("ascii")
    except UnicodeEncodeError:  # name the bad path: a 400, not a UnicodeEncodeError (500)
        raise InvalidRequest(f"{path!r} is not ASCII: names here are ASCII only") from None


def meta_range(path_prefix: str) -> tuple[bytes, bytes | None]:
    """The half-open key range of every metadata path starting with ``path_prefix``."""
    start = meta_key(path_prefix)
    return start, prefix_end(start)


def instance_prefix(instance_id: int) -> bytes:
    """``0x01 | instance_id``: the common prefix of all data keys of one instance."""
    return DATA_PREFIX + _u32(instance_id, "instance id")


def version_bytes(version_id: int) -> bytes:
    """The 4 version bytes of a data key: ``MAX_ID - version_id``, newest sorting first."""
    if not 0 <= version_id <= MAX_ID:
        raise InvalidRequest(f"version id {version_id} does not fit in 4 bytes")
    return _U32.pack(MAX_ID - version_id)


def data_key(instance_id: int, tkey: bytes, version_id: int, mark: bytes = MARK_DATA) -> bytes:
    """The physical key of ``tkey`` of an instance at a version (data or tombstone)."""
    if mark not in _MARKS:
        raise InvalidRequest(f"unknown data key marker {mark!r}")
    return instance_prefix(instance_id) + tkey + version_bytes(version_id) + mark


def split_data_key(key: bytes) -> tuple[int, bytes, int, bool]:
    """Inverse of :func:`data_key`: ``(instance_id, tkey, version_id, is_tombstone)``."""
    if len(key) < _HEADER + SUFFIX_WIDTH or key[:1] != DATA_PREFIX or key[-1:] not in _MARKS:
        raise InvalidRequest(f"{key!r} is not a versioned data key")
    (instance_id,) = _U32.unpack_from(key, 1)
    (stored,) = _U32.unpack_from(key, len(key) - SUFFIX_WIDTH)
    return instance_id, key[_HEADER:-SUFFIX_WIDTH], MAX_ID - stored, key[-1:] == MARK_TOMBSTONE


def tkey_range(instance_id: int, tkey: bytes) -> tuple[bytes, bytes]:
    """Half-open range holding every stored version of ``tkey`` (and nothing else)."""
    base = instance_prefix(instance_id) + tkey
    end = prefix_end(base)
    assert end is not None  # the 0x01 prefix byte guarantees a successor exists
    return base + b"\x00" * SUFFIX_WIDTH, end


def versions_from(instance_id: int, tkey: bytes, version_id: int) -> tuple[bytes, bytes]:
    """Half-open range of the stored versions of ``tkey`` up to ``version_id``, newest first.

    These are all the versions a node with that id can see (its ancestors have lower ids).
    """
    base = instance_prefix(instance_id) + tkey
    end = prefix_end(base)
    assert end is not None  # the 0x01 prefix byte guarantees a successor exists
    return base + version_bytes(version_id), end


def instance_range(instance_id: int) -> tuple[bytes, bytes]:
    """Half-open range holding every data key of one instance."""
    start = instance_prefix(instance_id)
    end = prefix_end(start)
    assert end is not None  # the 0x01 prefix byte guarantees a successor exists
    return start, end


def tkey_of(key: bytes) -> bytes:
    """The tkey inside a data key (no checks: the hot path of scans)."""
    return key[_HEADER:-SUFFIX_WIDTH]


def version_of(key: bytes) -> int:
    """The version id inside a data key (no checks: the hot path of reads)."""
    return MAX_ID - int.from_bytes(key[-SUFFIX_WIDTH:-1], "big")


def is_tombstone(key: bytes) -> bool:
    """Whether a data key marks a deletion (no checks)."""
    return key[-1] == MARK_TOMBSTONE[0]


def writes_prefix(instance_id: int, version_id: int) -> bytes:
    """``0x02 | instance | version``: the prefix of one version's write set."""
    return WRITES_PREFIX + _u32(instance_id, "instance id") + _u32(version_id, "version id")


def write_set_key(instance_id: int, version_id: int, tkey: bytes) -> bytes:
    """The key recording that ``version_id`` wrote ``tkey`` of an instance."""
    return writes_prefix(instance_id, version_id) + tkey


def writes_range(instance_id: int, version_id: int) -> tuple[bytes, bytes]:
    """Half-open range of one version's write set in one instance."""
    start = writes_prefix(instance_id, version_id)
    end = prefix_end(start)
    assert end is not None  # the 0x02 prefix byte guarantees a successor exists
    return start, end


WRITES_HEADER = len(WRITES_PREFIX) + INSTANCE_WIDTH + VERSION_WIDTH
