"""A minimal app serving image routes and ndstore cutouts over a ``memory://`` hub.

The real server (voxhub.server) has its own dispatcher and error table; this one is the
smallest stand-in honouring the same contract: resolve node and instance into
``request.state``, map voxhub errors to statuses.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Router
from starlette.types import Receive, Scope, Send

from voxhub.client import EmbeddedHub, Node
from voxhub.datatypes.imageblk.routes import image_routes
from voxhub.errors import (
    CapabilityError,
    CodecError,
    Conflict,
    InvalidRequest,
    NotFound,
    TooLarge,
    VersionLocked,
    VoxhubError,
)
from voxhub.server.ndstore import ndstore_routes

with warnings.catch_warnings():
    # starlette 1.x deprecates httpx in its TestClient in favour of httpx2 (not installed)
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

LIMIT = 1 << 20  # 1 MiB: small enough to test 413 cheaply

_STATUS = (
    (NotFound, 404),
    (VersionLocked, 409),
    (Conflict, 409),
    (TooLarge, 413),
    (InvalidRequest, 400),
    (CodecError, 400),
    (CapabilityError, 501),
)


async def _error(request: Request, exc: Exception) -> Response:
    status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)
    return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=status)


class _Dispatch:
    def __init__(self, hub: EmbeddedHub) -> None:
        self.hub = hub
        self.router = Router(routes=image_routes())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        uuid = self.hub.catalog.node(params["uuid"]).uuid
        info = self.hub.catalog.instance(uuid, params["name"])
        state = scope.setdefault("state", {})
        state["node_uuid"] = uuid
        state["instance"] = info
        await self.router(scope, receive, send)


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
    app = Starlette(
        routes=[Mount("/api/node/{uuid}/{name}", app=_Dispatch(hub)), *ndstore_routes()],
        exception_handlers={VoxhubError: _error},
    )
    app.state.hub = hub
    app.state.max_request_bytes = LIMIT
    with TestClient(app) as client:
        yield Env(client, hub, node, data)
    hub.close()
