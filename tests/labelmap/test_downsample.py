"""Label downsampling: the nonzero mode never invents ids and keeps lone corner labels."""

from __future__ import annotations

from collections import Counter
from itertools import product
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3

Block = npt.NDArray[Any]
TOP = 2**64 - 1
# Ids near the top of uint64 would be corrupted by any detour through float or int64.
BIG_IDS = [TOP, TOP - 1, 2**63, 2**63 - 1, 2**53 + 1]

factors = st.tuples(*[st.sampled_from([1, 2])] * 3)


@st.composite
def label_blocks(draw: st.DrawFn, dtype: type[np.unsignedinteger] = np.uint64) -> Block:
    """Small blocks (odd sides included) drawn from a few ids, 0 and big ids likely."""
    big = BIG_IDS if dtype is np.uint64 else [2**32 - 1, 2**31]
    pool = draw(
        st.lists(
            st.one_of(st.integers(1, 6), st.sampled_from(big)), min_size=1, max_size=4, unique=True
        )
    )
    shape = draw(st.tuples(*[st.integers(1, 6)] * 3))
    block = draw(hnp.arrays(dtype, shape, elements=st.sampled_from([0, *pool])))
    return block


def reference(block: Block, factor: Vec3) -> list[list[list[int]]]:
    """Slow, obvious version of the rule, in Python ints: nonzero mode, smallest on ties."""
    fz, fy, fx = factor
    z, y, x = block.shape
    out = np.zeros((-(-z // fz), -(-y // fy), -(-x // fx)), object)
    for i, j, k in product(*map(range, out.shape)):
        cell = block[i * fz : (i + 1) * fz, j * fy : (j + 1) * fy, k * fx : (k + 1) * fx]
        counts = Counter(int(v) for v in cell.ravel() if v != 0)
        out[i, j, k] = min(counts, key=lambda v: (-counts[v], v)) if counts else 0
    result: list[list[list[int]]] = out.tolist()
    return result


def cell_of(block: Block, factor: Vec3, at: tuple[int, ...]) -> set[int]:
    fz, fy, fx = factor
    i, j, k = at
    cell = block[i * fz : (i + 1) * fz, j * fy : (j + 1) * fy, k * fx : (k + 1) * fx]
    return {int(v) for v in cell.ravel()}


@given(label_blocks(), factors)
def test_matches_slow_reference_uint64(block: Block, factor: Vec3) -> None:
    out = downsample_labels(block, factor)
    assert out.dtype == np.uint64
    assert out.tolist() == reference(block, factor)


@given(label_blocks(np.uint32), factors)
def test_matches_slow_reference_uint32(block: Block, factor: Vec3) -> None:
    out = downsample_labels(block, factor)
    assert out.dtype == np.uint32
    assert out.tolist() == reference(block, factor)


@given(label_blocks(), factors)
def test_never_invents_ids_and_zero_only_for_empty_cells(block: Block, factor: Vec3) -> None:
    out = downsample_labels(block, factor)
    for at in np.ndindex(out.shape):
        cell = cell_of(block, factor, at)
        value = int(out[at])
        assert value in cell
        assert (value == 0) == (cell == {0})


@given(
    st.sampled_from([(2, 2, 2), (1, 2, 2)]),
    st.data(),
    st.one_of(st.integers(1, 2**64 - 1), st.sampled_from(BIG_IDS)),
)
def test_label_alone_in_one_corner_survives(factor: Vec3, data: st.DataObject, d: int) -> None:
    corner = data.draw(st.tuples(*[st.integers(0, f - 1) for f in factor]))
    block = np.zeros(factor, np.uint64)
    block[corner] = d
    assert downsample_labels(block, factor).tolist() == [[[d]]]


@given(st.tuples(*[st.integers(1, 8)] * 3), factors)
def test_all_zero_cells_give_zero(shape: Vec3, factor: Vec3) -> None:
    out = downsample_labels(np.zeros(shape, np.uint64), factor)
    assert out.shape == tuple(-(-s // f) for s, f in zip(shape, factor, strict=True))
    assert not out.any()


def test_ties_go_to_the_smallest_id_whatever_the_order() -> None:
    for cell in ([TOP, TOP, 7, 7], [7, TOP, 7, TOP], [TOP, 7, 0, 0]):
        block = np.array(cell, np.uint64).reshape(1, 2, 2)
        assert downsample_labels(block, (1, 2, 2)).tolist() == [[[7]]]


def test_majority_beats_background_and_minority() -> None:
    block = np.array([0, 0, 0, 0, 0, 5, 9, 9], np.uint64).reshape(2, 2, 2)
    assert downsample_labels(block, (2, 2, 2)).tolist() == [[[9]]]


def test_64_cube_uint64_keeps_top_ids_exact() -> None:
    rng = np.random.default_rng(4)
    block = rng.choice(np.array([0, *BIG_IDS], np.uint64), size=(64, 64, 64))
    out = downsample_labels(block, (2, 2, 2))
    assert out.shape == (32, 32, 32)
    assert out.tolist() == reference(block, (2, 2, 2))


def test_factor_one_returns_a_copy() -> None:
    block = np.arange(1, 9, dtype=np.uint64).reshape(2, 2, 2)
    out = downsample_labels(block, (1, 1, 1))
    out[...] = 0
    assert block.tolist() == np.arange(1, 9).reshape(2, 2, 2).tolist()


@pytest.mark.parametrize(
    ("block", "factor"),
    [
        (np.zeros((2, 2, 2), np.int64), (2, 2, 2)),
        (np.zeros((2, 2, 2), np.float64), (2, 2, 2)),
        (np.zeros((2, 2), np.uint64), (2, 2, 2)),
        (np.zeros((2, 2, 2), np.uint64), (0, 2, 2)),
        (np.zeros((2, 2, 2), np.uint64), (2, 2)),
    ],
)
def test_refuses_bad_input(block: Block, factor: Vec3) -> None:
    with pytest.raises(InvalidRequest):
        downsample_labels(block, factor)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 12)] * 3),
    factor=factors,
    seed=st.integers(0, 2**32 - 1),
    noise=st.sampled_from([0.0, 0.05, 0.3, 1.0]),
)
def test_segmentation_like_blocks_match_the_reference(
    shape: Vec3, factor: Vec3, seed: int, noise: float
) -> None:
    """Regions of one id (most cells hold one id: counted apart from the others) with
    some noise, up to all noise (every cell counted pairwise)."""
    rng = np.random.default_rng(seed)
    pool = np.array([0, 3, 5, *BIG_IDS], np.uint64)
    z, y, x = np.indices(shape)
    block = pool[(z // 3 + 2 * (y // 4) + 3 * (x // 5)) % pool.size]
    speckle = rng.random(shape) < noise
    block[speckle] = pool[rng.integers(0, pool.size, int(speckle.sum()))]
    assert downsample_labels(block, factor).tolist() == reference(block, factor)
