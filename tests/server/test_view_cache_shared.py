"""The view answers a server's workers share (``voxhub.server.view_cache_shared``): what
one process made, another finds without making it; only portable keys and whole answers
are shared; a full file starts over; two real ``voxhub serve`` processes share one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.server.prometheus_text import samples, value

import voxhub
from voxhub.server.view_cache import Built, ViewCache
from voxhub.server.view_cache_shared import (
    SHARED_VIEW_CACHE_ENV,
    SharedViewCache,
    key_name,
    shared_view_cache_from_env,
)
from voxhub.testing.server import start_server


@pytest.fixture
def tier(tmp_path: Path) -> Iterator[SharedViewCache]:
    shared = SharedViewCache(str(tmp_path / "shared"), 4 << 20)
    yield shared
    shared.close()


def _never() -> bytes:
    raise AssertionError("made again: the other worker's answer was not found")


def test_what_one_worker_made_the_other_finds(tier: SharedViewCache) -> None:
    first, second = ViewCache(1 << 20, shared=tier), ViewCache(1 << 20, shared=tier)
    key = ("node", "data", "(8, 8, 8)", "precomputed", "default", "8_8_8", "0-64_0-64_0-64")
    assert first.get_or_compute(key, lambda: b"chunk") == b"chunk"
    assert second.get_or_compute(key, _never) == b"chunk"
    assert second.stats().entries == 1  # kept in its own memory from then on
    first.put(("absent",), None)  # an unwritten chunk is an answer too
    assert second.get(("absent",)) == (True, None)
    assert second.get(("never put",)) == (False, None)


def test_only_portable_keys_and_whole_answers_are_shared(tier: SharedViewCache) -> None:
    first, second = ViewCache(1 << 20, shared=tier), ViewCache(1 << 20, shared=tier)
    local = ("node", object())  # its repr names an address of this process
    first.put(local, b"x")
    assert first.get(local) == (True, b"x")
    assert second.get(local) == (False, None)
    first.put_built(("open",), Built((b"stored",), b"body", '"t"'))
    assert second.get_built(("open",), (b"stored",)) is None
    assert second.get(("open",)) == (False, None)
    off = ViewCache(0, shared=tier)  # caching off: nothing asked, nothing shared
    off.put(("off",), b"y")
    assert tier.get(("off",)) == (False, None)


def test_a_full_file_starts_over_and_keeps_working(tmp_path: Path) -> None:
    tier = SharedViewCache(str(tmp_path / "small"), 1 << 20)
    try:
        answers = {(f"chunk {i}",): bytes([i]) * 200_000 for i in range(12)}  # 2.4 MB
        for key, answer in answers.items():
            tier.put(key, answer)
            assert tier.get(key) == (True, answer)  # the latest always fits
        kept = sum(tier.get(key)[0] for key in answers)
        assert 1 <= kept < len(answers)
        tier.put(("too big",), bytes(600_000))  # more than half the budget
        assert tier.get(("too big",)) == (False, None)
    finally:
        tier.close()


def test_the_tier_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SHARED_VIEW_CACHE_ENV, raising=False)
    assert shared_view_cache_from_env(1 << 20) is None
    monkeypatch.setenv(SHARED_VIEW_CACHE_ENV, str(tmp_path / "env"))
    assert shared_view_cache_from_env(0) is None  # view caching off
    found = shared_view_cache_from_env(1 << 20)
    assert found is not None
    found.close()


parts = st.one_of(st.none(), st.text(max_size=8), st.integers(), st.booleans())
keys = st.tuples(parts, parts, st.tuples(parts, parts))


@settings(max_examples=200, deadline=None)
@given(keys, keys)
def test_keys_are_named_by_their_repr(a: tuple[object, ...], b: tuple[object, ...]) -> None:
    assert key_name(a) == key_name(tuple(a))
    assert (key_name(a) == key_name(b)) is (repr(a) == repr(b))


def test_two_servers_share_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``voxhub serve --workers N`` sets up for its workers, with two servers: one
    makes a committed chunk, the other answers it from the shared file."""
    store = tmp_path / "store"
    with voxhub.open(str(store), mode="w") as hub:
        root = hub.create_repo("shared").master
        labels = np.arange(32**3, dtype=np.uint64).reshape(32, 32, 32) // 1000
        root.create_labels("seg", block_shape=(32, 32, 32))[0:32, 0:32, 0:32] = labels
        root.commit("labels")
        node = root.uuid
    stale = SharedViewCache(str(tmp_path / "shared"), 1 << 20)
    stale.put(("made by an older version",), b"stale")
    stale.close()
    monkeypatch.setenv(SHARED_VIEW_CACHE_ENV, str(tmp_path / "shared"))
    servers = [start_server(store), start_server(store)]
    try:
        seen = SharedViewCache(str(tmp_path / "shared"), 1 << 20)
        assert seen.get(("made by an older version",)) == (False, None)  # emptied at start
        seen.close()
        path = f"/precomputed/{node}/seg/8_8_8/0-32_0-32_0-32"
        bodies = [httpx.get(s.url + path, timeout=30) for s in servers]
        assert [b.status_code for b in bodies] == [200, 200]
        assert bodies[0].content == bodies[1].content
        assert bodies[0].headers["etag"] == bodies[1].headers["etag"]
        found = [samples(httpx.get(s.url + "/metrics", timeout=30).text) for s in servers]
        hits, misses = "voxhub_cache_hits_total", "voxhub_cache_misses_total"
        assert value(found[0], misses, cache="shared_view_cache") >= 1  # made it
        assert value(found[1], hits, cache="shared_view_cache") >= 1  # found it
        assert value(found[1], misses, cache="shared_view_cache") == 0
    finally:
        for server in servers:
            server.stop()
