"""voxhub vs tensorstore (zarr3, zstd level 1, 64³ chunks, local disk) on two EM data sets.

Run: ``make bench`` (or ``.venv/bin/python -m bench.run [--n 512] [--repeat 3] [--shots 7]``).
For each data set of ``bench.data.EM_SETS`` both engines write the volume (best of
``--repeat`` first writes), then every read is timed as the **median of ``--shots``
interleaved single-shot runs** (voxhub, tensorstore, voxhub, …: a burst of outside load
hits both alike): the full volume, 200 aligned 64³ reads, 100 unaligned 100³ reads.
The version-chain read (depth vs root) runs on the first data set. Figures go to
``bench/README.md`` by hand, with the date and machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import tensorstore as ts

import voxhub
from bench.data import EM_SETS, em_volume
from bench.memory import malloc_mode, retain_freed_memory
from voxhub import Box

HERE = Path(__file__).parent

Reads = dict[str, Callable[[], object]]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """Fastest wall time of ``repeat`` runs (seconds): the least disturbed measurement."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _du(path: Path) -> int:
    """Bytes actually allocated on disk under ``path`` (sparse LMDB files count as used)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def random_boxes(n: int, count: int, side: int, aligned: bool, seed: int) -> list[Box]:
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(count):
        if aligned:
            start = tuple(int(v) * side for v in rng.integers(0, n // side, 3))
        else:
            start = tuple(int(v) for v in rng.integers(0, n - side, 3))
        boxes.append(Box.from_shape((side, side, side), start))  # type: ignore[arg-type]
    return boxes


def read_sets(n: int) -> dict[str, list[Box]]:
    """The boxes of each read measure (the same for both engines and data sets)."""
    return {
        "full": [Box((0, 0, 0), (n, n, n))],
        "aligned64": random_boxes(n, 200, 64, True, 1),
        "unaligned100": random_boxes(n, 100, 100, False, 2),
        "xy": xy_slices(n, 50, 3),
    }


def xy_slices(n: int, count: int, seed: int) -> list[Box]:
    """Whole xy planes at random z (what a viewer's 2-D panel or a tile server reads)."""
    zs = np.random.default_rng(seed).integers(0, n, count)
    return [Box((int(z), 0, 0), (int(z) + 1, n, n)) for z in zs]


def setup_voxhub(
    em: np.ndarray, workdir: Path, repeat: int
) -> tuple[dict[str, float], Reads, voxhub.Node]:
    """Write ``em`` (best of ``repeat`` first writes); the reads to time; the root node."""
    res: dict[str, float] = {}
    hub = voxhub.open(str(workdir))
    root = hub.create_repo("bench").master
    vol = root.create_volume("em", "uint8")
    t0 = time.perf_counter()
    vol.write((0, 0, 0), em)
    res["write_s"] = res["first_write_s"] = time.perf_counter() - t0
    res["stored_bytes"] = _du(workdir)
    for i in range(1, repeat):  # more first writes, each into a fresh instance
        fresh = root.create_volume(f"em{i}", "uint8")
        t0 = time.perf_counter()
        fresh.write((0, 0, 0), em)
        res["write_s"] = min(res["write_s"], time.perf_counter() - t0)
    sets = read_sets(em.shape[0])
    for box in sets["unaligned100"][:10] + sets["full"]:
        assert np.array_equal(vol.read(box), em[box.relative_to((0, 0, 0))])
    reads = {
        name: (lambda boxes=boxes: [vol.read(b) for b in boxes]) for name, boxes in sets.items()
    }
    return res, reads, root


def setup_tensorstore(em: np.ndarray, workdir: Path, repeat: int) -> tuple[dict[str, float], Reads]:
    spec: dict[str, Any] = {
        "driver": "zarr3",
        "kvstore": {"driver": "file", "path": str(workdir)},
        "metadata": {
            "shape": list(em.shape),
            "data_type": "uint8",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [64, 64, 64]}},
            "codecs": [{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 1}}],
        },
        "create": True,
        "delete_existing": True,
    }
    res: dict[str, float] = {}
    res["write_s"] = best_of(repeat, lambda: ts.open(spec).result().write(em).result())
    res["stored_bytes"] = _du(workdir)
    arr = ts.open({"driver": "zarr3", "kvstore": spec["kvstore"]}).result()
    assert np.array_equal(arr.read().result(), em)

    def read(boxes: list[Box]) -> None:
        for b in boxes:
            z, y, x = (slice(a, c) for a, c in zip(b.start, b.stop, strict=True))
            arr[z, y, x].read().result()

    reads = {
        name: (lambda boxes=boxes: read(boxes)) for name, boxes in read_sets(em.shape[0]).items()
    }
    return res, reads


def interleaved_reads(shots: int, engines: dict[str, Reads]) -> dict[str, dict[str, float]]:
    """Median seconds of ``shots`` single-shot runs of every read of every engine, taken
    in turn (measure by measure, engine by engine), after one warm-up round."""
    times: dict[str, dict[str, list[float]]] = {e: {m: [] for m in r} for e, r in engines.items()}
    for shot in range(shots + 1):
        for measure in next(iter(engines.values())):
            for engine, reads in engines.items():
                t0 = time.perf_counter()
                reads[measure]()
                if shot:  # the first round warms caches and the pool
                    times[engine][measure].append(time.perf_counter() - t0)
    return {e: {f"{m}_s": float(np.median(t)) for m, t in per.items()} for e, per in times.items()}


def version_chain(root: voxhub.Node, em: np.ndarray, depth: int, shots: int) -> dict[str, float]:
    """A ``depth``-deep chain of versions, each changing one random block (as proofreading
    does); full reads at the leaf and at the root, interleaved."""
    n = em.shape[0]
    rng = np.random.default_rng(3)
    node = root
    for _ in range(depth):
        node = node.commit().newversion()
        z, y, x = (int(v) * 64 for v in rng.integers(0, n // 64, 3))
        node.volume("em")[z : z + 64, y : y + 64, x : x + 64] = rng.integers(
            0, 255, (64,) * 3, np.uint8
        )
    full = Box((0, 0, 0), em.shape)  # type: ignore[arg-type]
    deep, top = node.volume("em"), root.volume("em")
    med = interleaved_reads(
        shots, {"root": {"full": lambda: top.read(full)}, "deep": {"full": lambda: deep.read(full)}}
    )
    return {"root_read_s": med["root"]["full_s"], "deep_read_s": med["deep"]["full_s"]}


def bench_set(name: str, n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    em = em_volume(n, name)
    v, v_reads, root = setup_voxhub(em, workdir / f"{name}-voxhub", args.repeat)
    t, t_reads = setup_tensorstore(em, workdir / f"{name}-ts", args.repeat)
    med = interleaved_reads(args.shots, {"voxhub": v_reads, "tensorstore": t_reads})
    v.update(med["voxhub"])
    t.update(med["tensorstore"])
    if args.depth and name == next(iter(EM_SETS)):
        v.update(version_chain(root, em, args.depth, args.shots))
    return {"voxhub": v, "tensorstore": t, "mb": em.nbytes / 1e6}


def print_set(name: str, res: dict[str, Any], depth: int) -> None:
    v, t, mb = res["voxhub"], res["tensorstore"], res["mb"]

    def row(label: str, key: str, fmt: Callable[[float], str], goal: str = "") -> None:
        print(f"{label:<34}{fmt(v[key]):>14}{fmt(t[key]):>14}{t[key] / v[key]:>12.2f}x{goal:>8}")

    def speed(s: float) -> str:
        return f"{mb / s:.0f} MB/s"

    print(f"\n{name}: {mb:.0f} MB; stored voxhub {v['stored_bytes'] / 1e6:.0f} MB, tensorstore "
          f"{t['stored_bytes'] / 1e6:.0f} MB")  # fmt: skip
    print(f"{'measure':<34}{'voxhub':>14}{'tensorstore':>14}{'speed ratio':>13}{'goal':>8}")
    row("full write (best of --repeat)", "write_s", speed, "≥ 0.8")
    row("full read (median)", "full_s", speed, "≥ 1.0")
    row("200 aligned 64³ reads, each", "aligned64_s", lambda s: f"{s / 200 * 1e3:.2f} ms")
    row(
        "100 unaligned 100³ reads, each",
        "unaligned100_s",
        lambda s: f"{s / 100 * 1e3:.2f} ms",
        "≥ 1.0",
    )
    row("50 xy slices of the volume, each", "xy_s", lambda s: f"{s / 50 * 1e3:.2f} ms")
    print(f"voxhub's very first write into the new store: {speed(v['first_write_s'])}")
    if "deep_read_s" in v:
        ratio = v["deep_read_s"] / v["root_read_s"]
        print(
            f"full read at depth {depth}: {speed(v['deep_read_s'])} vs root "
            f"{speed(v['root_read_s'])} → depth/root time {ratio:.2f}x (goal ≤ 1.10)"
        )


def main() -> None:
    retain_freed_memory("bench.run")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--retain-memory",
        action="store_true",
        help="keep freed memory in the process (bench/memory.py)",
    )
    parser.add_argument("--n", type=int, default=512, help="side of the cubic EM volumes")
    parser.add_argument("--repeat", type=int, default=3, help="first writes per engine (best kept)")
    parser.add_argument("--shots", type=int, default=7, help="interleaved single-shot reads")
    parser.add_argument("--depth", type=int, default=50, help="version chain depth (0: none)")
    parser.add_argument("--sets", default=",".join(EM_SETS), help="data sets, comma-separated")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="voxhub-bench-"))
    results: dict[str, Any] = {}
    try:
        for name in args.sets.split(","):
            results[name] = bench_set(name, args.n, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\nEM volumes {args.n}³ uint8, zstd level 1, 64³ blocks; {platform.machine()}, Python "
        f"{platform.python_version()}, tensorstore {version('tensorstore')}; reads: median of "
        f"{args.shots} interleaved single shots; malloc {malloc_mode()} (bench/memory.py)"
    )
    for name, res in results.items():
        print_set(name, res, args.depth)
    print("\n(speed ratio = tensorstore time / voxhub time: above 1 means voxhub is faster)")
    results["malloc"] = malloc_mode()
    (HERE / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
