"""``?roi=<name>`` on voxel reads: voxels outside the ROI read as 0.

A route wraps its read function (``box -> array`` at one pyramid scale)::

    read = masked_reads(read, open_roi_reader(access, node_uuid, name), factor)

and every box it reads comes back masked, so resampled reads (``isotropic``) are masked
on the voxels they sample. The mask is exact per voxel whatever the two block sizes (DVID
keeps or drops whole blocks of the volume by the ROI's block coordinates, which is only
right when both use the same block size); at a pyramid scale with ``factor`` a voxel
``v`` is inside when the scale-0 voxel ``v * factor`` is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voxhub.datatypes.roi.query import RoiReader
from voxhub.geometry import Box, Vec3

Read = Callable[[Box], np.ndarray]


def mask_outside(volume: np.ndarray, roi: RoiReader, box: Box, factor: Vec3) -> np.ndarray:
    """``volume`` (the voxels of ``box``) with every voxel outside ``roi`` set to 0."""
    inside = roi.mask(box, factor)
    if inside.all():
        return volume
    out = volume if volume.flags.writeable else volume.copy()
    out[~inside] = 0
    return out


def masked_reads(read: Read, roi: RoiReader, factor: Vec3 = (1, 1, 1)) -> Read:
    """``read`` whose answers are masked by ``roi`` (see the module doc)."""

    def run(box: Box) -> np.ndarray:
        return mask_outside(read(box), roi, box, factor)

    return run
