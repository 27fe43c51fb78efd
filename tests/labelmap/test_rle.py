"""DVID sparsevol runs: mask ↔ runs ↔ rles/srles bytes, clipping, coarse block runs."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from voxhub.datatypes.labelmap.rle import (
    bounds_box,
    clip_runs,
    decode_rles,
    decode_srles,
    encode_coarse,
    encode_rles,
    encode_srles,
    mask_in_box,
    runs_bounds,
    runs_from_mask,
    runs_from_points,
    voxels_of_runs,
)
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3

Arr = npt.NDArray[Any]
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

masks = hnp.arrays(np.bool_, st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 12)))
# Offsets far from 0 on both sides, including right up to the int32 edge that runs allow.
coords = st.one_of(st.integers(-1000, 1000), st.integers(INT32_MIN, INT32_MIN + 10))
offsets = st.tuples(coords, coords, coords)


@st.composite
def run_arrays(draw: st.DrawFn) -> Arr:
    """Arbitrary runs (overlapping, unsorted, touching) in a small neighbourhood."""
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(-8, 8), st.integers(-3, 3), st.integers(-3, 3), st.integers(1, 10)
            ),
            max_size=12,
        )
    )
    return np.array(rows, np.int32).reshape(-1, 4)


boxes = st.builds(
    lambda start, shape: Box.from_shape(shape, start),
    st.tuples(st.integers(-4, 2), st.integers(-4, 2), st.integers(-10, 5)),
    st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 12)),
)


def voxel_set(runs: Arr) -> set[tuple[int, int, int]]:
    """Voxels of runs by the obvious loop, independent of the module's vectorised code."""
    return {(int(z), int(y), int(x0) + i) for x0, y, z, n in runs.tolist() for i in range(int(n))}


def header(spans: int, voxels: int = 0, descriptor: int = 0, dims: int = 3, run: int = 0) -> bytes:
    return bytes([descriptor, dims, run, 0]) + struct.pack("<II", voxels, spans)


@given(masks, offsets)
def test_mask_round_trips_through_rles(mask: Arr, offset: Vec3) -> None:
    box = Box.from_shape(mask.shape, offset)
    runs = runs_from_mask(mask, offset)
    assert runs.dtype == np.int32
    decoded = decode_rles(encode_rles(runs))
    assert np.array_equal(decoded, runs)
    assert np.array_equal(mask_in_box(decoded, box), mask)
    assert np.array_equal(decode_srles(encode_srles(runs)), runs)


@given(masks, offsets)
def test_runs_are_maximal_sorted_and_cover_exactly_the_mask(mask: Arr, offset: Vec3) -> None:
    runs = runs_from_mask(mask, offset)
    expected = np.argwhere(mask) + np.array(offset)
    assert voxel_set(runs) == {(int(z), int(y), int(x)) for z, y, x in expected}
    assert np.array_equal(voxels_of_runs(runs), expected)  # same z, y, x order
    rows = [(z, y, x) for x, y, z, _ in runs.tolist()]
    assert rows == sorted(rows)
    for (x0, y0, z0, n0), (x1, y1, z1, _) in zip(runs.tolist(), runs.tolist()[1:], strict=False):
        if (z0, y0) == (z1, y1):
            assert x0 + n0 < x1  # a gap separates runs on the same row
    if len(runs):
        assert Box.from_shape(mask.shape, offset).contains(runs_bounds(runs))


def test_rles_bytes_are_exactly_dvid_layout() -> None:
    runs = np.array([[-5, 2, 3, 4], [INT32_MAX, INT32_MIN, 0, 1]])
    body = encode_rles(runs)
    assert body[:12] == bytes([0, 3, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0])
    assert body[12:] == struct.pack("<8i", -5, 2, 3, 4, INT32_MAX, INT32_MIN, 0, 1)
    assert encode_srles(runs) == body[12:]
    assert encode_rles(np.zeros((0, 4), np.int32)) == header(0)
    assert len(decode_rles(header(0))) == 0


def test_voxel_count_placeholder_is_ignored_on_read() -> None:
    # DVID writes 0 there; other writers may fill it in. Either way it carries no meaning.
    spans = struct.pack("<4i", 1, 2, 3, 4)
    assert decode_rles(header(1, voxels=4) + spans).tolist() == [[1, 2, 3, 4]]
    assert decode_rles(header(1, voxels=999) + spans).tolist() == [[1, 2, 3, 4]]


@given(masks.filter(lambda m: m.any()), offsets, st.data())
def test_truncated_or_padded_bodies_are_refused(mask: Arr, offset: Vec3, data: Any) -> None:
    body = encode_rles(runs_from_mask(mask, offset))
    cut = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(InvalidRequest, match="bytes"):
        decode_rles(body[:cut])
    extra = data.draw(st.binary(min_size=1, max_size=20))
    with pytest.raises(InvalidRequest, match="bytes"):
        decode_rles(body + extra)


@given(st.binary(max_size=80))
def test_garbage_is_refused_or_reencodes_identically(data: bytes) -> None:
    try:
        runs = decode_rles(data)
    except InvalidRequest:
        return
    # Whatever was accepted is a valid body: only the ignored voxel count may differ.
    assert encode_rles(runs) == data[:4] + b"\0\0\0\0" + data[8:]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (header(0, descriptor=1), "descriptor"),
        (header(0, dims=2), "3 dimensions"),
        (header(0, run=1), "along x"),
        (header(2) + struct.pack("<4i", 0, 0, 0, 1), "2 spans"),
        (header(1) + struct.pack("<4i", 0, 0, 0, 0), "length 0"),
        (header(1) + struct.pack("<4i", 0, 0, 0, -3), "length -3"),
        (header(1) + struct.pack("<4i", INT32_MAX, 0, 0, 2), "int32"),
        (b"\0\3\0", "header"),
    ],
)
def test_malformed_headers_and_spans_are_named(body: bytes, complaint: str) -> None:
    with pytest.raises(InvalidRequest, match=complaint):
        decode_rles(body)


def test_srles_must_be_whole_spans() -> None:
    with pytest.raises(InvalidRequest, match="16-byte spans"):
        decode_srles(b"\0" * 17)


@pytest.mark.parametrize(
    "runs",
    [
        np.array([[0, 0, 0]]),
        np.array([[0.0, 0, 0, 1]]),
        np.array([[0, 0, 0, 0]]),
        np.array([[0, 0, 2**31, 1]]),
        np.array([[0, 0, 0, 2**63]], np.uint64),
    ],
)
def test_encoding_refuses_invalid_runs(runs: Arr) -> None:
    with pytest.raises(InvalidRequest):
        encode_rles(runs)


def test_mask_beyond_int32_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="int32"):
        runs_from_mask(np.ones((1, 1, 2), bool), (0, 0, INT32_MAX))
    with pytest.raises(InvalidRequest, match="3-d"):
        runs_from_mask(np.ones((2, 2), bool))


@given(run_arrays(), boxes)
def test_clipping_equals_masking(runs: Arr, box: Box) -> None:
    inside = {
        v
        for v in voxel_set(runs)
        if all(a <= c < b for a, c, b in zip(box.start, v, box.stop, strict=True))
    }
    clipped = clip_runs(runs, box)
    assert voxel_set(clipped) == inside
    assert {tuple(v) for v in voxels_of_runs(clipped).tolist()} == inside
    expected = np.zeros(box.shape, bool)
    for z, y, x in inside:
        expected[z - box.start[0], y - box.start[1], x - box.start[2]] = True
    assert np.array_equal(mask_in_box(runs, box), expected)
    assert np.array_equal(mask_in_box(clipped, box), expected)


@given(run_arrays())
def test_runs_bounds_hold_every_voxel_tightly(runs: Arr) -> None:
    box = runs_bounds(runs)
    if len(runs) == 0:
        assert box.empty
        return
    mask = mask_in_box(runs, box)
    assert mask.sum() == len(voxel_set(runs))
    # Tight: every face of the box touches a voxel.
    for face in (mask[0], mask[-1], mask[:, 0], mask[:, -1], mask[:, :, 0], mask[:, :, -1]):
        assert face.any()


@given(
    run_arrays(),
    *[st.one_of(st.none(), st.integers(-9, 9))] * 6,
)
def test_dvid_bounds_are_inclusive(
    runs: Arr,
    minx: int | None,
    maxx: int | None,
    miny: int | None,
    maxy: int | None,
    minz: int | None,
    maxz: int | None,
) -> None:
    def ok(v: int, lo: int | None, hi: int | None) -> bool:
        return (lo is None or v >= lo) and (hi is None or v <= hi)

    box = bounds_box(minx=minx, maxx=maxx, miny=miny, maxy=maxy, minz=minz, maxz=maxz)
    expected = {
        (z, y, x)
        for z, y, x in voxel_set(runs)
        if ok(x, minx, maxx) and ok(y, miny, maxy) and ok(z, minz, maxz)
    }
    assert voxel_set(clip_runs(runs, box)) == expected


@given(st.lists(st.tuples(*[st.integers(-40, 40)] * 3), max_size=30))
def test_coarse_block_runs_round_trip(blocks: list[Vec3]) -> None:
    body = encode_coarse(blocks)
    runs = decode_rles(body)
    assert body[:8] == bytes([0, 3, 0, 0, 0, 0, 0, 0])
    assert voxel_set(runs) == set(blocks)
    assert np.array_equal(runs, runs_from_points(np.array(blocks, np.int64).reshape(-1, 3)))
    # Same runs as a mask holding those blocks would give: maximal and sorted.
    if blocks:
        box = Box((-40, -40, -40), (41, 41, 41))
        mask = np.zeros(box.shape, bool)
        for z, y, x in blocks:
            mask[z + 40, y + 40, x + 40] = True
        assert np.array_equal(runs, runs_from_mask(mask, box.start))


def test_coarse_example() -> None:
    body = encode_coarse([(0, 0, 3), (0, 0, 1), (0, 0, 2), (1, 0, 2), (0, 0, 2)])
    assert body == header(2) + struct.pack("<8i", 1, 0, 0, 3, 2, 0, 1, 1)
