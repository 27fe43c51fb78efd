"""The precomputed mesh view through the real app: the labelmap ``info`` names it, the
files decode to the body's surface, answers are view answers (ranges, validators), hostile
names are 4xx, and a body's cached mesh survives mutations of other bodies only."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what we ship with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

import voxhub
from voxhub.datatypes.meshes.body import BodyMesh, triangles_from_files
from voxhub.datatypes.meshes.key import MASK_STATS
from voxhub.server.app import create_app
from voxhub.server.precomputed_mesh import MESH_STATS

pytest.importorskip("zmesh")
pytest.importorskip("DracoPy")

A, B, C = 11, 2**40 + 12, 13  # bodies in blocks of their own (B ≥ 2^32: uint64 ids)


@dataclass(frozen=True)
class Env:
    http: TestClient
    hub: Any
    root: str  # committed
    child: str  # open


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    store = tmp_path_factory.mktemp("mesh") / "store"
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("meshes").master
        kw: dict[str, Any] = {"block_shape": (16, 16, 16), "voxel_size": (8, 8, 8)}
        root.create_volume("em", "uint8", **kw)[0:16, 0:16, 0:16] = 1
        seg = root.create_labels("seg", **kw)
        labels = np.zeros((32, 48, 64), np.uint64)
        labels[2:12, 3:14, 4:30] = A  # two blocks
        labels[20:30, 20:44, 40:60] = B
        labels[20:30, 2:10, 2:10] = C
        seg[0:32, 0:48, 0:64] = labels
        root.commit("segmented")
        child = root.newversion("proofreading")
        with TestClient(create_app(hub)) as http:
            yield Env(http, hub, root.uuid, child.uuid)


def get(env: Env, path: str, **headers: str) -> Any:
    return env.http.get(path, headers=headers)


def files(env: Env, node: str, body: int) -> BodyMesh:
    base = f"/precomputed/{node}/seg/mesh/{body}"
    manifest, data = get(env, f"{base}.index"), get(env, base)
    assert manifest.status_code == data.status_code == 200
    return BodyMesh(manifest.content, data.content)


def test_the_labels_info_names_the_mesh_directory(env: Env) -> None:
    base = f"/precomputed/{env.root}/seg"
    assert get(env, f"{base}/info").json()["mesh"] == "mesh"
    assert "mesh" not in get(env, f"{base}/supervoxels/info").json()
    info = get(env, f"{base}/mesh/info").json()
    assert info["@type"] == "neuroglancer_multilod_draco"
    assert info["vertex_quantization_bits"] in (10, 16)


@pytest.mark.parametrize("node", ["root", "child"])
def test_the_files_decode_to_the_bodys_surface(env: Env, node: str) -> None:
    uuid = env.root if node == "root" else env.child
    seen = triangles_from_files(files(env, uuid, A))
    # the box [2, 12) x [3, 14) x [4, 30) voxels of 8 nm, as x, y, z
    np.testing.assert_allclose(seen.vertices.min(axis=0), [32, 24, 16], atol=0.01)
    np.testing.assert_allclose(seen.vertices.max(axis=0), [240, 112, 96], atol=0.01)
    expected = env.hub.node(uuid).labels("seg").mesh(A)
    assert seen.faces.shape == expected.faces.shape


def test_answers_are_view_answers(env: Env) -> None:
    path = f"/precomputed/{env.root}/seg/mesh/{B}"
    whole = get(env, path)
    assert "immutable" in whole.headers["cache-control"]  # committed
    assert get(env, path, range="bytes=0-9").content == whole.content[:10]
    tail = get(env, path, range="bytes=-7")
    assert (tail.status_code, tail.content) == (206, whole.content[-7:])
    past = get(env, path, range=f"bytes={len(whole.content)}-")
    assert (past.status_code, past.headers["content-range"]) == (
        416,
        f"bytes */{len(whole.content)}",
    )
    assert get(env, path, **{"if-none-match": whole.headers["etag"]}).status_code == 304
    child = get(env, f"/precomputed/{env.child}/seg/mesh/{B}.index")
    assert child.headers["cache-control"] == "no-cache"
    moving = get(env, f"/precomputed/:master~1/seg/mesh/{B}")  # the root, by a branch
    assert moving.content == whole.content
    assert moving.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("seg/mesh/99", 404),  # no such body
        ("seg/mesh/99.index", 404),
        ("em/mesh/1", 404),  # not a labelmap
        ("em/mesh/info", 404),
        ("nope/mesh/1", 404),
        ("seg/mesh/0", 400),  # background
        ("seg/mesh/18446744073709551616", 400),  # 2**64
        ("seg/mesh/99999999999999999999999999", 400),
        ("seg/mesh/-1", 400),
        ("seg/mesh/1.5", 400),
        ("seg/mesh/11.index.index", 400),
        ("seg/mesh/11:0", 400),  # the legacy manifest name: this view is multilod
        ("seg/mesh/%00", 400),
        ("seg/mesh/abc", 400),
    ],
)
def test_hostile_names_are_client_errors(env: Env, path: str, status: int) -> None:
    assert get(env, f"/precomputed/{env.root}/{path}").status_code == status


def test_a_bodys_mesh_is_remade_after_its_mutations_only(env: Env) -> None:
    node = env.hub.node(env.child)
    labels = node.labels("seg")
    before = {body: files(env, env.child, body) for body in (A, B)}
    hits, misses = MESH_STATS.hits, MESH_STATS.misses
    labels.merge(B, [C])  # B changes; A does not
    after_merge = files(env, env.child, B)
    assert after_merge != before[B]
    assert files(env, env.child, A) == before[A]
    # B's manifest made it again (a miss), its data came with it (a hit); A's: two hits
    assert (MESH_STATS.hits - hits, MESH_STATS.misses - misses) == (3, 1)
    # paint B elsewhere: in block (0, 0, 0), which A shares, outside A's voxels
    labels[0:2, 0:2, 0:2] = np.full((2, 2, 2), B, np.uint64)
    painted = triangles_from_files(files(env, env.child, B))
    assert painted.vertices[:, 2].min() == pytest.approx(0, abs=0.01)  # z: B starts at 0
    masked = MASK_STATS.misses
    assert files(env, env.child, A) == before[A]
    # A's mesh was not made again (two hits); only the rewritten block was masked again
    assert (MESH_STATS.hits - hits, MESH_STATS.misses - misses) == (6, 2)
    assert MASK_STATS.misses - masked == 1
    # the committed root never changed
    assert files(env, env.root, B) == files(env, env.root, B) != after_merge


def test_voxels_moved_inside_a_block_remake_the_mesh(env: Env) -> None:
    # A fills z 2..12 of block (0, 0, 0); moving its first plane to z 12 keeps every
    # per-block count, so its label index, as it was: the mesh must still change
    labels = env.hub.node(env.child).labels("seg")
    index_before = labels.index(A)
    before = triangles_from_files(files(env, env.child, A))
    moved = labels[0:16, 0:16, 0:16].copy()
    plane = moved[2] == A
    moved[2][plane], moved[12][plane] = 0, A
    labels[0:16, 0:16, 0:16] = moved
    assert labels.index(A) == index_before
    after = triangles_from_files(files(env, env.child, A))
    z = 2  # vertices are x, y, z in nm (8 nm voxels)
    assert after.vertices[:, z].max() > before.vertices[:, z].max()


def test_splitting_a_body_remakes_its_mesh(env: Env) -> None:
    labels = env.hub.node(env.child).labels("seg")
    before = files(env, env.child, B)
    misses = MESH_STATS.misses
    # B's box [20:30, 20:44, 40:60]: split off its x = 40 column (runs are x, y, z, length)
    runs = np.array([[40, y, z, 1] for z in range(20, 30) for y in range(20, 44)], np.int32)
    new_body = labels.split(B, runs).new_body
    assert labels.size(new_body) == 240
    after = files(env, env.child, B)
    assert MESH_STATS.misses - misses == 1
    assert after != before

    def on_old_face(mesh: BodyMesh) -> int:  # vertices (x, y, z nm) on the plane x = 40
        v = triangles_from_files(mesh).vertices
        return int(np.count_nonzero((np.abs(v[:, 0] - 320) < 0.01) & (v[:, 2] > 150)))

    assert on_old_face(before) > 0
    assert on_old_face(after) == 0
