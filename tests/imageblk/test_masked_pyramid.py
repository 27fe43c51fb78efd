"""Masked and unmasked writes keep every pyramid level equal to the reference's, whether a
block is covered whole (reduced while it is encoded) or in part (reduced after its
read-modify-write), with blocks large enough that a write covers some whole."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.fakes import FakeView
from imageblk.reference import ReferenceVolume
from voxhub.datatypes.imageblk import ImageConfig, ImageInstance
from voxhub.geometry import Box

WORLD = Box((0, 0, 0), (16, 32, 32))


@settings(max_examples=20, deadline=None)
@given(
    anisotropic=st.booleans(),
    writes=st.lists(
        st.tuples(
            st.tuples(st.integers(0, 8), st.integers(0, 16), st.integers(0, 16)),
            st.tuples(st.integers(1, 8), st.integers(1, 16), st.integers(1, 16)),
            st.sampled_from(["all", "half", "none"]),
        ),
        min_size=1,
        max_size=4,
    ),
    seed=st.integers(0, 2**16),
)
def test_pyramid_follows_masked_and_whole_block_writes(
    anisotropic: bool,
    writes: list[tuple[tuple[int, int, int], tuple[int, int, int], str]],
    seed: int,
) -> None:
    config = ImageConfig.create(
        dtype="uint8", block_shape=(4, 8, 8), max_scale=2, anisotropic=anisotropic
    )
    inst = ImageInstance(FakeView(), config, "grayscale")
    ref = ReferenceVolume(WORLD, "uint8", config.downsample_factor)
    rng = np.random.default_rng(seed)
    for start, shape, masking in writes:
        data = rng.integers(1, 256, shape, dtype=np.uint8)
        if masking == "none":
            inst.write(start, data)
            ref.write(start, data)
            continue
        mask = rng.random(shape) < 0.5 if masking == "half" else np.ones(shape, bool)
        inst.write(start, data, mask=mask)
        box = Box.from_shape(shape, start)
        ref.write(start, np.where(mask, data, ref.voxels[box.relative_to(WORLD.start)]))
    for scale in range(3):
        box, expected = ref.level(scale)
        np.testing.assert_array_equal(inst.read(box, scale), expected, err_msg=f"scale {scale}")
