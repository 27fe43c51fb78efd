"""A memory store that counts the reads made of it: tests that a cached path reads
nothing (``tests/server/test_view_names.py``, ``tests/views/test_open_answers.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from voxhub.storage.memory import MemoryStore


class CountedReads(MemoryStore):
    """A memory store that counts its read calls."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return super().get(key)

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        self.reads += 1
        return super().get_many(keys)

    def scan(
        self, start: bytes, end: bytes | None = None, *, keys_only: bool = False
    ) -> Iterator[tuple[bytes, bytes | None]]:
        self.reads += 1
        return super().scan(start, end, keys_only=keys_only)

    def pick_values(
        self,
        ranges: Sequence[tuple[bytes, bytes]],
        choose: Callable[[Iterator[bytes]], bytes | None],
    ) -> list[bytes | None]:
        self.reads += 1
        return super().pick_values(ranges, choose)
