"""Where a route runs its store work: on the event loop when that is cheaper.

A hop to the thread pool costs a few hundred microseconds on a small VM, more than an
LMDB metadata read or the decode of a block or two. Reads of stores that declare
``low_latency_reads`` (LMDB: a memory map, readers never wait for writers) therefore run
inline when they are small; everything else, including every write (a writer may wait
for another process's write lock), goes to the thread pool so the loop keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class ReadsTarget(Protocol):
    """A request context that knows whether its store reads fast."""

    @property
    def fast_reads(self) -> bool: ...


async def small_read(target: ReadsTarget, fn: Callable[[], T], *, small: bool = True) -> T:
    """``fn()``, a read-only piece of store work: inline if ``small`` and the store is
    fast, in the thread pool otherwise."""
    if small and target.fast_reads:
        return fn()
    return await run_in_threadpool(fn)
