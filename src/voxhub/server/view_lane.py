"""Replayed view files sent by the HTTP protocol itself, before any ASGI machinery.

:class:`~voxhub.server.view_replay.ViewReplay` answers a view file it kept from bytes it
already has, yet each such request still cost the server ~0.19 ms of CPU, three
quarters of it uvicorn's: the ASGI scope, a request cycle with its ``asyncio.Event``,
an asyncio task, the message dicts and the header serialisation, then Observe and the
Host check (a bare httptools server sends the same 35 KB answer in 0.04 ms). A viewer
reads a volume as thousands of these files.

:class:`ViewLane` gives the same answers from the parser's callback, when a request's
headers are complete (:mod:`.protocol` asks it; ``None`` sends the request down the ASGI
path as before). It answers only what the replay would, by the replay's own rules and
lookup (:func:`~voxhub.server.view_replay.replay_key`: ``GET`` of a view file, headers
that leave the answer unchanged, a kept answer that still holds), and does what the
outer layers would have done with it:

* the Host check: a refused ``Host`` goes down the ASGI path (its 421 is made there);
* Observe's work: the request id (the client's ``X-Request-ID`` when sane, else a new
  one) in the answer, and a :class:`~voxhub.server.observe.RequestRecord` (route
  template, status, bytes, time) handed to the same sinks (metrics, access log).

The protocol leaves to the ASGI path whatever the lane cannot vouch for: HTTP/1.0 or
``Connection: close``, percent-escaped paths, a request arriving while an earlier
answer on the connection is still being made (pipelining keeps its order), and a
connection whose reader is not keeping up (uvicorn's flow control waits there).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voxhub.cache_stats import cache_stats
from voxhub.server.hosts import HostVerdicts
from voxhub.server.local_peer import is_loopback
from voxhub.server.observe import REQUEST_ID_HEADER, RequestRecord, Sink, request_id_from
from voxhub.server.view_replay import PREFIXES, replay_key

if TYPE_CHECKING:
    from voxhub.server.view_replay import ViewReplay

#: the status lines of the answers kept (view_replay.KEPT_STATUSES)
_STATUS_LINES = {200: b"HTTP/1.1 200 OK\r\n", 206: b"HTTP/1.1 206 Partial Content\r\n"}
_ID_LINE = REQUEST_ID_HEADER.encode("ascii") + b": "
_PREFIXES = tuple(prefix.encode("ascii") for prefix in PREFIXES)
_STATS = cache_stats("view_lane")


@dataclass
class ViewLane:
    """The app's view answers as the protocol sends them (see the module docstring)."""

    #: Observe's sinks (metrics, access log)
    sinks: Sequence[Sink]
    #: the Host check's verdicts (``None``: no Host check)
    hosts: HostVerdicts | None
    #: whether the app compresses answers to this machine too (:mod:`.local_peer`)
    compress_loopback: bool
    #: set by the app's :class:`ViewReplay` once its middleware is built
    replay: ViewReplay | None = None

    @staticmethod
    def may_answer(raw_path: bytes) -> bool:
        """Whether a request for ``raw_path`` (the URL's path, undecoded) may be one of
        the lane's: the protocol asks before doing anything more."""
        return raw_path.startswith(_PREFIXES) and b"%" not in raw_path and raw_path.isascii()

    def answer(
        self,
        path: str,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        client: tuple[str, int] | None,
        server_headers: Sequence[tuple[bytes, bytes]],
    ) -> list[bytes] | None:
        """The whole answer to a ``GET`` of ``path`` (``query``, lowercase ``headers``,
        from ``client``) as the bytes to send, or ``None`` to leave the request to the
        app. ``server_headers``: the server's own headers (``date``, ``server``)."""
        started = time.perf_counter()
        replay = self.replay
        if replay is None:
            return None
        if self.hosts is not None:
            for name, value in headers:
                if name == b"host":
                    if not self.hosts.allows(value.decode("latin-1")):
                        return None
                    break
        key = replay_key(path, query, headers, lambda: self._local(client))
        kept = replay.kept_answer(key, count_miss=False) if key is not None else None
        if kept is None:
            _STATS.count(hit=False)
            return None
        _STATS.count(hit=True)
        request_id = request_id_from(headers)
        record = RequestRecord(
            request_id,
            "GET",
            path,
            query.decode("latin-1"),
            route=kept.route,
            status=kept.start["status"],
            sent=len(kept.body),
        )
        head = b"".join(
            (
                _STATUS_LINES[kept.start["status"]],
                *(name + b": " + value + b"\r\n" for name, value in server_headers),
                kept.wire,
                _ID_LINE,
                request_id.encode("ascii"),
                b"\r\n\r\n",
            )
        )
        record.seconds = time.perf_counter() - started
        for sink in self.sinks:
            sink(record)
        return [head, kept.body]

    def _local(self, client: tuple[str, int] | None) -> bool:
        # forwarding headers never reach here: replay_key refuses them first
        return client is not None and is_loopback(str(client[0])) and not self.compress_loopback
