"""uvicorn's HTTP/1.1 protocol with a deadline on request headers (slowloris).

uvicorn bounds a connection's idle time *between* requests (``timeout_keep_alive``,
armed when a response completes, cancelled by the first byte that arrives) and the
application bounds a request *body* (:mod:`.limits`), but nothing bounds the time a
client takes to send its headers: a connection that sends nothing at all, or one byte
of a header line every few seconds, is held for ever. :class:`HeaderDeadline` closes a
connection whose headers are not complete ``header_timeout`` seconds after it opened or
after its previous response; a request in progress is never cut by it.

The deadline reads ``$VOXHUB_HEADER_TIMEOUT`` (set by ``voxhub serve
--header-timeout``), since uvicorn builds protocols itself, in each worker process.
"""

from __future__ import annotations

import asyncio
import os

from uvicorn.protocols.http.h11_impl import H11Protocol

from voxhub.server.view_lane import ViewLane

#: environment variable with the header deadline in seconds
HEADER_TIMEOUT_ENV = "VOXHUB_HEADER_TIMEOUT"
DEFAULT_HEADER_TIMEOUT = 10.0


class HeaderDeadline(asyncio.Protocol):
    """Mixin for uvicorn's HTTP protocols (which have ``transport``, ``cycle``, ``loop``)."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    _header_timer: asyncio.TimerHandle | None = None
    _header_timeout: float = DEFAULT_HEADER_TIMEOUT

    def _arm_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self._header_timer = self.loop.call_later(
            self._header_timeout, self._header_deadline_passed
        )

    def _cancel_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        cycle = getattr(self, "cycle", None)
        if cycle is not None and not cycle.response_complete:
            return  # headers arrived, a request is being served: not ours to cut
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # read once per connection, not after every response
        self._header_timeout = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT))
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm_header_deadline()  # for the next request's headers


class H11WithHeaderDeadline(HeaderDeadline, H11Protocol):
    """uvicorn's pure-Python protocol with the header deadline."""


try:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools missing: H11 only
    HTTP_PROTOCOL = f"{__name__}:H11WithHeaderDeadline"
else:

    class HttpToolsWithHeaderDeadline(HeaderDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol with the header deadline, sending the view files
        the app's :class:`~voxhub.server.view_lane.ViewLane` answers itself."""

        _lane: ViewLane | None = None
        _answered = False  # the request being parsed was answered by the lane

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            self._lane = lane_of(self.app)

        def on_headers_complete(self) -> None:
            lane = self._lane
            if lane is not None and self._lane_may_answer(lane):
                parsed = httptools.parse_url(self.url)
                if lane.may_answer(parsed.path):
                    parts = lane.answer(
                        parsed.path.decode("ascii"),
                        parsed.query or b"",
                        self.headers,
                        self.client,
                        self.server_state.default_headers,
                    )
                    if parts is not None:
                        self._answered = True
                        self.transport.writelines(parts)
                        self.on_response_complete()  # keep-alive and header deadlines
                        return
            super().on_headers_complete()

        def _lane_may_answer(self, lane: ViewLane) -> bool:
            """Whether the request may be the lane's, as far as the connection goes: a
            keep-alive ``GET`` over HTTP/1.1, no answer still being made before it, a
            reader keeping up."""
            return (
                self.root_path == ""
                and (self.cycle is None or self.cycle.response_complete)
                and not self.pipeline
                and not self.flow.write_paused
                and self.parser.get_method() == b"GET"
                and self.parser.get_http_version() == "1.1"
                and self.parser.should_keep_alive()
                and not self.parser.should_upgrade()
            )

        def on_message_complete(self) -> None:
            if self._answered:  # nothing of it reached the app
                self._answered = False
                return
            super().on_message_complete()

    HTTP_PROTOCOL = f"{__name__}:HttpToolsWithHeaderDeadline"


def lane_of(app: object) -> ViewLane | None:
    """The :class:`ViewLane` of the voxhub app ``app`` is or wraps (uvicorn wraps the app
    in its own middleware: each keeps the next as ``.app``), if it has one."""
    for _ in range(8):
        lane = getattr(getattr(app, "state", None), "view_lane", None)
        if isinstance(lane, ViewLane):
            return lane
        app = getattr(app, "app", None)
        if app is None:
            break
    return None
