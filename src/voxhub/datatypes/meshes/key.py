"""What a body's mesh at an open node is made of, as a digest: the part of its cache key
that changes when, and only when, the body's voxels do.

A mesh reads the body's label index (its blocks, and which of its supervoxels each holds)
and, in the blocks of the level meshed that the body fills only in part, the body's voxel
mask. Other bodies' voxels in those blocks do not matter. So the digest is one of the
index value (any merge, split, cleave or count change of the body changes it) and of the
body's *mask* in each partial block, never of the blocks' stored values: painting another
body into a block this body shares rewrites the block but leaves this body's mask, so its
cached mesh stays (issue 12: "invalidated by mutations of that body only"), while moving
the body's voxels inside a block with unchanged per-block counts changes the mask.

Cost: masking the partial blocks (on the ``cseg`` compressed form, no full decode) is
about a tenth of making the mesh, more than a cached answer may take. A block's mask
depends only on its stored value and the supervoxels looked for, so the mask digest is
memoized under a hash of exactly those (:class:`MaskMemo`; the server keeps one per
process): a cached lookup hashes the stored values and masks only blocks rewritten since
(bench: ``python -m bench.views_mesh``, "key" figures). A committed node's blocks never
change; its key needs the index digest only.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voxhub.blocks.pool import scratch
from voxhub.cache_stats import cache_stats
from voxhub.codecs.cseg import CsegCodec
from voxhub.codecs.cseg_mask import cseg_member_mask
from voxhub.datatypes.labelmap.body_blocks import body_blocks
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.meshes.body import mesh_level
from voxhub.errors import StorageError

if TYPE_CHECKING:
    from voxhub.blocks.layout import BlockLayout
    from voxhub.datatypes.labelmap.instance import LabelInstance

_DIGEST = 16  # bytes of a block's mask digest (blake2b)
#: lookups of a block's mask digest in the memo (a miss masks the block)
MASK_STATS = cache_stats("mesh_mask_digest")


class DigestMemo(Protocol):
    """Where computed mask digests are kept: ``get`` is ``None`` for an unknown key."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...


class MaskMemo:
    """A thread-safe LRU of mask digests, bounded by its number of entries (each ~200
    bytes with Python's overhead: 65,536 take ~13 MB and cover 256 bodies of 256 blocks).

    >>> memo = MaskMemo(max_entries=1)
    >>> memo.put(b"a", b"1"); memo.put(b"b", b"2")
    >>> memo.get(b"a") is None, memo.get(b"b")
    (True, b'2')
    """

    def __init__(self, max_entries: int = 1 << 16) -> None:
        self._max = max_entries
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: bytes, value: bytes) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def voxels_digest(
    instance: LabelInstance, index: LabelIndex, memo: DigestMemo | None = None
) -> str:
    """A digest of the body's voxel mask in each block of the level meshed that it fills
    only in part (the blocks its mesh reads; filled blocks are named by the index)."""
    scale = mesh_level(instance, index)
    config = instance.config
    layout = config.layout(scale)
    wanted = set(index.supervoxel_sizes())
    plan = body_blocks(index, wanted, config.scale_factor(scale), config.block_shape)
    partial = [c for c in plan.coords if c not in plan.filled]
    values = instance.view.get_many([layout.tkey(c) for c in partial])
    digest = hashlib.sha256(struct.pack("<q", scale))
    shape = struct.pack("<3q", *layout.block_shape)
    for coord, value in zip(partial, values, strict=True):
        if value is None:
            raise StorageError(f"label index of {index.body} names missing block {coord}")
        ids = np.asarray(plan.present[coord], dtype=np.uint64)
        key = hashlib.blake2b(value, digest_size=_DIGEST)
        key.update(shape)
        key.update(ids.tobytes())
        memo_key = key.digest()
        mask = None if memo is None else memo.get(memo_key)
        if memo is not None:
            MASK_STATS.count(hit=mask is not None)
        if mask is None:
            mask = _mask_digest(layout, value, ids)
            if memo is not None:
                memo.put(memo_key, mask)
        digest.update(struct.pack("<3q", *coord))
        digest.update(mask)
    return digest.hexdigest()


def _mask_digest(layout: BlockLayout, value: bytes | memoryview, ids: np.ndarray) -> bytes:
    """blake2b of the packed bool mask of the voxels of one stored block in ``ids``."""
    shape = layout.block_shape
    if isinstance(layout.codec, CsegCodec) and layout.dtype == np.uint64:
        mask = cseg_member_mask(value, shape, ids, scratch(shape, np.dtype(bool)))
    else:
        mask = np.isin(layout.codec.decode(bytes(value), shape, layout.dtype), ids)
    return hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=_DIGEST).digest()
