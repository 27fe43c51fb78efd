"""Block I/O against a numpy reference volume: unaligned reads/writes, background, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from voxhub.blocks import BlockLayout, read_box, write_box
from voxhub.codecs import RawCodec, ZstdCodec
from voxhub.errors import InvalidRequest, VersionLocked
from voxhub.geometry import BlockGrid, Box, Vec3

ORIGIN = (-12, -12, -12)  # the reference volume's [0,0,0] in voxel coordinates
EXTENT = 24


def layout(dtype: str = "uint16", block: Vec3 = (4, 5, 6), background: int = 0) -> BlockLayout:
    return BlockLayout(
        BlockGrid(block),
        np.dtype(dtype),
        ZstdCodec(),
        lambda c: b"B" + b"".join((v + 2**31).to_bytes(4, "big") for v in c),
        background,
    )


coord = st.integers(ORIGIN[0], ORIGIN[0] + EXTENT - 1)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    start = (draw(coord), draw(coord), draw(coord))
    shape = tuple(draw(st.integers(1, ORIGIN[0] + EXTENT - s)) for s in start)
    return Box.from_shape((shape[0], shape[1], shape[2]), start)


def ref_slices(box: Box) -> tuple[slice, slice, slice]:
    return box.relative_to(ORIGIN)


@settings(max_examples=40, deadline=None)
@given(
    writes=st.lists(st.tuples(boxes(), st.integers(0, 3)), min_size=1, max_size=6),
    reads=st.lists(boxes(), min_size=1, max_size=3),
)
def test_random_unaligned_writes_match_numpy_reference(
    writes: list[tuple[Box, int]], reads: list[Box]
) -> None:
    view, lay = FakeView(), layout()
    ref = np.zeros((EXTENT,) * 3, dtype=np.uint16)
    rng = np.random.default_rng(0)
    for box, kind in writes:
        # kind 0 writes zeros (may delete blocks), the others random values
        data = rng.integers(0, 1000, box.shape).astype(np.uint16) * (kind > 0)
        write_box(view, lay, box.start, data)
        ref[ref_slices(box)] = data
    for box in [*reads, Box.from_shape((EXTENT,) * 3, ORIGIN)]:
        np.testing.assert_array_equal(read_box(view, lay, box), ref[ref_slices(box)])
    # all-background blocks are never stored
    stored = {k: view.get(k) for k in view.stored_keys()}
    for value in stored.values():
        assert value is not None
        assert ZstdCodec().decode(value, lay.block_shape, lay.dtype).any()


def test_unwritten_reads_background_and_nothing_is_stored_for_background() -> None:
    view, lay = FakeView(), layout("uint8", background=7)
    box = Box((-3, 2, 100), (9, 11, 113))
    assert (read_box(view, lay, box) == 7).all()
    write_box(view, lay, (0, 0, 0), np.full((8, 10, 12), 7, np.uint8))
    assert view.stored_keys() == []
    write_box(view, lay, (0, 0, 0), np.full((1, 1, 1), 9, np.uint8))
    assert len(view.stored_keys()) == 1
    out = read_box(view, lay, Box((0, 0, 0), (2, 2, 2)))
    assert out[0, 0, 0] == 9
    assert (out.reshape(-1)[1:] == 7).all()


def test_bad_writes_change_nothing() -> None:
    view, lay = FakeView(), layout()
    with pytest.raises(InvalidRequest, match="dtype"):
        write_box(view, lay, (0, 0, 0), np.ones((4, 4, 4), np.uint8))
    with pytest.raises(InvalidRequest, match="3-D"):
        write_box(view, lay, (0, 0, 0), np.ones((4, 4), np.uint16))
    assert view.stored_keys() == []
    assert view.transactions == 0


def test_locked_view_refuses_writes_before_any_work() -> None:
    view, lay = FakeView(), layout()
    write_box(view, lay, (0, 0, 0), np.ones((5, 5, 5), np.uint16))
    before = {k: view.get(k) for k in view.stored_keys()}
    view.locked = True
    with pytest.raises(VersionLocked):
        write_box(view, lay, (0, 0, 0), np.full((9, 9, 9), 3, np.uint16))
    assert {k: view.get(k) for k in view.stored_keys()} == before


def test_threads_writing_disjoint_voxels_of_the_same_blocks_lose_nothing() -> None:
    view, lay = FakeView(), layout("uint32", block=(8, 8, 8))
    n_threads, shape = 4, (16, 16, 16)
    barrier = threading.Barrier(n_threads)

    def writer(t: int) -> None:
        barrier.wait()
        # thread t owns every x with x % n_threads == t: voxels interleave within blocks
        for x in range(t, shape[2], n_threads):
            column = np.full((shape[0], shape[1], 1), 1000 + x, np.uint32)
            write_box(view, lay, (0, 0, x), column)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out = read_box(view, lay, Box.from_shape(shape))
    expected = np.broadcast_to(1000 + np.arange(shape[2], dtype=np.uint32), shape)
    np.testing.assert_array_equal(out, expected)


def test_large_read_decodes_straight_into_contiguous_slices_and_through_scratch() -> None:
    view, lay = (
        FakeView(),
        BlockLayout(
            BlockGrid((8, 16, 16)), np.dtype("float32"), RawCodec(), lambda c: repr(c).encode()
        ),
    )
    data = np.random.default_rng(1).random((32, 16, 48), dtype=np.float32)
    write_box(view, lay, (0, 0, 0), data)
    np.testing.assert_array_equal(read_box(view, lay, Box((0, 0, 0), (32, 16, 48))), data)
    np.testing.assert_array_equal(
        read_box(view, lay, Box((3, 1, 5), (30, 15, 40))), data[3:30, 1:15, 5:40]
    )
