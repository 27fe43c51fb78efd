"""Uncompressed little-endian C-order voxels: the reference codec and the wire format."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from voxhub.codecs.base import BlockCodec, little_endian


class RawCodec(BlockCodec):
    """The block's bytes as they are (little-endian, C order)."""

    name: ClassVar[str] = "raw"

    def encode(self, block: np.ndarray) -> bytes:
        return little_endian(block).tobytes()

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        self.check_size(len(data), out)
        src = np.frombuffer(data, dtype=out.dtype.newbyteorder("<")).reshape(out.shape)
        np.copyto(out, src)
