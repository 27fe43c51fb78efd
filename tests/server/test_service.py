"""The service layer stands alone: the server serves a bare ``Service`` (no numpy-API
object anywhere), and an embedded hub is a view of the same service."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.errors import InvalidRequest, TooLarge
from voxhub.geometry import Box
from voxhub.server import create_app
from voxhub.service import Service

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


def _service_with_volume() -> tuple[Service, str]:
    service = Service.open("memory://")
    root = service.catalog.create_repo("demo").root
    config = ImageConfig(dtype="uint8", block_shape=(8, 8, 8)).to_json()
    info = service.catalog.create_instance(root, "gray", "uint8blk", config)
    service.open_image(root, info).write((0, 0, 0), np.full((2, 4, 8), 7, np.uint8))
    return service, root


def test_the_app_serves_a_bare_service() -> None:
    service, root = _service_with_volume()
    with TestClient(create_app(service)) as client:
        raw = client.get(f"/api/node/{root}/gray/raw/0_1_2/8_4_2/0_0_0")
        assert raw.content == bytes([7]) * 64
        info = client.get("/api/repos/info").json()[root]
        assert info["DataInstances"]["gray"]["Extended"]["MaxPoint"] == [7, 3, 1]
    service.close()


def test_an_embedded_hub_is_a_view_of_its_service() -> None:
    hub = EmbeddedHub.open("memory://")
    assert hub.catalog is hub.service.catalog
    assert hub.store is hub.service.store
    vol = hub.create_repo("demo").master.create_volume("gray", "uint8", block_shape=(8, 8, 8))
    vol[0:1, 0:1, 0:3] = np.array([[[1, 2, 3]]], np.uint8)
    node = hub.repo("demo").master.uuid
    image = hub.service.open_image(node, hub.catalog.instance(node, "gray"))
    assert image.read(Box((0, 0, 0), (1, 1, 3))).tolist() == [[[1, 2, 3]]]
    hub.close()


def test_the_image_opener_applies_the_byte_limit() -> None:
    service, root = _service_with_volume()
    info = service.catalog.instance(root, "gray")
    small = service.open_image(root, info, limit_bytes=16)
    assert small.read(Box((0, 0, 0), (1, 2, 8))).shape == (1, 2, 8)
    with pytest.raises(TooLarge):
        small.read(Box((0, 0, 0), (1, 3, 8)))
    service.close()


def test_a_server_url_is_not_a_store() -> None:
    with pytest.raises(InvalidRequest, match="server URL"):
        Service.open("http://localhost:8000")
