"""The pyramid bomb: extents a million blocks wide, then ``POST pyramid``.

Declared extents (``POST extents``) or one block written far away make the extents
enormous; the pyramid build must visit the blocks that are stored, not the blocks of the
extents. The work is counted (blocks fetched by the build), never timed, and a dense walk
over the extents is made to fail fast instead of running for ever.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from voxhub.blocks import BlockLayout
from voxhub.datatypes.imageblk import pyramid
from voxhub.geometry import BlockGrid, Box, Vec3
from voxhub.versioning.protocols import VersionedReader

from .conftest import Env

SIDE = 10**6  # blocks per side of the declared extents
BLOCK = 8


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Blocks fetched by pyramid builds; a walk over more than 10⁴ blocks fails at once."""
    counts: list[int] = []
    real_fetch = pyramid.fetch_blocks
    real_blocks_in = BlockGrid.blocks_in

    def counting_fetch(
        reader: VersionedReader, layout: BlockLayout, coords: Sequence[Vec3]
    ) -> list[np.ndarray | None]:
        counts.append(len(coords))
        return real_fetch(reader, layout, coords)

    def bounded_blocks_in(self: BlockGrid, box: Box):  # type: ignore[no-untyped-def]
        assert self.block_range(box).size <= 10**4, f"dense walk over {box}"
        return real_blocks_in(self, box)

    monkeypatch.setattr(pyramid, "fetch_blocks", counting_fetch)
    monkeypatch.setattr(BlockGrid, "blocks_in", bounded_blocks_in)
    return counts


def test_declared_extents_a_million_blocks_wide_cost_only_the_stored_blocks(
    env: Env, fetched: list[int]
) -> None:
    # "gray" (8³ blocks, max_scale 1) holds 2x3x4 = 24 blocks at the origin.
    far = SIDE * BLOCK - 1
    extents = {"MinPoint": [0, 0, 0], "MaxPoint": [far, far, far]}
    assert env.client.post(env.url("gray", "extents"), json=extents).status_code == 200
    assert env.client.get(env.url("gray", "extents")).json()["MaxPoint"] == [far] * 3

    assert env.client.post(env.url("gray", "pyramid")).status_code == 200

    # scale 1 has 1x2x2 parents over the 24 stored blocks: 4 parents x 8 children
    assert sum(fetched) == 4 * 8
    level1 = env.client.get(env.url("gray", "raw/0_1_2/16_12_8/0_0_0"), params={"scale": 1})
    half = env.gray.reshape(8, 2, 12, 2, 16, 2).astype(np.uint32).sum(axis=(1, 3, 5))
    expected = ((half + 4) // 8).astype(np.uint8)
    assert np.array_equal(np.frombuffer(level1.content, np.uint8).reshape(8, 12, 16), expected)


def test_a_block_written_far_away_costs_one_more_block_not_the_gap(
    env: Env, fetched: list[int]
) -> None:
    labels = env.node.create_labels("seg", block_shape=(BLOCK,) * 3, max_scale=2)
    labels[0:BLOCK, 0:BLOCK, 0:BLOCK] = np.full((BLOCK,) * 3, 7, np.uint64)
    far = (SIDE - 1) * BLOCK
    labels[far : far + BLOCK, far : far + BLOCK, far : far + BLOCK] = np.full(
        (BLOCK,) * 3, 9, np.uint64
    )
    assert env.client.get(env.url("seg", "extents")).json()["MaxPoint"] == [SIDE * BLOCK - 1] * 3
    fetched.clear()  # the writes' own incremental updates are not the build

    assert env.client.post(env.url("seg", "pyramid")).status_code == 200

    # two stored blocks → two parents at scale 1 and two at scale 2, 8 children each
    assert sum(fetched) == 2 * 8 + 2 * 8
    corner = f"raw/0_1_2/1_1_1/{far // 4}_{far // 4}_{far // 4}"
    top = env.client.get(env.url("seg", corner), params={"scale": 2})
    assert np.frombuffer(top.content, "<u8").tolist() == [9]
