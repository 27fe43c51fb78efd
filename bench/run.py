"""voxhub vs tensorstore (zarr3, zstd level 1, 64³ chunks, local disk) on the same EM data.

Run: ``make bench`` (or ``.venv/bin/python -m bench.run [--n 512] [--repeat 3]``).
Prints one table with both engines and the ratios the issue asks for; figures go to
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
from pathlib import Path

import numpy as np
import tensorstore as ts

import voxhub
from bench.data import em_volume
from voxhub import Box

HERE = Path(__file__).parent


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


def bench_voxhub(em: np.ndarray, workdir: Path, repeat: int, depth: int) -> dict[str, float]:
    n = em.shape[0]
    res: dict[str, float] = {}
    hub = voxhub.open(str(workdir / "voxhub"))
    root = hub.create_repo("bench").master
    vol = root.create_volume("em", "uint8")
    t0 = time.perf_counter()
    vol.write((0, 0, 0), em)
    res["write_s"] = res["first_write_s"] = time.perf_counter() - t0
    res["stored_bytes"] = _du(workdir / "voxhub")
    for i in range(1, repeat):  # more first writes, each into a fresh instance
        fresh = root.create_volume(f"em{i}", "uint8")
        t0 = time.perf_counter()
        fresh.write((0, 0, 0), em)
        res["write_s"] = min(res["write_s"], time.perf_counter() - t0)
    full = Box((0, 0, 0), em.shape)  # type: ignore[arg-type]
    assert np.array_equal(vol.read(full), em)
    res["read_s"] = best_of(repeat, lambda: vol.read(full))
    aligned = random_boxes(n, 200, 64, True, 1)
    unaligned = random_boxes(n, 100, 100, False, 2)
    res["aligned64_ms"] = best_of(repeat, lambda: [vol.read(b) for b in aligned]) / 200 * 1e3
    res["unaligned100_ms"] = best_of(repeat, lambda: [vol.read(b) for b in unaligned]) / 100 * 1e3
    # A 50-deep chain of versions, each changing one random block (as proofreading does).
    rng = np.random.default_rng(3)
    node = root
    for _ in range(depth):
        node = node.commit().newversion()
        z, y, x = (int(v) * 64 for v in rng.integers(0, n // 64, 3))
        node.volume("em")[z : z + 64, y : y + 64, x : x + 64] = rng.integers(
            0, 255, (64,) * 3, np.uint8
        )
    deep = node.volume("em")
    root_vol = root.volume("em")
    res["root_read_s"] = best_of(repeat, lambda: root_vol.read(full))
    res["deep_read_s"] = best_of(repeat, lambda: deep.read(full))
    hub.close()
    res["chain_stored_bytes"] = _du(workdir / "voxhub")
    return res


def bench_tensorstore(em: np.ndarray, workdir: Path, repeat: int) -> dict[str, float]:
    n = em.shape[0]
    spec = {
        "driver": "zarr3",
        "kvstore": {"driver": "file", "path": str(workdir / "ts")},
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
    arr = ts.open({"driver": "zarr3", "kvstore": spec["kvstore"]}).result()
    assert np.array_equal(arr.read().result(), em)
    res["read_s"] = best_of(repeat, lambda: arr.read().result())

    def reads(boxes: list[Box]) -> None:
        for b in boxes:
            arr[
                b.start[0] : b.stop[0], b.start[1] : b.stop[1], b.start[2] : b.stop[2]
            ].read().result()

    aligned = random_boxes(n, 200, 64, True, 1)
    unaligned = random_boxes(n, 100, 100, False, 2)
    res["aligned64_ms"] = best_of(repeat, lambda: reads(aligned)) / 200 * 1e3
    res["unaligned100_ms"] = best_of(repeat, lambda: reads(unaligned)) / 100 * 1e3
    res["stored_bytes"] = _du(workdir / "ts")
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="side of the cubic EM volume")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--depth", type=int, default=50, help="version chain depth")
    args = parser.parse_args()
    em = em_volume(args.n)
    mb = em.nbytes / 1e6
    workdir = Path(tempfile.mkdtemp(prefix="voxhub-bench-"))
    try:
        v = bench_voxhub(em, workdir, args.repeat, args.depth)
        t = bench_tensorstore(em, workdir, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [
        (
            "full write",
            f"{mb / v['write_s']:.0f} MB/s",
            f"{mb / t['write_s']:.0f} MB/s",
            t["write_s"] / v["write_s"],
            "≥ 0.8",
        ),
        (
            "full read",
            f"{mb / v['read_s']:.0f} MB/s",
            f"{mb / t['read_s']:.0f} MB/s",
            t["read_s"] / v["read_s"],
            "≥ 1.0",
        ),
        (
            "200 aligned 64³ reads",
            f"{v['aligned64_ms']:.2f} ms",
            f"{t['aligned64_ms']:.2f} ms",
            t["aligned64_ms"] / v["aligned64_ms"],
            "",
        ),
        (
            "100 unaligned 100³ reads",
            f"{v['unaligned100_ms']:.2f} ms",
            f"{t['unaligned100_ms']:.2f} ms",
            t["unaligned100_ms"] / v["unaligned100_ms"],
            "",
        ),
        (
            "stored size",
            f"{v['stored_bytes'] / 1e6:.0f} MB",
            f"{t['stored_bytes'] / 1e6:.0f} MB",
            t["stored_bytes"] / v["stored_bytes"],
            "",
        ),
    ]
    print(
        f"\nEM volume {args.n}³ uint8 ({mb:.0f} MB), zstd level 1, 64³ blocks; "
        f"{platform.machine()}, {platform.python_version()}, best of {args.repeat}\n"
    )
    print(f"{'measure':<28}{'voxhub':>14}{'tensorstore':>14}{'speed ratio':>13}{'goal':>8}")
    for name, a, b, ratio, goal in rows:
        print(f"{name:<28}{a:>14}{b:>14}{ratio:>12.2f}x{goal:>8}")
    print(f"\nvoxhub's very first write into the new store: {mb / v['first_write_s']:.0f} MB/s")
    depth_ratio = v["deep_read_s"] / v["root_read_s"]
    print(
        f"\nfull read at depth {args.depth}: {mb / v['deep_read_s']:.0f} MB/s vs root "
        f"{mb / v['root_read_s']:.0f} MB/s → depth/root time {depth_ratio:.2f}x (goal ≤ 1.10)"
    )
    print("(speed ratio = tensorstore time / voxhub time: above 1 means voxhub is faster)")
    (HERE / "results.json").write_text(json.dumps({"voxhub": v, "tensorstore": t}, indent=2))


if __name__ == "__main__":
    main()
