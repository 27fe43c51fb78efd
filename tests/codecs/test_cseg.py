"""The ``cseg`` codec (compressed_segmentation + zstd) and the bare google-format helpers."""

from __future__ import annotations

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs import BlockCodec, CsegCodec, ZstdCodec, codec_from_json, known_codecs
from voxhub.codecs.cseg import decode_google, encode_google
from voxhub.errors import CodecError, InvalidRequest

TOP = 2**64 - 1
sides = st.sampled_from([8, 16, 24, 32, 40, 48, 56, 64])
block_shapes = st.tuples(sides, sides, sides).filter(lambda s: s[0] * s[1] * s[2] <= 64**3 // 2)
any_sides = st.integers(1, 40)


@st.composite
def label_blocks(
    draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, int, int]] = block_shapes
) -> np.ndarray:
    """Label blocks of the kinds segmentations contain: few ids, many ids, solid, empty."""
    dtype = np.dtype(draw(st.sampled_from(["uint64", "uint32"])))
    top = TOP if dtype == np.uint64 else 2**32 - 1
    shape = draw(shapes)
    kind = draw(st.sampled_from(["few", "many", "solid", "zero", "huge"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "zero":
        return np.zeros(shape, dtype)
    if kind == "solid":
        return np.full(shape, draw(st.integers(0, top)), dtype)
    if kind == "many":
        return rng.integers(0, top, shape, dtype=dtype, endpoint=True)
    ids = draw(st.lists(st.integers(0, top), min_size=1, max_size=12))
    if kind == "huge":
        ids += [top, top - 1, 2**63, 2**63 - 1] if dtype == np.uint64 else [top, top - 1]
    palette = np.array(ids, dtype)
    # Runs along x mimic segmentations (and exercise multi-label 8³ sub-blocks).
    runs = rng.integers(0, palette.size, (*shape[:2], shape[2] // 4 + 1))
    result: np.ndarray = palette[np.repeat(runs, 4, axis=2)[..., : shape[2]]]
    return result


CODECS = [CsegCodec(), CsegCodec(level=7)]


@pytest.mark.parametrize("codec", CODECS, ids=repr)
@settings(max_examples=40, deadline=None)
@given(block=label_blocks())
def test_round_trips_label_blocks(codec: CsegCodec, block: np.ndarray) -> None:
    data = codec.encode(block)
    assert isinstance(data, bytes)
    assert data
    out = codec.decode(data, block.shape, block.dtype)
    assert out.dtype == block.dtype
    assert out.shape == block.shape
    np.testing.assert_array_equal(out, block)


@settings(max_examples=40, deadline=None)
@given(block=label_blocks(st.tuples(any_sides, any_sides, any_sides)))
def test_google_format_round_trips_any_shape_including_partial_blocks(block: np.ndarray) -> None:
    out = decode_google(encode_google(block), block.shape, block.dtype)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, block)


def test_axis_order_is_x_fastest_in_the_encoded_header() -> None:
    # (z, y, x) = (16, 32, 64): encoding blocks are numbered x fastest, then y, then z.
    block = np.zeros((16, 32, 64), np.uint64)
    block[0:8, 0:8, 8:16] = 7  # block (bx, by, bz) = (1, 0, 0) -> number 1
    block[0:8, 8:16, 0:8] = 9  # (0, 1, 0) -> number 8
    block[8:16, 0:8, 0:8] = TOP  # (0, 0, 1) -> number 8 * 4 = 32
    data = encode_google(block)
    words = np.frombuffer(data, "<u4")
    assert words[0] == 1  # one channel, starting right after its offset word
    headers = words[1 : 1 + 2 * 64].reshape(64, 2)

    def solid_value(number: int) -> int:
        table, bits = int(headers[number, 0]) & 0xFFFFFF, int(headers[number, 0]) >> 24
        assert bits == 0
        return int(np.frombuffer(data, "<u8", 1, 4 * (1 + table))[0])

    assert solid_value(1) == 7
    assert solid_value(8) == 9
    assert solid_value(32) == TOP
    assert solid_value(0) == solid_value(2) == 0
    out = CsegCodec().decode(CsegCodec().encode(block), block.shape, np.uint64)
    np.testing.assert_array_equal(out, block)


def test_encode_accepts_non_contiguous_views() -> None:
    big = np.arange(32 * 32 * 32, dtype=np.uint64).reshape(32, 32, 32) * np.uint64(2**40)
    view = big[::2, 8:24, ::-2]
    codec = CsegCodec()
    np.testing.assert_array_equal(codec.decode(codec.encode(view), view.shape, "uint64"), view)


def test_label_blocks_compress_far_better_than_plain_zstd() -> None:
    rng = np.random.default_rng(1)
    palette = np.array([0, 12345678901, 2**63 + 5, TOP], np.uint64)
    coarse = palette[rng.integers(0, 4, (8, 8, 8))]
    block = np.repeat(np.repeat(np.repeat(coarse, 8, 0), 8, 1), 8, 2)  # 64³, 8³ regions
    block[::3, ::5, ::7] = 99  # plus scattered noise so sub-blocks need index bits
    assert len(CsegCodec().encode(block)) < len(ZstdCodec().encode(block)) / 2
    assert len(CsegCodec().encode(np.full((64, 64, 64), TOP, np.uint64))) < 200


# -- refusals ----------------------------------------------------------------------------------
def test_wrong_size_and_corrupt_data_raise_codec_error_naming_the_codec() -> None:
    codec = CsegCodec()
    block = np.full((16, 16, 16), 7, dtype=np.uint64)
    data = codec.encode(block)
    for shape in [(16, 16, 24), (8, 16, 16), (16, 16, 8)]:
        with pytest.raises(CodecError, match="cseg"):
            codec.decode(data, shape, np.uint64)
    with pytest.raises(CodecError, match="cseg"):
        codec.decode(b"\x01\x02garbage" * 3, (16, 16, 16), np.uint64)
    with pytest.raises(CodecError, match="cseg"):
        codec.decode(b"", (16, 16, 16), np.uint64)
    with pytest.raises(CodecError, match="cseg"):
        codec.decode(data, (16, 16, 16), np.uint8)


@settings(max_examples=30, deadline=None)
@given(block=label_blocks(), cut=st.floats(0, 1, exclude_max=True))
def test_truncated_frames_are_refused(block: np.ndarray, cut: float) -> None:
    data = CsegCodec().encode(block)
    with pytest.raises(CodecError, match="cseg"):
        CsegCodec().decode(data[: int(len(data) * cut)], block.shape, block.dtype)


@settings(max_examples=200, deadline=None)
@given(
    block=label_blocks(st.sampled_from([(8, 16, 24), (16, 16, 16)])),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1),
)
def test_corrupted_inner_streams_raise_or_decode_to_the_right_size(
    block: np.ndarray, edits: list[tuple[float, int]]
) -> None:
    # Re-wrapping the damaged stream in a valid zstd frame gets past zstd's own checks,
    # so this exercises the compressed_segmentation validation (whose absence segfaults).
    bare = bytearray(encode_google(block))
    for where, value in edits:
        bare[int(where * len(bare))] = value
    frame = zstandard.ZstdCompressor().compress(bytes(bare))
    try:
        out = CsegCodec().decode(frame, block.shape, block.dtype)
    except CodecError as e:
        message = str(e)
    else:
        assert out.shape == block.shape
        assert out.dtype == block.dtype
        return
    assert "cseg" in message


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=3000))
def test_garbage_bare_streams_are_refused_or_sized(garbage: bytes) -> None:
    try:
        out = decode_google(garbage, (8, 16, 24), np.uint64)
    except CodecError as e:
        message = str(e)
    else:
        assert out.shape == (8, 16, 24)
        return
    assert "cseg" in message


def test_oversized_frames_are_refused_before_decompressing() -> None:
    frame = zstandard.ZstdCompressor().compress(bytes(10_000_000))
    with pytest.raises(CodecError, match=r"cseg.*more than"):
        CsegCodec().decode(frame, (8, 8, 8), np.uint64)


def test_encode_refuses_other_dtypes_and_dimensions() -> None:
    with pytest.raises(CodecError, match="uint32 and uint64"):
        CsegCodec().encode(np.zeros((8, 8, 8), np.uint16))
    with pytest.raises(CodecError, match="3-D"):
        encode_google(np.zeros((8, 8), np.uint64))


# -- configuration ------------------------------------------------------------------------------
def test_validate_refuses_other_dtypes_and_sides_not_multiples_of_8() -> None:
    codec = CsegCodec()
    for dtype in ["uint8", "uint16", "float32"]:
        with pytest.raises(InvalidRequest, match=dtype):
            codec.validate(dtype, (64, 64, 64))
    for shape in [(64, 64, 60), (4, 8, 8), (0, 8, 8)]:
        with pytest.raises(InvalidRequest, match="multiples of 8"):
            codec.validate("uint64", shape)
    codec.validate("uint64", (64, 64, 64))
    codec.validate("uint32", (16, 32, 64))


def test_registry_and_json() -> None:
    assert "cseg" in known_codecs()
    assert codec_from_json({"name": "cseg"}) == CsegCodec(1)
    assert codec_from_json("cseg") == CsegCodec()
    spec = {"name": "cseg", "configuration": {"level": 9}}
    codec: BlockCodec = codec_from_json(spec)
    assert isinstance(codec, CsegCodec)
    assert codec.level == 9
    assert codec.to_json() == spec
    assert codec_from_json(codec.to_json()) == codec
    with pytest.raises(InvalidRequest, match="level"):
        codec_from_json({"name": "cseg", "configuration": {"level": 99}})
    with pytest.raises(InvalidRequest, match="levle"):
        codec_from_json({"name": "cseg", "configuration": {"levle": 3}})
