"""``stored_blocks``: exactly the stored blocks of one scale inside a box of block
coordinates, in z, y, x order, found by a key scan (whatever the box's volume)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from voxhub.datatypes.imageblk.keys import COORD_MAX, COORD_MIN, block_key
from voxhub.datatypes.imageblk.stored import stored_blocks
from voxhub.geometry import Box

coord = st.integers(COORD_MIN, COORD_MAX)
small = st.integers(-4, 4)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    a = [draw(st.one_of(small, coord)) for _ in range(3)]
    b = [draw(st.one_of(small, st.integers(COORD_MIN, COORD_MAX + 1))) for _ in range(3)]
    lo, hi = [min(p) for p in zip(a, b, strict=False)], [max(p) for p in zip(a, b, strict=False)]
    return Box((lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2]))


@settings(max_examples=100, deadline=None)
@given(
    stored=st.sets(st.tuples(st.integers(0, 2), small, small, small), max_size=30),
    scale=st.integers(0, 2),
    box=boxes(),
)
def test_stored_blocks_are_the_stored_blocks_inside_the_box(
    stored: set[tuple[int, int, int, int]], scale: int, box: Box
) -> None:
    view = FakeView()
    view.put_many((block_key(s, (z, y, x)), b"v") for s, z, y, x in stored)
    found = list(stored_blocks(view, scale, box))
    expected = sorted(
        (z, y, x)
        for s, z, y, x in stored
        if s == scale
        and all(a <= v < b for v, a, b in zip((z, y, x), box.start, box.stop, strict=False))
    )
    assert found == expected


def test_the_whole_int32_range_costs_one_scan_of_what_is_stored() -> None:
    view = FakeView()
    view.put_many([(block_key(1, (COORD_MIN, 0, COORD_MAX)), b"a"), (block_key(0, (0,) * 3), b"b")])
    everything = Box((COORD_MIN,) * 3, (COORD_MAX + 1,) * 3)
    assert list(stored_blocks(view, 1, everything)) == [(COORD_MIN, 0, COORD_MAX)]
