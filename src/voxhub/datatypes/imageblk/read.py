"""Reading image voxels and extents, with the request checks done before any allocation."""

from __future__ import annotations

import numpy as np

from voxhub.blocks import BlockLayout, read_box
from voxhub.datatypes.imageblk.extents import read_extents
from voxhub.errors import InvalidRequest, TooLarge
from voxhub.geometry import Box
from voxhub.versioning.protocols import VersionedReader

#: voxel coordinates must lie in ``[-2**31, 2**31]`` (DVID's int32 coordinates).
VOXEL_MIN = -(2**31)
VOXEL_MAX = 2**31


def check_request(box: Box, limit: int, what: str) -> None:
    """Refuse a box outside the coordinate range or over ``limit`` voxels (TooLarge)."""
    if min(box.start) < VOXEL_MIN or max(box.stop) > VOXEL_MAX:
        raise InvalidRequest(f"{what} box {box} lies outside the int32 coordinate range")
    if box.size > limit:
        raise TooLarge(
            f"{what} of {box.size} voxels ({box.shape}) exceeds the limit of {limit} voxels "
            "per request; split it into smaller boxes"
        )


def read_image(reader: VersionedReader, layout: BlockLayout, box: Box) -> np.ndarray:
    """The voxels of ``box`` at the scale ``layout`` describes (background where unwritten)."""
    return read_box(reader, layout, box)


__all__ = ["check_request", "read_extents", "read_image"]
