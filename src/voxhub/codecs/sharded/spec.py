"""The ``neuroglancer_uint64_sharded_v1`` sharding specification: which shard and
minishard hold a chunk id, what the shard files are called, and how to pick the bits.

A chunk id is shifted right by ``preshift_bits`` and hashed (``identity`` or
``murmurhash3_x86_128``: the low 8 bytes, little-endian, of the 128-bit hash of the 8
little-endian bytes of the shifted id, seed 0); the low ``minishard_bits`` of the hash
are the minishard, the next ``shard_bits`` the shard. A shard's file is
``{shard:0{ceil(shard_bits / 4)}x}.shard``.

With the identity hash and ``shard_bits`` covering every id bit above
``preshift_bits + minishard_bits``, the ids of a shard are one contiguous range
(:meth:`ShardingSpec.shard_ids`): on a compressed Morton grid that is an aligned box of
chunks, so a shard can be built from the blocks of one box (one task of an export).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxhub.errors import InvalidRequest
from voxhub.optional import require

TYPE = "neuroglancer_uint64_sharded_v1"
HASHES = ("identity", "murmurhash3_x86_128")
ENCODINGS = ("raw", "gzip")
_SHARD_NAME = re.compile(r"([0-9a-f]{1,16})\.shard")
_MASK64 = (1 << 64) - 1

#: chunks per shard, as a power of two, aimed at when choosing a spec: 512 64³ blocks
#: (8³ blocks, 512³ voxels) are ~128 MiB of raw uint8 and a few MiB to tens of MiB of
#: compressed_segmentation; fine-grained enough that a volume of thousands of blocks
#: gives both cores of an export work, coarse enough that a teravoxel volume has
#: thousands of shards, not millions of files.
SHARD_CHUNK_BITS = 9
#: chunks per minishard (2³: each minishard a 2x2x2 cube of chunks, fetched together by
#: neuroglancer's index reads), as a power of two.
PRESHIFT_BITS = 3


@dataclass(frozen=True)
class ShardingSpec:
    """One sharding specification (the ``"sharding"`` member of a scale)."""

    preshift_bits: int
    minishard_bits: int
    shard_bits: int
    hash: str = "identity"
    minishard_index_encoding: str = "gzip"
    data_encoding: str = "raw"

    def __post_init__(self) -> None:
        for name in ("preshift_bits", "minishard_bits", "shard_bits"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 64:
                raise InvalidRequest(f"sharding {name} must be an integer 0..64, got {value!r}")
        if self.minishard_bits > 32:  # 2**bits * 16 bytes of shard index: bound it
            raise InvalidRequest(f"sharding minishard_bits {self.minishard_bits} is over 32")
        if self.minishard_bits + self.shard_bits > 64:
            raise InvalidRequest("sharding minishard_bits + shard_bits is over 64")
        if self.hash not in HASHES:
            raise InvalidRequest(f"sharding hash {self.hash!r} is not one of {HASHES}")
        for name in ("minishard_index_encoding", "data_encoding"):
            if getattr(self, name) not in ENCODINGS:
                raise InvalidRequest(f"sharding {name} must be one of {ENCODINGS}")

    @classmethod
    def from_json(cls, doc: Any) -> ShardingSpec:
        """Parse a ``"sharding"`` JSON object (:class:`InvalidRequest` naming what is
        wrong)."""
        if not isinstance(doc, dict) or doc.get("@type") != TYPE:
            raise InvalidRequest(f"a sharding spec is an object with '@type': {TYPE!r}")
        try:
            return cls(
                preshift_bits=doc["preshift_bits"],
                minishard_bits=doc["minishard_bits"],
                shard_bits=doc["shard_bits"],
                hash=doc["hash"],
                minishard_index_encoding=doc.get("minishard_index_encoding", "raw"),
                data_encoding=doc.get("data_encoding", "raw"),
            )
        except KeyError as e:
            raise InvalidRequest(f"sharding spec lacks {e.args[0]!r}") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "@type": TYPE,
            "preshift_bits": self.preshift_bits,
            "hash": self.hash,
            "minishard_bits": self.minishard_bits,
            "shard_bits": self.shard_bits,
            "minishard_index_encoding": self.minishard_index_encoding,
            "data_encoding": self.data_encoding,
        }

    @property
    def index_bytes(self) -> int:
        """Size of a shard's index (the first bytes of every shard file)."""
        return 16 << self.minishard_bits

    @property
    def shards(self) -> int:
        return 1 << self.shard_bits

    def hashed(self, ids: np.ndarray) -> np.ndarray:
        """The hashed chunk ids (uint64) of ``ids``."""
        shifted = np.asarray(ids, np.uint64) >> np.uint64(self.preshift_bits)
        if self.hash == "identity":
            return shifted
        mmh3 = require("mmh3", "the murmurhash3_x86_128 sharding hash")
        out = [
            mmh3.hash128(int(v).to_bytes(8, "little"), 0, False) & _MASK64 for v in shifted.tolist()
        ]
        return np.array(out, np.uint64)

    def locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(shard, minishard)`` of each chunk id (uint64 arrays)."""
        h = self.hashed(ids)
        minishard = h & np.uint64((1 << self.minishard_bits) - 1)
        shard = (h >> np.uint64(self.minishard_bits)) & np.uint64((1 << self.shard_bits) - 1)
        return shard, minishard

    def shard_name(self, shard: int) -> str:
        """The file name of ``shard``."""
        return f"{shard:0{-(-self.shard_bits // 4)}x}.shard"

    def shard_of_name(self, name: str) -> int:
        """The shard a file name names: :class:`InvalidRequest` unless it is exactly
        :meth:`shard_name` of a shard of this spec."""
        found = _SHARD_NAME.fullmatch(name)
        shard = int(found.group(1), 16) if found else -1
        if found is None or shard >= self.shards or self.shard_name(shard) != name:
            raise InvalidRequest(
                f"{name!r} is not a shard file of this scale: shards are "
                f"{self.shard_name(0)} .. {self.shard_name(self.shards - 1)}"
            )
        return shard

    def shard_ids(self, shard: int, id_bits: int) -> range:
        """The chunk ids (of ids of ``id_bits`` bits) that ``shard`` holds, as one range:
        only for the identity hash with ``shard_bits`` spanning every bit above the
        minishard's (the specs :func:`choose_spec` makes)."""
        low = self.preshift_bits + self.minishard_bits
        if self.hash != "identity" or low + self.shard_bits < id_bits:
            raise InvalidRequest("only an identity-hashed spec covering every id bit has boxes")
        first = shard << low
        return range(min(first, 1 << id_bits), min(first + (1 << low), 1 << id_bits))


def choose_spec(id_bits: int, *, chunk_bits: int = SHARD_CHUNK_BITS) -> ShardingSpec:
    """The spec for a grid whose chunk ids have ``id_bits`` bits: identity hash, shards of
    ``2**chunk_bits`` chunks (an aligned box of the grid, fewer for small grids), minishards
    of ``2**PRESHIFT_BITS``; minishard indexes gzipped (they are small and repetitive),
    chunk data raw (it is already compressed_segmentation, or raw voxels that gzip
    compresses slowly and little)."""
    preshift = min(PRESHIFT_BITS, id_bits)
    minishard = min(chunk_bits - PRESHIFT_BITS, id_bits - preshift)
    return ShardingSpec(preshift, minishard, id_bits - preshift - minishard)
