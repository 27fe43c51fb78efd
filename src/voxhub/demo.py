"""``python -m voxhub.demo``: build a small demo repo in an embedded store and tour it.

Creates (or reuses) ``./demo-store``: a repo "demo" with a 256³ EM-like uint8 volume
"grayscale" with a 3-level pyramid and a labelmap "segmentation" of its cells, committed,
plus an open child version with an edit and a merge.
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


def cells(n: int = 256, side: int = 32) -> np.ndarray:
    """A segmentation to go with :func:`em_like`: wavy cells of about ``side`` voxels, each
    a supervoxel with a 40-bit id (as real segmentations have), 0 in the black margin."""
    z, y, x = np.meshgrid(*(np.arange(n, dtype=np.float32),) * 3, indexing="ij")
    warp = 6.0 * np.sin(x / 17.0) * np.cos(y / 23.0)
    cz, cy, cx = (((v + 16) // side).astype(np.int64) for v in (z + warp, y - warp, x + warp))
    k = n // side + 2
    ids: np.ndarray = (((cz * k + cy) * k + cx) + 2**40).astype(np.uint64)
    margin = n // 16
    ids[:, :margin] = 0
    ids[:, :, -margin:] = 0
    return ids


def build(hub: Hub, n: int) -> Repo:
    """Create the demo repo in ``hub`` and return it."""
    repo = hub.create_repo("demo", "EM-like demo volume with a pyramid")
    root = repo.master
    vol = root.create_volume("grayscale", "uint8", max_scale=3, voxel_size=(8.0, 8.0, 8.0))
    vol[0:n, 0:n, 0:n] = em_like(n)
    seg = root.create_labels("segmentation", max_scale=2, voxel_size=(8.0, 8.0, 8.0))
    seg[0:n, 0:n, 0:n] = cells(n)
    root.commit("demo volume and segmentation imported")
    edit = root.newversion("proofreading: a black cube painted, two cells merged")
    edit.volume("grayscale")[n // 2 - 16 : n // 2 + 16, n // 2 - 16 : n // 2 + 16, :32] = 0
    labels = edit.labels("segmentation")
    row = labels.sv[n // 2, n // 2, :].tolist()  # two neighbouring cells along x
    a = int(row[n // 2])
    b = next((int(v) for v in row[n // 2 :] if v not in (0, a)), a)
    if a != b and a:
        labels.merge(a, [b], user="demo", app="voxhub-demo")
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
        if "segmentation" in repo.master.instances():  # stores built by older versions lack it
            seg = repo.master.labels("segmentation")
            print(f"segmentation: {len(seg.labels())} bodies, {len(seg.mutations())} merge(s)")
        print(
            "\nOpen it from Python:\n"
            f"  import voxhub\n  hub = voxhub.open({args.store!r})\n"
            "  vol = hub.repo('demo').master.volume('grayscale')\n"
            "  slab = vol[100:110, :, :]   # numpy (z, y, x)\n"
            "  seg = hub.repo('demo').master.labels('segmentation')   # bodies; seg.sv[...]"
        )


if __name__ == "__main__":
    main()
