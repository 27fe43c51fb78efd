"""One stored block served as a compressed_segmentation cutout without decoding it.

neuroglancer's ``dvid://`` source asks a labelmap for 64³ chunks aligned to 64
(``raw/0_1_2/64_64_64/x_y_z?compression=googlegzip``, neuroglancer_dvid.md §2d): with
64³ ``cseg`` blocks each such chunk is one stored block, whose bare stream is already the
answer (one channel, 8³ encoding blocks, the channel offset word first). Decoding it,
mapping 64³ voxels to bodies and encoding again took most of the ≈8-20 ms of such a
request; here the mapping is applied to the block's tables only
(:func:`~voxhub.datatypes.labelmap.cseg_streams.map_cseg`).
"""

from __future__ import annotations

import functools
from functools import partial

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.codecs.cseg import encode_google
from voxhub.datatypes.labelmap.cseg_streams import checked_words, map_cseg
from voxhub.datatypes.labelmap.mapping import bodies_array
from voxhub.datatypes.labelmap.native_transcode import is_cseg_labels
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader


def single_block(layout: BlockLayout, box: Box) -> Vec3 | None:
    """The coordinate of the one block ``box`` is exactly, if it is one."""
    shape = layout.block_shape
    if box.shape != shape or not layout.grid.aligned(box):
        return None
    return (box.start[0] // shape[0], box.start[1] // shape[1], box.start[2] // shape[2])


@functools.lru_cache(maxsize=8)
def _background_stream(shape: Vec3) -> bytes:
    return encode_google(np.zeros(shape, np.uint64))


def stored_google(
    reader: VersionedReader, layout: BlockLayout, box: Box, *, supervoxels: bool
) -> bytes | None:
    """The compressed_segmentation encoding of the labels of ``box`` (bodies unless
    ``supervoxels``) when ``box`` is exactly one ``cseg`` block of ``layout``; ``None``
    otherwise (the caller decodes). Raises ``CodecError`` for a malformed stored block."""
    coord = single_block(layout, box) if is_cseg_labels(layout) else None
    if coord is None:
        return None
    value = reader.get(layout.tkey(coord))
    if value is None:  # never written: background
        return _background_stream(layout.block_shape)
    return google_of_stored(reader, layout, value, supervoxels=supervoxels)


def google_of_stored(
    reader: VersionedReader, layout: BlockLayout, value: bytes, *, supervoxels: bool
) -> bytes:
    """The compressed_segmentation encoding of one stored ``cseg`` block ``value`` (bodies
    through the mapping at ``reader``'s node unless ``supervoxels``)."""
    if supervoxels:
        return checked_words(value, layout.block_shape)
    # one scan of the mapping keys finds them all (none: the stream is returned as is)
    return map_cseg(value, layout.block_shape, partial(bodies_array, reader))
