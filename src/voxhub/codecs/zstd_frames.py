"""The frame index of a block stored as several zstd frames (``ZstdCodec(frame_planes=P)``).

Layout, every integer little-endian::

    uint32 0x184D2A56   zstd skippable-frame magic (decoders skip this frame)
    uint32 8 + 4n       its payload size
    uint32 P            planes per frame (the last frame may hold fewer)
    uint32 n            number of frames
    n x uint32          compressed size of each frame
    frame 0 ... frame n-1

The skippable frame keeps the whole value a valid zstd stream (RFC 8878 §3.1.2), so any
zstd library decodes it to the block's bytes; voxhub reads the sizes to reach one frame
without touching the others.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

MAGIC = 0x184D2A56
_HEAD = struct.Struct("<IIII")  # magic, payload size, planes per frame, frame count
_MAX_FRAMES = 1 << 16


class FrameIndexError(ValueError):
    """The value starts like a frame index but is not a valid one."""


def join(planes: int, frames: Sequence[bytes]) -> bytes:
    """The stored value of ``frames`` (each ``planes`` planes but the last)."""
    sizes = struct.pack(f"<{len(frames)}I", *map(len, frames))
    head = _HEAD.pack(MAGIC, 8 + len(sizes), planes, len(frames))
    return b"".join([head, sizes, *frames])


def split(data: bytes | memoryview) -> tuple[int, list[memoryview]] | None:
    """``(planes per frame, frames)`` of an indexed value; ``None`` for a plain frame."""
    if len(data) < _HEAD.size or int.from_bytes(data[:4], "little") != MAGIC:
        return None
    _, payload, planes, count = _HEAD.unpack_from(data)
    if planes < 1 or not 1 <= count <= _MAX_FRAMES or payload != 8 + 4 * count:
        raise FrameIndexError(f"bad frame index ({planes} planes, {count} frames)")
    start = _HEAD.size + 4 * count
    if len(data) < start:
        raise FrameIndexError("frame index cut short")
    view = memoryview(data)
    frames = []
    for size in struct.unpack_from(f"<{count}I", data, _HEAD.size):
        frames.append(view[start : start + size])
        start += size
    if start != len(data):
        raise FrameIndexError(f"frames end at byte {start} of a {len(data)}-byte value")
    return planes, frames
