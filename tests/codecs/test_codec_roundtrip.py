"""Round trips and error handling of every registered block codec."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from voxhub.codecs import (
    BlockCodec,
    GzipCodec,
    JpegCodec,
    Lz4Codec,
    RawCodec,
    ZstdCodec,
    codec_from_json,
    known_codecs,
)
from voxhub.errors import CodecError, InvalidRequest

LOSSLESS: list[BlockCodec] = [RawCodec(), ZstdCodec(), ZstdCodec(level=5), Lz4Codec(), GzipCodec(1)]
DTYPES = ["uint8", "uint16", "uint32", "uint64", "float32"]
shapes = st.tuples(*[st.integers(1, 9)] * 3)


@st.composite
def blocks(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(shapes)
    elements = st.floats(width=32, allow_nan=False) if dtype == "float32" else None
    result: np.ndarray = draw(arrays(np.dtype(dtype), shape, elements=elements))
    return result


@pytest.mark.parametrize("codec", LOSSLESS, ids=repr)
@settings(max_examples=60, deadline=None)
@given(block=blocks())
def test_lossless_codecs_round_trip_every_dtype_and_shape(
    codec: BlockCodec, block: np.ndarray
) -> None:
    data = codec.encode(block)
    assert isinstance(data, bytes)
    assert data
    out = codec.decode(data, block.shape, block.dtype)
    assert out.dtype == block.dtype
    np.testing.assert_array_equal(out, block)


@pytest.mark.parametrize("codec", LOSSLESS, ids=repr)
def test_encode_accepts_non_contiguous_views(codec: BlockCodec) -> None:
    big = np.arange(8 * 8 * 8, dtype=np.uint16).reshape(8, 8, 8)
    view = big[1:5, ::2, 3:7]
    np.testing.assert_array_equal(codec.decode(codec.encode(view), view.shape, "uint16"), view)


@pytest.mark.parametrize("codec", [*LOSSLESS, JpegCodec()], ids=repr)
def test_wrong_size_and_corrupt_data_raise_codec_error_naming_the_codec(
    codec: BlockCodec,
) -> None:
    block = np.full((4, 4, 4), 7, dtype=np.uint8)
    data = codec.encode(block)
    with pytest.raises(CodecError, match=codec.name):
        codec.decode(data, (4, 4, 5), np.uint8)
    with pytest.raises(CodecError, match=codec.name):
        codec.decode(b"\x01\x02garbage" * 3, (4, 4, 4), np.uint8)


def test_jpeg_round_trips_smooth_data_within_tolerance() -> None:
    z, y, x = np.mgrid[0:16, 0:32, 0:32]
    block = (100 + 40 * np.sin(x / 6.0) + 30 * np.cos(y / 9.0) + z).astype(np.uint8)
    codec = JpegCodec(quality=90)
    data = codec.encode(block)
    assert len(data) < block.nbytes
    out = codec.decode(data, block.shape, np.uint8)
    assert np.abs(out.astype(int) - block.astype(int)).max() <= 6


def test_jpeg_refuses_other_dtypes_and_oversized_images() -> None:
    with pytest.raises(InvalidRequest, match="uint16"):
        JpegCodec().validate("uint16", (64, 64, 64))
    with pytest.raises(InvalidRequest, match="65500"):
        JpegCodec().validate("uint8", (512, 512, 64))
    JpegCodec().validate("uint8", (64, 64, 64))


@pytest.mark.parametrize(
    "codec", [RawCodec(), ZstdCodec(3), Lz4Codec(), GzipCodec(9), JpegCodec(75)], ids=repr
)
def test_json_round_trip(codec: BlockCodec) -> None:
    spec = codec.to_json()
    assert set(spec) == {"name", "configuration"}
    assert codec_from_json(spec) == codec


def test_registry_knows_builtins_and_refuses_unknown_names_listing_known() -> None:
    assert {"raw", "zstd", "lz4", "gzip", "jpeg"} <= set(known_codecs())
    with pytest.raises(InvalidRequest, match=r"unknown codec 'snappy'.*zstd"):
        codec_from_json({"name": "snappy"})
    assert codec_from_json("zstd") == ZstdCodec(1)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "zstd", "configuration": {"level": 99}}, "level"),
        ({"name": "zstd", "configuration": {"levle": 3}}, "levle"),
        ({"name": "jpeg", "configuration": {"quality": "high"}}, "quality"),
        ({"name": "raw", "configuration": {"x": 1}}, "raw"),
        ({"nom": "zstd"}, "name"),
    ],
)
def test_bad_specs_raise_invalid_request_naming_the_field(
    spec: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidRequest, match=field):
        codec_from_json(spec)
