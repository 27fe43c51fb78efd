"""``create_app(hub)``: the Starlette application serving a hub over HTTP.

Route modules: :mod:`.routes_server`, :mod:`.routes_repo`, :mod:`.routes_node`,
:mod:`.routes_catalog` (voxhub's own JSON records), instance
routes through :mod:`.dispatch`, ndstore cutouts (:mod:`.ndstore`), :mod:`.help`,
:mod:`.openapi`, :mod:`.home`. Errors map to statuses in :mod:`.errors`.
Routes receive a typed :class:`~voxhub.server.context.ServerContext` (the
:class:`~voxhub.service.Service`, the :class:`~voxhub.server.context.ServerSettings`, the
caller) through the :class:`~voxhub.server.context.Binder` built here; instance routes
get an :class:`~voxhub.datatypes.wire.context.InstanceContext` from the dispatcher.
Nothing is read from ``app.state``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from voxhub.server.access_log import AccessLog
from voxhub.server.auth import Authenticate, Gate
from voxhub.server.auth.guard import protect
from voxhub.server.auth.routes import auth_routes
from voxhub.server.context import Binder, ServerSettings
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
from voxhub.service import Service, ServiceOwner
from voxhub.service.auth import AuthConfig

#: default limit on one request body or cutout: 1 GiB (a 1024³ uint8 cutout)
DEFAULT_MAX_REQUEST_BYTES = 1 << 30
#: environment variable holding the store location for :func:`app_from_env`
STORE_ENV = "VOXHUB_STORE"
#: environment variable holding the request limit for :func:`app_from_env`
MAX_BYTES_ENV = "VOXHUB_MAX_REQUEST_BYTES"
#: environment variable turning the access log on (``1``) for :func:`app_from_env`
ACCESS_LOG_ENV = "VOXHUB_ACCESS_LOG"
#: environment variable holding the auth configuration (JSON) for :func:`app_from_env`
AUTH_ENV = "VOXHUB_AUTH"


def create_app(
    source: Service | ServiceOwner,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    access_log: bool = False,
    auth: AuthConfig | None = None,
) -> Starlette:
    """A Starlette app serving a service (or the service of an embedded hub) with DVID's
    API, help, OpenAPI and a home page; ``access_log`` logs one line per request; ``auth``
    turns authentication on (:mod:`voxhub.server.auth`; off by default).

    The service stays open as long as the caller wants; :func:`app_from_env` closes the
    one it opened when the server shuts down.
    """
    service = source if isinstance(source, Service) else source.service
    settings = ServerSettings(
        max_request_bytes=max_request_bytes, access_log=access_log, auth=auth or AuthConfig()
    )
    gate = Gate(service, settings.auth)
    bind = Binder(service, settings, gate)
    routes = [
        *auth_routes(gate),
        *home_routes(bind),
        *help_routes(),
        *openapi_routes(),
        *server_routes(bind),
        *repo_routes(bind),
        *node_routes(bind),
        *catalog_routes(bind),
        *instance_routes(bind),
        *ndstore_routes(bind),
    ]
    routes = protect(routes, gate)  # every route classified (voxhub.server.auth.rules)
    middleware = [
        # CORS outermost among ours, so errors and 413s carry the header too.
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            max_age=3600,
        ),
        Middleware(Authenticate, gate=gate),  # inside CORS: a 401 carries CORS headers
        Middleware(BodyLimit, max_bytes=max_request_bytes),
        Middleware(TrailingSlash),
    ]
    if access_log:  # outermost: it logs what went on the wire, errors included
        middleware.insert(0, Middleware(AccessLog))
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )


def app_from_env() -> Starlette:
    """uvicorn factory (``--factory``): each worker process opens the store named by
    ``$VOXHUB_STORE`` itself and closes it at shutdown."""
    location = os.environ.get(STORE_ENV)
    if not location:
        raise RuntimeError(f"set {STORE_ENV} to the store path or URL to serve")
    service = Service.open(location)
    limit = int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_REQUEST_BYTES))
    access_log = os.environ.get(ACCESS_LOG_ENV, "") == "1"
    auth = AuthConfig.from_json(os.environ[AUTH_ENV]) if os.environ.get(AUTH_ENV) else None
    app = create_app(service, max_request_bytes=limit, access_log=access_log, auth=auth)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()

    app.router.lifespan_context = lifespan
    return app
