"""uint64 compressed_segmentation through uint32 ranks (``cseg_ranked``) and the label runs
it is fed: the bytes must be exactly the package's uint64 encoder's, for any block."""

from __future__ import annotations

import compressed_segmentation as cs  # type: ignore[import-not-found]  # no stubs
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs import cseg_ranked
from voxhub.codecs.cseg import encode_google
from voxhub.codecs.cseg_ranked import encode_uint64
from voxhub.codecs.label_runs import LabelRuns

TOP = 2**64 - 1
shapes = st.tuples(st.integers(1, 24), st.integers(1, 24), st.integers(1, 24))


@st.composite
def uint64_blocks(draw: st.DrawFn) -> np.ndarray:
    """Segmentation-like uint64 blocks of any shape (partial 8³ sub-blocks included):
    a palette of ids anywhere in 64 bits (near 2**32 and 2**63 too, so ids that agree in
    their low or high words), laid out in runs along x, sometimes with noise."""
    shape = draw(shapes)
    near = st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**32 + 1, 2**63, TOP - 1, TOP])
    ids = draw(st.lists(st.integers(0, TOP) | near, min_size=1, max_size=40))
    palette = np.array(ids, np.uint64)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    run = draw(st.integers(1, 9))
    picks = rng.integers(0, palette.size, (*shape[:2], shape[2] // run + 1))
    block: np.ndarray = palette[np.repeat(picks, run, axis=2)[..., : shape[2]]]
    if draw(st.booleans()):  # a sprinkle of other ids
        mask = rng.random(shape) < draw(st.sampled_from([0.001, 0.05, 0.5]))
        block[mask] = rng.integers(0, TOP, int(mask.sum()), dtype=np.uint64, endpoint=True)
    return np.ascontiguousarray(block)


def reference(block: np.ndarray) -> bytes:
    data: bytes = cs.compress(block.T, block_size=(8, 8, 8), order="F")
    return data


@settings(max_examples=150, deadline=None)
@given(block=uint64_blocks())
def test_ranked_encoding_is_the_uint64_encoders_bytes(block: np.ndarray) -> None:
    assert encode_uint64(block) == reference(block)
    assert encode_google(block) == reference(block)


@settings(max_examples=30, deadline=None)
@given(block=uint64_blocks())
def test_the_widening_itself_is_exact(block: np.ndarray) -> None:
    """Through the rank path whatever the block (not the direct fallback for noise)."""
    runs = LabelRuns.of(block)
    narrow = cseg_ranked._compress(runs.ranks())
    nsub = cseg_ranked._sub_blocks(block.shape)
    assert cseg_ranked._widen(narrow, runs.labels, nsub) == reference(block)


@settings(max_examples=60, deadline=None)
@given(block=uint64_blocks())
def test_runs_give_the_blocks_ids_counts_and_ranks(block: np.ndarray) -> None:
    runs = LabelRuns.of(block)
    ids, counts = np.unique(block, return_counts=True)
    np.testing.assert_array_equal(runs.labels, ids)
    assert runs.counts() == {int(i): int(n) for i, n in zip(ids, counts, strict=True) if i}
    assert runs.top == int(block.max())
    np.testing.assert_array_equal(runs.labels[runs.ranks()], block)
    assert int(runs.lengths.sum()) == block.size


def test_a_64_cubed_segmentation_block_takes_the_rank_path() -> None:
    z, y, x = np.indices((64, 64, 64))
    block = (((z // 20) * 7 + (y // 13) * 3 + x // 30) * 2**40 + 5).astype(np.uint64)
    runs = LabelRuns.of(block)
    assert runs.lengths.size * cseg_ranked._MAX_RUN_SHARE <= block.size
    assert encode_uint64(block, runs) == reference(block)


def test_empty_runs() -> None:
    runs = LabelRuns.of(np.zeros((0, 3, 3), np.uint64))
    assert runs.counts() == {}
    assert runs.top == 0


@settings(max_examples=30, deadline=None)
@given(block=uint64_blocks(), pad=st.tuples(*[st.integers(0, 3)] * 3))
def test_views_into_larger_arrays_encode_and_count_as_their_copies(
    block: np.ndarray, pad: tuple[int, int, int]
) -> None:
    big = np.full([s + 2 * p for s, p in zip(block.shape, pad, strict=True)], 3, np.uint64)
    inner = tuple(slice(p, p + s) for s, p in zip(block.shape, pad, strict=True))
    big[inner] = block
    view = big[inner]
    assert encode_uint64(view) == reference(block)
    assert encode_google(view) == reference(block)
    runs = LabelRuns.of(view)
    assert runs.counts() == LabelRuns.of(block).counts()
    np.testing.assert_array_equal(runs.labels[runs.ranks()], block)


@st.composite
def sub_block_mixes(draw: st.DrawFn) -> np.ndarray:
    """Blocks of whole 8³ sub-blocks, each of one id or of several, ids repeating across
    sub-blocks (shared tables), in sides that are multiples of 8."""
    grid = draw(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))
    ids = draw(st.lists(st.integers(0, TOP) | st.sampled_from([0, 2**32, TOP]), min_size=1,
                        max_size=6))  # fmt: skip
    palette = np.array(ids, np.uint64)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    block = np.empty([8 * g for g in grid], np.uint64)
    for cz, cy, cx in np.ndindex(*grid):
        cell = block[cz * 8 : cz * 8 + 8, cy * 8 : cy * 8 + 8, cx * 8 : cx * 8 + 8]
        kind = rng.integers(0, 3)
        if kind == 0:  # one id
            cell[...] = palette[rng.integers(0, palette.size)]
        elif kind == 1:  # two halves
            cell[...] = palette[rng.integers(0, palette.size)]
            cell[:, :, : rng.integers(1, 8)] = palette[rng.integers(0, palette.size)]
        else:  # noise over the palette
            cell[...] = palette[rng.integers(0, palette.size, (8, 8, 8))]
    return block


@settings(max_examples=120, deadline=None)
@given(block=sub_block_mixes())
def test_one_id_sub_blocks_written_apart_give_the_uint64_encoders_bytes(block: np.ndarray) -> None:
    runs = LabelRuns.of(block)
    assert cseg_ranked._encode_mixed(runs.ranks(), runs.labels) == reference(block)
    assert encode_uint64(block) == reference(block)
