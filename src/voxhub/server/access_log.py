"""One structured line per request (``voxhub serve --access-log``), off by default.

Each line is a JSON object on the ``voxhub.access`` logger, written when the response's
last byte went out:

* ``id`` — the request id (the client's ``X-Request-ID`` if sane, else a fresh one; the
  response carries it back in ``X-Request-ID``);
* ``method``, ``path``, ``query`` — as received; ``route`` — the template of the route
  that served it (``unmatched`` if none did);
* ``status``, ``bytes`` (response body), ``bytes_in`` (request body), ``ms`` (from the
  request's arrival to its last body byte);
* ``user`` — the authenticated user when the auth layer recognised one, else DVID's
  self-declared ``?u=`` when sent (then ``"user_from": "query"``); ``app`` — DVID's
  ``?app=`` when sent.

A request that fails before answering is logged with status 500. The line is built from
the :class:`~voxhub.server.observe.RequestRecord` of the outermost middleware
(:mod:`.observe`), so 413s, CORS preflights and refusals are logged too.
"""

from __future__ import annotations

import json
import logging
import sys
from urllib.parse import parse_qs

from voxhub.server.observe import RequestRecord

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
    """An :class:`~voxhub.server.observe.Observe` sink logging one JSON line per request."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or access_logger()

    def __call__(self, record: RequestRecord) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info(access_line(record))


def access_line(record: RequestRecord) -> str:
    """The JSON line of ``record``."""
    line: dict[str, object] = {
        "id": record.request_id,
        "method": record.method,
        "path": record.path,
        "route": record.route,
        "query": record.query,
        "status": record.status,
        "bytes": record.sent,
        "bytes_in": record.received,
        "ms": round(record.seconds * 1000, 3),
    }
    params = parse_qs(record.query) if record.query else {}
    user = record.user
    if user is not None:
        line["user"] = user
    elif params.get("u"):
        line["user"], line["user_from"] = params["u"][0], "query"
    if params.get("app"):
        line["app"] = params["app"][0]
    return json.dumps(line, separators=(",", ":"))
