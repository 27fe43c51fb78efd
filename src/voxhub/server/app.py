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
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import cast

from starlette.applications import Starlette
from starlette.middleware import Middleware

from voxhub.server.access_log import AccessLog
from voxhub.server.auth import Authenticate, Gate
from voxhub.server.auth.guard import protect
from voxhub.server.auth.routes import auth_routes
from voxhub.server.context import Binder, ServerSettings
from voxhub.server.cors import CrossSite, OriginPolicy
from voxhub.server.dispatch import instance_routes
from voxhub.server.errors import EXCEPTION_HANDLERS
from voxhub.server.help import help_routes
from voxhub.server.home import home_routes
from voxhub.server.hosts import ALLOWED_HOSTS_ENV, HostCheck, HostPolicy, HostVerdicts
from voxhub.server.limits import RequestGuard, ServerLimits
from voxhub.server.malloc_tuning import retain_freed_memory
from voxhub.server.metrics import ServerMetrics
from voxhub.server.metrics_route import METRICS_ACCESS, MetricsAccess, metrics_routes
from voxhub.server.middleware import TrailingSlash
from voxhub.server.ndstore import ndstore_routes
from voxhub.server.observe import Observe, Sink, label_routes
from voxhub.server.openapi import openapi_routes
from voxhub.server.precomputed import precomputed_routes
from voxhub.server.precomputed_jpeg import precomputed_jpeg_routes
from voxhub.server.precomputed_mesh import precomputed_mesh_routes
from voxhub.server.precomputed_mesh_legacy import legacy_mesh_routes
from voxhub.server.precomputed_sharded import sharded_routes
from voxhub.server.prefix_router import PrefixRouter
from voxhub.server.routes_catalog import catalog_routes
from voxhub.server.routes_node import node_routes
from voxhub.server.routes_repo import repo_routes
from voxhub.server.routes_server import server_routes
from voxhub.server.segment_properties import segment_properties_routes
from voxhub.server.view_cache import DEFAULT_VIEW_CACHE_BYTES, SharedTier
from voxhub.server.view_cache_shared import shared_view_cache_from_env
from voxhub.server.view_lane import ViewLane
from voxhub.server.view_replay import ViewReplay
from voxhub.server.zarr_view import zarr_routes
from voxhub.service import Service, ServiceOwner
from voxhub.service.auth import AuthConfig
from voxhub.storage.timed import backend_name

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
#: environment variable holding who may read ``/metrics`` for :func:`app_from_env`
METRICS_ENV = "VOXHUB_METRICS"
#: environment variable holding the view cache budget in bytes for :func:`app_from_env`
VIEW_CACHE_ENV = "VOXHUB_VIEW_CACHE_BYTES"
COMPRESS_LOOPBACK_ENV = "VOXHUB_COMPRESS_LOOPBACK"


def create_app(
    source: Service | ServiceOwner,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    access_log: bool = False,
    auth: AuthConfig | None = None,
    allow_origins: Iterable[str] = (),
    allowed_hosts: Iterable[str] | None = None,
    limits: ServerLimits | None = None,
    metrics: MetricsAccess = "public",
    view_cache_bytes: int = DEFAULT_VIEW_CACHE_BYTES,
    compress_loopback: bool = False,
    shared_view_cache: SharedTier | None = None,
    view_replay: bool = True,
) -> Starlette:
    """A Starlette app serving a service (or the service of an embedded hub) with DVID's
    API, help, OpenAPI and a home page; ``access_log`` logs one line per request; ``auth``
    turns authentication on (:mod:`voxhub.server.auth`; off by default); ``metrics`` says
    who may read ``GET /metrics`` (:mod:`.metrics_route`); ``view_cache_bytes`` bounds
    the encoded view answers kept (:mod:`.view_cache`, ``app.state.view_cache``);
    ``compress_loopback`` compresses view answers to clients on this machine too
    (:mod:`.local_peer`, ``app.state.compress_loopback``); ``shared_view_cache`` is the
    tier of view answers this process shares with the server's other workers
    (:mod:`.view_cache_shared`); ``view_replay`` sends view files again as they went out,
    past the middleware (:mod:`.view_replay`, a quarter of the view cache's budget; never
    with authentication on).

    Writes from web pages of other origins need a token unless their origin is in
    ``allow_origins`` (:mod:`.cors`). ``allowed_hosts`` turns on the Host check against
    DNS rebinding (:mod:`.hosts`: loopback names and IP addresses, plus these names);
    ``None`` leaves it off for an app mounted behind something else, and the server
    entry points (``voxhub serve``, :func:`app_from_env`) always turn it on. ``limits``
    bound time and memory per request (:mod:`.limits`).

    The service stays open as long as the caller wants; :func:`app_from_env` closes the
    one it opened when the server shuts down.
    """
    service = source if isinstance(source, Service) else source.service
    observed = ServerMetrics() if metrics != "off" else None  # off: no route, no cost
    if observed is not None:
        service = service.timed(observed.store_timer(backend_name(service.store)))
    limits = limits or ServerLimits()
    settings = ServerSettings(
        max_request_bytes=max_request_bytes,
        access_log=access_log,
        auth=auth or AuthConfig(),
        limits=limits,
        view_cache_bytes=view_cache_bytes,
        compress_loopback=compress_loopback,
    )
    gate = Gate(service, settings.auth)
    bind = Binder(service, settings, gate, shared_view_cache)
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
        *precomputed_jpeg_routes(bind),  # fixed names before {scale_key}/{chunk}
        *segment_properties_routes(bind),
        *precomputed_mesh_routes(bind),  # before the views' {scale_key}/{chunk}, {shard}
        *legacy_mesh_routes(bind),  # likewise
        *sharded_routes(bind),  # before precomputed_routes: sharded/info is not a chunk
        *precomputed_routes(bind),
        *zarr_routes(bind),
        *(metrics_routes(observed, metrics, gate) if observed is not None else []),
    ]
    label_routes(routes)  # metrics and logs name the route template, never the raw path
    routes = protect(routes, gate)  # every route classified (voxhub.server.auth.rules)
    middleware = [
        # CORS outermost among ours, so errors and 413s carry the header too.
        Middleware(CrossSite, policy=OriginPolicy.of(allow_origins), tokens=gate.enabled),
        Middleware(Authenticate, gate=gate),  # inside CORS: a 401 carries CORS headers
        Middleware(RequestGuard, max_request_bytes=max_request_bytes, limits=limits),
        Middleware(TrailingSlash),
    ]
    sinks: list[Sink] = [observed.record] if observed is not None else []
    if access_log:
        sinks.append(AccessLog())
    hosts = HostPolicy.of(allowed_hosts) if allowed_hosts is not None else None
    lane = None
    if view_replay and not gate.enabled:  # inside Observe and the Host check (below)
        # the protocol sends the replay's answers itself (view_lane.py), doing what
        # Observe and the Host check would have done
        verdicts = HostVerdicts(hosts) if hosts is not None else None
        lane = ViewLane(sinks, verdicts, compress_loopback)
        middleware.insert(0, Middleware(ViewReplay, max_bytes=view_cache_bytes // 4, lane=lane))
    if hosts is not None:  # before anything else: a rebound request gets nothing
        middleware.insert(0, Middleware(HostCheck, policy=hosts))
    # outermost: it sees what went on the wire, errors and refusals (Host, 413) included
    middleware.insert(0, Middleware(Observe, sinks=sinks))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )
    app.router = PrefixRouter(routes)  # Starlette's routing, minus hopeless regex matches
    app.state.view_cache = bind.view_cache
    app.state.compress_loopback = settings.compress_loopback  # read by local_peer.py
    app.state.view_lane = lane  # found by the HTTP protocol (protocol.py)
    return app


def app_from_env() -> Starlette:
    """uvicorn factory (``--factory``): each worker process opens the store named by
    ``$VOXHUB_STORE`` itself and closes it at shutdown."""
    location = os.environ.get(STORE_ENV)
    if not location:
        raise RuntimeError(f"set {STORE_ENV} to the store path or URL to serve")
    retain_freed_memory()  # a worker reuses its freed buffers (malloc_tuning.py)
    service = Service.open(location)
    limit = int(os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_REQUEST_BYTES))
    access_log = os.environ.get(ACCESS_LOG_ENV, "") == "1"
    auth = AuthConfig.from_json(os.environ[AUTH_ENV]) if os.environ.get(AUTH_ENV) else None
    metrics = os.environ.get(METRICS_ENV, "public")
    cache_bytes = int(os.environ.get(VIEW_CACHE_ENV, DEFAULT_VIEW_CACHE_BYTES))
    if metrics not in METRICS_ACCESS:
        raise RuntimeError(f"{METRICS_ENV} must be one of {', '.join(METRICS_ACCESS)}")
    app = create_app(
        service,
        max_request_bytes=limit,
        access_log=access_log,
        auth=auth,
        allow_origins=OriginPolicy.from_env(os.environ).allowed,
        allowed_hosts=os.environ.get(ALLOWED_HOSTS_ENV, "").split(","),
        limits=ServerLimits.from_env(os.environ),
        metrics=cast(MetricsAccess, metrics),
        view_cache_bytes=cache_bytes,
        compress_loopback=os.environ.get(COMPRESS_LOOPBACK_ENV, "") == "1",
        shared_view_cache=shared_view_cache_from_env(cache_bytes),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()

    app.router.lifespan_context = lifespan
    return app
