"""View files sent again as they went out, past the middleware and the router.

A viewer reads a volume as thousands of small files, and a cached chunk's answer is a
lookup; yet each request still crossed CORS, authentication, the request guard, the
trailing-slash rule, Starlette's exception layer, the router and the endpoint, which
resolves the URL's node and instance, finds the chunk, negotiates its coding and builds
its headers. Served by uvicorn, that stack cost about 0.1 ms of CPU for a 64³ label chunk
whose whole answer costs 0.25 ms: more than the stdlib static file server spends on the
same file.

:class:`ViewReplay` sits inside the request record (:mod:`.observe`: the metrics, the
access log and the request id see every request) and the Host check, and keeps what the
app sent for a view file: the status line's headers and the body. The same request is
then answered with those bytes, while they are still what the app would send:

* only answers an endpoint declared replayable (:func:`note_replayable`): chunks and
  shards of the precomputed and Zarr views, 200 or 206 (a byte range), when
  authentication is off;
* only ``GET`` requests whose headers all leave the answer unchanged (:data:`IGNORED`),
  keyed by the path, query, ``Accept-Encoding``, ``Origin`` (the CORS headers), ``Range``
  (readers of a shard ask for the same index and chunk ranges again) and whether the
  client is this machine (:mod:`.local_peer`). ``If-None-Match``, ``If-Range``,
  forwarding headers, credentials or anything else send the request down the stack;
* while the answer still holds (:class:`Validity`): the URL still names the same node and
  instance (:meth:`~voxhub.server.view_names.ViewNames.still`: only URLs naming a whole
  UUID, whose resolutions are kept), and, for an open node, nothing was written to the
  store since the answer's sources were read (its change marker).

Kept answers share their bodies with the view cache; the replay holds at most a quarter of
the view cache's budget (``0``: no replay) and forgets the least recently sent first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxhub.cache_stats import cache_stats
from voxhub.server.local_peer import sent_locally
from voxhub.server.observe import request_record
from voxhub.storage.base import KVStore

if TYPE_CHECKING:
    from voxhub.server.view_lane import ViewLane

#: the scope key of a request's :class:`ReplayNote`
NOTE_KEY = "voxhub.replay"
#: path prefixes of the routes that may declare their answers replayable
PREFIXES = ("/precomputed/", "/zarr/")
#: request headers that change nothing in a view file's answer (others: not replayed);
#: ``Host`` is checked outside, ``X-Request-ID`` is the request record's
IGNORED = frozenset(
    name.encode("latin-1")
    for name in [
        "host",
        "accept",
        "accept-language",
        "user-agent",
        "connection",
        "keep-alive",
        "cache-control",
        "pragma",
        "x-request-id",
        "referer",
        "dnt",
        "priority",
        "te",
        "sec-fetch-site",
        "sec-fetch-mode",
        "sec-fetch-dest",
        "sec-ch-ua",
        "sec-ch-ua-mobile",
        "sec-ch-ua-platform",
    ]
)
#: request headers the answer depends on: part of the key
KEYED = (b"accept-encoding", b"origin", b"range")
#: statuses of the answers kept: a whole file, a byte range of it
KEPT_STATUSES = (200, 206)
#: largest share of the budget one answer may take
LARGEST_SHARE = 16
#: bytes an answer takes besides its body, key and headers (dict entry, tuples, objects)
_OVERHEAD = 512

_STATS = cache_stats("view_replay")


@dataclass(frozen=True)
class Validity:
    """When a kept answer is still what the app would send."""

    store: KVStore
    #: whether the URL still names the node and instance it named
    still_named: Callable[[], bool]
    #: an open node's answers: the store's change marker read before their sources were
    marker: int | None = None

    def holds(self) -> bool:
        if self.marker is not None and self.store.change_marker() != self.marker:
            return False  # written since: the answer's sources may have changed
        # (the name's resolution came before the marker was read: checked on its own)
        return self.still_named()


class ReplayNote:
    """What the endpoint of a replayable request tells :class:`ViewReplay`."""

    __slots__ = ("still_named", "validity")

    def __init__(self) -> None:
        self.still_named: Callable[[], bool] | None = None  # set by the name resolution
        self.validity: Validity | None = None


def note_names(scope: Scope, still_named: Callable[[], bool]) -> None:
    """Record how to tell that the request's URL still names what it resolved to."""
    note = scope.get(NOTE_KEY)
    if isinstance(note, ReplayNote):
        note.still_named = still_named


def note_replayable(
    scope: Scope, store: KVStore, *, committed: bool, marker: int | None = None
) -> None:
    """Declare the request's whole answer replayable while its names hold (see
    :func:`note_names`; not noted: never) and, for an open node, while the store's change
    ``marker`` (read before its sources) has not moved."""
    note = scope.get(NOTE_KEY)
    if not isinstance(note, ReplayNote) or note.still_named is None:
        return
    if committed:
        note.validity = Validity(store, note.still_named)
    elif marker is not None:
        note.validity = Validity(store, note.still_named, marker)


@dataclass(frozen=True)
class Kept:
    """An answer kept for replay."""

    route: str
    start: Message
    #: the start message's headers as HTTP/1.1 header lines (:mod:`.view_lane` sends them)
    wire: bytes
    body: bytes
    validity: Validity
    #: what it counts against the budget: its body, its key and headers, and the
    #: bookkeeping (so that a client asking a tiny file under endless query strings fills
    #: the budget, not the memory)
    cost: int


def replay_key(
    path: str,
    query: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    local: Callable[[], bool],
) -> tuple[object, ...] | None:
    """What a ``GET`` of ``path`` with these request headers is kept under, or ``None``
    if its answer is not replayed (not a view file, or a header that may change it);
    ``local``: whether the client is this machine (:mod:`.local_peer`)."""
    if not path.startswith(PREFIXES):
        return None
    keyed: list[bytes | None] = [None] * len(KEYED)
    for name, value in headers:
        if name in IGNORED:
            continue
        if name in KEYED and keyed[KEYED.index(name)] is None:
            keyed[KEYED.index(name)] = value
        else:
            return None  # conditions, credentials, forwarding, a body, a second Range...
    return (path, query, *keyed, local())


class ViewReplay:
    """ASGI middleware keeping and replaying view answers (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int, lane: ViewLane | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._kept: OrderedDict[tuple[object, ...], Kept] = OrderedDict()
        self._bytes = 0
        if lane is not None and max_bytes:
            lane.replay = self  # the protocol's lane answers from these answers too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = None
        if self.max_bytes and scope["type"] == "http" and scope["method"] == "GET":
            key = replay_key(
                scope["path"],
                scope.get("query_string", b""),
                scope["headers"],
                lambda: sent_locally(scope),
            )
        if key is None:
            await self.app(scope, receive, send)
            return
        kept = self.kept_answer(key)
        if kept is not None:
            record = request_record(scope)
            if record is not None:
                record.route = kept.route
            await send(kept.start)
            await send({"type": "http.response.body", "body": kept.body})
            return
        await self._capture(key, scope, receive, send)

    def kept_answer(self, key: tuple[object, ...], *, count_miss: bool = True) -> Kept | None:
        """The answer kept for ``key`` (a :func:`replay_key`) if it still holds
        (``count_miss``: a miss counts; the lane's does not, since the request then comes
        here)."""
        kept = self._kept.get(key)
        if kept is not None:
            if kept.validity.holds():
                _STATS.count(hit=True)
                self._kept.move_to_end(key)
                return kept
            self._forget(key)
        if count_miss:
            _STATS.count(hit=False)
        return None

    async def _capture(
        self, key: tuple[object, ...], scope: Scope, receive: Receive, send: Send
    ) -> None:
        note = scope[NOTE_KEY] = ReplayNote()
        start: Message | None = None
        parts: list[Message] = []

        async def capturing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message)
            await send(message)

        await self.app(scope, receive, capturing)
        if note.validity is None or start is None or start.get("status") not in KEPT_STATUSES:
            return
        if len(parts) != 1 or parts[0].get("more_body", False):
            return
        body = bytes(parts[0].get("body", b""))
        if len(body) * LARGEST_SHARE > self.max_bytes:
            return
        record = request_record(scope)
        route = record.route if record is not None else ""
        headers = list(start.get("headers", ()))
        wire = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        cost = (
            len(body) + _OVERHEAD + sum(len(part) for part in key if isinstance(part, str | bytes))
        )
        cost += 2 * len(wire)  # the headers twice: as a list and as lines
        kept = Kept(route, {**start, "headers": headers}, wire, body, note.validity, cost)
        self._keep(key, kept)

    def _keep(self, key: tuple[object, ...], kept: Kept) -> None:
        self._forget(key)
        self._kept[key] = kept
        self._bytes += kept.cost
        while self._bytes > self.max_bytes and self._kept:
            _, oldest = self._kept.popitem(last=False)
            self._bytes -= oldest.cost

    def _forget(self, key: tuple[object, ...]) -> None:
        gone = self._kept.pop(key, None)
        if gone is not None:
            self._bytes -= gone.cost
