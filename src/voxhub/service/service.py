"""``Service``: one opened store with its catalog, and everything built on both.

It opens data instances at a node (images with a byte limit, labelmaps with their
repo-wide counters), merges version nodes with each datatype's repair of derived data,
and describes diffs with each datatype's key names. It holds no numpy-API objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from voxhub.datatypes.imageblk.instance import ImageInstance
from voxhub.datatypes.imageblk.opening import open_image_instance
from voxhub.datatypes.keyvalue.instance import KeyValueInstance
from voxhub.datatypes.keyvalue.opening import open_keyvalue_instance
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.opening import open_label_instance
from voxhub.datatypes.merge import merge_nodes
from voxhub.datatypes.registry import datatype_for
from voxhub.datatypes.roi.instance import RoiInstance, open_roi_instance
from voxhub.errors import InvalidRequest
from voxhub.service.repo_cache import RepoCache
from voxhub.storage import KVStore, open_store
from voxhub.storage.timed import StoreTimer, TimedStore
from voxhub.versioning.catalog import Catalog, InstanceInfo, NodeInfo


class Service:
    """A store opened by this process (memory, LMDB or S3) and its catalog.

    >>> from voxhub.storage import open_store
    >>> service = Service(open_store("memory://"))
    >>> service.catalog.create_repo("demo").alias
    'demo'
    """

    def __init__(self, store: KVStore) -> None:
        self._store = store
        self._catalog = Catalog(store)
        #: values derived from repos' records (``/api/repos/info``), per generation
        self.repo_cache = RepoCache(self._catalog)

    @classmethod
    def open(cls, location: str) -> Service:
        """Open the store at ``location`` (path, ``lmdb://``, ``memory://``, ``s3://``)."""
        if location.startswith(("http://", "https://")):
            raise InvalidRequest(
                f"{location!r} is a server URL, not a store: open it with voxhub.open"
            )
        return cls(open_store(location))

    def timed(self, timer: StoreTimer) -> Service:
        """A service over the same store that reports each store operation's duration to
        ``timer`` (the server's ``/metrics``). Its catalog is its own (caches included),
        as another process's would be; closing either closes the store."""
        return Service(TimedStore(self._store, timer))

    @property
    def store(self) -> KVStore:
        return self._store

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    @property
    def fast_reads(self) -> bool:
        """Whether small reads may run on an event loop (the store reads in microseconds)."""
        return bool(getattr(self._store, "low_latency_reads", False))

    def close(self) -> None:
        """Close the store."""
        self._store.close()

    def __repr__(self) -> str:
        return f"Service({self._store.spec()!r})"

    # -- instances ------------------------------------------------------------------------
    def open_image(
        self, node_uuid: str, info: InstanceInfo, *, limit_bytes: int | None = None
    ) -> ImageInstance:
        """The image instance ``info`` at ``node_uuid`` (blocking: reads the catalog)."""
        return open_image_instance(self._catalog, node_uuid, info, limit_bytes)

    def open_labels(self, node_uuid: str, info: InstanceInfo) -> LabelInstance:
        """The labelmap instance ``info`` at ``node_uuid`` (blocking: reads the catalog)."""
        return open_label_instance(self, node_uuid, info)

    def open_roi(self, node_uuid: str, info: InstanceInfo) -> RoiInstance:
        """The roi instance ``info`` at ``node_uuid`` (blocking: reads the catalog)."""
        return open_roi_instance(self._catalog, node_uuid, info)

    def open_keyvalue(self, node_uuid: str, info: InstanceInfo) -> KeyValueInstance:
        """The keyvalue instance ``info`` at ``node_uuid`` (blocking: reads the catalog)."""
        return open_keyvalue_instance(self._catalog, node_uuid, info)

    # -- versions -------------------------------------------------------------------------
    def merge_nodes(self, parents: Sequence[str], note: str, resolve: bool) -> NodeInfo:
        """Merge committed ``parents`` (priority order) into a new open node, recomputing
        each instance's derived data."""
        return merge_nodes(self._catalog, parents, note=note, resolve=resolve)

    def diff_keys(self, a: str, b: str, instance: str) -> list[str]:
        """Keys of ``instance`` whose values differ between nodes ``a`` and ``b``, each
        described by its datatype."""
        info = self._catalog.instance(a, instance)
        datatype = datatype_for(info.typename)
        tkeys = self._catalog.diff(a, b, instance)
        if datatype.diff_items is not None:  # e.g. annotation elements, not their blocks
            return datatype.diff_items(self._catalog, a, b, info, tkeys)
        # several tkeys may describe one key (a keyvalue's chunks): each is listed once
        return list(dict.fromkeys(datatype.describe_tkey(k) for k in tkeys))


class ServiceOwner(Protocol):
    """Anything that serves through a :class:`Service` (an embedded hub does)."""

    @property
    def service(self) -> Service: ...
