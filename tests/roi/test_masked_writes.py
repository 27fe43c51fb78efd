"""``POST raw?roi=<name>`` on image and label instances, through the real app: only the
voxels inside the ROI are written, the others keep their stored values; for labels the
label index, the pyramid, the extents and a synced annotation (and its labelsz) end up
exactly as if the resulting volume had been written whole."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.exceptions import StarletteDeprecationWarning

from voxhub import Box
from voxhub.client import EmbeddedHub, Node
from voxhub.server import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

SIDE = 32
FULL = Box((0, 0, 0), (SIDE, SIDE, SIDE))
ROI_BLOCK = 8
ELEMENTS = [{"Pos": p, "Kind": "PreSyn"} for p in ([1, 1, 1], [20, 20, 20], [9, 1, 17], [30, 5, 2])]


def make(node: Node) -> None:
    """An image, two labelmaps (``seg`` written through the ROI, ``whole`` written the
    final volume at once), each with a synced annotation and labelsz, and the roi."""
    node.create_volume("gray", "uint8", block_shape=(16, 16, 16))
    node.volume("gray").write((0, 0, 0), np.full((SIDE, SIDE, SIDE), 5, np.uint8))
    for name in ("seg", "whole"):
        node.create_labels(name, block_shape=(16, 16, 16), max_scale=1)
        node.labels(name).write((0, 0, 0), np.full((SIDE, SIDE, SIDE), 1, np.uint64))
        node.create_annotations(f"syn_{name}", sync=name, block_shape=(16, 16, 16))
        node.create_labelsz(f"sizes_{name}", annotations=f"syn_{name}")
    node.create_roi("area", block_size=ROI_BLOCK)


def url(node: Node, name: str, box: Box, roi: bool = True) -> str:
    size = "_".join(str(v) for v in box.shape[::-1])
    offset = "_".join(str(v) for v in box.start[::-1])
    query = "?roi=area" if roi else ""
    return f"/api/node/{node.uuid}/{name}/raw/0_1_2/{size}/{offset}{query}"


def post(client: TestClient, path: str, data: np.ndarray) -> None:
    r = client.post(path, content=data.tobytes())
    assert r.status_code == 200, r.text


def get(client: TestClient, path: str) -> Any:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.json()


block = st.integers(0, SIDE // ROI_BLOCK - 1)
spans = st.lists(st.tuples(block, block, block, block), min_size=1, max_size=4)
corner = st.integers(0, SIDE - 1)


@settings(max_examples=8, deadline=None)
@given(
    roi=spans,
    start=st.tuples(corner, corner, corner),
    stop=st.tuples(corner, corner, corner),
    label=st.sampled_from([1, 7, 2**40]),
)
def test_only_voxels_inside_the_roi_are_written(
    roi: list[tuple[int, int, int, int]],
    start: tuple[int, int, int],
    stop: tuple[int, int, int],
    label: int,
) -> None:
    lo = tuple(min(a, b) for a, b in zip(start, stop, strict=True))
    hi = tuple(max(a, b) + 1 for a, b in zip(start, stop, strict=True))
    box = Box(lo, hi)  # any alignment for images; labels too (voxhub takes any box)
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("masked").master
    make(node)
    area = node.roi("area")
    area.set([[z, y, x, max(x, x1)] for z, y, x, x1 in roi])
    mask = area.mask(box)
    with TestClient(create_app(hub)) as client:
        client.post(f"/api/node/{node.uuid}/syn_seg/elements", json=ELEMENTS)
        client.post(f"/api/node/{node.uuid}/syn_whole/elements", json=ELEMENTS)
        post(client, url(node, "gray", box), np.full(box.shape, 200, np.uint8))
        post(client, url(node, "seg", box), np.full(box.shape, label, np.uint64))
        want_gray = np.full((SIDE, SIDE, SIDE), 5, np.uint8)
        want_gray[box.relative_to((0, 0, 0))][mask] = 200
        assert np.array_equal(node.volume("gray").read(FULL), want_gray)
        want = np.full((SIDE, SIDE, SIDE), 1, np.uint64)
        want[box.relative_to((0, 0, 0))][mask] = label
        post(client, url(node, "whole", FULL, roi=False), want)
        seg, whole = node.labels("seg"), node.labels("whole")
        assert np.array_equal(seg.read(FULL, supervoxels=True), want)
        half = Box((0, 0, 0), (SIDE // 2,) * 3)
        assert np.array_equal(seg.read(half, scale=1), whole.read(half, scale=1))
        for body in (1, 7, 2**40):  # the label index, as DVID's size answers it
            a = client.get(f"/api/node/{node.uuid}/seg/size/{body}")
            b = client.get(f"/api/node/{node.uuid}/whole/size/{body}")
            assert (a.status_code, a.content) == (b.status_code, b.content)
        for body in (1, label):
            mine = get(client, f"/api/node/{node.uuid}/syn_seg/label/{body}")
            theirs = get(client, f"/api/node/{node.uuid}/syn_whole/label/{body}")
            assert sorted(e["Pos"] for e in mine) == sorted(e["Pos"] for e in theirs)
        tops = [
            get(client, f"/api/node/{node.uuid}/sizes_{n}/top/5/PreSyn") for n in ("seg", "whole")
        ]
        assert tops[0] == tops[1]
    hub.close()


def test_a_write_missing_the_roi_writes_nothing_and_an_unknown_roi_is_404() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("masked").master
    make(node)
    node.roi("area").set([[3, 3, 3, 3]])  # voxels 24..31 on every axis
    with TestClient(create_app(hub)) as client:
        box = Box((0, 0, 0), (16, 16, 16))
        post(client, url(node, "seg", box), np.full(box.shape, 9, np.uint64))
        assert client.get(f"/api/node/{node.uuid}/seg/size/9").status_code == 404
        assert node.labels("seg").extents() == FULL
        r = client.post(
            url(node, "gray", box).replace("roi=area", "roi=nope"), content=bytes(16**3)
        )
        assert r.status_code == 404
        assert "nope" in r.json()["error"]
    hub.close()


def test_a_block_wholly_inside_the_roi_is_written_whole_and_the_rest_kept() -> None:
    hub = EmbeddedHub.open("memory://")
    node = hub.create_repo("masked").master
    make(node)
    node.roi("area").set([[z, y, 0, 1] for z in (0, 1) for y in (0, 1)])  # the 16³ block 0
    with TestClient(create_app(hub)) as client:
        client.post(f"/api/node/{node.uuid}/syn_seg/elements", json=ELEMENTS)
        post(client, url(node, "seg", FULL), np.full(FULL.shape, 5, np.uint64))
        sizes = [get(client, f"/api/node/{node.uuid}/seg/size/{b}")["voxels"] for b in (5, 1)]
        assert sizes == [16**3, SIDE**3 - 16**3]
        found = get(client, f"/api/node/{node.uuid}/syn_seg/label/5")
        assert [e["Pos"] for e in found] == [[1, 1, 1]]
        low = node.labels("seg").read(Box((0, 0, 0), (16, 16, 16)), scale=1)
        assert set(np.unique(low).tolist()) == {1, 5}
    hub.close()
