"""``RemoteAnnotations``: an annotation instance at one node, through its DVID routes.

Each method is one request to the DVID endpoint of the same meaning (``elements``,
``label``, ``labels``, ``tag``, ``roi``, ``all-elements``, ``move``, ``element``), with
relationships always asked for, so answers convert to the same columns embedded reads
give.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from voxhub.client.remote.transport import Transport
from voxhub.datatypes.annotation.codec import decode_block
from voxhub.datatypes.annotation.config import block_shape
from voxhub.datatypes.annotation.element_json import parse_elements, to_json
from voxhub.datatypes.annotation.elements import Elements, concat
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo

_RELS = {"relationships": "true"}
#: the media type of a ``format=columns`` answer
_COLUMNS = "application/octet-stream"


def _xyz(zyx: Vec3) -> str:
    return f"{zyx[2]}_{zyx[1]}_{zyx[0]}"


class RemoteAnnotations:
    """The ``AnnotationAccess`` of an annotation on a server."""

    def __init__(self, http: Transport, node_uuid: str, info: InstanceInfo) -> None:
        self._http = http
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"
        self._shape = block_shape(info.config)

    @property
    def block_shape(self) -> Vec3:
        return self._shape

    def add(self, batch: Elements) -> int:
        self._http.request("POST", f"{self._base}/elements", json=to_json(batch))
        return len(batch)

    def delete(self, zyx: Vec3) -> None:
        self._http.request("DELETE", f"{self._base}/element/{_xyz(zyx)}")

    def move(self, src: Vec3, dst: Vec3) -> None:
        self._http.request("POST", f"{self._base}/move/{_xyz(src)}/{_xyz(dst)}")

    def _elements(self, path: str, params: dict[str, Any] | None = None) -> Elements:
        """The elements a read route answers, asked as binary columns (a server that
        does not know ``format=columns`` answers JSON, read as such)."""
        asked = {**(params or {}), "format": "columns"}
        reply = self._http.request("GET", f"{self._base}/{path}", params=asked)
        if reply.content_type.split(";")[0].strip() == _COLUMNS:
            return decode_block(reply.content)
        return parse_elements(reply.json() or [])

    def elements_in(self, box: Box) -> Elements:
        size = (box.stop[2] - box.start[2], box.stop[1] - box.start[1], box.stop[0] - box.start[0])
        if 0 in size:
            return Elements.empty()
        return self._elements(f"elements/{size[0]}_{size[1]}_{size[2]}/{_xyz(box.start)}")

    def all_elements(self) -> Elements:
        found = self._http.get_json(f"{self._base}/all-elements") or {}
        return concat([parse_elements(v) for _, v in sorted(found.items())]).sorted()

    def label(self, body: int) -> Elements:
        return self._elements(f"label/{body}", _RELS)

    def labels(self, bodies: Iterable[int]) -> dict[int, Elements]:
        wanted = list(bodies)
        # DVID's GET with a JSON body: a read, allowed to read-only clients and roles
        found = self._http.request("GET", f"{self._base}/labels", params=_RELS, json=wanted).json()
        return {int(b): parse_elements(v) for b, v in found.items()}

    def tag(self, tag: str) -> Elements:
        return self._elements(f"tag/{quote(tag, safe='')}", _RELS)

    def roi(self, name: str, node_uuid: str | None = None) -> Elements:
        spec = name if node_uuid is None else f"{name},{node_uuid}"
        return self._elements(f"roi/{quote(spec, safe=',')}")
