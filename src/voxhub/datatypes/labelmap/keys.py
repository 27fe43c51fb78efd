"""Type keys of labelmap instances.

Blocks and extents use the image layout (:mod:`voxhub.datatypes.imageblk.keys`:
``0x10 | scale | z | y | x`` and ``0x11 | slot``) so the block machinery is shared. Added here,
every id a big-endian uint64 so byte order is numeric order:

* ``0x20 | sv``: the body a supervoxel belongs to (absent: itself; a body of 0: the
  supervoxel was retired by a split);
* ``0x21 | body``: the body's label index (:mod:`.index`);
* ``0x22 | slot (1 byte)``: slots whose largest is the largest label written or mutated
  at this version (``maxlabel``, see :mod:`.maxlabel` and :mod:`voxhub.datatypes.slots`);
* ``0x23 | mutation id``: one mutation record in the shape voxhub wrote before DVID's
  (read only, converted on read: :mod:`.mutlog`);
* ``0x24 | node (16) | mutation id``: one mutation record in DVID's shape (JSON), under
  the UUID of the node it was made at, so a node's records are one short range whatever
  its ancestors hold;
* ``0x25 | node (16) | mutation id | supervoxel``: a supervoxel split by that mutation,
  value ``remain id | split id`` (``supervoxel-splits`` reads these, not the records).
* ``0x28 | body | mutation id``: the body's label index as it stood just before that
  mutation changed it (:mod:`.index_history`, for ``index?mutid=``).
"""

from __future__ import annotations

import struct

from voxhub.datatypes.imageblk.keys import KEY_BLOCK, is_extents_key
from voxhub.datatypes.imageblk.keys import describe_tkey as block_desc
from voxhub.errors import InvalidRequest

KEY_MAPPING = 0x20
KEY_INDEX = 0x21
KEY_MAXLABEL = 0x22
KEY_MUTATION = 0x23
KEY_RECORD = 0x24
KEY_SV_SPLIT = 0x25
KEY_INDEX_HISTORY = 0x28
MAXLABEL_KEY = bytes([KEY_MAXLABEL])

_ID = struct.Struct(">BQ")
_RECORD = struct.Struct(">B16sQ")
_SV_SPLIT = struct.Struct(">B16sQQ")
_HISTORY = struct.Struct(">BQQ")


def mapping_key(sv: int) -> bytes:
    return _ID.pack(KEY_MAPPING, sv)


def index_key(body: int) -> bytes:
    return _ID.pack(KEY_INDEX, body)


def mutation_key(mutation_id: int) -> bytes:
    return _ID.pack(KEY_MUTATION, mutation_id)


def index_history_key(body: int, mutation_id: int) -> bytes:
    return _HISTORY.pack(KEY_INDEX_HISTORY, body, mutation_id)


def index_history_of(tkey: bytes) -> tuple[int, int]:
    """``(body, mutation id)`` of an index history key."""
    _, body, mutation_id = _HISTORY.unpack(tkey)
    return int(body), int(mutation_id)


def node_bytes(node_uuid: str) -> bytes:
    """The 16 bytes of a node UUID (32 hex digits, as every voxhub node has)."""
    try:
        raw = bytes.fromhex(node_uuid)
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise InvalidRequest(f"node UUID {node_uuid!r} is not 32 hex digits")
    return raw


def record_key(node_uuid: str, mutation_id: int) -> bytes:
    return _RECORD.pack(KEY_RECORD, node_bytes(node_uuid), mutation_id)


def sv_split_key(node_uuid: str, mutation_id: int, supervoxel: int) -> bytes:
    return _SV_SPLIT.pack(KEY_SV_SPLIT, node_bytes(node_uuid), mutation_id, supervoxel)


def node_range(kind: int, node_uuid: str) -> tuple[bytes, bytes]:
    """Half-open tkey range of the ``kind`` keys (records, splits) made at one node."""
    start = bytes([kind]) + node_bytes(node_uuid)
    # every key of the range is ``start`` and a fixed-width tail: the next prefix ends it
    end = (int.from_bytes(start, "big") + 1).to_bytes(len(start), "big")
    return start, end


def record_of(tkey: bytes) -> tuple[str, int]:
    """``(node UUID, mutation id)`` of a :func:`record_key`."""
    _, node, mid = _RECORD.unpack(tkey)
    return node.hex(), mid


def sv_split_of(tkey: bytes) -> tuple[str, int, int]:
    """``(node UUID, mutation id, supervoxel)`` of a :func:`sv_split_key`."""
    _, node, mid, sv = _SV_SPLIT.unpack(tkey)
    return node.hex(), mid, sv


def id_of(tkey: bytes) -> int:
    """The uint64 id in a mapping, index or mutation key."""
    return int(_ID.unpack(tkey)[1])


def key_range(kind: int) -> tuple[bytes, bytes]:
    """Half-open tkey range of every key of ``kind``."""
    return bytes([kind]), bytes([kind + 1])


def describe_tkey(tkey: bytes) -> str:
    """``"scale:z,y,x"`` for blocks, ``"extents"``, ``"mapping:sv"``, ``"index:body"``..."""
    if (tkey and tkey[0] == KEY_BLOCK) or is_extents_key(tkey):
        return block_desc(tkey)
    names = {KEY_MAPPING: "mapping", KEY_INDEX: "index", KEY_MUTATION: "mutation"}
    if tkey[:1] == MAXLABEL_KEY:
        return "maxlabel"
    if len(tkey) == _HISTORY.size and tkey[0] == KEY_INDEX_HISTORY:
        body, mutation_id = index_history_of(tkey)
        return f"index-history:{body}@{mutation_id}"
    if len(tkey) == _ID.size and tkey[0] in names:
        return f"{names[tkey[0]]}:{id_of(tkey)}"
    if len(tkey) == _RECORD.size and tkey[0] == KEY_RECORD:
        return "mutation:{}/{}".format(*record_of(tkey))
    if len(tkey) == _SV_SPLIT.size and tkey[0] == KEY_SV_SPLIT:
        return "sv-split:{}/{}/{}".format(*sv_split_of(tkey))
    return f"unknown:{tkey.hex()}"


def is_derived(tkey: bytes) -> bool:
    """Pyramid blocks, extents and maxlabel are recomputed at a merge child."""
    if tkey[:1] == MAXLABEL_KEY or is_extents_key(tkey):
        return True
    return len(tkey) > 1 and tkey[0] == KEY_BLOCK and tkey[1] > 0
