"""Pyramid levels under DVID's names (``em_1``, ``em_2``): what neuroglancer's ``dvid://``
source needs to show an image's coarse scales.

The first test makes exactly the requests neuroglancer's datasource makes
(``src/datasource/dvid/frontend.ts`` and ``backend.ts``: one ``/api/repos/info``, the
scales found as consecutive ``<name>_<level>`` instances, 64³ chunks from the base
instance's bounds scaled per level, ``raw/0_1_2/.../jpeg`` or ``subvolblocks`` by
``Base.Compression``) and checks every chunk of every level against ``?scale=`` of the
base instance and the numpy API's pyramid.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from voxhub.client import EmbeddedHub, Node
from voxhub.geometry import Box
from voxhub.server import create_app

from .conftest import TestClient

SHAPE = (96, 128, 128)  # z, y, x, written at z = 16: MinPoint is not chunk-aligned
ORIGIN = (16, 0, 0)
CHUNK = 64  # neuroglancer's dvid source always uses 64-voxel chunks
PAGE = {"Origin": "https://neuroglancer-demo.appspot.com"}  # the viewer's page, another origin


@dataclass
class Levels:
    client: TestClient
    hub: EmbeddedHub
    node: Node


@pytest.fixture(scope="module")
def levels() -> Iterator[Levels]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("ng", "levels for neuroglancer").master
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, size=SHAPE, dtype=np.uint8)
    for name, codec in (("em", "zstd"), ("emjpeg", "jpeg")):
        vol = node.create_volume(name, "uint8", codec=codec, max_scale=2, voxel_size=(8, 8, 8))
        vol.write(ORIGIN, data)
    node.create_volume("flat", "uint8", block_shape=(8, 8, 8)).write((0, 0, 0), data[:8, :8, :8])
    with TestClient(create_app(hub)) as client:
        yield Levels(client, hub, node)
    hub.close()


# -- neuroglancer's dvid datasource, request for request --------------------------------
def ng_repo_instances(repos_info: dict[str, Any], node_key: str) -> dict[str, Any]:
    """``DataInstances`` of the repo holding the node ``node_key`` (frontend.ts
    ``RepositoryInfo`` and ``getDataSource``: every repo must parse)."""
    matches = []
    for key, repo in repos_info.items():
        assert isinstance(repo["Alias"], str)
        assert isinstance(repo["Description"], str)
        assert isinstance(repo["DataInstances"], dict)
        for node in [key, *repo["DAG"]["Nodes"]]:
            if node.startswith(node_key.split(":")[0]):
                matches.append(repo)
    assert len(matches) >= 1
    instances: dict[str, Any] = matches[0]["DataInstances"]
    return instances


def ng_levels(instances: dict[str, Any], name: str) -> int:
    """``VolumeDataInstanceInfo``: uint8blk scales are ``name_1``, ``name_2``, ...
    consecutive, and each listed instance must itself parse."""
    count = 1
    while f"{name}_{count}" in instances:
        ng_check_instance(instances[f"{name}_{count}"])
        count += 1
    return count


def ng_check_instance(info: dict[str, Any]) -> None:
    assert info["Base"]["TypeName"] == "uint8blk"
    assert isinstance(info["Base"]["Compression"], str)
    ext = info["Extended"]
    assert ext["Values"][0]["DataType"] == "uint8"
    assert len(ext["VoxelSize"]) == 3
    assert all(v > 0 for v in ext["VoxelSize"])
    assert len(ext["BlockSize"]) == 3
    assert all(v > 0 for v in ext["BlockSize"])
    assert all(isinstance(v, int) for v in ext["MinPoint"] + ext["MaxPoint"])


def ng_chunks(info: dict[str, Any], level: int) -> list[tuple[list[int], list[int]]]:
    """(offset, size) in x,y,z of every chunk of ``level`` (``getSources``)."""
    lo, hi = [], []
    for i in range(3):
        low = math.floor(info["Extended"]["MinPoint"][i] / 2**level)
        lo.append(low - low % CHUNK)
        up = math.ceil((info["Extended"]["MaxPoint"][i] + 1) / 2**level)
        hi.append(up + (-up % CHUNK))
    return [
        ([x, y, z], [CHUNK] * 3)
        for z in range(lo[2], hi[2], CHUNK)
        for y in range(lo[1], hi[1], CHUNK)
        for x in range(lo[0], hi[0], CHUNK)
    ]


def ng_chunk_path(node_key: str, name: str, info: dict[str, Any], offset: list[int]) -> str:
    """``DVIDVolumeChunkSource.getPath`` plus ``app=Neuroglancer``."""
    size = "_".join([str(CHUNK)] * 3)
    at = "_".join(map(str, offset))
    if "jpeg" in info["Base"]["Compression"]:
        path = f"/api/node/{node_key}/{name}/subvolblocks/{size}/{at}"
    else:
        path = f"/api/node/{node_key}/{name}/raw/0_1_2/{size}/{at}/jpeg"
    return path + "?app=Neuroglancer"


@pytest.mark.parametrize("base", ["em", "emjpeg"])
def test_neuroglancer_reads_each_level_from_its_dvid_name(levels: Levels, base: str) -> None:
    c = levels.client
    node_key = levels.node.uuid[:6] + ":master"
    repos = c.get("/api/repos/info", headers=PAGE)
    assert repos.status_code == 200
    instances = ng_repo_instances(repos.json(), node_key)
    ng_check_instance(instances[base])
    assert ng_levels(instances, base) == 3  # scales 0, 1, 2
    assert f"{base}_3" not in instances
    assert "flat_1" not in instances
    info = instances[base]
    vol = levels.node.volume(base)
    for level in (1, 2):
        name = f"{base}_{level}"
        chunks = ng_chunks(info, level)
        assert chunks, level
        for offset, size in chunks:
            ng = c.get(ng_chunk_path(node_key, name, instances[name], offset), headers=PAGE)
            assert ng.status_code == 200, ng.text
            assert "access-control-allow-origin" in ng.headers
            same = ng_chunk_path(node_key, base, info, offset) + f"&scale={level}"
            assert ng.content == c.get(same).content  # byte-identical to ?scale=N
            # the voxels themselves are the stored level, not scale 0
            octet = f"/api/node/{node_key}/{name}/raw/0_1_2/64_64_64/{'_'.join(map(str, offset))}"
            got = np.frombuffer(c.get(octet).content, np.uint8).reshape(size[::-1])
            x, y, z = offset
            chunk = Box.from_shape((CHUNK,) * 3, (z, y, x))
            np.testing.assert_array_equal(got, vol.read(chunk, level))
            assert not np.array_equal(got, vol.read(chunk, 0))


def test_level_info_is_the_level(levels: Levels) -> None:
    c = levels.client
    url = f"/api/node/{levels.node.uuid}"
    base = c.get(f"{url}/em/info").json()
    repo = c.get(f"/api/repo/{levels.node.uuid}/info").json()["DataInstances"]
    assert {"em_1", "em_2", "emjpeg_1", "emjpeg_2"} <= set(repo)
    assert "em_3" not in repo
    assert c.head(f"{url}/em_1/raw/0_1_2/8_8_8/0_0_0").status_code == 200
    for level in (1, 2):
        info = c.get(f"{url}/em_{level}/info").json()
        assert (
            info
            == c.get("/api/repos/info").json()[levels.node.uuid]["DataInstances"][f"em_{level}"]
        )
        assert info["Base"]["Name"] == f"em_{level}"
        assert info["Base"]["DataUUID"] == base["Base"]["DataUUID"]
        ext = info["Extended"]
        assert ext["VoxelSize"] == [8.0 * 2**level] * 3
        assert ext["BlockSize"] == base["Extended"]["BlockSize"]
        # x,y,z inclusive bounds of the level: z from 16 >> level, x,y to 127 >> level
        assert ext["MinPoint"] == [0, 0, 16 >> level]
        assert ext["MaxPoint"] == [127 >> level, 127 >> level, 111 >> level]
        assert ext["MaxDownresLevel"] == 2 - level
        assert ext["PyramidLevelOf"] == {"Name": "em", "Scale": level}
        meta = c.get(f"{url}/em_{level}/metadata").json()
        assert [a["Resolution"] for a in meta["Axes"]] == [8.0 * 2**level] * 3
        extents = c.get(f"{url}/em_{level}/extents").json()
        assert extents == {"MinPoint": ext["MinPoint"], "MaxPoint": ext["MaxPoint"]}


def test_scale_on_a_level_counts_from_that_level(levels: Levels) -> None:
    c = levels.client
    url = f"/api/node/{levels.node.uuid}"
    box = "raw/0_1_2/32_32_16/0_0_8"
    assert c.get(f"{url}/em_1/{box}?scale=1").content == c.get(f"{url}/em/{box}?scale=2").content
    blocks = "specificblocks?blocks=0,0,0&compression=uncompressed"
    assert c.get(f"{url}/em_1/{blocks}").content == c.get(f"{url}/em/{blocks}&scale=1").content
    too_far = c.get(f"{url}/em_1/{box}?scale=2")
    assert too_far.status_code == 400
    assert "em_1" in too_far.json()["error"]
    assert c.get(f"{url}/em_3/info").status_code == 404  # beyond the pyramid
    assert c.get(f"{url}/flat_1/info").status_code == 404  # no pyramid at all
    assert c.get(f"{url}/em_01/info").status_code == 404
    unserved = c.get(f"{url}/em_1/pyramid")
    assert unserved.status_code == 404
    assert "pyramid level 1" in unserved.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "raw/0_1_2/8_8_8/0_0_0"),
        ("POST", "blocks/0_0_0/1"),
        ("POST", "extents"),
        ("POST", "pyramid"),
        ("DELETE", "info"),
    ],
)
def test_writes_to_a_level_are_refused_naming_the_base(
    levels: Levels, method: str, path: str
) -> None:
    r = levels.client.request(
        method, f"/api/node/{levels.node.uuid}/em_1/{path}", content=bytes(512)
    )
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert "'em'" in r.json()["error"]
    assert "read-only" in r.json()["error"]


def test_creating_a_level_name_over_http_is_refused() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("r", "").master
    node.create_volume("em", "uint8", max_scale=1)
    with TestClient(create_app(hub)) as c:
        dvid = {"typename": "uint8blk", "dataname": "em_1"}
        r = c.post(f"/api/repo/{node.uuid}/instance", json=dvid)
        assert r.status_code == 409
        assert "pyramid level 1" in r.json()["error"]
        own = {"name": "em_1", "typename": "uint8blk", "config": {"dtype": "uint8"}}
        r = c.post(f"/api/voxhub/node/{node.uuid}/instance", json=own)
        assert r.status_code == 409
        assert "'em'" in r.json()["error"]
        ok = c.post(f"/api/repo/{node.uuid}/instance", json={**dvid, "dataname": "em_2"})
        assert ok.status_code == 200, ok.text  # em has no level 2
    hub.close()


def test_a_real_instance_wins_over_a_level_name() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("r", "").master
    # an instance named em_1 made before em had levels (taking the name later is refused)
    real = node.create_volume("em_1", "uint8", block_shape=(8, 8, 8))
    real.write((0, 0, 0), np.full((8, 8, 8), 7, np.uint8))
    node.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=2)
    node.volume("em").write((0, 0, 0), np.full((16, 16, 16), 200, np.uint8))
    with TestClient(create_app(hub)) as c:
        listed = c.get("/api/repos/info").json()[node.uuid]["DataInstances"]
        assert "PyramidLevelOf" not in listed["em_1"]["Extended"]
        assert listed["em_2"]["Extended"]["PyramidLevelOf"] == {"Name": "em", "Scale": 2}
        raw = c.get(f"/api/node/{node.uuid}/em_1/raw/0_1_2/8_8_8/0_0_0")
        assert raw.content == bytes([7]) * 512
        write = c.post(f"/api/node/{node.uuid}/em_1/raw/0_1_2/8_8_8/0_0_0", content=bytes(512))
        assert write.status_code == 200, write.text
    hub.close()


def test_level_routes_are_labelled_by_template(levels: Levels) -> None:
    c = levels.client
    c.get(f"/api/node/{levels.node.uuid}/em_2/subvolblocks/64_64_64/0_0_0")
    text = c.get("/metrics").text
    assert 'route="/api/node/{uuid}/{name}/subvolblocks/{size}/{offset}"' in text
    assert "em_2" not in text


def test_level_names_follow_the_pyramid() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("r", "").master
    node.create_volume("em", "uint8", block_shape=(8, 8, 8), max_scale=2)
    with TestClient(create_app(hub)) as c:

        def listed() -> set[str]:
            return set(c.get("/api/repos/info").json()[node.uuid]["DataInstances"])

        assert listed() == {"em", "em_1", "em_2"}
        hub.service.catalog.update_instance_config(
            node.uuid, "em", lambda config: {**config, "max_scale": 1}
        )
        assert listed() == {"em", "em_1"}
        assert c.get(f"/api/node/{node.uuid}/em_2/info").status_code == 404
        assert c.get(f"/api/node/{node.uuid}/em_1/info").status_code == 200
    hub.close()


def test_type_help_lists_the_level_routes(levels: Levels) -> None:
    text = levels.client.get("/api/help/uint8blk").text
    section = text.split("Pyramid levels as DVID names them")[1]
    assert "{name}_N" in section
    assert "GET    /raw/{dims}/{size}/{offset}" in section.split("Differences")[0]
    assert "POST" not in section.split("Differences")[0]  # read-only
    assert "Pyramid levels" not in levels.client.get("/api/help/labelmap").text
