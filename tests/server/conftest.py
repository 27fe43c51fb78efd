"""An in-process app over a ``memory://`` hub with one repo holding a small image volume."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.x suggests httpx2 for its test client; httpx is what we ship with.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app

LIMIT = 4096  # bytes: small enough to test 413 cheaply


@dataclass
class Env:
    client: TestClient
    hub: EmbeddedHub
    root: Node

    @property
    def uuid(self) -> str:
        return self.root.uuid


@pytest.fixture
def env() -> Iterator[Env]:
    hub = EmbeddedHub.open("memory://")
    repo = hub.create_repo("demo", "test repo")
    vol = repo.master.create_volume("gray", "uint8", block_shape=(8, 8, 8), max_scale=1)
    vol[0:4, 0:8, 0:16] = np.arange(4 * 8 * 16, dtype=np.uint8).reshape(4, 8, 16)
    with TestClient(create_app(hub, max_request_bytes=LIMIT)) as client:
        yield Env(client, hub, repo.master)
    hub.close()


def committed_pair(env: Env) -> tuple[str, str]:
    """Commit the root, then make and commit two children: master and branch "side"."""
    c = env.client
    assert c.post(f"/api/node/{env.uuid}/commit", json={}).status_code == 200
    a = c.post(f"/api/node/{env.uuid}/newversion", json={}).json()["child"]
    b = c.post(f"/api/node/{env.uuid}/branch", json={"branch": "side"}).json()["child"]
    for uuid in (a, b):
        assert c.post(f"/api/node/{uuid}/commit", json={}).status_code == 200
    return a, b


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[EmbeddedHub, TestClient, TestClient]]:
    """Two hubs and apps on one LMDB store: two workers' (or processes') worth of state."""
    path = str(tmp_path / "store")
    a, b = EmbeddedHub.open(path), EmbeddedHub.open(path)
    with TestClient(create_app(a)) as ca, TestClient(create_app(b)) as cb:
        yield a, ca, cb
    a.close()
    b.close()
