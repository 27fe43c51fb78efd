"""Zstandard: the default codec (level 1 is the measured sweet spot for noisy EM).

``zstandard`` compressor and decompressor objects are not thread-safe, and block I/O
encodes and decodes on a thread pool, so each thread gets its own pair. Decoding goes
straight into the caller's buffer through ``stream_reader(...).readinto`` once the frame
header has confirmed the decoded size, so no intermediate ``bytes`` is allocated.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import zstandard

from voxhub.codecs.base import BlockCodec, JSONDict, check_keys, int_option, little_endian

_local = threading.local()


def _compressor(level: int) -> Any:
    cache: dict[int, Any] | None = getattr(_local, "compressors", None)
    if cache is None:
        cache = _local.compressors = {}
    c = cache.get(level)
    if c is None:
        c = cache[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return c


def _decompressor() -> Any:
    d = getattr(_local, "decompressor", None)
    if d is None:
        d = _local.decompressor = zstandard.ZstdDecompressor()
    return d


class ZstdCodec(BlockCodec):
    """Zstandard frames with the content size recorded (``level`` 1..22, default 1)."""

    name: ClassVar[str] = "zstd"

    def __init__(self, level: int = 1) -> None:
        self.level = int_option({"level": level}, "level", 1, -7, 22, self.name)

    def configuration(self) -> JSONDict:
        return {"level": self.level}

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> ZstdCodec:
        check_keys(configuration, {"level"}, cls.name)
        return cls(int_option(configuration, "level", 1, -7, 22, cls.name))

    def encode(self, block: np.ndarray) -> bytes:
        data: bytes = _compressor(self.level).compress(little_endian(block))
        return data

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        self.decode_head_into(data, out, out.nbytes)

    def decode_head_into(self, data: bytes | memoryview, out: np.ndarray, nbytes: int) -> None:
        """Decode only the first ``nbytes`` bytes of the block into the start of ``out``.

        The frame must hold exactly ``out.nbytes`` bytes; decoding stops at the end of the
        zstd block (≤ 128 KiB) that holds byte ``nbytes``, so a reader that needs only the
        leading planes of a block skips the rest (and does not check the skipped part).
        Bytes of ``out`` past ``nbytes`` are left undefined.
        """
        try:
            size = zstandard.frame_content_size(data)
        except zstandard.ZstdError as e:
            raise self.error(f"corrupt frame header: {e}") from None
        if size != out.nbytes:
            raise self.error(f"frame holds {size} bytes, expected {out.nbytes}")
        if not 0 <= nbytes <= out.nbytes or nbytes % out.itemsize:
            raise ValueError(f"cannot decode {nbytes} bytes of a {out.dtype} block")
        target = out.reshape(-1).data.cast("B")[:nbytes]
        try:
            with _decompressor().stream_reader(data) as reader:
                filled = 0
                while filled < nbytes:
                    n = reader.readinto(target[filled:])
                    if n == 0:
                        break
                    filled += n
        except zstandard.ZstdError as e:
            raise self.error(f"corrupt data: {e}") from None
        if filled != nbytes:
            raise self.error(
                f"decoded {filled} bytes, expected {out.nbytes} for a {out.shape} {out.dtype} block"
            )
        if out.dtype.byteorder == ">":  # pragma: no cover  (big-endian hosts only)
            out.reshape(-1)[: nbytes // out.itemsize].byteswap(inplace=True)
