"""One view file over HTTP: latency and server CPU per request, voxhub vs static files.

Run: ``.venv/bin/python -m bench.views_wire [--n 256] [--passes 5]``. It writes the EM
volume and the Voronoi labels (``bench.data``, cut to ``n``³) into a temp LMDB store at a
committed node and as static precomputed files (``bench.views``), serves them with the
real ``voxhub serve`` and the reference ``range_http_server.py``, and asks each server
for every 64³ chunk of each volume over one keep-alive connection (``http.client``: no
client decoding, so the server's share shows), once to warm up (voxhub's answers are then
cached and kept, the static files in the page cache) and then ``passes`` times. It
prints the median latency, the server process's CPU time per request (``/proc``: clock
ticks, so use enough requests) and, for voxhub, how many answers the view lane sent.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from bench.data import em_volume, voronoi_labels
from bench.views import served

SIDE = 64


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(base: str, path: str, pid: int, n: int, passes: int) -> dict[str, float]:
    """Median ms and server CPU ms per chunk request of the volume at ``base + path``."""
    info = httpx.get(f"{base}{path}/info").raise_for_status().json()
    key = info["scales"][0]["key"]
    host, port = base.split("//", 1)[1].split(":")
    keys = [
        f"{path}/{key}/{x}-{x + SIDE}_{y}-{y + SIDE}_{z}-{z + SIDE}"
        for z in range(0, n, SIDE)
        for y in range(0, n, SIDE)
        for x in range(0, n, SIDE)
    ]
    conn = http.client.HTTPConnection(host, int(port))
    try:
        for chunk in keys:  # warm-up
            conn.request("GET", chunk)
            conn.getresponse().read()
        latencies = []
        cpu = process_cpu(pid)
        for _ in range(passes):
            for chunk in keys:
                started = time.perf_counter()
                conn.request("GET", chunk)
                conn.getresponse().read()
                latencies.append(time.perf_counter() - started)
        cpu = process_cpu(pid) - cpu
    finally:
        conn.close()
    return {
        "p50_ms": round(1e3 * statistics.median(latencies), 3),
        "server_cpu_ms": round(1e3 * cpu / len(latencies), 3),
        "requests": len(latencies),
    }


def lane_answers(base: str) -> float:
    """The answers voxhub's view lane sent so far (its ``/metrics``)."""
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith('voxhub_cache_hits_total{cache="view_lane"}'):
            return float(line.split()[-1])
    return 0.0


def run(n: int = 256, passes: int = 5) -> dict[str, Any]:
    cube = (slice(0, n),) * 3
    volumes = {"em": em_volume(512)[cube].copy(), "seg": voronoi_labels(512)[cube].copy()}
    results: dict[str, Any] = {}
    with served(volumes, prefix="wire") as both:
        server, static = both.server, both.static
        for name in volumes:
            view = f"/precomputed/{both.committed}/{name}"
            results[name] = {
                "voxhub": measure(server.url, view, server.process.pid, n, passes),
                "static": measure(static.url, f"/{name}", static.process.pid, n, passes),
            }
        results["lane_answers"] = lane_answers(server.url)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="side of the cubic volumes")
    parser.add_argument("--passes", type=int, default=5, help="timed passes over the chunks")
    args = parser.parse_args()
    print(json.dumps(run(args.n, args.passes), indent=1))


if __name__ == "__main__":
    main()
