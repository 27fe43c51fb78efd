"""What both engines of ``bench.versions`` share: the edit plan and the timing helpers.

This module must import nothing but numpy: the Icechunk sub-benchmark runs it in its own
Python 3.12 venv, where voxhub is not installed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

BLOCK = 64


def make_plan(em: np.ndarray, depth: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """``depth`` edits: block coordinates ``(depth, 3)`` and new 64³ contents.

    Each edit overwrites one random block with the inverted voxels of another random
    block (EM statistics, so both engines compress it as they would real data; padding
    becomes 255, so no edit is all background).
    """
    rng = np.random.default_rng(seed)
    per_axis = em.shape[0] // BLOCK
    coords = rng.integers(0, per_axis, (depth, 3))
    sources = rng.integers(0, per_axis, (depth, 3))
    blocks = np.empty((depth, BLOCK, BLOCK, BLOCK), np.uint8)
    for i, (z, y, x) in enumerate(sources * BLOCK):
        blocks[i] = 255 - em[z : z + BLOCK, y : y + BLOCK, x : x + BLOCK]
    return coords.astype(np.int64), blocks


def save_plan(path: Path, coords: np.ndarray, blocks: np.ndarray) -> None:
    np.savez(path, coords=coords, blocks=blocks)


def load_plan(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as f:
        return f["coords"], f["blocks"]


def apply_plan(em: np.ndarray, coords: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """The volume as it reads after every edit (the expected leaf contents)."""
    out = em.copy()
    for (z, y, x), block in zip(coords * BLOCK, blocks, strict=True):
        out[z : z + BLOCK, y : y + BLOCK, x : x + BLOCK] = block
    return out


def block_slices(coord: np.ndarray | tuple[int, int, int]) -> tuple[slice, slice, slice]:
    z, y, x = (int(c) * BLOCK for c in coord)
    return slice(z, z + BLOCK), slice(y, y + BLOCK), slice(x, x + BLOCK)


def timed(fn: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def p50(times: list[float]) -> float:
    return statistics.median(times)


def p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def interleaved(shots: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median of ``shots`` single-shot runs of each function, taken in turn (A B A B …),
    so that a burst of outside load hits every contender alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(shots):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return {name: p50(t) for name, t in times.items()}


def du(path: Path) -> int:
    """Bytes actually allocated on disk under ``path``."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())
