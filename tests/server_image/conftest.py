"""The real voxhub app (``create_app``) over a ``memory://`` hub with image volumes.

Every image route and ndstore cutout is exercised through the same application
``voxhub serve`` runs: its dispatcher, error table, body limit and CORS middleware.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what we ship with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

LIMIT = 1 << 20  # 1 MiB: small enough to test 413 cheaply


@dataclass
class Env:
    client: TestClient
    hub: EmbeddedHub
    node: Node
    gray: np.ndarray  # what was written to "gray" at the origin

    def url(self, name: str, rest: str, node: Node | None = None) -> str:
        return f"/api/node/{(node or self.node).uuid}/{name}/{rest}"


@pytest.fixture
def env() -> Iterator[Env]:
    hub = EmbeddedHub.open("memory://")
    repo = hub.create_repo("demo", "test repo")
    node = repo.master
    gray = node.create_volume("gray", "uint8", block_shape=(8, 8, 8), max_scale=1)
    rng = np.random.default_rng(0)
    data = rng.integers(1, 255, size=(16, 24, 32), dtype=np.uint8)
    gray.write((0, 0, 0), data)
    node.create_volume("deep", "uint16", block_shape=(8, 8, 8))
    node.create_volume("jpg", "uint8", block_shape=(8, 8, 8), codec="jpeg")
    node.create_volume(
        "aniso", "uint8", block_shape=(4, 8, 8), voxel_size=(4.0, 1.0, 1.0), anisotropic=True
    )
    with TestClient(create_app(hub, max_request_bytes=LIMIT)) as client:
        yield Env(client, hub, node, data)
    hub.close()
