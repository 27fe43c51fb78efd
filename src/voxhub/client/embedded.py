"""``EmbeddedHub``: the numpy API directly on a store in this process."""

from __future__ import annotations

from collections.abc import Sequence

from voxhub.client.backend import ImageAccess
from voxhub.client.hub import Hub
from voxhub.datatypes.imageblk import ImageConfig, ImageInstance
from voxhub.datatypes.labelmap.instance import LabelInstance
from voxhub.datatypes.labelmap.opening import open_label_instance
from voxhub.datatypes.merge import merge_nodes
from voxhub.datatypes.registry import datatype_for
from voxhub.errors import InvalidRequest
from voxhub.storage import KVStore, open_store
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
        self.store = store
        self.read_only = read_only  # enforced by the handles (Hub.check_writable)
        self.catalog = Catalog(store)

    @classmethod
    def open(cls, location: str) -> EmbeddedHub:
        """Open the store at ``location`` (path, ``lmdb://``, ``memory://``, ``s3://``)."""
        if location.startswith(("http://", "https://")):
            raise InvalidRequest(
                f"{location!r} is a server URL, not a store: open it with voxhub.open"
            )
        return cls(open_store(location))

    def __repr__(self) -> str:
        mode = ", read_only=True" if self.read_only else ""
        return f"EmbeddedHub({self.store.spec()!r}{mode})"

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def merge_nodes(self, parents: Sequence[str], note: str, resolve: bool) -> NodeInfo:
        return merge_nodes(self.catalog, parents, note=note, resolve=resolve)

    def diff_keys(self, a: str, b: str, instance: str) -> list[str]:
        describe = datatype_for(self.catalog.instance(a, instance).typename).describe_tkey
        return [describe(k) for k in self.catalog.diff(a, b, instance)]

    def open_labels(self, node_uuid: str, info: InstanceInfo) -> LabelInstance:
        return open_label_instance(self, node_uuid, info)

    def open_image(self, node_uuid: str, info: InstanceInfo) -> ImageAccess:
        view = self.catalog.view(node_uuid, info.name)
        return ImageInstance(view, ImageConfig.from_json(info.config), info.name)
