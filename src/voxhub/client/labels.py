"""``LabelVolume``: a numpy-shaped handle on a labelmap instance at one version node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from voxhub.client.backend import LabelAccess
from voxhub.client.domain import BoundedVolume, read_index, write_index
from voxhub.client.results import (
    CleaveResult,
    MergeResult,
    RenumberResult,
    SplitResult,
    SupervoxelSplit,
)
from voxhub.client.slicing import IndexKey
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.mutations import Who
from voxhub.datatypes.meshes.body import Triangles
from voxhub.errors import InvalidRequest, NotFound
from voxhub.geometry import Box, Vec3, vec3

if TYPE_CHECKING:
    from voxhub.client.node import Node


class LabelVolume(BoundedVolume):
    """A segmentation: uint64 supervoxel ids grouped into bodies by a versioned mapping.

    ``lv[...]`` reads body ids, ``lv.sv[...]`` supervoxel ids; ``lv[...] = ids`` writes
    supervoxels. Mutations (``merge``, ``cleave``) change only the mapping and the label
    index, at this node only, and return a typed result (:mod:`voxhub.client.results`).
    Bounds and slicing follow the same contract as :class:`~voxhub.client.Volume`: a numpy
    domain from the origin to the extents' stop corner, grown by writes past it.

    >>> import voxhub, numpy as np
    >>> node = voxhub.open("memory://").create_repo("seg").master
    >>> lv = node.create_labels("segmentation", block_shape=(16, 16, 16))
    >>> lv[0:16, 0:16, 0:16] = np.repeat([1, 2], 8).reshape(1, 1, 16)
    >>> lv.size(1), lv.supervoxels(2)
    (2048, [2])
    >>> lv.shape, lv[:].shape
    ((16, 16, 16), (16, 16, 16))
    >>> result = lv.merge(1, [2])   # a MergeResult(mutation_id=...)
    >>> lv.size(1), sorted(set(lv[0, 0, :].tolist())), sorted(set(lv.sv[0, 0, :].tolist()))
    (4096, [1], [1, 2])
    """

    _instance: LabelAccess

    def __init__(self, node: Node, name: str, instance: LabelAccess) -> None:
        self._node = node
        self.name = name
        self._instance = instance
        self.sv = _SupervoxelView(self)

    def __repr__(self) -> str:
        return f"LabelVolume({self.name!r}, node={self._node.uuid[:8]})"

    @property
    def node(self) -> Node:
        return self._node

    @property
    def config(self) -> ImageConfig:
        """The volume's settings (block shape, voxel size, pyramid levels)."""
        return self._instance.config

    @property
    def block_shape(self) -> Vec3:
        return self._instance.config.block_shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(np.uint64)

    @property
    def max_scale(self) -> int:
        """The coarsest label pyramid level (0 = no pyramid)."""
        return self._instance.config.max_scale

    # -- voxels --------------------------------------------------------------------------
    def read(self, box: Box, scale: int = 0, *, supervoxels: bool = False) -> np.ndarray:
        return self._instance.read(box, scale, supervoxels=supervoxels)

    def write(self, offset: Vec3 | tuple[int, int, int], data: Any) -> None:
        self._writable(f"write to {self.name!r}")
        self._instance.write(vec3(offset, "offset"), np.asarray(data))

    def __getitem__(self, key: IndexKey) -> Any:
        return self._read(key, supervoxels=False)

    def __setitem__(self, key: IndexKey, value: Any) -> None:
        self._writable(f"write to {self.name!r}")
        write_index(self._instance.write, key, self.shape, value)

    def _read(self, key: IndexKey, *, supervoxels: bool) -> Any:
        def read(box: Box) -> np.ndarray:
            return self._instance.read(box, 0, supervoxels=supervoxels)

        return read_index(read, key, self.shape, self.dtype)

    def _writable(self, what: str) -> None:
        self._node.hub.check_writable(what)

    def _who(self, user: str, app: str) -> Who:
        return Who(user, app or "voxhub-python")

    # -- labels --------------------------------------------------------------------------
    def size(self, label: int, *, supervoxels: bool = False) -> int:
        """Voxels of body ``label`` (or of supervoxel ``label``)."""
        return self._instance.size(label, supervoxels=supervoxels)

    def supervoxels(self, label: int) -> list[int]:
        return self._instance.supervoxels(label)

    def supervoxel_sizes(self, label: int) -> dict[int, int]:
        return self._instance.supervoxel_sizes(label)

    def bbox(self, label: int, *, supervoxels: bool = False) -> Box:
        return self._instance.bbox(label, supervoxels=supervoxels)

    def mesh(self, body: int) -> Triangles:
        """The surface of ``body`` as a closed triangle mesh: ``.vertices`` ``(n, 3)`` in
        nm with columns **x, y, z** (as mesh tools have them), ``.faces`` ``(m, 3)``.
        Marching cubes of its voxels at the finest pyramid level where it spans at most
        a few hundred blocks; the same mesh neuroglancer gets from the precomputed view's
        ``mesh/`` (finest level of detail). Needs the ``mesh`` extra (zmesh, DracoPy)."""
        return self._instance.mesh(body)

    def index(self, label: int, mutid: int | None = None) -> LabelIndex:
        """The label index of body ``label``: ``.blocks[(z, y, x)][sv] = voxels``, ``.meta``
        (last mutation, user, app, time). With ``mutid``, as it stood just before that
        mutation (NotFound if the body had no index then)."""
        return self._instance.index(label, mutid=mutid)

    def ingest_indices(self, indices: list[LabelIndex]) -> None:
        """Store label indexes computed elsewhere, as given, all or none (DVID's ``POST
        indices``); one with no blocks deletes the body's index."""
        self._writable("ingest_indices")
        self._instance.ingest_indices(list(indices))

    def ingest_mappings(self, bodies: dict[int, int]) -> None:
        """Map supervoxels to bodies ``{sv: body}``, all or none (DVID's ``POST
        mappings``); label indexes are left as they are (ingest them too)."""
        self._writable("ingest_mappings")
        self._instance.ingest_mappings(dict(bodies))

    def write_blocks(self, blocks: Mapping[Vec3, Any]) -> None:
        """Write whole blocks of supervoxel ids ``{(z, y, x) block coordinate: array of the
        block shape}`` at scale 0 (DVID's ``POST blocks``); the label index, pyramid,
        extents and max label follow. Embedded: one transaction; remote: one per request
        of at most 32 MiB of blocks."""
        self._writable("write_blocks")
        self._instance.write_blocks(self._checked_blocks(blocks, 0))

    def ingest_supervoxels(self, blocks: Mapping[Vec3, Any], scale: int = 0) -> None:
        """Replace whole blocks of supervoxel ids at ``scale`` as given (DVID's
        ``ingest-supervoxels``, for pipelines that compute their own pyramid and label
        indexes): nothing else is derived; ingest the indexes with
        :meth:`ingest_indices`."""
        self._writable("ingest_supervoxels")
        self._instance.ingest_blocks(scale, self._checked_blocks(blocks, scale))

    def _checked_blocks(self, blocks: Mapping[Vec3, Any], scale: int) -> dict[Vec3, np.ndarray]:
        config = self._instance.config
        config.check_scale(scale, self.name)
        shape = config.layout(scale).block_shape
        checked: dict[Vec3, np.ndarray] = {}
        for coord, data in blocks.items():
            c = vec3(coord, "block coordinate")
            array = np.asarray(data)
            if array.shape != shape:
                raise InvalidRequest(f"block {c} has shape {array.shape}, not {shape}")
            if array.dtype.kind not in "ui" or (array.dtype.kind == "i" and (array < 0).any()):
                raise InvalidRequest(f"block {c}: supervoxel ids must be unsigned integers")
            checked[c] = np.ascontiguousarray(array, dtype=np.uint64)
        return checked

    def sparsevol(
        self,
        label: int,
        *,
        supervoxels: bool = False,
        scale: int = 0,
        bounds: Box | None = None,
    ) -> np.ndarray:
        """Runs ``[x, y, z, length]`` (int32 rows) covering the label's voxels at pyramid
        level ``scale`` (in that level's voxels), within the ``(z, y, x)`` box ``bounds``
        if given. :class:`NotFound` if there are none (as over HTTP)."""
        runs = self._instance.sparsevol(label, supervoxels=supervoxels, scale=scale, within=bounds)
        if not len(runs):
            raise NotFound(f"label {label} has no voxels at scale {scale} within {bounds}")
        return runs

    def mapping(self, supervoxels: list[int]) -> list[int]:
        return self._instance.mapping(supervoxels)

    def ids_in(self, box: Box, *, supervoxels: bool = False) -> list[int]:
        return self._instance.ids_in(box, supervoxels=supervoxels)

    def labels(self) -> list[int]:
        return self._instance.labels()

    def maxlabel(self) -> int:
        return self._instance.maxlabel()

    def next_labels(self, count: int) -> range:
        """Reserve ``count`` fresh label ids; this version's maxlabel rises to the last
        (DVID's rule)."""
        self._writable("next_labels")
        return self._instance.next_labels(count)

    def set_maxlabel(self, label: int) -> None:
        """Raise this version's maxlabel to ``label`` (a smaller one changes nothing);
        reservations and new bodies then get ids above it."""
        self._writable("set_maxlabel")
        self._instance.set_maxlabel(label)

    def lastmod(self, label: int) -> dict[str, Any]:
        return self._instance.lastmod(label)

    def mutations(self, userid: str | None = None) -> list[dict[str, Any]]:
        """The mutation records made at this version (not its ancestors'), oldest first,
        as DVID's ``GET mutations`` gives them; only ``userid``'s with ``userid``."""
        return self._instance.mutations(userid)

    def mutations_range(self, beg: str, end: str) -> list[dict[str, Any]]:
        """The records of versions ``end`` back to ``beg`` (UUIDs or refs) along first
        parents, ``end``'s first, as DVID's ``mutations-range``."""
        return self._instance.mutations_range(beg, end)

    def history(self, label: int, old: str, new: str) -> list[dict[str, Any]]:
        """The merges, cleaves and splits from version ``old`` to ``new`` that made body
        ``label`` at ``new``, oldest first, as DVID's ``history`` (``{"Action": "merge",
        "Target", "Labels"}``...)."""
        return self._instance.history(label, old, new)

    def supervoxel_splits(self) -> list[Any]:
        """``[uuid, [[mutation id, supervoxel, remain, split], ...], ...]`` for this
        version and its first-parent ancestors, nearest first (DVID's
        ``supervoxel-splits``)."""
        return self._instance.supervoxel_splits()

    def merge(
        self, target: int, others: list[int], *, user: str = "", app: str = ""
    ) -> MergeResult:
        """Merge bodies ``others`` into ``target``."""
        self._writable("merge")
        return MergeResult(self._instance.merge(target, list(others), self._who(user, app)))

    def cleave(
        self, body: int, supervoxels: list[int], *, user: str = "", app: str = ""
    ) -> CleaveResult:
        """Move ``supervoxels`` of ``body`` to a new body (``cleaved_body``)."""
        self._writable("cleave")
        return CleaveResult(*self._instance.cleave(body, list(supervoxels), self._who(user, app)))

    def split_supervoxel(
        self, sv: int, runs: np.ndarray, *, user: str = "", app: str = ""
    ) -> SupervoxelSplit:
        """Split supervoxel ``sv``: voxels inside ``runs`` (``[x, y, z, length]`` rows, as
        from :meth:`sparsevol`) get one fresh id, the rest another."""
        self._writable("split_supervoxel")
        who = self._who(user, app)
        return SupervoxelSplit(*self._instance.split_supervoxel(sv, np.asarray(runs), who))

    def split(self, body: int, runs: np.ndarray, *, user: str = "", app: str = "") -> SplitResult:
        """Move the voxels of ``body`` inside ``runs`` to a new body (``new_body``)."""
        self._writable("split")
        return SplitResult(*self._instance.split(body, np.asarray(runs), self._who(user, app)))

    def renumber(self, pairs: dict[int, int], *, user: str = "", app: str = "") -> RenumberResult:
        """Give bodies new ids: ``{old: new}``, all pairs or none (one mutation each)."""
        self._writable("renumber")
        items = [(new, old) for old, new in pairs.items()]
        ids = self._instance.renumber(items, self._who(user, app))
        return RenumberResult(ids[-1], tuple(ids))

    def build_pyramid(self) -> None:
        """Recompute every pyramid level from scale 0."""
        self._writable(f"pyramid of {self.name!r}")
        self._instance.build_pyramid()


class _SupervoxelView:
    """``lv.sv[...]``: supervoxel ids instead of bodies, on the same bounds."""

    def __init__(self, labels: LabelVolume) -> None:
        self._labels = labels

    def __getitem__(self, key: IndexKey) -> Any:
        return self._labels._read(key, supervoxels=True)
