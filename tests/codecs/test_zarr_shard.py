"""Zarr ``sharding_indexed`` shards (index at the end, crc32c-checked)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.codecs.zarr_shard import (
    ABSENT,
    crc32c,
    decode_shard,
    empty_shard,
    encode_shard,
    index_nbytes,
)
from voxhub.errors import CodecError

chunk_lists = st.lists(
    st.one_of(st.none(), st.binary(min_size=0, max_size=40)), min_size=1, max_size=30
)


def test_crc32c_is_castagnoli() -> None:
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value of CRC-32C


@settings(max_examples=100, deadline=None)
@given(chunks=chunk_lists)
def test_shards_decode_to_their_chunks(chunks: list[bytes | None]) -> None:
    shard = encode_shard(chunks)
    if all(c is None for c in chunks):
        assert shard is None  # nothing stored: no shard (a 404, the fill value)
        return
    assert shard is not None
    assert decode_shard(shard, len(chunks)) == chunks
    table = np.frombuffer(shard[-index_nbytes(len(chunks)) : -4], "<u8").reshape(-1, 2)
    for chunk, (offset, nbytes) in zip(chunks, table.tolist(), strict=True):
        if chunk is None:
            assert offset == nbytes == ABSENT
        else:
            assert shard[offset : offset + nbytes] == chunk  # what a range read fetches


@settings(max_examples=60, deadline=None)
@given(chunks=chunk_lists, data=st.data())
def test_any_damaged_index_byte_is_refused(chunks: list[bytes | None], data: st.DataObject) -> None:
    shard = encode_shard([*chunks, b"x"])
    assert shard is not None
    size = index_nbytes(len(chunks) + 1)
    at = len(shard) - data.draw(st.integers(1, size))
    damaged = bytearray(shard)
    damaged[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(CodecError, match="checksum"):
        decode_shard(bytes(damaged), len(chunks) + 1)


def test_an_empty_shard_is_an_index_of_absent_chunks() -> None:
    assert decode_shard(empty_shard(5), 5) == [None] * 5


def test_short_shards_and_entries_past_the_data_are_refused() -> None:
    with pytest.raises(CodecError, match="shorter than its index"):
        decode_shard(b"\0" * 10, 1)
    table = np.array([[0, 99]], "<u8").tobytes()
    lying = b"abc" + table + crc32c(table).to_bytes(4, "little")
    with pytest.raises(CodecError, match="past the data"):
        decode_shard(lying, 1)
