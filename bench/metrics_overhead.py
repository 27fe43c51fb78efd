"""What the observability layer costs per request: ``/metrics`` and the access log.

Run: ``.venv/bin/python -m bench.metrics_overhead [--n 3000] [--shots 7]``. It calls the
real app (``create_app`` over a ``memory://`` hub) as an ASGI callable, without a network,
so what is timed is the app and its middleware only. Configurations, interleaved shot by
shot (so load from other processes hits all alike), median of the shots' mean per request:

* **bare** — the app with the observing middleware removed (no request id, no labels);
* **off** — ``metrics="off"``: the middleware with no sinks (request id and its header);
* **metrics** — the default, ``metrics="public"``: counters, histograms, the timed store;
* **metrics+log** — also ``access_log=True`` (lines formatted and written to a discarded
  stream).

on two routes: ``GET /api/heartbeat`` (no store work) and a 16³ ``raw`` read of a uint8
volume (a handful of store operations, each timed). Prints µs per request and the
difference to **bare**.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.applications import Starlette

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.access_log import ACCESS_LOGGER
from voxhub.server.observe import Observe

CONFIGS: dict[str, dict[str, Any]] = {
    "bare": {"metrics": "off"},
    "off": {"metrics": "off"},
    "metrics": {"metrics": "public"},
    "metrics+log": {"metrics": "public", "access_log": True},
}


def build(hub: EmbeddedHub, name: str) -> Starlette:
    app = create_app(hub, **CONFIGS[name])
    if name == "bare":  # the stack is built on the first call: drop the middleware first
        app.user_middleware = [m for m in app.user_middleware if m.cls is not Observe]
    return app


def scope_for(path: str) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip


async def mean_seconds(app: Starlette, path: str, n: int) -> float:
    """Mean time of ``n`` sequential GETs of ``path`` through ``app``."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = time.perf_counter()
    for _ in range(n):
        await app(scope_for(path), receive, send)
    elapsed = time.perf_counter() - start
    assert set(statuses) == {200}, set(statuses)
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="requests per shot")
    parser.add_argument("--shots", type=int, default=7)
    args = parser.parse_args()

    log = logging.getLogger(ACCESS_LOGGER)  # the access lines go nowhere, but are written
    log.handlers[:] = [logging.StreamHandler(io.StringIO())]
    log.setLevel(logging.INFO)
    log.propagate = False

    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("bench").master
    node.create_volume("em", "uint8")[0:16, 0:16, 0:16] = np.ones((16, 16, 16), np.uint8)
    routes = {
        "heartbeat": "/api/heartbeat",
        "raw 16³": f"/api/node/{node.uuid}/em/raw/0_1_2/16_16_16/0_0_0",
    }
    results: dict[tuple[str, str], list[float]] = {}

    async def run() -> None:
        apps = {name: build(hub, name) for name in CONFIGS}
        for _ in range(2):  # warm-up: routers built, caches filled
            for app in apps.values():
                for path in routes.values():
                    await mean_seconds(app, path, 50)
        for _ in range(args.shots):
            for route, path in routes.items():
                for name, app in apps.items():
                    seconds = await mean_seconds(app, path, args.n)
                    results.setdefault((route, name), []).append(seconds)

    asyncio.run(run())
    us: Callable[[str, str], float] = lambda r, c: statistics.median(results[r, c]) * 1e6  # noqa: E731
    print(f"{'route':<10} {'config':<12} {'µs/request':>10} {'vs bare':>9}")
    for route in routes:
        for name in CONFIGS:
            extra = us(route, name) - us(route, "bare")
            print(f"{route:<10} {name:<12} {us(route, name):>10.1f} {extra:>+9.1f}")
    hub.close()


if __name__ == "__main__":
    main()
