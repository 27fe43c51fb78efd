"""The HTTP server: DVID's REST API over a :class:`~voxhub.service.Service` (Starlette)."""

from voxhub.server.app import create_app

__all__ = ["create_app"]
