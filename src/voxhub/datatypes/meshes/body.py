"""The mesh of one body of a labelmap at one node, made on request from its label index.

The index names the blocks holding the body (and which of its supervoxels each holds);
those blocks are masked (a block the body fills is never read) at the finest pyramid
level where the body spans at most :data:`MAX_BLOCKS` blocks, so the memory and time of a
mesh follow the body, never the volume, and a huge body is meshed coarser rather than not
at all (:func:`mesh_level`). :mod:`.octree` meshes the masks per octree node and LOD,
:mod:`.multilod` encodes them.

What a mesh depends on is the body's label index (its blocks and supervoxels) and its
voxels in those blocks: the stored index value (:func:`index_digest`) and, at an open
node, the body's masks (:func:`.key.voxels_digest`) key a cached mesh, so mutations of
other bodies leave it alone.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voxhub.datatypes.labelmap.body_blocks import body_blocks
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import index_key
from voxhub.datatypes.labelmap.mutations import check_label
from voxhub.datatypes.meshes.multilod import (
    Fragment,
    Manifest,
    decode_fragment,
    encode_body,
    fragment_vertices,
)
from voxhub.datatypes.meshes.octree import Masks, NodeMesh, lod_count, node_meshes
from voxhub.errors import InvalidRequest, NotFound, TooLarge
from voxhub.geometry import Box, Vec3

if TYPE_CHECKING:  # the instance's mesh() calls in here
    from voxhub.datatypes.labelmap.instance import LabelInstance

#: blocks of the level meshed at most: 64 MiB of masks with 64³ blocks (+1/7 for LODs)
MAX_BLOCKS = 256
#: levels of detail at most (LOD k cells are 2**k voxels of the level meshed)
MAX_LODS = 6
_PACK = struct.Struct("<Q")


@dataclass(frozen=True)
class BodyMesh:
    """A body's ``{body}.index`` manifest and ``{body}`` fragment data."""

    manifest: bytes
    data: bytes

    def pack(self) -> bytes:
        """One value for a byte cache."""
        return _PACK.pack(len(self.manifest)) + self.manifest + self.data

    @classmethod
    def unpack(cls, value: bytes) -> BodyMesh:
        (n,) = _PACK.unpack_from(value)
        return cls(value[8 : 8 + n], value[8 + n :])


@dataclass(frozen=True)
class Triangles:
    """A closed triangle mesh: ``vertices`` ``(n, 3)`` in nm, columns **x, y, z** (as
    every mesh tool has them), ``faces`` ``(m, 3)`` indices into them."""

    vertices: npt.NDArray[np.float64]
    faces: npt.NDArray[np.uint32]


def index_digest(instance: LabelInstance, body: int) -> tuple[LabelIndex, str]:
    """The body's label index and a digest of its stored value (NotFound if absent)."""
    body = check_label(body, "body")
    value = instance.view.get(index_key(body))
    if value is None:
        raise NotFound(f"body {body} does not exist (no voxels) at this version")
    raw = bytes(value)
    return LabelIndex.decode(body, raw), hashlib.blake2b(raw, digest_size=16).hexdigest()


def mesh_level(instance: LabelInstance, index: LabelIndex) -> int:
    """The finest pyramid level at which the body spans at most :data:`MAX_BLOCKS`."""
    config = instance.config
    wanted = set(index.supervoxel_sizes())
    for scale in range(config.max_scale + 1):
        plan = body_blocks(index, wanted, config.scale_factor(scale), config.block_shape)
        if len(plan.coords) <= MAX_BLOCKS:
            return scale
    raise TooLarge(
        f"body {index.body} spans {len(plan.coords)} blocks even at pyramid level "
        f"{config.max_scale}; meshes are made from at most {MAX_BLOCKS} (build a deeper "
        "pyramid: POST .../build-pyramid, or labels.build_pyramid())"
    )


def _masks(instance: LabelInstance, body: int, scale: int) -> tuple[Masks, Vec3]:
    """The body's block masks at ``scale``, keyed relative to its lowest block corner."""
    shape = instance.config.block_shape

    def copy(box: Box, mask: np.ndarray) -> tuple[Vec3, np.ndarray]:
        start = box.start
        return (start[0] // shape[0], start[1] // shape[1], start[2] // shape[2]), mask.copy()

    found = instance.map_blocks(body, copy, scale=scale)
    if not found:
        raise NotFound(f"body {body} has no voxels at pyramid level {scale}")
    origin = tuple(min(c[a] for c, _ in found) for a in range(3))
    masks = {(c[0] - origin[0], c[1] - origin[1], c[2] - origin[2]): m for c, m in found}
    return masks, (origin[0], origin[1], origin[2])


@dataclass(frozen=True)
class _Geometry:
    """Where a body's octree sits, in nm, ``(x, y, z)``."""

    cell: tuple[float, float, float]  # one voxel of the level meshed
    chunk_shape: tuple[float, float, float]  # one block of it
    grid_origin: tuple[float, float, float]


def _geometry(instance: LabelInstance, scale: int, origin: Vec3) -> _Geometry:
    config = instance.config
    factor = config.scale_factor(scale)
    cell = [config.voxel_size[a] * factor[a] for a in range(3)]
    chunk = [cell[a] * config.block_shape[a] for a in range(3)]
    start = [chunk[a] * origin[a] for a in range(3)]
    return _Geometry(
        (cell[2], cell[1], cell[0]), (chunk[2], chunk[1], chunk[0]), (start[2], start[1], start[0])
    )


def _node_meshes(
    instance: LabelInstance, index: LabelIndex, *, lods: int
) -> tuple[list[NodeMesh], _Geometry, int]:
    scale = mesh_level(instance, index)
    masks, origin = _masks(instance, index.body, scale)
    shape = instance.config.block_shape
    count = lod_count(masks, lods, shape)
    meshes = list(node_meshes(masks, shape, count))
    return meshes, _geometry(instance, scale, origin), count


def _fragment(mesh: NodeMesh, shape: Vec3) -> Fragment:
    fractions = mesh.vertices / np.asarray(shape, np.float32)
    return Fragment(
        mesh.lod,
        (mesh.node[2], mesh.node[1], mesh.node[0]),
        np.ascontiguousarray(fractions[:, ::-1]),
        mesh.faces,
    )


def body_mesh(instance: LabelInstance, body: int, index: LabelIndex | None = None) -> BodyMesh:
    """The body's multi-resolution mesh files (NotFound if it has no voxels)."""
    if index is None:
        index, _ = index_digest(instance, body)
    meshes, geometry, lods = _node_meshes(instance, index, lods=MAX_LODS)
    shape = instance.config.block_shape
    manifest, data = encode_body(
        [_fragment(m, shape) for m in meshes],
        geometry.chunk_shape,
        geometry.grid_origin,
        geometry.cell,
        lods,
    )
    return BodyMesh(manifest.encode(), data)


def body_triangles(
    instance: LabelInstance, body: int, index: LabelIndex | None = None
) -> Triangles:
    """The body's finest mesh as one closed triangle mesh (LOD 0, node seams welded)."""
    if index is None:
        index, _ = index_digest(instance, body)
    meshes, geometry, _ = _node_meshes(instance, index, lods=1)
    shape = np.asarray(instance.config.block_shape, np.int64)
    # node coordinates are half-integers: twice the global sample coordinate is exact
    keys = [np.rint(2 * m.vertices).astype(np.int64) + 2 * shape * m.node for m in meshes]
    faces = [m.faces for m in meshes]
    grid = _welded(keys, faces)
    # sample coordinate c (zyx, from the body's lowest block, cell units) -> nm xyz
    cells = grid[0].astype(np.float64) / 2 - 1 + 0.5  # -1: the borrowed layer; +0.5: centre
    cell = np.asarray(geometry.cell)
    return Triangles(np.asarray(geometry.grid_origin) + cells[:, ::-1] * cell, grid[1])


def triangles_from_files(mesh: BodyMesh) -> Triangles:
    """LOD 0 of multi-resolution mesh files as one triangle mesh (seams welded): what a
    remote client gets from a server's mesh view."""
    manifest = Manifest.decode(mesh.manifest)
    if not manifest.positions or not manifest.positions[0]:
        return Triangles(np.zeros((0, 3)), np.zeros((0, 3), np.uint32))
    keys, faces, at = [], [], 0
    for position, size in zip(manifest.positions[0], manifest.sizes[0], strict=True):
        if at + size > len(mesh.data):
            raise InvalidRequest("mesh fragment data shorter than its manifest says")
        quantized, tris = decode_fragment(mesh.data[at : at + size])
        at += size
        lattice = quantized.astype(np.int64) + np.asarray(position, np.int64) * (2**16 - 1)
        keys.append(lattice)
        faces.append(tris)
    unique, tris = _welded(keys, faces)
    origin = (0, 0, 0)
    vertices = fragment_vertices(manifest, 0, origin, unique.astype(np.float64))
    return Triangles(vertices, tris)


def _welded(
    keys: list[npt.NDArray[np.int64]], faces: list[npt.NDArray[np.uint32]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    """One vertex per distinct key row, faces renumbered (seams between nodes closed)."""
    if not keys:
        return np.zeros((0, 3), np.int64), np.zeros((0, 3), np.uint32)
    offsets = np.cumsum([0] + [len(k) for k in keys[:-1]])
    every = np.concatenate(keys)
    unique, inverse = np.unique(every, axis=0, return_inverse=True)
    shifted = np.concatenate([f.astype(np.int64) + o for f, o in zip(faces, offsets, strict=True)])
    return unique, inverse.reshape(-1)[shifted].astype(np.uint32)
