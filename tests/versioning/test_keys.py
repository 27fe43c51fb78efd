"""Key layout: round trips and the ordering contract (byte order == tuple order, versions
newest first)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.errors import InvalidRequest
from voxhub.versioning.keys import (
    MARK_DATA,
    MARK_TOMBSTONE,
    MAX_ID,
    data_key,
    instance_range,
    is_tombstone,
    meta_key,
    split_data_key,
    tkey_of,
    tkey_range,
    version_of,
    versions_from,
    write_set_key,
    writes_range,
)

ids = st.integers(0, MAX_ID)
marks = st.sampled_from([MARK_DATA, MARK_TOMBSTONE])
# Prefix-free tkeys: fixed width per instance, as datatypes guarantee.
WIDTH = 6
tkeys = st.binary(min_size=WIDTH, max_size=WIDTH)
Parts = tuple[int, bytes, int, bytes]


@settings(max_examples=200, deadline=None)
@given(ids, st.binary(max_size=20), ids, marks)
def test_round_trip(inst: int, tkey: bytes, version: int, mark: bytes) -> None:
    key = data_key(inst, tkey, version, mark)
    assert split_data_key(key) == (inst, tkey, version, mark == MARK_TOMBSTONE)
    assert tkey_of(key) == tkey
    assert version_of(key) == version
    assert is_tombstone(key) == (mark == MARK_TOMBSTONE)


@settings(max_examples=300, deadline=None)
@given(st.tuples(ids, tkeys, ids, marks), st.tuples(ids, tkeys, ids, marks))
def test_byte_order_is_tuple_order(a: Parts, b: Parts) -> None:
    ka, kb = data_key(*a), data_key(*b)
    order_a, order_b = (a[0], a[1], -a[2], a[3]), (b[0], b[1], -b[2], b[3])
    assert (ka < kb) == (order_a < order_b)
    assert (ka == kb) == (a == b)
    assert MARK_DATA < MARK_TOMBSTONE  # a version's data key lists before its tombstone


@settings(max_examples=200, deadline=None)
@given(ids, tkeys, tkeys, ids, ids, marks)
def test_versions_from_holds_exactly_the_versions_up_to_one(
    inst: int, tkey: bytes, other: bytes, bound: int, version: int, mark: bytes
) -> None:
    start, end = versions_from(inst, tkey, bound)
    assert (start <= data_key(inst, tkey, version, mark) < end) == (version <= bound)
    if other != tkey:
        assert not start <= data_key(inst, other, version, mark) < end
    # the bound version's own keys come first, then its nearest lower version
    assert start < data_key(inst, tkey, bound, MARK_DATA)
    if bound > 0:
        assert data_key(inst, tkey, bound, MARK_TOMBSTONE) < data_key(inst, tkey, bound - 1)


@settings(max_examples=200, deadline=None)
@given(ids, tkeys, tkeys, ids, marks)
def test_tkey_range_holds_exactly_its_versions(
    inst: int, tkey: bytes, other: bytes, version: int, mark: bytes
) -> None:
    start, end = tkey_range(inst, tkey)
    assert start <= data_key(inst, tkey, version, mark) < end
    assert start <= data_key(inst, tkey, 0, MARK_TOMBSTONE) < end
    assert data_key(inst, tkey, MAX_ID, MARK_DATA) < end
    if other != tkey:
        assert not start <= data_key(inst, other, version, mark) < end
    lo, hi = instance_range(inst)
    assert lo <= start
    assert end <= hi
    assert meta_key("node/x") < lo  # metadata sorts before all data
    assert hi <= write_set_key(0, 0, b"")  # ... and data before all write sets


@settings(max_examples=200, deadline=None)
@given(ids, ids, tkeys, ids, ids, tkeys)
def test_write_set_range_holds_exactly_one_version(
    inst: int, version: int, tkey: bytes, inst2: int, version2: int, tkey2: bytes
) -> None:
    start, end = writes_range(inst, version)
    assert start <= write_set_key(inst, version, tkey) < end
    inside = start <= write_set_key(inst2, version2, tkey2) < end
    assert inside == ((inst2, version2) == (inst, version))


def test_bad_ids_and_keys_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="version id"):
        data_key(1, b"k", MAX_ID + 1)
    with pytest.raises(InvalidRequest, match="instance id"):
        data_key(-1, b"k", 0)
    with pytest.raises(InvalidRequest, match="marker"):
        data_key(1, b"k", 0, b"\x07")
    with pytest.raises(InvalidRequest, match="not a versioned data key"):
        split_data_key(b"\x00node/abc")
    with pytest.raises(InvalidRequest, match="not a versioned data key"):
        split_data_key(b"\x01\x00\x00\x00\x01k\x00\x00\x00\x01\x07")
