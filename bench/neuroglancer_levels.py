"""neuroglancer's ``dvid://`` source on a 512³ image: which pyramid level does it read?

Run: ``.venv/bin/python -m bench.neuroglancer_levels [--n 512] [--codec zstd|jpeg]
[--out /tmp/ng]`` (not in
``make test``; needs the ``bench`` extra and Debian's ``chromium chromium-driver``).

It writes the cached EM volume (``bench.data``) into a temp LMDB store as the image
``em`` with pyramid levels 1..3 (8 nm voxels), starts the real ``voxhub serve
--access-log``, and opens the pip ``neuroglancer`` viewer in headless Chromium (its
selenium webdriver, SwiftShader WebGL) on ``dvid://http://127.0.0.1:PORT/<uuid>/em``,
once zoomed out (the whole volume in the window) and once zoomed in (1 voxel per pixel).
``viewer.screenshot`` waits until every visible chunk is loaded. The access log then
says which instance each chunk request named: ``em`` is scale 0, ``em_N`` level N (DVID's
names for downres grayscale, the only way neuroglancer finds an image's scales).
Prints the counts per view, writes ``bench/neuroglancer_levels_results.json`` and the two
screenshots to ``--out``; exits 1 if the zoomed-out view read any scale-0 chunk or no
coarse one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.data import em_volume
from voxhub import open as open_hub
from voxhub.testing.server import start_server

HERE = Path(__file__).parent
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
MAX_SCALE = 3
WINDOW = (800, 600)
#: a marker request between the two views, so the access log splits into them (a query
#: of its own: start_server polls the heartbeat too)
MARKER = "/api/heartbeat?bench=next-view"
CHUNK = re.compile(r"^/api/node/[^/]+/([^/]+)/(raw|subvolblocks)/")


def build_store(path: Path, n: int, codec: str) -> str:
    """The EM volume as image ``em`` (64³ blocks, ``codec``, levels 1..3); the node UUID.
    neuroglancer reads a ``jpeg`` instance by ``subvolblocks``, others by ``raw .../jpeg``."""
    hub = open_hub(str(path))
    try:
        node = hub.create_repo("ng", "neuroglancer levels bench").master
        vol = node.create_volume(
            "em", "uint8", codec=codec, max_scale=MAX_SCALE, voxel_size=(8, 8, 8)
        )
        vol.write((0, 0, 0), em_volume(n))
        return node.uuid
    finally:
        hub.close()


def chunk_counts(lines: list[str]) -> list[Counter[str]]:
    """Per view (split at the marker request): chunk requests per instance name, and
    ``"bytes"``: the bytes those chunks sent."""
    views: list[Counter[str]] = [Counter()]
    for line in lines:
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if f"{record.get('path')}?{record.get('query')}" == MARKER:
            views.append(Counter())
            continue
        found = CHUNK.match(str(record.get("path", "")))
        if found and record.get("status") == 200:
            views[-1][found.group(1)] += 1
            views[-1]["bytes"] += int(record.get("bytes", 0))
    return views


def screenshot(viewer: Any, scale: float, n: int, out: Path) -> float:
    """Show the xy section at the volume's centre at ``scale`` voxels per pixel; save the
    screenshot once every visible chunk is loaded; the seconds it took."""
    import neuroglancer

    with viewer.txn() as s:
        s.dimensions = neuroglancer.CoordinateSpace(
            names=["x", "y", "z"], units="nm", scales=[8, 8, 8]
        )
        s.position = [n / 2, n / 2, n / 2]
        s.cross_section_scale = scale
        s.layout = "xy"
    start = time.perf_counter()
    shot = viewer.screenshot(size=list(WINDOW))
    out.write_bytes(shot.screenshot.image)
    return time.perf_counter() - start


def run_viewer(url: str, uuid: str, n: int, out: Path) -> dict[str, float]:
    import urllib.request

    import neuroglancer
    import neuroglancer.webdriver

    # The pip viewer asks its Python server for DVID credentials, which reads them from
    # DVID_CREDENTIALS ("server=token,..."); over http:// the client sends no token anyway
    # (it reads a `token` field the Python answer does not have), but the lookup must succeed.
    os.environ["DVID_CREDENTIALS"] = f"{url}=none"
    neuroglancer.set_server_bind_address("127.0.0.1")
    viewer = neuroglancer.Viewer()
    with viewer.txn() as s:
        s.layers["em"] = neuroglancer.ImageLayer(source=f"dvid://{url}/{uuid}/em")
    driver = neuroglancer.webdriver.Webdriver(
        viewer,
        headless=True,
        browser_binary_path=CHROMIUM,
        docker=True,  # --no-sandbox: Chromium refuses to sandbox as root
        extra_command_line_args=[
            "--use-angle=swiftshader",
            "--enable-unsafe-swiftshader",
            "--ignore-gpu-blocklist",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )
    try:
        # zoomed out: 4 voxels per screen pixel, the whole volume in a quarter of the window
        seconds = {"zoomed_out": screenshot(viewer, 4.0, n, out / "out.png")}
        urllib.request.urlopen(url + MARKER).read()
        seconds["zoomed_in"] = screenshot(viewer, 1.0, n, out / "in.png")
    finally:
        driver.driver.quit()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--codec", choices=("zstd", "jpeg"), default="zstd")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "ng_levels")
    args = parser.parse_args()
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    if missing:
        print(f"needs {missing}: apt-get install chromium chromium-driver", file=sys.stderr)
        return 2
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not fetch a driver
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ng-levels-"))
    try:
        uuid = build_store(work / "store", args.n, args.codec)
        server = start_server(work / "store", extra_args=("--access-log",))
        try:
            seconds = run_viewer(server.url, uuid, args.n, args.out)
        finally:
            log = server.stop().splitlines()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    views = chunk_counts(log)
    names = ["em", *(f"em_{level}" for level in range(1, MAX_SCALE + 1))]
    result = {
        "n": args.n,
        "codec": args.codec,
        "window": list(WINDOW),
        "views": {
            view: {
                "chunks": {k: counts.get(k, 0) for k in names},
                "bytes": counts.get("bytes", 0),
                "seconds": seconds[view],
            }
            for view, counts in zip(("zoomed_out", "zoomed_in"), views, strict=False)
        },
    }
    print(f"{'view':<11} " + " ".join(f"{k:>6}" for k in names) + "  chunk MB  seconds")
    for view, row in result["views"].items():
        chunks = " ".join(f"{row['chunks'][k]:>6}" for k in names)
        print(f"{view:<11} {chunks}  {row['bytes'] / 1e6:>8.2f}  {row['seconds']:>7.1f}")
    (HERE / "neuroglancer_levels_results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"screenshots in {args.out}")
    out = result["views"].get("zoomed_out", {"chunks": {}})["chunks"]
    coarse = sum(out.get(k, 0) for k in names[1:])
    return 0 if coarse > 0 and out.get("em", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
