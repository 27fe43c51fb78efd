"""The one error hierarchy of voxhub.

Every error raised on purpose by voxhub derives from :class:`VoxhubError`. Subclasses also
inherit the matching builtin (``KeyError``, ``ValueError``, ``PermissionError``...) so that
code written against plain Python conventions keeps working. The HTTP layer maps these
classes to status codes in a single table; the remote client maps them back.
"""

from __future__ import annotations

from typing import Any


class VoxhubError(Exception):
    """Root of every error voxhub raises on purpose."""

    def __str__(self) -> str:
        # KeyError's str() wraps the message in quotes; we want the plain message.
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFound(VoxhubError, KeyError):
    """A repo, node, instance, branch or key does not exist (HTTP 404)."""


class InvalidRequest(VoxhubError, ValueError):
    """The request is malformed: bad shape, dtype, name, slice or argument (HTTP 400)."""


class OutOfBounds(InvalidRequest, IndexError):
    """An integer index lies outside a volume's bounds, as numpy's ``IndexError`` (HTTP 400)."""


class AmbiguousUUID(InvalidRequest):
    """A UUID prefix matches more than one node (HTTP 400)."""


class VersionLocked(VoxhubError, PermissionError):
    """A write was attempted on a committed (locked) version node (HTTP 409)."""


class Conflict(VoxhubError):
    """A concurrent update lost a compare-and-swap, or a name is taken (HTTP 409)."""


class MergeConflict(Conflict):
    """A merge was refused because parents changed the same keys differently (HTTP 409).

    ``report`` maps each instance name to the list of conflicting keys (blocks are given as
    ``"scale:z,y,x"`` strings), so the caller can decide which parent wins.
    """

    def __init__(self, message: str, report: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.report = report


class TooLarge(VoxhubError, ValueError):
    """A request exceeds a configured size limit (HTTP 413); the message names the limit."""


class ReadOnlyError(VoxhubError, PermissionError):
    """The store was opened read-only (HTTP 403)."""


class Unauthorized(VoxhubError, PermissionError):
    """The request needs a user: no token was sent, or the token is unknown, revoked or
    expired (HTTP 401)."""


class Forbidden(VoxhubError, PermissionError):
    """The user's roles do not allow the request (HTTP 403); the message names the role
    needed and the repo."""


class CapabilityError(VoxhubError, NotImplementedError):
    """The backend lacks a capability the operation needs (HTTP 501)."""


class CodecError(VoxhubError, ValueError):
    """A block could not be encoded or decoded (HTTP 500 on read, 400 on write)."""


class StorageError(VoxhubError, OSError):
    """The storage backend failed (I/O error, server unreachable) (HTTP 503)."""


class CrossSiteRefused(VoxhubError, PermissionError):
    """A write from another web origin without a token (HTTP 403): what a cross-site
    request forgery looks like. The message names the origin and how to allow it."""


class HostNotAllowed(VoxhubError, PermissionError):
    """The request's ``Host`` is not one this server answers to (HTTP 421): what a DNS
    rebinding attack looks like. The message names the host and ``--allowed-host``."""


class RequestTimeout(VoxhubError, TimeoutError):
    """The client stopped sending its request body (HTTP 408)."""


class Overloaded(StorageError):
    """Too many large requests are in flight; retry after ``retry_after`` seconds
    (HTTP 503 with a ``Retry-After`` header)."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MissingDependency(VoxhubError, ImportError):
    """An optional package is not installed; the message names the extra that brings it."""


class PartialWrite(StorageError):
    """A write cut into several requests (slabs) failed for some of them (client side).

    Every slab is atomic on its own and every slab was waited for: ``landed`` lists the
    boxes that were written, ``failed`` those that were not (write them again), and
    ``errors`` the error of each failed box, in the same order.
    """

    def __init__(
        self, message: str, landed: list[Any], failed: list[Any], errors: list[Exception]
    ) -> None:
        super().__init__(message)
        self.landed = landed
        self.failed = failed
        self.errors = errors


__all__ = [
    "AmbiguousUUID",
    "CapabilityError",
    "CodecError",
    "Conflict",
    "CrossSiteRefused",
    "Forbidden",
    "HostNotAllowed",
    "InvalidRequest",
    "MergeConflict",
    "MissingDependency",
    "NotFound",
    "OutOfBounds",
    "Overloaded",
    "PartialWrite",
    "ReadOnlyError",
    "RequestTimeout",
    "StorageError",
    "TooLarge",
    "Unauthorized",
    "VersionLocked",
    "VoxhubError",
]
