"""``gzip_fast`` and ``gzip_fastest``: one gzip member any reader decodes, with ISA-L or
with zlib."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxhub.datatypes.wire import gzipped


@settings(max_examples=50, deadline=None)
@given(
    data=st.binary(max_size=5000)
    | st.builds(lambda b, n: b * n, st.binary(max_size=40), st.integers(0, 3000))
)
def test_any_bytes_come_back_through_gzip(data: bytes) -> None:
    packed = gzipped.gzip_fast(data)
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == data
    assert gzip.decompress(gzipped.gzip_fast(memoryview(data))) == data
    fastest = gzipped.gzip_fastest(memoryview(data))
    assert fastest[:2] == b"\x1f\x8b"
    assert gzip.decompress(fastest) == data


def test_isal_is_used_when_installed() -> None:
    pytest.importorskip("isal")
    assert gzipped._compress.__code__.co_names[0] == "igzip"  # not the fallback
    data = bytes(range(256)) * 200
    # level 0 is its own (faster, larger) setting, not level 1 again
    assert len(gzipped.gzip_fastest(data)) != len(gzipped.gzip_fast(data))
