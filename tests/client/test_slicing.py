"""numpy-style indexing maps to the same voxels numpy itself would pick."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.client.slicing import select, write_selection
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box

SHAPE = (5, 6, 7)
REF = np.arange(np.prod(SHAPE)).reshape(SHAPE)


def index_for(n: int) -> st.SearchStrategy[object]:
    bound = st.integers(-n, n).filter(lambda v: v != 0) | st.none() | st.just(0)
    return st.one_of(
        st.integers(-n, n - 1),
        st.builds(slice, bound, bound),
    )


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_select_matches_numpy(data: st.DataObject) -> None:
    k = data.draw(st.integers(0, 3))
    key = tuple(data.draw(index_for(SHAPE[i])) for i in range(k))
    if data.draw(st.booleans()) and k < 3:
        key = (*key, Ellipsis)
    expected = REF[key]
    sel = select(key, Box((0, 0, 0), SHAPE))
    got = REF[sel.box.relative_to((0, 0, 0))].reshape(sel.result_shape)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_open_ends_follow_bounds_not_origin() -> None:
    sel = select((slice(None), 3), Box((10, 0, -4), (12, 8, 4)))
    assert sel.box == Box((10, 3, -4), (12, 4, 4))
    assert sel.dropped_axes == (1,)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ((slice(0, 4, 2),), "step 2 on axis z"),
        ((0, 0, 0, 0), "too many indices"),
        ((Ellipsis, Ellipsis), "single ellipsis"),
        (("a",), "axis z must be an integer"),
    ],
)
def test_bad_indices_are_refused_with_the_reason(key: tuple[object, ...], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        select(key, Box((0, 0, 0), SHAPE))  # type: ignore[arg-type]


def test_write_without_bounds_takes_the_value_shape() -> None:
    sel = write_selection((slice(None), slice(10, None), 2), None, (3, 4))
    assert sel.box == Box((0, 10, 2), (3, 14, 3))
    assert write_selection(Ellipsis, None, (2, 3, 4)).box == Box((0, 0, 0), (2, 3, 4))


def test_write_without_bounds_refuses_negative_indices() -> None:
    with pytest.raises(InvalidRequest, match="negative indices need bounds"):
        write_selection((slice(-2, None),), None, (2, 2, 2))
