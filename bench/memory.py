"""Optionally keep freed memory in the process while benchmarking (``--retain-memory``).

The VMs these benchmarks run on report freed memory to the host (virtio-balloon free page
reporting, in 8 MiB runs), and first touches of memory are slow there, worst with
transparent huge pages (numpy advises them for arrays of 4 MiB or more: a fresh 512³ uint8
array took 0.4-2.5 s to fill with them, ~0.1 s without). voxhub maps its large read
outputs in 4 KiB pages itself and reuses freed ones (``voxhub.blocks.output``), and
decodes LMDB values in place; what remains is the churn of other fresh allocations. With
``--retain-memory`` a benchmark re-executes itself with ``MALLOC_MMAP_MAX_=0`` and a huge
``MALLOC_TRIM_THRESHOLD_``, so glibc serves large blocks from its heap and keeps them, and
freed memory is reused warm, by both engines in the process. The default is the system's
behaviour, which is what users get; the results record which was used.
"""

from __future__ import annotations

import os
import sys

SETTINGS = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def retain_freed_memory(module: str) -> None:
    """With ``--retain-memory`` in the arguments, re-run ``python -m module`` with
    :data:`SETTINGS` unless they are in effect already."""
    if "--retain-memory" not in sys.argv or malloc_mode() == "retained":
        return
    env = {**os.environ, **SETTINGS}
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]], env)


def malloc_mode() -> str:
    """How this process allocates, for the results: ``retained`` or ``system``."""
    return "retained" if all(os.environ.get(k) == v for k, v in SETTINGS.items()) else "system"
