"""An roi instance at one node: what the numpy API and the routes call.

:func:`open_roi` opens one from the store access and a name (404 when the repo has no
such instance, 400 when it is not an roi); :func:`open_roi_reader` opens only its
:class:`~voxhub.datatypes.roi.query.RoiReader`, which is what other datatypes need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from voxhub.datatypes.access import CatalogAccess, StoreAccess
from voxhub.datatypes.roi.config import RoiConfig
from voxhub.datatypes.roi.query import RoiReader
from voxhub.datatypes.roi.write import delete_roi, replace_spans
from voxhub.datatypes.sync import notify_source_reset
from voxhub.errors import InvalidRequest, TooLarge
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.protocols import VersionedTxn
from voxhub.versioning.records import InstanceInfo
from voxhub.versioning.view import VersionedKV

#: the DVID typename of roi instances
ROI_TYPENAME = "roi"
#: the largest mask the numpy API computes in one call (1 GiB of bools)
MAX_MASK_VOXELS = 1 << 30


class RoiInstance:
    """The ROI of one roi instance at one node (embedded; the remote client has the same
    methods over HTTP)."""

    def __init__(
        self,
        view: VersionedKV,
        config: RoiConfig,
        name: str,
        on_change: Callable[[VersionedTxn], None] | None = None,
    ) -> None:
        self.view = view
        self.config = config
        self.name = name
        self.reader = RoiReader(view, config.block_shape)
        #: tells the instances following the ROI (a labelsz) inside a write's transaction
        self._on_change = on_change

    @property
    def block_shape(self) -> Vec3:
        return self.config.block_shape

    def spans(self) -> np.ndarray:
        """Every span ``[z, y, x0, x1]``, sorted and merged (``(N, 4)`` int64)."""
        return self.reader.spans()

    def set(self, spans: np.ndarray) -> None:
        """Replace the ROI by canonical ``spans``: what :func:`check_spans` (or
        ``spans_from_json``) made of a request, which refuses a bad span with a 400 naming
        it before anything is stored."""
        replace_spans(self.view, spans, self._on_change)

    def delete(self) -> None:
        """Remove every span at this node."""
        delete_roi(self.view, self._on_change)

    def contains(self, points_zyx: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
        """Whether each voxel ``(z, y, x)`` lies in the ROI (``(N,)`` bool)."""
        return self.reader.contains(check_points(points_zyx))

    def mask(self, box: Box) -> np.ndarray:
        """A bool array of ``box``'s shape, true inside the ROI (413 over
        :data:`MAX_MASK_VOXELS`, before anything is allocated)."""
        check_mask_box(box, f"mask of roi {self.name!r}")
        return self.reader.mask(box)


def check_mask_box(box: Box, what: str, limit: int = MAX_MASK_VOXELS) -> None:
    """``TooLarge`` if a mask of ``box`` would exceed ``limit`` voxels."""
    if box.size > limit:
        raise TooLarge(
            f"{what}: {box.size} voxels ({box.shape}) exceed the limit of {limit} per "
            "request; ask for smaller boxes"
        )


def check_points(points: np.ndarray | Sequence[Sequence[int]]) -> np.ndarray:
    """``(N, 3)`` integer points as int64 (400 otherwise)."""
    array = np.asarray(points)
    if array.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if array.dtype.kind not in "iu" or array.ndim != 2 or array.shape[1] != 3:
        raise InvalidRequest(
            f"points must be an (N, 3) integer array, got shape {array.shape} of {array.dtype}"
        )
    if array.dtype == np.uint64 and int(array.max()) > np.iinfo(np.int64).max:
        raise InvalidRequest("points must fit in int64")
    return array.astype(np.int64)


def roi_info(catalog: Catalog, node_uuid: str, name: str) -> InstanceInfo:
    """The instance ``name`` of ``node_uuid``'s repo, which must be an roi (404 if the
    repo has no such instance, 400 if it is another type)."""
    info = catalog.instance(node_uuid, name)
    if info.typename != ROI_TYPENAME:
        raise InvalidRequest(f"instance {name!r} is a {info.typename}, not an roi")
    return info


def open_roi(access: StoreAccess, node_uuid: str, name: str) -> RoiInstance:
    """The roi instance ``name`` at ``node_uuid`` (blocking: reads the catalog)."""
    info = roi_info(access.catalog, node_uuid, name)
    return open_roi_instance(access.catalog, node_uuid, info)


def open_roi_instance(catalog: Catalog, node_uuid: str, info: InstanceInfo) -> RoiInstance:
    """The roi instance ``info`` at ``node_uuid``."""
    view = catalog.view(node_uuid, info.name)

    def on_change(txn: VersionedTxn) -> None:
        notify_source_reset(txn, CatalogAccess(catalog), node_uuid, info)

    return RoiInstance(view, RoiConfig.from_json(info.config), info.name, on_change)


def open_roi_reader(access: StoreAccess, node_uuid: str, name: str) -> RoiReader:
    """Only the reader of the roi ``name`` at ``node_uuid``: what annotations, labelsz and
    ``?roi=`` masks use (404 no such instance, 400 not an roi)."""
    return open_roi(access, node_uuid, name).reader
