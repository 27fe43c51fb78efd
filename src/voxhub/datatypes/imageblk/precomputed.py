"""An image instance as a neuroglancer precomputed volume (unsharded), computed on request.

One precomputed chunk is one stored block: the ``info`` declares the stored block shape as
the chunk size and each scale's bounds rounded out to the block grid, so every chunk key a
client asks for names exactly one block and is answered from that block alone (no copy of
the data, nothing cut or assembled). Scale keys are the voxel size in x, y and z
(``8_8_8``, ``16_16_16``), as neuroglancer's own tools name them.

Axes: voxhub is ``(z, y, x)`` everywhere; precomputed is ``[x, y, z]`` in ``info`` and in
chunk keys, while chunk bytes are x-fastest, i.e. the C-order bytes of a ``(z, y, x)``
block, so a block's bytes are a ``raw`` chunk as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader

_CHUNK_KEY = re.compile(r"(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)_(-?\d+)-(-?\d+)")
_LITTLE_ENDIAN = {"uint8": "<u1", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8"}
_LITTLE_ENDIAN["float32"] = "<f4"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def resolution(config: ImageConfig, scale: int) -> list[int | float]:
    """The voxel size of ``scale`` in precomputed's ``[x, y, z]`` order."""
    factor = config.scale_factor(scale)
    zyx = [config.voxel_size[i] * factor[i] for i in range(3)]
    return [_number(v) for v in reversed(zyx)]


def scale_key(config: ImageConfig, scale: int) -> str:
    """The directory name of ``scale``'s chunks: its voxel size, ``x_y_z``."""
    return "_".join(str(v) for v in resolution(config, scale))


def scale_of_key(config: ImageConfig, key: str) -> int:
    """The pyramid level whose :func:`scale_key` is ``key``; NotFound otherwise, as a
    file server answers for a directory that is not there (cloud-volume asks for
    ``{view}/provenance`` under every view, e.g. ``jpeg/provenance``, and takes only a
    404 for "none")."""
    for scale in range(config.max_scale + 1):
        if scale_key(config, scale) == key:
            return scale
    keys = ", ".join(scale_key(config, s) for s in range(config.max_scale + 1))
    raise NotFound(f"scale key {key!r} is not one of this volume's scales: {keys}")


def grid_bounds(config: ImageConfig, extents: Box | None) -> Box:
    """``extents`` (of one scale) rounded out to the block grid; one block at the origin
    for a volume with nothing written (a precomputed volume cannot be empty)."""
    shape = config.block_shape
    if extents is None:
        return Box((0, 0, 0), shape)
    start = tuple(extents.start[i] // shape[i] * shape[i] for i in range(3))
    stop = tuple(-(-extents.stop[i] // shape[i]) * shape[i] for i in range(3))
    return Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))


def volume_info(
    config: ImageConfig,
    extents: Sequence[Box | None],
    *,
    kind: str,
    encoding: str,
    scale_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``info`` JSON of a volume whose scale ``s`` covers ``extents[s]``: ``kind`` is
    ``image`` or ``segmentation``; ``scale_fields`` are added to every scale."""
    scales = []
    for scale, box in enumerate(extents):
        bounds = grid_bounds(config, box)
        scales.append(
            {
                "key": scale_key(config, scale),
                "size": list(reversed(bounds.shape)),
                "resolution": resolution(config, scale),
                "voxel_offset": list(reversed(bounds.start)),
                "chunk_sizes": [list(reversed(config.block_shape))],
                "encoding": encoding,
                **(scale_fields or {}),
            }
        )
    return {
        "@type": "neuroglancer_multiscale_volume",
        "type": kind,
        "data_type": config.dtype,
        "num_channels": 1,
        "scales": scales,
    }


def chunk_block(config: ImageConfig, key: str) -> Vec3:
    """The block coordinate ``(z, y, x)`` a chunk key ``x0-x1_y0-y1_z0-z1`` names: 400
    naming what is wrong unless it is exactly one block of the grid."""
    found = _CHUNK_KEY.fullmatch(key)
    if found is None:
        raise InvalidRequest(f"chunk key {key!r} is not x0-x1_y0-y1_z0-z1 (voxel ranges)")
    x0, x1, y0, y1, z0, z1 = (int(v) for v in found.groups())
    box = Box((z0, y0, x0), (z1, y1, x1))
    shape = config.block_shape
    if box.shape != shape or any(box.start[i] % shape[i] for i in range(3)):
        raise InvalidRequest(
            f"chunk key {key!r} is not one chunk of the grid: chunks are "
            f"{'x'.join(str(s) for s in reversed(shape))} voxels (x, y, z) at multiples of that"
        )
    return (z0 // shape[0], y0 // shape[1], x0 // shape[2])


def raw_chunk(reader: VersionedReader, layout: BlockLayout, coord: Vec3) -> bytes | None:
    """The ``raw`` chunk of the block at ``coord``: its voxels, little-endian, x fastest;
    ``None`` when the block was never written and the background is zero (a 404, which
    clients fill with zeros); the background block when that is not zero."""
    found = raw_chunk_stored(reader, layout, coord)
    return None if found is None else found[0]


def raw_chunk_stored(
    reader: VersionedReader, layout: BlockLayout, coord: Vec3
) -> tuple[bytes, int] | None:
    """:func:`raw_chunk` and the size of the stored value it came from (0 for the
    background block): how well the block compresses, known without compressing it."""
    return raw_of_stored(layout, reader.get(layout.tkey(coord)))


def raw_of_stored(layout: BlockLayout, value: bytes | None) -> tuple[bytes, int] | None:
    """:func:`raw_chunk_stored` of a block whose stored value (``None``: never written) was
    read already."""
    little = np.dtype(_LITTLE_ENDIAN.get(layout.dtype.name, layout.dtype.str))
    if value is None:
        if layout.background == 0:
            return None
        return layout.background_block().astype(little, copy=False).tobytes(), 0
    block = layout.codec.decode(bytes(value), layout.block_shape, layout.dtype)
    return np.ascontiguousarray(block, dtype=little).tobytes(), len(value)
