"""EM-like benchmark volume: cells with dark membranes, noise, black padding outside tissue.

Cached as ``bench/data/em{N}.npy``. The recipe follows the one described in
``../shared/reference/interop_and_performance.md`` §4 (Voronoi cells, blurred membranes,
smooth illumination, gaussian noise, an ellipsoid of tissue), so compression ratios are
realistic: ~1.2x inside tissue, ~2x for the whole box.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

DATA_DIR = Path(os.environ.get("VOXHUB_BENCH_DATA", Path(__file__).parent / "data"))


def _cells(n: int, n_cells: int, rng: np.random.Generator) -> np.ndarray:
    tree = cKDTree(rng.uniform(0, n, (n_cells, 3)))
    label = np.empty((n, n, n), np.uint16)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    plane = np.stack([np.zeros(n * n, np.float32), yy.ravel(), xx.ravel()], axis=1)
    for z in range(n):
        plane[:, 0] = z
        label[z] = tree.query(plane, k=1, workers=-1)[1].reshape(n, n)
    return label


def make_em(
    n: int = 512,
    seed: int = 7,
    *,
    cells: int = 2000,
    membrane: float = 1.2,
    noise: float = 3.0,
    field_cell: int = 8,
    grain: float = 0.0,
) -> np.ndarray:
    """An ``n``³ uint8 EM-like volume (deterministic for a seed and parameters).

    ``cells`` Voronoi cells (scaled by (n/512)³) with their own grey levels, dark membranes
    blurred by ``membrane`` voxels, a smooth illumination field varying over ``field_cell``
    voxels, ``grain`` (σ of a fine texture blurred over 0.7 voxel, like cytoplasm and
    vesicles) and gaussian ``noise``; black padding outside an ellipsoid of tissue.
    """
    rng = np.random.default_rng(seed)
    n_cells = max(8, int(cells * (n / 512) ** 3))
    label = _cells(n, n_cells, rng)
    img = rng.normal(165, 8, n_cells).astype(np.float32)[label]
    edges = np.zeros(label.shape, np.float32)
    for axis in range(3):
        cut = [slice(None)] * 3
        cut[axis] = slice(0, -1)
        edges[tuple(cut)] += np.diff(label, axis=axis) != 0
    np.minimum(edges, 1, out=edges)
    edges = ndimage.gaussian_filter(edges, membrane)
    img -= 110.0 * np.minimum(edges * 2.5, 1.0)
    field = rng.standard_normal((n // field_cell,) * 3).astype(np.float32)
    field = ndimage.gaussian_filter(field, 1.5)
    img += 8.0 / field.std() * ndimage.zoom(field, field_cell, order=1, prefilter=False)
    if grain:
        texture = ndimage.gaussian_filter(rng.standard_normal(img.shape).astype(np.float32), 0.7)
        img += grain / texture.std() * texture
    img += rng.normal(0, noise, img.shape).astype(np.float32)
    z, y, x = np.ogrid[0:n, 0:n, 0:n]
    outside = ((z - 0.45 * n) / (0.53 * n)) ** 2 + ((y - 0.5 * n) / (0.5 * n)) ** 2 + (
        (x - 0.55 * n) / (0.52 * n)
    ) ** 2 > 1.0
    img[outside] = 0
    return np.clip(img, 0, 255).astype(np.uint8)


#: the EM data sets of ``bench.run``: name → parameters of :func:`make_em`. ``em`` is the
#: reference recipe; ``em-fine`` has 3x more (smaller) cells, thinner membranes, a finer
#: illumination field, grain and twice the noise, so it compresses less (a second,
#: harder EM-like volume: the full read must beat tensorstore on both).
EM_SETS: dict[str, dict[str, float | int]] = {
    "em": {},
    "em-fine": {
        "seed": 8,
        "cells": 6000,
        "membrane": 0.8,
        "noise": 6.0,
        "field_cell": 4,
        "grain": 6.0,
    },
}


def em_volume(n: int = 512, name: str = "em") -> np.ndarray:
    """The cached EM volume ``name`` (see :data:`EM_SETS`) of side ``n`` (made on first
    use, ~1 minute for 512; ``bench/data/{name}{n}.npy``)."""
    path = DATA_DIR / f"{name.replace('-', '_')}{n}.npy"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        np.save(path, make_em(n, **EM_SETS[name]))  # type: ignore[arg-type]
    return np.load(path)


def make_voronoi_labels(n: int = 512, count: int = 2000, seed: int = 7) -> np.ndarray:
    """An ``n``³ uint64 Voronoi segmentation: ``count`` supervoxels (scaled by (n/512)³,
    at least 8) with distinct random 40-bit ids, as in ``gen_data.py`` of the reference
    scripts. The same seed gives the same cells as :func:`make_em`."""
    rng = np.random.default_rng(seed)
    n_cells = max(8, int(count * (n / 512) ** 3))
    cells = _cells(n, n_cells, rng)
    # twice as many draws as needed, so n_cells distinct ids remain after np.unique
    ids = np.unique(rng.integers(1, 1 << 40, n_cells * 2, dtype=np.uint64))[:n_cells]
    rng.shuffle(ids)
    labels: np.ndarray = ids[cells]
    return labels


def voronoi_labels(n: int = 512, count: int = 2000, seed: int = 7) -> np.ndarray:
    """The cached Voronoi segmentation of side ``n`` (``bench/data/labels{n}_{count}_{seed}.npy``;
    1 GB for 512, made on first use in ~1 minute)."""
    path = DATA_DIR / f"labels{n}_{count}_{seed}.npy"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        np.save(path, make_voronoi_labels(n, count, seed))
    labels: np.ndarray = np.load(path)
    return labels
