"""Annotation benchmark: synapse ingest, box queries and exact label views (issue 11).

Run: ``make bench-annotations`` (or ``.venv/bin/python -m bench.annotations [--quick]``).
On an LMDB store it builds an n³ labelmap of ``bodies`` grid-cell supervoxels (each its
own body) and ``elements`` synapse elements — PreSyn with 5-15 PostSyn partners a few
voxels away, both related, clustered around a few hundred centres — then times:

* batch ingest (batches of about 100k elements, one transaction each), embedded and over
  HTTP (``POST elements`` to a ``voxhub serve`` on its own store): elements/s;
* ``elements`` box queries of 256³: embedded ``elements()`` (positions and kinds; the
  relationships are decoded when read: also timed with them read), HTTP ``GET elements``
  as DVID's JSON and as voxhub's binary ``?format=columns``: p50;
* ``label(body)`` after 100 random merges and cleaves of the labelmap (embedded and HTTP
  ``GET label``): p50, and exactness (every element is on exactly one body's list);
* labelsz ``top/100`` (a labelsz created after the ingest, before the mutations) and
  keyvalue 1 MB ``POST``/``GET`` over HTTP, when those datatypes exist.

``--quick`` runs everything small (a smoke test, seconds). Prints a table and writes
``bench/annotations_results.json``; figures go to ``bench/README.md`` by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shutil
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import voxhub
from voxhub import Box
from voxhub.datatypes.registry import typenames
from voxhub.testing.server import start_server

HERE = Path(__file__).parent
GRID = (8, 16, 16)  # supervoxel cells along z, y, x: 2048 bodies at first


def p50(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls (milliseconds)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def write_labels(node: voxhub.client.Node, n: int) -> None:
    """An n³ labelmap whose supervoxels are the cells of :data:`GRID` (ids 1..2048)."""
    lv = node.create_labels("seg", block_shape=(64, 64, 64))
    cells = [n // g for g in GRID]
    slab = 64
    y = (np.arange(n) // cells[1]).reshape(1, n, 1)
    x = (np.arange(n) // cells[2]).reshape(1, 1, n)
    for z0 in range(0, n, slab):
        z = (np.arange(z0, z0 + slab) // cells[0]).reshape(slab, 1, 1)
        ids = (z * GRID[1] * GRID[2] + y * GRID[2] + x + 1).astype(np.uint64)
        lv[z0 : z0 + slab, 0:n, 0:n] = ids


def synapses(count: int, n: int, seed: int = 0) -> list[list[dict[str, Any]]]:
    """Synapses (a PreSyn and its PostSyns, as element dicts) with about ``count``
    elements in all, clustered, positions unique."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(32, n - 32, (max(8, count // 4000), 3))
    taken: set[tuple[int, ...]] = set()
    out: list[list[dict[str, Any]]] = []
    total = 0
    while total < count:
        c = centres[rng.integers(len(centres))]
        pre = np.clip(c + rng.normal(0, n / 12, 3), 0, n - 1).astype(int)
        posts = np.clip(pre + rng.integers(-12, 13, (int(rng.integers(5, 16)), 3)), 0, n - 1)
        points = [tuple(int(v) for v in p[::-1]) for p in [pre, *posts]]  # x, y, z
        if len(set(points)) < len(points) or taken.intersection(points):
            continue
        taken.update(points)
        pre_xyz, post_xyz = list(points[0]), [list(p) for p in points[1:]]
        rels = [{"Rel": "PreSynTo", "To": p} for p in post_xyz]
        group = [{"Pos": pre_xyz, "Kind": "PreSyn", "Rels": rels}]
        back = [{"Rel": "PostSynTo", "To": pre_xyz}]
        group += [{"Pos": p, "Kind": "PostSyn", "Rels": back} for p in post_xyz]
        out.append(group)
        total += len(group)
    return out


def batches(groups: list[list[dict[str, Any]]], size: int) -> list[list[dict[str, Any]]]:
    """Whole synapses per batch, about ``size`` elements each."""
    out: list[list[dict[str, Any]]] = [[]]
    for group in groups:
        if len(out[-1]) >= size:
            out.append([])
        out[-1].extend(group)
    return out


def http(method: str, url: str, body: bytes | None = None) -> bytes:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=600) as reply:
        data: bytes = reply.read()
        return data


def mutate(lv: Any, count: int, seed: int = 1) -> None:
    """``count`` random merges and cleaves (cleaving a merged-in supervoxel back out)."""
    rng = np.random.default_rng(seed)
    cells = GRID[0] * GRID[1] * GRID[2]
    merged: list[tuple[int, int]] = []
    for i in range(count):
        if i % 2 == 0 or not merged:
            a, b = (int(v) for v in rng.choice(np.arange(1, cells + 1), 2, replace=False))
            try:
                lv.merge(a, [b])
                merged.append((a, b))
            except voxhub.errors.VoxhubError:
                pass  # b was merged away already
        else:
            a, b = merged.pop()
            with contextlib.suppress(voxhub.errors.VoxhubError):
                lv.cleave(a, [b])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--elements", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=512, help="labelmap side in voxels")
    args = parser.parse_args()
    if args.quick:
        args.elements, args.n = 20_000, 256
    runs = 5 if args.quick else 50
    batch = min(100_000, args.elements)
    figures: dict[str, Any] = {"elements": args.elements, "n": args.n, "quick": args.quick}
    work = Path(tempfile.mkdtemp(prefix="voxhub-bench-ann-"))
    try:
        groups = synapses(args.elements, args.n)
        posted = batches(groups, batch)
        total = sum(len(b) for b in posted)
        figures["elements"] = total

        with voxhub.open(str(work / "embedded")) as hub:
            node = hub.create_repo("bench").master
            t0 = time.perf_counter()
            write_labels(node, args.n)
            figures["labelmap_write_s"] = time.perf_counter() - t0
            ann = node.create_annotations("syn", sync="seg")
            t0 = time.perf_counter()
            for b in posted:
                ann.add(b)
            figures["ingest_embedded_per_s"] = total / (time.perf_counter() - t0)
            rng = np.random.default_rng(2)
            side = min(256, args.n)

            def box() -> Box:
                start = tuple(int(v) for v in rng.integers(0, args.n - side + 1, 3))
                return Box.from_shape((side, side, side), start)  # type: ignore[arg-type]

            figures["box_256_embedded_p50_ms"] = p50(lambda: ann.elements(box()), runs)
            figures["box_256_elements_mean"] = float(
                np.mean([len(ann.elements(box())) for _ in range(runs)])
            )
            # the same with every element's relationships read (decoded when first asked for)
            figures["box_256_embedded_rels_p50_ms"] = p50(
                lambda: ann.elements(box()).elements.rel_to, runs
            )
            lv = node.labels("seg")
            sizes_of = None
            if "labelsz" in typenames():  # counted now, then kept exact by the mutations
                t0 = time.perf_counter()
                sizes_of = node.create_labelsz("sz", annotations="syn")
                figures["labelsz_create_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            mutate(lv, 100)
            figures["mutations_100_s"] = time.perf_counter() - t0
            bodies = lv.labels()
            pick = [int(b) for b in rng.choice(bodies, runs)]
            it = iter(pick * 2)
            figures["label_embedded_p50_ms"] = p50(lambda: ann.label(next(it)), runs)
            sizes = [len(ann.label(int(b))) for b in bodies]
            figures["label_elements_mean"] = float(np.mean(sizes))
            figures["label_exact"] = sum(sizes) == total
            if sizes_of is not None:
                top = sizes_of
                figures["labelsz_top100_p50_ms"] = p50(lambda: top.top(100, "PostSyn"), runs)
            node.commit()
            figures["embedded_store_mb"] = (
                sum(f.stat().st_size for f in (work / "embedded").rglob("*") if f.is_file()) / 2**20
            )

        server = start_server(work / "served")
        try:
            base = server.url
            root = json.loads(http("POST", f"{base}/api/repos", b"{}"))["root"]
            spec = {"typename": "annotation", "dataname": "syn"}
            http("POST", f"{base}/api/repo/{root}/instance", json.dumps(spec).encode())
            url = f"{base}/api/node/{root}/syn"
            bodies_json = [json.dumps(b).encode() for b in posted]
            t0 = time.perf_counter()
            for body in bodies_json:
                http("POST", f"{url}/elements", body)
            figures["ingest_http_per_s"] = total / (time.perf_counter() - t0)
            rng = np.random.default_rng(3)

            def get_box() -> bytes:
                x, y, z = (int(v) for v in rng.integers(0, args.n - side + 1, 3))
                return http("GET", f"{url}/elements/{side}_{side}_{side}/{x}_{y}_{z}")

            figures["box_256_http_p50_ms"] = p50(get_box, runs)

            def get_columns() -> bytes:  # voxhub's binary answer (?format=columns)
                x, y, z = (int(v) for v in rng.integers(0, args.n - side + 1, 3))
                box_url = f"{url}/elements/{side}_{side}_{side}/{x}_{y}_{z}?format=columns"
                return http("GET", box_url)

            figures["box_256_http_columns_p50_ms"] = p50(get_columns, runs)
            if "keyvalue" in typenames():
                spec = {"typename": "keyvalue", "dataname": "kv"}
                http("POST", f"{base}/api/repo/{root}/instance", json.dumps(spec).encode())
                value = np.random.default_rng(4).bytes(1 << 20)
                kv = f"{base}/api/node/{root}/kv/key"
                figures["keyvalue_1mb_post_ms"] = p50(lambda: http("POST", f"{kv}/a", value), runs)
                figures["keyvalue_1mb_get_ms"] = p50(lambda: http("GET", f"{kv}/a"), runs)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["machine"] = platform.platform()
    for key, value in figures.items():
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"{key:<28} {shown}")
    if not args.quick:
        (HERE / "annotations_results.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
