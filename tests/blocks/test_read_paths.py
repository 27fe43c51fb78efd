"""The read fast paths: head-only zstd decodes, the shared work queue, per-block filling."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from voxhub.blocks import BlockLayout, fill_block, read_box, write_box
from voxhub.blocks.output import LARGE_OUTPUT
from voxhub.blocks.read import share_work
from voxhub.codecs import ZstdCodec
from voxhub.errors import CodecError
from voxhub.geometry import BlockGrid, Box

BIG = (64, 64, 64)  # a uint8 frame of two zstd blocks: the head decode can stop early


def _volume(shape: tuple[int, int, int], seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(rng.integers(0, 3, shape), axis=2) % 251
    return (smooth + rng.integers(0, 4, shape)).astype(np.uint8)


@settings(max_examples=30, deadline=None)
@given(planes=st.integers(0, 64), dtype=st.sampled_from(["uint8", "uint16", "float32"]))
def test_head_decode_gives_exactly_the_leading_planes(planes: int, dtype: str) -> None:
    block = _volume(BIG).astype(dtype)
    codec = ZstdCodec()
    out = np.full(BIG, 7, dtype)
    plane = BIG[1] * BIG[2] * block.itemsize
    codec.decode_head_into(codec.encode(block), out, planes * plane)
    np.testing.assert_array_equal(out[:planes], block[:planes])


def test_head_decode_refuses_frames_of_another_size_and_corrupt_data() -> None:
    codec = ZstdCodec()
    data = codec.encode(_volume(BIG))
    with pytest.raises(CodecError, match="zstd"):
        codec.decode_head_into(data, np.empty((32, 64, 64), np.uint8), 4096)
    with pytest.raises(CodecError, match="zstd"):
        codec.decode_head_into(data[:-5000], np.empty(BIG, np.uint8), BIG[0] * 4096)
    with pytest.raises(CodecError, match="zstd"):
        codec.decode_head_into(b"\x00" * 40, np.empty(BIG, np.uint8), 4096)


@settings(max_examples=25, deadline=None)
@given(
    start=st.tuples(st.integers(-10, 150), st.integers(-10, 150), st.integers(-10, 150)),
    shape=st.tuples(st.integers(1, 140), st.integers(1, 70), st.integers(1, 70)),
)
def test_reads_of_64_blocks_at_any_alignment_match_numpy(
    start: tuple[int, int, int], shape: tuple[int, int, int]
) -> None:
    ref = _VOLUME[1]
    box = Box.from_shape(shape, start)
    got = read_box(_VOLUME[0], _VOLUME[2], box)
    expected = np.zeros(shape, np.uint8)
    inside = box.intersect(Box((0, 0, 0), ref.shape))  # type: ignore[arg-type]
    if not inside.empty:
        expected[inside.translate(tuple(-s for s in start)).relative_to((0, 0, 0))] = ref[
            inside.relative_to((0, 0, 0))
        ]
    np.testing.assert_array_equal(got, expected)


def _make_volume() -> tuple[FakeView, np.ndarray, BlockLayout]:
    lay = BlockLayout(BlockGrid(BIG), np.dtype("uint8"), ZstdCodec(), lambda c: repr(c).encode())
    view, ref = FakeView(), _volume((192, 128, 128))
    ref[:64, :64, 64:] = 0  # one absent block
    write_box(view, lay, (0, 0, 0), ref)
    return view, ref, lay


_VOLUME = _make_volume()


def test_fill_block_one_block_at_a_time_equals_read_box() -> None:
    view, ref, lay = _VOLUME
    box = Box((5, 60, 3), (150, 100, 128))
    out = np.empty(box.shape, np.uint8)
    for coord in lay.grid.blocks_in(box):
        fill_block(lay, box, out, coord, view.get(lay.tkey(coord)))
    np.testing.assert_array_equal(out, read_box(view, lay, box))
    np.testing.assert_array_equal(out, ref[5:150, 60:100, 3:128])


def test_a_corrupt_block_fails_the_read_with_a_codec_error() -> None:
    view, _, lay = _VOLUME
    bad = FakeView()
    for key in view.stored_keys():
        value = view.get(key)
        assert value is not None
        bad.put_many([(key, value[: len(value) // 2] if key == lay.tkey((1, 1, 1)) else value)])
    with pytest.raises(CodecError):
        read_box(bad, lay, Box((0, 0, 0), (192, 128, 128)))


def test_share_work_runs_every_item_once_and_reraises_after_all_threads_stop() -> None:
    seen: list[int] = []
    share_work(seen.append, 500)
    assert sorted(seen) == list(range(500))
    active, lock = [0], threading.Lock()

    def flaky(i: int) -> None:
        with lock:
            active[0] += 1
        try:
            if i == 40:
                raise RuntimeError("item 40")
            np.sort(np.random.default_rng(i).random(20_000))  # releases the GIL
        finally:
            with lock:
                active[0] -= 1

    with pytest.raises(RuntimeError, match="item 40"):
        share_work(flaky, 200)
    assert active[0] == 0


def test_a_large_read_returns_a_writable_array_that_outlives_everything_else() -> None:
    lay = BlockLayout(
        BlockGrid((16, 64, 64)), np.dtype("uint16"), ZstdCodec(), lambda c: repr(c).encode()
    )
    view = FakeView()
    write_box(view, lay, (1, 5, 7), np.full((4, 4, 4), 9, np.uint16))
    box = Box((0, 0, 0), (2, 1024, 1100))  # 4.5 MB: the mapped-output path
    assert box.size * 2 >= LARGE_OUTPUT
    out = read_box(view, lay, box)
    del view
    gc.collect()
    assert out.flags.writeable
    assert out.flags.c_contiguous
    assert out.shape == box.shape
    assert int(out.sum()) == 9 * 4 * 4  # the one plane z=1 of the 4³ cube inside the box
    assert (out[1, 5:9, 7:11] == 9).all()
    out[0, 0, 0] = 5
    assert out[0, 0, 0] == 5
    part = out[1:, 10:20]
    del out
    gc.collect()
    assert part.shape == (1, 10, 1100)
    assert int(part.sum()) == 0


def _layout_of(dtype: str, background: float) -> BlockLayout:
    return BlockLayout(
        BlockGrid((8, 16, 16)),
        np.dtype(dtype),
        ZstdCodec(),
        lambda c: repr(c).encode(),
        background=background,
    )


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from(["uint8", "uint16", "uint64", "float32"]),
    background=st.sampled_from([0, 7, -0.0]),
    start=st.tuples(st.integers(-9, 30), st.integers(-17, 40), st.integers(-17, 40)),
    shape=st.tuples(st.integers(1, 30), st.integers(1, 50), st.integers(1, 50)),
)
def test_rows_are_copied_and_cleared_exactly_for_any_dtype_and_background(
    dtype: str, background: float, start: tuple[int, int, int], shape: tuple[int, int, int]
) -> None:
    """Blocks are copied and absent ones filled as whole rows (void views): every voxel,
    bit for bit, including a background of -0.0, which is not all-zero bits."""
    if background == 0 and np.signbit(background) and dtype != "float32":
        background = 0
    lay = _layout_of(dtype, background)
    extent = Box((0, 0, 0), (24, 40, 40))
    ref = np.full(extent.shape, background, dtype)
    ref[2:20, 5:38, 3:33] = np.arange(18 * 33 * 30).reshape(18, 33, 30) % 200 + 1
    ref[8:16, 16:32, 16:32] = background  # a whole block of background: stored as absent
    view = FakeView()
    write_box(view, lay, (0, 0, 0), ref)
    box = Box.from_shape(shape, start)
    want = np.full(shape, background, dtype)
    inside = box.intersect(extent)
    if not inside.empty:
        want[inside.relative_to(box.start)] = ref[inside.relative_to((0, 0, 0))]
    got = read_box(view, lay, box)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))
