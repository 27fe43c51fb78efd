"""The mean downsampling of image pyramids equals the exact reference (rounded half up)
for every image dtype, at the values where a narrow sum would overflow, on the strided
block views writes hand it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imageblk.reference import reference_downsample
from voxhub.datatypes.imageblk.pyramid import downsample
from voxhub.geometry import Vec3

INTEGERS = ("uint8", "uint16", "uint32", "uint64")


@settings(deadline=None, max_examples=60)
@given(
    dtype=st.sampled_from(INTEGERS),
    factor=st.sampled_from([(2, 2, 2), (1, 2, 2)]),
    seed=st.integers(0, 2**32 - 1),
    extreme=st.booleans(),
    strided=st.booleans(),
)
def test_integer_means_are_exact(
    dtype: str, factor: Vec3, seed: int, extreme: bool, strided: bool
) -> None:
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    shape = (4, 6, 8)
    if extreme:  # mostly the largest values: the sums need the full widened range
        values = rng.choice(np.array([info.max, info.max - 1, 0, 1], dtype=dtype), shape)
    else:
        values = rng.integers(0, info.max, shape, dtype=dtype, endpoint=True)
    block = values
    if strided:  # a block of a larger write is a view with the write's strides
        big = np.zeros((4, 12, 24), dtype=dtype)
        big[:, 6:12, 8:16] = values
        block = big[:, 6:12, 8:16]
    out = downsample(block, factor)
    assert out.dtype == np.dtype(dtype)
    assert np.array_equal(out, reference_downsample(values, factor))


def test_float_means_match_the_reference() -> None:
    values = np.random.default_rng(0).random((4, 4, 4), dtype=np.float32) * 1e30
    assert np.allclose(downsample(values, (2, 2, 2)), reference_downsample(values, (2, 2, 2)))
