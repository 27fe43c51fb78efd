"""zarr-python on voxhub's Zarr view vs zarr-python on a static copy of the same arrays.

The volume: the cached EM volume (``bench.data.em_volume``, ``side``³ uint8, 64³ blocks)
in an embedded LMDB store under ``bench/work/``, committed (so the view cache may keep
what it encodes), served by ``voxhub serve``. Its peers, the same bytes as static files
served by the reference Range server (``range_http_server.py``, as ``bench/precomputed.py``
starts it):

* ``unsharded``: the view's array ``/zarr/{node}/em/s0`` (one chunk per block) against a
  byte-for-byte copy of it (its ``zarr.json`` and every chunk fetched once from the view);
* ``sharded``: the view's ``/zarr/{node}/em/sharded/s0`` against the OME-Zarr export of
  the volume (``voxhub.transfer.zarr_export``, the same shards as files).

Each is read by zarr-python 3 over HTTP (fsspec + aiohttp): one untimed full read (its
time is ``warmup_s``: the client's and the server's first use), then ``repeat`` timed full
reads (best kept) and ``reads`` random unaligned 64³ reads (same boxes for every source).
``ratio`` > 1 means the view is faster than the static files.

    python -m bench.views_zarr [--side 512] [--reads 100] [--repeat 2] [--workers 1]

``run(...)`` returns the figures as a dict (``bench/views.py`` imports it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

import voxhub
from bench.precomputed import start_range_server
from voxhub.testing.server import start_server
from voxhub.transfer.zarr_export import export_ome_zarr

WORK = Path(__file__).resolve().parent / "work"
CUBE = 64


def em_store(side: int) -> tuple[Path, str]:
    """The LMDB store holding the committed ``side``³ EM volume ``em`` (built once)."""
    from bench.data import em_volume

    path = WORK / f"zarr_view_em_{side}"
    done = path / "built"
    if done.exists():
        return path / "store", done.read_text()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    with voxhub.open(str(path / "store"), mode="w") as hub:
        node = hub.create_repo("zarr-bench").master
        node.create_volume("em", "uint8", voxel_size=(8, 8, 8))[...] = em_volume(side)
        node.commit("em")
        done.write_text(node.uuid)
    return path / "store", node.uuid


def copy_array(url: str, directory: Path) -> None:
    """Copy the Zarr array at ``url`` (metadata and every chunk present) into ``directory``."""
    with httpx.Client(timeout=60) as http:
        meta = http.get(f"{url}/zarr.json").raise_for_status().json()
        directory.mkdir(parents=True)
        (directory / "zarr.json").write_text(json.dumps(meta))
        chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
        grid = [-(-n // c) for n, c in zip(meta["shape"], chunk, strict=True)]
        for i, j, k in np.ndindex(*grid):
            reply = http.get(f"{url}/c/{i}/{j}/{k}")
            if reply.status_code == 404:
                continue
            target = directory / "c" / str(i) / str(j) / str(k)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(reply.raise_for_status().content)


def _boxes(shape: tuple[int, ...], reads: int) -> list[tuple[slice, ...]]:
    rng = np.random.default_rng(12)
    starts = [rng.integers(0, max(1, n - CUBE), reads) for n in shape]
    return [tuple(slice(int(s[i]), int(s[i]) + CUBE) for s in starts) for i in range(reads)]


def _measure(url: str, reads: int, repeat: int, expected: np.ndarray) -> dict[str, Any]:
    import zarr

    array = zarr.open_array(url, mode="r")
    # one untimed read first: the first full reads in a process pay the client's own
    # warm-up (zarr-python's loop thread and decode pool, aiohttp's connections, first
    # touches of memory: 0.3-0.8 s of client *system* time a pass), whichever source is
    # read first. The view always was, so it read 2-3x slower than the static files while
    # its server CPU per pass stayed flat; read second, or after this, they read alike
    started = time.perf_counter()
    array[...]
    warmup = time.perf_counter() - started
    full = []
    for _ in range(repeat):
        started = time.perf_counter()
        data = array[...]
        full.append(time.perf_counter() - started)
    if not np.array_equal(data, expected):
        raise AssertionError(f"{url} read other voxels than the numpy API")
    times = []
    for box in _boxes(array.shape, reads):
        started = time.perf_counter()
        array[box]
        times.append(time.perf_counter() - started)
    best = min(full)
    return {
        "warmup_s": round(warmup, 4),
        "full_s": [round(t, 4) for t in full],
        "full_mb_per_s": round(data.nbytes / best / 1e6, 1),
        "random_ms_median": round(1000 * statistics.median(times), 3),
        "random_ms_mean": round(1000 * statistics.fmean(times), 3),
    }


def run(side: int = 512, reads: int = 100, repeat: int = 2, workers: int = 1) -> dict[str, Any]:
    """Read the view (``workers`` server processes, as ``bench/views.py``) and its static
    peers with zarr-python; the figures of each."""
    store, uuid = em_store(side)
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {"side": side, "reads": reads, "cube": CUBE, "workers": workers}
    server = start_server(store, workers=workers)
    try:
        with voxhub.open(str(store), mode="r") as hub:
            vol = hub.node(uuid).volume("em")
            expected = vol[...]
            with tempfile.TemporaryDirectory(dir=WORK) as tmp:
                static = Path(tmp)
                view = f"{server.url}/zarr/{uuid}/em"
                copy_array(f"{view}/s0", static / "unsharded" / "s0")
                export_ome_zarr(vol, str(static / "sharded"), progress=False)
                ranged = start_range_server(static, "unsharded/s0/zarr.json")
                try:
                    for layout, path in (("unsharded", ""), ("sharded", "/sharded")):
                        own = _measure(f"{view}{path}/s0", reads, repeat, expected)
                        peer = _measure(f"{ranged.url}/{layout}/s0", reads, repeat, expected)
                        results[layout] = {
                            "view": own,
                            "static": peer,
                            "full_ratio": round(own["full_mb_per_s"] / peer["full_mb_per_s"], 2),
                            "random_ratio": round(
                                peer["random_ms_median"] / own["random_ms_median"], 2
                            ),
                        }
                finally:
                    ranged.stop()
    finally:
        server.stop()
    results["load_before"] = load_before
    results["load_after"] = os.getloadavg()[0]
    results["cpus"] = os.cpu_count()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=1, help="voxhub serve processes (as bench/views.py)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.side, args.reads, args.repeat, args.workers), indent=1))


if __name__ == "__main__":
    main()
