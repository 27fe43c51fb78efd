"""Scale-0 extents of remote instances, learned once and kept current by our own writes.

Every ``vol[...]`` needs the volume's bounds (open ends, negative indices, clipping);
asking the server each time would double the round trips of a small read. So a
:class:`RemoteHub` keeps one :class:`KnownExtents` per (node, instance): fetched on first
use, grown locally by each write this hub makes (a write only ever grows the extents),
dropped when a write fails (some slabs may have landed) and when a new handle is opened
or ``refresh()`` is called, so that writes by other clients are picked up then. A
committed node never changes, so its cached extents are always exact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from voxhub.geometry import Box

#: the cache holds nothing yet (distinct from ``None``: "nothing written")
_UNKNOWN = object()


class KnownExtents:
    """The scale-0 extents of one instance at one node, as this hub last knew them."""

    def __init__(self, fetch: Callable[[], Box | None]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._value: object = _UNKNOWN
        self._generation = 0  # bumped by every change, so a racing fetch is not kept

    def get(self) -> Box | None:
        with self._lock:
            value, generation = self._value, self._generation
        if value is _UNKNOWN:
            value = self._fetch()
            with self._lock:
                if self._generation == generation and self._value is _UNKNOWN:
                    self._value = value
        return value  # type: ignore[return-value]

    def grew(self, box: Box) -> None:
        """``box`` was written through this hub (nothing to do if not known yet)."""
        if box.empty:
            return
        with self._lock:
            self._generation += 1
            if self._value is None:
                self._value = box
            elif isinstance(self._value, Box):
                self._value = self._value.union(box)

    def forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._value = _UNKNOWN


class ExtentsCache:
    """One :class:`KnownExtents` per (node UUID, instance name), shared by the handles."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, str], KnownExtents] = {}

    def entry(self, node: str, instance: str, fetch: Callable[[], Box | None]) -> KnownExtents:
        """The shared entry, reset: a new handle starts from the server's current extents."""
        with self._lock:
            known = self._known.get((node, instance))
            if known is None:
                known = self._known[(node, instance)] = KnownExtents(fetch)
        known.forget()
        return known

    def forget(self, node: str, instance: str) -> None:
        with self._lock:
            known = self._known.get((node, instance))
        if known is not None:
            known.forget()
