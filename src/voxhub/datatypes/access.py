"""What a datatype needs of whoever serves it: the catalog and the store behind it.

The service layer (:class:`voxhub.service.Service`) provides it; datatypes only see this
protocol, so they never import the layers above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from voxhub.storage.base import KVStore
from voxhub.versioning.catalog import Catalog


class StoreAccess(Protocol):
    """A catalog and the store it lives in (repo-wide counters live beside it)."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def store(self) -> KVStore: ...


@dataclass(frozen=True)
class CatalogAccess:
    """A :class:`StoreAccess` from a catalog alone (merge repairs, datatypes opened from
    a catalog)."""

    catalog: Catalog

    @property
    def store(self) -> KVStore:
        return self.catalog.store
