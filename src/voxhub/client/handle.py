"""What every instance handle of the numpy API holds: its node, its name and the access
object (embedded or remote) that does the work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from voxhub.client.node import Node

A = TypeVar("A")


class InstanceHandle(Generic[A]):
    """An instance seen at one node through ``access`` (the same class embedded and
    remote: only ``access`` differs)."""

    def __init__(self, node: Node, name: str, access: A) -> None:
        self._node = node
        self.name = name
        self._access = access

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, node={self._node.uuid[:8]})"

    @property
    def node(self) -> Node:
        """The node this handle reads and writes."""
        return self._node

    def _writable(self, what: str) -> None:
        """Refuse ``what`` on a read-only hub (before any request is made)."""
        self._node.hub.check_writable(f"{what} of {self.name!r}")
