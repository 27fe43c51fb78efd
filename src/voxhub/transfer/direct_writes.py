"""Large export files written with ``O_DIRECT`` from reused page-aligned buffers, on a
background thread, so that the export's workers build the next shards meanwhile.

Why: an export writes each shard once and never reads it back. A buffered write copies
every byte into fresh page-cache pages, and filling fresh pages is what the write costs:
on the VMs the benchmarks run on (whose unused memory goes back to the host) 1-2 CPU-s
per 256 MiB of shards, more than building them, and ~150 ms at best; the pages then push
the store's, which the export reads, out of the cache. ``O_DIRECT`` sends the bytes from
the process's own buffer: one copy into it (~45 ms per 256 MiB, the buffer's pages reused)
and ~30 ms in the kernel. The device is waited for, hence the background thread and
:data:`BUFFERS` staging buffers (one being written while the next is filled).

Files are written under a temporary name and renamed into place when complete, as
:class:`~voxhub.transfer.outputs.DirectoryOutput` does; a filesystem that refuses
``O_DIRECT`` (``EINVAL``) gets buffered writes of the same bytes. Small files (below
:data:`DIRECT_MIN`) are written as before, synchronously.
"""

from __future__ import annotations

import errno
import mmap
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from voxhub.transfer.outputs import DirectoryOutput, Piece

#: alignment of O_DIRECT buffers, lengths and file offsets (a page: every device's
#: logical block size divides it)
ALIGN = 4096
#: files at least this large are staged and written directly
DIRECT_MIN = 1 << 20
#: staging buffers of a :class:`DirectWrites`: files staged and not yet written, at most
BUFFERS = 2


class _Staging:
    """A page-aligned buffer (an anonymous mapping), kept and grown as files need."""

    def __init__(self) -> None:
        self._map = mmap.mmap(-1, ALIGN)

    def fill(self, parts: Sequence[Piece]) -> tuple[memoryview, int]:
        """``parts`` one after the other at the start of the buffer, zero-padded to a
        multiple of :data:`ALIGN`: the padded view (to be released) and the file's size."""
        views = [memoryview(p).cast("B") for p in parts]
        size = sum(v.nbytes for v in views)
        padded = -(-size // ALIGN) * ALIGN
        if len(self._map) < padded:  # a new mapping: its pages are then reused
            self._map = mmap.mmap(-1, padded)
        view = memoryview(self._map)[:padded]
        at = 0
        for v in views:
            view[at : at + v.nbytes] = v
            at += v.nbytes
        view[size:] = bytes(padded - size)
        return view, size


#: staging buffers of finished :class:`DirectWrites`, for the next: a fresh buffer's pages
#: cost as much to fill as a buffered write's (above), reused ones nothing
_kept: queue.SimpleQueue[_Staging] = queue.SimpleQueue()


def _take_staging() -> _Staging:
    try:
        return _kept.get_nowait()
    except queue.Empty:
        return _Staging()


def write_aligned(path: Path, view: memoryview, size: int) -> bool:
    """Write the file ``path`` holding the first ``size`` bytes of the page-aligned,
    padded ``view``: with ``O_DIRECT`` (``True``), or buffered where the filesystem
    refuses it (``False``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    direct = getattr(os, "O_DIRECT", 0)
    if direct:
        try:
            fd = os.open(path, flags | direct, 0o644)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
        else:
            try:
                _write_all(fd, view)
                os.ftruncate(fd, size)  # the padding off
                return True
            except OSError as e:
                if e.errno != errno.EINVAL:  # EINVAL: an alignment the device refuses
                    raise
            finally:
                os.close(fd)
    fd = os.open(path, flags, 0o644)
    try:
        _write_all(fd, view[:size])
    finally:
        os.close(fd)
    return False


def _write_all(fd: int, view: memoryview) -> None:
    at = 0
    while at < view.nbytes:
        at += os.write(fd, view[at:])


class DirectWrites:
    """The files of a :class:`DirectoryOutput`, the large ones staged on the calling
    thread and written on a background thread (:func:`write_aligned`). Call
    :meth:`finish` before relying on them: it waits for every write and raises the first
    failure (a file whose write failed is not there, not even in part)."""

    def __init__(self, output: DirectoryOutput, *, min_bytes: int | None = None) -> None:
        self.output = output
        self.min_bytes = DIRECT_MIN if min_bytes is None else min_bytes
        self._free: queue.Queue[_Staging] = queue.Queue()
        for _ in range(BUFFERS):
            self._free.put(_take_staging())
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="voxhub-direct-write")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def write(self, name: str, parts: Sequence[Piece]) -> None:
        """Write the file ``name`` as the concatenation of ``parts``, which the caller
        may reuse once this returns."""
        if sum(memoryview(p).nbytes for p in parts) < self.min_bytes:
            self.output.write(name, parts)
            return
        self._raise_failed()
        staging = self._free.get()  # waits while every buffer is being written
        try:
            view, size = staging.fill(parts)
        except BaseException:
            self._free.put(staging)
            raise
        future = self._writer.submit(self._write, name, staging, view, size)
        with self._lock:
            self._pending.append(future)

    def _write(self, name: str, staging: _Staging, view: memoryview, size: int) -> None:
        try:
            self.output.write_with(name, lambda partial: write_aligned(partial, view, size))
        finally:
            view.release()
            self._free.put(staging)

    def _raise_failed(self) -> None:
        with self._lock:
            done = [f for f in self._pending if f.done()]
            self._pending = [f for f in self._pending if not f.done()]
        for future in done:
            future.result()

    def finish(self) -> None:
        """Wait for every write (also after a failure); raise the first failure."""
        self._writer.shutdown(wait=True)
        with self._lock:
            pending, self._pending = self._pending, []
        while not self._free.empty():
            _kept.put(self._free.get())
        for future in pending:
            future.result()
