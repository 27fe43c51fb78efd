"""A numpy model of an image volume with its pyramid, to compare instances against."""

from __future__ import annotations

import numpy as np

from voxhub.geometry import Box, Vec3


def reference_downsample(a: np.ndarray, factor: Vec3) -> np.ndarray:
    """Mean over ``factor`` blocks via reshape; integers rounded half up (floor(m + 0.5))."""
    z, y, x = a.shape
    f = factor
    blocks = a.reshape(z // f[0], f[0], y // f[1], f[1], x // f[2], f[2])
    if a.dtype.kind == "f":
        mean: np.ndarray = blocks.astype(np.float64).mean(axis=(1, 3, 5))
        return mean.astype(a.dtype)
    n = f[0] * f[1] * f[2]
    total = blocks.astype(object).sum(axis=(1, 3, 5))  # exact even for uint64
    rounded: np.ndarray = (total + n // 2) // n
    return rounded.astype(a.dtype)


class ReferenceVolume:
    """Dense scale-0 voxels over ``box`` plus a pyramid derived on demand."""

    def __init__(self, box: Box, dtype: str, factor: Vec3) -> None:
        self.box = box
        self.factor = factor
        self.voxels = np.zeros(box.shape, dtype=dtype)

    def write(self, offset: Vec3, data: np.ndarray) -> None:
        self.voxels[Box.from_shape(data.shape, offset).relative_to(self.box.start)] = data

    def level(self, scale: int) -> tuple[Box, np.ndarray]:
        """The reference box and voxels of pyramid level ``scale``."""
        box, data = self.box, self.voxels
        for _ in range(scale):
            box = box.downsample(self.factor)
            data = reference_downsample(data, self.factor)
        return box, data
