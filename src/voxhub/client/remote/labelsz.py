"""``RemoteLabelsz``: a labelsz instance at one node, through its DVID routes."""

from __future__ import annotations

from urllib.parse import quote

from voxhub.client.labelsz import THRESHOLD_PAGE
from voxhub.client.remote.transport import Transport
from voxhub.datatypes.labelsz.instance import check_body, check_count
from voxhub.datatypes.labelsz.keys import kind_code
from voxhub.versioning.catalog import InstanceInfo


class RemoteLabelsz:
    """The ``LabelszAccess`` of a labelsz on a server (arguments checked here first, so
    bad ones raise what the embedded instance raises without a round trip)."""

    def __init__(self, http: Transport, node_uuid: str, info: InstanceInfo) -> None:
        self._http = http
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"

    def count(self, label: int, kind: str) -> int:
        kind_code(kind)
        answer = self._http.get_json(f"{self._base}/count/{check_body(label)}/{kind}")
        return int(answer[kind])

    def counts(self, labels: list[int], kind: str) -> list[int]:
        kind_code(kind)
        bodies = [check_body(label) for label in labels]
        answer = self._http.request("GET", f"{self._base}/counts/{kind}", json=bodies).json()
        return [int(item[kind]) for item in answer]

    def top(self, n: int, kind: str) -> list[tuple[int, int]]:
        kind_code(kind)
        answer = self._http.get_json(f"{self._base}/top/{check_count(n, 'N')}/{kind}")
        return [(int(a["Label"]), int(a["Size"])) for a in answer]

    def threshold(
        self, least: int, kind: str, *, offset: int = 0, n: int = THRESHOLD_PAGE
    ) -> list[tuple[int, int]]:
        kind_code(kind)
        least, offset, n = (
            check_count(v, w) for v, w in ((least, "threshold"), (offset, "offset"), (n, "n"))
        )
        if n == 0:
            return []
        path = f"{self._base}/threshold/{least}/{kind}"
        answer = self._http.get_json(path, {"offset": offset, "n": n})
        return [(int(a["Label"]), int(a["Size"])) for a in answer]

    def reload(self) -> None:
        self._http.request("POST", f"{self._base}/reload")
