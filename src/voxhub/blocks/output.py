"""The arrays reads return: ``np.empty`` when small, recycled page mappings when large.

The first touch of fresh memory costs a large read about as much as decoding it: the
kernel zeroes and maps every page (a 512³ uint8 read on the 2-vCPU bench VM spent ~0.23 s
of CPU with a fresh output and ~0.15 s writing into one already mapped), and numpy would
advise transparent huge pages, whose first touch there took 0.4-2.5 s when the host had
reclaimed the memory. So an output of :data:`LARGE_OUTPUT` bytes or more

* gets its own anonymous private mapping, in 4 KiB pages, and
* when the caller drops the array (and every view of it), the mapping is kept for the
  next large read of the same size class (whole MiB), up to :data:`KEEP_BYTES` in all, so
  repeated large reads (a volume read slab by slab, a server answering cutouts) write
  into memory that is already mapped. Older kept mappings beyond that are unmapped.

The mapping is lent through a small owner object, the ``base`` of the array, which every
view keeps alive: the mapping comes back only when nothing can see it any more. Every
voxel of a read's output is written by the read, so reused memory never shows through.
Kept mappings are dropped in a child after ``fork``.
"""

from __future__ import annotations

import math
import mmap
import os
import threading
from typing import Any

import numpy as np

from voxhub.cache_stats import cache_stats

#: outputs of this many bytes or more are mapped in 4 KiB pages and recycled.
LARGE_OUTPUT = 4 << 20

#: freed large outputs kept for reuse, in bytes (the oldest beyond it are unmapped).
KEEP_BYTES = 256 << 20

#: mappings are sized in whole MiB, so outputs of nearly the same size share them.
_GRAIN = 1 << 20

#: a private mapping where the platform has them (Python maps anonymous memory shared by
#: default on POSIX, which the kernel backs with shmem).
_PRIVATE: dict[str, int] = {"flags": mmap.MAP_PRIVATE} if hasattr(mmap, "MAP_PRIVATE") else {}

_kept: list[mmap.mmap] = []  # oldest first
#: large outputs served from a kept mapping (hit) or a new one (miss), for /metrics
_STATS = cache_stats("output_mapping")
_lock = threading.Lock()


class _Lent:
    """Owns one mapping while arrays use it; keeps it for reuse when the last one is gone."""

    __slots__ = ("__array_interface__", "_mapping")

    def __init__(self, mapping: mmap.mmap, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
        self._mapping = mapping
        address = np.frombuffer(mapping, np.uint8, count=1).__array_interface__["data"][0]
        self.__array_interface__ = {
            "shape": shape,
            "typestr": dtype.str,
            "data": (address, False),
            "version": 3,
        }

    def __del__(self) -> None:
        try:
            _keep(self._mapping)
        except Exception:  # interpreter shutdown: this module's globals may be gone
            return


def _keep(mapping: mmap.mmap) -> None:
    """File a mapping nothing sees any more for reuse (or let it be unmapped)."""
    # Never wait: this runs from __del__, possibly inside the garbage collector while this
    # very thread holds the lock (in _take); then the mapping is simply unmapped.
    if len(mapping) > KEEP_BYTES or not _lock.acquire(blocking=False):
        return
    try:
        _kept.append(mapping)
        total = sum(len(m) for m in _kept)
        while total > KEEP_BYTES:  # the oldest go: unmapped with their last reference
            total -= len(_kept.pop(0))
    finally:
        _lock.release()


def new_output(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """An uninitialised, writable C-order array for a read's voxels (see the module doc)."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < LARGE_OUTPUT:
        return np.empty(shape, dtype=dtype)
    size = -(-nbytes // _GRAIN) * _GRAIN
    kept = _take(size)
    _STATS.count(hit=kept is not None)
    mapping = kept or mmap.mmap(-1, size, **_PRIVATE)
    out: np.ndarray = np.asarray(_Lent(mapping, shape, dtype))
    return out


def _take(size: int) -> mmap.mmap | None:
    """The most recently kept mapping of ``size`` bytes, if any."""
    with _lock:
        for i in range(len(_kept) - 1, -1, -1):
            if len(_kept[i]) == size:
                return _kept.pop(i)
    return None


def kept_bytes() -> int:
    """Bytes of freed outputs kept for reuse right now."""
    with _lock:
        return sum(len(m) for m in _kept)


def _forget_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # may have been held by another thread at fork time
    _kept.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
