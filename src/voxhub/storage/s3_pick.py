"""``S3Store.pick_values``: list each range only as far as the chooser reads it.

S3 lists ascending, in pages of 1,000 names, and can neither list backwards nor stop at
an end key. The versioned layer stores the versions of a key newest first and starts
each read range at the reading node's own version (:mod:`voxhub.versioning.keys`), so
the key a read wants is usually the first of its range. Listing each range lazily, page
by page, while the chooser consumes it, makes a read of a block stored in thousands of
versions one LIST page and one GET, like a block stored once; ranges run in parallel.

The guarantees of ``scan_many`` hold: locks met by the part of the listing that was read
(up to the picked key's own lock, which lists right after the key) are settled first and
the range is listed again (``S3Store.settled``, :func:`~voxhub.storage.s3_txn.settle_locks`);
a picked value whose ETag is not the listed one means a commit was being applied, and the
whole read starts again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import obstore

from voxhub.storage.s3_names import (
    first_listing_offset,
    key_from_name,
    lock_name,
    locked_key,
    name_of,
    translated_errors,
)

if TYPE_CHECKING:
    from voxhub.storage.s3_store import S3Store

Choose = Callable[[Iterator[bytes]], bytes | None]
#: names per LIST page (the S3 maximum): the first page usually holds the picked key.
PAGE = 1000


class _LazyRange:
    """The keys of ``[start, end)``, listed page by page as they are consumed.

    Remembers the listed ETag of each key handed out and the locks met on the way.
    """

    def __init__(self, store: S3Store, start: bytes, end: bytes) -> None:
        self.start, self.end = start, end
        self.etags: dict[bytes, str | None] = {}
        self.locked: list[bytes] = []
        self._last: bytes | None = None
        self._names = self._list(store, name_of(end))

    def _list(self, store: S3Store, stop: str) -> Iterator[tuple[str, str | None]]:
        with translated_errors(store.describe()):
            offset = first_listing_offset(self.start)
            for chunk in obstore.list(store.objects, offset=offset, chunk_size=PAGE):
                for meta in chunk:
                    if meta["path"] >= stop:
                        return
                    yield meta["path"], meta["e_tag"]

    def keys(self) -> Iterator[bytes]:
        for name, etag in self._names:
            key = key_from_name(name)
            if key is None:
                self._note_lock(name)
            elif key >= self.start:
                self.etags[key] = etag
                self._last = key
                yield key

    def look_past_last(self) -> None:
        """Note the lock of the last key handed out: it lists right after that key."""
        if self._last is None:
            return
        target = lock_name(self._last)
        for name, _ in self._names:
            if name > target:
                return
            self._note_lock(name)

    def _note_lock(self, name: str) -> None:
        held = locked_key(name)
        if held is not None and self.start <= held < self.end:
            self.locked.append(held)


def _pick_listed(
    store: S3Store, start: bytes, end: bytes, choose: Choose
) -> tuple[tuple[bytes | None, str | None], list[bytes]]:
    """One lazy listing: ``((picked key, its listed ETag), keys found locked)``."""
    listing = _LazyRange(store, start, end)
    keys = listing.keys()
    first = next(keys, None)
    picked = None if first is None else choose(itertools.chain((first,), keys))
    listing.look_past_last()
    etag = None if picked is None else listing.etags.get(picked)
    return (picked, etag), listing.locked


def _pick_one(
    store: S3Store, start: bytes, end: bytes, choose: Choose
) -> tuple[bytes | None, bool]:
    """The picked value of one range, and whether it is the one listed."""
    if end <= start:
        return None, True
    picked, etag = store.settled(lambda: _pick_listed(store, start, end, choose))
    if picked is None:
        return None, True
    value, found = store.get_with_etag(picked)
    return value, found == etag


def pick_values(
    store: S3Store, ranges: Sequence[tuple[bytes, bytes]], choose: Choose, attempts: int
) -> list[bytes | None]:
    """:meth:`~voxhub.storage.base.KVStore.pick_values` on S3; see the module docstring."""
    found: list[tuple[bytes | None, bool]] = []
    for _ in range(attempts):
        found = store._parallel(lambda r: _pick_one(store, r[0], r[1], choose), ranges)
        if all(same for _, same in found):
            break
    return [value for value, _ in found]
