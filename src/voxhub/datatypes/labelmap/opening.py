"""Opening a labelmap instance at a node from the catalog and the store that holds it."""

from __future__ import annotations

from typing import Protocol

from voxhub.datatypes.imageblk.config import instance_config
from voxhub.datatypes.labelmap.history import Versions
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.mutations import INITIAL_MUTATION_ID
from voxhub.datatypes.labelmap.synced import LabelSync
from voxhub.storage.base import KVStore
from voxhub.versioning.catalog import Catalog, InstanceInfo
from voxhub.versioning.counters import StoreCounters


class StoreHub(Protocol):
    """What opening needs of a hub: its catalog and its store (an embedded hub)."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def store(self) -> KVStore: ...


def counters_for(store: KVStore, info: InstanceInfo) -> StoreCounters:
    """The repo-wide label and mutation counters of the labelmap ``info``."""
    return StoreCounters(store, info.repo, info.data_uuid, INITIAL_MUTATION_ID)


def open_label_instance(hub: StoreHub, node_uuid: str, info: InstanceInfo) -> LabelInstance:
    """The labelmap ``info`` as seen at ``node_uuid`` (blocking: reads the catalog); its
    history methods open it at other versions of the repo the same way."""
    view = hub.catalog.view(node_uuid, info.name)
    config = instance_config(info)
    versions = Versions(hub.catalog.node, lambda uuid: open_label_instance(hub, uuid, info))
    sync = LabelSync(hub, node_uuid, info)
    counters = counters_for(hub.store, info)
    return LabelInstance(view, config, info.name, counters, versions, sync)
