"""The node log's mutation lines: who changed data at a node, written with the change.

A node's log (DVID's ``GET /api/node/{uuid}/log``) has two sources:

* catalog lines (notes, commits, instances added, ``POST log``) live in the node record,
  so ``/api/repos/info`` shows them with the DAG;
* mutation lines (voxel writes, label merges, ...) live under keys of their own,
  ``nodelog/<uuid>/<time ns, 20 digits><8 random hex>``, one fresh key per line.

A mutation line is written **inside the mutation's own store transaction**, so a write
that committed is logged and a refused or crashed one is not. It is a fresh key, not an
edit of the node record: concurrent writers at one node (threads, processes, S3
transactions) share no key for it and never serialise or conflict on the log, and a
write costs the same however long the log already is.

The line is handed down from the request through a context variable rather than through
every engine signature: :func:`logging_writes` arms it around a request's work, and
:meth:`voxhub.versioning.view.VersionedKV.transact` (and ``put_many``/``delete_many``)
write it in the first transaction that commits inside that block, once.
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

from voxhub.storage.base import KVStore, Txn
from voxhub.versioning.keys import meta_key, meta_range

_TIME_DIGITS = 20


@dataclass
class PendingLine:
    """A log line waiting for the first write transaction of a request."""

    line: str
    written: bool = False


_PENDING: ContextVar[PendingLine | None] = ContextVar("voxhub_node_log_line", default=None)


def stamp(user: str, app: str, text: str) -> str:
    """A log line recording who made a change: ``<time> u=<user> app=<app>: text``
    (``u=``/``app=`` left out when empty; DVID clients send both on every request). The
    time has microseconds: it is what orders catalog lines among mutation lines."""
    who = " ".join(f"{k}={v}" for k, v in (("u", user), ("app", app)) if v)
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    return f"{now} {who}: {text}" if who else f"{now}: {text}"


@contextmanager
def logging_writes(line: str) -> Iterator[PendingLine]:
    """Within the block, the first write transaction that commits adds ``line`` to the
    log of the node it wrote at (see the module docstring). Nested blocks keep the outer
    line: one request, one line."""
    if _PENDING.get() is not None:
        yield PendingLine(line, written=True)
        return
    pending = PendingLine(line)
    token = _PENDING.set(pending)
    try:
        yield pending
    finally:
        _PENDING.reset(token)


def pending_line() -> PendingLine | None:
    """The line the current request still has to log, if any."""
    pending = _PENDING.get()
    return None if pending is None or pending.written else pending


def _line_key(uuid: str) -> bytes:
    suffix = f"{time.time_ns():0{_TIME_DIGITS}d}{os.urandom(4).hex()}"
    return meta_key(f"nodelog/{uuid}/{suffix}")


def append(txn: Txn, uuid: str, line: str) -> None:
    """Add ``line`` to the mutation log of node ``uuid`` inside ``txn``."""
    txn.put(_line_key(uuid), line.encode())


def mutation_lines(store: KVStore, uuid: str) -> list[tuple[int, str]]:
    """``(time ns, line)`` of node ``uuid``'s mutation lines, oldest first."""
    start, end = meta_range(f"nodelog/{uuid}/")
    out = []
    for key, value in store.scan(start, end):
        ns = int(key[len(start) : len(start) + _TIME_DIGITS])
        out.append((ns, bytes(value or b"").decode(errors="replace")))
    return out


def _catalog_times(lines: Sequence[str]) -> list[tuple[int, str]]:
    """Catalog lines with the time their stamp names (a line without one, e.g. added by
    the numpy API, takes its predecessor's): the key that interleaves them."""
    out, last = [], 0
    for line in lines:
        try:
            stamped = datetime.fromisoformat(line.split(" ", 1)[0].rstrip(":"))
            last = round(stamped.timestamp() * 1_000_000) * 1000
        except ValueError:
            pass
        out.append((last, line))
    return out


def merged(catalog_lines: Sequence[str], store: KVStore, uuid: str) -> list[str]:
    """The whole log of node ``uuid``: its catalog lines and mutation lines by time
    (stamps have microseconds; within one, catalog lines come first)."""
    both = heapq.merge(
        _catalog_times(catalog_lines), mutation_lines(store, uuid), key=lambda p: p[0]
    )
    return [line for _, line in both]
