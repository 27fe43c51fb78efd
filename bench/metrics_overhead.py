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
volume (four store operations, each timed, and a hop to the thread pool). Prints wall and
CPU µs per request (CPU: all threads of the process, less sensitive to other processes'
load than wall time) and each one's difference to **bare**. Then the pieces alone, each
the best of 7 timeit runs in CPU time of the thread (what other processes' load disturbs
least): the request id,
recording one request, timing one store operation, a memory ``get`` plain and timed, one
access line, a cache counter sync.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
from starlette.applications import Starlette

from voxhub.client import EmbeddedHub
from voxhub.server import create_app
from voxhub.server.access_log import ACCESS_LOGGER, AccessLog
from voxhub.server.metrics import ServerMetrics
from voxhub.server.observe import Observe, RequestRecord, request_id_from
from voxhub.storage.timed import TimedStore

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


async def mean_seconds(app: Starlette, path: str, n: int) -> tuple[float, float]:
    """Mean wall time and CPU time (all threads of this process) of ``n`` sequential GETs
    of ``path`` through ``app``."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await app(scope_for(path), receive, send)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert set(statuses) == {200}, set(statuses)
    return elapsed / n, cpu / n


def parts(hub: EmbeddedHub) -> dict[str, float]:
    """CPU µs per call of each piece, the best of 7 timeit runs (robust to load)."""
    metrics = ServerMetrics()
    record = RequestRecord("0" * 32, "GET", "/api/heartbeat", "", route="/api/heartbeat")
    record.status, record.sent, record.seconds = 200, 2, 0.0001
    metrics.record(record)  # label children made once, as after a server's first requests
    timer = metrics.store_timer("memory")
    plain = hub.store
    timed = TimedStore(plain, timer)
    key = next(iter(k for k, _ in plain.scan(b"", None, keys_only=True)))
    line = AccessLog(logging.getLogger(ACCESS_LOGGER))
    headers = [(b"host", b"localhost"), (b"user-agent", b"curl/8"), (b"accept", b"*/*")]
    pieces: dict[str, Callable[[], object]] = {
        "request id (fresh)": lambda: request_id_from(headers),
        "metrics: record one request": lambda: metrics.record(record),
        "metrics: time one store op": lambda: timer("get", 1e-5),
        "store get, plain": lambda: plain.get(key),
        "store get, timed": lambda: timed.get(key),
        "access log: one line": lambda: line(record),
        "cache counters: sync": metrics.sync_caches,
    }
    found = {}
    for name, call in pieces.items():
        # CPU time of this thread: a process descheduled by others' load does not count
        best = min(timeit.repeat(call, timer=time.thread_time, number=2000, repeat=7)) / 2000
        found[name] = best * 1e6
    return found


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
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}

    async def run() -> None:
        apps = {name: build(hub, name) for name in CONFIGS}
        for _ in range(2):  # warm-up: routers built, caches filled
            for app in apps.values():
                for path in routes.values():
                    await mean_seconds(app, path, 50)
        for _ in range(args.shots):
            for route, path in routes.items():
                for name, app in apps.items():
                    times = await mean_seconds(app, path, args.n)
                    results.setdefault((route, name), []).append(times)

    asyncio.run(run())
    print(f"{'piece':<30} {'CPU µs/call':>11}  (best of 7 x 2000 calls)")
    for name, us_per_call in parts(hub).items():
        print(f"{name:<30} {us_per_call:>11.2f}")
    print()

    def us(route: str, config: str, which: int) -> float:
        return statistics.median(t[which] for t in results[route, config]) * 1e6

    print(
        f"{'route':<10} {'config':<12} {'wall µs':>9} {'vs bare':>9} {'CPU µs':>9} {'vs bare':>9}"
    )
    for route in routes:
        for name in CONFIGS:
            cells = []
            for which in (0, 1):
                cells.append(f"{us(route, name, which):>9.1f}")
                cells.append(f"{us(route, name, which) - us(route, 'bare', which):>+9.1f}")
            print(f"{route:<10} {name:<12} {' '.join(cells)}")
    hub.close()


if __name__ == "__main__":
    main()
