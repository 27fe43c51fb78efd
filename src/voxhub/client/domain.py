"""The numpy domain of a volume (its ``bounds``), and ``vol[...]`` reads and writes on it.

One rule for every volume handle (``Volume``, ``LabelVolume``, their scaled and
supervoxel views), embedded or remote: the domain runs from the origin to the stop corner
of the extents written so far, so ``shape`` is that corner and ``vol[:]`` has that shape.
See :mod:`voxhub.client.slicing` for how indices map onto it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voxhub.client.slicing import IndexKey, select, write_selection
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3

if TYPE_CHECKING:
    from voxhub.client.node import Node

EMPTY = Box((0, 0, 0), (0, 0, 0))


class _HasExtents(Protocol):
    def extents(self, scale: int = 0) -> Box | None: ...


class BoundedVolume:
    """What :class:`~voxhub.client.Volume` and :class:`~voxhub.client.LabelVolume` share:
    extents, the domain built on them and the remote bounds cache's refresh."""

    _node: Node
    _instance: _HasExtents
    name: str

    def extents(self, scale: int = 0) -> Box | None:
        """Bounding box of every voxel written so far at this node (``None`` if none)."""
        return self._instance.extents(scale)

    @property
    def bounds(self) -> Box:
        """The domain of ``vol[...]``: the origin to the extents' stop corner (scale 0)."""
        return bounds_of(self._instance.extents(0))

    @property
    def shape(self) -> Vec3:
        """``bounds.shape``, as numpy's ``shape``."""
        return self.bounds.shape

    @property
    def ndim(self) -> int:
        return 3

    def refresh(self) -> None:
        """Forget cached bounds, so the next use sees other clients' writes (remote)."""
        self._node.hub.forget_extents(self._node.uuid, self.name)


def bounds_of(extents: Box | None) -> Box:
    """The domain of a volume whose written voxels span ``extents`` (``None``: nothing).

    >>> bounds_of(Box((10, 0, 0), (20, 4, 4)))
    Box(start=(0, 0, 0), stop=(20, 4, 4))
    >>> bounds_of(None).shape
    (0, 0, 0)
    """
    if extents is None:
        return EMPTY
    z, y, x = extents.stop
    return Box((0, 0, 0), (max(0, z), max(0, y), max(0, x)))


def read_index(
    read: Callable[[Box], np.ndarray], key: IndexKey, shape: Vec3, dtype: np.dtype[Any]
) -> Any:
    """``vol[key]`` on a volume of ``shape``: an array, or a numpy scalar for one voxel."""
    sel = select(key, shape)
    arr = np.zeros(sel.box.shape, dtype) if sel.box.empty else read(sel.box)
    if not sel.dropped_axes:
        return arr
    out = arr.reshape(sel.result_shape)
    return out[()] if out.ndim == 0 else out


def write_index(
    write: Callable[[Vec3, np.ndarray], None], key: IndexKey, shape: Vec3, value: Any
) -> None:
    """``vol[key] = value`` on a volume of ``shape`` (indices past it grow the volume)."""
    arr = np.asarray(value)
    sel = write_selection(key, shape, arr.shape)
    try:
        full = np.broadcast_to(arr, sel.result_shape)
    except ValueError:
        raise InvalidRequest(
            f"cannot write an array of shape {arr.shape} into a selection of shape "
            f"{sel.result_shape}"
        ) from None
    if not sel.box.empty:  # numpy: assigning to an empty selection does nothing
        write(sel.box.start, full.reshape(sel.box.shape))
