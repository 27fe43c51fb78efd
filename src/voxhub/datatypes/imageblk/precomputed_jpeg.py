"""The ``jpeg`` encoding of a uint8 image's precomputed view, computed on request.

A precomputed jpeg chunk is one grayscale JPEG whose width is the chunk's x size and
whose height is y times z (rows ordered z, then y): exactly the image voxhub's own
``jpeg`` block codec stores (DVID's layout). So a block stored as jpeg is sent as it is
stored, with no decode and no loss beyond the one taken when it was written; a block
stored with any other codec is decoded and encoded at :data:`JPEG_QUALITY`.

Quality 90: on noisy EM it costs a mean absolute error of ~3 grey levels for a chunk
~3.8x smaller than raw (``../shared/reference/interop_and_performance.md`` §2.3, §4.2),
as the ``jpeg`` block codec defaults to.
The view is for viewers over slow links: readers that need the exact voxels read the
``raw`` view.
"""

from __future__ import annotations

from voxhub.blocks import BlockLayout
from voxhub.codecs import JpegCodec
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader

#: the JPEG quality (1..100) of chunks encoded from blocks stored with another codec
JPEG_QUALITY = 90
_ENCODER = JpegCodec(JPEG_QUALITY)


def jpeg_chunk(reader: VersionedReader, layout: BlockLayout, coord: Vec3) -> bytes | None:
    """The ``jpeg`` chunk of the uint8 block at ``coord``; ``None`` when the block was
    never written and the background is zero (a 404: clients fill zeros)."""
    value = reader.get(layout.tkey(coord))
    if value is None:
        if layout.background == 0:
            return None
        return _ENCODER.encode(layout.background_block())
    if isinstance(layout.codec, JpegCodec):
        return bytes(value)  # stored in the precomputed layout already
    return _ENCODER.encode(layout.codec.decode(bytes(value), layout.block_shape, layout.dtype))
