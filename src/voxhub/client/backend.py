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
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.mutations import Who
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo


class CatalogAPI(Protocol):
    """Repos, the version DAG and instance records (a subset of ``Catalog``)."""

    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> RepoInfo: ...

    def repos(self) -> list[RepoInfo]: ...

    def repo(self, ref: str) -> RepoInfo: ...

    def repo_by_alias(self, alias: str) -> RepoInfo | None: ...

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

    def node_log(self, ref: str) -> list[str]: ...

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


class LabelAccess(Protocol):
    """Supervoxels, bodies, the label index and mutations of one labelmap instance at one
    node (:class:`~voxhub.datatypes.labelmap.instance.LabelInstance` embedded,
    :class:`~voxhub.client.remote.labels.RemoteLabels` over HTTP)."""

    @property
    def config(self) -> ImageConfig: ...

    def read(self, box: Box, scale: int = 0, *, supervoxels: bool = False) -> np.ndarray: ...

    def write(self, offset: Vec3, data: Any) -> None: ...

    def extents(self, scale: int = 0) -> Box | None: ...

    def build_pyramid(self) -> None: ...

    def mapping(self, supervoxels: list[int]) -> list[int]: ...

    def index(self, label: int, *, supervoxels: bool = False) -> LabelIndex: ...

    def size(self, label: int, *, supervoxels: bool = False) -> int: ...

    def supervoxels(self, label: int) -> list[int]: ...

    def supervoxel_sizes(self, label: int) -> dict[int, int]: ...

    def lastmod(self, label: int) -> dict[str, Any]: ...

    def bbox(self, label: int, *, supervoxels: bool = False) -> Box: ...

    def sparsevol(
        self,
        label: int,
        *,
        supervoxels: bool = False,
        scale: int = 0,
        within: Box | None = None,
    ) -> np.ndarray: ...

    def ids_in(self, box: Box, *, supervoxels: bool = False) -> list[int]: ...

    def labels(self) -> list[int]: ...

    def maxlabel(self) -> int: ...

    def next_labels(self, count: int) -> range: ...

    def set_maxlabel(self, label: int) -> None: ...

    def mutations(self, userid: str | None = None) -> list[dict[str, Any]]: ...

    def mutations_range(self, beg: str, end: str) -> list[dict[str, Any]]: ...

    def history(self, label: int, old: str, new: str) -> list[dict[str, Any]]: ...

    def supervoxel_splits(self) -> list[Any]: ...

    def merge(self, target: int, sources: list[int], who: Who | None = None) -> int: ...

    def cleave(
        self, body: int, supervoxels: list[int], who: Who | None = None
    ) -> tuple[int, int]: ...

    def split_supervoxel(
        self, sv: int, runs: np.ndarray, who: Who | None = None
    ) -> tuple[int, int, int]: ...

    def split(self, body: int, runs: np.ndarray, who: Who | None = None) -> tuple[int, int]: ...

    def renumber(self, pairs: list[tuple[int, int]], who: Who | None = None) -> list[int]: ...
