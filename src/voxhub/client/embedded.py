"""``EmbeddedHub``: the numpy API directly on a store in this process."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from voxhub.client.backend import ImageAccess
from voxhub.client.hub import Hub
from voxhub.client.neuronjson import login_user
from voxhub.datatypes.annotation.instance import AnnotationInstance
from voxhub.datatypes.keyvalue.instance import KeyValueInstance
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelsz.instance import LabelszInstance, open_labelsz
from voxhub.datatypes.neuronjson.instance import NeuronJsonInstance
from voxhub.datatypes.roi.instance import RoiInstance
from voxhub.datatypes.sync_config import build_synced, check_config_syncs
from voxhub.service import Service
from voxhub.storage import KVStore
from voxhub.versioning.catalog import Catalog, InstanceInfo, NodeInfo


class EmbeddedHub(Hub):
    """Repos in a store opened by this process (memory, LMDB or S3).

    >>> from voxhub.storage import open_store
    >>> hub = EmbeddedHub(open_store("memory://"))
    >>> hub.create_repo("demo").alias
    'demo'
    """

    catalog: Catalog

    def __init__(self, store: KVStore, *, read_only: bool = False) -> None:
        #: the service layer this hub stands on (the server uses the same one)
        self.service = Service(store)
        self.store = store
        self.catalog = self.service.catalog
        self.read_only = read_only  # enforced by the handles (Hub.check_writable)

    @classmethod
    def open(cls, location: str) -> EmbeddedHub:
        """Open the store at ``location`` (path, ``lmdb://``, ``memory://``, ``s3://``)."""
        return cls(Service.open(location).store)

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"EmbeddedHub({self.store.spec()!r}{mode})"

    def close(self) -> None:
        """Close the underlying store."""
        self.service.close()

    def bulk_writes(self) -> AbstractContextManager[None]:
        return self.store.bulk_writes()

    def merge_nodes(self, parents: Sequence[str], note: str, resolve: bool) -> NodeInfo:
        return self.service.merge_nodes(parents, note, resolve)

    def diff_keys(self, a: str, b: str, instance: str) -> list[str]:
        return self.service.diff_keys(a, b, instance)

    def open_labelsz(self, node_uuid: str, info: InstanceInfo) -> LabelszInstance:
        return open_labelsz(self.service, node_uuid, info)

    def create_synced(
        self, node_uuid: str, name: str, typename: str, config: dict[str, Any]
    ) -> InstanceInfo:
        node = self.catalog.node(node_uuid)
        config = check_config_syncs(self.service, node.repo, name, typename, config)
        info = self.catalog.create_instance(node.uuid, name, typename, config, at=node.uuid)
        build_synced(self.service, node.uuid, info)
        return info

    def open_labels(self, node_uuid: str, info: InstanceInfo) -> LabelInstance:
        return self.service.open_labels(node_uuid, info)

    def open_image(self, node_uuid: str, info: InstanceInfo) -> ImageAccess:
        return self.service.open_image(node_uuid, info)

    def open_annotations(self, node_uuid: str, info: InstanceInfo) -> AnnotationInstance:
        return AnnotationInstance(self.service, node_uuid, info)

    def open_roi(self, node_uuid: str, info: InstanceInfo) -> RoiInstance:
        return self.service.open_roi(node_uuid, info)

    def open_neuronjson(self, node_uuid: str, info: InstanceInfo) -> NeuronJsonInstance:
        view = self.catalog.view(node_uuid, info.name)
        return NeuronJsonInstance(view, info.name, default_user=login_user())

    def open_keyvalue(self, node_uuid: str, info: InstanceInfo) -> KeyValueInstance:
        return self.service.open_keyvalue(node_uuid, info)
