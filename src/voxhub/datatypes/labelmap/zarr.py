"""A labelmap instance as a Zarr v3 / OME-Zarr 0.5 multiscale group, computed on request:
uint64 chunks of body ids through the mapping at the node, or of the stored supervoxel
ids for the supervoxel view.

The group, the arrays and their geometry are the image view's
(:mod:`voxhub.datatypes.imageblk.zarr`): one chunk is one stored block, absent when the
block was never written.
"""

from __future__ import annotations

from voxhub.blocks import BlockLayout
from voxhub.datatypes.imageblk.zarr import encode_chunk
from voxhub.datatypes.labelmap.mapping import map_array
from voxhub.versioning.protocols import VersionedReader


def label_chunk(
    reader: VersionedReader,
    layout: BlockLayout,
    value: bytes | memoryview | None,
    *,
    supervoxels: bool,
) -> bytes | None:
    """The chunk of a block whose stored value is ``value`` (body ids through the mapping
    at ``reader``'s node unless ``supervoxels``); ``None`` if it was never written
    (absent: all background)."""
    if value is None:
        return None
    labels = layout.codec.decode(bytes(value), layout.block_shape, layout.dtype)
    return encode_chunk(labels if supervoxels else map_array(reader, labels))
