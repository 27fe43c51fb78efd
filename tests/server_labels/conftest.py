"""The real voxhub app (``create_app``) over a ``memory://`` hub with one labelmap.

``seg`` (16³ blocks, two pyramid levels) holds :data:`SEG`, written at the origin:
supervoxel 1 fills x < 16 of every row, 2 fills x in 16..31 for y < 8, 3 the rest of
x >= 16, and a single voxel of supervoxel ``BIG`` (near 2**64) sits at (x, y, z) =
(40, 0, 0); everything else (x in 33..47 but that voxel) is 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what we ship with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app

LIMIT = 1 << 20  # 1 MiB: small enough to test 413 cheaply
BIG = 2**64 - 5  # an id that would be wrong if it passed through int64 or float


def segmentation(big: bool = True) -> np.ndarray:
    """The voxels of ``seg`` (with the BIG voxel unless ``big`` is false)."""
    seg = np.zeros((16, 16, 48), np.uint64)  # (z, y, x)
    seg[:, :, :16] = 1
    seg[:, :8, 16:32] = 2
    seg[:, 8:, 16:32] = 3
    if big:
        seg[0, 0, 40] = BIG
    return seg


SEG = segmentation()


@dataclass
class Env:
    client: TestClient
    hub: EmbeddedHub
    node: Node

    def url(self, rest: str, node: str | None = None, name: str = "seg") -> str:
        return f"/api/node/{node or self.node.uuid}/{name}/{rest}"


@pytest.fixture
def env() -> Iterator[Env]:
    hub = EmbeddedHub.open("memory://")
    repo = hub.create_repo("demo", "labels")
    node = repo.master
    seg = node.create_labels("seg", block_shape=(16, 16, 16), max_scale=1)
    seg.write((0, 0, 0), segmentation(big=False))
    # Written apart: ids from 2**63 up do not move the label counter, so a write whose
    # maximum is BIG would leave the counter below 1..3 (see the report to the lead).
    seg.write((0, 0, 40), np.full((1, 1, 1), BIG, np.uint64))
    with TestClient(create_app(hub, max_request_bytes=LIMIT)) as client:
        yield Env(client, hub, node)
    hub.close()
