"""Property tests of ``voxhub.geometry``: boxes and block grids, negative coordinates included."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.errors import InvalidRequest
from voxhub.geometry import BlockGrid, Box, vec3

c = st.integers(-40, 40)
side = st.integers(0, 12)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    start = (draw(c), draw(c), draw(c))
    return Box.from_shape((draw(side), draw(side), draw(side)), start)


grids = st.builds(BlockGrid, st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7)))
factors = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


def voxels(box: Box) -> set[tuple[int, int, int]]:
    return {
        (z, y, x)
        for z in range(box.start[0], box.stop[0])
        for y in range(box.start[1], box.stop[1])
        for x in range(box.start[2], box.stop[2])
    }


@settings(max_examples=150)
@given(grid=grids, box=boxes())
def test_blocks_in_cover_exactly_the_box_with_disjoint_blocks(grid: BlockGrid, box: Box) -> None:
    coords = list(grid.blocks_in(box))
    assert coords == sorted(coords)  # z, then y, then x
    parts = [grid.block_box(b).intersect(box) for b in coords]
    assert all(not p.empty for p in parts)  # every listed block really touches the box
    assert sum(p.size for p in parts) == box.size  # disjoint ...
    covered: set[tuple[int, int, int]] = set()
    for p in parts:
        covered |= voxels(p)
    assert covered == voxels(box)  # ... and covering exactly


@settings(max_examples=150)
@given(grid=grids, box=boxes())
def test_expand_contains_the_box_and_is_the_smallest_aligned_box(grid: BlockGrid, box: Box) -> None:
    big = grid.expand(box)
    assert grid.aligned(big)
    if not box.empty:
        assert big.contains(box)
        s = grid.block_shape
        assert all(
            0 <= box.start[i] - big.start[i] < s[i] and 0 <= big.stop[i] - box.stop[i] < s[i]
            for i in range(3)
        )


@settings(max_examples=150)
@given(a=boxes(), b=boxes())
def test_intersect_and_union_laws(a: Box, b: Box) -> None:
    i = a.intersect(b)
    assert i.size == b.intersect(a).size
    assert voxels(i) == voxels(a) & voxels(b)
    u = a.union(b)
    assert u.contains(a) or a.empty
    assert u.contains(b) or b.empty
    assert a.union(a) == a
    assert a.intersect(a) == a


@settings(max_examples=150)
@given(box=boxes(), f=factors)
def test_downsample_covers_and_upsample_contains(box: Box, f: tuple[int, int, int]) -> None:
    down = box.downsample(f)
    assert down.upsample(f).contains(box)
    assert Box.from_shape(box.shape, box.start).upsample(f).downsample(f) == box
    # every voxel maps into the downsampled box
    assert all(
        down.contains(Box.from_shape((1, 1, 1), (z // f[0], y // f[1], x // f[2])))
        for z, y, x in voxels(box)
    )


def test_invalid_inputs_raise_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="exceeds"):
        Box((0, 0, 5), (1, 1, 4))
    with pytest.raises(InvalidRequest, match="positive"):
        BlockGrid((0, 4, 4))
    with pytest.raises(InvalidRequest, match="3 values"):
        vec3((1, 2))
    with pytest.raises(InvalidRequest, match="integers"):
        vec3((1, 2.5, 3))
    assert vec3([1, 2, 3]) == (1, 2, 3)
