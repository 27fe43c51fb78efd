"""Zstandard: the default codec (level 1 is the measured sweet spot for noisy EM).

``zstandard`` compressor and decompressor objects are not thread-safe, and block I/O
encodes and decodes on a thread pool, so each thread gets its own pair. Decoding goes
straight into the caller's buffer through ``stream_reader(...).readinto`` once the frame
header has confirmed the decoded size, so no intermediate ``bytes`` is allocated.

**Plane frames.** With ``frame_planes`` = P > 0, a block deeper than P planes is stored
as one zstd frame per P planes (z slabs), after a zstd *skippable* frame that lists their
sizes (:mod:`voxhub.codecs.zstd_frames`). A cutout or slice that needs planes
``z0..z1`` of a block decodes only the frames holding them: an xy slice of a 64³ block
decodes 16 planes instead of up to 64, an unaligned cutout about a fifth less. The value
is still a valid zstd stream (a skippable frame, then concatenated frames), and every
``ZstdCodec`` reads both forms whatever its own ``frame_planes``, so changing the option
never strands stored blocks. ``frame_planes`` = 0 (the codec's default) stores one frame
per block; image instances pick ~64 KiB frames unless told (``imageblk.config``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import zstandard

from voxhub.codecs import zstd_frames
from voxhub.codecs.base import BlockCodec, JSONDict, check_keys, int_option, little_endian

_local = threading.local()
#: the largest ``frame_planes`` accepted (a block deeper than this is unusual)
MAX_FRAME_PLANES = 4096


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
    """Zstandard frames with the content size recorded (``level`` 1..22, default 1), one
    per block or one per ``frame_planes`` planes (see the module text)."""

    name: ClassVar[str] = "zstd"
    #: configuration keys; a subclass that frames another format takes only ``level``
    options: ClassVar[frozenset[str]] = frozenset({"level", "frame_planes"})

    def __init__(self, level: int = 1, frame_planes: int = 0) -> None:
        self.level = int_option({"level": level}, "level", 1, -7, 22, self.name)
        self.frame_planes = int_option(
            {"frame_planes": frame_planes}, "frame_planes", 0, 0, MAX_FRAME_PLANES, self.name
        )

    def configuration(self) -> JSONDict:
        if "frame_planes" in self.options:  # absent (older instances' JSON) means 0
            return {"level": self.level, "frame_planes": self.frame_planes}
        return {"level": self.level}

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any]) -> ZstdCodec:
        check_keys(configuration, set(cls.options), cls.name)
        level = int_option(configuration, "level", 1, -7, 22, cls.name)
        if "frame_planes" not in cls.options:
            return cls(level)
        planes = int_option(configuration, "frame_planes", 0, 0, MAX_FRAME_PLANES, cls.name)
        return cls(level, planes)

    def encode(self, block: np.ndarray) -> bytes:
        data = little_endian(block)
        compress = _compressor(self.level).compress
        planes = self.frame_planes
        if not planes or data.ndim != 3 or data.shape[0] <= planes:
            frame: bytes = compress(data)
            return frame
        frames = [compress(data[z : z + planes]) for z in range(0, data.shape[0], planes)]
        return zstd_frames.join(planes, frames)

    def decode_into(self, data: bytes | memoryview, out: np.ndarray) -> None:
        self.decode_planes_into(data, out, 0, out.shape[0] if out.ndim else 0)

    def decode_head_into(self, data: bytes | memoryview, out: np.ndarray, nbytes: int) -> None:
        """Decode at least the first ``nbytes`` bytes of the block into the start of ``out``
        (whole planes of a 3-D ``out``; see :meth:`decode_planes_into`)."""
        if not 0 <= nbytes <= out.nbytes or nbytes % out.itemsize:
            raise ValueError(f"cannot decode {nbytes} bytes of a {out.dtype} block")
        plane = out.nbytes // out.shape[0] if out.ndim and out.shape[0] else 1
        self.decode_planes_into(data, out, 0, -(-nbytes // plane) if plane else 0)

    def decode_planes_into(
        self, data: bytes | memoryview, out: np.ndarray, z0: int, z1: int
    ) -> None:
        """Decode planes ``z0 <= z < z1`` (along ``out``'s first axis) into ``out``.

        The value must decode to exactly ``out.nbytes`` bytes. Only what holds those planes
        is decoded: the frames covering them, and within a frame decoding stops at the
        end of the zstd block (≤ 128 KiB) that holds plane ``z1 - 1``. Other planes of
        ``out`` are left undefined, and the skipped parts are not checked.
        """
        depth = out.shape[0] if out.ndim else 1
        if not 0 <= z0 <= z1 <= depth:
            raise ValueError(f"planes {z0}..{z1} are not within the block's {depth}")
        flat = out.reshape(-1).data.cast("B")
        plane = out.nbytes // depth if depth else 0
        try:
            index = zstd_frames.split(data)
        except zstd_frames.FrameIndexError as e:
            raise self.error(str(e)) from None
        if index is None:  # one frame holds the whole block
            self._frame_into(data, flat, out.nbytes, z1 * plane)
        else:
            planes, frames = index
            if planes * (len(frames) - 1) >= depth or planes * len(frames) < depth:
                raise self.error(
                    f"{len(frames)} frames of {planes} planes for a {depth}-plane block"
                )
            for i in range(z0 // planes, -(-z1 // planes)):
                lo, hi = i * planes * plane, min((i + 1) * planes, depth) * plane
                self._frame_into(frames[i], flat[lo:hi], hi - lo, min(z1 * plane, hi) - lo)
        if out.dtype.byteorder == ">":  # pragma: no cover  (big-endian hosts only)
            out[z0:z1].byteswap(inplace=True)

    def _frame_into(
        self, frame: bytes | memoryview, target: memoryview, size: int, need: int
    ) -> None:
        """Decode the first ``need`` bytes of ``frame`` (which holds ``size``) into ``target``."""
        try:
            stored = zstandard.frame_content_size(frame)
        except zstandard.ZstdError as e:
            raise self.error(f"corrupt frame header: {e}") from None
        if stored != size:
            raise self.error(f"frame holds {stored} bytes, expected {size}")
        filled = 0
        try:
            with _decompressor().stream_reader(frame) as reader:
                while filled < need:
                    n = reader.readinto(target[filled:need])
                    if n == 0:
                        break
                    filled += n
        except zstandard.ZstdError as e:
            raise self.error(f"corrupt data: {e}") from None
        if filled != need:
            raise self.error(f"frame decoded to {filled} bytes, expected {size}")
