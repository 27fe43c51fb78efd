"""``Hub``: the entry point of the numpy API, over an embedded store or a remote server."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from voxhub.client.annotations import AnnotationAccess
from voxhub.client.backend import CatalogAPI, ImageAccess, LabelAccess
from voxhub.client.keyvalue import KeyValueAccess
from voxhub.client.labelsz import LabelszAccess
from voxhub.client.neuronjson import NeuronJsonAccess
from voxhub.client.node import Node
from voxhub.client.repo import Repo
from voxhub.client.roi import RoiAccess
from voxhub.errors import CapabilityError, NotFound, ReadOnlyError
from voxhub.versioning.catalog import InstanceInfo, NodeInfo


class Hub(ABC):
    """Repos in one store, embedded or behind a server. Open with :func:`voxhub.open`.

    >>> import voxhub
    >>> with voxhub.open("memory://") as hub:
    ...     repo = hub.create_repo("demo")
    ...     [r.alias for r in hub.repos()]
    ['demo']

    Subclasses provide :attr:`catalog` and the three data hooks below; everything a user
    calls is written once, here and in ``Repo``, ``Node`` and ``Volume``.
    """

    catalog: CatalogAPI
    #: set by ``voxhub.open(..., mode="r")``: every write through this hub is refused.
    read_only: bool = False

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release the store or the connection pool."""

    def check_writable(self, what: str) -> None:
        """Raise :class:`~voxhub.errors.ReadOnlyError` for ``what`` if opened read-only."""
        if self.read_only:
            raise ReadOnlyError(
                f"{what} refused: {self!r} was opened with mode='r'; open it with mode='r+' "
                "or 'a' to write"
            )

    def bulk_writes(self) -> AbstractContextManager[None]:
        """A context for a bulk import through this hub: an embedded store keeps less of
        what is written cached (:meth:`KVStore.bulk_writes
        <voxhub.storage.base.KVStore.bulk_writes>`); a remote hub ignores it."""
        return nullcontext()

    def forget_extents(self, node_uuid: str, instance: str) -> None:  # noqa: B027 (no-op hook)
        """Drop any cached extents of ``instance`` at ``node_uuid`` (only remote hubs
        cache them: embedded reads are always current)."""

    def open_labelsz(self, node_uuid: str, info: InstanceInfo) -> LabelszAccess:
        """The labelsz instance ``info`` at ``node_uuid``."""
        raise CapabilityError(f"labelsz instances are not available through {self!r} yet")

    def create_synced(
        self, node_uuid: str, name: str, typename: str, config: dict[str, Any]
    ) -> InstanceInfo:
        """Create an instance whose config names other instances (``sync``, an ROI) at the
        open node ``node_uuid``: checked against the repo (400 naming what is wrong),
        then its derived data built from what they hold. A server does both itself."""
        return self.catalog.create_instance(node_uuid, name, typename, config, at=node_uuid)

    # -- data hooks (used by Repo, Node and Volume) -------------------------------------
    @abstractmethod
    def merge_nodes(self, parents: Sequence[str], note: str, resolve: bool) -> NodeInfo:
        """Merge committed ``parents`` (priority order) into a new open node."""

    @abstractmethod
    def diff_keys(self, a: str, b: str, instance: str) -> list[str]:
        """Described keys of ``instance`` whose values differ between nodes ``a`` and ``b``."""

    @abstractmethod
    def open_image(self, node_uuid: str, info: InstanceInfo) -> ImageAccess:
        """Voxel access to the image instance ``info`` at ``node_uuid``."""

    def open_labels(self, node_uuid: str, info: InstanceInfo) -> LabelAccess:
        """The labelmap instance ``info`` at ``node_uuid``."""
        raise CapabilityError(f"labelmap instances are not available through {self!r} yet")

    def open_annotations(self, node_uuid: str, info: InstanceInfo) -> AnnotationAccess:
        """The annotation instance ``info`` at ``node_uuid``."""
        raise CapabilityError(f"annotation instances are not available through {self!r} yet")

    def open_roi(self, node_uuid: str, info: InstanceInfo) -> RoiAccess:
        """The roi instance ``info`` at ``node_uuid``."""
        raise CapabilityError(f"roi instances are not available through {self!r}")

    def open_neuronjson(self, node_uuid: str, info: InstanceInfo) -> NeuronJsonAccess:
        """The neuronjson instance ``info`` at ``node_uuid``."""
        raise CapabilityError(f"neuronjson instances are not available through {self!r}")

    def open_keyvalue(self, node_uuid: str, info: InstanceInfo) -> KeyValueAccess:
        """The keyvalue instance ``info`` at ``node_uuid``."""
        raise CapabilityError(f"keyvalue instances are not available through {self!r}")

    # -- repos --------------------------------------------------------------------------
    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> Repo:
        """Create a repo with one open root node on branch master."""
        self.check_writable("create_repo")
        info = self.catalog.create_repo(alias, description, root=root)
        return Repo(self, info.root)

    def repos(self) -> list[Repo]:
        """Every repo in the store."""
        return [Repo(self, r.root) for r in self.catalog.repos()]

    def repo(self, ref: str) -> Repo:
        """A repo by alias, or by the UUID (or unique prefix) of any of its nodes."""
        by_alias = self.catalog.repo_by_alias(ref)  # aliases are unique
        if by_alias is not None:
            return Repo(self, by_alias.root)
        try:
            return Repo(self, self.catalog.repo(ref).root)
        except NotFound:
            raise NotFound(f"no repo with alias or node UUID {ref!r}") from None

    def node(self, ref: str) -> Node:
        """A node by UUID, unique prefix, ``uuid:branch`` or ``:branch~N``."""
        return Node(self, self.catalog.node(ref).uuid)
