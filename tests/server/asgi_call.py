"""Call an ASGI app directly, seeing whether (and how much of) the body it read.

The test client hands the app the whole body at once; refusals that must come *before*
the body is read are checked here, with a ``receive`` that counts its calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Message, Receive


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    #: how many times the app asked for a piece of the body
    reads: int = 0
    sent: list[Message] = field(default_factory=list)


def call(
    app: ASGIApp,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    host: str = "localhost",
    client: str = "127.0.0.1",
) -> Answer:
    """One request through ``app`` (lifespan not run: the app must not need it) from
    the peer address ``client``."""
    return anyio.run(lambda: acall(app, method, path, headers, body, host=host, client=client))


async def acall(
    app: ASGIApp,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    host: str = "localhost",
    receive: Receive | None = None,
    client: str = "127.0.0.1",
) -> Answer:
    """:func:`call` inside a running event loop; ``receive`` replaces the body source."""
    raw_headers = [(b"host", host.encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": raw_headers,
        "client": (client, 1234),
        "server": ("127.0.0.1", 8000),
    }
    answer = Answer(0, {}, b"")

    async def whole_body() -> Message:
        if answer.reads == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    source = receive or whole_body

    async def counted() -> Message:
        answer.reads += 1
        return await source()

    async def send(message: Message) -> None:
        answer.sent.append(message)
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, counted, send)
    return answer
