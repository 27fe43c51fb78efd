"""One process-wide thread pool for per-block work (decode, encode, downsample, copy).

zstd, zlib, lz4 and numpy copies release the GIL, so threads use every core. The pool is
sized to the CPU count and shared by all requests; work submitted from inside a pool
thread runs inline instead, so nested parallel calls can never deadlock the pool.

Fork: a child created by ``fork`` inherits the pool object but none of its threads, so
work submitted to it would wait forever. The child therefore gets a fresh pool (and fresh
thread-local scratch buffers) through :func:`os.register_at_fork`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from voxhub.cache_stats import cache_stats

T = TypeVar("T")
R = TypeVar("R")

WORKERS = max(1, os.cpu_count() or 1)

_local = threading.local()
_SCRATCH_STATS = cache_stats("scratch_buffer")


def _mark_worker() -> None:
    _local.in_pool = True


def _new_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=WORKERS, thread_name_prefix="voxhub-blocks", initializer=_mark_worker
    )


_POOL = _new_pool()


def _reset_after_fork() -> None:
    global _POOL, _local
    _POOL = _new_pool()  # the parent's pool has no threads in the child
    _local = threading.local()


os.register_at_fork(after_in_child=_reset_after_fork)


def parallel_map(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]`` computed on the pool (inline for 0-1 items or nesting).

    Items are handed out in contiguous chunks, a few per worker, so a 512-block read
    costs a handful of task hand-offs rather than 512. The first exception is re-raised.
    """
    n = len(items)
    if n <= 1 or getattr(_local, "in_pool", False):
        return [fn(x) for x in items]
    chunks = min(n, WORKERS * 4)
    bounds = [n * i // chunks for i in range(chunks + 1)]

    def run(i: int) -> list[R]:
        return [fn(x) for x in items[bounds[i] : bounds[i + 1]]]

    results: list[R] = []
    for part in _POOL.map(run, range(chunks)):
        results.extend(part)
    return results


def submit_map(fn: Callable[[T], R], items: Sequence[T]) -> list[Future[list[R]]]:
    """Start ``fn`` over ``items`` on the pool in contiguous chunks; results come later.

    Concatenating the chunks' results, in order, gives ``[fn(x) for x in items]``. This
    lets a caller consume early results (e.g. put encoded blocks into a transaction)
    while later ones are still being computed. Inside a pool thread, it computes inline.
    """
    n = len(items)
    if n == 0:
        return []
    if getattr(_local, "in_pool", False):
        done: Future[list[R]] = Future()
        done.set_result([fn(x) for x in items])
        return [done]
    chunks = min(n, WORKERS * 8)
    bounds = [n * i // chunks for i in range(chunks + 1)]

    def run(i: int) -> list[R]:
        return [fn(x) for x in items[bounds[i] : bounds[i + 1]]]

    return [_POOL.submit(run, i) for i in range(chunks)]


def scratch(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> np.ndarray:
    """A reusable C-contiguous buffer owned by the calling thread (contents undefined).

    Reusing it avoids a fresh allocation and its page faults for every decoded block.
    """
    buffers: dict[tuple[tuple[int, ...], str], np.ndarray] | None = getattr(_local, "scratch", None)
    if buffers is None:
        buffers = _local.scratch = {}
    key = (shape, dtype.str)
    buf = buffers.get(key)
    _SCRATCH_STATS.count(hit=buf is not None)
    if buf is None:
        buf = buffers[key] = np.empty(shape, dtype=dtype)
    return buf
