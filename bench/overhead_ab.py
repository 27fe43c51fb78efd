"""Fixed per-request cost of two source trees side by side: heartbeats, neuroglancer
chunks and a 1-block stream, alternating request by request so a busy host cannot skew it.

Run: ``.venv/bin/python -m bench.overhead_ab SRC_A SRC_B [--requests 400] [--side 128]``
where each ``SRC`` is a ``src`` directory (a worktree's, or ``git archive REV src | tar -x
-C DIR``). It builds the demo repo of :mod:`bench.dvid_streams` (``--side``³, bodies merged
at the open node) in a temp LMDB store, starts one ``voxhub serve --workers 1`` per tree on
it (:func:`bench.dvid_streams_ab.start_with`) and, for each kind of request, sends it to
each server in turn (order swapped every round; chunk requests walk over every 64³ chunk):

* ``heartbeat``: ``GET /api/heartbeat``;
* ``jpeg``: ``grayscale/raw/0_1_2/64_64_64/x_y_z/jpeg?app=Neuroglancer``;
* ``label``: ``segmentation/raw/0_1_2/64_64_64/x_y_z?compression=googlegzip&scale=0``;
* ``block1``: ``segmentation/blocks/64_64_64/x_y_z?compression=blocks`` (one block).

Per tree and kind: p50 and min wall time and the server's CPU time per request (``/proc``
ticks summed over the run, so use a few hundred requests). Compare the two rows of one
run, never runs of different hours (the host's speed varies up to 2x over a day).
"""

from __future__ import annotations

import argparse
import http.client
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import voxhub
from bench.dvid_streams import cpu_seconds
from bench.dvid_streams_ab import start_with
from voxhub.demo import build
from voxhub.testing.server import ServerProcess

KINDS = ("heartbeat", "jpeg", "label", "block1")


def paths_of(kind: str, node: str, side: int) -> list[str]:
    """The request paths of ``kind``, one per 64³ chunk of the demo volume."""
    if kind == "heartbeat":
        return ["/api/heartbeat"]
    n = side // 64
    offsets = [(x * 64, y * 64, z * 64) for z in range(n) for y in range(n) for x in range(n)]
    base = f"/api/node/{node}"
    out = []
    for x, y, z in offsets:
        at = f"{x}_{y}_{z}"
        if kind == "jpeg":
            out.append(f"{base}/grayscale/raw/0_1_2/64_64_64/{at}/jpeg?app=Neuroglancer")
        elif kind == "label":
            out.append(
                f"{base}/segmentation/raw/0_1_2/64_64_64/{at}"
                "?compression=googlegzip&scale=0&app=Neuroglancer"
            )
        else:
            out.append(f"{base}/segmentation/blocks/64_64_64/{at}?compression=blocks")
    return out


def compare(
    servers: list[ServerProcess], names: list[str], paths: list[str], requests: int
) -> None:
    conns = [http.client.HTTPConnection("127.0.0.1", s.port) for s in servers]
    wall: list[list[float]] = [[] for _ in servers]
    cpu = [0.0 for _ in servers]
    for i in range(requests + 10):  # ten warm-up rounds
        order = range(len(servers)) if i % 2 == 0 else reversed(range(len(servers)))
        path = paths[i % len(paths)]
        for j in order:
            pid = servers[j].process.pid
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            conns[j].request("GET", path)
            reply = conns[j].getresponse()
            body = reply.read()
            if reply.status != 200:
                raise RuntimeError(f"{names[j]}: {reply.status} {body[:200]!r}")
            if i >= 10:
                wall[j].append((time.perf_counter() - t0) * 1e3)
                cpu[j] += cpu_seconds(pid) - c0
    for j, name in enumerate(names):
        print(
            f"  {name}: p50 {float(np.median(wall[j])):.3f} ms (min {min(wall[j]):.3f}); "
            f"server CPU {cpu[j] * 1e3 / requests:.3f} ms a request"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("src", nargs=2, help="two src directories to compare")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--side", type=int, default=128)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        with voxhub.open(str(store)) as hub:
            repo = build(hub, args.side)
            node = next(nd for nd in repo.nodes() if not nd.locked).uuid
        servers = [start_with(src, store) for src in args.src]
        try:
            for kind in args.kinds.split(","):
                print(f"{kind}, {args.requests} requests each, load {os.getloadavg()[0]:.1f}")
                compare(servers, args.src, paths_of(kind, node, args.side), args.requests)
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
