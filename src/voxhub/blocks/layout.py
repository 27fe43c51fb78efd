"""How the blocks of one array are stored: grid, dtype, codec, background and key scheme."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxhub.codecs.base import BlockCodec
from voxhub.geometry import BlockGrid, Vec3


@dataclass(frozen=True)
class BlockLayout:
    """Everything block I/O needs to know about one stored array (one scale of a volume).

    ``tkey`` maps a block coordinate to the type key it is stored under; the datatype
    decides the key scheme, block I/O never looks inside keys.
    """

    grid: BlockGrid
    dtype: np.dtype[Any]
    codec: BlockCodec
    tkey: Callable[[Vec3], bytes]
    background: int | float = 0

    @property
    def block_shape(self) -> Vec3:
        """The shape of every block, ``(z, y, x)``."""
        return self.grid.block_shape

    def is_background(self, block: np.ndarray) -> bool:
        """Whether every voxel of ``block`` is the background value (store it as absent)."""
        # Most blocks of data already differ in their first row: a 64-voxel check spares
        # the whole-block test (~0.4 CPU-s per GB of uint8 imported, a tenth of an import).
        if block.ndim and block.size and not self._all_background(block[(0,) * (block.ndim - 1)]):
            return False
        return self._all_background(block)

    def _all_background(self, block: np.ndarray) -> bool:
        if self.dtype.kind == "f":  # compare bits: -0.0 and NaN payloads are data
            bits = np.dtype(f"u{self.dtype.itemsize}")
            fill = np.array(self.background, dtype=self.dtype).view(bits)
            return bool((block.view(bits) == fill).all())
        if self.background == 0:
            return not block.any()
        return bool((block == self.background).all())

    def background_block(self) -> np.ndarray:
        """A new block filled with the background value."""
        return np.full(self.block_shape, self.background, dtype=self.dtype)
