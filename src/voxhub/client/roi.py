"""``Roi``: a region of interest at one version node, embedded or over HTTP.

An ROI is a set of blocks (``block_shape`` voxels each) given as spans ``[z, y, x0, x1]``
(block coordinates, ``x1`` inclusive), DVID's roi datatype. Points and boxes are in
voxels, ``(z, y, x)`` as everywhere in the numpy API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voxhub.client.handle import InstanceHandle
from voxhub.datatypes.roi.instance import check_points
from voxhub.datatypes.roi.spans import check_spans
from voxhub.geometry import Box, Vec3

if TYPE_CHECKING:
    pass

Points = np.ndarray | Sequence[Sequence[int]]
Spans = np.ndarray | Sequence[Sequence[int]]


class RoiAccess(Protocol):
    """One roi instance at one node (:class:`~voxhub.datatypes.roi.instance.RoiInstance`
    embedded, :class:`~voxhub.client.remote.roi.RemoteRoi` over HTTP)."""

    @property
    def block_shape(self) -> Vec3: ...

    def spans(self) -> np.ndarray: ...

    def set(self, spans: np.ndarray) -> None: ...

    def delete(self) -> None: ...

    def contains(self, points_zyx: np.ndarray) -> np.ndarray: ...

    def mask(self, box: Box) -> np.ndarray: ...


class Roi(InstanceHandle[RoiAccess]):
    """The ROI ``name`` as seen at one node.

    >>> import voxhub
    >>> node = voxhub.open("memory://").create_repo("rois").master
    >>> roi = node.create_roi("medulla", block_size=32)
    >>> roi.set([[0, 0, 0, 1], [0, 0, 2, 4], [1, 3, 5, 5]])
    >>> roi.spans().tolist()      # sorted, touching spans merged
    [[0, 0, 0, 4], [1, 3, 5, 5]]
    >>> roi.contains([[10, 10, 150], [10, 10, 160]]).tolist()   # (z, y, x) voxels
    [True, False]
    >>> int(roi.mask(voxhub.Box((0, 0, 0), (32, 32, 200))).sum())
    163840
    """

    @property
    def block_shape(self) -> Vec3:
        """Voxels per block ``(z, y, x)``."""
        return self._access.block_shape

    def spans(self) -> np.ndarray:
        """Every span ``[z, y, x0, x1]``: an ``(N, 4)`` int64 array, sorted by z, y, x0,
        overlapping and touching spans of a row merged."""
        return self._access.spans()

    def set(self, spans: Spans) -> None:
        """Replace the ROI at this node by ``spans`` (``(N, 4)`` integers); a span with
        ``x1 < x0``, the wrong length or non-integers raises ``InvalidRequest`` and
        nothing is stored."""
        self._node.hub.check_writable(f"set roi {self.name!r}")
        self._access.set(check_spans(spans, f"roi {self.name!r}"))

    def delete(self) -> None:
        """Remove every span at this node."""
        self._node.hub.check_writable(f"delete roi {self.name!r}")
        self._access.delete()

    def contains(self, points: Points) -> np.ndarray:
        """Whether each voxel ``(z, y, x)`` of ``points`` (``(N, 3)`` integers) lies in
        the ROI: an ``(N,)`` bool array."""
        return self._access.contains(check_points(points))

    def mask(self, box: Box) -> np.ndarray:
        """A bool array of ``box``'s shape: true on voxels inside the ROI."""
        return self._access.mask(box)
