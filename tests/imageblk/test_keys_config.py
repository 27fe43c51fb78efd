"""Image type keys (round trip, ordering) and instance configuration (validation, JSON)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.imageblk import ImageConfig, typename_for
from voxhub.datatypes.imageblk.keys import (
    EXTENTS_KEY,
    block_key,
    decode_block_key,
    decode_extents,
    describe_tkey,
    encode_extents,
    scale_range,
)
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box

i32 = st.integers(-(2**31), 2**31 - 1)
coords = st.tuples(i32, i32, i32)
scales = st.integers(0, 255)


@settings(max_examples=200)
@given(scale=scales, coord=coords)
def test_block_key_round_trips(scale: int, coord: tuple[int, int, int]) -> None:
    key = block_key(scale, coord)
    assert decode_block_key(key) == (scale, coord)
    start, end = scale_range(scale)
    assert start <= key < end
    assert describe_tkey(key) == f"{scale}:{coord[0]},{coord[1]},{coord[2]}"


@settings(max_examples=200)
@given(a=st.tuples(scales, coords), b=st.tuples(scales, coords))
def test_key_order_is_scale_then_z_then_y_then_x(
    a: tuple[int, tuple[int, int, int]], b: tuple[int, tuple[int, int, int]]
) -> None:
    assert (block_key(*a) < block_key(*b)) == (a < b)


def test_keys_refuse_out_of_range_and_foreign_keys() -> None:
    with pytest.raises(InvalidRequest, match="int32"):
        block_key(0, (2**31, 0, 0))
    with pytest.raises(InvalidRequest, match="scale"):
        block_key(256, (0, 0, 0))
    with pytest.raises(InvalidRequest, match="not an image block key"):
        decode_block_key(EXTENTS_KEY)
    assert describe_tkey(EXTENTS_KEY) == "extents"


@given(
    start=coords,
    shape=st.tuples(*[st.integers(0, 2**20)] * 3),
)
def test_extents_value_round_trips(
    start: tuple[int, int, int], shape: tuple[int, int, int]
) -> None:
    box = Box.from_shape(shape, start)
    assert decode_extents(encode_extents(box)) == box


def test_config_defaults_and_json_round_trip() -> None:
    config = ImageConfig.create(dtype="uint8")
    assert config.block_shape == (64, 64, 64)
    assert config.codec == {"name": "zstd", "configuration": {"level": 1, "frame_planes": 16}}
    assert ImageConfig.from_json(config.to_json()) == config
    full = ImageConfig.create(
        dtype="uint8",
        block_shape=(16, 32, 32),
        voxel_size=(40, 8, 8),
        voxel_units="nm",
        codec={"name": "jpeg", "configuration": {"quality": 80}},
        max_scale=3,
        anisotropic=True,
        background=5,
    )
    assert ImageConfig.from_json(full.to_json()) == full
    assert full.scale_factor(2) == (1, 4, 4)
    assert ImageConfig.create(dtype="uint16", max_scale=2).scale_factor(2) == (4, 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dtype": "int8"}, "dtype"),
        ({"dtype": "uint8", "block_shape": (0, 64, 64)}, "block_shape"),
        ({"dtype": "uint8", "block_shape": (64, 64, 1024)}, "block_shape"),
        ({"dtype": "uint8", "block_shape": (64, 64)}, "block_shape"),
        ({"dtype": "uint8", "voxel_size": (1, -1, 1)}, "voxel_size"),
        ({"dtype": "uint8", "voxel_units": ""}, "voxel_units"),
        ({"dtype": "uint8", "max_scale": 21}, "max_scale"),
        ({"dtype": "uint8", "max_scale": 1, "block_shape": (5, 64, 64)}, "block_shape"),
        ({"dtype": "uint8", "anisotropic": "yes"}, "anisotropic"),
        ({"dtype": "uint16", "codec": {"name": "jpeg"}}, "jpeg"),
        ({"dtype": "uint8", "codec": {"name": "nope"}}, "nope"),
        ({"dtype": "uint8", "background": 256}, "background"),
        ({"dtype": "uint8", "colour": 1}, "colour"),
    ],
)
def test_config_validation_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest, match=field):
        ImageConfig.create(**kwargs)


def test_anisotropic_pyramid_allows_odd_z_blocks() -> None:
    config = ImageConfig.create(
        dtype="uint8", block_shape=(5, 64, 64), max_scale=2, anisotropic=True
    )
    assert config.downsample_factor == (1, 2, 2)


def test_typenames() -> None:
    assert [typename_for(d) for d in ("uint8", "uint16", "uint32", "uint64", "float32")] == [
        "uint8blk",
        "uint16blk",
        "uint32blk",
        "uint64blk",
        "float32blk",
    ]
    with pytest.raises(InvalidRequest, match="int16"):
        typename_for("int16")


def test_parsed_configs_are_kept_per_text_and_errors_never_are() -> None:
    from voxhub.cache_stats import snapshot

    data = ImageConfig.create(dtype="uint16", block_shape=(8, 16, 32), max_scale=1).to_json()
    first = ImageConfig.from_json(data)
    hits = snapshot()["image_config"][0]
    again = ImageConfig.from_json(dict(data))
    assert again is first
    assert snapshot()["image_config"][0] == hits + 1
    other = ImageConfig.from_json({**data, "max_scale": 2})
    assert other.max_scale == 2
    assert first.max_scale == 1
    for _ in range(2):  # a bad config is refused each time, not remembered
        with pytest.raises(InvalidRequest, match="max_scale"):
            ImageConfig.from_json({**data, "max_scale": -1})
