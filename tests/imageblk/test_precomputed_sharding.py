"""The sharding of a scale's block grid: every block of the grid is in exactly one shard,
the one the spec locates its chunk id in, and a shard's blocks are an aligned box."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.precomputed_sharded import scale_sharding
from voxhub.geometry import Box


@settings(max_examples=40, deadline=None)
@given(
    start=st.tuples(*(st.integers(-300, 300),) * 3),
    size=st.tuples(*(st.integers(1, 400),) * 3),
    chunk_bytes=st.sampled_from([64**3, 1 << 20, 4 << 20, 32 << 20]),
)
def test_shards_partition_the_block_grid(
    start: tuple[int, int, int], size: tuple[int, int, int], chunk_bytes: int
) -> None:
    config = ImageConfig.create(dtype="uint8", block_shape=(32, 32, 32))
    extents = Box(start, tuple(s + n for s, n in zip(start, size, strict=True)))
    sharding = scale_sharding(config, extents, chunk_bytes=chunk_bytes)
    seen: list[tuple[int, int, int]] = []
    for shard in sharding.shards():
        ids, coords = sharding.shard_blocks(shard)
        located, _ = sharding.spec.locate(ids)
        assert (located == shard).all()
        assert [sharding.chunk_id(c) for c in coords] == ids.tolist()
        if coords:  # a box of the grid (an aligned box, clipped by the grid's bounds)
            arr = np.array(coords)
            span = arr.max(axis=0) - arr.min(axis=0) + 1
            assert len(coords) == int(np.prod(span))
        seen += coords
    blocks = [  # every block touched by the extents, rounded out to the grid
        (z, y, x)
        for z in range(start[0] // 32, -(-(start[0] + size[0]) // 32))
        for y in range(start[1] // 32, -(-(start[1] + size[1]) // 32))
        for x in range(start[2] // 32, -(-(start[2] + size[2]) // 32))
    ]
    assert sorted(seen) == sorted(blocks)
