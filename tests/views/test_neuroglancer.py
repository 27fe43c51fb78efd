"""neuroglancer (the pip viewer in headless Chromium) shows voxhub's precomputed and
OME-Zarr views.

Over the session's served store (``conftest.views``): the screenshot of one xy section
(4 screen pixels per voxel) must show, pixel for pixel at the voxel centres, the EM grey
level wherever the labels are 0 (neuroglancer hides segment 0) and the colour given to
each body wherever they are not. At the open child node body B is merged into A, so B's
voxels show A's colour in the body view and B's own in the supervoxel view.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.views.conftest import A, B, C, N, Views

import voxhub
from voxhub import Box
from voxhub.testing.neuroglancer import NeuroglancerBrowser, View

COLORS = {A: (255, 0, 0), B: (0, 255, 0), C: (0, 0, 255)}
Z = 44  # the section shown: crosses A, B and C
SIZE = 256  # screen pixels across: 4 per voxel
GREY_SHADER = "void main() { emitGrayscale(toNormalized(getDataValue())); }"


def at_voxel_centres(picture: np.ndarray) -> np.ndarray:
    """The screen pixels at the centre of each voxel of the section, ``(y, x, rgb)``
    (the view is centred on the volume, SIZE // N pixels per voxel)."""
    centres = np.arange(N) * (SIZE // N) + SIZE // N // 2
    return picture[np.ix_(centres, centres)].astype(np.int16)


def expected_picture(em: np.ndarray, bodies: np.ndarray) -> np.ndarray:
    """What the section must look like at the voxel centres, ``(y, x, rgb)``."""
    picture = np.repeat(em[Z][..., None], 3, axis=2).astype(np.int16)
    for body, rgb in COLORS.items():
        picture[bodies[Z] == body] = rgb
    return picture


def segmentation_layer(browser: NeuroglancerBrowser, source: str) -> object:
    return browser.ng.SegmentationLayer(
        source=source,
        segments=list(COLORS),
        segment_colors={k: "#{:02x}{:02x}{:02x}".format(*v) for k, v in COLORS.items()},
        selected_alpha=1.0,  # segment colours drawn as they are, EM where label 0
    )


def section(
    browser: NeuroglancerBrowser, em_source: str, seg_source: str, *, centred: bool = False
) -> np.ndarray:
    """The section Z of both layers, at the voxel centres. Voxel i spans [i, i+1) in
    precomputed; OME-Zarr (``centred``) puts its centre at i (OME-NGFF's convention)."""
    layers = {
        "em": browser.ng.ImageLayer(source=em_source, shader=GREY_SHADER),
        "seg": segmentation_layer(browser, seg_source),
    }
    middle = N / 2 - (0.5 if centred else 0.0)
    position = (middle, middle, Z + (0.0 if centred else 0.5))
    view = View(position=position, voxel_size=(8, 8, 8), scale=N / SIZE)
    return at_voxel_centres(browser.screenshot(layers, view, size=(SIZE, SIZE)))


def assert_shows(seen: np.ndarray, expected: np.ndarray, tolerance: int = 2) -> None:
    close = np.abs(seen - expected).max(axis=2) <= tolerance  # colour rounding
    assert close.all(), f"{(~close).sum()} of {close.size} voxels look wrong"


@pytest.mark.parametrize(
    ("node", "supervoxels"), [("root", False), ("child", False), ("child", True)]
)
def test_section_shows_em_and_segments_as_stored(
    neuroglancer_browser: NeuroglancerBrowser, views: Views, node: str, supervoxels: bool
) -> None:
    base = f"precomputed://{views.url}/precomputed/{views.node(node)}"
    seg = f"{base}/seg" + ("/supervoxels" if supervoxels else "")
    seen = section(neuroglancer_browser, f"{base}/em", seg)
    bodies = views.labels.copy()
    if node == "child" and not supervoxels:
        bodies[bodies == B] = A  # the merge
    assert_shows(seen, expected_picture(views.em, bodies))
    shows_b = (seen == COLORS[B]).all(axis=2).any()
    assert shows_b == (node == "root" or supervoxels)


def test_jpeg_view_shows_em_within_jpeg_loss(
    neuroglancer_browser: NeuroglancerBrowser, views: Views
) -> None:
    base = f"precomputed://{views.url}/precomputed/{views.root}"
    seen = section(neuroglancer_browser, f"{base}/em/jpeg", f"{base}/seg")
    expected = expected_picture(views.em, views.labels)
    labelled = views.labels[Z] != 0
    assert (seen[labelled] == expected[labelled]).all()  # segments exact, over jpeg EM
    error = np.abs(seen[~labelled] - expected[~labelled]).mean()
    assert error < 4, f"mean grey level error {error:.1f}"


def test_zoomed_out_view_reads_scale_1(
    neuroglancer_browser: NeuroglancerBrowser, views: Views
) -> None:
    """2 voxels per screen pixel: neuroglancer reads the 16 nm scale, and each pixel
    shows one voxel of voxhub's own pyramid level 1."""
    base = f"precomputed://{views.url}/precomputed/{views.root}"
    side = N // 2  # pixels across: the whole volume at level 1
    layers = {
        "em": neuroglancer_browser.ng.ImageLayer(source=f"{base}/em", shader=GREY_SHADER),
        "seg": segmentation_layer(neuroglancer_browser, f"{base}/seg"),
    }
    view = View(position=(N / 2, N / 2, Z + 0.5), voxel_size=(8, 8, 8), scale=2.0)
    seen = neuroglancer_browser.screenshot(layers, view, size=(side, side)).astype(np.int16)
    with voxhub.open(views.url) as hub:
        node = hub.node(views.root)
        section = Box((Z // 2, 0, 0), (Z // 2 + 1, side, side))
        em = node.volume("em").read(section, scale=1)
        bodies = node.labels("seg").read(section, scale=1)
    expected = np.repeat(em[0][..., None], 3, axis=2).astype(np.int16)
    for body, rgb in COLORS.items():
        expected[bodies[0] == body] = rgb
    assert_shows(seen, expected)


def test_zarr_view_shows_em_and_segments_as_stored(
    neuroglancer_browser: NeuroglancerBrowser, views: Views
) -> None:
    """The same section from the OME-Zarr view (``zarr://``) at the open child: the same
    pixels (the EM rewrite at the child is at z < 8, off this section)."""
    base = f"zarr://{views.url}/zarr/{views.child}"
    seen = section(neuroglancer_browser, f"{base}/em", f"{base}/seg", centred=True)
    bodies = views.labels.copy()
    bodies[bodies == B] = A  # the child's merge
    assert_shows(seen, expected_picture(views.em, bodies))
