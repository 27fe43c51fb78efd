"""``python -m voxhub.demo``: build a small demo repo in an embedded store and tour it.

Creates (or reuses) ``./demo-store``: a repo "demo" with a 256³ EM-like uint8 volume
"grayscale" with a 3-level pyramid, committed, plus an open child version with an edit.
Prints what it made and the Python lines that open it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import voxhub
from voxhub.client import Hub, Repo


def em_like(n: int = 256, seed: int = 0) -> np.ndarray:
    """Cheap EM-looking data: bright cells, dark wavy membranes, noise, a black margin."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*(np.linspace(0, 6 * np.pi, n, dtype=np.float32),) * 3, indexing="ij")
    membranes = np.abs(np.sin(x + 0.7 * np.sin(z)) * np.sin(y + 0.5 * np.cos(x)) * np.sin(z + y))
    img = 60.0 + 130.0 * np.clip(membranes * 4.0, 0.0, 1.0)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    margin = n // 16
    img[:, :margin] = 0
    img[:, :, -margin:] = 0
    out: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    return out


def build(hub: Hub, n: int) -> Repo:
    """Create the demo repo in ``hub`` and return it."""
    repo = hub.create_repo("demo", "EM-like demo volume with a pyramid")
    root = repo.master
    vol = root.create_volume("grayscale", "uint8", max_scale=3, voxel_size=(8.0, 8.0, 8.0))
    vol[0:n, 0:n, 0:n] = em_like(n)
    root.commit("demo volume imported")
    edit = root.newversion("proofreading: a black cube painted in the middle")
    edit.volume("grayscale")[n // 2 - 16 : n // 2 + 16, n // 2 - 16 : n // 2 + 16, :32] = 0
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default="demo-store", help="store path or URL")
    parser.add_argument("--size", type=int, default=256, help="side of the demo volume")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with voxhub.open(args.store) as hub:
        existing = [r for r in hub.repos() if r.alias == "demo"]
        repo = existing[0] if existing else build(hub, args.size)
        made = "found" if existing else f"built in {time.perf_counter() - t0:.1f} s"
        vol = repo.master.volume("grayscale")
        print(f"voxhub demo store: {Path(args.store).resolve()} ({made})")
        print(f"repo {repo.root} alias={repo.alias!r}")
        for node in repo.nodes():
            state = "committed" if node.locked else "open"
            print(f"  node {node.uuid}  branch={node.branch_name}  {state}  {node.note!r}")
        print(f"volume {vol!r}, extents {vol.extents()}")
        for k in range(vol.max_scale + 1):
            view = vol.at_scale(k)
            print(f"  scale {k}: bounds {view.bounds}, mean grey {view[...].mean():.1f}")
        print(
            "\nOpen it from Python:\n"
            f"  import voxhub\n  hub = voxhub.open({args.store!r})\n"
            "  vol = hub.repo('demo').master.volume('grayscale')\n"
            "  slab = vol[100:110, :, :]   # numpy (z, y, x)"
        )


if __name__ == "__main__":
    main()
