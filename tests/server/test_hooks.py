"""The server reaches datatypes only through their registry hooks: a plug-in datatype with
its own ``describe_instance`` and ``ndstore`` hooks is described and cut out like a
built-in, and one without them gets the generic answers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from voxhub.datatypes import registry
from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.wire.ndstore_face import ChannelOpener, NdstoreChannel
from voxhub.geometry import Box
from voxhub.versioning.records import InstanceInfo

from .conftest import Env


class _Constant(NdstoreChannel):
    """A channel whose every voxel holds the node's version id."""

    def __init__(self, access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
        super().__init__(info, max_scale=0)
        self.value = access.catalog.node(node_uuid).version_id

    def read(self, fmt: str, box: Box, res: int, limit: int) -> tuple[bytes, str]:
        return np.full(box.shape, self.value, np.uint8).tobytes(), "application/octet-stream"


def _open(access: StoreAccess, node_uuid: str, info: InstanceInfo, limit: int) -> NdstoreChannel:
    return _Constant(access, node_uuid, info)


def _describe(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> dict[str, Any]:
    node = access.catalog.node(node_uuid)
    return {"Base": {"TypeName": info.typename, "Name": info.name}, "Extended": {"At": node.uuid}}


def _ndstore() -> ChannelOpener:
    return _open


@pytest.fixture
def plugins(env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    registry.typenames()  # the built-ins first, as a plug-in package would find them
    hooked = registry.Datatype(
        "hooked", ("hookedblk",), bytes.hex, "hooks", describe_instance=_describe, ndstore=_ndstore
    )
    bare = registry.Datatype("bare", ("bareblk",), bytes.hex, "no hooks")
    monkeypatch.setitem(registry._registry, "hookedblk", hooked)
    monkeypatch.setitem(registry._registry, "bareblk", bare)
    env.hub.catalog.create_instance(env.uuid, "hooked", "hookedblk", {})
    env.hub.catalog.create_instance(env.uuid, "plain", "bareblk", {"compression": "none"})
    return env


def test_repos_info_describes_each_instance_through_its_hook(plugins: Env) -> None:
    repo = plugins.client.get("/api/repos/info").json()[plugins.uuid]
    instances = repo["DataInstances"]
    assert instances["hooked"] == {
        "Base": {"TypeName": "hookedblk", "Name": "hooked"},
        "Extended": {"At": plugins.uuid},
    }
    plain = instances["plain"]
    assert plain["Base"]["TypeName"] == "bareblk"
    assert plain["Base"]["TypeURL"].endswith("/bare")
    assert plain["Extended"] == {}
    assert instances["gray"]["Extended"]["MaxPoint"] == [15, 7, 3]  # the built-in hook


def test_ndstore_cutouts_open_channels_through_the_hook(plugins: Env) -> None:
    r = plugins.client.get("/ca/demo/hooked/raw/0/0,4/0,2/0,1/")
    assert r.status_code == 200
    assert r.content == bytes([1]) * 8  # the root's version id, 4 x 2 x 1 voxels
    refused = plugins.client.get("/ca/demo/plain/raw/0/0,4/0,2/0,1/")
    assert refused.status_code == 400
    assert "bareblk, which ndstore URLs do not serve" in refused.json()["error"]


def test_services_a_channel_does_not_offer_are_400_naming_it(plugins: Env) -> None:
    r = plugins.client.get("/ca/demo/hooked/ids/0/0,4/0,2/0,1/")
    assert r.status_code == 400
    assert r.json()["error"] == (
        "the ids service needs a labelmap (annotation) channel; channel 'hooked' is a hookedblk"
    )
    post = plugins.client.post("/ca/demo/hooked/npz/0/0,4/0,2/0,1/", content=b"")
    assert post.status_code == 400
    assert "POST is not served for channel 'hooked'" in post.json()["error"]
