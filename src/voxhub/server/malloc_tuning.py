"""Keep freed memory in the process for reuse instead of handing it back at once.

A server request allocates and frees many short-lived arrays of 0.1-2 MiB (a 64-block
label stream: decompressed streams, table entries, packed bytes, the answer). glibc
serves allocations over its mmap threshold (128 KiB at start, then the size of the last
such chunk freed) with fresh ``mmap`` pages and trims free memory above 2x that threshold
back to the OS, so the same-sized buffers of the next request are fresh pages again, each
one zeroed by the kernel on first touch: on the 2-vCPU bench VM a 64-block stream took
≈4,000 page faults, ≈8 ms of its ≈20 ms of CPU. Raising both thresholds keeps those
pages in the heap (≈20 faults per request); allocations above the mmap threshold (large
cutouts) still map and unmap their own memory, and the heap hands back free memory above
the trim threshold.

Settings the operator gave (``GLIBC_TUNABLES``, ``MALLOC_*_`` variables) are left alone;
on other C libraries this does nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 8 << 20
TRIM_THRESHOLD = 32 << 20


def retain_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; whether it did."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        libc = ctypes.CDLL(None)
        done = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        done &= libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError):
        return False
    return bool(done)
