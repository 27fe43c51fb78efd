"""``GET /metrics``: the Prometheus scrape endpoint, and who may read it.

``voxhub serve --metrics public|admin|off``:

* ``public`` (the default) — anyone who reaches the server may scrape. The metrics hold
  no data, repo names or node UUIDs: only counts and durations per route *template*,
  per store operation and per cache. Behind a reverse proxy, publish ``/api`` and keep
  ``/metrics`` for the scraper's network.
* ``admin`` — only a server-wide admin (the auth layer's caller with ``admin`` set, e.g.
  a token of ``voxhub auth`` with server admin rights; with authentication off every
  caller is one) — 401 without a caller, 403 for another one.
* ``off`` — no route (404).
"""

from __future__ import annotations

from typing import Literal, get_args

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from voxhub.server.http import blocking
from voxhub.server.metrics import CONTENT_TYPE, ServerMetrics

MetricsAccess = Literal["public", "admin", "off"]
#: the values of ``--metrics``
METRICS_ACCESS: tuple[str, ...] = get_args(MetricsAccess)


def metrics_refusal(request: Request) -> Response | None:
    """Why ``request`` may not read the metrics in ``admin`` mode (``None``: it may).

    The caller is what the auth layer put on the scope (``scope["state"]["user"]``); a
    server-wide admin has a true ``admin`` attribute.
    """
    caller = request.scope.get("state", {}).get("user")
    if caller is not None and getattr(caller, "admin", False) is True:
        return None
    if caller is None or not getattr(caller, "user", None):
        status, kind, why = 401, "Unauthorized", "send a server admin's token"
    else:
        status, kind, why = 403, "Forbidden", f"user {caller.user!r} is not a server admin"
    message = f"GET /metrics is for server admins on this server (--metrics admin): {why}"
    headers = {"WWW-Authenticate": 'Bearer realm="voxhub"'} if status == 401 else None
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers=headers)


def metrics_routes(metrics: ServerMetrics, access: MetricsAccess) -> list[BaseRoute]:
    """The ``/metrics`` route for ``access`` (none when ``off``)."""
    if access not in METRICS_ACCESS:
        raise ValueError(f"metrics access must be one of {METRICS_ACCESS}, got {access!r}")
    if access == "off":
        return []

    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus metrics of this server (text exposition format 0.0.4): requests,
        latency histograms and bytes per route template, store operation latencies,
        cache hits."""
        if access == "admin" and (refusal := metrics_refusal(request)) is not None:
            return refusal
        return Response(await blocking(metrics.exposition), media_type=CONTENT_TYPE)

    return [Route("/metrics", prometheus_metrics, methods=["GET"])]
