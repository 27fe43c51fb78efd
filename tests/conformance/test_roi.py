"""roi as DVID clients use it: spans, point queries, masks, partitions, and ``?roi=``
masks of image and label reads."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from voxhub.datatypes.labelmap.pseudocolor import pseudocolor

from .conftest import EM, REGIONS, SEG, Dvid

_names = itertools.count()


def voxel_mask(spans: list[list[int]], edge: int, shape: tuple[int, int, int]) -> np.ndarray:
    """The (z, y, x) voxel mask of ``spans`` of ``edge``³ blocks, from the origin."""
    mask = np.zeros(shape, dtype=bool)
    for z, y, x0, x1 in spans:
        mask[z * edge : (z + 1) * edge, y * edge : (y + 1) * edge, x0 * edge : (x1 + 1) * edge] = (
            True
        )
    return mask


@pytest.fixture
def roi(dvid: Dvid) -> str:
    name = f"roi{next(_names)}"
    dvid.create(name, "roi")  # DVID's default block size, 32
    return name


@pytest.mark.covers("roi", "GET /info", "GET /roi", "POST /roi", "DELETE /roi")
def test_spans_are_replaced_sorted_and_merged(dvid: Dvid, roi: str) -> None:
    info = dvid.json(dvid.at(roi, "info"))
    assert info["Base"]["TypeName"] == "roi"
    assert info["Extended"]["BlockSize"] == [32, 32, 32]
    assert dvid.json(dvid.at(roi, "roi")) == []
    dvid.ok("POST", dvid.at(roi, "roi"), json=[[2, 1, 5, 6], [0, 0, 0, 1], [2, 1, 0, 4]])
    assert dvid.json(dvid.at(roi, "roi")) == [[0, 0, 0, 1], [2, 1, 0, 6]]
    assert dvid.json(dvid.at(roi, "info"))["Extended"] | {"BlockSize": None} == {
        "BlockSize": None,
        "MinZ": 0,
        "MaxZ": 2,
    }
    dvid.ok("POST", dvid.at(roi, "roi"), json=[[7, 7, 7, 7]])  # replaces
    assert dvid.json(dvid.at(roi, "roi")) == [[7, 7, 7, 7]]
    bad = dvid.post(dvid.at(roi, "roi"), json=[[1, 1, 1, 1], [1, 1, 4, 3]])
    assert bad.status_code == 400
    assert "x1 < x0" in bad.json()["error"]
    assert dvid.json(dvid.at(roi, "roi")) == [[7, 7, 7, 7]]
    dvid.ok("DELETE", dvid.at(roi, "roi"))
    assert dvid.json(dvid.at(roi, "roi")) == []


@pytest.mark.covers("roi", "POST /ptquery", "GET /ptquery")
def test_point_queries_answer_in_order_even_on_a_committed_node(dvid: Dvid) -> None:
    points = [[0, 0, 0], [40, 20, 20], [16, 16, 16], [32, 16, 16], [16, 48, 48], [-1, 0, 0]]
    reply = dvid.ok("POST", dvid.at("regions", "ptquery", node=dvid.committed), json=points)
    assert reply.json() == [True, True, False, True, True, False]
    assert dvid.get(dvid.at("regions", "ptquery")).status_code == 400  # as DVID
    as_read = dvid.get(dvid.at("regions", "ptquery"), json=points[:3])  # voxhub: a GET body
    assert as_read.json() == [True, True, False]
    for bad, says in (([[1, 2]], "must be [x, y, z]"), ([[0.5, 0, 0]], "integers"), ({}, "list")):
        reply = dvid.post(dvid.at("regions", "ptquery"), json=bad)
        assert reply.status_code == 400
        assert says in reply.json()["error"]


@pytest.mark.covers("roi", "GET /mask/{dims}/{size}/{offset}")
def test_mask_is_one_byte_per_voxel(dvid: Dvid) -> None:
    data = dvid.ok("GET", dvid.at("regions", "mask/0_1_2/40_30_20/5_6_7")).content
    mask = np.frombuffer(data, np.uint8).reshape(20, 30, 40)
    want = voxel_mask(REGIONS, 16, (64, 64, 64))[7:27, 6:36, 5:45]
    assert np.array_equal(mask, want.astype(np.uint8))
    assert dvid.get(dvid.at("regions", "mask/xy/8_8/0_0_0")).status_code == 400


@pytest.mark.covers("roi", "GET /partition")
def test_partition_lists_subvolumes_covering_the_roi(dvid: Dvid, roi: str) -> None:
    dvid.ok("POST", dvid.at(roi, "roi"), json=[[0, 0, 0, 3], [1, 1, 0, 0]])
    body = dvid.json(dvid.at(roi, "partition"), params={"batchsize": "2"})
    assert body["NumSubvolumes"] == len(body["Subvolumes"]) == 2
    assert body["NumActiveBlocks"] == 5
    first = body["Subvolumes"][0]
    assert first["MinChunk"] == [0, 0, 0]
    assert first["MaxChunk"] == [1, 1, 1]
    assert first["MinPoint"] == [0, 0, 0]
    assert first["MaxPoint"] == [63, 63, 63]
    assert first["ActiveBlocks"] == 3
    assert first["TotalBlocks"] == 8
    assert body["ROI"] == {"MinChunk": [0, 0, 0], "MaxChunk": [3, 1, 1]}
    assert dvid.get(dvid.at(roi, "partition")).status_code == 400  # batchsize required


def test_image_and_label_reads_are_masked_by_the_roi(dvid: Dvid) -> None:
    inside = voxel_mask(REGIONS, 16, (64, 64, 64))
    got = dvid.ok("GET", dvid.at("em", "raw/0_1_2/64_64_64/0_0_0"), params={"roi": "regions"})
    assert np.array_equal(np.frombuffer(got.content, np.uint8).reshape(64, 64, 64), EM * inside)
    iso = dvid.ok("GET", dvid.at("em", "isotropic/0_1_2/64_64_64/0_0_0"), params={"roi": "regions"})
    assert iso.content == got.content  # cubic voxels: isotropic reads what raw does
    png = dvid.ok("GET", dvid.at("seg", "pseudocolor/xy/64_64/0_0_20"), params={"roi": "regions"})
    plain = dvid.ok("GET", dvid.at("seg", "pseudocolor/xy/64_64/0_0_20"))
    rgba, unmasked = (np.asarray(Image.open(io.BytesIO(p.content))) for p in (png, plain))
    assert np.array_equal(rgba[inside[20]], unmasked[inside[20]])
    assert (rgba[~inside[20]] == pseudocolor(np.zeros((1, 1), np.uint64))[0, 0]).all()
    seg = dvid.ok(
        "GET",
        dvid.at("seg", "raw/0_1_2/64_64_64/0_0_0"),
        params={"roi": "regions", "supervoxels": "true"},
    )
    labels = np.frombuffer(seg.content, "<u8").reshape(64, 64, 64)
    assert np.array_equal(labels, SEG * inside)
    # scale 1: voxel v is inside when the scale-0 voxel 2v is
    half = dvid.ok(
        "GET",
        dvid.at("seg", "raw/0_1_2/32_32_32/0_0_0"),
        params={"roi": "regions", "supervoxels": "true", "scale": "1"},
    )
    level = np.frombuffer(half.content, "<u8").reshape(32, 32, 32)
    assert not level[~inside[::2, ::2, ::2]].any()
    assert level[inside[::2, ::2, ::2]].all()


@pytest.mark.covers("roi", "GET /tags", "POST /tags")
def test_roi_tags(dvid: Dvid, roi: str) -> None:
    dvid.ok("POST", dvid.at(roi, "tags"), json={"region": "medulla"})
    assert dvid.json(dvid.at(roi, "tags")) == {"Tags": {"region": "medulla"}}
    assert dvid.json(dvid.at(roi, "info"))["Base"]["Tags"] == {"region": "medulla"}
