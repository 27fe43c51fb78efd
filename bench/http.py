"""voxhub over HTTP vs tensorstore reading neuroglancer precomputed over HTTP, same EM data.

Run: ``make bench-http`` (or ``.venv/bin/python -m bench.http [--n 512] [--repeat 3]
[--workers 2]``). In one run it starts the real ``voxhub serve`` (``--workers`` processes)
on a temp LMDB store and the reference static server ``range_http_server.py`` on a
precomputed copy (raw, 64³ chunks, unsharded), both on free loopback ports, then times:

* the full n³ cutout read into numpy by the remote client (``voxhub.open(url)``), by one
  plain httpx ``GET .../raw/0_1_2/...`` and by tensorstore over HTTP;
* the full n³ write by the remote client (each repeat into a fresh volume), and the same
  write through the embedded API for reference;
* 200 random block-aligned 64³ reads one at a time (p50/p99 over all repeats), by the
  remote client, by plain httpx GETs and by tensorstore.

Prints a table like ``bench.run`` and writes ``bench/http_results.json``.
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
from typing import Any

import httpx
import numpy as np

import voxhub
from bench.data import em_volume
from bench.precomputed import open_http, start_range_server, write_precomputed
from bench.run import best_of, random_boxes
from voxhub import Box
from voxhub.errors import CapabilityError
from voxhub.testing.server import start_server

HERE = Path(__file__).parent
REPO, VOLUME = "bench", "em"
N_SMALL, SIDE = 200, 64
NA = "n/a"  # the remote client is not available yet (footnote under the table)


def raw_url(base: str, uuid: str, box: Box) -> str:
    """DVID's 3D ``raw`` GET for ``box`` (sizes and offset in x_y_z order)."""
    (z0, y0, x0), (dz, dy, dx) = box.start, box.shape
    return f"{base}/api/node/{uuid}/{VOLUME}/raw/0_1_2/{dx}_{dy}_{dz}/{x0}_{y0}_{z0}"


def get_raw(client: httpx.Client, url: str, shape: tuple[int, ...]) -> np.ndarray:
    """One plain GET of a raw cutout into numpy (ZYX C-order bytes, as DVID sends them)."""
    response = client.get(url)
    response.raise_for_status()
    return np.frombuffer(response.content, np.uint8).reshape(shape)


def latencies_ms(repeat: int, boxes: list[Box], read: Callable[[Box], object]) -> list[float]:
    """Wall time of every single read (ms), ``repeat`` passes over ``boxes``, after one
    warm-up read (so a connection is open, as it is for any client in steady use)."""
    read(boxes[0])
    out = []
    for _ in range(repeat):
        for box in boxes:
            t0 = time.perf_counter()
            read(box)
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def percentiles(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def timed_writes(repeat: int, write: Callable[[int], object]) -> float:
    """Fastest of ``repeat`` first writes (seconds); ``write(i)`` targets fresh volume ``i``."""
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        write(i)
        times.append(time.perf_counter() - t0)
    return min(times)


def write_name(i: int) -> str:
    return VOLUME if i == 0 else f"{VOLUME}_w{i}"


def prepare_store(path: Path, em: np.ndarray, repeat: int) -> dict[str, Any]:
    """Create the repo and one empty volume per timed write; time embedded writes of ``em``
    into a scratch store for reference. Volumes are created here, not through the server,
    so the remote write timing covers the voxels only."""
    res: dict[str, Any] = {}
    scratch = path.with_name("embedded-scratch")
    with voxhub.open(str(scratch)) as hub:
        node = hub.create_repo("scratch").master
        res["embedded_write_s"] = timed_writes(
            repeat, lambda i: node.create_volume(f"w{i}", "uint8").write((0, 0, 0), em)
        )
    shutil.rmtree(scratch, ignore_errors=True)
    with voxhub.open(str(path)) as hub:
        node = hub.create_repo(REPO).master
        for i in range(repeat):
            node.create_volume(write_name(i), "uint8")
        res["uuid"] = node.uuid
    return res


def fill_embedded(path: Path, em: np.ndarray) -> None:
    """Load ``em`` with the embedded API (used when the remote client is not available)."""
    with voxhub.open(str(path)) as hub:
        hub.repo(REPO).master.volume(VOLUME).write((0, 0, 0), em)


def open_remote(url: str) -> voxhub.Hub | None:
    """``voxhub.open(url)``, or None while the remote client is not implemented (it raises
    CapabilityError then, or ImportError while it is half installed)."""
    try:
        return voxhub.open(url)
    except (CapabilityError, ImportError):
        return None


def bench_voxhub(
    em: np.ndarray, workdir: Path, repeat: int, workers: int, boxes: list[Box]
) -> dict[str, Any]:
    n = em.shape[0]
    full = Box((0, 0, 0), em.shape)
    store = workdir / "voxhub"
    res = prepare_store(store, em, repeat)
    uuid = res.pop("uuid")
    server = start_server(store, workers=workers)
    hub = open_remote(server.url)
    res["remote_client"] = hub is not None
    if hub is None:  # fill the store while no server holds it, then serve it again
        server.stop()
        fill_embedded(store, em)
        server = start_server(store, workers=workers)
    try:
        if hub is not None:
            node = hub.repo(REPO).master
            res["write_s"] = timed_writes(
                repeat, lambda i: node.volume(write_name(i)).write((0, 0, 0), em)
            )
            vol = node.volume(VOLUME)
            assert np.array_equal(vol.read(full), em)
            res["read_s"] = best_of(repeat, lambda: vol.read(full))
            res["small"] = percentiles(latencies_ms(repeat, boxes, vol.read))
            hub.close()
        with httpx.Client(timeout=120) as client:
            url = raw_url(server.url, uuid, full)
            assert np.array_equal(get_raw(client, url, em.shape), em)
            res["plain_get_s"] = best_of(repeat, lambda: get_raw(client, url, em.shape))

            def one(box: Box) -> np.ndarray:
                return get_raw(client, raw_url(server.url, uuid, box), box.shape)

            assert all(np.array_equal(one(b), em[b.relative_to((0, 0, 0))]) for b in boxes[:5])
            res["plain_small"] = percentiles(latencies_ms(repeat, boxes, one))
    finally:
        server.stop()
    res["n"] = n
    return res


def bench_tensorstore(
    em: np.ndarray, workdir: Path, repeat: int, boxes: list[Box]
) -> dict[str, Any]:
    write_precomputed(em, workdir / "precomputed" / VOLUME)
    server = start_range_server(workdir / "precomputed", f"{VOLUME}/info")
    res: dict[str, Any] = {}
    try:
        arr = open_http(f"{server.url}/{VOLUME}")
        assert np.array_equal(arr.read().result(), em)
        res["read_s"] = best_of(repeat, lambda: arr.read().result())

        def one(box: Box) -> np.ndarray:
            (z0, y0, x0), (z1, y1, x1) = box.start, box.stop
            out: np.ndarray = arr[z0:z1, y0:y1, x0:x1].read().result()
            return out

        assert all(np.array_equal(one(b), em[b.relative_to((0, 0, 0))]) for b in boxes[:5])
        res["small"] = percentiles(latencies_ms(repeat, boxes, one))
    finally:
        server.stop()
    return res


def rows(v: dict[str, Any], t: dict[str, Any], mb: float, n: int) -> list[tuple[str, ...]]:
    """Table rows: measure, voxhub, tensorstore, speed ratio (ts time / voxhub time), goal."""

    def rate(s: float) -> str:
        return f"{mb / s:.0f} MB/s"

    out: list[tuple[str, ...]] = []
    remote = v["remote_client"]
    cut = f"full {n}³ read"
    if remote:
        out.append((f"{cut}, remote client", rate(v["read_s"]), rate(t["read_s"]),
                    f"{t['read_s'] / v['read_s']:.2f}x", "≥ 1.5x"))  # fmt: skip
    else:
        out.append((f"{cut}, remote client", NA, rate(t["read_s"]), "", "≥ 1.5x"))
    out.append((f"{cut}, one plain GET", rate(v["plain_get_s"]), rate(t["read_s"]),
                f"{t['read_s'] / v['plain_get_s']:.2f}x", ""))  # fmt: skip
    write = rate(v["write_s"]) if remote else NA
    out.append((f"full {n}³ write, remote client", write, "", "", "≥ 500 MB/s"))
    out.append((f"full {n}³ write, embedded (ref.)", rate(v["embedded_write_s"]), "", "", ""))
    for key, label in (("small", "remote client"), ("plain_small", "plain GET")):
        for p, goal in (("p50_ms", "≤ 1 ms"), ("p99_ms", "")):
            name = f"64³ aligned read {p[:3]}, {label}"
            if key not in v:
                out.append((name, NA, f"{t['small'][p]:.2f} ms", "", goal))
                continue
            ratio = t["small"][p] / v[key][p]
            out.append((name, f"{v[key][p]:.2f} ms", f"{t['small'][p]:.2f} ms",
                        f"{ratio:.2f}x", goal if key == "small" else ""))  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=512, help="side of the cubic EM volume")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best kept)")
    parser.add_argument("--workers", type=int, default=2, help="voxhub serve worker processes")
    args = parser.parse_args()
    em = em_volume(args.n)
    mb = em.nbytes / 1e6
    boxes = random_boxes(args.n, N_SMALL, SIDE, True, 1)
    workdir = Path(tempfile.mkdtemp(prefix="voxhub-bench-http-"))
    try:
        v = bench_voxhub(em, workdir, args.repeat, args.workers, boxes)
        t = bench_tensorstore(em, workdir, args.repeat, boxes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = rows(v, t, mb, args.n)
    print(
        f"\nEM volume {args.n}³ uint8 ({mb:.0f} MB) over loopback HTTP; voxhub serve "
        f"--workers {args.workers} (LMDB, zstd 1, 64³ blocks) vs tensorstore precomputed "
        f"(raw, 64³ chunks) on range_http_server.py; {platform.machine()}, "
        f"{platform.python_version()}, best of {args.repeat}; "
        f"latencies over {args.repeat}×{N_SMALL} reads\n"
    )
    width = max(len(r[0]) for r in table) + 2
    vw = max(14, *(len(r[1]) + 2 for r in table))
    print(f"{'measure':<{width}}{'voxhub':>{vw}}{'tensorstore':>14}{'speed ratio':>13}{'goal':>12}")
    for name, a, b, ratio, goal in table:
        print(f"{name:<{width}}{a:>{vw}}{b:>14}{ratio:>13}{goal:>12}")
    print("(speed ratio = tensorstore time / voxhub time: above 1 means voxhub is faster)")
    if not v["remote_client"]:
        print("n/a: remote client not available (voxhub.open('http://...') not implemented)")
    config = {"n": args.n, "repeat": args.repeat, "workers": args.workers, "small_reads": N_SMALL,
              "machine": platform.machine(), "python": platform.python_version(),
              "date": time.strftime("%Y-%m-%d")}  # fmt: skip
    results = {"config": config, "voxhub": v, "tensorstore": t}
    (HERE / "http_results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
