"""``voxhub.open``: one function for every place a hub can live."""

from __future__ import annotations

from voxhub.client.hub import Hub

REMOTE_SCHEMES = ("http://", "https://")


def open(location: str) -> Hub:
    """Open a voxhub hub.

    * a directory path or ``lmdb:///dir``: an embedded LMDB store (created if needed);
    * ``memory://``: an embedded in-memory store;
    * ``s3://bucket/prefix?endpoint=...``: an embedded object store;
    * ``http://host:port`` or ``https://...``: a remote ``voxhub serve``, with the same
      API and the same exceptions.
    """
    if location.startswith(REMOTE_SCHEMES):
        from voxhub.client.remote import RemoteHub

        return RemoteHub(location)
    from voxhub.client.embedded import EmbeddedHub

    return EmbeddedHub.open(location)
