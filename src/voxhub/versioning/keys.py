"""The physical key layout of versioned data and of repo metadata in one ``KVStore``.

This follows DVID's idea (``storage/keyvalue.go``): the version id comes *after* the type
key, so every stored version of one logical key is adjacent in byte order and a single
short scan finds them all.

Layout (all integers big-endian, fixed width)::

    metadata : 0x00 | ascii path                   e.g. b"\\x00node/<uuid>"
    data     : 0x01 | instance_id (4) | tkey | version_id (4)

Metadata paths used by :mod:`voxhub.versioning.catalog`::

    repo/<root>            RepoInfo JSON (alias, description, log, properties, times)
    node/<uuid>            NodeInfo JSON (+ parent version ids); a prefix scan resolves
                           UUID prefixes
    inst/<root>/<name>     InstanceInfo JSON
    branch/<root>/<name>   reservation of a branch name, holds the branch's first node
    counter/version        next free version id (decimal ASCII), allocated by CAS
    counter/instance       next free instance id

Ordering contract (tested with Hypothesis): byte order of data keys equals the order of
the tuples ``(instance_id, tkey, version_id)``. This needs tkeys to be *prefix-free*
within an instance (fixed width per key class, or terminated), which datatypes guarantee.
Consequently ``[0x01|inst|tkey|00000000, 0x01|inst|tkey|FFFFFFFF]`` holds exactly the
versions of ``tkey``, and all metadata sorts before all data.

Tombstones — our deliberate change from DVID. DVID marks a deletion with a marker byte
*in the key* (``...|version|0x4F`` vs ``...|version|0x03``), so one (tkey, version) can own
two physical keys and a put must also delete the tombstone key. We store a tombstone as an
**empty value** under the very key the data would use. One physical key per
(tkey, version) makes a read-modify-write of a key at a version a single-key operation,
which also works on object stores that only offer per-object compare-and-swap. Datatypes
never store empty values (the versioned ``put`` rejects ``b""``), so the encoding is
unambiguous.
"""

from __future__ import annotations

import struct

from voxhub.errors import InvalidRequest
from voxhub.storage.base import prefix_end

META_PREFIX = b"\x00"
DATA_PREFIX = b"\x01"
#: the stored value that means "deleted at this version".
TOMBSTONE = b""

VERSION_WIDTH = 4
INSTANCE_WIDTH = 4
MAX_ID = 0xFFFFFFFF
_U32 = struct.Struct(">I")
_HEADER = len(DATA_PREFIX) + INSTANCE_WIDTH


def _u32(value: int, what: str) -> bytes:
    if not 0 <= value <= MAX_ID:
        raise InvalidRequest(f"{what} {value} does not fit in 4 bytes")
    return _U32.pack(value)


def meta_key(path: str) -> bytes:
    """The metadata key of an ASCII ``path`` such as ``"node/<uuid>"``."""
    return META_PREFIX + path.encode("ascii")


def meta_range(path_prefix: str) -> tuple[bytes, bytes | None]:
    """The half-open key range of every metadata path starting with ``path_prefix``."""
    start = meta_key(path_prefix)
    return start, prefix_end(start)


def instance_prefix(instance_id: int) -> bytes:
    """``0x01 | instance_id``: the common prefix of all data keys of one instance."""
    return DATA_PREFIX + _u32(instance_id, "instance id")


def data_key(instance_id: int, tkey: bytes, version_id: int) -> bytes:
    """The physical key of ``tkey`` of an instance at a version."""
    return instance_prefix(instance_id) + tkey + _u32(version_id, "version id")


def split_data_key(key: bytes) -> tuple[int, bytes, int]:
    """Inverse of :func:`data_key`: ``(instance_id, tkey, version_id)``."""
    if len(key) < _HEADER + VERSION_WIDTH or key[:1] != DATA_PREFIX:
        raise InvalidRequest(f"{key!r} is not a versioned data key")
    (instance_id,) = _U32.unpack_from(key, 1)
    (version_id,) = _U32.unpack_from(key, len(key) - VERSION_WIDTH)
    return instance_id, key[_HEADER:-VERSION_WIDTH], version_id


def tkey_range(instance_id: int, tkey: bytes) -> tuple[bytes, bytes]:
    """Half-open range holding every stored version of ``tkey`` (and nothing else)."""
    base = instance_prefix(instance_id) + tkey
    end = prefix_end(base)
    assert end is not None  # the 0x01 prefix byte guarantees a successor exists
    return base + b"\x00" * VERSION_WIDTH, end


def instance_range(instance_id: int) -> tuple[bytes, bytes]:
    """Half-open range holding every data key of one instance."""
    start = instance_prefix(instance_id)
    end = prefix_end(start)
    assert end is not None  # the 0x01 prefix byte guarantees a successor exists
    return start, end


def tkey_of(key: bytes) -> bytes:
    """The tkey inside a data key (no checks: the hot path of scans)."""
    return key[_HEADER:-VERSION_WIDTH]


def version_of(key: bytes) -> int:
    """The version id at the end of a data key (no checks: the hot path of reads)."""
    return int.from_bytes(key[-VERSION_WIDTH:], "big")
