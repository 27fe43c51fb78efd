"""``BlockLayout.is_background``: true exactly when every voxel is the background (bit for
bit for floats), wherever the one differing voxel lies (its first-row shortcut included)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.blocks import BlockLayout
from voxhub.codecs import ZstdCodec
from voxhub.geometry import BlockGrid


@settings(deadline=None, max_examples=80)
@given(
    dtype=st.sampled_from(["uint8", "uint16", "uint64", "float32"]),
    background=st.sampled_from([0, 7]),
    odd=st.none() | st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 5)),
    other=st.sampled_from([1, 255, -0.0]),
)
def test_background_means_every_voxel_is_background(
    dtype: str, background: int, odd: tuple[int, int, int] | None, other: float
) -> None:
    shape = (4, 5, 6)
    layout = BlockLayout(BlockGrid(shape), np.dtype(dtype), ZstdCodec(), lambda c: b"", background)
    block = np.full(shape, background, dtype=dtype)
    if odd is not None:
        if dtype != "float32" and other < 0:
            other = background + 1
        if other == background:
            other = background + 1
        block[odd] = other  # -0.0 differs from 0.0 in its bits: data, not background
    assert layout.is_background(block) is (odd is None)
    big = np.full((4, 10, 12), background, dtype=dtype)
    big[:, 5:, 6:] = block  # a strided view, as a write hands its blocks over
    assert layout.is_background(big[:, 5:, 6:]) is (odd is None)
