"""``RemoteCatalog``: the catalog calls of the numpy API, answered by a voxhub server.

Reads use voxhub's record routes (``/api/voxhub/...``); mutations use DVID's routes, so a
change made from Python is audited exactly like one made by any DVID client (the server
adds a ``<time> u=<user> app=voxhub-python: <what>`` line to the node or repo log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from voxhub.client.remote.transport import Transport
from voxhub.errors import NotFound
from voxhub.versioning.catalog import InstanceInfo, NodeInfo, RepoInfo
from voxhub.versioning.dag import MASTER
from voxhub.versioning.records import instance_from_dict, node_from_dict, repo_from_dict

V = "/api/voxhub"


def ref_path(ref: str) -> str:
    """A node reference as one URL path segment (``uuid:branch``, ``:branch~N`` kept)."""
    return quote(ref, safe=":~")


class RemoteCatalog:
    """The :class:`~voxhub.client.backend.CatalogAPI` of a server."""

    def __init__(self, transport: Transport) -> None:
        self._http = transport

    # -- repos --------------------------------------------------------------------------
    def create_repo(
        self, alias: str = "", description: str = "", *, root: str | None = None
    ) -> RepoInfo:
        body: dict[str, Any] = {"alias": alias, "description": description}
        if root is not None:
            body["root"] = root
        created = self._http.post_json("/api/repos", body)
        return self.repo(created["root"])

    def repos(self) -> list[RepoInfo]:
        return [repo_from_dict(r) for r in self._http.get_json(f"{V}/repos")]

    def repo(self, ref: str) -> RepoInfo:
        return repo_from_dict(self._http.get_json(f"{V}/repo/{ref_path(ref)}"))

    def repo_by_alias(self, alias: str) -> RepoInfo | None:
        """The repo with this alias, or ``None`` (one request: the server looks the alias
        up in its index, however many repos it holds)."""
        if not alias:
            return None
        try:
            found = self._http.get_json(f"{V}/repos/by-alias", {"alias": alias})
        except NotFound:
            return None
        return repo_from_dict(found)

    def update_repo(
        self,
        ref: str,
        *,
        alias: str | None = None,
        description: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> RepoInfo:
        changes = {"alias": alias, "description": description, "properties": properties}
        body = {k: v for k, v in changes.items() if v is not None}
        return repo_from_dict(self._http.post_json(f"{V}/repo/{ref_path(ref)}", body))

    def append_repo_log(self, ref: str, lines: Sequence[str]) -> RepoInfo:
        self._http.post_json(f"/api/repo/{ref_path(ref)}/log", {"log": list(lines)})
        return self.repo(ref)

    # -- nodes --------------------------------------------------------------------------
    def node(self, ref: str) -> NodeInfo:
        return node_from_dict(self._http.get_json(f"{V}/node/{ref_path(ref)}"))

    def nodes(self, repo_ref: str) -> list[NodeInfo]:
        return [
            node_from_dict(n) for n in self._http.get_json(f"{V}/repo/{ref_path(repo_ref)}/nodes")
        ]

    def log(self, ref: str) -> list[NodeInfo]:
        return [node_from_dict(n) for n in self._http.get_json(f"{V}/node/{ref_path(ref)}/lineage")]

    def commit(self, ref: str, *, note: str | None = None, log: Sequence[str] = ()) -> NodeInfo:
        body: dict[str, Any] = {"log": list(log)}
        if note is not None:
            body["note"] = note
        done = self._http.post_json(f"/api/node/{ref_path(ref)}/commit", body)
        return self.node(done["committed"])

    def newversion(self, ref: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        body = {"note": note, "uuid": uuid or ""}
        child = self._http.post_json(f"/api/node/{ref_path(ref)}/newversion", body)
        return self.node(child["child"])

    def branch(self, ref: str, name: str, *, note: str = "", uuid: str | None = None) -> NodeInfo:
        body = {"branch": name, "note": note, "uuid": uuid or ""}
        child = self._http.post_json(f"/api/node/{ref_path(ref)}/branch", body)
        return self.node(child["child"])

    def set_note(self, ref: str, note: str) -> NodeInfo:
        self._http.post_json(f"/api/node/{ref_path(ref)}/note", {"note": note})
        return self.node(ref)

    def append_node_log(self, ref: str, lines: Sequence[str]) -> NodeInfo:
        self._http.post_json(f"/api/node/{ref_path(ref)}/log", {"log": list(lines)})
        return self.node(ref)

    def node_log(self, ref: str) -> list[str]:
        return list(self._http.get_json(f"/api/node/{ref_path(ref)}/log")["log"])

    def branch_versions(self, repo_ref: str, branch: str) -> list[str]:
        path = f"/api/repo/{ref_path(repo_ref)}/branch-versions/{quote(branch, safe='')}"
        uuids: list[str] = self._http.get_json(path)
        return uuids

    def merge(self, parents: Sequence[str], *, note: str = "", resolve: bool = False) -> NodeInfo:
        """Merge committed ``parents`` through DVID's ``merge`` (or ``resolve``) route."""
        route = "resolve" if resolve else "merge"
        body = {"parents": list(parents), "note": note}
        child = self._http.post_json(f"/api/repo/{ref_path(parents[0])}/{route}", body)
        return self.node(child["child"])

    def diff(self, a: str, b: str, instance: str) -> list[str]:
        """Described keys of ``instance`` that differ between ``a`` and ``b``."""
        path = f"{V}/node/{ref_path(a)}/diff/{ref_path(b)}/{quote(instance, safe='')}"
        keys: list[str] = self._http.get_json(path)["keys"]
        return keys

    # -- instances ----------------------------------------------------------------------
    def create_instance(
        self,
        repo_ref: str,
        name: str,
        typename: str,
        config: dict[str, Any],
        *,
        versioned: bool = True,
        at: str | None = None,
    ) -> InstanceInfo:
        node = at if at is not None else f"{self.repo(repo_ref).root}:{MASTER}"
        body = {"name": name, "typename": typename, "config": config, "versioned": versioned}
        return instance_from_dict(self._http.post_json(f"{V}/node/{ref_path(node)}/instance", body))

    def instance(self, repo_ref: str, name: str) -> InstanceInfo:
        path = f"{V}/repo/{ref_path(repo_ref)}/instance/{quote(name, safe='')}"
        return instance_from_dict(self._http.get_json(path))

    def instances(self, repo_ref: str) -> list[InstanceInfo]:
        path = f"{V}/repo/{ref_path(repo_ref)}/instances"
        return [instance_from_dict(i) for i in self._http.get_json(path)]
