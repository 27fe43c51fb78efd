"""The legacy precomputed mesh view (``mesh_legacy/``) of the session's served store: its
files parse as neuroglancer's legacy format into the body's closed surface, cloud-volume
reads them, and bad names are 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from tests.views.conftest import A, C, Views

pytest.importorskip("zmesh")
pytest.importorskip("DracoPy")


def parse_fragment(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ``(n, 3)`` and triangles ``(m, 3)`` of a legacy fragment (its spec)."""
    (count,) = np.frombuffer(data, "<u4", 1)
    vertices = np.frombuffer(data, "<f4", 3 * int(count), 4).reshape(-1, 3)
    faces = np.frombuffer(data, "<u4", offset=4 + 12 * int(count)).reshape(-1, 3)
    return vertices, faces


def edge_counts(faces: np.ndarray) -> np.ndarray:
    f = faces.astype(np.int64)
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    return np.unique(edges, axis=0, return_counts=True)[1]


@pytest.mark.parametrize("node", ["root", "child"])
def test_the_files_are_the_legacy_format_of_the_bodys_surface(views: Views, node: str) -> None:
    base = f"{views.url}/precomputed/{views.node(node)}/seg/mesh_legacy"
    with httpx.Client() as http:
        assert http.get(f"{base}/info").json() == {"@type": "neuroglancer_legacy_mesh"}
        manifest = http.get(f"{base}/{C}:0").json()
        assert manifest == {"fragments": [f"{C}:0:all"]}
        answer = http.get(f"{base}/{manifest['fragments'][0]}")
        answer.raise_for_status()
        vertices, faces = parse_fragment(answer.content)
        # C is the cube [40, 48)³ of 8 nm voxels: its surface spans 320..384 nm
        np.testing.assert_allclose(vertices.min(axis=0), [320] * 3)
        np.testing.assert_allclose(vertices.max(axis=0), [384] * 3)
        assert (edge_counts(faces) == 2).all()  # closed
        assert faces.max() < len(vertices)
        ranged = http.get(f"{base}/{C}:0:all", headers={"Range": "bytes=0-3"})
        assert (ranged.status_code, ranged.content) == (206, answer.content[:4])


def test_cloudvolume_reads_the_legacy_meshes(views: Views) -> None:
    cloudvolume = pytest.importorskip("cloudvolume")
    url = f"precomputed://{views.url}/precomputed/{views.child}/seg"
    volume: Any = cloudvolume.CloudVolume(url, mesh_dir="mesh_legacy", progress=False)
    mesh = volume.mesh.get(A)  # at the child, B is merged into A
    # A's pieces [:, 8:30, 4:60] and [:, 40:56, 10:20] (z, y, x) of 8 nm voxels, as x, y, z
    np.testing.assert_allclose(mesh.vertices.min(axis=0), [32, 64, 0])
    np.testing.assert_allclose(mesh.vertices.max(axis=0), [480, 448, 512])
    served = httpx.get(f"{views.url}/precomputed/{views.child}/seg/mesh_legacy/{A}:0:all")
    vertices, faces = parse_fragment(served.content)  # what it read: the legacy fragment
    assert (len(mesh.vertices), len(mesh.faces)) == (len(vertices), len(faces))


@pytest.mark.parametrize(
    ("name", "status"),
    [
        (f"{C}", 400),  # the multi-resolution name: this directory is legacy
        (f"{C}.index", 400),
        (f"{C}:1", 400),  # only LOD 0
        (f"{C}:0:other", 400),
        (f"{C}:0:all:all", 400),
        ("0:0", 400),  # background
        ("18446744073709551616:0", 400),  # 2**64
        ("99:0", 404),  # no such body
        ("99:0:all", 404),
    ],
)
def test_bad_names_are_client_errors(views: Views, name: str, status: int) -> None:
    path = f"{views.url}/precomputed/{views.root}/seg/mesh_legacy/{name}"
    assert httpx.get(path).status_code == status
    assert httpx.get(f"{views.url}/precomputed/{views.root}/em/mesh_legacy/info").status_code == 404
