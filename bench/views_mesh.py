"""Meshes on demand: cold and cached time of a ~1M-voxel body's mesh over HTTP.

A labelmap (64³ blocks, LMDB, 8 nm voxels) holds ``bodies`` balls of radius 62 voxels
(~1.0M voxels each, over ~64 blocks) in a volume whose other voxels belong to other
bodies (so the balls' blocks are shared, as in a real segmentation, and must be masked).
A real ``voxhub serve`` answers neuroglancer's requests for each ball: ``{body}.index``
then ``{body}`` (the fragment data, whole). **Cold** is the first request of each body's
two files (the mesh is made: read and mask the blocks, marching cubes for every octree
node and LOD, Draco); **cached** the same two requests again (median over ``repeat``).
Goal (issue 12): cold ≤ 1 s, cached ≤ 20 ms. Also, in process: one body's mesh made
without HTTP (wall and CPU seconds: on a machine shared with other work the CPU time is
what it costs) and the peak of memory allocated meanwhile (``tracemalloc``, numpy's
buffers included). ``key_*``: the CPU seconds of an open node's cache key of that body
(:mod:`voxhub.datatypes.meshes.key`), with every partial block masked (cold) and with
their mask digests memoized (what a cached lookup pays).

    python -m bench.views_mesh [--bodies 3] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import voxhub
from voxhub.datatypes.meshes.body import body_mesh, index_digest
from voxhub.datatypes.meshes.key import MaskMemo, voxels_digest
from voxhub.testing.server import start_server

RADIUS = 62  # voxels: 4/3 π 62³ ≈ 998k
SIDE = 2 * RADIUS + 8


def _volume(bodies: int) -> tuple[np.ndarray, list[int]]:
    """``bodies`` balls side by side along x, the rest split among background bodies."""
    z, y, x = np.indices((SIDE, SIDE, SIDE * bodies), dtype=np.int32)
    labels = (1000 + (x // 48) + 7 * (y // 48) + 49 * (z // 48)).astype(np.uint64)
    ids = []
    for i in range(bodies):
        cx = SIDE * i + SIDE // 2
        ball = (x - cx) ** 2 + (y - SIDE // 2) ** 2 + (z - SIDE // 2) ** 2 <= RADIUS**2
        labels[ball] = 10 + i
        ids.append(10 + i)
    return labels, ids


def _key_cpu(instance: Any, body: int) -> tuple[float, float]:
    """CPU seconds of the open-node key of ``body``: cold, then memoized (best of 5)."""
    index, _ = index_digest(instance, body)
    memo = MaskMemo()
    voxels_digest(instance, index, memo)
    times: dict[bool, float] = {}
    for warm in (False, True):
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            voxels_digest(instance, index, memo if warm else None)
            best = min(best, time.process_time() - start)
        times[warm] = best
    return times[False], times[True]


def run(bodies: int = 3, repeat: int = 20) -> dict[str, Any]:
    """Cold and cached seconds of each body's mesh files over HTTP (see module)."""
    labels, ids = _volume(bodies)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        with voxhub.open(str(store), mode="w") as hub:
            node = hub.create_repo("mesh-bench").master
            seg = node.create_labels("seg", block_shape=(64, 64, 64), voxel_size=(8, 8, 8))
            seg[:, :, :] = labels
            sizes = [seg.size(b) for b in ids]
            cpu, wall = time.process_time(), time.perf_counter()
            body_mesh(seg._instance, ids[0])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            tracemalloc.start()
            body_mesh(seg._instance, ids[0])
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            key_cold, key_memo = _key_cpu(seg._instance, ids[0])
            base = f"/precomputed/{node.uuid}/seg/mesh"
        server = start_server(store)
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:

                def both(body: int) -> int:
                    manifest = http.get(f"{base}/{body}.index")
                    data = http.get(f"{base}/{body}")
                    manifest.raise_for_status()
                    data.raise_for_status()
                    return len(manifest.content) + len(data.content)

                cold, nbytes = [], []
                for body in ids:
                    start = time.perf_counter()
                    nbytes.append(both(body))
                    cold.append(time.perf_counter() - start)
                cached = []
                for _ in range(repeat):
                    for body in ids:
                        start = time.perf_counter()
                        both(body)
                        cached.append(time.perf_counter() - start)
        finally:
            server.stop()
    return {
        "body_voxels": sizes,
        "mesh_bytes": nbytes,
        "in_process_s": wall,  # one body's mesh made in this process, no HTTP
        "in_process_cpu_s": cpu,  # its CPU time: what it costs without other load
        "peak_alloc_mib": round(peak / 2**20, 1),
        "key_cold_cpu_s": key_cold,  # open-node key, every partial block masked
        "key_memo_cpu_s": key_memo,  # the same, mask digests memoized (a cached lookup)
        "cold_s": cold,
        "cold_median_s": statistics.median(cold),
        "cached_median_s": statistics.median(cached),
        "cached_max_s": max(cached),
        "goal": {"cold_s": 1.0, "cached_s": 0.020},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run(args.bodies, args.repeat), indent=2))
