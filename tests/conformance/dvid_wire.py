"""DVID's binary layouts, written here from DVID's help text (not from voxhub's code).

The conformance tests encode what a DVID client sends and decode what it receives with
these, so a layout voxhub got wrong on both sides still fails:

* block streams (``GET blocks``, ``specificblocks``, ``POST blocks``): records of
  ``int32 bx, by, bz, int32 n, n bytes``, little-endian;
* native label blocks (``compression=blocks``): ``uint32 gx, gy, gz, uint32 N, N × uint64
  labels``, then only if ``N > 1``: ``Nsb × uint16`` label counts, ``sum × uint32``
  indices, and per sub-block with more than one label its 512 voxel indices packed
  big-endian at ``ceil(log2(Ns))`` bits each (sub-blocks and voxels x fastest);
* sparsevol RLEs: ``uint8 payload descriptor, uint8 dims, uint8 run dim, uint8 pad,
  uint32 voxels (0), uint32 spans``, then ``int32 x, y, z, int32 length`` per span.
"""

from __future__ import annotations

import gzip
import math
import struct

import numpy as np

SUB = 8  # sub-block edge of a native label block


def stream(records: list[tuple[tuple[int, int, int], bytes]]) -> bytes:
    """A block stream from ``((bx, by, bz), payload)`` records."""
    return b"".join(struct.pack("<iiii", *xyz, len(p)) + p for xyz, p in records)


def parse_stream(data: bytes) -> dict[tuple[int, int, int], bytes]:
    """``{(bx, by, bz): payload}`` of a block stream; fails on trailing bytes."""
    out: dict[tuple[int, int, int], bytes] = {}
    pos = 0
    while pos < len(data):
        bx, by, bz, n = struct.unpack_from("<iiii", data, pos)
        pos += 16
        out[(bx, by, bz)] = data[pos : pos + n]
        assert len(out[(bx, by, bz)]) == n, "truncated block record"
        pos += n
    return out


def solid_block(label: int) -> bytes:
    """A native 64³ block of one label (``N == 1``: nothing follows the label)."""
    return struct.pack("<IIIIQ", 8, 8, 8, 1, label)


def encode_block(block: np.ndarray) -> bytes:
    """A native label block of a ``(z, y, x)`` uint64 array (edges multiples of 8)."""
    gz, gy, gx = (s // SUB for s in block.shape)
    labels = np.unique(block)
    if len(labels) == 1:
        return struct.pack("<IIII", gx, gy, gz, 1) + labels.astype("<u8").tobytes()
    subs = block.reshape(gz, SUB, gy, SUB, gx, SUB).transpose(0, 2, 4, 1, 3, 5)
    subs = subs.reshape(gz * gy * gx, SUB**3)
    counts, indices, bits = [], [], []
    for sub in subs:
        present = np.unique(sub)
        counts.append(len(present))
        indices.extend(np.searchsorted(labels, present).tolist())
        if len(present) > 1:
            width = math.ceil(math.log2(len(present)))
            local = np.searchsorted(present, sub)
            bitplanes = (local[:, None] >> np.arange(width - 1, -1, -1)) & 1
            bits.append(np.packbits(bitplanes.astype(np.uint8).reshape(-1)).tobytes())
    return b"".join(
        [
            struct.pack("<IIII", gx, gy, gz, len(labels)),
            labels.astype("<u8").tobytes(),
            np.array(counts, "<u2").tobytes(),
            np.array(indices, "<u4").tobytes(),
            *bits,
        ]
    )


def decode_block(data: bytes) -> np.ndarray:
    """The ``(z, y, x)`` uint64 voxels of a native label block."""
    gx, gy, gz, n = struct.unpack_from("<IIII", data, 0)
    labels = np.frombuffer(data, "<u8", n, 16)
    shape = (gz * SUB, gy * SUB, gx * SUB)
    if n <= 1:
        return np.full(shape, labels[0] if n else 0, np.uint64)
    nsb = gx * gy * gz
    pos = 16 + 8 * n
    counts = np.frombuffer(data, "<u2", nsb, pos)
    pos += 2 * nsb
    indices = np.frombuffer(data, "<u4", int(counts.sum()), pos)
    pos += 4 * int(counts.sum())
    subs = np.zeros((nsb, SUB**3), np.uint64)
    first = 0
    for i, count in enumerate(counts.tolist()):
        mine = indices[first : first + count]
        first += count
        if count == 1:
            subs[i] = labels[mine[0]]
        elif count > 1:
            width = math.ceil(math.log2(count))
            nbytes = SUB**3 * width // 8
            planes = np.unpackbits(np.frombuffer(data, np.uint8, nbytes, pos))
            pos += nbytes
            local = planes.reshape(SUB**3, width) @ (1 << np.arange(width - 1, -1, -1))
            subs[i] = labels[mine[local]]
    assert pos == len(data), "bytes left after the last sub-block"
    v = subs.reshape(gz, gy, gx, SUB, SUB, SUB).transpose(0, 3, 1, 4, 2, 5)
    return np.ascontiguousarray(v.reshape(shape))


def gunzip_block(payload: bytes) -> np.ndarray:
    return decode_block(gzip.decompress(payload))


def rles(data: bytes) -> tuple[int, np.ndarray]:
    """``(voxels in header, spans as rows of x, y, z, length)`` of a sparsevol body."""
    descriptor, dims, run_dim, _pad, voxels, spans = struct.unpack_from("<BBBBII", data, 0)
    assert (descriptor, dims, run_dim) == (0, 3, 0), "DVID's rles header is 0, 3, 0"
    rows = np.frombuffer(data, "<i4", 4 * spans, 12).reshape(spans, 4)
    assert 12 + rows.nbytes == len(data), "bytes left after the last span"
    return voxels, rows


def rles_body(rows: list[tuple[int, int, int, int]]) -> bytes:
    """A sparsevol (``rles``) body as a DVID client posts it for split and split-supervoxel."""
    header = struct.pack("<BBBBII", 0, 3, 0, 0, 0, len(rows))
    return header + np.array(rows, "<i4").tobytes()


def voxels_of(rows: np.ndarray) -> set[tuple[int, int, int]]:
    """The voxels ``(x, y, z)`` of RLE rows."""
    return {(x + i, y, z) for x, y, z, n in rows.tolist() for i in range(n)}
