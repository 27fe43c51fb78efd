"""``voxhub.open``: one function for every place a hub can live, with zarr's modes."""

from __future__ import annotations

import os
import re
from typing import Literal, TypeAlias
from urllib.parse import urlsplit

from voxhub.client.hub import Hub
from voxhub.errors import Conflict, InvalidRequest, NotFound

REMOTE_SCHEMES = ("http://", "https://")

Mode: TypeAlias = Literal["r", "r+", "a", "w", "w-"]
MODES: tuple[Mode, ...] = ("r", "r+", "a", "w", "w-")

#: ``host:port`` (or ``host:port/prefix``), typed without ``http://``
_HOST_PORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*:\d{1,5}(/.*)?$")
#: what LMDB keeps in a store directory
LMDB_DATA_FILE = "data.mdb"


#: environment variable holding the token ``open`` sends to a server when given none
TOKEN_ENV = "VOXHUB_TOKEN"


def open(location: str, mode: Mode = "a", *, token: str | None = None) -> Hub:
    """Open a voxhub hub.

    ``location`` is

    * a directory path or ``lmdb:///dir``: an embedded LMDB store;
    * ``memory://``: a new, empty in-memory store;
    * ``s3://bucket/prefix?endpoint=...``: an embedded object store;
    * ``http://host:port`` or ``https://...``: a remote ``voxhub serve``, with the same
      API and the same exceptions (``host:port`` alone is refused, with a hint).

    ``mode`` follows zarr's ``open``:

    ====  ======================================================================
    r     read only; the store must exist (:class:`~voxhub.errors.NotFound` if
          not); every write raises :class:`~voxhub.errors.ReadOnlyError`
    r+    read and write; the store must exist
    a     read and write; a missing store is created (the default)
    w     create, deleting everything an existing store holds
    w-    create; :class:`~voxhub.errors.Conflict` if the store already exists
    ====  ======================================================================

    A store exists when it holds any data (for LMDB, a directory with ``data.mdb``); an
    existing directory that is not an LMDB store is refused in every mode, so voxhub never
    writes into, or wipes, somebody else's files. A server always exists and cannot be
    created or wiped from a client: modes ``w`` and ``w-`` are refused for URLs.

    ``token`` (default: ``$VOXHUB_TOKEN``) is the bearer token sent to a server with
    authentication (``voxhub auth token create NAME`` makes one); embedded stores ignore it.
    """
    if mode not in MODES:
        raise InvalidRequest(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if location.startswith(REMOTE_SCHEMES):
        return _open_remote(location, mode, token or os.environ.get(TOKEN_ENV) or None)
    if _HOST_PORT.match(location) and not os.path.exists(location):
        raise InvalidRequest(
            f"{location!r} looks like a server address: write http://{location} to reach "
            f"a voxhub server, or ./{location} for a store directory of that name"
        )
    return _open_embedded(location, mode)


def _open_remote(location: str, mode: Mode, token: str | None) -> Hub:
    if mode in ("w", "w-"):
        raise InvalidRequest(
            f"mode {mode!r} creates a store, but {location} is a server: a client cannot "
            "create or wipe it; use mode 'r', 'r+' or 'a'"
        )
    from voxhub.client.remote import RemoteHub

    return RemoteHub(location, read_only=mode == "r", token=token)


def _open_embedded(location: str, mode: Mode) -> Hub:
    from voxhub.client.embedded import EmbeddedHub
    from voxhub.storage import open_store

    path = lmdb_path(location)
    if path is not None:
        _check_directory(path)
    existed = path is not None and os.path.isfile(os.path.join(path, LMDB_DATA_FILE))
    if path is None and mode in ("r", "r+") and location == "memory://":
        raise NotFound(
            "memory:// is a new, empty store every time: there is nothing to open with "
            f"mode {mode!r}; use mode 'a' or 'w'"
        )
    if path is not None and not existed and mode in ("r", "r+"):
        raise NotFound(f"no voxhub store at {path} (mode {mode!r} does not create one)")
    store = open_store(location)
    try:
        if path is None:  # an object store: it exists if it holds anything
            existed = next(iter(store.scan(b"", None, keys_only=True)), None) is not None
            if not existed and mode in ("r", "r+"):
                raise NotFound(f"no voxhub store at {location} (mode {mode!r} does not create one)")
        if existed and mode == "w-":
            raise Conflict(f"a voxhub store already exists at {location} (mode 'w-')")
        if existed and mode == "w":
            store.delete_range(b"", None)
    except BaseException:
        store.close()
        raise
    return EmbeddedHub(store, read_only=mode == "r")


def lmdb_path(location: str) -> str | None:
    """The directory an LMDB location names (as ``open_store`` reads it), else ``None``."""
    if location == "memory://":
        return None
    parts = urlsplit(location)
    if parts.scheme == "":
        return location
    if parts.scheme in ("file", "lmdb"):
        return parts.netloc + parts.path if parts.netloc else parts.path
    return None


def _check_directory(path: str) -> None:
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        raise InvalidRequest(f"{path} is a file, not a voxhub store directory")
    if os.path.isfile(os.path.join(path, LMDB_DATA_FILE)):
        return
    with os.scandir(path) as entries:
        foreign = any(entries)
    if foreign:
        raise InvalidRequest(
            f"{path} is a directory that is not a voxhub store (it has files but no "
            f"{LMDB_DATA_FILE}); give a new or empty directory"
        )
