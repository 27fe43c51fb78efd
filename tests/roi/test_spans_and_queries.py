"""Span normalisation, point queries and masks of an ROI against a numpy block mask."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.roi.query import RoiReader, roi_contains
from voxhub.datatypes.roi.spans import check_spans, normalize, spans_from_json
from voxhub.datatypes.roi.write import replace_spans
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box
from voxhub.service import Service
from voxhub.storage import open_store

# blocks live in a small grid offset into negative coordinates: z, y in -2..2, x in -3..5
GRID_LO = np.array([-2, -2, -3])
GRID_SHAPE = (5, 5, 9)

span_st = st.tuples(
    st.integers(-2, 2), st.integers(-2, 2), st.integers(-3, 5), st.integers(0, 4)
).map(lambda t: [t[0], t[1], t[2], min(t[2] + t[3], 5)])
spans_st = st.lists(span_st, max_size=12)


def block_mask(spans: list[list[int]] | np.ndarray) -> np.ndarray:
    grid = np.zeros(GRID_SHAPE, dtype=bool)
    for z, y, x0, x1 in np.asarray(spans, dtype=np.int64).reshape(-1, 4).tolist():
        grid[z - GRID_LO[0], y - GRID_LO[1], x0 - GRID_LO[2] : x1 - GRID_LO[2] + 1] = True
    return grid


@settings(max_examples=100, deadline=None)
@given(spans_st)
def test_normalize_keeps_the_blocks_and_is_canonical(spans: list[list[int]]) -> None:
    out = normalize(np.array(spans, dtype=np.int64).reshape(-1, 4))
    assert np.array_equal(block_mask(out), block_mask(spans))
    rows = [tuple(s) for s in out.tolist()]
    assert rows == sorted(rows)
    for a, b in itertools.pairwise(rows):
        assert a[3] >= a[2]
        if a[:2] == b[:2]:
            assert b[2] > a[3] + 1, "touching or overlapping spans of a row are merged"
    assert np.array_equal(normalize(out), out)


def _reader(spans: list[list[int]], block: tuple[int, int, int]) -> RoiReader:
    service = Service(open_store("memory://"))
    repo = service.catalog.create_repo("r")
    service.catalog.create_instance(repo.root, "roi", "roi", {"block_shape": list(block)})
    view = service.catalog.view(repo.root, "roi")
    replace_spans(view, check_spans(spans))
    return RoiReader(view, block)


@settings(max_examples=40, deadline=None)
@given(spans_st, st.data())
def test_points_and_masks_match_a_numpy_mask(spans: list[list[int]], data: st.DataObject) -> None:
    block = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))
    reader = _reader(spans, block)
    grid = block_mask(spans)
    voxels = np.repeat(
        np.repeat(np.repeat(grid, block[0], 0), block[1], 1), block[2], 2
    )  # voxel mask of the grid, origin at GRID_LO * block
    origin = GRID_LO * np.array(block)
    extent = list(zip(origin, voxels.shape, strict=True))
    assert np.array_equal(reader.spans(), normalize(np.array(spans).reshape(-1, 4)))

    points = data.draw(
        st.lists(
            st.tuples(*(st.integers(int(o) - 2, int(o) + n + 1) for o, n in extent)),
            max_size=30,
        )
    )
    pts = np.array(points, dtype=np.int64).reshape(-1, 3)
    rel = pts - origin
    inside_grid = np.all((rel >= 0) & (rel < voxels.shape), axis=1)
    expected = np.zeros(len(pts), dtype=bool)
    expected[inside_grid] = voxels[tuple(rel[inside_grid].T)]
    assert np.array_equal(roi_contains(reader, pts), expected)

    lo = data.draw(st.tuples(*(st.integers(int(o) - 2, int(o) + n) for o, n in extent)))
    shape = data.draw(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 8)))
    box = Box.from_shape(shape, lo)
    padded = np.zeros(tuple(n + 20 for n in voxels.shape), dtype=bool)
    padded[10:-10, 10:-10, 10:-10] = voxels
    start = np.array(lo) - origin + 10
    want = padded[tuple(slice(s, s + n) for s, n in zip(start, shape, strict=True))]
    assert np.array_equal(reader.mask(box), want)


@settings(max_examples=40, deadline=None)
@given(spans_st, st.integers(1, 3), st.integers(0, 2), st.data())
def test_mask_of_a_level_keeps_voxels_whose_scale0_origin_is_inside(
    spans: list[list[int]], edge: int, scale: int, data: st.DataObject
) -> None:
    reader = _reader(spans, (edge, edge, edge))
    f = 2**scale
    lo = data.draw(st.tuples(*(st.integers(-8, 4) for _ in range(3))))
    box = Box.from_shape((4, 4, 5), lo)
    axes = (np.arange(a, b) for a, b in zip(box.start, box.stop, strict=True))
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    points = np.stack([zz.ravel(), yy.ravel(), xx.ravel()], axis=1) * f
    expected = reader.contains(points).reshape(box.shape)
    assert np.array_equal(reader.mask(box, (f, f, f)), expected)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"a": 1}, "must be a JSON list"),
        ([[0, 0, 1]], "span 0 must be a list of 4 integers"),
        ([[0, 0, 0, 1], [0, 0, 3, 1]], r"span 1 \[0, 0, 3, 1\] has x1 < x0"),
        ([[0, 0, 0.5, 1]], "non-integer 0.5"),
        ([[0, 0, True, 1]], "non-integer True"),
        ([[0, 0, 0, 2**31]], "int32"),
    ],
)
def test_bad_spans_are_refused_naming_the_span(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        spans_from_json(body)


def test_array_spans_are_checked_too() -> None:
    with pytest.raises(InvalidRequest, match="shape"):
        check_spans(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(InvalidRequest, match="integers"):
        check_spans(np.zeros((2, 4), dtype=np.float64))
    with pytest.raises(InvalidRequest, match="x1 < x0"):
        check_spans(np.array([[0, 0, 5, 4]]))


def test_boxes_and_points_beyond_int32_blocks_are_outside() -> None:
    reader = _reader([[0, 0, 0, 0], [-2, -2, -3, -3]], (1, 1, 1))
    far = 2**40
    assert not reader.mask(Box((far, 0, 0), (far + 2, 2, 2))).any()
    assert not reader.mask(Box((-far, 0, 0), (-far + 2, 2, 2))).any()
    assert reader.mask(
        Box((-far, -far, -far), (far, far, far)).intersect(Box((0, 0, 0), (1, 1, 1)))
    ).all()
    assert reader.contains([[far, 0, 0], [0, 0, 0], [-2, -2, -3]]).tolist() == [False, True, True]
