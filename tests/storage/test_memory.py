"""The in-memory reference store passes the conformance suite."""

from voxhub.storage import KVStore, MemoryStore
from voxhub.testing.store import StoreTests


class TestMemoryStore(StoreTests):
    def make_store(self) -> KVStore:
        return MemoryStore()
