"""One structured line per request (``voxhub serve --access-log``), off by default.

Each line is a JSON object on the ``voxhub.access`` logger: ``method``, ``path``,
``query``, ``status``, ``bytes`` (of the response body), ``ms`` (from the request's
arrival to its last body byte) and, when DVID clients send them, ``user`` and ``app``. A
request that fails before answering is logged with status 500. The middleware is the
outermost layer, so it sees exactly what went on the wire, 413s and CORS preflights too.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the logger access lines go to
ACCESS_LOGGER = "voxhub.access"


def access_logger() -> logging.Logger:
    """The access logger, writing bare lines to stderr unless the host configured it."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class AccessLog:
    """Pure ASGI middleware logging one JSON line per HTTP request."""

    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or access_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            self.logger.info(self._line(scope, status, sent, time.perf_counter() - start))

    @staticmethod
    def _line(scope: Scope, status: int, sent: int, seconds: float) -> str:
        query = scope.get("query_string", b"").decode("latin-1")
        record: dict[str, object] = {
            "method": scope.get("method", ""),
            "path": scope.get("path", ""),
            "query": query,
            "status": status,
            "bytes": sent,
            "ms": round(seconds * 1000, 3),
        }
        params = parse_qs(query)
        for key, name in (("u", "user"), ("app", "app")):
            if params.get(key):
                record[name] = params[key][0]
        return json.dumps(record, separators=(",", ":"))
