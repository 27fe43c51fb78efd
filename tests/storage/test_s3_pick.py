"""``S3Store.pick_values`` against a real SeaweedFS: lazy listing keeps the read guarantees.

Each range is listed only as far as the chooser reads it, so these tests check that what
the listing did *not* read cannot hide a commit: locks met before the picked key, the
picked key's own lock (listed right after it, possibly on the next LIST page), and a
value replaced between the listing and the GET.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator

import obstore
import pytest

from voxhub.storage import s3_intent, s3_names, s3_pick
from voxhub.storage.s3_store import S3Store
from voxhub.testing.seaweed import SeaweedServer

pytestmark = pytest.mark.s3


@pytest.fixture
def store(seaweed: SeaweedServer) -> Iterator[S3Store]:
    s = seaweed.open_store(f"pick-{uuid.uuid4().hex}")
    s.get(b"warm")  # the open-time recovery is done: only listings can finish commits
    yield s
    s.close()


def _first(keys: Iterator[bytes]) -> bytes | None:
    return next(keys, None)


def _plant_committed(store: S3Store, txn_id: str, writes: dict[bytes, bytes]) -> None:
    """What a writer killed right after its commit point leaves: locks and the intent."""
    expires = time.time() + 60
    record = s3_intent.Intent(
        "committed",
        expires,
        [s3_intent.Write(k, store.etag_of(k), v) for k, v in writes.items()],
        sorted(writes),
    )
    for key in writes:
        body = s3_intent.encode_lock(s3_intent.Lock(txn_id, expires))
        obstore.put(store.objects, s3_names.lock_name(key), body)
    obstore.put(store.objects, s3_names.intent_name(txn_id), s3_intent.encode_intent(record))


def test_picks_stop_where_the_chooser_stops(store: S3Store) -> None:
    store.put_many([(b"a1", b"x"), (b"a2", b"y"), (b"b1", b"z")])
    seen: list[list[bytes]] = []

    def second(keys: Iterator[bytes]) -> bytes | None:
        taken = list(itertools.islice(keys, 2))
        seen.append(taken)
        return taken[-1]

    assert store.pick_values([(b"a", b"b"), (b"b", b"c"), (b"c", b"d")], second) == [
        b"y",
        b"z",
        None,
    ]
    assert sorted(seen) == [[b"a1", b"a2"], [b"b1"]]  # an empty range is never chosen from


def test_a_committed_key_appearing_before_the_pick_is_finished_first(store: S3Store) -> None:
    store.put(b"a2", b"old")
    _plant_committed(store, "new-a1", {b"a1": b"new"})  # only its lock lists, before a2
    assert store.pick_values([(b"a", b"b")], _first) == [b"new"]
    assert store.get(b"a1") == b"new"


def test_a_committed_write_of_the_picked_key_is_finished_first(store: S3Store) -> None:
    store.put_many([(b"a1", b"old"), (b"a2", b"other")])
    _plant_committed(store, "set-a1", {b"a1": b"new"})  # its lock lists right after a1
    assert store.pick_values([(b"a", b"b")], _first) == [b"new"]


def test_the_picked_keys_lock_on_the_next_page_is_found(store: S3Store) -> None:
    keys = [b"k" + i.to_bytes(2, "big") for i in range(s3_pick.PAGE + 2)]
    store.put_many((k, b"old") for k in keys)
    last_of_page = keys[s3_pick.PAGE - 1]
    _plant_committed(store, "set-last", {last_of_page: b"new"})

    def the_last_of_the_page(found: Iterator[bytes]) -> bytes | None:
        return list(itertools.islice(found, s3_pick.PAGE))[-1]

    def beyond_the_page(found: Iterator[bytes]) -> bytes | None:
        return list(itertools.islice(found, s3_pick.PAGE + 2))[-1]

    assert store.pick_values([(b"k", b"l")], the_last_of_the_page) == [b"new"]
    assert store.pick_values([(b"k", b"l")], beyond_the_page) == [b"old"]


def test_a_key_replaced_after_the_listing_is_read_again(
    store: S3Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.put(b"a1", b"v1")
    real = store.get_with_etag
    moved: list[bytes] = []

    def get_after_a_commit(key: bytes) -> tuple[bytes | None, str | None]:
        if not moved:  # a commit lands between the listing and the first GET
            moved.append(key)
            store.put(b"a0", b"v2")  # a newer version, before the listed one
            store.delete(b"a1")
        return real(key)

    monkeypatch.setattr(store, "get_with_etag", get_after_a_commit)
    assert store.pick_values([(b"a", b"b")], _first) == [b"v2"]  # not "a1 vanished"
    assert moved == [b"a1"]
