"""``RemoteNeuronJson``: a neuronjson instance at one node, through the server's DVID routes.

Each call is one request to the DVID endpoint of the same purpose (``key``, ``keys``,
``keyrange``, ``keyrangevalues``, ``keyvalues``, ``query``, ``all``, ``fields``,
``fieldtimes``, the schemas), with JSON bodies and answers (``?json=true`` where DVID
would default to protobuf). The server's errors come back as the same exceptions an
embedded instance raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from voxhub.client.remote.transport import Transport
from voxhub.datatypes.neuronjson.document import Document, check_body, parse_document
from voxhub.datatypes.neuronjson.keys import UINT64_MAX
from voxhub.errors import NotFound
from voxhub.versioning.catalog import InstanceInfo

Show = tuple[bool, bool]
_SHOW = {(False, False): "", (True, False): "user", (False, True): "time", (True, True): "all"}


def _selection(fields: Sequence[str] | None, show: Show) -> dict[str, str]:
    params = {}
    if fields is not None:
        params["fields"] = ",".join(fields)
    if _SHOW[show]:
        params["show"] = _SHOW[show]
    return params


def _by_body(answer: Any) -> dict[int, Document]:
    return {int(k): v for k, v in (answer or {}).items()}


class RemoteNeuronJson:
    """The :class:`~voxhub.client.neuronjson.NeuronJsonAccess` of an instance on a server."""

    def __init__(self, http: Transport, node_uuid: str, info: InstanceInfo) -> None:
        self._http = http
        self.name = info.name
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"

    def get(
        self, body: int, fields: Sequence[str] | None = None, show: Show = (False, False)
    ) -> Document:
        doc: Document = self._http.get_json(f"{self._base}/key/{body}", _selection(fields, show))
        return doc

    def exists(self, body: int) -> bool:
        try:
            self._http.request("HEAD", f"{self._base}/key/{body}")
        except NotFound:
            return False
        return True

    def put_many(
        self,
        documents: Mapping[int, Mapping[str, Any]],
        *,
        user: str,
        replace: bool = False,
        conditional: Sequence[str] = (),
    ) -> None:
        params = {"json": "true", "replace": "true" if replace else "false"}
        if conditional:
            params["conditional"] = ",".join(conditional)
        if user:  # else the client's own u=
            params["u"] = user
        # checked here as the embedded instance checks them: the same errors, and a value
        # JSON cannot carry is refused before it is sent
        body = {}
        for b, d in documents.items():
            body[str(check_body(b))] = parse_document(d, check_body(b))
        self._http.request("POST", f"{self._base}/keyvalues", params=params, json=body)

    def delete(self, body: int) -> None:
        self._http.request("DELETE", f"{self._base}/key/{body}")

    def keys(self, first: int = 0, last: int = UINT64_MAX) -> list[int]:
        if first > last:
            return []
        path = "keys" if (first, last) == (0, UINT64_MAX) else f"keyrange/{first}/{last}"
        return [int(k) for k in self._http.get_json(f"{self._base}/{path}")]

    def values_in(
        self,
        first: int,
        last: int,
        fields: Sequence[str] | None = None,
        show: Show = (False, False),
    ) -> dict[int, Document]:
        if first > last:
            return {}
        params = {"json": "true", **_selection(fields, show)}
        return _by_body(self._http.get_json(f"{self._base}/keyrangevalues/{first}/{last}", params))

    def get_many(
        self,
        bodies: Iterable[int],
        fields: Sequence[str] | None = None,
        show: Show = (False, False),
    ) -> dict[int, Document]:
        params = {"json": "true", **_selection(fields, show)}
        reply = self._http.request(
            "GET", f"{self._base}/keyvalues", params=params, json=list(bodies)
        )
        return _by_body(reply.json())

    def all(
        self, fields: Sequence[str] | None = None, show: Show = (False, False)
    ) -> list[Document]:
        found: list[Document] = self._http.get_json(f"{self._base}/all", _selection(fields, show))
        return found

    def fields(self) -> dict[str, int]:
        counts: dict[str, int] = self._http.get_json(f"{self._base}/fields", {"counts": "true"})
        return counts

    def field_times(self) -> dict[str, str]:
        times: dict[str, str] = self._http.get_json(f"{self._base}/fieldtimes")
        return times

    def query(
        self, query: Any, fields: Sequence[str] | None = None, show: Show = (False, False)
    ) -> list[Document]:
        params = _selection(fields, show)
        found: list[Document] = self._http.request(
            "GET", f"{self._base}/query", params=params, json=query
        ).json()
        return found

    def query_ids(self, query: Any) -> list[int]:
        reply = self._http.request(
            "GET", f"{self._base}/query", params={"onlyid": "true"}, json=query
        )
        return [int(b) for b in reply.json()]

    def schema(self, kind: str) -> bytes | None:
        try:
            return self._http.request("GET", f"{self._base}/{kind}").content
        except NotFound:
            return None

    def set_schema(self, kind: str, raw: bytes) -> None:
        self._http.request("POST", f"{self._base}/{kind}", content=raw)

    def delete_schema(self, kind: str) -> None:
        self._http.request("DELETE", f"{self._base}/{kind}")
