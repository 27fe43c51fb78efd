"""neuroglancer's ``neuroglancer_multilod_draco`` mesh format (unsharded): encoder and reader.

Spec: neuroglancer ``src/datasource/precomputed/meshes.md``. Per body, a binary manifest
(``{body}.index``) and the fragment data (``{body}``: the Draco meshes of the octree
nodes, LOD 0 first, read by neuroglancer with ``Range`` requests).

Coordinates: the "stored model" space is nanometres (the ``info`` transform is the
identity), so one mesh ``info`` serves bodies meshed at any pyramid scale; the manifest
carries each body's octree geometry. A node's vertices are quantized to
``vertex_quantization_bits`` over its box, ``chunk_shape * 2**lod`` from
``grid_origin + position * chunk_shape * 2**lod``, shifted by the LOD's vertex offset.

Draco: neuroglancer decodes positions *without* Draco's dequantization and reads the
quantized integers. So the vertices are handed to Draco normalized to the node box
``[0, 1]`` with quantization range 1 and origin 0: Draco's ``floor(v * (2**bits - 1) +
0.5)`` is then exactly the spec's integer (and ``0.5``, a node's half plane, lands on
neuroglancer's partition point ``2**(bits - 1)``).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voxhub.errors import InvalidRequest
from voxhub.optional import require

VERTEX_BITS = 16
_MAX_Q = 2**VERTEX_BITS - 1
_DRACO_LEVEL = 5  # 0-10: 5 is ~1/3 smaller than 1 for ~10 % more time


def mesh_info() -> dict[str, Any]:
    """The mesh directory's ``info`` (nm in, nm out: the identity transform)."""
    return {
        "@type": "neuroglancer_multilod_draco",
        "vertex_quantization_bits": VERTEX_BITS,
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        "lod_scale_multiplier": 1,
    }


@dataclass(frozen=True)
class Fragment:
    """One octree node's mesh: position ``(x, y, z)`` in nodes of its LOD, vertices
    ``(x, y, z)`` as fractions of its box (``[0, 1]``), triangles."""

    lod: int
    position: tuple[int, int, int]
    vertices: npt.NDArray[np.float32]
    faces: npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Manifest:
    """A body's ``{body}.index``, all lengths in nm, arrays ``(x, y, z)``."""

    chunk_shape: tuple[float, float, float]
    grid_origin: tuple[float, float, float]
    lod_scales: list[float]
    vertex_offsets: list[tuple[float, float, float]]
    positions: list[list[tuple[int, int, int]]]  # per LOD, in Z-curve order
    sizes: list[list[int]]  # bytes of each fragment in ``{body}``, same order

    def encode(self) -> bytes:
        lods = len(self.lod_scales)
        out = [
            struct.pack("<3f3fI", *self.chunk_shape, *self.grid_origin, lods),
            struct.pack(f"<{lods}f", *self.lod_scales),
            np.asarray(self.vertex_offsets, "<f4").reshape(lods * 3).tobytes(),
            struct.pack(f"<{lods}I", *(len(p) for p in self.positions)),
        ]
        for positions, sizes in zip(self.positions, self.sizes, strict=True):
            out.append(np.asarray(positions, "<u4").reshape(-1, 3).T.tobytes())
            out.append(np.asarray(sizes, "<u4").tobytes())
        return b"".join(out)

    @classmethod
    def decode(cls, data: bytes) -> Manifest:
        """Parse a manifest (InvalidRequest if it is not one)."""
        try:
            head = struct.unpack_from("<3f3fI", data)
            lods = head[6]
            if not 0 < lods <= 32:  # a 2**32-fold octree already spans any volume
                raise ValueError(f"{lods} levels of detail")
            at = 28
            scales = list(struct.unpack_from(f"<{lods}f", data, at))
            at += 4 * lods
            offsets = np.frombuffer(data, "<f4", lods * 3, at).reshape(lods, 3)
            at += 12 * lods
            counts = struct.unpack_from(f"<{lods}I", data, at)
            at += 4 * lods
            positions, sizes = [], []
            for n in counts:
                pos = np.frombuffer(data, "<u4", 3 * n, at).reshape(3, n).T
                at += 12 * n
                positions.append([(int(x), int(y), int(z)) for x, y, z in pos])
                sizes.append([int(s) for s in np.frombuffer(data, "<u4", n, at)])
                at += 4 * n
        except (struct.error, ValueError) as e:
            raise InvalidRequest(f"not a multilod mesh manifest: {e}") from e
        if at != len(data):
            raise InvalidRequest(f"multilod manifest: {len(data) - at} bytes left over")
        return cls(
            (head[0], head[1], head[2]),
            (head[3], head[4], head[5]),
            scales,
            [(float(a), float(b), float(c)) for a, b, c in offsets],
            positions,
            sizes,
        )

    def offsets(self) -> list[list[int]]:
        """Where each fragment starts in ``{body}`` (LOD 0 first)."""
        out, at = [], 0
        for sizes in self.sizes:
            starts = []
            for size in sizes:
                starts.append(at)
                at += size
            out.append(starts)
        return out


@functools.cache
def _draco() -> Any:
    return require("DracoPy", "Draco mesh encoding")


def zorder(position: tuple[int, int, int]) -> int:
    """The Z-curve index neuroglancer orders a LOD's nodes by (x lowest bit, then y, z)."""
    code = 0
    for bit in range(21):
        for axis in range(3):
            code |= ((position[axis] >> bit) & 1) << (3 * bit + axis)
    return code


def encode_fragment(vertices: npt.NDArray[np.float32], faces: npt.NDArray[np.uint32]) -> bytes:
    """Draco bytes of one node mesh (``vertices`` in ``[0, 1]``, see module)."""
    data: bytes = _draco().encode(
        np.clip(vertices, 0.0, 1.0).astype(np.float32),
        faces,
        quantization_bits=VERTEX_BITS,
        quantization_range=1.0,
        quantization_origin=[0.0, 0.0, 0.0],
        compression_level=_DRACO_LEVEL,
    )
    return data


def decode_fragment(data: bytes) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The quantized ``(x, y, z)`` integers and the triangles of one fragment."""
    try:
        mesh = _draco().decode(data)
    except Exception as e:  # DracoPy raises its own types for corrupt input
        raise InvalidRequest(f"not a Draco mesh fragment: {e}") from e
    points = np.asarray(mesh.points, np.float64).reshape(-1, 3)
    quantized = np.rint(points * _MAX_Q).astype(np.uint32)
    return quantized, np.asarray(mesh.faces, np.uint32).reshape(-1, 3)


def encode_body(
    fragments: Sequence[Fragment],
    chunk_shape: tuple[float, float, float],
    grid_origin: tuple[float, float, float],
    cell: tuple[float, float, float],
    lods: int,
) -> tuple[Manifest, bytes]:
    """The manifest and fragment data of a body. ``cell`` is the LOD 0 cell (a voxel of
    the level meshed), LOD ``k``'s is ``2**k`` of them: its scale, and minus half of it
    the LOD's vertex offset (vertices start at the centre of a node's first sample)."""
    by_lod: list[list[Fragment]] = [[] for _ in range(lods)]
    for f in fragments:
        by_lod[f.lod].append(f)
    positions, sizes, blobs = [], [], []
    for group in by_lod:
        group.sort(key=lambda f: zorder(f.position))
        encoded = [encode_fragment(f.vertices, f.faces) for f in group]
        positions.append([f.position for f in group])
        sizes.append([len(b) for b in encoded])
        blobs.extend(encoded)
    return Manifest(
        chunk_shape,
        grid_origin,
        [float(2**k * max(cell)) for k in range(lods)],
        [
            (-0.5 * 2**k * cell[0], -0.5 * 2**k * cell[1], -0.5 * 2**k * cell[2])
            for k in range(lods)
        ],
        positions,
        sizes,
    ), b"".join(blobs)


def fragment_vertices(
    manifest: Manifest, lod: int, position: tuple[int, int, int], quantized: npt.NDArray[Any]
) -> npt.NDArray[np.float64]:
    """Stored-model (nm) ``(x, y, z)`` of a fragment's quantized vertices (the spec's
    formula)."""
    size = np.asarray(manifest.chunk_shape) * 2**lod
    origin = np.asarray(manifest.grid_origin) + np.asarray(manifest.vertex_offsets[lod])
    return origin + size * (np.asarray(position) + quantized / _MAX_Q)  # type: ignore[no-any-return]
