"""DVID's label protobufs: ``LabelIndex``, ``LabelIndices`` and ``MappingOps``.

Written from DVID's ``datatype/common/proto/labelops.proto`` (the ``index``, ``indices``
and ``mappings`` bodies). The messages are built at import time from a descriptor of our
own, field numbers and types as DVID declares them, so the wire bytes are the same::

    message SVCount      { map<uint64, uint32> counts = 1; uint64 surface_mutid = 2; }
    message LabelIndex   { map<uint64, SVCount> blocks = 1; uint64 label = 2;
                           uint64 last_mutid = 3; string last_mod_time = 4;
                           string last_mod_user = 5; string last_mod_app = 6; }
    message LabelIndices { repeated LabelIndex indices = 1; }
    message MappingOp    { uint64 mutid = 1; uint64 mapped = 2; repeated uint64 original = 3; }
    message MappingOps   { repeated MappingOp mappings = 1; }

A ``blocks`` key is DVID's block index: z, y and x each as a 21-bit sign-magnitude field
(bit 20 the sign, bits 0-19 the magnitude), x in the low bits, so a coordinate's
magnitude is below 2**20. Decoding refuses what DVID never writes (bit 63, a negative
zero), a label or supervoxel 0, a count of 0 and a block listing no supervoxel, each with
a message naming it. ``surface_mutid`` is read and dropped (voxhub keeps no meshes).

The ``protobuf`` package comes with the ``server`` extra: only routes import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.wire.protobuf import FIELD, ProtoFile, parse_message
from voxhub.errors import CapabilityError, InvalidRequest
from voxhub.geometry import Vec3

_UINT64, _UINT32, _STRING = FIELD.TYPE_UINT64, FIELD.TYPE_UINT32, FIELD.TYPE_STRING
_MESSAGE = FIELD.TYPE_MESSAGE

#: magnitude bits of one coordinate of a block index, and its sign bit
COORD_BITS = 20
_MAG = (1 << COORD_BITS) - 1
_SIGN = 1 << COORD_BITS
MAX_BLOCK_COORD = _MAG


def _classes() -> dict[str, Any]:
    proto = ProtoFile("voxhub/dvid_labelops.proto", "voxhub.dvid")
    sv_count = proto.message("SVCount")
    proto.map(sv_count, "counts", 1, _UINT64, _UINT32)
    proto.field(sv_count, "surface_mutid", 2, _UINT64)
    index = proto.message("LabelIndex")
    proto.map(index, "blocks", 1, _UINT64, _MESSAGE, "SVCount")
    proto.field(index, "label", 2, _UINT64)
    proto.field(index, "last_mutid", 3, _UINT64)
    for number, name in enumerate(("last_mod_time", "last_mod_user", "last_mod_app"), 4):
        proto.field(index, name, number, _STRING)
    indices = proto.message("LabelIndices")
    proto.field(indices, "indices", 1, _MESSAGE, many=True, type_name="LabelIndex")
    op = proto.message("MappingOp")
    proto.field(op, "mutid", 1, _UINT64)
    proto.field(op, "mapped", 2, _UINT64)
    proto.field(op, "original", 3, _UINT64, many=True)
    ops = proto.message("MappingOps")
    proto.field(ops, "mappings", 1, _MESSAGE, many=True, type_name="MappingOp")
    return proto.classes()


MESSAGES = _classes()


# -- block index ---------------------------------------------------------------------------
def encode_block(coord: Vec3) -> int:
    """DVID's block index of the block ``(z, y, x)``."""
    key = 0
    for c in coord:  # z first: it ends in the high bits
        if abs(c) > _MAG:
            x, y, z = coord[2], coord[1], coord[0]
            raise CapabilityError(
                f"block ({x}, {y}, {z}) lies beyond DVID's block index (|coordinate| < 2**20):"
                " ask for ?format=json"
            )
        key = (key << (COORD_BITS + 1)) | (_SIGN if c < 0 else 0) | abs(c)
    return key


def decode_block(key: int) -> Vec3:
    """The block ``(z, y, x)`` of DVID's block index ``key``; ValueError if it is not one
    DVID writes (bit 63 set, or a negative zero)."""
    if key >> (3 * (COORD_BITS + 1)):
        raise ValueError(f"block index {key:#x} sets bits above the 63 of z, y and x")
    out = []
    for shift in (2 * (COORD_BITS + 1), COORD_BITS + 1, 0):
        field = (key >> shift) & (_SIGN | _MAG)
        if field == _SIGN:
            raise ValueError(f"block index {key:#x} holds a negative zero")
        out.append(-(field & _MAG) if field & _SIGN else field)
    return out[0], out[1], out[2]


# -- label indexes ---------------------------------------------------------------------------
def _to_message(index: LabelIndex) -> Any:
    msg = MESSAGES["LabelIndex"](label=index.body)
    meta = index.meta
    msg.last_mutid = int(meta.get("mutation id", 0))
    msg.last_mod_time = str(meta.get("last mod time", ""))
    msg.last_mod_user = str(meta.get("last mod user", ""))
    msg.last_mod_app = str(meta.get("last mod app", ""))
    for coord, counts in sorted(index.blocks.items()):
        msg.blocks[encode_block(coord)].counts.update(counts)
    return msg


def _from_message(msg: Any, what: str) -> LabelIndex:
    label = int(msg.label)
    if label == 0:
        raise InvalidRequest(f"{what} has label 0, the protected background value")
    index = LabelIndex(label)
    for key, sv_count in msg.blocks.items():
        try:
            coord = decode_block(int(key))
        except ValueError as e:
            raise InvalidRequest(f"{what} (label {label}): {e}") from None
        counts = {int(sv): int(n) for sv, n in sv_count.counts.items()}
        where = f"{what} (label {label}), block {coord[::-1]}"
        if not counts:
            raise InvalidRequest(f"{where} lists no supervoxel")
        if 0 in counts:
            raise InvalidRequest(f"{where} counts supervoxel 0, the protected background value")
        zero = sorted(sv for sv, n in counts.items() if n == 0)
        if zero:
            raise InvalidRequest(f"{where} counts 0 voxels of supervoxel {zero[0]}")
        index.blocks[coord] = counts
    if msg.last_mutid or msg.last_mod_time or msg.last_mod_user or msg.last_mod_app:
        index.meta = {
            "mutation id": int(msg.last_mutid),
            "last mod time": str(msg.last_mod_time),
            "last mod user": str(msg.last_mod_user),
            "last mod app": str(msg.last_mod_app),
        }
    return index


def _parse(name: str, data: bytes, what: str) -> Any:
    return parse_message(MESSAGES[name], data, what)


def encode_index(index: LabelIndex) -> bytes:
    """``index`` as DVID's ``LabelIndex`` protobuf (block keys DVID's block index)."""
    return bytes(_to_message(index).SerializeToString(deterministic=True))


def decode_index(data: bytes, what: str = "LabelIndex body") -> LabelIndex:
    """A ``LabelIndex`` protobuf as a :class:`LabelIndex` (an empty one: no blocks)."""
    return _from_message(_parse("LabelIndex", data, what), what)


def encode_indices(indices: list[LabelIndex]) -> bytes:
    msg = MESSAGES["LabelIndices"]()
    msg.indices.extend(_to_message(i) for i in indices)
    return bytes(msg.SerializeToString(deterministic=True))


def decode_indices(data: bytes, what: str = "LabelIndices body") -> list[LabelIndex]:
    """The indexes of a ``LabelIndices`` protobuf, in order (each named by position)."""
    msg = _parse("LabelIndices", data, what)
    return [_from_message(m, f"index {i} of the {what}") for i, m in enumerate(msg.indices)]


# -- mappings ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MappingOp:
    """Map each of the supervoxels ``original`` to the body ``mapped`` (DVID's mutation
    id ``mutid`` rides along)."""

    mapped: int
    original: tuple[int, ...]
    mutid: int = 0


def encode_mapping_ops(ops: list[MappingOp]) -> bytes:
    msg = MESSAGES["MappingOps"]()
    for op in ops:
        msg.mappings.add(mutid=op.mutid, mapped=op.mapped, original=list(op.original))
    return bytes(msg.SerializeToString(deterministic=True))


def decode_mapping_ops(data: bytes, what: str = "MappingOps body") -> list[MappingOp]:
    """The operations of a ``MappingOps`` protobuf (supervoxel 0 refused, by position)."""
    msg = _parse("MappingOps", data, what)
    ops = []
    for i, m in enumerate(msg.mappings):
        original = tuple(int(v) for v in m.original)
        if 0 in original:
            raise InvalidRequest(
                f"mapping {i} of the {what} maps supervoxel 0, the protected background value"
            )
        ops.append(MappingOp(int(m.mapped), original, int(m.mutid)))
    return ops
