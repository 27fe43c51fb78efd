"""The service layer: a store, its catalog and the instance opener, below client and server.

Both the embedded numpy API (:class:`voxhub.client.EmbeddedHub`) and the HTTP server
(:mod:`voxhub.server`) stand on :class:`Service`; the server never goes through the
client's numpy classes. Authentication and authorisation (users, tokens, roles, public
versions) live in :mod:`voxhub.service.auth`.
"""

from voxhub.service.service import Service, ServiceOwner

__all__ = ["Service", "ServiceOwner"]
