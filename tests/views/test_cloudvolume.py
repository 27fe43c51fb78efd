"""cloud-volume (seung-lab's client) reads every precomputed view of the session's served
store (``conftest.views``): raw EM, jpeg EM, body and supervoxel segmentation, at scale 0
and 1, at the committed root and at its open child (B merged into A, EM rewritten), and
gets the numpy API's arrays (jpeg: within its loss)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.views.conftest import A, B, Views

import voxhub
from voxhub import Box

cloudvolume = pytest.importorskip("cloudvolume")

VIEWS = {  # view → (instance, path under the instance)
    "raw": ("em", ""),
    "jpeg": ("em", "/jpeg"),
    "stored_jpeg": ("em_jpeg", "/jpeg"),
    "bodies": ("seg", ""),
    "supervoxels": ("seg", "/supervoxels"),
}
CASES = [(v, n, m) for v in VIEWS for n in ("root", "child") for m in (0, 1)]


def read_cloudvolume(url: str, mip: int) -> tuple[np.ndarray, Box]:
    """The whole volume at ``mip`` as cloud-volume reads it, ``(z, y, x)``, and its box."""
    volume: Any = cloudvolume.CloudVolume(
        f"precomputed://{url}", mip=mip, progress=False, cache=False, fill_missing=True
    )
    (x0, y0, z0), (x1, y1, z1) = volume.bounds.minpt, volume.bounds.maxpt
    cutout = np.asarray(volume[x0:x1, y0:y1, z0:z1])  # [x, y, z, channel]
    return cutout[..., 0].transpose(2, 1, 0), Box((z0, y0, x0), (z1, y1, x1))


@pytest.mark.parametrize(("view", "node", "mip"), CASES)
def test_cloudvolume_reads_what_the_numpy_api_reads(
    views: Views, view: str, node: str, mip: int
) -> None:
    instance, path = VIEWS[view]
    uuid = views.node(node)
    got, box = read_cloudvolume(f"{views.url}/precomputed/{uuid}/{instance}{path}", mip)
    with voxhub.open(views.url) as hub:
        at = hub.node(uuid)
        if instance.startswith("em"):
            expected = at.volume(instance).read(box, scale=mip)
        else:
            expected = at.labels(instance).read(box, scale=mip, supervoxels=view == "supervoxels")
    assert got.dtype == expected.dtype
    assert got.any()
    if view == "jpeg":  # lossy: within q90's error on this smooth EM
        assert np.abs(got.astype(int) - expected.astype(int)).mean() < 3
    else:  # raw, cseg, and a jpeg-stored instance's own blocks: exact
        np.testing.assert_array_equal(got, expected)
    if instance == "seg" and mip == 0:
        merged = node == "child" and view == "bodies"
        assert (B in got) == (not merged)
        assert A in got
