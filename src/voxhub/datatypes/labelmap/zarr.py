"""A labelmap instance as a Zarr v3 / OME-Zarr 0.5 multiscale group, computed on request:
uint64 chunks of body ids through the mapping at the node, or of the stored supervoxel
ids for the supervoxel view.

The group, the arrays and their geometry are the image view's
(:mod:`voxhub.datatypes.imageblk.zarr`): one chunk is one stored block, absent when the
block was never written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.codecs.cseg import decode_google
from voxhub.datatypes.imageblk.zarr import encode_chunk
from voxhub.datatypes.labelmap.cseg_streams import Mapping, map_cseg, table_labels
from voxhub.datatypes.labelmap.mapping import map_array
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels
from voxhub.versioning.protocols import VersionedReader


def label_chunk(
    reader: VersionedReader,
    layout: BlockLayout,
    value: bytes | memoryview | None,
    *,
    supervoxels: bool,
    bodies: Mapping | None = None,
) -> bytes | None:
    """The chunk of a block whose stored value is ``value`` (body ids through the mapping
    at ``reader``'s node unless ``supervoxels``, or through ``bodies`` for a block stored as
    cseg); ``None`` if it was never written (absent: all background)."""
    if value is None:
        return None
    if bodies is not None and not supervoxels and is_cseg_labels(layout):
        mapped = map_cseg(value, layout.block_shape, bodies)  # tables only, then decoded
        return encode_chunk(decode_google(mapped, layout.block_shape, np.uint64))
    labels = layout.codec.decode(bytes(value), layout.block_shape, layout.dtype)
    return encode_chunk(labels if supervoxels else map_array(reader, labels))


def stored_supervoxels(layout: BlockLayout, values: Sequence[bytes | None]) -> np.ndarray | None:
    """The distinct supervoxels (ascending) of the stored blocks ``values``, read from
    their cseg tables; ``None`` if the blocks are not stored as cseg."""
    if not is_cseg_labels(layout):
        return None
    present = [v for v in values if v is not None]
    if not present:
        return np.zeros(0, np.uint64)
    return table_labels(present, layout.block_shape)


def table_mapping(supervoxels: np.ndarray, bodies: np.ndarray) -> Mapping:
    """The body of each of some of ``supervoxels`` (ascending), from ``bodies`` (theirs)."""

    def lookup(distinct: np.ndarray) -> np.ndarray:
        where = np.searchsorted(supervoxels, distinct)
        if where.size and (
            where.max() >= supervoxels.size or not np.array_equal(supervoxels[where], distinct)
        ):
            raise ValueError("a supervoxel outside the table")  # cannot happen: same blocks
        return bodies[where]

    return lookup
