"""Block streams of two source trees side by side: an A/B that a busy host cannot skew.

Run: ``.venv/bin/python -m bench.dvid_streams_ab SRC_A SRC_B [--requests 60]`` where each
``SRC`` is a ``src`` directory (a worktree's, or ``git archive REV src | tar -x -C DIR``).
It builds the demo repo of :mod:`bench.dvid_streams` once (256³, bodies merged at the open
node) in a temp LMDB store, starts one ``voxhub serve --workers 1`` per tree on that store
(``PYTHONPATH`` set to the tree), and sends the same ``GET blocks/256_256_256/0_0_0
?compression=blocks`` (64 blocks; ``--supervoxels``, or ``--specific`` for
``specificblocks``) to each in turn, swapping the order every round, so both sides see the
same minutes of the host. The host's speed varies up to 2x over a day: compare the two
rows of one run, not runs of different hours. Per tree: p50 and min wall time, blocks/s of
the p50, and the server's CPU time per request (``/proc``, what load disturbs least). It
also checks that both trees send the same decoded blocks.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import voxhub
from bench.dvid_streams import cpu_seconds
from voxhub.datatypes.wire.block_stream import iter_stream
from voxhub.demo import build
from voxhub.testing.server import ServerProcess, start_server

SIDE = 256


def start_with(src: str, store: Path) -> ServerProcess:
    """A server importing voxhub from ``src``."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = src
    try:
        return start_server(store, workers=1)
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", nargs=2, help="two src directories to compare")
    parser.add_argument("--requests", type=int, default=60)
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--supervoxels", action="store_true")
    kind.add_argument("--specific", action="store_true", help="specificblocks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        with voxhub.open(str(store)) as hub:
            repo = build(hub, SIDE)
            node = next(nd for nd in repo.nodes() if not nd.locked).uuid
        base = f"/api/node/{node}/segmentation"
        path = f"{base}/blocks/{SIDE}_{SIDE}_{SIDE}/0_0_0?compression=blocks"
        if args.supervoxels:
            path += "&supervoxels=true"
        n = SIDE // 64
        if args.specific:
            listed = ",".join(f"{x},{y},{z}" for z in range(n) for y in range(n) for x in range(n))
            path = f"{base}/specificblocks?blocks={listed}"
        servers = [start_with(src, store) for src in args.src]
        try:
            compare(servers, args.src, path, args.requests, n**3)
        finally:
            for server in servers:
                server.stop()


def compare(
    servers: list[ServerProcess], names: list[str], path: str, requests: int, blocks: int
) -> None:
    conns = [http.client.HTTPConnection("127.0.0.1", s.port) for s in servers]
    wall: list[list[float]] = [[] for _ in servers]
    cpu: list[list[float]] = [[] for _ in servers]
    bodies: list[bytes] = [b"" for _ in servers]
    for i in range(requests + 3):  # three warm-up rounds
        order = range(len(servers)) if i % 2 == 0 else reversed(range(len(servers)))
        for j in order:
            pid = servers[j].process.pid
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            conns[j].request("GET", path)
            reply = conns[j].getresponse()
            bodies[j] = reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{names[j]}: {reply.status} {bodies[j][:200]!r}")
            if i >= 3:
                wall[j].append((time.perf_counter() - t0) * 1e3)
                cpu[j].append((cpu_seconds(pid) - c0) * 1e3)
    shown = path if len(path) < 100 else path[:97] + "..."
    print(f"{shown} ({blocks} blocks), {requests} requests each, load {os.getloadavg()[0]:.1f}")
    for j, name in enumerate(names):
        p50 = float(np.median(wall[j]))
        cpu_ms = float(np.mean(cpu[j]))
        print(
            f"{name}: p50 {p50:.2f} ms (min {min(wall[j]):.2f}), {blocks / p50 * 1e3:,.0f} "
            f"blocks/s; server CPU {cpu_ms:.2f} ms a request ({blocks / cpu_ms * 1e3:,.0f} "
            f"blocks/s); {len(bodies[j]):,} bytes"
        )
    decoded = [[(c, gzip.decompress(p)) for c, p in iter_stream(b)] for b in bodies]
    print("same decoded blocks:", all(d == decoded[0] for d in decoded))


if __name__ == "__main__":
    main()
