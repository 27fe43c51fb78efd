"""The view answers the worker processes of one server share, in an LMDB file of their own.

Each worker keeps its own :class:`~voxhub.server.view_cache.ViewCache` in memory, and a
viewer's connections land on whichever worker the kernel hands them to: with two workers a
committed chunk used to be encoded twice, and kept twice, before both could answer it from
memory (``bench/views.py --workers 2`` read 512³ of labels at 0.74x the static files' speed
against 0.84x when every worker had made every chunk). This tier sits behind the
per-process cache: an answer one worker made is found by the others in a memory map, a
read transaction and a copy (microseconds), instead of being read and encoded again.

It holds what the per-process cache holds under its ``get``/``put`` keys (a committed
node's chunks, shards, meshes and JSON, and open-node answers keyed by a digest of what
they were made of; never the :class:`~voxhub.server.view_cache.Built` answers an open node
keeps with their source bytes). Keys are tuples of strings, numbers and ``None``, named by
a hash of their ``repr`` (the same in every process); any other key stays per-process.

The file is a cache, not data: ``voxhub serve`` makes it in a temporary directory when it
starts more than one worker and deletes it at exit; nothing is synced to disk.
``$VOXHUB_SHARED_VIEW_CACHE`` names a directory to use instead (several servers of one
machine may share it): ``voxhub serve`` empties it when it starts, since it may hold what
another version of voxhub made. Its budget is fixed by the map size;
when an answer does not fit, everything is dropped at once and filling starts over (the
per-process caches keep the hot answers meanwhile).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Hashable

import lmdb

from voxhub.cache_stats import cache_stats

#: the environment variable naming the directory of a server's shared tier
SHARED_VIEW_CACHE_ENV = "VOXHUB_SHARED_VIEW_CACHE"
_STATS = cache_stats("shared_view_cache")
_ABSENT, _PRESENT = b"\x00", b"\x01"  # an absent chunk (None) is an answer too
_CLEARED = b"cleared"  # how many times the file started over (key names are 20 bytes)
#: LMDB's smallest useful map: its own pages need room besides the answers
_MIN_MAP = 1 << 20


def key_name(key: Hashable) -> bytes | None:
    """The name of ``key`` in the shared file, or ``None`` if only this process may hold
    it (a part whose ``repr`` may differ between processes).

    >>> key_name(("node", "seg", None, 3)) == key_name(("node", "seg", None, 3))
    True
    >>> key_name(("node", object())) is None
    True
    """
    if not _portable(key):
        return None
    return hashlib.blake2b(repr(key).encode(), digest_size=20).digest()


def _portable(part: object) -> bool:
    if part is None or isinstance(part, (str, bytes, int, float, bool)):
        return True
    return isinstance(part, tuple) and all(_portable(p) for p in part)


class SharedViewCache:
    """The tier of one server's workers in directory ``path`` (created if needed), at most
    ``max_bytes`` of answers."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._env = lmdb.open(
            path,
            map_size=max(max_bytes, _MIN_MAP),
            sync=False,  # a cache: losing it loses nothing
            metasync=False,
            lock=True,  # several processes read and write it
            readahead=False,
            max_spare_txns=4,
        )
        self._drop_lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[bool, bytes | None]:
        """``(True, answer)`` if some worker put an answer for ``key``."""
        name = key_name(key)
        if name is None:
            return False, None
        with self._env.begin(buffers=True) as txn:
            found = txn.get(name)
            value = None if found is None else bytes(found)
        _STATS.count(hit=value is not None)
        if value is None:
            return False, None
        return True, (value[1:] if value[:1] == _PRESENT else None)

    def put(self, key: Hashable, answer: bytes | None) -> None:
        """Share ``answer`` (one bigger than half the budget is not)."""
        name = key_name(key)
        if name is None or (answer is not None and 2 * len(answer) > self.max_bytes):
            return
        value = _ABSENT if answer is None else _PRESENT + answer
        try:
            self._write(name, value)
        except lmdb.MapFullError:
            self.clear()  # full: start over (an LRU across processes costs more than it saves)
            with contextlib.suppress(lmdb.MapFullError):  # LMDB's own pages took the room
                self._write(name, value)

    def _write(self, name: bytes, value: bytes) -> None:
        with self._env.begin(write=True) as txn:
            txn.put(name, value)

    def clear(self) -> None:
        """Drop every shared answer."""
        with self._drop_lock:
            with self._env.begin(write=True) as txn:
                txn.drop(self._env.open_db(), delete=False)
            # LMDB reuses the pages a commit freed only two commits later (the previous
            # snapshot must stay whole): one more small commit makes them free for the
            # next answer
            with self._env.begin(write=True) as txn:
                cleared = int(txn.get(_CLEARED) or b"0") + 1
                txn.put(_CLEARED, str(cleared).encode())

    def close(self) -> None:
        self._env.close()


def shared_view_cache_from_env(max_bytes: int) -> SharedViewCache | None:
    """The tier named by ``$VOXHUB_SHARED_VIEW_CACHE`` (a worker of ``voxhub serve``);
    ``None`` when unset or when view caching is off (``max_bytes`` 0)."""
    path = os.environ.get(SHARED_VIEW_CACHE_ENV, "")
    if not path or max_bytes <= 0:
        return None
    return SharedViewCache(path, max_bytes)


def clear_shared_view_cache(path: str, max_bytes: int) -> None:
    """Empty the tier in ``path`` (``voxhub serve`` given one by
    ``$VOXHUB_SHARED_VIEW_CACHE``: what it holds may come from another voxhub version)."""
    tier = SharedViewCache(path, max_bytes)
    try:
        tier.clear()
    finally:
        tier.close()
