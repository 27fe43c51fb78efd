"""The view cache: LRU by bytes, absent answers cached, nothing larger than the budget."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxhub.server.view_cache import ViewCache


def test_least_recently_used_goes_first() -> None:
    cache = ViewCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == (True, b"1234")  # now b is the least recently used
    cache.put("c", b"1234")
    assert cache.get("b") == (False, None)
    assert cache.get("a")[0]
    assert cache.get("c")[0]
    assert cache.stats().bytes == 8


def test_absent_answers_are_cached_and_computed_once() -> None:
    cache = ViewCache(max_bytes=100)
    calls: list[int] = []

    def absent() -> bytes | None:
        calls.append(1)
        return None

    assert cache.get_or_compute(("n", "seg", 0), absent) is None
    assert cache.get_or_compute(("n", "seg", 0), absent) is None
    assert len(calls) == 1
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 1, 1)


def test_an_answer_larger_than_the_budget_is_not_kept() -> None:
    cache = ViewCache(max_bytes=4)
    cache.put("small", b"12")
    cache.put("big", b"12345")
    assert cache.get("big") == (False, None)
    assert cache.get("small") == (True, b"12")


def test_a_zero_budget_keeps_nothing() -> None:
    cache = ViewCache(max_bytes=0)
    assert cache.get_or_compute("k", lambda: b"x") == b"x"
    assert cache.get_or_compute("k", lambda: None) is None
    assert cache.stats().entries == 0


def test_negative_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        ViewCache(max_bytes=-1)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 30)), max_size=60))
def test_budget_and_byte_count_hold_for_any_sequence(puts: list[tuple[int, int]]) -> None:
    cache = ViewCache(max_bytes=64)
    model: dict[int, bytes] = {}
    for key, size in puts:
        value = bytes([key]) * size
        cache.put(key, value)
        model[key] = value
        stats = cache.stats()
        assert stats.bytes <= 64
        assert cache.get(key) == (True, value)  # the newest entry is always kept
    for key, value in model.items():
        found, got = cache.get(key)
        assert not found or got == value  # evicted or exact, never stale
