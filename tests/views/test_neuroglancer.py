"""neuroglancer (the pip viewer in headless Chromium) shows voxhub's precomputed views.

A uint8 EM volume and a labelmap over it, served by a real ``voxhub serve``: the
screenshot of one xy section (4 screen pixels per voxel) must show, pixel for pixel at
the voxel centres, the EM grey level wherever the labels are 0 (neuroglancer hides
segment 0) and the colour given to each body wherever they are not. At the open child
node body B is merged into A, so B's voxels show A's colour in the body view and B's
own in the supervoxel view.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import voxhub
from voxhub.testing.neuroglancer import NeuroglancerBrowser, View
from voxhub.testing.server import start_server

A, B = 2**40 + 5, 2**40 + 6  # supervoxels (body ids ≥ 2^32: uint64 all the way)
COLORS = {A: (255, 0, 0), B: (0, 255, 0)}
N = 64  # the volume is N³ voxels of 8 nm
Z = 20  # the section shown
SIZE = 256  # screen pixels across: 4 per voxel
GREY_SHADER = "void main() { emitGrayscale(toNormalized(getDataValue())); }"


@dataclass(frozen=True)
class Served:
    url: str
    root: str  # committed
    child: str  # open: B merged into A
    em: np.ndarray  # (z, y, x)
    labels: np.ndarray  # supervoxels, (z, y, x)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    store = tmp_path_factory.mktemp("ng") / "store"
    z, y, x = np.indices((N, N, N))
    em = ((x * 3 + y * 2 + z) % 200 + 40).astype(np.uint8)  # every voxel its own grey
    labels = np.zeros((N, N, N), np.uint64)
    labels[:, 8:30, 4:30], labels[:, 8:30, 30:60] = A, B
    labels[:, 40:56, 10:20] = A  # a second piece of A, away from B
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("ng", "neuroglancer view tests").master
        kw: dict[str, Any] = {"block_shape": (32, 32, 32), "voxel_size": (8, 8, 8)}
        root.create_volume("em", "uint8", max_scale=1, **kw)[:, :, :] = em
        root.create_labels("seg", max_scale=1, **kw)[:, :, :] = labels
        root.commit("imported")
        child = root.newversion("proofreading")
        child.labels("seg").merge(A, [B])
        root_uuid, child_uuid = root.uuid, child.uuid
    server = start_server(store)
    try:
        yield Served(server.url, root_uuid, child_uuid, em, labels)
    finally:
        server.stop()


def voxel_centres() -> tuple[np.ndarray, np.ndarray]:
    """Screen pixel rows and columns at the centre of each voxel of the section (the
    view is centred on the volume, 4 pixels per voxel)."""
    centres = np.arange(N) * (SIZE // N) + SIZE // N // 2
    return centres, centres


def expected_picture(em: np.ndarray, bodies: np.ndarray) -> np.ndarray:
    """What the section must look like at the voxel centres, ``(y, x, rgb)``."""
    grey = np.repeat(em[Z][..., None], 3, axis=2).astype(np.int16)
    for body, rgb in COLORS.items():
        grey[bodies[Z] == body] = rgb
    return grey


def screenshot(browser: NeuroglancerBrowser, served: Served, node: str, sv: bool) -> np.ndarray:
    ng = browser.ng
    base = f"precomputed://{served.url}/precomputed/{node}"
    layers = {
        "em": ng.ImageLayer(source=f"{base}/em", shader=GREY_SHADER),
        "seg": ng.SegmentationLayer(
            source=f"{base}/seg" + ("/supervoxels" if sv else ""),
            segments=list(COLORS),
            segment_colors={k: "#{:02x}{:02x}{:02x}".format(*v) for k, v in COLORS.items()},
            selected_alpha=1.0,  # segment colours drawn as they are, EM where label 0
        ),
    }
    view = View(position=(N / 2, N / 2, Z + 0.5), voxel_size=(8, 8, 8), scale=N / SIZE)
    picture = browser.screenshot(layers, view, size=(SIZE, SIZE))
    rows, cols = voxel_centres()
    return picture[np.ix_(rows, cols)].astype(np.int16)


@pytest.mark.parametrize(
    ("node", "supervoxels"), [("root", False), ("child", False), ("child", True)]
)
def test_section_shows_em_and_segments_as_stored(
    neuroglancer_browser: NeuroglancerBrowser, served: Served, node: str, supervoxels: bool
) -> None:
    uuid = served.root if node == "root" else served.child
    seen = screenshot(neuroglancer_browser, served, uuid, supervoxels)
    bodies = served.labels.copy()
    if node == "child" and not supervoxels:
        bodies[bodies == B] = A  # the merge
    expected = expected_picture(served.em, bodies)
    close = np.abs(seen - expected).max(axis=2) <= 2  # colour conversion rounding
    assert close.all(), f"{(~close).sum()} of {close.size} voxels look wrong"
    shows_b = (seen == COLORS[B]).all(axis=2).any()
    assert shows_b == (node == "root" or supervoxels)
