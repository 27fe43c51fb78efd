"""Point lookups in stored cseg blocks equal the fully decoded block, for any labels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs.cseg import CsegCodec
from voxhub.codecs.cseg_points import cseg_points
from voxhub.errors import CodecError

SHAPE = (16, 16, 24)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.integers(1, 600),
    seed=st.integers(0, 2**32 - 1),
    big=st.booleans(),
)
def test_points_equal_the_decoded_block(labels: int, seed: int, big: bool) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, labels, SHAPE).astype(np.uint64)
    if big:  # ids above 2**32 use both table words
        ids = ids * np.uint64(2**40 + 7)
    points = rng.integers(0, SHAPE, (200, 3))
    value = CsegCodec().encode(ids)
    assert np.array_equal(cseg_points(value, SHAPE, points), ids[tuple(points.T)])


def test_a_corrupt_stream_is_a_codec_error() -> None:
    value = CsegCodec().encode(np.ones(SHAPE, np.uint64))
    with pytest.raises(CodecError):
        cseg_points(value[:-3], SHAPE, np.zeros((1, 3), np.int64))
