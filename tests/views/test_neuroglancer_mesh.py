"""neuroglancer's 3D panel draws a body's mesh from voxhub's precomputed mesh view.

A labelmap with one body (a ball across several blocks, so its mesh has several octree
nodes and LODs) served by a real ``voxhub serve``. In the ``3d`` layout with the cross
sections hidden, the only thing that can light pixels is the mesh: the picture must show
the body's colour, roughly where the ball projects, and nothing when the body is not
selected (the same viewer, so the background is known).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import voxhub
from voxhub.testing.neuroglancer import NeuroglancerBrowser, View
from voxhub.testing.server import start_server

pytest.importorskip("zmesh")
pytest.importorskip("DracoPy")

BODY = 2**40 + 9
N, R = 48, 18  # volume side and ball radius, voxels of 8 nm
SIZE = 200


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("ngmesh") / "store"
    z, y, x = np.indices((N, N, N)) - N // 2
    labels = np.where(x**2 + y**2 + z**2 <= R**2, BODY, 0).astype(np.uint64)
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("ngmesh").master
        seg = root.create_labels("seg", block_shape=(16, 16, 16), voxel_size=(8, 8, 8))
        seg[:, :, :] = labels
        uuid = root.uuid
    server = start_server(store)
    try:
        yield f"{server.url}/precomputed/{uuid}/seg"
    finally:
        server.stop()


def picture(browser: NeuroglancerBrowser, base_url: str, segments: list[int]) -> np.ndarray:
    ng = browser.ng
    layer = ng.SegmentationLayer(
        source=f"precomputed://{base_url}",
        segments=segments,
        segment_colors={BODY: "#ff0000"},
    )
    view = View(
        position=(N / 2, N / 2, N / 2),
        voxel_size=(8, 8, 8),
        layout="3d",
        projection_scale=N * 1.5,  # voxels across the panel (a little more): the whole ball
    )

    def no_slices(state: Any) -> None:
        state.show_slices = False

    return browser.screenshot({"mesh": layer}, view, size=(SIZE, SIZE), edit=no_slices)


def test_the_3d_panel_shows_the_bodys_mesh(
    neuroglancer_browser: NeuroglancerBrowser, base_url: str
) -> None:
    empty = picture(neuroglancer_browser, base_url, [])
    shown = picture(neuroglancer_browser, base_url, [BODY])
    assert not (empty[..., 0].astype(np.int16) - empty[..., 1] > 40).any()  # no body shown
    changed = np.abs(shown.astype(np.int16) - empty.astype(np.int16)).max(axis=2) > 30
    reddish = (shown[..., 0].astype(np.int16) - shown[..., 1] > 40) & changed
    # the ball spans 2R/(1.5 N) = half the panel: a disc of ~π/16 of its pixels (less:
    # the panel shows a little more than the projection scale)
    disc = np.pi / 16 * SIZE * SIZE
    assert 0.5 * disc < reddish.sum() < 1.5 * disc, f"{reddish.sum()} body pixels"
    rows, cols = np.nonzero(reddish)
    assert abs(rows.mean() - SIZE / 2) < SIZE / 10  # centred
    assert abs(cols.mean() - SIZE / 2) < SIZE / 10
