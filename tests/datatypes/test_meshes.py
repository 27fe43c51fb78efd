"""Meshes of bodies (voxhub.datatypes.meshes), on embedded label volumes of 8³ blocks.

For any body: the LOD 0 mesh is closed (every edge in exactly two triangles) and its
vertex bounds are the body's voxel bounding box in nm; the multilod files follow
neuroglancer's spec (manifest layout, Z-order, fragment sizes summing to the data, an
octree where each node's parent exists, no LOD > 0 triangle across its node's half
planes) and decode (DracoPy + the spec's formula) to the same surface.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import voxhub
from voxhub.datatypes.meshes import body as body_module
from voxhub.datatypes.meshes.body import BodyMesh, Triangles, body_mesh, triangles_from_files
from voxhub.datatypes.meshes.multilod import (
    VERTEX_BITS,
    Manifest,
    decode_fragment,
    fragment_vertices,
    zorder,
)
from voxhub.errors import InvalidRequest, NotFound, TooLarge

pytest.importorskip("zmesh")
pytest.importorskip("DracoPy")

VOXEL = (10.0, 4.0, 2.0)  # z, y, x nm: anisotropic, so axis mix-ups show
BODY = 5


def labels_with(mask: np.ndarray, offset: tuple[int, int, int] = (3, 9, 17)) -> Any:
    node = voxhub.open("memory://").create_repo("mesh").master
    lv = node.create_labels("seg", block_shape=(8, 8, 8), voxel_size=VOXEL)
    data = np.where(mask, BODY, 0).astype(np.uint64)
    if not mask[0, 0, 0]:
        data[0, 0, 0] = 7  # another body next to it
    lv.write(offset, data)
    return lv


def edge_counts(faces: np.ndarray) -> np.ndarray:
    f = faces.astype(np.int64)
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return counts


def bbox_nm(mask: np.ndarray, offset: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    where = np.argwhere(mask)
    lo = (where.min(axis=0) + offset) * VOXEL
    hi = (where.max(axis=0) + 1 + offset) * VOXEL
    return lo[::-1], hi[::-1]  # x, y, z


def check_files(files: BodyMesh) -> Manifest:
    """The manifest and fragments obey neuroglancer's spec; returns the manifest."""
    manifest = Manifest.decode(files.manifest)
    assert manifest.encode() == files.manifest
    assert sum(sum(s) for s in manifest.sizes) == len(files.data)
    lods = len(manifest.lod_scales)
    assert manifest.lod_scales == sorted(manifest.lod_scales)
    for lod, positions in enumerate(manifest.positions):
        codes = [zorder(p) for p in positions]
        assert codes == sorted(codes)  # Z-curve order, x lowest
        if lod + 1 < lods:  # every node's parent is a node of the next LOD
            parents = set(manifest.positions[lod + 1])
            assert {(x // 2, y // 2, z // 2) for x, y, z in positions} <= parents
    half = 2 ** (VERTEX_BITS - 1)  # neuroglancer's partition point
    starts = manifest.offsets()
    for lod in range(1, lods):
        for at, size in zip(starts[lod], manifest.sizes[lod], strict=True):
            quantized, faces = decode_fragment(files.data[at : at + size])
            corners = quantized[faces]  # (m, 3 vertices, 3 axes)
            low = (corners <= half).all(axis=1)
            high = (corners >= half).all(axis=1)
            assert (low | high).all(), "a LOD > 0 triangle crosses its node's half plane"
    return manifest


masks = arrays(bool, st.tuples(*[st.integers(1, 14)] * 3), elements=st.booleans())


@settings(max_examples=25, deadline=None)
@given(mask=masks)
def test_any_body_mesh_is_closed_bounded_and_well_encoded(mask: np.ndarray) -> None:
    if not mask.any():
        mask = mask.copy()
        mask[-1, -1, -1] = True
    offset = (3, 9, 17)
    lv = labels_with(mask, offset)
    mesh = lv.mesh(BODY)
    assert set(edge_counts(mesh.faces).tolist()) == {2}  # closed: no hole, no seam
    lo, hi = bbox_nm(mask, offset)
    np.testing.assert_allclose(mesh.vertices.min(axis=0), lo)
    np.testing.assert_allclose(mesh.vertices.max(axis=0), hi)
    files = body_mesh(lv._instance, BODY)
    check_files(files)
    decoded = triangles_from_files(files)
    assert decoded.faces.shape == mesh.faces.shape
    same_surface(decoded, mesh)


def same_surface(a: Triangles, b: Triangles) -> None:
    """The same vertices (to the 16-bit quantization of an 8-voxel node) and triangles."""
    tol = max(VOXEL) * 8 / 2**VERTEX_BITS * 2
    np.testing.assert_allclose(np.sort(a.vertices, axis=0), np.sort(b.vertices, axis=0), atol=tol)
    assert len(a.vertices) == len(b.vertices)


def test_sphere_across_blocks_has_lods_and_lies_on_its_surface() -> None:
    r = 13
    z, y, x = np.indices((2 * r + 3,) * 3) - (r + 1)
    mask = x**2 + y**2 + z**2 <= r**2
    lv = labels_with(mask, (0, 0, 0))
    mesh = lv.mesh(BODY)
    assert set(edge_counts(mesh.faces).tolist()) == {2}
    # in voxel units, every vertex lies within a voxel of the sphere of radius r + 1/2
    centre = (np.array([r + 1, r + 1, r + 1]) + 0.5) * VOXEL
    radius = np.linalg.norm((mesh.vertices - centre[::-1]) / np.asarray(VOXEL[::-1]), axis=1)
    assert np.abs(radius - (r + 0.5)).max() < 1.0
    manifest = check_files(body_mesh(lv._instance, BODY))
    counts = [len(p) for p in manifest.positions]
    assert len(counts) == 3  # 4 blocks across: LOD 2 is one node
    assert counts[0] > counts[1] > counts[2] == 1
    assert manifest.chunk_shape == (16.0, 32.0, 80.0)  # an 8³ block in nm, x y z
    # LOD k meshes the ball pooled into cells of 2**k voxels: its extent, rounded out
    files = body_mesh(lv._instance, BODY)
    lo, hi = mesh.vertices.min(axis=0), mesh.vertices.max(axis=0)
    for lod, starts in enumerate(manifest.offsets()):
        cell = 2**lod * np.asarray(VOXEL[::-1])
        found = [
            fragment_vertices(manifest, lod, p, decode_fragment(files.data[at : at + n])[0])
            for p, at, n in zip(manifest.positions[lod], starts, manifest.sizes[lod], strict=True)
        ]
        every = np.concatenate(found)
        # pooling sets whole cells (aligned to the body's first block, here the origin)
        np.testing.assert_allclose(every.min(axis=0), np.floor(lo / cell) * cell, atol=0.05)
        np.testing.assert_allclose(every.max(axis=0), np.ceil(hi / cell) * cell, atol=0.05)


def test_absent_body_and_bad_ids_are_refused() -> None:
    lv = labels_with(np.ones((2, 2, 2), bool))
    with pytest.raises(NotFound):
        lv.mesh(99)
    for bad in (0, -1, 2**64, "5"):
        with pytest.raises(InvalidRequest):
            lv.mesh(bad)


def test_a_body_too_wide_for_the_budget_is_meshed_at_a_coarser_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    node = voxhub.open("memory://").create_repo("wide").master
    lv = node.create_labels("seg", block_shape=(8, 8, 8), voxel_size=VOXEL, max_scale=1)
    lv[0:8, 0:8, 0:64] = np.full((8, 8, 64), BODY, np.uint64)  # 8 blocks, 4 at level 1
    fine = Manifest.decode(body_mesh(lv._instance, BODY).manifest)
    monkeypatch.setattr(body_module, "MAX_BLOCKS", 4)
    coarse = Manifest.decode(body_mesh(lv._instance, BODY).manifest)
    assert coarse.chunk_shape == tuple(2 * s for s in fine.chunk_shape)  # level-1 blocks
    np.testing.assert_allclose(lv.mesh(BODY).vertices.max(axis=0), [128, 32, 80])
    monkeypatch.setattr(body_module, "MAX_BLOCKS", 3)
    with pytest.raises(TooLarge, match="spans 4 blocks even at pyramid level 1"):
        lv.mesh(BODY)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_manifest_parser_refuses_garbage_with_a_typed_error(data: bytes) -> None:
    try:
        manifest = Manifest.decode(data)
    except InvalidRequest:
        return
    assert manifest.encode() == data
