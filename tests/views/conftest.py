"""Fixtures shared by the view tests: one headless neuroglancer and one served store for
the session (small volumes: a few seconds in all)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

import voxhub
from voxhub.testing.neuroglancer import NeuroglancerBrowser, unavailable
from voxhub.testing.server import start_server

A, B, C = 2**40 + 5, 2**40 + 6, 7  # supervoxels (ids ≥ 2^32: uint64 all the way)
N = 64  # the volumes are N³ voxels of 8 nm, in 32³ blocks, with one pyramid level


@dataclass(frozen=True)
class Views:
    """A served store: ``em`` (uint8, zstd), ``em_jpeg`` (the same voxels stored as jpeg),
    ``seg`` (labels) and ``seg_annotations`` (neuronjson names of seg's bodies) at a
    committed ``root``; at its open ``child`` body B is merged into A and a corner of
    ``em`` rewritten."""

    url: str
    root: str
    child: str
    em: np.ndarray  # (z, y, x) at the root
    labels: np.ndarray  # supervoxels, (z, y, x)

    def node(self, which: str) -> str:
        return self.root if which == "root" else self.child


def em_voxels() -> np.ndarray:
    z, y, x = np.indices((N, N, N))
    return ((x * 3 + y * 2 + z) % 200 + 40).astype(np.uint8)  # every voxel its own grey


def label_voxels() -> np.ndarray:
    labels = np.zeros((N, N, N), np.uint64)
    labels[:, 8:30, 4:30], labels[:, 8:30, 30:60] = A, B
    labels[:, 40:56, 10:20] = A  # a second piece of A, away from B
    labels[40:48, 40:48, 40:48] = C  # a small body, one 8³ cube
    return labels


@pytest.fixture(scope="session")
def views(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Views]:
    store = tmp_path_factory.mktemp("views") / "store"
    em, labels = em_voxels(), label_voxels()
    shape = {"block_shape": (32, 32, 32), "voxel_size": (8, 8, 8), "max_scale": 1}
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("views", "view tests").master
        root.create_volume("em", "uint8", **shape)[:, :, :] = em
        root.create_volume("em_jpeg", "uint8", codec="jpeg", **shape)[:, :, :] = em
        root.create_labels("seg", **shape)[:, :, :] = labels
        names = root.create_neuronjson("seg_annotations", user="ann")
        names[A] = {"instance": "EPG(PB08)_L", "type": "EPG"}
        names[B] = {"type": "PEN_a"}
        names[12345] = {"instance": "merged away long ago"}  # no voxels: not listed
        root.commit("imported")
        child = root.newversion("proofreading")
        child.labels("seg").merge(A, [B])
        child.volume("em")[0:8, 0:8, 0:8] = 3
        root_uuid, child_uuid = root.uuid, child.uuid
    # compressed answers to this loopback client too: the negotiation is what these test
    # (the default, answers as they are on loopback, serves test_precomputed.py's clients)
    server = start_server(store, extra_args=("--compress-loopback",))
    try:
        yield Views(server.url, root_uuid, child_uuid, em, labels)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def neuroglancer_browser() -> Iterator[NeuroglancerBrowser]:
    """pip ``neuroglancer``'s viewer in headless Chromium (skips where either is missing);
    each test sets the layers it shows (``browser.screenshot(layers, View(...))``)."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(reason)
    with NeuroglancerBrowser() as browser:
        yield browser
