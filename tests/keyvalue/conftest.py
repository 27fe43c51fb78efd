"""An in-process app over a memory hub whose store records write sizes and chunk reads,
with one repo holding a versioned keyvalue ``kv`` of small chunks."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app

from .recording import RecordingStore

CHUNK = 1024
LIMIT = 4 << 20


@dataclass
class Env:
    client: TestClient
    hub: EmbeddedHub
    root: Node
    store: RecordingStore

    def url(self, path: str, node: Node | str | None = None) -> str:
        uuid = node.uuid if isinstance(node, Node) else node or self.root.uuid
        return f"/api/node/{uuid}/kv/{path}"


@pytest.fixture
def env() -> Iterator[Env]:
    store = RecordingStore()
    hub = EmbeddedHub(store)
    root = hub.create_repo("files").master
    root.create_keyvalue("kv", chunk_bytes=CHUNK)
    with TestClient(create_app(hub, max_request_bytes=LIMIT)) as client:
        yield Env(client, hub, root, store)
    hub.close()
