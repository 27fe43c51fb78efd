"""Import of a tiled TIFF stack of large sections: throughput with the pyramid, and RSS.

A synthetic EM stack (a folder of uncompressed tiled TIFFs, one per section; each section
tiles the tissue-only centre of ``bench.data``'s EM volume, so it compresses like EM) is
imported into a fresh embedded LMDB store, 64³ blocks, zstd, with ``max_scale`` pyramid
levels, by ``voxhub.transfer.import_volume`` in a child process, which reports its wall
time and its peak RSS (``ru_maxrss``). Two runs:

* **throughput**: ``--sections`` (64: one block tall) sections of ``--size``² voxels;
* **memory**: ``--rss-sections`` sections of ``--rss-size``² (32k²: 1 GiB each, the whole
  section never held).

The files go to ``--workdir`` (default ``/tmp/voxhub-bench-import``, removed afterwards);
the run refuses to start without room for them. Results: ``bench/views_import.json``.

    python -m bench.views_import [--size 16384 --sections 64 --rss-size 32768 ...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

TILE = 512
RESULTS = Path(__file__).parent / "views_import.json"


def _texture() -> np.ndarray:
    """256 EM planes of 256² from inside the tissue of the cached EM volume."""
    from bench.data import em_volume

    em = em_volume(512)
    return np.ascontiguousarray(em[128:384, 128:384, 128:384])


def write_stack(folder: Path, sections: int, size: int) -> int:
    """Write ``sections`` tiled TIFFs of ``size``² uint8; returns the bytes of voxels."""
    folder.mkdir(parents=True, exist_ok=True)
    texture = _texture()
    reps = TILE // texture.shape[1]
    for z in range(sections):
        tile = np.tile(texture[z % len(texture)], (reps, reps))

        def tiles(tile: np.ndarray = tile) -> Iterator[np.ndarray]:
            for _ in range((size // TILE) ** 2):
                yield tile

        tifffile.imwrite(
            folder / f"section_{z:05d}.tif",
            tiles(),
            shape=(size, size),
            dtype=np.uint8,
            tile=(TILE, TILE),
            photometric="minisblack",
        )
    return sections * size * size


def _child(folder: str, store: str, max_scale: int, out: Any) -> None:
    import voxhub
    from voxhub.transfer import import_volume, open_source

    with voxhub.open(store, mode="w") as hub:
        vol = hub.create_repo("bench").master.create_volume("em", "uint8", max_scale=max_scale)
        source = open_source(folder)
        start = time.perf_counter()
        counts = import_volume(vol, source, progress=False)
        seconds = time.perf_counter() - start
        source.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "seconds": seconds,
            "blocks": counts.blocks,
            "peak_rss_mib": usage.ru_maxrss / 1024,
            # CPU the import used (the process did little else): on a shared machine, the
            # figure that does not depend on what the other processes take
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        }
    )


def measure(folder: Path, store: Path, max_scale: int, nbytes: int) -> dict[str, Any]:
    """Import ``folder`` in a fresh process; its time, throughput and peak RSS."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_child, args=(str(folder), str(store), max_scale, out))
    child.start()
    result: dict[str, Any] = out.get()
    child.join()
    result["mb_per_s"] = nbytes / 1e6 / result["seconds"]
    result["cpu_seconds_per_gb"] = result["cpu_seconds"] / (nbytes / 1e9)
    # what 2 cores of its own would give if every CPU-second ran in parallel (upper bound)
    result["mb_per_s_on_2_free_cores"] = 2 * nbytes / 1e6 / result["cpu_seconds"]
    return result


def run(
    size: int = 16384,
    sections: int = 64,
    rss_size: int = 32768,
    rss_sections: int = 2,
    max_scale: int = 3,
    workdir: str = "/tmp/voxhub-bench-import",
) -> dict[str, Any]:
    root = Path(workdir)
    need = 2.2 * (size**2 * sections + rss_size**2 * rss_sections)
    root.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(root).free
    if free < need:
        raise SystemExit(f"{workdir} has {free / 1e9:.1f} GB free, the run needs {need / 1e9:.1f}")
    results: dict[str, Any] = {"max_scale": max_scale, "tile": TILE, "block": 64}
    results["load_before"] = os.getloadavg()[0]
    try:
        for name, n, depth in (("throughput", size, sections), ("memory", rss_size, rss_sections)):
            if not depth:
                continue
            folder = root / f"{name}-stack"
            nbytes = write_stack(folder, depth, n)
            result = measure(folder, root / f"{name}-store", max_scale, nbytes)
            results[name] = {"section": n, "sections": depth, "gb": nbytes / 1e9, **result}
            shutil.rmtree(folder)
            shutil.rmtree(root / f"{name}-store")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["load_after"] = os.getloadavg()[0]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--sections", type=int, default=64)
    parser.add_argument("--rss-size", type=int, default=32768)
    parser.add_argument("--rss-sections", type=int, default=2)
    parser.add_argument("--max-scale", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/voxhub-bench-import")
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON")
    args = parser.parse_args()
    results = run(
        args.size, args.sections, args.rss_size, args.rss_sections, args.max_scale, args.workdir
    )
    print(json.dumps(results, indent=2))
    if not args.no_save:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
