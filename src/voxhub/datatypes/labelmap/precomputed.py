"""A labelmap instance as a neuroglancer precomputed segmentation (unsharded), computed
on request: ``compressed_segmentation`` chunks of body ids through the mapping at the
node, or of the stored supervoxel ids for the supervoxel view.

The geometry (scale keys, bounds on the block grid, one chunk = one stored block) is the
image view's (:mod:`voxhub.datatypes.imageblk.precomputed`). A stored ``cseg`` block is
already a compressed_segmentation chunk; only its tables are mapped
(:func:`~voxhub.datatypes.labelmap.chunk_read.google_of_stored`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.codecs.cseg import encode_google
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.precomputed import volume_info
from voxhub.datatypes.labelmap.chunk_read import google_of_stored
from voxhub.datatypes.labelmap.cseg_streams import map_cseg
from voxhub.datatypes.labelmap.mapping import map_array
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

#: the compressed_segmentation encoding block of the chunks served (that of stored blocks)
CSEG_BLOCK = [8, 8, 8]
#: the directory of the bodies' segment properties, relative to the view
SEGMENT_PROPERTIES = "segment_properties"


def labels_info(
    config: ImageConfig, extents: Sequence[Box | None], *, properties: bool = False
) -> dict[str, Any]:
    """The ``info`` of a labelmap's precomputed view (bodies and supervoxels alike);
    ``properties`` lists the bodies' ``segment_properties`` directory."""
    info = volume_info(
        config,
        extents,
        kind="segmentation",
        encoding="compressed_segmentation",
        scale_fields={"compressed_segmentation_block_size": CSEG_BLOCK},
    )
    if properties:
        info["segment_properties"] = SEGMENT_PROPERTIES
    return info


def cseg_chunk(
    reader: VersionedReader, layout: BlockLayout, coord: Vec3, *, supervoxels: bool
) -> bytes | None:
    """The compressed_segmentation chunk of the block at ``coord`` (body ids unless
    ``supervoxels``); ``None`` if the block was never written (a 404: all background)."""
    value = reader.get(layout.tkey(coord))
    if value is None:
        return None
    return cseg_of_stored(reader, layout, bytes(value), supervoxels=supervoxels)


def cseg_of_stored(
    reader: VersionedReader,
    layout: BlockLayout,
    value: bytes,
    *,
    supervoxels: bool,
    bodies: Callable[[np.ndarray], np.ndarray] | None = None,
) -> bytes:
    """:func:`cseg_chunk` of a block whose stored value was read already; ``bodies``
    (the body of each of the distinct supervoxels, ascending) replaces the mapping at
    ``reader``'s node for a block stored as ``cseg``."""
    if is_cseg_labels(layout):
        if supervoxels or bodies is None:
            return google_of_stored(reader, layout, value, supervoxels=supervoxels)
        return map_cseg(value, layout.block_shape, bodies)
    labels = layout.codec.decode(value, layout.block_shape, layout.dtype)
    return encode_google(labels if supervoxels else map_array(reader, labels))
