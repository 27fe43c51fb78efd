"""``Hub``: an opened voxhub store (embedded), the entry point of the numpy API."""

from __future__ import annotations

from voxhub.client.node import Node
from voxhub.client.repo import Repo
from voxhub.errors import CapabilityError, NotFound
from voxhub.storage import KVStore, open_store
from voxhub.versioning.catalog import Catalog


class Hub:
    """Repos in one store. Open with :func:`voxhub.open`.

    >>> import voxhub
    >>> with voxhub.open("memory://") as hub:
    ...     repo = hub.create_repo("demo")
    ...     [r.alias for r in hub.repos()]
    ['demo']
    """

    def __init__(self, store: KVStore) -> None:
        self.store = store
        self.catalog = Catalog(store)

    def __repr__(self) -> str:
        return f"Hub({self.store.spec()!r})"

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> Repo:
        """Create a repo with one open root node on branch master."""
        info = self.catalog.create_repo(alias, description, root=root)
        return Repo(self, info.root)

    def repos(self) -> list[Repo]:
        """Every repo in the store."""
        return [Repo(self, r.root) for r in self.catalog.repos()]

    def repo(self, ref: str) -> Repo:
        """A repo by alias, or by the UUID (or unique prefix) of any of its nodes."""
        matches = [r for r in self.catalog.repos() if r.alias == ref and ref]
        if len(matches) == 1:
            return Repo(self, matches[0].root)
        try:
            return Repo(self, self.catalog.repo(ref).root)
        except NotFound:
            raise NotFound(f"no repo with alias or node UUID {ref!r}") from None

    def node(self, ref: str) -> Node:
        """A node by UUID, unique prefix, ``uuid:branch`` or ``:branch~N``."""
        return Node(self, self.catalog.node(ref).uuid)


def open(location: str) -> Hub:
    """Open a voxhub store: a directory path (LMDB, created if needed), ``lmdb:///dir``,
    ``memory://``, or ``s3://bucket/prefix?endpoint=...``.

    ``http://host:port`` (a remote voxhub server) arrives with the HTTP service.
    """
    if location.startswith(("http://", "https://")):
        raise CapabilityError(
            "remote voxhub servers (http://...) are not supported by this version yet; "
            "open a store path, lmdb:///dir, memory:// or s3://bucket/prefix"
        )
    return Hub(open_store(location))
