"""ImageInstance against a numpy reference: unaligned writes, pyramids, limits, locking."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from imageblk.reference import ReferenceVolume
from voxhub.datatypes.imageblk import ImageConfig, ImageInstance
from voxhub.datatypes.imageblk.keys import KEY_BLOCK, decode_block_key
from voxhub.errors import InvalidRequest, TooLarge, VersionLocked
from voxhub.geometry import Box

WORLD = Box((-16, -16, -16), (16, 16, 16))  # aligned to 2**2, so scales 1 and 2 are exact


def make(
    dtype: str = "uint8", *, anisotropic: bool = False, max_scale: int = 2, **kw: object
) -> tuple[FakeView, ImageInstance]:
    config = ImageConfig.create(
        dtype=dtype, block_shape=(4, 4, 4), max_scale=max_scale, anisotropic=anisotropic, **kw
    )
    view = FakeView()
    return view, ImageInstance(view, config, "grayscale")


coord = st.integers(WORLD.start[0], WORLD.stop[0] - 1)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    start = (draw(coord), draw(coord), draw(coord))
    shape = [draw(st.integers(1, min(12, WORLD.stop[0] - s))) for s in start]
    return Box.from_shape((shape[0], shape[1], shape[2]), start)


def check_all_levels(inst: ImageInstance, ref: ReferenceVolume) -> None:
    for scale in range(inst.config.max_scale + 1):
        box, expected = ref.level(scale)
        np.testing.assert_array_equal(inst.read(box, scale), expected, err_msg=f"scale {scale}")


@pytest.mark.parametrize("anisotropic", [False, True])
@settings(max_examples=25, deadline=None)
@given(
    writes=st.lists(st.tuples(boxes(), st.booleans()), min_size=1, max_size=5),
    seed=st.integers(0, 9),
)
def test_random_writes_keep_every_pyramid_level_equal_to_a_numpy_reference(
    anisotropic: bool, writes: list[tuple[Box, bool]], seed: int
) -> None:
    view, inst = make(anisotropic=anisotropic)
    ref = ReferenceVolume(WORLD, "uint8", inst.config.downsample_factor)
    rng = np.random.default_rng(seed)
    extents: Box | None = None
    for box, zeros in writes:
        data = np.zeros(box.shape, np.uint8) if zeros else rng.integers(0, 256, box.shape, np.uint8)
        inst.write(box.start, data)
        ref.write(box.start, data)
        extents = box if extents is None else extents.union(box)
    check_all_levels(inst, ref)
    assert inst.extents(0) == extents
    assert extents is not None
    assert inst.extents(2) == extents.downsample(inst.config.scale_factor(2))
    # nothing all-background is stored, at any scale
    codec = inst.config.make_codec()
    for key in view.stored_keys():
        if key[0] == KEY_BLOCK:
            value = view.get(key)
            assert value is not None
            assert codec.decode(value, (4, 4, 4), np.uint8).any(), decode_block_key(key)


@pytest.mark.parametrize(
    ("dtype", "high"), [("uint16", 2**16), ("uint32", 2**32), ("uint64", 2**64), ("float32", None)]
)
def test_pyramid_of_every_dtype_matches_reference_without_overflow(
    dtype: str, high: int | None
) -> None:
    _view, inst = make(dtype)
    ref = ReferenceVolume(WORLD, dtype, (2, 2, 2))
    rng = np.random.default_rng(3)
    shape = (13, 17, 11)
    if high is None:
        data = rng.random(shape, dtype=np.float32) * 1000
    else:
        data = rng.integers(high - 10, high, shape, dtype=np.dtype(dtype), endpoint=False)
    inst.write((-7, -9, -3), data)
    ref.write((-7, -9, -3), data)
    check_all_levels(inst, ref)


def test_build_pyramid_recomputes_deleted_levels() -> None:
    view, inst = make("uint16", anisotropic=True)
    ref = ReferenceVolume(WORLD, "uint16", (1, 2, 2))
    data = np.random.default_rng(5).integers(0, 5000, (20, 30, 25), dtype=np.uint16)
    inst.write((-10, -15, -12), data)
    ref.write((-10, -15, -12), data)
    pyramid_keys = [k for k in view.stored_keys() if k[0] == KEY_BLOCK and k[1] > 0]
    assert pyramid_keys
    view.delete_many(pyramid_keys)
    assert not inst.read(ref.level(1)[0], 1).any()
    inst.build_pyramid()
    check_all_levels(inst, ref)


def test_unwritten_volume_reads_background_and_has_no_extents() -> None:
    _, inst = make("uint8", background=3)
    out = inst.read(Box((-100, 5, 7), (-90, 9, 20)), 1)
    assert out.shape == (10, 4, 13)
    assert (out == 3).all()
    assert inst.extents() is None


def test_limits_scale_and_bounds_are_checked_before_allocating() -> None:
    view, inst = make()
    with pytest.raises(TooLarge, match=str(2**31)):
        inst.read(Box((0, 0, 0), (2**14, 2**14, 2**14)))
    small = ImageInstance(view, inst.config, "g", max_request_voxels=1000)
    with pytest.raises(TooLarge, match="1000"):
        small.write((0, 0, 0), np.zeros((10, 10, 11), np.uint8))
    with pytest.raises(InvalidRequest, match="scale 3"):
        inst.read(Box((0, 0, 0), (1, 1, 1)), 3)
    with pytest.raises(InvalidRequest, match="scale -1"):
        inst.extents(-1)
    with pytest.raises(InvalidRequest, match="int32"):
        inst.write((2**31 - 1, 0, 0), np.zeros((2, 1, 1), np.uint8))
    assert view.stored_keys() == []


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (np.full((2, 2, 2), 300, np.int64), "range"),
        (np.full((2, 2, 2), 1.5), "float64"),
        (np.zeros((2, 2), np.uint8), "3-D"),
        (np.zeros((2, 2, 2), np.int8) - 1, "range"),
    ],
)
def test_bad_writes_change_nothing(data: np.ndarray, match: str) -> None:
    view, inst = make()
    inst.write((0, 0, 0), np.ones((3, 3, 3), np.uint8))
    before = {k: view.get(k) for k in view.stored_keys()}
    transactions = view.transactions
    with pytest.raises(InvalidRequest, match=match):
        inst.write((1, 1, 1), data)
    assert {k: view.get(k) for k in view.stored_keys()} == before
    assert view.transactions == transactions


def test_lossless_casts_are_accepted() -> None:
    _, inst = make("uint16")
    inst.write((0, 0, 0), [[[1, 2, 65535]]])  # python ints
    inst.write((1, 0, 0), np.full((1, 1, 3), 200, np.uint8))
    np.testing.assert_array_equal(
        inst.read(Box((0, 0, 0), (2, 1, 3))), [[[1, 2, 65535]], [[200] * 3]]
    )
    _, floats = make("float32")
    floats.write((0, 0, 0), np.array([[[0.5, 1e6]]], dtype=np.float64))
    with pytest.raises(InvalidRequest, match="without loss"):
        floats.write((0, 0, 0), np.array([[[0.1]]], dtype=np.float64))


def test_locked_view_refuses_writes_and_nothing_changes() -> None:
    view, inst = make()
    inst.write((0, 0, 0), np.ones((5, 5, 5), np.uint8))
    before = {k: view.get(k) for k in view.stored_keys()}
    view.locked = True
    with pytest.raises(VersionLocked):
        inst.write((0, 0, 0), np.full((5, 5, 5), 9, np.uint8))
    with pytest.raises(VersionLocked):
        inst.build_pyramid()
    assert {k: view.get(k) for k in view.stored_keys()} == before
    assert inst.read(Box((0, 0, 0), (1, 1, 1)))[0, 0, 0] == 1


def test_threads_writing_disjoint_voxels_of_the_same_blocks_keep_scale_0_and_1_right() -> None:
    _view, inst = make("uint16", max_scale=1)
    n_threads, shape = 4, (8, 8, 16)
    barrier = threading.Barrier(n_threads)

    def writer(t: int) -> None:
        barrier.wait()
        for x in range(t, shape[2], n_threads):
            inst.write((0, 0, x), np.full((shape[0], shape[1], 1), 10 * x + 1, np.uint16))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    ref = ReferenceVolume(Box.from_shape(shape), "uint16", (2, 2, 2))
    ref.write(
        (0, 0, 0), np.broadcast_to(10 * np.arange(shape[2], dtype=np.uint16) + 1, shape).copy()
    )
    check_all_levels(inst, ref)
