"""The real voxhub app over a ``memory://`` hub: a labelmap ``seg`` (16³ blocks) whose
supervoxel 1 fills x < 16 and 2 fills 16 <= x < 32 of a 32³ cube, and an annotation
``syn`` (16³ blocks) synced to it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app


def segmentation() -> np.ndarray:
    seg = np.zeros((32, 32, 32), np.uint64)
    seg[:, :, :16] = 1
    seg[:, :, 16:] = 2
    return seg


def synapse(pre: list[int], posts: list[list[int]]) -> list[dict[str, Any]]:
    """A PreSyn at ``pre`` ([x, y, z]) and its PostSyn partners, related both ways."""
    return [
        {"Pos": pre, "Kind": "PreSyn", "Rels": [{"Rel": "PreSynTo", "To": p} for p in posts]},
        *({"Pos": p, "Kind": "PostSyn", "Rels": [{"Rel": "PostSynTo", "To": pre}]} for p in posts),
    ]


@dataclass
class Env:
    client: TestClient
    hub: EmbeddedHub
    node: Node

    def url(self, rest: str, node: str | None = None, name: str = "syn") -> str:
        return f"/api/node/{node or self.node.uuid}/{name}/{rest}"

    def get(self, rest: str, node: str | None = None, **params: str) -> Any:
        reply = self.client.get(self.url(rest, node), params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def post(self, rest: str, body: Any, node: str | None = None) -> None:
        reply = self.client.post(self.url(rest, node), json=body)
        assert reply.status_code == 200, reply.text


@pytest.fixture
def env() -> Iterator[Env]:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("ann").master
    node.create_labels("seg", block_shape=(16, 16, 16)).write((0, 0, 0), segmentation())
    node.create_annotations("syn", sync="seg", block_shape=(16, 16, 16))
    with TestClient(create_app(hub)) as client:
        yield Env(client, hub, node)
    hub.close()
