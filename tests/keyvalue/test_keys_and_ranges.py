"""Key encoding and byte-range parsing of the keyvalue datatype (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.keyvalue import keys as K
from voxhub.datatypes.keyvalue.ranges import parse_inclusive
from voxhub.datatypes.wire.byte_ranges import ByteRange, Unsatisfiable, parse_range_header
from voxhub.errors import InvalidRequest, TooLarge

#: any key voxhub accepts: non-empty text without NUL or lone surrogates, kept short
keys = st.text(
    st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), min_size=1, max_size=12
)


@settings(max_examples=80, deadline=None)
@given(st.lists(keys, min_size=2, max_size=8, unique=True))
def test_value_tkeys_sort_as_the_utf8_bytes_of_their_keys_and_are_prefix_free(
    names: list[str],
) -> None:
    tkeys = [K.value_tkey(k) for k in names]
    by_tkey = [K.key_of(t) for t in sorted(tkeys)]
    assert by_tkey == sorted(names, key=lambda k: k.encode("utf-8"))  # DVID's order
    for a in tkeys:
        assert not any(b != a and b.startswith(a) for b in tkeys)
    assert all(K.describe_tkey(K.value_tkey(k)) == k for k in names)


@settings(max_examples=80, deadline=None)
@given(keys, keys, st.binary(min_size=16, max_size=16), st.integers(0, 2**32 - 1))
def test_chunk_tkeys_describe_their_key_and_sort_apart_from_values(
    key: str, other: str, upload: bytes, index: int
) -> None:
    chunk = K.chunk_tkey(key, upload, index)
    assert K.describe_tkey(chunk) == key
    lo, hi = K.value_range()
    assert not lo <= chunk < hi  # listing values never meets a chunk
    assert lo <= K.value_tkey(other) < hi


@settings(max_examples=80, deadline=None)
@given(keys, keys, keys)
def test_inclusive_ranges_hold_exactly_the_keys_between_their_bounds(
    first: str, last: str, key: str
) -> None:
    lo, hi = K.value_range(first, last)
    inside = lo <= K.value_tkey(key) < hi
    b = key.encode()
    assert inside == (first.encode() <= b <= last.encode())
    lo, hi = K.value_range_open(first, last)
    assert (lo <= K.value_tkey(key) < hi) == (first.encode() <= b < last.encode())


def test_bad_keys_are_refused_naming_the_problem() -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        K.value_tkey("")
    with pytest.raises(InvalidRequest, match="NUL"):
        K.value_tkey("a\x00b")
    with pytest.raises(InvalidRequest, match="surrogate"):
        K.value_tkey("a\udc80")
    with pytest.raises(TooLarge, match=f"at most {K.MAX_KEY_BYTES} bytes"):
        K.value_tkey("é" * (K.MAX_KEY_BYTES // 2 + 1))
    K.value_tkey("é" * (K.MAX_KEY_BYTES // 2))  # 400 bytes of UTF-8: allowed


def _reference(header: str, size: int) -> ByteRange | str | None:
    """What RFC 9110 and DVID's rules select, written as plainly as possible."""
    spec = header.removeprefix("bytes=")
    first, last = spec.split("-")
    if size == 0:
        return "416"  # DVID: no range of an empty value is satisfiable
    if not first:
        n = int(last)
        return "416" if n == 0 else ByteRange(max(0, size - n), size)
    a = int(first)
    b = int(last) if last else size - 1
    if last and b < a:
        return None
    if a >= size:
        return "416"
    return ByteRange(a, min(b, size - 1) + 1)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 300),
    st.one_of(
        st.tuples(st.integers(0, 400), st.none() | st.integers(0, 400)).map(
            lambda p: f"bytes={p[0]}-{'' if p[1] is None else p[1]}"
        ),
        st.integers(0, 400).map(lambda n: f"bytes=-{n}"),
    ),
)
def test_range_headers_select_what_rfc_9110_says(size: int, header: str) -> None:
    expected = _reference(header, size)
    if expected == "416":
        with pytest.raises(Unsatisfiable):
            parse_range_header(header, size)
        return
    got = parse_range_header(header, size)
    assert got == expected
    if got is not None:
        assert 0 <= got.start < got.stop <= size
        assert got.content_range(size) == f"bytes {got.start}-{got.stop - 1}/{size}"


@pytest.mark.parametrize(
    "header",
    ["", "items=0-1", "bytes=", "bytes=-", "bytes=0-1,3-4", "bytes=a-b", "bytes=5-2", "bytes=²-3"],
)
def test_malformed_or_multiple_ranges_are_ignored(header: str) -> None:
    assert parse_range_header(header, 10) is None


def test_dvid_inclusive_ranges_need_both_bounds_in_order() -> None:
    assert parse_inclusive("k", None, None) is None
    assert parse_inclusive("k", "2", "4") == ByteRange(2, 5)
    assert parse_inclusive("k", 0, 0) == ByteRange(0, 1)
    with pytest.raises(InvalidRequest, match="requires both"):
        parse_inclusive("k", "2", None)
    with pytest.raises(InvalidRequest, match="byte_start 5 must be <= byte_end 4"):
        parse_inclusive("k", "5", "4")
    with pytest.raises(InvalidRequest, match="unsigned integer"):
        parse_inclusive("k", "-1", "4")
