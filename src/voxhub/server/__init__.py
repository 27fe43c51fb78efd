"""The HTTP server: DVID's REST API over a :class:`~voxhub.service.Service` (Starlette)."""

from voxhub.optional import require

# The web stack is the `server` extra: say so, rather than fail on a bare import below.
require("starlette", "voxhub.server")
require("uvicorn", "voxhub.server")

from voxhub.server.app import create_app  # noqa: E402

__all__ = ["create_app"]
