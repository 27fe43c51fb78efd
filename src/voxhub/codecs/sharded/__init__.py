"""neuroglancer's ``neuroglancer_uint64_sharded_v1`` format, pure and numpy-only:
chunk ids (:mod:`.morton`), the sharding spec (:mod:`.spec`), shard files
(:mod:`.writer`, :mod:`.reader`)."""

from voxhub.codecs.sharded.morton import compressed_morton, morton_bits, morton_positions
from voxhub.codecs.sharded.reader import (
    MinishardIndex,
    parse_minishard_index,
    parse_shard_index,
    read_chunk,
    shard_chunks,
)
from voxhub.codecs.sharded.spec import ShardingSpec, choose_spec
from voxhub.codecs.sharded.writer import (
    ShardLayout,
    encode_shard,
    shard_bytes,
    shard_layout,
    shard_order,
)

__all__ = [
    "MinishardIndex",
    "ShardLayout",
    "ShardingSpec",
    "choose_spec",
    "compressed_morton",
    "encode_shard",
    "morton_bits",
    "morton_positions",
    "parse_minishard_index",
    "parse_shard_index",
    "read_chunk",
    "shard_bytes",
    "shard_chunks",
    "shard_layout",
    "shard_order",
]
