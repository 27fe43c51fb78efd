"""Large read outputs: page mappings recycled once nothing can see them, never before."""

from __future__ import annotations

import gc

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from voxhub.blocks import BlockLayout, read_box, write_box
from voxhub.blocks.output import KEEP_BYTES, LARGE_OUTPUT, kept_bytes, new_output
from voxhub.codecs import ZstdCodec
from voxhub.geometry import BlockGrid, Box

LAYOUT = BlockLayout(
    BlockGrid((16, 64, 64)), np.dtype("uint8"), ZstdCodec(), lambda c: repr(c).encode()
)
SHAPE = (40, 256, 512)  # 5 MiB of uint8: a large output


def _address(a: np.ndarray) -> int:
    address: int = a.__array_interface__["data"][0]
    return address


def _views() -> tuple[tuple[FakeView, np.ndarray], tuple[FakeView, np.ndarray]]:
    rng = np.random.default_rng(5)
    made = []
    for fill in (200, None):
        ref = np.full(SHAPE, fill, np.uint8) if fill else rng.integers(1, 255, SHAPE, np.uint8)
        ref[16:32, :64, 64:128] = 0  # an absent block: background over the old voxels
        view = FakeView()
        write_box(view, LAYOUT, (0, 0, 0), ref)
        made.append((view, ref))
    return made[0], made[1]


(OLD, OLD_REF), (NEW, NEW_REF) = _views()


def test_a_dropped_output_is_reused_and_every_voxel_is_written_again() -> None:
    box = Box((0, 0, 0), SHAPE)
    assert box.size >= LARGE_OUTPUT
    first = read_box(OLD, LAYOUT, box)
    np.testing.assert_array_equal(first, OLD_REF)
    address = _address(first)
    del first
    gc.collect()
    second = read_box(NEW, LAYOUT, box)
    assert _address(second) == address  # the same pages, still holding OLD's voxels
    np.testing.assert_array_equal(second, NEW_REF)
    assert second.flags.writeable
    assert second.flags.c_contiguous


@settings(max_examples=15, deadline=None)
@given(start=st.tuples(st.integers(-30, 30), st.integers(-70, 70), st.integers(-70, 70)))
def test_reads_into_recycled_memory_equal_numpy(start: tuple[int, int, int]) -> None:
    box = Box.from_shape(SHAPE, start)
    del_me = read_box(OLD, LAYOUT, box)  # fills the pages with the old volume, then frees them
    del del_me
    got = read_box(NEW, LAYOUT, box)
    want = np.zeros(SHAPE, np.uint8)
    inside = box.intersect(Box((0, 0, 0), SHAPE))
    want[inside.relative_to(box.start)] = NEW_REF[inside.relative_to((0, 0, 0))]
    np.testing.assert_array_equal(got, want)


def test_memory_seen_through_a_view_is_not_reused() -> None:
    out = new_output(SHAPE, np.dtype("uint8"))
    address = _address(out)
    view = out[3:5, 10:20]
    view[...] = 7
    del out
    gc.collect()
    fresh = new_output(SHAPE, np.dtype("uint8"))
    assert _address(fresh) != address
    fresh[...] = 0
    assert (view == 7).all()
    del view
    gc.collect()
    assert _address(new_output(SHAPE, np.dtype("uint8"))) == address  # back once unseen


def test_kept_memory_is_bounded() -> None:
    outputs = [
        new_output((64 << 20,), np.dtype("uint8")) for _ in range(KEEP_BYTES // (64 << 20) + 2)
    ]
    del outputs  # untouched mappings: no memory is used
    gc.collect()
    assert 0 < kept_bytes() <= KEEP_BYTES
    before = kept_bytes()
    huge = new_output((KEEP_BYTES + (1 << 20),), np.dtype("uint8"))
    del huge
    gc.collect()
    assert kept_bytes() == before
