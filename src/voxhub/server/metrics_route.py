"""``GET /metrics``: the Prometheus scrape endpoint, and who may read it.

``voxhub serve --metrics public|admin|off``:

* ``public`` (the default) — anyone who reaches the server may scrape. The metrics hold
  no data, repo names or node UUIDs: only counts and durations per route *template*,
  per store operation and per cache. Behind a reverse proxy, publish ``/api`` and keep
  ``/metrics`` for the scraper's network.
* ``admin`` — server-wide administrators only (``voxhub auth user add NAME --admin``;
  with authentication off every caller is one): 401 without a token, 403 for another
  user.
* ``off`` — no route (404).
"""

from __future__ import annotations

from typing import Literal, get_args

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from voxhub.datatypes.wire.api import TEXT, Api, ApiRoute
from voxhub.server.auth import Gate
from voxhub.server.http import blocking
from voxhub.server.metrics import CONTENT_TYPE, ServerMetrics

MetricsAccess = Literal["public", "admin", "off"]
#: the values of ``--metrics``
METRICS_ACCESS: tuple[str, ...] = get_args(MetricsAccess)


def metrics_routes(metrics: ServerMetrics, access: MetricsAccess, gate: Gate) -> list[BaseRoute]:
    """The ``/metrics`` route for ``access`` (none when ``off``).

    The auth rules table classifies it as public; in ``admin`` mode the route checks the
    caller itself, since the table cannot depend on ``--metrics``.
    """
    if access not in METRICS_ACCESS:
        raise ValueError(f"metrics access must be one of {METRICS_ACCESS}, got {access!r}")
    if access == "off":
        return []

    async def prometheus_metrics(request: Request) -> Response:
        """Prometheus metrics of this server (text exposition format 0.0.4): requests,
        latency histograms and bytes per route template, store operation latencies,
        cache hits."""
        if access == "admin":
            gate.policy.check_server_admin(gate.principal_of(request.scope), "GET /metrics")
        return Response(await blocking(metrics.exposition), media_type=CONTENT_TYPE)

    api = Api(answers=(TEXT,))  # Prometheus' text format
    return [ApiRoute("/metrics", prometheus_metrics, methods=["GET"], api=api)]
