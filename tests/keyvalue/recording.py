"""A memory store that remembers the largest value it was asked to store and counts the
chunk reads of keyvalue instances."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from voxhub.datatypes.keyvalue.keys import KEY_CHUNK
from voxhub.datatypes.keyvalue.mutlog import KEY_RECORD
from voxhub.storage.memory import MemoryStore
from voxhub.versioning.keys import DATA_PREFIX, INSTANCE_WIDTH

_TKEY_AT = len(DATA_PREFIX) + INSTANCE_WIDTH


class RecordingStore(MemoryStore):
    """Every write of any path (put, batch, transaction) lands in ``_put_locked``; every
    versioned read of a value in ``pick_values``."""

    def __init__(self) -> None:
        super().__init__()
        self.largest_data_put = 0
        self.chunk_reads = 0

    def _put_locked(self, key: bytes, value: bytes) -> None:
        if key[:1] == DATA_PREFIX and key[_TKEY_AT] != KEY_RECORD:  # not a mutation record
            self.largest_data_put = max(self.largest_data_put, len(value))
        super()._put_locked(key, value)

    def pick_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
    ) -> list[bytes | None]:
        self.chunk_reads += sum(
            1 for start, _ in ranges if start[:1] == DATA_PREFIX and start[_TKEY_AT] == KEY_CHUNK
        )
        return super().pick_values(ranges, choose)
