"""The label index of one body: how many voxels of each of its supervoxels each block holds.

Kept exact on every write and mutation, so size, supervoxels, bounding boxes and
sparsevols never scan voxels they do not need. Stored value: zstd of
``b"VXLI" | uint32 n | n records (int32 z, y, x, uint64 sv, uint32 count) | JSON meta``,
records sorted, all little-endian.
"""

from __future__ import annotations

import json
import struct
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zstandard

from voxhub.codecs.label_runs import LabelRuns
from voxhub.errors import StorageError
from voxhub.geometry import Vec3

_MAGIC = b"VXLI"
# zstandard (de)compressors are not thread-safe and cost ≈10 µs to make, as much as
# compressing a typical index: one of each per thread (a write stores thousands).
_local = threading.local()
_HEAD = struct.Struct("<4sI")
RECORD = np.dtype([("z", "<i4"), ("y", "<i4"), ("x", "<i4"), ("sv", "<u8"), ("count", "<u4")])


@dataclass
class LabelIndex:
    """``blocks[(z, y, x)][sv] = voxel count`` of one body, plus who changed it last."""

    body: int
    blocks: dict[Vec3, dict[int, int]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- facts ---------------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        return not self.blocks

    def voxels(self, supervoxel: int | None = None) -> int:
        return sum(
            n for counts in self.blocks.values() for sv, n in counts.items()
            if supervoxel is None or sv == supervoxel
        )  # fmt: skip

    def supervoxel_sizes(self) -> dict[int, int]:
        sizes: dict[int, int] = defaultdict(int)
        for counts in self.blocks.values():
            for sv, n in counts.items():
                sizes[sv] += n
        return dict(sorted(sizes.items()))

    def blocks_of(self, supervoxels: set[int] | None = None) -> list[Vec3]:
        """Block coordinates holding the body (or only some of its supervoxels), sorted."""
        return sorted(
            c for c, counts in self.blocks.items()
            if supervoxels is None or supervoxels.intersection(counts)
        )  # fmt: skip

    # -- changes -------------------------------------------------------------------------
    def add(self, block: Vec3, sv: int, delta: int) -> None:
        counts = self.blocks.setdefault(block, {})
        n = counts.get(sv, 0) + delta
        if n < 0:
            raise StorageError(f"label index of {self.body}: block {block} sv {sv} below 0")
        if n:
            counts[sv] = n
        else:
            counts.pop(sv, None)
            if not counts:
                del self.blocks[block]

    def take(self, supervoxels: set[int]) -> dict[Vec3, dict[int, int]]:
        """Remove and return the entries of ``supervoxels``."""
        moved: dict[Vec3, dict[int, int]] = {}
        for c in list(self.blocks):
            counts = self.blocks[c]
            part = {sv: n for sv, n in counts.items() if sv in supervoxels}
            if part:
                moved[c] = part
                for sv in part:
                    del counts[sv]
                if not counts:
                    del self.blocks[c]
        return moved

    def absorb(self, blocks: dict[Vec3, dict[int, int]]) -> None:
        for c, counts in blocks.items():
            for sv, n in counts.items():
                self.add(c, sv, n)

    # -- storage -------------------------------------------------------------------------
    def encode(self) -> bytes:
        rows = [
            (c[0], c[1], c[2], sv, n)
            for c, counts in self.blocks.items()
            for sv, n in counts.items()
        ]
        records = np.array(sorted(rows), dtype=RECORD)
        meta = json.dumps(self.meta, sort_keys=True).encode() if self.meta else b"{}"
        raw = _HEAD.pack(_MAGIC, len(records)) + records.tobytes() + meta
        data: bytes = _zstd().compress(raw)
        return data

    @classmethod
    def decode(cls, body: int, value: bytes) -> LabelIndex:
        try:
            raw = _unzstd().decompress(value)
            magic, n = _HEAD.unpack_from(raw)
            if magic != _MAGIC:
                raise ValueError("bad magic")
            end = _HEAD.size + n * RECORD.itemsize
            records = np.frombuffer(raw[_HEAD.size : end], dtype=RECORD)
            meta = json.loads(raw[end:] or b"{}")
        except (zstandard.ZstdError, ValueError, struct.error) as e:
            raise StorageError(f"corrupt label index of {body}: {e}") from e
        index = cls(body, {}, meta)
        for z, y, x, sv, count in records.tolist():
            index.blocks.setdefault((z, y, x), {})[sv] = count
        return index


def index_voxels(body: int, value: bytes) -> int:
    """The voxel count of a body from its stored index value, without building the
    :class:`LabelIndex` (listings of many bodies' sizes)."""
    try:
        raw = _unzstd().decompress(value)
        magic, n = _HEAD.unpack_from(raw)
        if magic != _MAGIC:
            raise ValueError("bad magic")
        records = np.frombuffer(raw, dtype=RECORD, count=n, offset=_HEAD.size)
    except (zstandard.ZstdError, ValueError, struct.error) as e:
        raise StorageError(f"corrupt label index of {body}: {e}") from e
    return int(records["count"].sum(dtype=np.uint64))


def _zstd() -> zstandard.ZstdCompressor:
    c: zstandard.ZstdCompressor | None = getattr(_local, "zstd", None)
    if c is None:
        c = _local.zstd = zstandard.ZstdCompressor(level=1)
    return c


def _unzstd() -> zstandard.ZstdDecompressor:
    d: zstandard.ZstdDecompressor | None = getattr(_local, "unzstd", None)
    if d is None:
        d = _local.unzstd = zstandard.ZstdDecompressor()
    return d


def count_labels(block: np.ndarray) -> dict[int, int]:
    """``{label: voxels}`` of the nonzero labels of ``block``.

    Counted over runs of equal ids (:class:`~voxhub.codecs.label_runs.LabelRuns`), not
    voxels: ≈0.4 ms a 64³ uint64 block, against ≈4 ms for ``np.unique``'s sort, which
    bounded the speed of every label write.
    """
    return LabelRuns.of(block).counts()
