"""``Volume``: a numpy-shaped handle on one image instance at one version node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from voxhub.client.backend import ImageAccess
from voxhub.client.domain import BoundedVolume, bounds_of, read_index, write_index
from voxhub.client.slicing import IndexKey
from voxhub.datatypes.imageblk import ImageConfig
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3, vec3

if TYPE_CHECKING:
    from voxhub.client.node import Node


class Volume(BoundedVolume):
    """An image volume (uint8/16/32/64 or float32 voxels) at one version node.

    Arrays are C-order ``(z, y, x)``, x fastest: exactly DVID's wire layout.

    **Bounds.** A volume indexes like a numpy array whose ``[0, 0, 0]`` is the voxel at the
    origin. Its domain, :attr:`bounds`, runs from the origin to the stop corner of the
    scale-0 extents written so far at this node (extents are versioned: a child sees its
    ancestors' writes, a sibling does not); ``shape`` is that corner. ``vol[:]``, open
    slice ends and negative indices use it, slice ends past it are clipped and an integer
    index outside it raises :class:`~voxhub.errors.OutOfBounds` (an ``IndexError``), all
    exactly as numpy. Writes are not bounded (DVID volumes are not): ``vol[...] = a``
    anywhere at or past ``shape`` grows the bounds. At scale ``s`` (:meth:`at_scale`) the
    bounds are the scaled-down box. :meth:`read` and :meth:`write` take any box, negative
    coordinates included, and unwritten voxels read as 0.

    Embedded, the bounds are one small read per ``vol[...]``. Over HTTP they are fetched
    once per handle and kept up to date by this hub's own writes, at no cost per read;
    writes by another client to the same open node are seen by a new handle
    (``node.volume(name)``) or after :meth:`refresh`. Data reads always see every write.

    >>> import voxhub, numpy as np
    >>> hub = voxhub.open("memory://")
    >>> node = hub.create_repo("demo").master
    >>> vol = node.create_volume("grayscale", "uint8")
    >>> vol[2:4, 0:3, 0:4] = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    >>> vol.shape, vol[:].shape, vol.extents()
    ((4, 3, 4), (4, 3, 4), Box(start=(2, 0, 0), stop=(4, 3, 4)))
    >>> vol[-1, -1, -1], vol[0, 0, 0]
    (np.uint8(23), np.uint8(0))
    >>> vol[4, 0, 0]
    Traceback (most recent call last):
    ...
    voxhub.errors.OutOfBounds: index 4 is out of bounds for axis z with size 4
    >>> vol[:, :, 4:] = 9   # writes past the bounds grow them
    >>> vol.shape
    (4, 3, 5)
    >>> vol.read(Box((3, 2, 3), (4, 3, 6))).tolist()   # any box, no clipping
    [[[23, 9, 0]]]
    """

    _instance: ImageAccess

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

    # -- reads and writes ------------------------------------------------------------
    def read(self, box: Box, scale: int = 0) -> np.ndarray:
        """Read ``box`` (voxel coordinates of ``scale``); unwritten voxels read as 0."""
        return self._instance.read(box, scale)

    def write(self, offset: Vec3 | tuple[int, int, int], data: np.ndarray) -> None:
        """Write a 3-D array with its first voxel at ``offset`` (z, y, x), scale 0.

        Pyramid levels covering the written blocks are brought up to date in the same
        atomic write.
        """
        self._node.hub.check_writable(f"write to {self.name!r}")
        self._instance.write(vec3(offset, "offset"), np.asarray(data))

    def __getitem__(self, key: IndexKey) -> Any:
        return read_index(self._instance.read, key, self.shape, self.dtype)

    def __setitem__(self, key: IndexKey, value: Any) -> None:
        self._node.hub.check_writable(f"write to {self.name!r}")
        write_index(self._instance.write, key, self.shape, value)

    def at_scale(self, scale: int) -> ScaledView:
        """A read-only view of pyramid level ``scale`` that supports the same slicing."""
        if not 0 <= scale <= self.max_scale:
            raise InvalidRequest(
                f"scale {scale} out of range 0..{self.max_scale} for {self.name!r}"
            )
        return ScaledView(self._instance, scale)

    def build_pyramid(self) -> None:
        """Recompute every pyramid level from scale 0, in parallel over blocks."""
        self._node.hub.check_writable(f"pyramid of {self.name!r}")
        self._instance.build_pyramid()


class ScaledView:
    """Read-only slicing of one pyramid level; coordinates are that level's voxels and the
    bounds are the scaled-down bounds of scale 0."""

    def __init__(self, instance: ImageAccess, scale: int) -> None:
        self._instance = instance
        self.scale = scale

    @property
    def bounds(self) -> Box:
        return bounds_of(self._instance.extents(self.scale))

    @property
    def shape(self) -> Vec3:
        return self.bounds.shape

    def __getitem__(self, key: IndexKey) -> Any:
        dtype = np.dtype(self._instance.config.dtype)
        return read_index(lambda box: self._instance.read(box, self.scale), key, self.shape, dtype)
