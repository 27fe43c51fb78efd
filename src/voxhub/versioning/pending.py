"""Who owns a pending merge, and when recovery may take it over.

A merge node stays *pending* (invisible) while its derived data is recomputed
(:meth:`voxhub.versioning.catalog.Catalog.begin_merge`). Its owner — host and process id —
is recorded beside it, so that a ``Catalog`` opened later finishes the merge at once when
the owner died on this host, and otherwise only after :data:`LEASE_S` (the owner may be
another live process, still recomputing).
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime

#: a pending merge of another host (or a live process) is taken over after this long.
LEASE_S = 600.0


def owner_record() -> bytes:
    """The owner record of a merge begun by this process."""
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid()}).encode()


def _dead_here(raw: bytes | None) -> bool:
    """Whether the owner was a process of this host that no longer runs."""
    try:
        owner = json.loads(raw) if raw else {}
        host, pid = owner.get("host"), int(owner.get("pid", 0))
    except (ValueError, TypeError, AttributeError):
        return False
    if host != socket.gethostname() or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False


def orphaned(owner: bytes | None, created: str, lease_s: float = LEASE_S) -> bool:
    """Whether recovery may finish a pending merge begun at ``created`` by ``owner``."""
    age = (datetime.now(UTC) - datetime.fromisoformat(created)).total_seconds()
    return age >= lease_s or _dead_here(owner)
