"""tensorstore on voxhub's precomputed view vs tensorstore on static precomputed files.

Run: ``.venv/bin/python -m bench.views [--n 512] [--repeat 3] [--workers 1]
[--volumes em,seg] [--skip-others]``. In one run it

* writes the EM volume (``bench.data``, uint8, zstd 1) and the Voronoi segmentation
  (uint64 labels, cseg) into a temp LMDB store in 64³ blocks, commits the node and opens a
  child on it, and serves it with the real ``voxhub serve``;
* writes the same volumes as static precomputed files with tensorstore (EM ``raw``, labels
  ``compressed_segmentation``, 64³ chunks, unsharded) and serves them with the reference
  stdlib server ``range_http_server.py`` (``bench.precomputed``);
* reads each, with tensorstore's ``neuroglancer_precomputed`` driver over its http kvstore
  (no cache pool: every read goes over HTTP), from voxhub's view at the committed node (its
  chunks are cached by the server after the first read), at the open child (never cached)
  and from the static files: the full n³ volume (the first, cold read and the best of
  ``--repeat``) and 200 random block-aligned 64³ reads one at a time (best pass), the
  targets interleaved so load from other processes hits them alike.

Ratios are static time ÷ voxhub time (above 1: voxhub is faster; the goal is ≥ 1.0 for the
full read and the 64³ reads). Then it imports and runs the other view benchmarks when
present (``bench/views_export.py``, ``views_zarr.py``, ``views_mesh.py``,
``views_import.py``: each a ``run() -> dict``), prints their results and writes everything
to ``bench/views_results.json``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tensorstore as ts

import voxhub
from bench.data import em_volume, voronoi_labels
from bench.labels import cseg_spec
from bench.precomputed import (
    RangeServer,
    open_http,
    start_range_server,
    write_precomputed,
    zyx,
)
from bench.run import random_boxes
from voxhub import Box
from voxhub.testing.server import ServerProcess, start_server

HERE = Path(__file__).parent
N_SMALL, SIDE = 200, 64
OTHERS = ("views_export", "views_zarr", "views_mesh", "views_import")
TARGETS = ("committed", "open", "static")


def build_voxhub(volumes: dict[str, np.ndarray], store: Path) -> tuple[str, str]:
    """The volumes in a fresh LMDB store at a committed node; (committed, open child)."""
    with voxhub.open(str(store), mode="w") as hub:
        node = hub.create_repo("views-bench", "bench.views").master
        for name, data in volumes.items():
            if data.dtype == np.uint64:
                handle: Any = node.create_labels(name, block_shape=(64, 64, 64))
            else:
                handle = node.create_volume(
                    name, data.dtype.name, block_shape=(64, 64, 64), voxel_size=(8, 8, 8)
                )
            handle[:, :, :] = data
        node.commit("bench data")
        return node.uuid, node.newversion("open").uuid


def build_static(volumes: dict[str, np.ndarray], directory: Path) -> None:
    """The volumes as static precomputed directories (EM raw, labels cseg)."""
    for name, data in volumes.items():
        if data.dtype == np.uint64:
            zyx(ts.open(cseg_spec(directory / name, data.shape)).result()).write(data).result()
        else:
            write_precomputed(data, directory / name)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(
    urls: dict[str, str], expected: np.ndarray, boxes: list[Box], repeat: int
) -> dict[str, dict[str, float]]:
    """Per target: ``cold_s`` (first full read), ``full_s`` (best of ``repeat``),
    ``small_s`` (best pass of the 64³ reads, one at a time), interleaved."""
    arrays = {target: open_http(url) for target, url in urls.items()}
    out: dict[str, dict[str, float]] = {t: {} for t in urls}
    for target, arr in arrays.items():  # cold, and checked once
        read: list[np.ndarray] = []
        out[target]["cold_s"] = timed(lambda arr=arr, read=read: read.append(arr.read().result()))
        if not np.array_equal(read[0], expected):
            raise AssertionError(f"{target} read other voxels than were written")
    full: dict[str, list[float]] = {t: [] for t in urls}
    small: dict[str, list[float]] = {t: [] for t in urls}

    def one_pass(arr: ts.TensorStore) -> None:
        for box in boxes:
            (z0, y0, x0), (z1, y1, x1) = box.start, box.stop
            arr[z0:z1, y0:y1, x0:x1].read().result()

    for _ in range(repeat):
        for target, arr in arrays.items():
            full[target].append(timed(lambda arr=arr: arr.read().result()))
            small[target].append(timed(lambda arr=arr: one_pass(arr)))
    for target in urls:
        out[target]["full_s"] = min(full[target])
        out[target]["small_s"] = min(small[target])
    return out


@dataclass(frozen=True)
class Served:
    """The volumes served both ways: by ``voxhub serve`` (a committed node and its open
    child) and as static precomputed files by the reference Range server."""

    server: ServerProcess
    static: RangeServer
    committed: str
    child: str


@contextmanager
def served(
    volumes: dict[str, np.ndarray], workers: int = 1, prefix: str = "views"
) -> Iterator[Served]:
    """``volumes`` written into a temp LMDB store and as static files, both served; all
    stopped and deleted after."""
    workdir = Path(tempfile.mkdtemp(prefix=f"voxhub-bench-{prefix}-"))
    try:
        committed, child = build_voxhub(volumes, workdir / "store")
        build_static(volumes, workdir / "static")
        server = start_server(workdir / "store", workers=workers)
        try:
            static = start_range_server(workdir / "static", f"{next(iter(volumes))}/info")
            try:
                yield Served(server, static, committed, child)
            finally:
                static.stop()
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bench_views(n: int, repeat: int, workers: int, names: list[str]) -> dict[str, Any]:
    volumes: dict[str, np.ndarray] = {}
    if "em" in names:
        volumes["em"] = em_volume(n)
    if "seg" in names:
        volumes["seg"] = voronoi_labels(n)
    boxes = random_boxes(n, N_SMALL, SIDE, True, 1)
    results: dict[str, Any] = {}
    with served(volumes, workers) as both:
        for name, data in volumes.items():
            urls = {
                "committed": f"{both.server.url}/precomputed/{both.committed}/{name}",
                "open": f"{both.server.url}/precomputed/{both.child}/{name}",
                "static": f"{both.static.url}/{name}",
            }
            results[name] = measure(urls, data, boxes, repeat)
            results[name]["mb"] = data.nbytes / 1e6
    return results


def print_views(results: dict[str, Any], n: int) -> None:
    print("\ntensorstore over loopback HTTP: voxhub's precomputed view vs static files on")
    print("range_http_server.py (ratio = static time / voxhub time; goal >= 1.0x)\n")
    head = f"{'volume / measure':<26}" + "".join(f"{t:>20}" for t in TARGETS)
    print(head)
    for name, res in results.items():
        mb = res["mb"]
        for key, label in (("cold_s", f"full {n}³ first read"), ("full_s", f"full {n}³ read")):
            cells = []
            for target in TARGETS:
                seconds = res[target][key]
                ratio = res["static"][key] / seconds
                extra = "" if target == "static" else f" {ratio:.2f}x"
                cells.append(f"{mb / seconds:.0f} MB/s{extra}")
            print(f"{name + ' ' + label:<26}" + "".join(f"{c:>20}" for c in cells))
        cells = []
        for target in TARGETS:
            ms = res[target]["small_s"] / N_SMALL * 1e3
            ratio = res["static"]["small_s"] / res[target]["small_s"]
            extra = "" if target == "static" else f" {ratio:.2f}x"
            cells.append(f"{ms:.2f} ms{extra}")
        print(f"{name + f' {N_SMALL}x 64³ reads':<26}" + "".join(f"{c:>20}" for c in cells))


def run_others(skip: bool) -> dict[str, Any]:
    """The other helpers' view benchmarks that exist (``run() -> dict`` each)."""
    out: dict[str, Any] = {}
    for name in OTHERS:
        if skip or not (HERE / f"{name}.py").exists():
            continue
        print(f"\n== bench.{name}")
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception:  # one failing benchmark must not lose the others' figures
            traceback.print_exc()
            out[name] = {"error": traceback.format_exc(limit=3)}
            continue
        print(json.dumps(result, indent=2, default=str))
        out[name] = result
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="side of the cubic volumes")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (best kept)")
    # one process, as `voxhub serve` by default and the static server: on a 2-core machine
    # a second worker only competes with the client for the cores (and keeps a cache of
    # its own); --workers 2 shows that
    parser.add_argument("--workers", type=int, default=1, help="voxhub serve processes")
    parser.add_argument("--volumes", default="em,seg", help="em and/or seg")
    parser.add_argument("--skip-others", action="store_true", help="only this benchmark")
    args = parser.parse_args()
    names = [v for v in args.volumes.split(",") if v]
    results = bench_views(args.n, args.repeat, args.workers, names)
    print_views(results, args.n)
    others = run_others(args.skip_others)
    config = {
        "n": args.n,
        "repeat": args.repeat,
        "workers": args.workers,
        "small_reads": N_SMALL,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "tensorstore": importlib.metadata.version("tensorstore"),
        "load": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    report = {"config": config, "precomputed": results, "others": others}
    (HERE / "views_results.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
