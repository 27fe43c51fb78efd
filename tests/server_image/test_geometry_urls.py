"""URL geometry parsing: DVID x_y_z strings and ndstore ranges to (z, y, x) boxes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.wire.url_geometry import (
    dvid_box,
    ndstore_box,
    ndstore_range,
    parse_dims,
    parse_floats,
)
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box

coord = st.integers(-(2**20), 2**20)
side = st.integers(1, 2**12)


@settings(max_examples=200, deadline=None)
@given(coord, coord, coord, side, side, side)
def test_dvid_box_reverses_axes(x: int, y: int, z: int, sx: int, sy: int, sz: int) -> None:
    box = dvid_box(parse_dims("0_1_2"), f"{sx}_{sy}_{sz}", f"{x}_{y}_{z}")
    assert box == Box((z, y, x), (z + sz, y + sy, x + sx))


@settings(max_examples=200, deadline=None)
@given(coord, coord, coord, side, side)
def test_dvid_planes_are_one_voxel_thick(x: int, y: int, z: int, w: int, h: int) -> None:
    off = f"{x}_{y}_{z}"
    assert dvid_box(parse_dims("xy"), f"{w}_{h}", off).shape == (1, h, w)
    assert dvid_box(parse_dims("xz"), f"{w}_{h}", off).shape == (h, 1, w)
    assert dvid_box(parse_dims("1_2"), f"{w}_{h}", off).shape == (h, w, 1)


@settings(max_examples=200, deadline=None)
@given(coord, side, coord, side, coord, side)
def test_ndstore_ranges_are_half_open(x: int, dx: int, y: int, dy: int, z: int, dz: int) -> None:
    box = ndstore_box(
        ndstore_range(f"{x},{x + dx}", "x"),
        ndstore_range(f"{y},{y + dy}", "y"),
        ndstore_range(f"{z},{z + dz}", "z"),
    )
    assert box.start == (z, y, x)
    assert box.shape == (dz, dy, dx)


@pytest.mark.parametrize("text", ["1", "1,2,3", "3,3", "4,2", "a,b", ""])
def test_bad_ndstore_ranges(text: str) -> None:
    with pytest.raises(InvalidRequest, match="x range"):
        ndstore_range(text, "x")


def test_floats_refuse_non_finite() -> None:
    assert parse_floats("1.5_-2_3e2", 3, "top_left") == (1.5, -2.0, 300.0)
    with pytest.raises(InvalidRequest, match="top_left"):
        parse_floats("1_inf_2", 3, "top_left")
