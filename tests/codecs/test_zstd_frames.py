"""zstd plane frames: a block stored as one frame per P planes after a skippable index."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from voxhub.blocks import BlockLayout, read_box, write_box
from voxhub.codecs import CsegCodec, ZstdCodec, codec_from_json, zstd_frames
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.errors import CodecError, InvalidRequest
from voxhub.geometry import BlockGrid, Box

DTYPES = ["uint8", "uint16", "float32", "uint64"]


@st.composite
def blocks(draw: st.DrawFn) -> np.ndarray:
    shape = (draw(st.integers(1, 24)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    dtype = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**16))
    values = np.random.default_rng(seed).integers(0, 40, shape)
    return np.cumsum(values, axis=0).astype(dtype)  # compressible, every plane distinct


@settings(max_examples=60, deadline=None)
@given(block=blocks(), planes=st.integers(0, 30), data=st.data())
def test_any_plane_range_decodes_exactly_those_planes(
    block: np.ndarray, planes: int, data: st.DataObject
) -> None:
    codec = ZstdCodec(frame_planes=planes)
    value = codec.encode(block)
    depth = block.shape[0]
    assert (zstd_frames.split(value) is not None) == (0 < planes < depth)
    z0 = data.draw(st.integers(0, depth), label="z0")
    z1 = data.draw(st.integers(z0, depth), label="z1")
    out = np.full_like(block, 3)
    codec.decode_planes_into(value, out, z0, z1)
    np.testing.assert_array_equal(out[z0:z1], block[z0:z1])
    whole = np.empty_like(block)
    ZstdCodec().decode_into(value, whole)  # any zstd codec reads either form
    np.testing.assert_array_equal(whole, block)


@settings(max_examples=20, deadline=None)
@given(block=blocks(), planes=st.integers(1, 8))
def test_a_framed_block_is_a_valid_zstd_stream_for_other_decoders(
    block: np.ndarray, planes: int
) -> None:
    value = ZstdCodec(frame_planes=planes).encode(block)
    reader = zstandard.ZstdDecompressor().stream_reader(value, read_across_frames=True)
    assert reader.read() == block.astype(block.dtype.newbyteorder("<")).tobytes()


def test_libzstd_decodes_a_framed_block_in_one_call() -> None:
    name = ctypes.util.find_library("zstd")
    if name is None:
        pytest.skip("no system libzstd")
    lib = ctypes.CDLL(name)
    lib.ZSTD_decompress.restype = ctypes.c_size_t
    lib.ZSTD_decompress.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    block = np.arange(64 * 16 * 16, dtype=np.uint16).reshape(64, 16, 16)
    value = ZstdCodec(frame_planes=16).encode(block)
    out = ctypes.create_string_buffer(block.nbytes)
    assert lib.ZSTD_decompress(out, block.nbytes, value, len(value)) == block.nbytes
    assert out.raw == block.tobytes()


def _broken() -> dict[str, bytes]:
    value = ZstdCodec(frame_planes=8).encode(FRAMED)
    head = bytearray(value)
    head[12:16] = (3).to_bytes(4, "little")  # three frames claimed, four sizes listed
    return {
        "cut short": value[:-3],
        "trailing bytes": value + b"\0",
        "index only": value[:20],
        "frame count": bytes(head),
        "planes": value[:8] + (5).to_bytes(4, "little") + value[12:],
    }


FRAMED = np.arange(32 * 8 * 8, dtype=np.uint8).reshape(32, 8, 8)


@pytest.mark.parametrize("what", sorted(_broken()))
def test_broken_frame_indexes_are_codec_errors(what: str) -> None:
    with pytest.raises(CodecError, match="zstd codec"):
        ZstdCodec(frame_planes=8).decode_into(_broken()[what], np.empty_like(FRAMED))


def test_configuration_round_trips_and_cseg_takes_no_frames() -> None:
    assert codec_from_json({"name": "zstd", "configuration": {"level": 3}}) == ZstdCodec(3, 0)
    framed = ZstdCodec(2, 16)
    assert codec_from_json(framed.to_json()) == framed
    assert framed.to_json()["configuration"] == {"level": 2, "frame_planes": 16}
    with pytest.raises(InvalidRequest, match="frame_planes"):
        codec_from_json({"name": "zstd", "configuration": {"frame_planes": -1}})
    with pytest.raises(InvalidRequest, match="frame_planes"):
        codec_from_json({"name": "cseg", "configuration": {"frame_planes": 4}})
    assert "frame_planes" not in CsegCodec().to_json()["configuration"]


@pytest.mark.parametrize(
    ("dtype", "block", "planes"),
    [("uint8", (64, 64, 64), 16), ("uint16", (64, 64, 64), 8), ("uint64", (64, 64, 64), 2),
     ("uint8", (8, 8, 8), 0), ("uint8", (32, 128, 128), 4)],
)  # fmt: skip
def test_image_instances_cut_zstd_blocks_into_64_kib_frames(
    dtype: str, block: tuple[int, int, int], planes: int
) -> None:
    config = ImageConfig.create(dtype=dtype, block_shape=block)
    assert config.codec["configuration"]["frame_planes"] == planes
    assert ImageConfig.from_json(config.to_json()) == config
    single = ImageConfig.create(
        dtype=dtype, block_shape=block, codec={"name": "zstd", "configuration": {"frame_planes": 0}}
    )
    assert ImageConfig.from_json(single.to_json()).codec["configuration"]["frame_planes"] == 0


@settings(max_examples=25, deadline=None)
@given(
    start=st.tuples(st.integers(0, 20), st.integers(0, 8), st.integers(0, 8)),
    size=st.tuples(st.integers(1, 30), st.integers(1, 12), st.integers(1, 12)),
)
def test_cutouts_over_framed_and_single_frame_blocks_equal_numpy(
    start: tuple[int, int, int], size: tuple[int, int, int]
) -> None:
    """Blocks written before and after an instance took plane frames read alike."""
    grid, dtype = BlockGrid((16, 8, 8)), np.dtype("uint16")
    volume = np.cumsum(np.random.default_rng(5).integers(0, 9, (48, 16, 16)), axis=0)
    volume = volume.astype(dtype)
    view = FakeView()
    old = BlockLayout(grid, dtype, ZstdCodec(), lambda c: repr(c).encode())
    new = BlockLayout(grid, dtype, ZstdCodec(frame_planes=4), lambda c: repr(c).encode())
    write_box(view, old, (0, 0, 0), volume)
    write_box(view, new, (16, 0, 0), volume[16:32])  # the middle layer
    box = Box(start, tuple(s + n for s, n in zip(start, size, strict=True)))
    expected = np.zeros(box.shape, dtype)
    inside = volume[
        box.start[0] : box.stop[0], box.start[1] : box.stop[1], box.start[2] : box.stop[2]
    ]
    expected[: inside.shape[0], : inside.shape[1], : inside.shape[2]] = inside
    np.testing.assert_array_equal(read_box(view, new, box), expected)
