"""``ImageInstance``: one image volume (uint8/16/32/64 or float32) at one version node."""

from __future__ import annotations

from typing import Any

import numpy as np

from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.pyramid import build_pyramid
from voxhub.datatypes.imageblk.read import check_request, read_extents, read_image
from voxhub.datatypes.imageblk.write import coerce, write_image
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedView

#: default per-request voxel limit for embedded use (the server configures its own).
DEFAULT_MAX_REQUEST_VOXELS = 2**31


class ImageInstance:
    """Reads, writes, extents and pyramids of one image instance through a versioned view.

    Arrays are C-order ``(z, y, x)``. Boxes may be unaligned and negative. Unwritten voxels
    read as the background. Every write is atomic: its scale-0 blocks, the pyramid blocks
    above them and the extents change together or not at all.
    """

    def __init__(
        self,
        view: VersionedView,
        config: ImageConfig,
        name: str,
        *,
        max_request_voxels: int = DEFAULT_MAX_REQUEST_VOXELS,
    ) -> None:
        self.view = view
        self.name = name
        self.max_request_voxels = max_request_voxels
        self._config = config
        self._dtype = np.dtype(config.dtype)
        codec = config.make_codec()
        self._layouts = [config.layout(s, codec) for s in range(config.max_scale + 1)]

    def __repr__(self) -> str:
        return f"ImageInstance({self.name!r}, {self._config})"

    @property
    def config(self) -> ImageConfig:
        """The instance's settings."""
        return self._config

    def read(self, box: Box, scale: int = 0) -> np.ndarray:
        """Voxels of ``box``, given in voxel coordinates of ``scale``."""
        self._config.check_scale(scale, self.name)
        check_request(box, self.max_request_voxels, f"read of {self.name!r}")
        return read_image(self.view, self._layouts[scale], box)

    def write(self, offset: Vec3, data: Any, *, mask: np.ndarray | None = None) -> None:
        """Write a 3-D array at scale 0 with its ``[0,0,0]`` voxel at ``offset``.

        The data must have the volume's dtype or cast to it without loss. ``mask`` (bool,
        the data's shape): write only the voxels where it is true (``POST raw?roi=``).
        """
        shape = np.shape(data)
        if len(shape) != 3:
            raise InvalidRequest(f"write data must be 3-D (z, y, x), got shape {shape}")
        box = Box.from_shape((shape[0], shape[1], shape[2]), offset)
        check_request(box, self.max_request_voxels, f"write to {self.name!r}")
        self.view.check_writable()
        arr = coerce(data, self._dtype)
        write_image(self.view, self._config, self._layouts, offset, arr, mask)

    def extents(self, scale: int = 0) -> Box | None:
        """Bounding box of every voxel written (at ``scale``, the downsampled box)."""
        self._config.check_scale(scale, self.name)
        box = read_extents(self.view)
        if box is None:
            return None
        return box.downsample(self._config.scale_factor(scale))

    def build_pyramid(self) -> None:
        """Recompute every pyramid level from scale 0 over the extents."""
        build_pyramid(self.view, self._config, read_extents(self.view), self._layouts)
