"""The open-node mesh key (voxhub.datatypes.meshes.key): a digest of the body's own voxel
masks, so it stays when other bodies change in blocks the body shares and moves with any
change of the body's voxels, computed alike on ``cseg`` blocks (masked on the compressed
form) and on other codecs' blocks (decoded), with or without the memo."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import voxhub
from voxhub.blocks.layout import BlockLayout
from voxhub.codecs import codec_from_json
from voxhub.datatypes.meshes.body import index_digest
from voxhub.datatypes.meshes.key import MASK_STATS, MaskMemo, _mask_digest, voxels_digest
from voxhub.geometry import BlockGrid

BODY = (5, 6)  # the body's supervoxels
SHAPE = (16, 16, 16)
blocks = arrays(np.uint64, SHAPE, elements=st.sampled_from([0, 5, 6, 7, 2**40 + 1]))


def layout(codec: str) -> BlockLayout:
    return BlockLayout(BlockGrid(SHAPE), np.dtype(np.uint64), codec_from_json(codec), bytes)


def digest(block: np.ndarray, codec: str = "cseg") -> bytes:
    lay = layout(codec)
    return _mask_digest(lay, lay.codec.encode(block), np.array(BODY, np.uint64))


@settings(max_examples=40, deadline=None)
@given(block=blocks, other=blocks)
def test_a_blocks_digest_is_the_bodys_mask_only(block: np.ndarray, other: np.ndarray) -> None:
    mine = np.isin(block, BODY)
    assert digest(block) == digest(block, "zstd")  # compressed-form mask == decoded mask
    # the other bodies' voxels repainted from another block: the body's mask is the same
    repainted = np.where(mine, block, np.where(np.isin(other, BODY), 7, other))
    assert digest(repainted) == digest(block)
    # the body's voxels elsewhere: another digest exactly when the mask differs
    moved = np.where(np.isin(other, BODY), 5, 0).astype(np.uint64)
    assert (digest(moved) == digest(block)) == bool((np.isin(moved, BODY) == mine).all())


@pytest.fixture
def seg() -> Any:
    node = voxhub.open("memory://").create_repo("key").master
    lv = node.create_labels("seg", block_shape=SHAPE, voxel_size=(8, 8, 8))
    data = np.zeros((16, 16, 48), np.uint64)
    data[2:12, 3:14, 4:30] = 5  # body 5 in blocks x 0 and 1, neither filled
    data[0:2, 0:2, 40:42] = 9  # body 9 in block x 2 only
    lv[0:16, 0:16, 0:48] = data
    return lv


def key(lv: Any, body: int, memo: Any = None) -> str:
    index, _ = index_digest(lv._instance, body)
    return voxels_digest(lv._instance, index, memo)


class Memo(MaskMemo):
    """Counts what it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.stored = 0

    def put(self, key: bytes, value: bytes) -> None:
        self.stored += 1
        super().put(key, value)


def test_other_bodies_keep_the_key_and_the_bodys_own_changes_move_it(seg: Any) -> None:
    memo = Memo()
    first = key(seg, 5, memo)
    assert memo.stored == 2  # two partial blocks masked
    seg[0:2, 0:2, 0:2] = np.full((2, 2, 2), 9, np.uint64)  # in a block 5 shares
    masked = MASK_STATS.misses
    assert key(seg, 5, memo) == key(seg, 5) == first
    assert MASK_STATS.misses - masked == 1  # only the rewritten block was masked again
    # move body 5's plane z = 2 to z = 12: same per-block counts, other voxels
    block = seg[0:16, 0:16, 0:16].copy()
    plane = block[2] == 5
    block[2][plane], block[12][plane] = 0, 5
    seg[0:16, 0:16, 0:16] = block
    assert key(seg, 5, memo) == key(seg, 5) != first
