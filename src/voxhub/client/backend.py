"""What the numpy API needs from where the data lives: an embedded store or a server.

:class:`~voxhub.client.Hub` and its ``Repo``/``Node``/``Volume`` handles talk only to
these two protocols, so the same classes work on ``voxhub.open(path)`` (the
:class:`~voxhub.versioning.catalog.Catalog` and
:class:`~voxhub.datatypes.imageblk.ImageInstance` satisfy them directly) and on
``voxhub.open("http://...")`` (their HTTP counterparts in :mod:`voxhub.client.remote`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from voxhub.datatypes.imageblk import ImageConfig
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo


class CatalogAPI(Protocol):
    """Repos, the version DAG and instance records (a subset of ``Catalog``)."""

    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> RepoInfo: ...

    def repos(self) -> list[RepoInfo]: ...

    def repo(self, ref: str) -> RepoInfo: ...

    def update_repo(
        self,
        ref: str,
        *,
        alias: str | None = None,
        description: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> RepoInfo: ...

    def append_repo_log(self, ref: str, lines: Sequence[str]) -> RepoInfo: ...

    def node(self, ref: str) -> NodeInfo: ...

    def nodes(self, repo_ref: str) -> list[NodeInfo]: ...

    def commit(self, ref: str, *, note: str | None = None, log: Sequence[str] = ()) -> NodeInfo: ...

    def newversion(self, ref: str, *, note: str = "", uuid: str | None = None) -> NodeInfo: ...

    def branch(
        self, ref: str, name: str, *, note: str = "", uuid: str | None = None
    ) -> NodeInfo: ...

    def set_note(self, ref: str, note: str) -> NodeInfo: ...

    def append_node_log(self, ref: str, lines: Sequence[str]) -> NodeInfo: ...

    def branch_versions(self, repo_ref: str, branch: str) -> list[str]: ...

    def log(self, ref: str) -> list[NodeInfo]: ...

    def create_instance(
        self,
        repo_ref: str,
        name: str,
        typename: str,
        config: dict[str, Any],
        *,
        versioned: bool = True,
        at: str | None = None,
    ) -> InstanceInfo: ...

    def instance(self, repo_ref: str, name: str) -> InstanceInfo: ...

    def instances(self, repo_ref: str) -> list[InstanceInfo]: ...


class ImageAccess(Protocol):
    """Voxel reads and writes of one image instance at one node."""

    @property
    def config(self) -> ImageConfig: ...

    def read(self, box: Box, scale: int = 0) -> np.ndarray: ...

    def write(self, offset: Vec3, data: Any) -> None: ...

    def extents(self, scale: int = 0) -> Box | None: ...

    def build_pyramid(self) -> None: ...
