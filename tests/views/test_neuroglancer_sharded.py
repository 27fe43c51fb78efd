"""neuroglancer (headless) shows the *sharded* precomputed views as it shows the unsharded
ones: EM grey levels and body colours pixel for pixel at the voxel centres, the merge of
the open child included (helpers and scene: ``test_neuroglancer.py``)."""

from __future__ import annotations

import pytest
from tests.views.conftest import A, B, Views
from tests.views.test_neuroglancer import COLORS, assert_shows, expected_picture, section

from voxhub.testing.neuroglancer import NeuroglancerBrowser


@pytest.mark.parametrize("node", ["root", "child"])
def test_sharded_sections_show_em_and_segments(
    neuroglancer_browser: NeuroglancerBrowser, views: Views, node: str
) -> None:
    base = f"precomputed://{views.url}/precomputed/{views.node(node)}"
    seen = section(neuroglancer_browser, f"{base}/em/sharded", f"{base}/seg/sharded")
    bodies = views.labels.copy()
    if node == "child":
        bodies[bodies == B] = A  # the merge
    assert_shows(seen, expected_picture(views.em, bodies))
    assert (seen == COLORS[B]).all(axis=2).any() == (node == "root")
