"""What the view tests' server fixtures share: the scene they write (a uint16 image and a
labelmap in 32³ blocks, two levels, committed, then proofread at an open child) and a
served store with its committed root and open child node."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxhub.client import LabelVolume, Node, Volume
from voxhub.testing.server import start_server

A, B, C = 2**40 + 1, 2**40 + 2, 7  # supervoxels; B is merged into A at the child


@dataclass(frozen=True)
class Served:
    url: str
    root: str  # committed
    child: str  # open, on master


def create_em_and_seg(root: Node) -> tuple[Volume, LabelVolume]:
    """The image ``em`` (uint16, so byte order matters; anisotropic voxels) and the
    labelmap ``seg``, both in 32³ blocks with one level above the finest."""
    em = root.create_volume(
        "em", "uint16", block_shape=(32, 32, 32), voxel_size=(40, 8, 4), max_scale=1
    )
    return em, root.create_labels("seg", block_shape=(32, 32, 32), max_scale=1)


def write_scene(root: Node, rng: np.random.Generator) -> None:
    """:func:`create_em_and_seg`, both written unaligned to their blocks: A and B side by
    side over C, with a corner of background."""
    em, seg = create_em_and_seg(root)
    em[0:40, 32:80, 16:86] = rng.integers(1, 60000, (40, 48, 70), dtype=np.uint16)
    labels = np.full((48, 64, 64), C, np.uint64)
    labels[:, :40, :30], labels[:, :40, 30:] = A, B
    labels[:5, :5, :5] = 0
    seg[32:80, 0:64, 0:64] = labels


def proofread(root: Node) -> Node:
    """Commit ``root`` and open a child that merges B into A and paints a box of ``em``."""
    root.commit("imported")
    child = root.newversion("proofreading")
    child.labels("seg").merge(A, [B])
    child.volume("em")[0:8, 40:50, 20:30] = 3
    return child


@contextmanager
def serving(store: Path, root: str, child: str) -> Iterator[Served]:
    """``voxhub serve`` on ``store`` for the duration of the block."""
    server = start_server(store)
    try:
        yield Served(server.url, root, child)
    finally:
        server.stop()
