"""Creating labelmap instances with DVID's string settings; info and repo JSON."""

from __future__ import annotations

import re

import pytest

from voxhub.datatypes.imageblk import ImageConfig
from voxhub.errors import InvalidRequest
from voxhub.server.settings import parse_new_instance

from .conftest import BIG, Env


def test_labelmap_settings_build_the_create_labels_config() -> None:
    new = parse_new_instance(
        {
            "typename": "labelmap",
            "dataname": "segmentation",
            "BlockSize": "32,64,16",
            "VoxelSize": "4,4,40",
            "VoxelUnits": "nanometers",
            "MaxDownresLevel": "2",
            "IndexedLabels": "true",
            "Compression": "gzip",
        }
    )
    assert (new.typename, new.name, new.versioned) == ("labelmap", "segmentation", True)
    want = ImageConfig.create(
        dtype="uint64",
        block_shape=(16, 64, 32),
        voxel_size=(40.0, 4.0, 4.0),
        codec={"name": "cseg"},
        max_scale=2,
    )
    assert new.config == want.to_json()
    default = parse_new_instance({"typename": "labelmap", "dataname": "s"}).config
    assert default["block_shape"] == [64, 64, 64]
    assert default["voxel_size"] == [8.0, 8.0, 8.0]
    assert default["max_scale"] == 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("BlockSize", "24,24,24", "multiple of 16"),
        ("BlockSize", "8,8,8", "multiple of 16"),
        ("IndexedLabels", "maybe", "IndexedLabels.*true or false"),
        ("CountLabels", "sometimes", "CountLabels.*true or false"),
        ("MaxDownresLevel", "x", "MaxDownresLevel.*integer"),
        ("MaxDownresLevel", "256", "MaxDownresLevel.*integer 0..255"),
        ("Compression", "gzip:x", "Compression.*level"),
    ],
)
def test_labelmap_settings_refused(key: str, value: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_new_instance({"typename": "labelmap", "dataname": "s", key: value})


def test_create_over_http_then_use(env: Env) -> None:
    c = env.client
    body = {"typename": "labelmap", "dataname": "seg2", "BlockSize": "16,16,16"}
    r = c.post(f"/api/repo/{env.node.uuid}/instance", json=body)
    assert r.status_code == 200, r.text
    added = {"result": f"Added seg2 [labelmap] to node {env.node.uuid}", "IgnoredSettings": []}
    assert r.json() == added
    ones = bytes([1] + [0] * 7) * 16**3
    assert c.post(env.url("raw/0_1_2/16_16_16/0_0_0", name="seg2"), content=ones).status_code == 200
    assert c.get(env.url("size/1", name="seg2")).json() == {"voxels": 4096}
    bad = {**body, "dataname": "seg3", "BlockSize": "20,20,20"}
    r = c.post(f"/api/repo/{env.node.uuid}/instance", json=bad)
    assert r.status_code == 400
    assert "multiple of 16" in r.json()["error"]


def test_info_json(env: Env) -> None:
    info = env.client.get(env.url("info")).json()
    assert info["Base"]["TypeName"] == "labelmap"
    assert info["Base"]["TypeURL"] == "github.com/voxhub/voxhub/datatypes/labelmap"
    ext = info["Extended"]
    assert ext["MaxLabel"] == BIG
    assert ext["NextLabel"] == 4
    assert ext["MaxRepoLabel"] == BIG
    assert ext["IndexedLabels"] is True
    assert ext["MaxDownresLevel"] == 1
    assert ext["BlockSize"] == [16, 16, 16]
    assert info["Extents"] == {"MinPoint": [0, 0, 0], "MaxPoint": [47, 15, 15]}
    repos = env.client.get("/api/repos/info").json()
    (repo,) = repos.values()
    assert repo["DataInstances"]["seg"] == info


def test_help_lists_every_route_with_its_docstring(env: Env) -> None:
    r = env.client.get("/api/help/labelmap")
    assert r.status_code == 200
    for line in (
        "GET /info",
        "GET /sparsevol/{label}",
        "POST /split-supervoxel/{label}",
        "GET /index/{label}",
        "POST /nextlabel/{count}",
    ):
        method, path = line.split()
        assert re.search(rf"^  {method} +{re.escape(path)}  \S", r.text, re.MULTILINE), line
    assert "HEAD is 200 if any, else 204." in r.text
