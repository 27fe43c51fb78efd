"""An image instance as a Zarr v3 / OME-Zarr 0.5 multiscale group, computed on request.

The group's ``zarr.json`` carries the OME-Zarr 0.5 ``multiscales`` metadata (axes z, y, x
in the instance's voxel units, a scale transform per level) and, inline, the metadata of
its arrays ``s0``, ``s1``, … (zarr-python's consolidated metadata: over HTTP a reader
cannot list a group's members). Array ``s{n}`` is pyramid level n.

**Geometry.** An array is the numpy API's domain of its level (``vol.at_scale(n)[:]``):
index ``[z, y, x]`` is voxel ``(z, y, x)``, its shape the stop corner of the level's
extents (voxels at negative coordinates are outside both). One chunk is one stored block
(the instance's block shape), so chunk ``c/i/j/k`` is block ``(i, j, k)`` and is answered
from that block alone; a block never written is absent (404), which readers fill with the
``fill_value``, the instance's background.

**Codecs.** ``bytes`` (little endian) then ``zstd``: a block stored as one zstd frame is
served as it is (the frame of its little-endian voxels); other blocks are decoded and
compressed again, including blocks stored as plane frames (``frame_planes``): they are a
valid zstd stream, but tensorstore decodes only the first frame of a chunk.

**Sharded layout.** The same arrays with ``sharding_indexed``: a shard covers
``shard_blocks`` blocks along each axis (:func:`shard_blocks`, 256 voxels a side for 64³
blocks), its inner chunks are the blocks, its index is checksummed with ``crc32c``
(:mod:`voxhub.codecs.zarr_shard`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout
from voxhub.codecs import zstd_frames
from voxhub.codecs.zstd import ZstdCodec
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.geometry import Box, Vec3

#: zstd level of chunks compressed here (the block codec's sweet spot, DESIGN.md)
ZSTD_LEVEL = 1
#: the side of a shard in voxels (per axis; at least one block)
SHARD_VOXELS = 256
_CHUNK_CODEC = ZstdCodec(ZSTD_LEVEL)  # one frame per block
#: the codec chain of a chunk: what :func:`encode_chunk` produces
CHUNK_CODECS: list[dict[str, Any]] = [
    {"name": "bytes", "configuration": {"endian": "little"}},
    {"name": "zstd", "configuration": {"level": ZSTD_LEVEL, "checksum": False}},
]
_INDEX_CODECS: list[dict[str, Any]] = [
    {"name": "bytes", "configuration": {"endian": "little"}},
    {"name": "crc32c"},
]
#: OME-Zarr's space units (UDUNITS-2 names), and the spellings of voxhub's voxel units
_OME_UNITS = {"angstrom", "picometer", "nanometer", "micrometer", "millimeter", "meter"}
_UNIT_ALIASES = {"nm": "nanometer", "um": "micrometer", "µm": "micrometer", "micron": "micrometer"}
_UNIT_ALIASES |= {"mm": "millimeter", "m": "meter", "pm": "picometer", "å": "angstrom"}


def ome_unit(voxel_units: str) -> str | None:
    """The OME-Zarr unit of voxhub's ``voxel_units`` (``"nanometers"`` → ``"nanometer"``);
    ``None`` for a unit OME does not name (the axes then carry none).

    >>> ome_unit("nanometers"), ome_unit("um"), ome_unit("furlongs")
    ('nanometer', 'micrometer', None)
    """
    name = voxel_units.strip().lower()
    name = _UNIT_ALIASES.get(name, name)
    if name.endswith("s") and name[:-1] in _OME_UNITS | set(_UNIT_ALIASES):
        name = _UNIT_ALIASES.get(name[:-1], name[:-1])
    return name if name in _OME_UNITS else None


def shard_blocks(config: ImageConfig) -> Vec3:
    """Blocks per shard along (z, y, x): :data:`SHARD_VOXELS` voxels, at least one block."""
    b = config.block_shape
    return (
        max(1, SHARD_VOXELS // b[0]),
        max(1, SHARD_VOXELS // b[1]),
        max(1, SHARD_VOXELS // b[2]),
    )


def shard_block_coords(config: ImageConfig, shard: Vec3) -> list[Vec3]:
    """The block coordinates of the shard at grid position ``shard``, in the C order of
    its inner chunks (the order of its index)."""
    n = shard_blocks(config)
    z0, y0, x0 = (shard[i] * n[i] for i in range(3))
    return [(z0 + z, y0 + y, x0 + x) for z in range(n[0]) for y in range(n[1]) for x in range(n[2])]


def array_shape(extents: Box | None) -> Vec3:
    """The shape of a level's array: its extents' stop corner (the numpy API's domain)."""
    if extents is None:
        return (0, 0, 0)
    z, y, x = extents.stop
    return (max(0, z), max(0, y), max(0, x))


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def array_metadata(config: ImageConfig, shape: Vec3, *, sharded: bool) -> dict[str, Any]:
    """The ``zarr.json`` of one level's array of ``shape``."""
    block = list(config.block_shape)
    if sharded:
        shard = [b * n for b, n in zip(block, shard_blocks(config), strict=True)]
        sharding = {
            "chunk_shape": block,
            "codecs": CHUNK_CODECS,
            "index_codecs": _INDEX_CODECS,
            "index_location": "end",
        }
        codecs: list[dict[str, Any]] = [{"name": "sharding_indexed", "configuration": sharding}]
        chunk = shard
    else:
        codecs, chunk = CHUNK_CODECS, block
    return {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(shape),
        "data_type": config.dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunk}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": _number(config.background)
        if config.dtype == "float32"
        else int(config.background),
        "codecs": codecs,
        "attributes": {},
        "dimension_names": ["z", "y", "x"],
    }


def _dataset(config: ImageConfig, scale: int) -> dict[str, Any]:
    """One level of ``multiscales``: its voxel size, and the shift that centres its voxels
    on the scale-0 voxels they average (a 2x mean puts voxel i at 2i + 0.5)."""
    factor = config.scale_factor(scale)
    size = [_number(v * f) for v, f in zip(config.voxel_size, factor, strict=True)]
    transforms: list[dict[str, Any]] = [{"type": "scale", "scale": size}]
    if scale > 0:
        shift = [_number(v * (f - 1) / 2) for v, f in zip(config.voxel_size, factor, strict=True)]
        transforms.append({"type": "translation", "translation": shift})
    return {"path": f"s{scale}", "coordinateTransformations": transforms}


def group_metadata(
    config: ImageConfig, name: str, extents: Sequence[Box | None], *, sharded: bool
) -> dict[str, Any]:
    """The OME-Zarr 0.5 group ``zarr.json`` of a volume whose level ``s`` spans
    ``extents[s]``, with every array's metadata consolidated inline."""
    unit = ome_unit(config.voxel_units)
    axes = [{"name": a, "type": "space", **({"unit": unit} if unit else {})} for a in "zyx"]
    multiscale = {
        "name": name,
        "axes": axes,
        "datasets": [_dataset(config, s) for s in range(len(extents))],
        "type": "mean",
    }
    arrays = {
        f"s{s}": array_metadata(config, array_shape(box), sharded=sharded)
        for s, box in enumerate(extents)
    }
    return {
        "zarr_format": 3,
        "node_type": "group",
        "attributes": {"ome": {"version": "0.5", "multiscales": [multiscale]}},
        "consolidated_metadata": {"kind": "inline", "must_understand": False, "metadata": arrays},
    }


def encode_chunk(block: np.ndarray) -> bytes:
    """A block's voxels as a chunk of :data:`CHUNK_CODECS`: one zstd frame of the
    little-endian voxels (what a single-frame zstd block codec stores)."""
    return _CHUNK_CODEC.encode(block)


def serves_stored_bytes(layout: BlockLayout) -> bool:
    """Whether the chunks of ``layout``'s blocks are their stored values as they are
    (single-frame zstd blocks): nothing to encode, so nothing worth caching."""
    codec = layout.codec
    if type(codec) is not ZstdCodec:
        return False
    return codec.frame_planes == 0 or codec.frame_planes >= layout.block_shape[0]


def _one_frame(value: bytes | memoryview) -> bool:
    try:
        return zstd_frames.split(value) is None
    except zstd_frames.FrameIndexError:
        return False  # decoding says what is wrong


def image_chunk(layout: BlockLayout, value: bytes | memoryview | None) -> bytes | None:
    """The chunk of a block whose stored value is ``value``; ``None`` if it was never
    written (absent: the reader fills it with the background)."""
    if value is None:
        return None
    if type(layout.codec) is ZstdCodec and _one_frame(value):
        return bytes(value)  # already the zstd frame of its little-endian voxels
    return encode_chunk(layout.codec.decode(bytes(value), layout.block_shape, layout.dtype))
