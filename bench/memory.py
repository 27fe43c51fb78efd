"""Keep freed memory in the process while benchmarking (both engines alike).

The VMs these benchmarks run on report freed memory to the host (virtio-balloon free page
reporting, in 8 MiB runs), and touching such memory again faults it back in from the host
at ~60 MB/s: a fresh 512³ uint8 output array then costs 0.7-2.5 s instead of ~50 ms. glibc
returns every large block (≥ 32 MiB always, via ``munmap``) to the kernel on ``free``, so
in a plain process each full-volume read of either engine may pay that, depending on luck
and timing (the 530-1080 MB/s spread of issue 8). With ``MALLOC_MMAP_MAX_=0`` and a huge
``MALLOC_TRIM_THRESHOLD_`` glibc serves large blocks from its heap and keeps them, so a
freed output array's pages are reused warm. The benchmarks re-execute themselves with
these settings unless ``--system-malloc`` is given; the results record which was used.
"""

from __future__ import annotations

import os
import sys

SETTINGS = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def retain_freed_memory(module: str) -> None:
    """Re-run ``python -m module`` with :data:`SETTINGS` unless they are in effect (or
    ``--system-malloc`` was given, which is then left for the module's parser)."""
    if "--system-malloc" in sys.argv or all(os.environ.get(k) == v for k, v in SETTINGS.items()):
        return
    env = {**os.environ, **SETTINGS}
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], env)


def malloc_mode() -> str:
    """How this process allocates, for the results: ``retained`` or ``system``."""
    return "retained" if all(os.environ.get(k) == v for k, v in SETTINGS.items()) else "system"
