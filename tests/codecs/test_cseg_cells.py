"""compressed_segmentation computed in numpy from runs in cell order (``cseg_cells``): the
bytes must be exactly the package's encoder's, and decode to the block, for any block of
whole 8³ cells (uint64 and uint32 ids), copied from views or not."""

from __future__ import annotations

import compressed_segmentation as cs  # type: ignore[import-not-found]  # no stubs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs import cseg_cells
from voxhub.codecs.cseg import CsegCodec, decode_google
from voxhub.codecs.cseg_cells import CELL, cell_grid, encode_cells, to_cells
from voxhub.codecs.label_runs import LabelRuns

TOP = 2**64 - 1


def reference(block: np.ndarray) -> bytes:
    data: bytes = cs.compress(np.ascontiguousarray(block).T, block_size=(8, 8, 8), order="F")
    return data


def by_cells(block: np.ndarray) -> bytes | None:
    return encode_cells(LabelRuns.of(to_cells(block), CELL), block.dtype.itemsize)


@st.composite
def cell_blocks(draw: st.DrawFn, dtype: type = np.uint64) -> np.ndarray:
    """Blocks of whole 8³ cells: per cell one id, two parts, runs along x or noise, over
    a palette of 1 to 605 ids (tables of every bit width, shared tables)."""
    grid = draw(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4)))
    top = int(np.iinfo(dtype).max)
    near = st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63, TOP]).map(lambda i: i & top)
    count = draw(st.sampled_from([1, 2, 3, 5, 17, 300, 600]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    extra = draw(st.lists(st.integers(0, top) | near, max_size=5))
    drawn = rng.integers(0, top, count, dtype=dtype, endpoint=True)
    palette = np.concatenate([drawn, np.array(extra, dtype)])
    block = np.empty([8 * g for g in grid], dtype)
    for cz, cy, cx in np.ndindex(*grid):
        cell = block[cz * 8 : cz * 8 + 8, cy * 8 : cy * 8 + 8, cx * 8 : cx * 8 + 8]
        kind = rng.integers(0, 4)
        pick = palette[rng.integers(0, min(palette.size, rng.integers(1, 8) * 80))]
        cell[...] = pick
        if kind == 1:  # two parts
            cell[:, : rng.integers(1, 8)] = palette[rng.integers(0, palette.size)]
        elif kind == 2:  # runs along x
            picks = rng.integers(0, palette.size, (8, 8, 3))
            cell[...] = palette[np.repeat(picks, 3, axis=2)[..., :8]]
        elif kind == 3:  # noise
            cell[...] = palette[rng.integers(0, palette.size, (8, 8, 8))]
    return block


@settings(max_examples=120, deadline=None)
@given(block=cell_blocks())
def test_uint64_cells_give_the_packages_bytes_and_decode_to_the_block(block: np.ndarray) -> None:
    stream = by_cells(block)
    assert stream == reference(block)
    shape = (block.shape[0], block.shape[1], block.shape[2])
    np.testing.assert_array_equal(decode_google(stream, shape, np.uint64), block)


@settings(max_examples=40, deadline=None)
@given(block=cell_blocks(np.uint32))
def test_uint32_cells_give_the_packages_bytes(block: np.ndarray) -> None:
    assert by_cells(block) == reference(block)


@settings(max_examples=30, deadline=None)
@given(block=cell_blocks(), pad=st.tuples(*[st.integers(0, 3)] * 3))
def test_views_into_larger_arrays_give_their_copies_bytes(
    block: np.ndarray, pad: tuple[int, int, int]
) -> None:
    big = np.full([s + 2 * p for s, p in zip(block.shape, pad, strict=True)], 3, np.uint64)
    inner = tuple(slice(p, p + s) for s, p in zip(block.shape, pad, strict=True))
    big[inner] = block
    assert by_cells(big[inner]) == reference(block)
    flipped = np.ascontiguousarray(block[:, :, ::-1])[:, :, ::-1]  # x not contiguous
    assert by_cells(flipped) == reference(block)


@settings(max_examples=40, deadline=None)
@given(block=cell_blocks())
def test_cell_runs_count_as_c_order_runs(block: np.ndarray) -> None:
    cells = LabelRuns.of(to_cells(block), CELL)
    plain = LabelRuns.of(block)
    assert cells.counts() == plain.counts()
    np.testing.assert_array_equal(cells.labels, plain.labels)
    assert not np.any((cells.starts % CELL + cells.lengths) > CELL)  # none spans two cells


@settings(max_examples=40, deadline=None)
@given(block=cell_blocks(), level=st.sampled_from([1, 3]))
def test_the_codec_stores_what_it_stores_through_the_package(block: np.ndarray, level: int) -> None:
    codec = CsegCodec(level=level)
    stored = codec.encode_cells(LabelRuns.of(to_cells(block), CELL), 8)
    assert stored is not None
    out = np.empty_like(block)
    codec.decode_into(stored, out)
    np.testing.assert_array_equal(out, block)
    assert stored == codec.encode(block)


def test_too_many_ids_decline(monkeypatch: pytest.MonkeyPatch) -> None:
    block = np.arange(16 * 8 * 8, dtype=np.uint64).reshape(16, 8, 8)
    assert by_cells(block) == reference(block)
    monkeypatch.setattr(cseg_cells, "MAX_LABELS", 100)
    assert by_cells(block) is None


def test_cell_grid_wants_whole_cells() -> None:
    assert cell_grid((64, 16, 8)) == (8, 2, 1)
    assert cell_grid((64, 12, 8)) is None
    assert cell_grid((8, 8)) is None
    with pytest.raises(ValueError, match="multiples of 8"):
        to_cells(np.zeros((8, 8, 4), np.uint64))
