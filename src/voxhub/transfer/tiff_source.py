"""TIFF stacks read tile by tile: a multi-page file or a folder of files, one page per z.

EM sections are often 16k-100k pixels wide, so a section is never read whole: a box reads
only the tiles (or strips) it overlaps, decoded by tifffile (``FileHandle.read_segments``
and ``TiffPage.decode``), uncompressed contiguous pages are memory-mapped, and
uncompressed tiles are read with ``preadv`` straight into the output (or a reused tile
buffer) rather than through a new ``bytes`` per tile and a second copy (~1 CPU-s per GB
of an import of 512² tiles went into reading them that way). Parsed pages
are kept in a small LRU (a 32k² page with 256² tiles carries 16k tile offsets; parsing
them again for every box would cost more than the read), so memory stays bounded however
many pages the stack has.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.optional import require

if TYPE_CHECKING:
    from voxhub.transfer.sources import Source

#: parsed pages (and, for a folder, open files) kept at once: more than an import task's
#: depth, so each page is parsed once per layer of tasks.
PAGE_CACHE = 256

#: TIFF compression codes whose segments need the page's JPEG tables to decode.
_JPEG = {6, 7, 33007, 34892}


class TiffStackSource:
    """Pages of one multi-page TIFF file, or the first page of each file of a folder."""

    origin: Vec3 = (0, 0, 0)

    def __init__(self, files: list[Path]) -> None:
        self._tifffile = require("tifffile", "importing a TIFF stack")
        self._files = files
        self._lock = threading.Lock()
        self._pages: OrderedDict[int, _Page] = OrderedDict()
        self._stack: Any = None
        if len(files) == 1:  # one multi-page file: open it once, never cache all its pages
            self._stack = self._tifffile.TiffFile(files[0])
            self._stack.pages.cache = False
            self._stack.pages.useframes = False
            depth = len(self._stack.pages)
        else:
            depth = len(files)
        first = self._page(0)
        self.shape: Vec3 = (depth, first.shape[0], first.shape[1])
        self.dtype: np.dtype[Any] = first.dtype
        self.chunk_shape: Vec3 = (1, first.chunks[0], first.chunks[1])

    def _name(self, z: int) -> str:
        return f"page {z} of {self._files[0].name}" if self._stack else self._files[z].name

    def _page(self, z: int) -> _Page:
        # Parsed under the lock: two readers of one page parse it once, and a page is
        # closed only when evicted, long after its last task (tasks go z-layer by layer
        # and the cache holds several layers' depth).
        with self._lock:
            page = self._pages.get(z)
            if page is not None:
                self._pages.move_to_end(z)
                return page
            page = self._open_page(z)
            self._pages[z] = page
            while len(self._pages) > PAGE_CACHE:
                self._pages.popitem(last=False)[1].close()
            return page

    def _open_page(self, z: int) -> _Page:
        if self._stack is not None:
            page = _Page(self._stack.pages[z], self._name(z), owner=None)
        else:
            handle = self._tifffile.TiffFile(self._files[z])
            page = _Page(handle.pages[0], self._name(z), owner=handle)
        if z and (page.shape != self.shape[1:] or page.dtype != self.dtype):
            page.close()
            raise InvalidRequest(
                f"{page.name} is {page.shape} {page.dtype}, expected {self.shape[1:]} {self.dtype}"
            )
        return page

    def read_box(self, box: Box) -> np.ndarray:
        out = np.empty(box.shape, self.dtype)
        (z0, y0, x0), (z1, y1, x1) = box.start, box.stop
        for z in range(z0, z1):
            self._page(z).read(y0, y1, x0, x1, out[z - z0])
        return out

    def close(self) -> None:
        with self._lock:
            for page in self._pages.values():
                page.close()
            self._pages.clear()
        if self._stack is not None:
            self._stack.close()


class _Page:
    """One 2-D grayscale page: its tile grid, and a memory map when it is uncompressed
    and contiguous."""

    def __init__(self, page: Any, name: str, owner: Any) -> None:
        self.name = name
        self._page = page
        self._owner = owner  # the file to close with the page (folder stacks)
        if len(page.shape) != 2 or page.samplesperpixel != 1 or len(page.chunks) != 2:
            self.close()
            raise InvalidRequest(f"{name} is not a 2-D grayscale image (shape {page.shape})")
        self.shape: tuple[int, int] = (int(page.shape[0]), int(page.shape[1]))
        self.dtype: np.dtype[Any] = np.dtype(page.dtype)
        self.chunks: tuple[int, int] = (int(page.chunks[0]), int(page.chunks[1]))
        self._map: np.ndarray | None = None
        #: the dtype of an uncompressed tile in the file, when tiles are read directly
        self._raw: np.dtype[Any] | None = None
        contiguous = page.is_contiguous
        if page.compression == 1 and not page.is_tiled and contiguous:
            fh = page.parent.filehandle
            stored = self.dtype.newbyteorder(page.parent.byteorder)
            self._map = np.memmap(fh.path, stored, "r", offset=contiguous[0], shape=self.shape)
            self.chunks = (1, self.shape[1])
        elif _raw_tiles(page, self.dtype, self.chunks):
            self._raw = self.dtype.newbyteorder(page.parent.byteorder)

    def read(self, y0: int, y1: int, x0: int, x1: int, out: np.ndarray) -> None:
        """``out[...] = page[y0:y1, x0:x1]``, decoding only the segments it overlaps."""
        if self._map is not None:
            out[...] = self._map[y0:y1, x0:x1]
            return
        if self._raw is not None:
            self._read_raw(y0, y1, x0, x1, out, self._raw)
            return
        page = self._page
        th, tw = self.chunks
        across = int(page.chunked[1])
        wanted = [
            ty * across + tx
            for ty in range(y0 // th, -(-y1 // th))
            for tx in range(x0 // tw, -(-x1 // tw))
        ]
        kwargs = {}
        if page.compression in _JPEG:
            kwargs = {"jpegtables": page.jpegtables, "jpegheader": page.keyframe.jpegheader}
        fh = page.parent.filehandle
        offsets = [page.dataoffsets[i] for i in wanted]
        counts = [page.databytecounts[i] for i in wanted]
        for data, index in fh.read_segments(offsets, counts, indices=wanted, lock=fh.lock):
            ty, tx = divmod(index, across)
            sy, sx = ty * th, tx * tw
            part_y = slice(max(y0, sy), min(y1, sy + th))
            part_x = slice(max(x0, sx), min(x1, sx + tw))
            target = out[part_y.start - y0 : part_y.stop - y0, part_x.start - x0 : part_x.stop - x0]
            if data is None:  # a segment the writer left out reads as 0
                target[...] = 0
                continue
            segment = page.decode(data, index, **kwargs)[0]
            target[...] = segment[
                0, part_y.start - sy : part_y.stop - sy, part_x.start - sx : part_x.stop - sx, 0
            ]

    def _read_raw(
        self, y0: int, y1: int, x0: int, x1: int, out: np.ndarray, stored: np.dtype[Any]
    ) -> None:
        """:meth:`read` of uncompressed tiles: each one ``preadv``'d into ``out`` when it
        is wanted whole and lands contiguous there, else into this thread's tile buffer."""
        page = self._page
        fd = page.parent.filehandle.fileno()
        th, tw = self.chunks
        across = int(page.chunked[1])
        for ty in range(y0 // th, -(-y1 // th)):
            for tx in range(x0 // tw, -(-x1 // tw)):
                sy, sx = ty * th, tx * tw
                ys, ye, xs, xe = max(y0, sy), min(y1, sy + th), max(x0, sx), min(x1, sx + tw)
                target = out[ys - y0 : ye - y0, xs - x0 : xe - x0]
                whole = (ye - ys, xe - xs) == (th, tw)
                direct = whole and target.flags.c_contiguous and stored == out.dtype
                buf = target if direct else _tile_buffer((th, tw), stored)
                offset = int(page.dataoffsets[ty * across + tx])
                if os.preadv(fd, [buf.data], offset) != buf.nbytes:
                    raise InvalidRequest(f"{self.name}: tile {ty * across + tx} is truncated")
                if not direct:
                    target[...] = buf[ys - sy : ye - sy, xs - sx : xe - sx]

    def close(self) -> None:
        self._map = None
        if self._owner is not None:
            self._owner.close()


def _raw_tiles(page: Any, dtype: np.dtype[Any], tile: tuple[int, int]) -> bool:
    """Whether every tile of ``page`` is stored as plain voxels, whole, in a real file."""
    if not (
        hasattr(os, "preadv")
        and page.is_tiled
        and page.compression == 1
        and page.predictor == 1
        and page.fillorder == 1
        and page.parent.filehandle.is_file
    ):
        return False
    size = tile[0] * tile[1] * dtype.itemsize
    return all(int(n) == size for n in page.databytecounts)  # none missing or partial


_local = threading.local()


def _tile_buffer(shape: tuple[int, int], dtype: np.dtype[Any]) -> np.ndarray:
    """This thread's reusable buffer for one tile (a new one per tile cost page faults)."""
    buf: np.ndarray | None = getattr(_local, "tile", None)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = _local.tile = np.empty(shape, dtype)
    return buf


def open_tiff_stack(files: list[Path]) -> Source:
    """A multi-page TIFF file (``[path]``) or a folder's TIFF files as a source; a
    memory-mappable multi-page file is mapped whole (every page uncompressed, contiguous)."""
    tifffile = require("tifffile", "importing a TIFF stack")
    if len(files) == 1:
        try:
            mapped = tifffile.memmap(files[0], mode="r")
        except ValueError:
            pass
        else:
            if mapped.ndim == 2:
                mapped = mapped[np.newaxis]
            from voxhub.transfer.sources import ArraySource

            return ArraySource(mapped, f"TIFF stack {files[0].name}")
    return TiffStackSource(files)
