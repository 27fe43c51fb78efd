"""DVID's label protobufs written and read by hand from the protobuf wire format spec, as
an independent check of voxhub's messages (:mod:`voxhub.datatypes.labelmap.dvid_proto`).

``LabelIndex``: 1 ``blocks`` (map: key 1 block index, value 2 ``SVCount``: 1 ``counts``
map uint64 → uint32), 2 ``label``, 3 ``last_mutid``, 4-6 ``last_mod_time/user/app``;
``LabelIndices``: 1 repeated ``LabelIndex``; ``MappingOps``: 1 repeated ``MappingOp``
(1 ``mutid``, 2 ``mapped``, 3 packed ``original``). A block index holds z, y and x as
21-bit sign-magnitude fields, z highest (DVID's ``EncodeBlockIndex``).
"""

from __future__ import annotations

#: ``{(z, y, x): {sv: count}}``
Blocks = dict[tuple[int, int, int], dict[int, int]]


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def uint_field(field: int, n: int) -> bytes:
    """A varint field (proto3 leaves zero out)."""
    return varint(field << 3) + varint(n) if n else b""


def bytes_field(field: int, data: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(data)) + data


def block_key(z: int, y: int, x: int) -> int:
    key = 0
    for c in (z, y, x):
        key = key << 21 | ((1 << 20) | -c if c < 0 else c)
    return key


def label_index(label: int, blocks: Blocks, mutid: int = 0, user: str = "", app: str = "",
                time: str = "") -> bytes:  # fmt: skip
    out = b""
    for (z, y, x), counts in blocks.items():
        sv_count = b"".join(
            bytes_field(1, uint_field(1, sv) + uint_field(2, n)) for sv, n in counts.items()
        )
        out += bytes_field(1, uint_field(1, block_key(z, y, x)) + bytes_field(2, sv_count))
    out += uint_field(2, label) + uint_field(3, mutid)
    for field, text in ((4, time), (5, user), (6, app)):
        if text:
            out += bytes_field(field, text.encode())
    return out


def label_indices(indices: list[bytes]) -> bytes:
    return b"".join(bytes_field(1, i) for i in indices)


def mapping_ops(ops: list[tuple[int, list[int]]], mutid: int = 0) -> bytes:
    return b"".join(
        bytes_field(
            1,
            uint_field(1, mutid)
            + uint_field(2, mapped)
            + (bytes_field(3, b"".join(map(varint, svs))) if svs else b""),
        )
        for mapped, svs in ops
    )


# -- reading -----------------------------------------------------------------------------------
def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """``(field number, varint or bytes)`` of a message (varint and length-delimited only)."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0

    def read_varint() -> int:
        nonlocal pos
        shift = value = 0
        while True:
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while pos < len(data):
        key = read_varint()
        if key & 7 == 0:
            out.append((key >> 3, read_varint()))
        elif key & 7 == 2:
            n = read_varint()
            out.append((key >> 3, data[pos : pos + n]))
            pos += n
        else:
            raise ValueError(f"wire type {key & 7} is not used by these messages")
    return out


def _decode_block(key: int) -> tuple[int, int, int]:
    coords = []
    for shift in (42, 21, 0):
        f = (key >> shift) & ((1 << 21) - 1)
        coords.append(-(f & ((1 << 20) - 1)) if f & (1 << 20) else f)
    return coords[0], coords[1], coords[2]


def read_label_index(data: bytes) -> tuple[int, Blocks, int]:
    """``(label, blocks, last_mutid)`` of ``LabelIndex`` bytes."""
    label = mutid = 0
    blocks: Blocks = {}
    for field, value in _fields(data):
        if field == 1 and isinstance(value, bytes):
            entry = dict(_fields(value))
            counts: dict[int, int] = {}
            for f, sv_entry in _fields(entry.get(2, b"")):
                if f == 1 and isinstance(sv_entry, bytes):
                    pair = dict(_fields(sv_entry))
                    counts[int(pair.get(1, 0))] = int(pair.get(2, 0))
            blocks[_decode_block(int(entry.get(1, 0)))] = counts
        elif field == 2:
            label = int(value)
        elif field == 3:
            mutid = int(value)
    return label, blocks, mutid


def read_label_indices(data: bytes) -> list[tuple[int, Blocks, int]]:
    return [read_label_index(v) for f, v in _fields(data) if f == 1 and isinstance(v, bytes)]
