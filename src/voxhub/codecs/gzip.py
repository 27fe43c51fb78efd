"""Deflate (zlib stream): slow, but what many DVID clients already send."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from voxhub.codecs.base import BlockCodec, JSONDict, check_keys, int_option, little_endian


class GzipCodec(BlockCodec):
    """zlib-wrapped deflate at ``level`` 0..9 (default 6, zlib's own default)."""

    name: ClassVar[str] = "gzip"

    def __init__(self, level: int = 6) -> None:
        self.level = int_option({"level": level}, "level", 6, 0, 9, self.name)

    def configuration(self) -> JSONDict:
        return {"level": self.level}

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> GzipCodec:
        check_keys(configuration, {"level"}, cls.name)
        return cls(int_option(configuration, "level", 6, 0, 9, cls.name))

    def encode(self, block: np.ndarray) -> bytes:
        return zlib.compress(little_endian(block).data, self.level)

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        d = zlib.decompressobj()
        try:
            # Ask for one byte more than expected so an oversized block is detected.
            decoded = d.decompress(data, out.nbytes + 1)
        except zlib.error as e:
            raise self.error(f"corrupt data: {e}") from None
        if not d.eof:
            raise self.error("truncated or oversized stream")
        self.check_size(len(decoded), out)
        np.copyto(out, np.frombuffer(decoded, dtype=out.dtype.newbyteorder("<")).reshape(out.shape))
