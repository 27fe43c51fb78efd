"""Key layout: round trips and the ordering contract (byte order == tuple order)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.errors import InvalidRequest
from voxhub.versioning.keys import (
    MAX_ID,
    data_key,
    instance_range,
    meta_key,
    split_data_key,
    tkey_of,
    tkey_range,
    version_of,
)

ids = st.integers(0, MAX_ID)
# Prefix-free tkeys: fixed width per instance, as datatypes guarantee.
WIDTH = 6
tkeys = st.binary(min_size=WIDTH, max_size=WIDTH)


@settings(max_examples=200, deadline=None)
@given(ids, st.binary(max_size=20), ids)
def test_round_trip(inst: int, tkey: bytes, version: int) -> None:
    key = data_key(inst, tkey, version)
    assert split_data_key(key) == (inst, tkey, version)
    assert tkey_of(key) == tkey
    assert version_of(key) == version


@settings(max_examples=300, deadline=None)
@given(st.tuples(ids, tkeys, ids), st.tuples(ids, tkeys, ids))
def test_byte_order_is_tuple_order(a: tuple[int, bytes, int], b: tuple[int, bytes, int]) -> None:
    ka, kb = data_key(*a), data_key(*b)
    assert (ka < kb) == (a < b)
    assert (ka == kb) == (a == b)


@settings(max_examples=200, deadline=None)
@given(ids, tkeys, tkeys, ids)
def test_tkey_range_holds_exactly_its_versions(
    inst: int, tkey: bytes, other: bytes, version: int
) -> None:
    start, end = tkey_range(inst, tkey)
    assert start <= data_key(inst, tkey, version) < end
    assert start <= data_key(inst, tkey, 0) < data_key(inst, tkey, MAX_ID) < end
    if other != tkey:
        assert not start <= data_key(inst, other, version) < end
    lo, hi = instance_range(inst)
    assert lo <= start
    assert end <= hi
    assert meta_key("node/x") < lo  # metadata sorts before all data


def test_bad_ids_and_keys_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="version id"):
        data_key(1, b"k", MAX_ID + 1)
    with pytest.raises(InvalidRequest, match="instance id"):
        data_key(-1, b"k", 0)
    with pytest.raises(InvalidRequest, match="not a versioned data key"):
        split_data_key(b"\x00node/abc")
