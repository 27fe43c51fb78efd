"""``Volume``: a numpy-shaped handle on one image instance at one version node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from voxhub.client.backend import ImageAccess
from voxhub.client.slicing import IndexKey, Selection, select, write_selection
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3, vec3

if TYPE_CHECKING:
    from voxhub.client.node import Node


class Volume:
    """An image volume (uint8/16/32/64 or float32 voxels) at one version node.

    Arrays are C-order ``(z, y, x)``, x fastest: exactly DVID's wire layout.

    >>> import voxhub, numpy as np
    >>> hub = voxhub.open("memory://")
    >>> node = hub.create_repo("demo").master
    >>> vol = node.create_volume("grayscale", "uint8")
    >>> vol[0:2, 0:3, 0:4] = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    >>> vol[1, 2, 3]
    np.uint8(23)
    >>> vol[:, 0, :].shape   # open ends take the extents written so far
    (2, 4)
    >>> vol.read(Box((0, 0, 0), (1, 1, 2))).tolist()
    [[[0, 1]]]
    """

    def __init__(self, node: Node, name: str, instance: ImageAccess) -> None:
        self._node = node
        self.name = name
        self._instance = instance

    def __repr__(self) -> str:
        c = self.config
        return (
            f"Volume({self.name!r}, dtype={c.dtype}, block_shape={c.block_shape}, "
            f"node={self._node.uuid[:8]}, scales=0..{c.max_scale})"
        )

    # -- description -----------------------------------------------------------------
    @property
    def node(self) -> Node:
        """The version node this handle reads and writes."""
        return self._node

    @property
    def config(self) -> ImageConfig:
        """Instance settings: dtype, block shape, voxel size, codec, scales."""
        return self._instance.config

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.config.dtype)

    @property
    def block_shape(self) -> Vec3:
        return self.config.block_shape

    @property
    def max_scale(self) -> int:
        """The coarsest pyramid level (0 = no pyramid)."""
        return self.config.max_scale

    def extents(self, scale: int = 0) -> Box | None:
        """Bounding box of every voxel written so far at this node (``None`` if none)."""
        return self._instance.extents(scale)

    @property
    def bounds(self) -> Box:
        """The box open and negative slice ends refer to: the extents at scale 0."""
        return self.extents(0) or Box((0, 0, 0), (0, 0, 0))

    @property
    def shape(self) -> Vec3:
        """``bounds.stop``: numpy's view of a volume anchored at the origin."""
        return self.bounds.stop

    # -- reads and writes ------------------------------------------------------------
    def read(self, box: Box, scale: int = 0) -> np.ndarray:
        """Read ``box`` (voxel coordinates of ``scale``); unwritten voxels read as 0."""
        return self._instance.read(box, scale)

    def write(self, offset: Vec3 | tuple[int, int, int], data: np.ndarray) -> None:
        """Write a 3-D array with its first voxel at ``offset`` (z, y, x), scale 0.

        Pyramid levels covering the written blocks are brought up to date in the same
        atomic write.
        """
        self._instance.write(vec3(offset, "offset"), np.asarray(data))

    def __getitem__(self, key: IndexKey) -> Any:
        return _read_selection(self._instance, select(key, self.bounds), 0)

    def __setitem__(self, key: IndexKey, value: Any) -> None:
        arr = np.asarray(value)
        extents = self.extents(0)
        sel = write_selection(key, extents, arr.shape)
        target = sel.result_shape
        try:
            full = np.broadcast_to(arr, target)
        except ValueError:
            raise InvalidRequest(
                f"cannot write an array of shape {arr.shape} into a selection of shape {target}"
            ) from None
        self._instance.write(sel.box.start, full.reshape(sel.box.shape))

    def at_scale(self, scale: int) -> ScaledView:
        """A read-only view of pyramid level ``scale`` that supports the same slicing."""
        if not 0 <= scale <= self.max_scale:
            raise InvalidRequest(
                f"scale {scale} out of range 0..{self.max_scale} for {self.name!r}"
            )
        return ScaledView(self._instance, scale)

    def build_pyramid(self) -> None:
        """Recompute every pyramid level from scale 0, in parallel over blocks."""
        self._instance.build_pyramid()


class ScaledView:
    """Read-only slicing of one pyramid level; coordinates are that level's voxels."""

    def __init__(self, instance: ImageAccess, scale: int) -> None:
        self._instance = instance
        self.scale = scale

    @property
    def bounds(self) -> Box:
        return self._instance.extents(self.scale) or Box((0, 0, 0), (0, 0, 0))

    def __getitem__(self, key: IndexKey) -> Any:
        return _read_selection(self._instance, select(key, self.bounds), self.scale)


def _read_selection(instance: ImageAccess, sel: Selection, scale: int) -> Any:
    arr = instance.read(sel.box, scale)
    if not sel.dropped_axes:
        return arr
    out = arr.reshape(sel.result_shape)
    return out[()] if out.ndim == 0 else out
