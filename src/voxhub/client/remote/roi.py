"""``RemoteRoi``: an roi instance at one node, through the server's DVID routes.

Spans go as DVID's JSON (``GET``/``POST``/``DELETE roi``), masks as ``mask/0_1_2`` bytes
and point queries as ``ptquery`` with the points as a GET body (a read: a read-only
client may ask), cut into batches of :data:`POINTS_PER_REQUEST`.
"""

from __future__ import annotations

from urllib.parse import quote

import numpy as np

from voxhub.client.remote.pieces import dvid_geometry
from voxhub.client.remote.transport import Transport
from voxhub.datatypes.roi.config import RoiConfig
from voxhub.datatypes.roi.instance import check_mask_box
from voxhub.datatypes.roi.spans import NO_SPANS
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo

#: points per ptquery request (≈30 bytes of JSON each, well under the server's JSON limit)
POINTS_PER_REQUEST = 200_000


class RemoteRoi:
    """The :class:`~voxhub.client.roi.RoiAccess` of an roi on a server."""

    def __init__(self, http: Transport, node_uuid: str, info: InstanceInfo) -> None:
        self._http = http
        self.name = info.name
        self._base = f"/api/node/{node_uuid}/{quote(info.name, safe='')}"
        self._config = RoiConfig.from_json(info.config)

    @property
    def block_shape(self) -> Vec3:
        return self._config.block_shape

    def spans(self) -> np.ndarray:
        spans = self._http.get_json(f"{self._base}/roi")
        return np.array(spans, dtype=np.int64).reshape(-1, 4) if spans else NO_SPANS.copy()

    def set(self, spans: np.ndarray) -> None:
        self._http.request("POST", f"{self._base}/roi", json=spans.tolist())

    def delete(self) -> None:
        self._http.request("DELETE", f"{self._base}/roi")

    def contains(self, points_zyx: np.ndarray) -> np.ndarray:
        out = np.zeros(len(points_zyx), dtype=bool)
        for i in range(0, len(points_zyx), POINTS_PER_REQUEST):
            xyz = points_zyx[i : i + POINTS_PER_REQUEST, ::-1].tolist()
            reply = self._http.request("GET", f"{self._base}/ptquery", json=xyz).json()
            out[i : i + len(xyz)] = reply
        return out

    def mask(self, box: Box) -> np.ndarray:
        check_mask_box(box, f"mask of roi {self.name!r}")
        out = np.zeros(box.shape, dtype=np.uint8)
        if box.empty:
            return out.astype(bool)
        path = f"{self._base}/mask/0_1_2/{dvid_geometry(box)}"
        self._http.request("GET", path, into=out.reshape(-1).data)
        return out.view(bool)
