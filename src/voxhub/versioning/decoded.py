"""``DecodedRecords``: catalog records decoded once per distinct stored bytes.

Every instance request reads its node's and its instance's records from the store, and
decoding their JSON (and building the frozen dataclasses) cost more than the reads
themselves. The cache is keyed by the record's exact stored bytes, so it can never serve
a stale record: the store is still read on every call (a ``get`` on a memory map), and a
record changed by any writer (this process, another worker, another program sharing the
store) has other bytes and is decoded afresh. Records are canonical JSON
(:mod:`.records`), so equal records have equal bytes and an unchanged record hits.

The records are frozen dataclasses shared by every caller that read the same bytes;
their ``dict`` fields (an instance's ``config`` and ``tags``) must not be changed in
place (the catalog's updates build new dicts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from voxhub.cache_stats import cache_stats

R = TypeVar("R")

#: distinct records kept before the cache starts over
MAX_ENTRIES = 4096
#: larger records (a node with a long log) are decoded every time, never kept
MAX_RECORD_BYTES = 16 * 1024


class DecodedRecords(Generic[R]):
    """``decode(raw)``, kept per exact ``raw`` bytes (bounded; thread-safe)."""

    def __init__(self, name: str, decode: Callable[[bytes], R]) -> None:
        self._decode = decode
        self._entries: dict[bytes, R] = {}
        self._lock = threading.Lock()
        self._stats = cache_stats(name)

    def __call__(self, raw: bytes) -> R:
        key = raw if type(raw) is bytes else bytes(raw)
        found = self._entries.get(key)
        self._stats.count(hit=found is not None)
        if found is not None:
            return found
        record = self._decode(key)
        if len(key) <= MAX_RECORD_BYTES:
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = record
        return record
