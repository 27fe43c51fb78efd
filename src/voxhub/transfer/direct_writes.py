"""Large export files written with ``O_DIRECT`` from reused page-aligned buffers, on a
background thread, so that the export's workers build the next shards meanwhile.

Why: an export writes each shard once and never reads it back. A buffered write copies
every byte into fresh page-cache pages, and filling fresh pages is what the write costs:
on the VMs the benchmarks run on (whose unused memory goes back to the host) 1-2 CPU-s
per 256 MiB of shards, more than building them, and ~150 ms at best; the pages then push
the store's, which the export reads, out of the cache. ``O_DIRECT`` sends the bytes from
the process's own buffer (~30 ms in the kernel per 256 MiB). A shard is built in such a
buffer (:class:`Staging`: its chunk data decompressed in place after room for its
index), or copied into one; the device is waited for on the background thread while the
workers fill the other buffers.

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
#: whether this system has ``O_DIRECT`` (Linux)
AVAILABLE = hasattr(os, "O_DIRECT")
#: files at least this large are staged and written directly
DIRECT_MIN = 1 << 20
#: staging buffers of a :class:`DirectWrites` by default (an export has one more than
#: its workers: one being written while each worker fills one)
BUFFERS = 2


class Staging:
    """A page-aligned buffer (an anonymous mapping), grown as files need and kept: a
    file is staged at its start, zero-padded to a multiple of :data:`ALIGN`."""

    def __init__(self) -> None:
        # private: a shared anonymous mapping keeps its first size when remapped larger
        # (SIGBUS past it)
        self.map = mmap.mmap(-1, ALIGN, flags=mmap.MAP_PRIVATE)

    def fill(self, parts: Sequence[Piece]) -> int:
        """Stage ``parts`` one after the other (none a view of this buffer); the size."""
        views = [memoryview(p).cast("B") for p in parts]
        size = sum(v.nbytes for v in views)
        self._grow(size)
        at = 0
        for v in views:
            self.map[at : at + v.nbytes] = v
            at += v.nbytes
        return self._pad(size)

    def place(self, head: Piece, data: int, tail: Piece) -> int:
        """Stage a file whose middle ``data`` bytes are in the buffer already, after
        room for ``head``; the size."""
        start, end = len(head), len(head) + data
        size = end + len(tail)
        self._grow(size)
        self.map[:start] = head
        self.map[end:size] = tail
        return self._pad(size)

    def _grow(self, size: int) -> None:
        if len(self.map) < _padded(size):  # the new pages are then reused
            self.map.resize(_padded(size))

    def _pad(self, size: int) -> int:
        self.map[size : _padded(size)] = bytes(_padded(size) - size)
        return size


def _padded(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


#: staging buffers of finished :class:`DirectWrites`, for the next: a fresh buffer's pages
#: cost as much to fill as a buffered write's (above), reused ones nothing
_kept: queue.SimpleQueue[Staging] = queue.SimpleQueue()
#: staging buffers kept at most (an export with two workers uses three)
KEEP = 3


def _take_staging() -> Staging:
    try:
        return _kept.get_nowait()
    except queue.Empty:
        return Staging()


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
    """The files of a :class:`DirectoryOutput`, the large ones staged in one of
    ``buffers`` :class:`Staging` buffers on the calling thread (:meth:`write`, or a
    caller builds a file in one: :meth:`buffer`, :meth:`write_staged`) and written on a
    background thread (:func:`write_aligned`). Call :meth:`finish` before relying on
    them: it waits for every write and raises the first failure (a file whose write
    failed is not there, not even in part)."""

    def __init__(
        self, output: DirectoryOutput, *, buffers: int = BUFFERS, min_bytes: int | None = None
    ) -> None:
        self.output = output
        self.min_bytes = DIRECT_MIN if min_bytes is None else min_bytes
        self._free: queue.Queue[Staging] = queue.Queue()
        for _ in range(max(1, buffers)):
            self._free.put(_take_staging())
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="voxhub-direct-write")
        self._pending: list[Future[None]] = []
        self._lock = threading.Lock()

    def buffer(self) -> Staging:
        """A free staging buffer (waits while all are taken), to be handed back by
        :meth:`write_staged` or :meth:`release`."""
        self._raise_failed()
        return self._free.get()

    def release(self, staging: Staging) -> None:
        self._free.put(staging)

    def write(self, name: str, parts: Sequence[Piece]) -> None:
        """Write the file ``name`` as the concatenation of ``parts``, which the caller
        may reuse once this returns."""
        if sum(memoryview(p).nbytes for p in parts) < self.min_bytes:
            self.output.write(name, parts)
            return
        staging = self.buffer()
        try:
            size = staging.fill(parts)
        except BaseException:
            self.release(staging)
            raise
        self.write_staged(name, staging, size)

    def write_staged(self, name: str, staging: Staging, size: int) -> None:
        """Write the file ``name`` staged in ``staging`` (``size`` bytes; taken from
        :meth:`buffer`, handed back once written)."""
        if size < self.min_bytes:
            try:
                with memoryview(staging.map) as whole, whole[:size] as body:
                    self.output.write(name, [body])
            finally:
                self.release(staging)
            return
        future = self._writer.submit(self._write, name, staging, size)
        with self._lock:
            self._pending.append(future)

    @staticmethod
    def _view(staging: Staging, size: int) -> memoryview:
        return memoryview(staging.map)[: _padded(size)]

    def _write(self, name: str, staging: Staging, size: int) -> None:
        view = self._view(staging, size)
        try:
            self.output.write_with(name, lambda partial: write_aligned(partial, view, size))
        finally:
            view.release()
            self.release(staging)

    def _raise_failed(self) -> None:
        with self._lock:
            done = [f for f in self._pending if f.done()]
            self._pending = [f for f in self._pending if not f.done()]
        for future in done:
            future.result()

    def finish(self) -> None:
        """Wait for every write (also after a failure); raise the first failure. The
        staging buffers are kept for the next :class:`DirectWrites`."""
        self._writer.shutdown(wait=True)
        with self._lock:
            pending, self._pending = self._pending, []
        while not self._free.empty():
            staging = self._free.get()
            if _kept.qsize() < KEEP:  # the others are unmapped when dropped
                _kept.put(staging)
        for future in pending:
            future.result()
