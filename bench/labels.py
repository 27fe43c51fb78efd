"""Labelmap benchmark: voxhub labels vs tensorstore precomputed compressed_segmentation.

Run: ``make bench-labels`` (or ``.venv/bin/python -m bench.labels [--n 512] [--repeat 3]``).
On a cached n³ Voronoi segmentation (2000 supervoxels at 512³, random 40-bit ids,
``bench.data.voronoi_labels``), in one run it times:

* the full n³ write into a fresh labelmap (cseg + zstd, 64³ blocks, label index kept exact
  in the same transaction), each repeat into a fresh instance;
* full reads of bodies and of supervoxels, against tensorstore reading the same labels
  written as neuroglancer precomputed (``compressed_segmentation``, 64³ chunks, unsharded,
  ``file`` kvstore);
* 200 random merges of existing bodies, one at a time (p50/p99);
* ``sparsevol`` of one body spanning 50+ blocks (made by merging the bodies met along
  lines through the volume, as a neurite would cross them);
* the stored sizes: LMDB directory, tensorstore's directory, raw 8·n³ bytes.

Prints a table like ``bench.run`` and writes ``bench/labels_results.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import tensorstore as ts

import voxhub
from bench.data import voronoi_labels
from bench.run import _du, best_of
from voxhub import Box
from voxhub.client.labels import LabelVolume

HERE = Path(__file__).parent
BLOCK = 64
N_MERGES = 200
MIN_BLOCKS = 50
N_SPARSEVOL = 20  # sparsevol calls timed (p50 reported)


def percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def timed_ms(fn: Any, *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t0) * 1e3, out


# -- voxhub ----------------------------------------------------------------------------------
def bench_write_read(
    lv: LabelVolume, labels: np.ndarray, node: Any, repeat: int, store: Path
) -> dict[str, Any]:
    res: dict[str, Any] = {}
    t0 = time.perf_counter()
    lv.write((0, 0, 0), labels)
    res["write_s"] = res["first_write_s"] = time.perf_counter() - t0
    res["stored_bytes"] = _du(store)
    for i in range(1, repeat):  # more first writes, each into a fresh instance
        fresh = node.create_labels(f"seg{i}", block_shape=(BLOCK,) * 3)
        t0 = time.perf_counter()
        fresh.write((0, 0, 0), labels)
        res["write_s"] = min(res["write_s"], time.perf_counter() - t0)
    full = Box.from_shape((labels.shape[0], labels.shape[1], labels.shape[2]))
    # before any merge every supervoxel is its own body: both reads give the written ids
    assert np.array_equal(lv.read(full, supervoxels=True), labels)
    assert np.array_equal(lv.read(full), labels)
    res["read_sv_s"] = best_of(repeat, lambda: lv.read(full, supervoxels=True))
    res["read_body_s"] = best_of(repeat, lambda: lv.read(full))
    return res


def bench_merges(lv: LabelVolume, bodies: list[int], seed: int) -> dict[str, Any]:
    """``N_MERGES`` merges of two random current bodies; the merged-away one is dropped.
    (Fewer on small volumes, so at least half the bodies remain.)"""
    rng = np.random.default_rng(seed)
    alive = list(bodies)
    ms = []
    for _ in range(min(N_MERGES, len(bodies) // 2)):
        i, j = (int(v) for v in rng.choice(len(alive), 2, replace=False))
        target, other = alive[i], alive[j]
        dt, _ = timed_ms(lv.merge, target, [other])
        ms.append(dt)
        alive[j] = alive[-1]  # swap-remove: O(1), order does not matter
        alive.pop()
    return {"merge_ms": ms, **percentiles(ms), "count": len(ms), "bodies_left": len(alive)}


def blocks_spanned(runs: np.ndarray) -> int:
    """Distinct 64³ blocks touched by sparsevol runs (runs never cross a block edge)."""
    if not len(runs):
        return 0
    coords = runs[:, :3] // BLOCK
    return len(np.unique(coords, axis=0))


def make_long_body(lv: LabelVolume, n: int) -> tuple[int, int]:
    """Merge the bodies met along lines through the volume (x, then y, then z axis lines
    through the centre, then shifted ones) until one body spans ``MIN_BLOCKS`` blocks.
    Returns ``(body, merges made)``."""
    c = n // 2
    lines = [
        Box((c, c, 0), (c + 1, c + 1, n)),
        Box((c, 0, c), (c + 1, n, c + 1)),
        Box((0, c, c), (n, c + 1, c + 1)),
    ]
    lines += [Box((q, q, 0), (q + 1, q + 1, n)) for q in range(n // 8, n, n // 4)]
    body = 0
    merges = 0
    for line in lines:
        met = [int(v) for v in dict.fromkeys(lv.read(line).ravel().tolist()) if v]
        if body == 0:
            body, met = met[0], met[1:]
        others = [b for b in met if b != body]
        if others:
            lv.merge(body, others)
            merges += 1
        if blocks_spanned(lv.sparsevol(body)) >= MIN_BLOCKS:
            break
    return body, merges


def bench_sparsevol(lv: LabelVolume, n: int) -> dict[str, Any]:
    body, merges = make_long_body(lv, n)
    runs = lv.sparsevol(body)
    assert int(runs[:, 3].sum()) == lv.size(body)
    ms = [timed_ms(lv.sparsevol, body)[0] for _ in range(N_SPARSEVOL)]
    return {
        "body": body,
        "supervoxels": len(lv.supervoxels(body)),
        "voxels": lv.size(body),
        "blocks": blocks_spanned(runs),
        "runs": len(runs),
        "setup_merges": merges,
        "sparsevol_ms": ms,
        **percentiles(ms),
    }


def bench_voxhub(labels: np.ndarray, workdir: Path, repeat: int) -> dict[str, Any]:
    store = workdir / "voxhub"
    hub = voxhub.open(str(store))
    try:
        node = hub.create_repo("bench").master
        lv = node.create_labels("seg", block_shape=(BLOCK,) * 3)
        res = bench_write_read(lv, labels, node, repeat, store)
        bodies = lv.labels()
        assert len(bodies) == len(np.unique(labels)) - (labels.min() == 0)
        res["bodies"] = len(bodies)
        res["merges"] = bench_merges(lv, bodies, seed=11)
        res["sparsevol"] = bench_sparsevol(lv, labels.shape[0])
    finally:
        hub.close()
    return res


# -- tensorstore -----------------------------------------------------------------------------
def cseg_spec(directory: Path, shape: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Neuroglancer precomputed, one scale, compressed_segmentation (8³ cseg blocks inside
    64³ chunks, as voxhub's), unsharded, on local disk. ``shape`` (z, y, x) creates it."""
    spec: dict[str, Any] = {
        "driver": "neuroglancer_precomputed",
        "kvstore": {"driver": "file", "path": str(directory) + "/"},
    }
    if shape is not None:
        spec.update(
            multiscale_metadata={"type": "segmentation", "data_type": "uint64", "num_channels": 1},
            scale_metadata={
                "size": list(shape[::-1]),  # precomputed sizes are (x, y, z)
                "resolution": [8, 8, 8],
                "encoding": "compressed_segmentation",
                "compressed_segmentation_block_size": [8, 8, 8],
                "chunk_size": [BLOCK] * 3,
            },
            create=True,
            delete_existing=True,
        )
    return spec


def zyx(store: ts.TensorStore) -> ts.TensorStore:
    """A precomputed volume (x, y, z, channel) viewed as numpy's (z, y, x), channel 0."""
    return store[ts.d["channel"][0]].transpose([2, 1, 0])


def bench_tensorstore(labels: np.ndarray, workdir: Path, repeat: int) -> dict[str, Any]:
    directory = workdir / "precomputed"
    res: dict[str, Any] = {}

    def write() -> None:
        zyx(ts.open(cseg_spec(directory, labels.shape)).result()).write(labels).result()

    res["write_s"] = best_of(repeat, write)
    arr = zyx(ts.open(cseg_spec(directory), read=True).result())
    assert np.array_equal(arr.read().result(), labels)
    res["read_s"] = best_of(repeat, lambda: arr.read().result())
    res["stored_bytes"] = _du(directory)
    return res


# -- report ----------------------------------------------------------------------------------
def print_table(v: dict[str, Any], t: dict[str, Any], n: int, repeat: int) -> None:
    mb = 8 * n**3 / 1e6
    m, s = v["merges"], v["sparsevol"]
    rows = [
        (
            f"full {n}³ write",
            f"{mb / v['write_s']:.0f} MB/s",
            f"{mb / t['write_s']:.0f} MB/s",
            f"{t['write_s'] / v['write_s']:.2f}x",
            "",
        ),
        (
            f"full {n}³ read, bodies",
            f"{mb / v['read_body_s']:.0f} MB/s",
            f"{mb / t['read_s']:.0f} MB/s",
            f"{t['read_s'] / v['read_body_s']:.2f}x",
            "≥ 1.0",
        ),
        (
            f"full {n}³ read, supervoxels",
            f"{mb / v['read_sv_s']:.0f} MB/s",
            f"{mb / t['read_s']:.0f} MB/s",
            f"{t['read_s'] / v['read_sv_s']:.2f}x",
            "≥ 1.0",
        ),
        (f"merge p50 ({m['count']})", f"{m['p50_ms']:.2f} ms", "", "", "≤ 20 ms"),
        (f"merge p99 ({m['count']})", f"{m['p99_ms']:.2f} ms", "", "", ""),
        (f"sparsevol p50, {s['blocks']} blocks", f"{s['p50_ms']:.2f} ms", "", "", "≤ 20 ms"),
        (
            "stored size",
            f"{v['stored_bytes'] / 1e6:.1f} MB",
            f"{t['stored_bytes'] / 1e6:.1f} MB",
            f"{t['stored_bytes'] / v['stored_bytes']:.2f}x",
            "",
        ),
    ]
    print(
        f"\nVoronoi labels {n}³ uint64 ({mb:.0f} MB raw), {v['bodies']} supervoxels, 40-bit ids, "
        f"64³ blocks; {platform.machine()}, {platform.python_version()}, best of {repeat}\n"
    )
    print(f"{'measure':<34}{'voxhub':>12}{'tensorstore':>14}{'ratio':>9}{'goal':>10}")
    for name, a, b, ratio, goal in rows:
        print(f"{name:<34}{a:>12}{b:>14}{ratio:>9}{goal:>10}")
    print(f"\nvoxhub's very first write into the new store: {mb / v['first_write_s']:.0f} MB/s")
    print(
        f"stored vs raw ({mb:.0f} MB): voxhub {mb * 1e6 / v['stored_bytes']:.0f}x smaller, "
        f"tensorstore {mb * 1e6 / t['stored_bytes']:.0f}x smaller"
    )
    print(
        f"sparsevol body: {s['supervoxels']} supervoxels, {s['voxels']} voxels, {s['runs']} runs, "
        f"{s['blocks']} blocks; p99 {s['p99_ms']:.2f} ms over {N_SPARSEVOL} calls"
    )
    print("(ratio = tensorstore time / voxhub time, or its size / ours: above 1 favours voxhub)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="side of the cubic segmentation")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    args = parser.parse_args()
    labels = voronoi_labels(args.n)
    workdir = Path(tempfile.mkdtemp(prefix="voxhub-bench-labels-"))
    try:
        v = bench_voxhub(labels, workdir, args.repeat)
        t = bench_tensorstore(labels, workdir, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(v, t, args.n, args.repeat)
    out = {"n": args.n, "repeat": args.repeat, "raw_bytes": labels.nbytes, "voxhub": v}
    out["tensorstore"] = t
    (HERE / "labels_results.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
