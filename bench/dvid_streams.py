"""What DVID clients and neuroglancer ask of a labelmap, timed against issue 10's goals.

Run: ``.venv/bin/python -m bench.dvid_streams [--n 256] [--repeat 20] [--write-n 512]``
(``--quick``: fewer repeats and a 256³ write, for a noisy shared machine). In one run it
builds the demo repo (``voxhub.demo.build``: an EM-like ``n``³ uint8 volume with a
pyramid, a labelmap of 40-bit supervoxels, committed, and an open child node where two
bodies are merged) in a temp LMDB store, starts ``voxhub serve --workers 1`` on a free
loopback port and times, one request at a time over one kept-alive connection
(``http.client``) at the open node:

* **block streams**: ``GET blocks/{n}_{n}_{n}/0_0_0?compression=blocks`` (DVID's gzipped
  native label blocks, bodies and ``supervoxels=true``) and ``specificblocks`` of every
  block; blocks/s and MB/s (response bytes) of the median request, and p95;
* **neuroglancer's chunks** (neuroglancer_dvid.md §2b, §2d), every 64³ chunk of the volume
  in turn: ``raw/0_1_2/64_64_64/x_y_z?compression=googlegzip&scale=0&app=Neuroglancer``
  (bodies, and supervoxels for reference) and the grayscale
  ``raw/0_1_2/64_64_64/x_y_z/jpeg?app=Neuroglancer``; p50/p95, and a heartbeat's;
* the server's CPU time per request (``/proc``), which a loaded machine disturbs far
  less than wall times;
* ``POST blocks`` of those 64 blocks (supervoxels, DVID's gzipped native stream) into a
  fresh labelmap, MB/s of uint64 voxels;
* **label writes**, embedded: ``write((0, 0, 0), labels)`` of the cached ``--write-n``³
  Voronoi segmentation of ``bench.labels`` into a fresh labelmap (fsync'ed LMDB), best of
  ``--write-repeat`` first writes, MB/s of uint64 voxels.

Prints a table with the goals and writes ``bench/dvid_streams_results.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import voxhub
from bench.data import voronoi_labels
from voxhub.demo import build
from voxhub.testing.server import start_server

HERE = Path(__file__).parent
CHUNK = 64
GOALS = {
    "blocks_per_s": 5000.0,  # block streams, one worker
    "write_mb_s": 1000.0,  # 512³ label write, embedded
    "label_chunk_p50_ms": 3.0,  # googlegzip chunk at an open node with merged bodies
    "jpeg_chunk_p50_ms": 2.0,
}


def percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    """GETs over one kept-alive connection (http.client: the client costs ≈0.03 ms).

    Besides wall times it reads the server's CPU time around each batch: on a shared,
    loaded machine wall times mostly measure waiting for a core, CPU time per request
    much less so (``--workers 1`` serves in the process ``start_server`` started)."""

    def __init__(self, url: str, server_pid: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port))
        self.pid = server_pid
        self.cpu_ms = 0.0  # server CPU per request of the last batch

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()  # raw bytes: a gzip Content-Encoding is left as sent
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        return body

    def post(self, path: str, body: bytes) -> None:
        self.conn.request("POST", path, body=body)
        response = self.conn.getresponse()
        text = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {path}: {response.status} {text[:200]!r}")

    def timed(self, paths: list[str], repeat: int) -> tuple[list[float], int]:
        """Milliseconds of each GET (``repeat`` passes over ``paths``, after one warm-up
        GET of each) and the bytes of the last pass."""
        for p in paths:
            self.get(p)
        ms, nbytes = [], 0
        cpu0 = cpu_seconds(self.pid)
        for _ in range(repeat):
            nbytes = 0
            for p in paths:
                t0 = time.perf_counter()
                nbytes += len(self.get(p))
                ms.append((time.perf_counter() - t0) * 1e3)
        self.cpu_ms = (cpu_seconds(self.pid) - cpu0) * 1e3 / len(ms)
        return ms, nbytes


def bench_server(store: Path, n: int, repeat: int) -> dict[str, Any]:
    with voxhub.open(str(store)) as hub:
        repo = build(hub, n)
        open_node = next(nd for nd in repo.nodes() if not nd.locked)
        open_node.create_labels("copy", block_shape=(CHUNK,) * 3)  # for POST blocks
        node = open_node.uuid
    server = start_server(store, workers=1)
    try:
        client = Client(server.url, server.process.pid)
        base = f"/api/node/{node}"
        side = n // CHUNK
        coords = [(x, y, z) for z in range(side) for y in range(side) for x in range(side)]
        res: dict[str, Any] = {"node": node, "blocks_per_request": len(coords)}
        hb, _ = client.timed(["/api/heartbeat"], repeat * 5)
        res["heartbeat"] = {**percentiles(hb), "server_cpu_ms": client.cpu_ms}
        listed = ",".join(f"{x},{y},{z}" for x, y, z in coords)
        streams = {
            "blocks_bodies": f"{base}/segmentation/blocks/{n}_{n}_{n}/0_0_0?compression=blocks",
            "blocks_supervoxels": f"{base}/segmentation/blocks/{n}_{n}_{n}/0_0_0"
            "?compression=blocks&supervoxels=true",
            "specificblocks_bodies": f"{base}/segmentation/specificblocks?blocks={listed}",
        }
        for name, path in streams.items():
            ms, nbytes = client.timed([path], repeat)
            p = percentiles(ms)
            res[name] = {
                **p,
                "server_cpu_ms": client.cpu_ms,
                "blocks_per_s": len(coords) / (p["p50_ms"] / 1e3),
                "blocks_per_cpu_s": len(coords) / (client.cpu_ms / 1e3),
                "mb_s": nbytes / 1e6 / (p["p50_ms"] / 1e3),
                "bytes": nbytes,
            }
        app = "app=Neuroglancer"
        chunk = f"{CHUNK}_{CHUNK}_{CHUNK}"
        offsets = [f"{x * CHUNK}_{y * CHUNK}_{z * CHUNK}" for x, y, z in coords]
        chunks = {
            "label_chunk_bodies": [
                f"{base}/segmentation/raw/0_1_2/{chunk}/{o}?compression=googlegzip&scale=0&{app}"
                for o in offsets
            ],
            "label_chunk_supervoxels": [
                f"{base}/segmentation/raw/0_1_2/{chunk}/{o}"
                f"?compression=googlegzip&scale=0&supervoxels=true&{app}"
                for o in offsets
            ],
            "jpeg_chunk": [f"{base}/grayscale/raw/0_1_2/{chunk}/{o}/jpeg?{app}" for o in offsets],
        }
        for name, paths in chunks.items():
            ms, _ = client.timed(paths, max(1, repeat // 4))
            res[name] = {**percentiles(ms), "server_cpu_ms": client.cpu_ms}
        res["post_blocks"] = bench_post_blocks(client, base, streams, len(coords), repeat)
        return res
    finally:
        server.stop()


def bench_post_blocks(
    client: Client, base: str, streams: dict[str, str], blocks: int, repeat: int
) -> dict[str, Any]:
    """``POST blocks`` of the segmentation's own supervoxel blocks (DVID's gzipped native
    stream, as neuclease posts them) into a fresh labelmap, ``repeat`` times (each an
    overwrite after the first): MB/s of uint64 voxels of the median request."""
    stream = client.get(streams["blocks_supervoxels"])
    ms = []
    for _ in range(max(2, repeat // 2)):
        t0 = time.perf_counter()
        client.post(f"{base}/copy/blocks", stream)
        ms.append((time.perf_counter() - t0) * 1e3)
    p = percentiles(ms)
    voxel_bytes = blocks * CHUNK**3 * 8
    return {**p, "mb_s": voxel_bytes / 1e6 / (p["p50_ms"] / 1e3), "stream_bytes": len(stream)}


def bench_write(store: Path, n: int, repeat: int) -> dict[str, Any]:
    labels = voronoi_labels(n)
    with voxhub.open(str(store)) as hub:
        node = hub.create_repo("writes", "label writes").master
        times = []
        for i in range(repeat):
            lv = node.create_labels(f"seg{i}", block_shape=(CHUNK,) * 3)
            t0 = time.perf_counter()
            lv.write((0, 0, 0), labels)
            times.append(time.perf_counter() - t0)
    best = min(times)
    return {"n": n, "write_s": best, "mb_s": labels.nbytes / 1e6 / best, "all_s": times}


def _row(name: str, value: str, goal: str = "", met: bool | None = None) -> str:
    mark = "" if met is None else (" met" if met else " MISSED")
    return f"| {name} | {value} | {goal}{mark} |"


def report(res: dict[str, Any]) -> str:
    s = res["server"]
    lines = [
        f"dvid_streams: n={res['n']} ({s['blocks_per_request']} blocks a request), "
        f"{res['machine']}, load average {res['load_before']} before the run",
        "| measure | voxhub | goal |",
        "|---|---:|---|",
    ]
    for name in ("blocks_bodies", "blocks_supervoxels", "specificblocks_bodies"):
        r = s[name]
        value = (
            f"{r['blocks_per_s']:,.0f} blocks/s, {r['mb_s']:.1f} MB/s "
            f"(p50 {r['p50_ms']:.1f} / p95 {r['p95_ms']:.1f} ms; "
            f"server CPU {r['blocks_per_cpu_s']:,.0f} blocks/s)"
        )
        goal = GOALS["blocks_per_s"]
        lines.append(_row(name, value, f"≥ {goal:,.0f} blocks/s", r["blocks_per_s"] >= goal))
    for name, goal_key in (
        ("label_chunk_bodies", "label_chunk_p50_ms"),
        ("label_chunk_supervoxels", None),
        ("jpeg_chunk", "jpeg_chunk_p50_ms"),
        ("heartbeat", None),
    ):
        r = s[name]
        value = (
            f"p50 {r['p50_ms']:.2f} / p95 {r['p95_ms']:.2f} ms "
            f"(server CPU {r['server_cpu_ms']:.2f} ms)"
        )
        if goal_key is None:
            lines.append(_row(name, value))
        else:
            g = GOALS[goal_key]
            lines.append(_row(name, value, f"p50 ≤ {g} ms", r["p50_ms"] <= g))
    pb = s["post_blocks"]
    lines.append(_row(f"POST blocks, {s['blocks_per_request']} blocks (server)",
                      f"{pb['mb_s']:.0f} MB/s (p50 {pb['p50_ms']:.0f} ms)"))  # fmt: skip
    w = res["write"]
    goal = GOALS["write_mb_s"]
    met = w["mb_s"] >= goal if w["n"] >= 512 else None
    lines.append(_row(f"label write {w['n']}³ (embedded)", f"{w['mb_s']:.0f} MB/s",
                      f"≥ {goal:,.0f} MB/s at 512³", met))  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=256, help="side of the demo volume")
    parser.add_argument("--repeat", type=int, default=20, help="passes over each request")
    parser.add_argument("--write-n", type=int, default=512, help="side of the label write")
    parser.add_argument("--write-repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="repeat 6, a 256³ write, 2 tries")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.write_n, args.write_repeat = 6, 256, 2
    if args.n % CHUNK:
        parser.error(f"--n must be a multiple of {CHUNK}")
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    res: dict[str, Any] = {
        "n": args.n,
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "load_before": load,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    with tempfile.TemporaryDirectory(prefix="voxhub-dvid-streams-") as tmp:
        res["server"] = bench_server(Path(tmp) / "demo", args.n, args.repeat)
        res["write"] = bench_write(Path(tmp) / "writes", args.write_n, args.write_repeat)
    (HERE / "dvid_streams_results.json").write_text(json.dumps(res, indent=2))
    print(report(res))


if __name__ == "__main__":
    main()
