"""``create_app(hub)``: the Starlette application serving a hub over HTTP.

Route modules: :mod:`.routes_server`, :mod:`.routes_repo`, :mod:`.routes_node`,
:mod:`.routes_catalog` (voxhub's own JSON records), instance
routes through :mod:`.dispatch`, ndstore cutouts (:mod:`.ndstore`), :mod:`.help`,
:mod:`.openapi`, :mod:`.home`. Errors map to statuses in :mod:`.errors`.
``app.state.hub`` is the hub and ``app.state.max_request_bytes`` the per-request size
limit (bodies here, cutouts in the datatype routes).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from voxhub.client.embedded import EmbeddedHub
from voxhub.server.dispatch import instance_routes
from voxhub.server.errors import EXCEPTION_HANDLERS
from voxhub.server.help import help_routes
from voxhub.server.home import home_routes
from voxhub.server.middleware import BodyLimit, TrailingSlash
from voxhub.server.ndstore import ndstore_routes
from voxhub.server.openapi import openapi_routes
from voxhub.server.routes_catalog import catalog_routes
from voxhub.server.routes_node import node_routes
from voxhub.server.routes_repo import repo_routes
from voxhub.server.routes_server import server_routes

#: default limit on one request body or cutout: 1 GiB (a 1024³ uint8 cutout)
DEFAULT_MAX_REQUEST_BYTES = 1 << 30
#: environment variable holding the store location for :func:`app_from_env`
STORE_ENV = "VOXHUB_STORE"
#: environment variable holding the request limit for :func:`app_from_env`
MAX_BYTES_ENV = "VOXHUB_MAX_REQUEST_BYTES"


def create_app(
    hub: EmbeddedHub, *, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
) -> Starlette:
    """A Starlette app serving ``hub`` with DVID's API, help, OpenAPI and a home page.

    The hub stays open as long as the caller wants; :func:`app_from_env` closes the hub
    it opened when the server shuts down.
    """
    if max_request_bytes <= 0:
        raise ValueError(f"max_request_bytes must be positive, got {max_request_bytes}")
    routes = [
        *home_routes(),
        *help_routes(),
        *openapi_routes(),
        *server_routes(),
        *repo_routes(),
        *node_routes(),
        *catalog_routes(),
        *instance_routes(),
        *ndstore_routes(),
    ]
    middleware = [
        # CORS outermost among ours, so errors and 413s carry the header too.
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            max_age=3600,
        ),
        Middleware(BodyLimit, max_bytes=max_request_bytes),
        Middleware(TrailingSlash),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )
    app.state.hub = hub
    app.state.max_request_bytes = max_request_bytes
    return app


def app_from_env() -> Starlette:
    """uvicorn factory (``--factory``): each worker process opens the store named by
    ``$VOXHUB_STORE`` itself and closes it at shutdown."""
    location = os.environ.get(STORE_ENV)
    if not location:
        raise RuntimeError(f"set {STORE_ENV} to the store path or URL to serve")
    hub = EmbeddedHub.open(location)
    limit = int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_REQUEST_BYTES))
    app = create_app(hub, max_request_bytes=limit)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            hub.close()

    app.router.lifespan_context = lifespan
    return app
