"""``LabelVolume``: a numpy-shaped handle on a labelmap instance at one version node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from voxhub.client.backend import LabelAccess
from voxhub.client.slicing import IndexKey, select, write_selection
from voxhub.datatypes.labelmap.mutations import Who
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3

if TYPE_CHECKING:
    from voxhub.client.node import Node


class LabelVolume:
    """A segmentation: uint64 supervoxel ids grouped into bodies by a versioned mapping.

    ``lv[...]`` reads body ids, ``lv.sv[...]`` supervoxel ids; ``lv[...] = ids`` writes
    supervoxels. Mutations (``merge``, ``cleave``) change only the mapping and the label
    index, at this node only.

    >>> import voxhub, numpy as np
    >>> node = voxhub.open("memory://").create_repo("seg").master
    >>> lv = node.create_labels("segmentation", block_shape=(16, 16, 16))
    >>> lv[0:16, 0:16, 0:16] = np.repeat([1, 2], 8).reshape(1, 1, 16)
    >>> lv.size(1), lv.supervoxels(2)
    (2048, [2])
    >>> mutation = lv.merge(1, [2])
    >>> lv.size(1), sorted(set(lv[0, 0, :].tolist())), sorted(set(lv.sv[0, 0, :].tolist()))
    (4096, [1], [1, 2])
    """

    def __init__(self, node: Node, name: str, instance: LabelAccess) -> None:
        self._node = node
        self.name = name
        self._instance = instance
        self.sv = _SupervoxelView(instance)

    def __repr__(self) -> str:
        return f"LabelVolume({self.name!r}, node={self._node.uuid[:8]})"

    @property
    def node(self) -> Node:
        return self._node

    @property
    def block_shape(self) -> Vec3:
        return self._instance.config.block_shape

    def extents(self, scale: int = 0) -> Box | None:
        return self._instance.extents(scale)

    @property
    def bounds(self) -> Box:
        return self.extents(0) or Box((0, 0, 0), (0, 0, 0))

    # -- voxels --------------------------------------------------------------------------
    def read(self, box: Box, scale: int = 0, *, supervoxels: bool = False) -> np.ndarray:
        return self._instance.read(box, scale, supervoxels=supervoxels)

    def write(self, offset: Vec3 | tuple[int, int, int], data: Any) -> None:
        self._instance.write(offset, np.asarray(data))

    def __getitem__(self, key: IndexKey) -> Any:
        return _read(self._instance, key, supervoxels=False)

    def __setitem__(self, key: IndexKey, value: Any) -> None:
        arr = np.asarray(value)
        sel = write_selection(key, self.extents(0), arr.shape)
        try:
            full = np.broadcast_to(arr, sel.result_shape)
        except ValueError:
            raise InvalidRequest(
                f"cannot write an array of shape {arr.shape} into a selection of shape "
                f"{sel.result_shape}"
            ) from None
        self._instance.write(sel.box.start, full.reshape(sel.box.shape))

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

    def sparsevol(self, label: int, *, supervoxels: bool = False) -> np.ndarray:
        """Runs ``[x, y, z, length]`` (int32 rows) covering the label's voxels."""
        return self._instance.sparsevol(label, supervoxels=supervoxels)

    def mapping(self, supervoxels: list[int]) -> list[int]:
        return self._instance.mapping(supervoxels)

    def ids_in(self, box: Box, *, supervoxels: bool = False) -> list[int]:
        return self._instance.ids_in(box, supervoxels=supervoxels)

    def labels(self) -> list[int]:
        return self._instance.labels()

    def maxlabel(self) -> int:
        return self._instance.maxlabel()

    def next_labels(self, count: int) -> range:
        return self._instance.next_labels(count)

    def lastmod(self, label: int) -> dict[str, Any]:
        return self._instance.lastmod(label)

    def mutations(self) -> list[dict[str, Any]]:
        return self._instance.mutations()

    def merge(self, target: int, others: list[int], *, user: str = "", app: str = "") -> int:
        """Merge bodies ``others`` into ``target``; returns the mutation id."""
        return self._instance.merge(target, list(others), Who(user, app or "voxhub-python"))

    def cleave(self, body: int, supervoxels: list[int], *, user: str = "", app: str = "") -> int:
        """Move ``supervoxels`` of ``body`` to a new body; returns the new body id."""
        new, _ = self._instance.cleave(body, list(supervoxels), Who(user, app or "voxhub-python"))
        return new

    def split_supervoxel(
        self, sv: int, runs: np.ndarray, *, user: str = "", app: str = ""
    ) -> tuple[int, int]:
        """Split supervoxel ``sv``: voxels inside ``runs`` (``[x, y, z, length]`` rows, as
        from :meth:`sparsevol`) get one fresh id, the rest another: ``(split, remain)``."""
        a, b, _ = self._instance.split_supervoxel(
            sv, np.asarray(runs), Who(user, app or "voxhub-python")
        )
        return a, b

    def split(self, body: int, runs: np.ndarray, *, user: str = "", app: str = "") -> int:
        """Move the voxels of ``body`` inside ``runs`` to a new body; returns its id."""
        new, _ = self._instance.split(body, np.asarray(runs), Who(user, app or "voxhub-python"))
        return new

    def renumber(self, pairs: dict[int, int], *, user: str = "", app: str = "") -> int:
        """Give bodies new ids: ``{old: new}``; returns the mutation id."""
        items = [(new, old) for old, new in pairs.items()]
        return self._instance.renumber(items, Who(user, app or "voxhub-python"))

    def build_pyramid(self) -> None:
        self._instance.build_pyramid()


class _SupervoxelView:
    """``lv.sv[...]``: supervoxel ids instead of bodies."""

    def __init__(self, instance: LabelAccess) -> None:
        self._instance = instance

    def __getitem__(self, key: IndexKey) -> Any:
        return _read(self._instance, key, supervoxels=True)


def _read(instance: LabelAccess, key: IndexKey, *, supervoxels: bool) -> Any:
    sel = select(key, instance.extents(0) or Box((0, 0, 0), (0, 0, 0)))
    arr = instance.read(sel.box, 0, supervoxels=supervoxels)
    if not sel.dropped_axes:
        return arr
    out = arr.reshape(sel.result_shape)
    return out[()] if out.ndim == 0 else out
