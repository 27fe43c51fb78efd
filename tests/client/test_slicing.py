"""numpy-style indexing picks the voxels numpy itself would pick, on the volume's bounds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import voxhub
from voxhub.client.slicing import select, write_selection
from voxhub.errors import InvalidRequest, OutOfBounds
from voxhub.geometry import Box


def item_for(n: int) -> st.SearchStrategy[Any]:
    """An index on an axis of length ``n``, often outside it (numpy must refuse or clip)."""
    end = st.none() | st.integers(-n - 3, n + 3)
    step = st.sampled_from([None, 1])
    return st.integers(-n - 2, n + 1) | st.builds(slice, end, end, step)


def keys_for(shape: tuple[int, int, int]) -> st.SearchStrategy[Any]:
    @st.composite
    def key(draw: st.DrawFn) -> Any:
        k = draw(st.integers(0, 3))
        items = [draw(item_for(shape[i])) for i in range(k)]
        if k < 3 and draw(st.booleans()):
            items.insert(draw(st.integers(0, k)), Ellipsis)
        return items[0] if len(items) == 1 and draw(st.booleans()) else tuple(items)

    return key()


def numpy_answer(ref: np.ndarray, key: Any) -> np.ndarray | type[IndexError]:
    try:
        return np.asarray(ref[key])
    except IndexError:
        return IndexError


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_select_matches_numpy(data: st.DataObject) -> None:
    shape = data.draw(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)))
    ref = np.arange(int(np.prod(shape))).reshape(shape)
    key = data.draw(keys_for(shape))
    expected = numpy_answer(ref, key)
    if expected is IndexError:
        with pytest.raises(OutOfBounds, match="out of bounds for axis"):
            select(key, shape)
        return
    sel = select(key, shape)
    assert Box((0, 0, 0), shape).contains(sel.box)  # reads never leave the bounds
    got = ref[sel.box.relative_to((0, 0, 0))].reshape(sel.result_shape)
    assert isinstance(expected, np.ndarray)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_volume_reads_match_numpy_on_a_stored_volume() -> None:
    """End to end through a real volume written off the origin: ``shape``, ``vol[:]``,
    negative indices and clipping all follow the bounds, as on the numpy reference."""
    shape = (7, 5, 6)
    ref = np.zeros(shape, np.uint16)
    ref[2:, 1:, :] = np.arange(5 * 4 * 6, dtype=np.uint16).reshape(5, 4, 6) + 1
    vol = (
        voxhub.open("memory://")
        .create_repo("s")
        .master.create_volume("em", "uint16", block_shape=(4, 4, 4))
    )
    vol[2:7, 1:5, 0:6] = ref[2:, 1:, :]
    assert vol.shape == shape
    assert vol[:].shape == shape

    @settings(max_examples=150, deadline=None)
    @given(keys_for(shape))
    def check(key: Any) -> None:
        expected = numpy_answer(ref, key)
        if expected is IndexError:
            with pytest.raises(IndexError):
                vol[key]
            return
        got = np.asarray(vol[key])
        assert isinstance(expected, np.ndarray)
        assert got.shape == expected.shape
        assert got.dtype == vol.dtype
        assert np.array_equal(got, expected)

    check()


@st.composite
def write_cases(draw: st.DrawFn) -> tuple[tuple[int, int, int], Box, Any]:
    """A current shape, the box a write should cover, and one of the keys naming it."""
    shape = draw(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)))
    start: list[int] = []
    stop: list[int] = []
    key: list[Any] = []
    for n in shape:
        a = draw(st.integers(0, n + 3))
        b = draw(st.integers(a + 1, a + 4))
        forms: list[Any] = [slice(a, b)]
        if a == 0:
            forms.append(slice(None, b))
        if a < n:
            forms.append(slice(a - n, b))
            if b < n:
                forms.append(slice(a, b - n))
            if b == n:
                forms.append(slice(a, None))
            if b == a + 1:
                forms.append(a - n)  # negative plane
        else:
            forms.append(slice(a, None))  # past the end: the value's extent decides
        if b == a + 1:
            forms.append(a)
        start.append(a)
        stop.append(b)
        key.append(draw(st.sampled_from(forms)))
    box = Box((start[0], start[1], start[2]), (stop[0], stop[1], stop[2]))
    return shape, box, tuple(key)


@settings(max_examples=300, deadline=None)
@given(write_cases())
def test_write_selection_names_the_box_every_way(case: tuple[Any, Box, Any]) -> None:
    shape, box, key = case
    value_shape = tuple(n for n, k in zip(box.shape, key, strict=True) if isinstance(k, slice))
    sel = write_selection(key, shape, value_shape)
    assert sel.box == box
    assert sel.result_shape == value_shape


@settings(max_examples=40, deadline=None)
@given(st.lists(write_cases(), min_size=1, max_size=3))
def test_writes_grow_the_bounds_like_a_zero_padded_numpy_array(cases: list[Any]) -> None:
    vol = (
        voxhub.open("memory://")
        .create_repo("w")
        .master.create_volume("em", "uint8", block_shape=(4, 4, 4))
    )
    model = np.zeros((0, 0, 0), np.uint8)
    rng = np.random.default_rng(len(cases))
    for i, (_, box, _) in enumerate(cases):
        # The key is re-derived against the volume's real shape, as a user would write it.
        key = tuple(slice(a, b) for a, b in zip(box.start, box.stop, strict=True))
        value = rng.integers(1, 255, box.shape, dtype=np.uint8)
        vol[key] = value
        grown = tuple(max(m, b) for m, b in zip(model.shape, box.stop, strict=True))
        padded = np.zeros(grown, np.uint8)
        padded[tuple(slice(0, m) for m in model.shape)] = model
        padded[box.relative_to((0, 0, 0))] = value
        model = padded
        assert vol.shape == model.shape, i
        assert np.array_equal(vol[...], model)


def test_open_ends_of_a_write_past_the_end_take_the_value_extent() -> None:
    sel = write_selection((slice(None), slice(None), slice(8, None)), (2, 3, 8), (2, 3, 5))
    assert sel.box == Box((0, 0, 8), (2, 3, 13))
    assert write_selection(Ellipsis, (0, 0, 0), (2, 3, 4)).box == Box((0, 0, 0), (2, 3, 4))
    # a scalar fills the bounds, or one voxel along an axis that has none yet
    assert write_selection((slice(None),), (4, 0, 2), ()).box == Box((0, 0, 0), (4, 1, 2))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ((slice(0, 4, 2),), "step 2 on axis z"),
        ((0, 0, 0, 0), "too many indices"),
        ((Ellipsis, Ellipsis), "single ellipsis"),
        (("a",), "axis z must be an integer"),
        ((slice(None), None), "axis y must be an integer"),
        ((True,), "axis z must be an integer"),
        ((np.array([1, 2]),), "axis z must be an integer"),
    ],
)
def test_bad_indices_are_refused_with_the_reason(key: tuple[object, ...], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        select(key, (5, 6, 7))  # type: ignore[arg-type]


def test_numpy_integers_are_indices() -> None:
    assert select((np.int64(-1), np.uint8(2)), (5, 6, 7)).box == Box((4, 2, 0), (5, 3, 7))


def test_writes_refuse_indices_before_the_origin() -> None:
    with pytest.raises(OutOfBounds, match="index -3 is out of bounds for axis z with size 2"):
        write_selection((-3,), (2, 2, 2), (2, 2))
    with pytest.raises(InvalidRequest, match="cannot write an array of shape"):
        write_selection((0, 0), (2, 2, 2), (3, 2))
