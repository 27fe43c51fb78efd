"""Server CPU per view request, in process: what one chunk answer costs the app.

Run: ``.venv/bin/python -m bench.views_requests [--rounds 9]``. It writes a 128³ EM
volume (uint8, zstd) and a 128³ label volume (cseg) in 64³ blocks into a temp LMDB store,
commits the node and opens a child, builds the app (``create_app``, Host check and
metrics on, as ``voxhub serve`` runs it) and calls it directly (ASGI, no HTTP) for the 8
chunks of each volume, precomputed and Zarr, committed and open, with tensorstore's
``Accept-Encoding``; after a warm-up (the answers are then cached or kept), the CPU time
(``time.process_time``) per request, best of ``--rounds``. ``/api/heartbeat`` is the
floor: the middleware and routing every request pays.

CPU time, not wall time: it is what stays comparable on a busy machine (run two
versions alternately, a few rounds each, to compare them). What HTTP adds on top (uvicorn,
the socket, the client) is not measured here.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import numpy as np

import voxhub
from voxhub.server.app import create_app

HEADERS = [(b"host", b"127.0.0.1:8000"), (b"accept-encoding", b"deflate, gzip, br, zstd")]


async def _call(app: Callable[..., object], path: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": HEADERS,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }
    status = 0

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    await app(scope, receive, send)  # type: ignore[operator]
    return status


def _paths(node: str, em_key: str, seg_key: str) -> dict[str, list[str]]:
    corners = [(x, y, z) for x in (0, 64) for y in (0, 64) for z in (0, 64)]
    out: dict[str, list[str]] = {}
    for name, key in (("em", em_key), ("seg", seg_key)):
        out[f"precomputed {name}"] = [
            f"/precomputed/{node}/{name}/{key}/{x}-{x + 64}_{y}-{y + 64}_{z}-{z + 64}"
            for x, y, z in corners
        ]
        out[f"zarr {name}"] = [
            f"/zarr/{node}/{name}/s0/c/{z // 64}/{y // 64}/{x // 64}" for x, y, z in corners
        ]
    return out


def measure(rounds: int) -> dict[str, float]:
    """CPU milliseconds per request, by target (best of ``rounds``)."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="voxhub-bench-requests-") as tmp:
        hub = voxhub.open(str(Path(tmp) / "store"), mode="w")
        root = hub.create_repo("requests").master
        rng = np.random.default_rng(1)
        root.create_volume("em", "uint8", voxel_size=(8, 8, 8))[0:128, 0:128, 0:128] = rng.integers(
            0, 255, (128, 128, 128), np.uint8
        )
        labels = np.arange(128**3, dtype=np.uint64).reshape(128, 128, 128) // 5000
        root.create_labels("seg", voxel_size=(8, 8, 8))[0:128, 0:128, 0:128] = labels
        root.commit("data")
        child = root.newversion("open")
        app = create_app(hub, allowed_hosts=())

        async def run(paths: list[str], times: int) -> None:
            for _ in range(times):
                for path in paths:
                    status = await _call(app, path)
                    if status != 200:
                        raise AssertionError(f"{path} answered {status}")

        def cpu(paths: list[str], times: int) -> float:
            anyio.run(run, paths, 2)  # made, then cached or kept
            best = float("inf")
            for _ in range(rounds):
                start = time.process_time()
                anyio.run(run, paths, times)
                best = min(best, (time.process_time() - start) / (times * len(paths)))
            return best * 1e3

        try:
            for label, node, times in (("committed", root.uuid, 10), ("open", child.uuid, 3)):
                for target, paths in _paths(node, "8_8_8", "8_8_8").items():
                    results[f"{target} {label}"] = cpu(paths, times)
            results["heartbeat"] = cpu(["/api/heartbeat"], 400)
        finally:
            hub.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds (best kept)")
    args = parser.parse_args()
    results = measure(args.rounds)
    for target, ms in results.items():
        print(f"{target:<28} {ms:.3f} ms CPU per request")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))


if __name__ == "__main__":
    main()
